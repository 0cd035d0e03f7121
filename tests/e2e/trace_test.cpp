// `podnet trace` on a live two-node cluster: each of the seed's journeys
// (ClusterIP by short name and FQDN, NodePort and LoadBalancer from the
// host, headless, ExternalName) and each way it fails (no such name, no
// endpoints, a NetworkPolicy that denies) asserted step by step as the
// user reads them, and the nodes' rulesets checked unchanged after every
// trace (no table, rule or trace flag left behind).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster_fixture.h"

namespace {

using Json = nlohmann::json;
using podnet::testing::runCommand;

constexpr const char* kExtras = R"(apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  selector: {app: nothing}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: app-headless}
spec:
  clusterIP: None
  selector: {app: nextgen-app}
  ports: [{port: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: example.com
)";

constexpr const char* kDenyClient = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: app-only-from-web}
spec:
  podSelector: {matchLabels: {app: nextgen-app}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: web}}}]
)";

class TraceE2E : public podnet::testing::ClusterTest {
 protected:
  // What tracing must leave as it found: every node's tables, and no rule
  // that sets the trace flag.
  std::string rulesetShape() const {
    std::string shape;
    for (const char* node : {"podnet-node-1", "podnet-node-2"}) {
      auto [code, tables] = runCommand(std::string("ip netns exec ") + node + " nft list tables");
      auto [code2, flags] =
          runCommand(std::string("ip netns exec ") + node + " nft list ruleset | grep -c nftrace");
      shape += std::string(node) + ":\n" + tables + "nftrace rules: " + flags;
    }
    return shape;
  }

  // Runs a trace as JSON; the rulesets must be as before.
  Json trace(const std::string& args, int* exitCode = nullptr) {
    std::string before = rulesetShape();
    auto [code, out] = runCommand("KUBECONFIG=" + kubeconfig() + " " + PODNET_BINARY +
                                  " trace -o json " + args + " 2>&1");
    if (exitCode) *exitCode = code;
    EXPECT_EQ(rulesetShape(), before) << "trace " << args << " left something behind";
    Json report = Json::parse(out, nullptr, false);
    EXPECT_TRUE(report.is_object()) << args << ":\n" << out;
    return report.is_object() ? report : Json::object();
  }

  static const Json& step(const Json& report, int n) {
    static const Json none = Json::object();
    auto steps = report.find("steps");
    if (steps == report.end() || !steps->is_array()) return none;
    for (const Json& s : *steps)
      if (s.value("step", 0) == n) return s;
    return none;
  }
  static int failedStep(const Json& report) {
    auto it = report.find("failedStep");
    return it != report.end() && it->is_number() ? it->get<int>() : 0;
  }
  static std::string lines(const Json& s) {
    std::string out;
    for (const Json& l : s.value("lines", Json::array())) out += l.get<std::string>() + "\n";
    return out;
  }
};

TEST_F(TraceE2E, TheSeedsJourneysAndTheirFailures) {
  std::ifstream file(std::string(PODNET_SOURCE_DIR) + "/examples/app.yaml");
  std::stringstream app;
  app << file.rdbuf();
  ASSERT_EQ(apply("app.yaml", app.str()).first, 0);
  ASSERT_EQ(apply("extras.yaml", kExtras).first, 0);
  ASSERT_EQ(kubectl("run client --image=busybox --restart=Never -- sleep 3600").first, 0);
  ASSERT_TRUE(readyPods("app=nextgen-app", 3));
  ASSERT_TRUE(readyPods("run=client", 1));
  std::string clientNode = jsonpath("pod/client", "{.spec.nodeName}");
  std::set<std::string> appPods;
  for (const std::string& name : {jsonpath("pods -l app=nextgen-app", "{.items[0].metadata.name}"),
                                  jsonpath("pods -l app=nextgen-app", "{.items[1].metadata.name}"),
                                  jsonpath("pods -l app=nextgen-app", "{.items[2].metadata.name}")})
    appPods.insert(name);
  std::string clusterIp = jsonpath("service/app-service", "{.spec.clusterIP}");
  ASSERT_TRUE(eventually(
      [&] { return !jsonpath("service/app-lb", "{.status.loadBalancer.ingress[0].ip}").empty(); }));
  std::string lbIp = jsonpath("service/app-lb", "{.status.loadBalancer.ingress[0].ip}");

  // 1. ClusterIP by short name: the search path's first name answers.
  int code = 0;
  Json r = trace("client http://app-service/", &code);
  EXPECT_EQ(code, 0) << r.dump(2);
  EXPECT_TRUE(r.value("ok", false));
  const Json& dns = step(r, 1);
  ASSERT_FALSE(dns.value("queries", Json::array()).empty()) << r.dump(2);
  EXPECT_EQ(dns["queries"][0].value("name", ""), "app-service.default.svc.cluster.local");
  EXPECT_EQ(dns.value("address", ""), clusterIp);
  EXPECT_EQ(step(r, 2).value("service", ""), "default/app-service");
  EXPECT_EQ(step(r, 2).value("kind", ""), "ClusterIP");
  EXPECT_EQ(step(r, 2).value("endpoints", Json::array()).size(), 3u);
  // The kernel's own events: the Service dispatch and the DNAT rule.
  std::string rules = lines(step(r, 3));
  EXPECT_NE(rules.find("on " + clientNode), std::string::npos) << rules;
  EXPECT_NE(rules.find("vmap @service-ips"), std::string::npos) << rules;
  EXPECT_NE(rules.find("dnat to"), std::string::npos) << rules;
  EXPECT_NE(rules.find("DNAT " + clusterIp + ":80 -> 10.244."), std::string::npos) << rules;
  const Json& answer = step(r, 5);
  EXPECT_EQ(answer.value("status", 0), 200) << r.dump(2);
  std::string answeredBy = answer.value("pod", Json::object()).value("name", "");
  EXPECT_EQ(appPods.count(answeredBy), 1u) << r.dump(2);
  // The testserver answers with its pod's name: the pod the trace names.
  EXPECT_NE(lines(answer).find(answeredBy), std::string::npos) << r.dump(2);
  EXPECT_NE(lines(answer).find("back into " + clusterIp + ":80"), std::string::npos);

  // The text form reads like the seed.
  auto [textCode, text] = runCommand("KUBECONFIG=" + kubeconfig() + " " + PODNET_BINARY +
                                     " trace client http://app-service/");
  EXPECT_EQ(textCode, 0);
  for (const char* heading : {"1. Name resolution:", "2. The Service:", "3. The node's rules:",
                              "4. NetworkPolicy:", "5. The answer:"})
    EXPECT_NE(text.find(heading), std::string::npos) << text;

  // 2. By FQDN: four dots are fewer than ndots:5, so the search path comes
  // first (three NXDOMAINs) and the name as is last; with the trailing dot
  // it is asked once.
  r = trace("client app-service.default.svc.cluster.local:80");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  ASSERT_EQ(step(r, 1).value("queries", Json::array()).size(), 4u) << r.dump(2);
  EXPECT_EQ(step(r, 1)["queries"][0].value("rcode", ""), "NXDOMAIN");
  EXPECT_EQ(step(r, 1)["queries"][3].value("name", ""), "app-service.default.svc.cluster.local");
  EXPECT_EQ(step(r, 1).value("address", ""), clusterIp);
  r = trace("client app-service.default.svc.cluster.local.:80");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_EQ(step(r, 1).value("queries", Json::array()).size(), 1u) << r.dump(2);

  // 3. A NodePort from the host: masqueraded on the node that took it.
  r = trace("--from-host http://172.30.0.11:30080/");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_EQ(step(r, 1).value("summary", ""), "172.30.0.11 is an IP: no DNS");
  EXPECT_EQ(step(r, 2).value("kind", ""), "NodePort");
  // The source becomes node-1's: its own address, or its bridge's when the
  // chosen pod is local. Which pod range node-1 got depends on the order the
  // nodes registered in, so it is read from the Node.
  std::string masquerade = step(r, 3).value("masquerade", "");
  std::string node1Range = jsonpath("node node-1", "{.spec.podCIDR}");
  std::string node1Prefix = node1Range.substr(0, node1Range.rfind('.') + 1);
  ASSERT_FALSE(node1Prefix.empty()) << node1Range;
  EXPECT_TRUE(masquerade == "172.30.0.11" || masquerade.rfind(node1Prefix, 0) == 0)
      << node1Range << "\n"
      << r.dump(2);
  EXPECT_EQ(step(r, 5).value("status", 0), 200);

  // 4. The LoadBalancer address from the host.
  r = trace("--from-host http://" + lbIp + "/");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_EQ(step(r, 2).value("kind", ""), "LoadBalancer");
  EXPECT_EQ(step(r, 2).value("service", ""), "default/app-lb");
  EXPECT_EQ(step(r, 5).value("status", 0), 200);

  // 5. Headless: the name is the pods' addresses, no DNAT.
  r = trace("client app-headless:3000");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_EQ(step(r, 2).value("kind", ""), "headless");
  EXPECT_EQ(step(r, 1)["queries"][0].value("answers", Json::array()).size(), 3u);
  EXPECT_FALSE(step(r, 3).contains("dnat"));

  // UDP: one datagram to the cluster DNS Service, DNATed to its pod.
  r = trace("client --udp kube-dns.kube-system:53");
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_EQ(step(r, 2).value("service", ""), "kube-system/kube-dns");
  EXPECT_EQ(r["request"].value("protocol", ""), "udp");
  EXPECT_NE(lines(step(r, 3)).find("dnat to"), std::string::npos) << r.dump(2);

  // 6. ExternalName: an alias the cluster cannot resolve further here.
  r = trace("client http://ext/", &code);
  EXPECT_NE(code, 0);
  EXPECT_EQ(failedStep(r), 1) << r.dump(2);
  EXPECT_NE(
      step(r, 1).value("summary", "").find("ExternalName Service default/ext) for example.com"),
      std::string::npos)
      << r.dump(2);

  // 7. No endpoints: refused at once, stopped at step 2.
  r = trace("client http://empty/", &code);
  EXPECT_NE(code, 0);
  EXPECT_EQ(failedStep(r), 2) << r.dump(2);
  EXPECT_NE(step(r, 2).value("summary", "").find("no ready endpoints"), std::string::npos);
  EXPECT_NE(lines(step(r, 2)).find("selector app=nothing"), std::string::npos) << r.dump(2);
  EXPECT_EQ(r["steps"].size(), 2u);

  // 8. A name that does not exist: every search-path name tried.
  r = trace("client http://nope/", &code);
  EXPECT_NE(code, 0);
  EXPECT_EQ(failedStep(r), 1);
  EXPECT_EQ(step(r, 1).value("queries", Json::array()).size(), 4u) << r.dump(2);
  EXPECT_NE(step(r, 1).value("summary", "").find("nope.default.svc.cluster.local"),
            std::string::npos);

  // 9. A policy that denies: the kernel's drop and the policy named.
  ASSERT_EQ(apply("deny.yaml", kDenyClient).first, 0);
  ASSERT_TRUE(eventually([&] {
    Json denied = trace("client http://app-service/ --timeout 1000");
    return failedStep(denied) == 4;
  }));
  r = trace("client http://app-service/ --timeout 1000", &code);
  EXPECT_NE(code, 0);
  const Json& policy = step(r, 4);
  EXPECT_EQ(policy.value("deniedBy", Json::array()), Json::array({"default/app-only-from-web"}))
      << r.dump(2);
  EXPECT_NE(lines(policy).find("drop"), std::string::npos) << r.dump(2);
}

}  // namespace
