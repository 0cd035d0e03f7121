// The pure parts of the controllers: pod-template-hash and rollout
// arithmetic, EndpointSlice and Endpoints building, the scheduler's choice,
// the work queue.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "controllers/endpoints.h"
#include "controllers/rollout.h"
#include "controllers/scheduling.h"
#include "controllers/workqueue.h"

namespace podnet::controllers {
namespace {

using api::Json;
using namespace std::chrono_literals;

TEST(Rollout, ANullCreationTimestampIsTheSameTemplate) {
  // kubectl rollout undo sends the old ReplicaSet's template with
  // `metadata.creationTimestamp: null`: the same template, the same hash.
  Json tmpl = {{"metadata", {{"labels", {{"app", "web"}}}}},
               {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "nginx"}}})}}}};
  Json fromRollback = tmpl;
  fromRollback["metadata"]["creationTimestamp"] = nullptr;
  EXPECT_TRUE(templatesEqualIgnoringHash(tmpl, fromRollback));
  EXPECT_EQ(podTemplateHash(tmpl), podTemplateHash(fromRollback));
}

TEST(Rollout, PodTemplateHashIsStableAndIgnoresItsOwnLabel) {
  Json tmpl = {{"metadata", {{"labels", {{"app", "web"}}}}},
               {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "nginx"}}})}}}};
  std::string hash = podTemplateHash(tmpl);
  EXPECT_FALSE(hash.empty());
  EXPECT_EQ(hash.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos);
  Json labelled = tmpl;
  labelled["metadata"]["labels"]["pod-template-hash"] = hash;
  EXPECT_EQ(podTemplateHash(labelled), hash);
  EXPECT_TRUE(templatesEqualIgnoringHash(tmpl, labelled));
  Json changed = tmpl;
  changed["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_NE(podTemplateHash(changed), hash);
  EXPECT_EQ(fnv32a("a"), 0xe40c292cu);
}

TEST(Rollout, SurgeAndUnavailable) {
  Json d = {{"spec", {{"replicas", 10}}}};
  auto params = rollingParams(d);
  EXPECT_EQ(params.maxSurge, 3);        // 25% of 10 rounded up
  EXPECT_EQ(params.maxUnavailable, 2);  // rounded down
  d["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 0}}}};
  EXPECT_EQ(rollingParams(d).maxUnavailable, 1);
  EXPECT_EQ(newReplicaSetReplicas(3, 1, 3, 0), 1);
  EXPECT_EQ(newReplicaSetReplicas(3, 1, 4, 1), 1);
  EXPECT_EQ(newReplicaSetReplicas(3, 1, 2, 1), 3);
  // 3 wanted, maxUnavailable 0, 1 new pod not yet available: nothing may go.
  EXPECT_EQ(oldReplicasScaleDownBudget(3, 0, 4, 1, 0), 0);
  EXPECT_EQ(oldReplicasScaleDownBudget(3, 0, 4, 1, 1), 1);
}

Json pod(const std::string& name, const std::string& ip, bool ready,
         Json labels = {{"app", "web"}}) {
  Json p = {
      {"metadata",
       {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"labels", labels}}},
      {"spec",
       {{"nodeName", "n1"},
        {"containers",
         Json::array({{{"name", "c"},
                       {"ports", Json::array({{{"name", "http"}, {"containerPort", 8080}}})}}})}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", ip},
        {"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
  return p;
}

Json webService() {
  return {
      {"metadata", {{"name", "web"}, {"namespace", "default"}, {"uid", "svc-uid"}}},
      {"spec",
       {{"selector", {{"app", "web"}}},
        {"clusterIP", "10.96.0.50"},
        {"ports",
         Json::array(
             {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", "http"}}})}}}};
}

TEST(EndpointSlices, BuildsConditionsPortsLabelsAndOwner) {
  Json a = pod("a", "10.244.1.2", true), b = pod("b", "10.244.1.3", false);
  Json noIp = pod("c", "", true);
  Json done = pod("d", "10.244.1.9", true);
  done["status"]["phase"] = "Succeeded";
  Json leaving = pod("e", "10.244.1.5", true);
  leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  auto plan =
      planEndpointSlices(webService(), {&a, &b, &noIp, &done, &leaving}, {}, {{"n1", "zone-a"}});
  ASSERT_EQ(plan.create.size(), 1u);
  const Json& slice = plan.create[0];
  EXPECT_EQ(slice["addressType"], "IPv4");
  EXPECT_EQ(slice["metadata"]["labels"]["kubernetes.io/service-name"], "web");
  EXPECT_EQ(slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
            "endpointslice-controller.k8s.io");
  EXPECT_EQ(slice["metadata"]["ownerReferences"][0]["uid"], "svc-uid");
  EXPECT_EQ(slice["metadata"]["name"].get<std::string>().rfind("web-", 0), 0u);
  EXPECT_EQ(slice["ports"], Json::parse(R"([{"name":"http","port":8080,"protocol":"TCP"}])"));
  ASSERT_EQ(slice["endpoints"].size(), 3u);
  EXPECT_EQ(slice["endpoints"][0]["conditions"],
            Json::parse(R"({"ready":true,"serving":true,"terminating":false})"));
  EXPECT_EQ(slice["endpoints"][0]["zone"], "zone-a");
  EXPECT_EQ(slice["endpoints"][0]["targetRef"]["name"], "a");
  EXPECT_EQ(slice["endpoints"][1]["conditions"]["ready"], false);
  EXPECT_EQ(slice["endpoints"][2]["conditions"],
            Json::parse(R"({"ready":false,"serving":true,"terminating":true})"));

  // Nothing changed: no writes.
  Json stored = slice;
  stored["metadata"]["resourceVersion"] = "7";
  auto again = planEndpointSlices(webService(), {&a, &b, &noIp, &done, &leaving}, {&stored},
                                  {{"n1", "zone-a"}});
  EXPECT_TRUE(again.empty());
  // b turns ready: one update of the same slice.
  b["status"]["conditions"][0]["status"] = "True";
  auto update = planEndpointSlices(webService(), {&a, &b, &leaving}, {&stored}, {{"n1", "zone-a"}});
  ASSERT_EQ(update.update.size(), 1u);
  EXPECT_TRUE(update.create.empty());
  EXPECT_EQ(update.update[0]["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(update.update[0]["endpoints"][1]["conditions"]["ready"], true);
}

TEST(EndpointSlices, PublishNotReadyAndDifferentPortsSplitSlices) {
  Json svc = webService();
  svc["spec"]["publishNotReadyAddresses"] = true;
  Json a = pod("a", "10.244.1.2", false);
  Json b = pod("b", "10.244.1.3", false);
  b["spec"]["containers"][0]["ports"][0]["containerPort"] = 9090;
  auto plan = planEndpointSlices(svc, {&a, &b}, {}, {});
  ASSERT_EQ(plan.create.size(), 2u);
  for (const auto& slice : plan.create) {
    ASSERT_EQ(slice["endpoints"].size(), 1u);
    EXPECT_EQ(slice["endpoints"][0]["conditions"]["ready"], true);
  }
}

TEST(EndpointSlices, AtMostOneHundredPerSliceAndPlaceholder) {
  std::vector<Json> pods;
  for (int i = 0; i < 250; ++i)
    pods.push_back(
        pod("p" + std::to_string(1000 + i), "10.244.2." + std::to_string(i % 250), true));
  std::vector<const Json*> ptrs;
  for (auto& p : pods) ptrs.push_back(&p);
  auto plan = planEndpointSlices(webService(), ptrs, {}, {});
  ASSERT_EQ(plan.create.size(), 3u);
  EXPECT_EQ(plan.create[0]["endpoints"].size(), 100u);
  EXPECT_EQ(plan.create[2]["endpoints"].size(), 50u);

  auto empty = planEndpointSlices(webService(), {}, {}, {});
  ASSERT_EQ(empty.create.size(), 1u);
  EXPECT_TRUE(empty.create[0]["endpoints"].empty());
  EXPECT_TRUE(empty.create[0]["ports"].empty());
  // Existing slices for a Service with no pods collapse to one placeholder.
  Json s1 = plan.create[0], s2 = plan.create[1];
  auto collapse = planEndpointSlices(webService(), {}, {&s1, &s2}, {});
  EXPECT_EQ(collapse.update.size(), 1u);
  EXPECT_EQ(collapse.remove.size(), 1u);
}

TEST(Endpoints, SubsetsWithReadyAndNotReady) {
  Json a = pod("a", "10.244.1.2", true), b = pod("b", "10.244.1.3", false);
  Json leaving = pod("e", "10.244.1.5", true);
  leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  Json ep = buildEndpoints(webService(), {&a, &b, &leaving});
  EXPECT_EQ(ep["metadata"]["name"], "web");
  ASSERT_EQ(ep["subsets"].size(), 1u);
  const Json& subset = ep["subsets"][0];
  ASSERT_EQ(subset["addresses"].size(), 1u);
  EXPECT_EQ(subset["addresses"][0]["ip"], "10.244.1.2");
  EXPECT_EQ(subset["addresses"][0]["targetRef"]["kind"], "Pod");
  ASSERT_EQ(subset["notReadyAddresses"].size(), 1u);
  EXPECT_EQ(subset["ports"], Json::parse(R"([{"name":"http","port":8080,"protocol":"TCP"}])"));
  EXPECT_TRUE(endpointsUpToDate(ep, buildEndpoints(webService(), {&b, &a})));
  EXPECT_FALSE(endpointsUpToDate(ep, buildEndpoints(webService(), {&a})));
  EXPECT_FALSE(buildEndpoints(webService(), {}).contains("subsets"));
}

Json node(const std::string& name, bool ready, bool unschedulable = false) {
  return {
      {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
      {"spec", {{"unschedulable", unschedulable}}},
      {"status",
       {{"conditions", Json::array({{{"type", "Ready"}, {"status", ready ? "True" : "False"}}})}}}};
}

Json ownedPod(const std::string& name, const std::string& owner, const std::string& nodeName) {
  Json p = {{"metadata",
             {{"name", name},
              {"namespace", "default"},
              {"uid", name},
              {"ownerReferences",
               Json::array({{{"kind", "ReplicaSet"}, {"uid", owner}, {"controller", true}}})}}},
            {"spec", Json::object()}};
  if (!nodeName.empty()) p["spec"]["nodeName"] = nodeName;
  return p;
}

TEST(Scheduler, SpreadsSiblingsThenBalances) {
  Json n1 = node("n1", true), n2 = node("n2", true), n3 = node("n3", false),
       n4 = node("n4", true, true);
  Json sib = ownedPod("s1", "rs1", "n1");
  Json other1 = ownedPod("o1", "rs2", "n2"), other2 = ownedPod("o2", "rs2", "n2");
  Json pending = ownedPod("new", "rs1", "");
  auto choice = chooseNode(pending, {&n1, &n2, &n3, &n4}, {&sib, &other1, &other2});
  ASSERT_TRUE(choice.node);
  EXPECT_EQ(*choice.node, "n2");  // no sibling there, though busier
  Json otherPending = ownedPod("x", "rs3", "");
  EXPECT_EQ(*chooseNode(otherPending, {&n1, &n2}, {&sib, &other1, &other2}).node, "n1");

  auto none = chooseNode(pending, {&n3, &n4}, {});
  EXPECT_FALSE(none.node);
  EXPECT_EQ(none.reason,
            "0/2 nodes are available: 1 node(s) were not ready, 1 node(s) were unschedulable.");
}

TEST(Scheduler, TaintsAndNodeSelector) {
  Json tainted = node("t", true);
  tainted["spec"]["taints"] =
      Json::array({{{"key", "dedicated"}, {"value", "x"}, {"effect", "NoSchedule"}}});
  Json p = ownedPod("p", "rs", "");
  EXPECT_FALSE(podFitsNode(p, tainted));
  p["spec"]["tolerations"] = Json::array({{{"key", "dedicated"}, {"operator", "Exists"}}});
  EXPECT_TRUE(podFitsNode(p, tainted));
  p["spec"]["nodeSelector"] = {{"kubernetes.io/hostname", "other"}};
  EXPECT_FALSE(podFitsNode(p, tainted));
}

TEST(Scheduler, RequiredNodeAffinityByLabelsAndByName) {
  Json n1 = node("n1", true);
  n1["metadata"]["labels"] = {{"zone", "a"}, {"cores", "8"}};
  Json n2 = node("n2", true);
  n2["metadata"]["labels"] = {{"zone", "b"}};
  Json p = ownedPod("p", "ds", "");
  Json& terms = p["spec"]["affinity"]["nodeAffinity"]
                 ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  // A DaemonSet pod: bound to one node by name.
  terms = Json::array(
      {{{"matchFields", {{{"key", "metadata.name"}, {"operator", "In"}, {"values", {"n2"}}}}}}});
  EXPECT_FALSE(podFitsNode(p, n1));
  EXPECT_TRUE(podFitsNode(p, n2));
  EXPECT_EQ(*chooseNode(p, {&n1, &n2}, {}).node, "n2");
  // Terms are ORed, expressions within a term ANDed; Gt compares integers.
  terms = Json::array({{{"matchExpressions",
                         {{{"key", "zone"}, {"operator", "In"}, {"values", {"a"}}},
                          {{"key", "cores"}, {"operator", "Gt"}, {"values", {"4"}}}}}},
                       {{"matchExpressions", {{{"key", "gpu"}, {"operator", "Exists"}}}}}});
  EXPECT_TRUE(podFitsNode(p, n1));
  EXPECT_FALSE(podFitsNode(p, n2));
  // An unschedulable node takes pods that tolerate it (as daemon pods do).
  n1["spec"]["unschedulable"] = true;
  EXPECT_FALSE(podFitsNode(p, n1));
  p["spec"]["tolerations"] = Json::array({{{"key", "node.kubernetes.io/unschedulable"},
                                           {"operator", "Exists"},
                                           {"effect", "NoSchedule"}}});
  EXPECT_TRUE(podFitsNode(p, n1));
}

TEST(Scheduler, ClaimsDecideWhereAPodWithVolumesMayRun) {
  Json n1 = node("n1", true), n2 = node("n2", true);
  n1["metadata"]["labels"] = {{"kubernetes.io/hostname", "n1"}};
  n2["metadata"]["labels"] = {{"kubernetes.io/hostname", "n2"}};
  Json p = ownedPod("web-0", "sts", "");
  p["metadata"]["namespace"] = "default";
  p["spec"]["volumes"] =
      Json::array({{{"name", "www"}, {"persistentVolumeClaim", {{"claimName", "www-web-0"}}}}});
  std::map<std::string, Json> claims, volumes, classes;
  classes["standard"] = {{"provisioner", "podnet.io/local-path"}};
  auto constraints = [&] {
    auto find = [](std::map<std::string, Json>& in) {
      return [&in](const std::string& name) -> const Json* {
        auto it = in.find(name);
        return it == in.end() ? nullptr : &it->second;
      };
    };
    return volumeConstraints(p, find(claims), find(volumes), find(classes));
  };
  // No claim: nowhere, with the scheduler's message.
  auto missing = chooseNode(p, {&n1, &n2}, {}, constraints());
  EXPECT_FALSE(missing.node);
  EXPECT_EQ(missing.reason,
            "0/2 nodes are available: persistentvolumeclaim \"www-web-0\" not found.");
  // An unbound claim of podnet's class: any node, and it is to be placed.
  claims["www-web-0"] = {{"metadata", {{"name", "www-web-0"}}},
                         {"spec", {{"storageClassName", "standard"}}}};
  auto unbound = constraints();
  EXPECT_EQ(unbound.error, "");
  EXPECT_EQ(unbound.claimsToPlace, std::vector<std::string>{"www-web-0"});
  // A class podnet does not provision: an unbound claim blocks the pod.
  claims["www-web-0"]["spec"]["storageClassName"] = "fast-ssd";
  EXPECT_EQ(constraints().error, "pod has unbound immediate PersistentVolumeClaims");
  // Placed on n2 already: only n2.
  claims["www-web-0"]["metadata"]["annotations"] = {{"volume.kubernetes.io/selected-node", "n2"}};
  EXPECT_EQ(*chooseNode(p, {&n1, &n2}, {}, constraints()).node, "n2");
  // Bound to a volume of n1: only n1, the others in the reason.
  claims["www-web-0"]["spec"]["volumeName"] = "pvc-1";
  volumes["pvc-1"] = {{"spec",
                       {{"nodeAffinity",
                         {{"required",
                           {{"nodeSelectorTerms",
                             {{{"matchExpressions",
                                {{{"key", "kubernetes.io/hostname"},
                                  {"operator", "In"},
                                  {"values", {"n1"}}}}}}}}}}}}}}};
  EXPECT_EQ(*chooseNode(p, {&n1, &n2}, {}, constraints()).node, "n1");
  auto conflict = chooseNode(p, {&n2}, {}, constraints());
  EXPECT_FALSE(conflict.node);
  EXPECT_EQ(conflict.reason,
            "0/1 nodes are available: 1 node(s) had volume node affinity conflict.");
}

TEST(WorkQueue, DedupesAndNeverRunsAKeyTwiceAtOnce) {
  WorkQueue queue(1ms, 10ms);
  queue.add("a");
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(queue.length(), 2u);
  auto first = queue.get();
  ASSERT_EQ(*first, "a");
  queue.add("a");  // while in process: runs again after done()
  EXPECT_EQ(*queue.get(), "b");
  EXPECT_EQ(queue.length(), 0u);
  queue.done("a");
  EXPECT_EQ(*queue.get(), "a");
  queue.done("a");
  queue.done("b");

  queue.addRateLimited("c");
  queue.addRateLimited("c");
  EXPECT_EQ(queue.failures("c"), 2);
  EXPECT_EQ(*queue.get(), "c");
  queue.forget("c");
  EXPECT_EQ(queue.failures("c"), 0);

  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    queue.shutDown();
  });
  EXPECT_FALSE(queue.get());
  stopper.join();
}

}  // namespace
}  // namespace podnet::controllers
