// The REST API of the real podnet binary over HTTPS: authentication,
// discovery, CRUD of every resource, errors, selectors, paging, patches,
// subresources and watch.
#include <gtest/gtest.h>

#include <set>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

class RestTest : public ServerSuite<RestTest> {};

struct Sample {
  std::string collection;  // where to POST
  Json object;
};

// One valid object of every served kind.
std::vector<Sample> samples(const std::string& ns) {
  Json podSpec = {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}};
  Json selector = {{"matchLabels", {{"app", "crud"}}}};
  Json podTemplate = {{"metadata", {{"labels", {{"app", "crud"}}}}}, {"spec", podSpec}};
  std::string core = "/api/v1/namespaces/" + ns + "/";
  return {
      {"/api/v1/namespaces",
       {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "crud-ns"}}}}},
      {"/api/v1/nodes",
       {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "crud-node"}}}}},
      {core + "pods",
       {{"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "crud-pod"}}},
        {"spec", podSpec}}},
      {core + "services",
       {{"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata", {{"name", "crud-svc"}}},
        {"spec", {{"ports", {{{"port", 80}}}}}}}},
      {core + "endpoints",
       {{"apiVersion", "v1"}, {"kind", "Endpoints"}, {"metadata", {{"name", "crud-ep"}}}}},
      {core + "secrets",
       {{"apiVersion", "v1"},
        {"kind", "Secret"},
        {"metadata", {{"name", "crud-secret"}}},
        {"data", {{"k", "dmFsdWU="}}}}},
      {core + "configmaps",
       {{"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata", {{"name", "crud-cm"}}},
        {"data", {{"k", "v"}}}}},
      {core + "events",
       {{"apiVersion", "v1"},
        {"kind", "Event"},
        {"metadata", {{"name", "crud-event"}}},
        {"involvedObject", {{"kind", "Pod"}, {"name", "crud-pod"}, {"namespace", ns}}},
        {"reason", "Testing"},
        {"message", "hello"},
        {"type", "Normal"}}},
      {"/apis/discovery.k8s.io/v1/namespaces/" + ns + "/endpointslices",
       {{"apiVersion", "discovery.k8s.io/v1"},
        {"kind", "EndpointSlice"},
        {"metadata", {{"name", "crud-slice"}}},
        {"addressType", "IPv4"},
        {"endpoints", {{{"addresses", {"10.244.0.9"}}}}},
        {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}},
      {"/apis/networking.k8s.io/v1/namespaces/" + ns + "/networkpolicies",
       {{"apiVersion", "networking.k8s.io/v1"},
        {"kind", "NetworkPolicy"},
        {"metadata", {{"name", "crud-netpol"}}},
        {"spec", {{"podSelector", Json::object()}}}}},
      {"/apis/networking.k8s.io/v1/namespaces/" + ns + "/ingresses",
       {{"apiVersion", "networking.k8s.io/v1"},
        {"kind", "Ingress"},
        {"metadata", {{"name", "crud-ing"}}},
        {"spec",
         {{"defaultBackend", {{"service", {{"name", "crud-svc"}, {"port", {{"number", 80}}}}}}}}}}},
      {"/apis/networking.k8s.io/v1/ingressclasses",
       {{"apiVersion", "networking.k8s.io/v1"},
        {"kind", "IngressClass"},
        {"metadata", {{"name", "crud-class"}}},
        {"spec", {{"controller", "podnet.io/ingress"}}}}},
      {core + "persistentvolumeclaims",
       {{"apiVersion", "v1"},
        {"kind", "PersistentVolumeClaim"},
        {"metadata", {{"name", "crud-pvc"}}},
        {"spec",
         {{"accessModes", {"ReadWriteOnce"}},
          {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}}},
      {"/api/v1/persistentvolumes",
       {{"apiVersion", "v1"},
        {"kind", "PersistentVolume"},
        {"metadata", {{"name", "crud-pv"}}},
        {"spec",
         {{"capacity", {{"storage", "1Gi"}}},
          {"accessModes", {"ReadWriteOnce"}},
          {"hostPath", {{"path", "/tmp/crud-pv"}}}}}}},
      {"/apis/storage.k8s.io/v1/storageclasses",
       {{"apiVersion", "storage.k8s.io/v1"},
        {"kind", "StorageClass"},
        {"metadata", {{"name", "crud-sc"}}},
        {"provisioner", "example.com/crud"}}},
      {"/apis/apps/v1/namespaces/" + ns + "/deployments",
       {{"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", {{"name", "crud-deploy"}}},
        {"spec", {{"replicas", 0}, {"selector", selector}, {"template", podTemplate}}}}},
      {"/apis/apps/v1/namespaces/" + ns + "/replicasets",
       {{"apiVersion", "apps/v1"},
        {"kind", "ReplicaSet"},
        {"metadata", {{"name", "crud-rs"}}},
        {"spec", {{"replicas", 0}, {"selector", selector}, {"template", podTemplate}}}}},
  };
}

TEST_F(RestTest, AuthenticationAndHealth) {
  auto anonymous = api().request("GET", "/api/v1/namespaces", "", "", "application/json", false);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.json()["reason"], "Unauthorized");
  EXPECT_EQ(anonymous.json()["kind"], "Status");
  HttpsClient wrongToken(server_->port, server_->caPem, "not-the-token");
  EXPECT_EQ(wrongToken.get("/api/v1/namespaces").status, 401);
  for (const char* path : {"/healthz", "/livez", "/readyz"}) {
    auto health = api().request("GET", path, "", "", "", false);
    EXPECT_EQ(health.status, 200) << path;
    EXPECT_EQ(health.body, "ok");
  }
  // The kubeconfig carries the same credentials.
  std::string kubeconfig = readFile(server_->kubeconfig());
  EXPECT_NE(kubeconfig.find("token: " + server_->token), std::string::npos);
  EXPECT_NE(kubeconfig.find("server: https://127.0.0.1:" + std::to_string(server_->port)),
            std::string::npos);
  EXPECT_NE(kubeconfig.find("current-context: podnet"), std::string::npos);
  EXPECT_EQ(std::filesystem::status(server_->dataDir + "/pki/admin.token").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(RestTest, VersionAndDiscovery) {
  auto version = api().get("/version?timeout=5s").json();
  EXPECT_EQ(version["major"], "1");
  EXPECT_EQ(version["minor"], "32");
  auto aggregatedAccept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
  auto apis = api().request("GET", "/apis?timeout=32s", "", "", aggregatedAccept);
  EXPECT_EQ(apis.status, 200);
  EXPECT_EQ(apis.contentType,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  std::set<std::string> aggregatedGroups;
  Json discoveryList = apis.json();
  for (const auto& item : discoveryList["items"])
    aggregatedGroups.insert(item["metadata"]["name"].get<std::string>());
  const std::set<std::string> kGroups = {"admissionregistration.k8s.io",
                                         "apiextensions.k8s.io",
                                         "apps",
                                         "batch",
                                         "coordination.k8s.io",
                                         "discovery.k8s.io",
                                         "networking.k8s.io",
                                         "storage.k8s.io"};
  EXPECT_EQ(aggregatedGroups, kGroups);
  // Without the aggregated form in Accept, the plain APIGroupList.
  auto plain = api().request("GET", "/apis?timeout=32s", "", "", "application/json, */*");
  EXPECT_EQ(plain.contentType, "application/json");
  std::set<std::string> groups;
  Json groupList = plain.json();
  for (const auto& group : groupList["groups"]) groups.insert(group["name"].get<std::string>());
  EXPECT_EQ(groups, kGroups);
  auto coreList = api().get("/api/v1").json();
  std::set<std::string> names;
  for (const auto& r : coreList["resources"]) names.insert(r["name"].get<std::string>());
  EXPECT_TRUE(names.count("services/status"));
  EXPECT_TRUE(names.count("pods"));
  auto apps = api().get("/apis/apps/v1").json();
  bool scale = false;
  for (const auto& r : apps["resources"]) scale = scale || r["name"] == "deployments/scale";
  EXPECT_TRUE(scale);
  EXPECT_EQ(api().get("/api").json()["versions"][0], "v1");
  auto missing = api().get("/apis/nosuch.example.com/v1/things");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["kind"], "Status");
  EXPECT_EQ(api().request("PUT", "/api/v1", "{}").status, 405);
}

TEST_F(RestTest, CrudOfEveryResource) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "crud"}}}}).status, 201);
  for (auto& sample : samples("crud")) {
    SCOPED_TRACE(sample.object["kind"].get<std::string>());
    std::string name = sample.object["metadata"]["name"];
    auto created = api().post(sample.collection, sample.object);
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_FALSE(created.json()["metadata"]["uid"].get<std::string>().empty());
    std::string item = sample.collection + "/" + name;
    auto got = api().get(item);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.json()["metadata"]["name"], name);
    auto list = api().get(sample.collection);
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(list.json()["kind"], sample.object["kind"].get<std::string>() + "List");
    bool listed = false;
    Json items = list.json()["items"];
    for (const auto& i : items) listed = listed || i["metadata"]["name"] == name;
    EXPECT_TRUE(listed);
    // Controllers may write the object meanwhile (the scheduler binds the
    // pod): retry on conflict with the newer object, as clients do.
    HttpResult put;
    for (int attempt = 0; attempt < 5; ++attempt) {
      Json updated = api().get(item).json();
      updated["metadata"]["labels"]["updated"] = "yes";
      put = api().put(item, updated);
      if (put.status != 409) break;
    }
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.json()["metadata"]["labels"]["updated"], "yes");
    EXPECT_NE(put.json()["metadata"]["resourceVersion"], got.json()["metadata"]["resourceVersion"]);
    auto deleted = api().del(item + "?gracePeriodSeconds=0");
    ASSERT_EQ(deleted.status, 200) << deleted.body;
    EXPECT_EQ(deleted.json()["metadata"]["name"], name);
    // Namespaces and nodes may linger while finalizers run; the rest go now.
    if (sample.object["kind"] != "Namespace") {
      EXPECT_TRUE(eventually([&] { return api().get(item).status == 404; })) << item;
    }
  }
}

TEST_F(RestTest, ErrorsAreStatuses) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "errs"}}}}).status, 201);
  auto invalid = api().post(
      "/api/v1/namespaces/errs/services",
      {{"metadata", {{"name", "bad"}}},
       {"spec", {{"ports", {{{"port", 0}, {"name", "a"}}, {{"port", 99999}, {"name", "b"}}}}}}});
  ASSERT_EQ(invalid.status, 422) << invalid.body;
  auto status = invalid.json();
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["details"]["kind"], "Service");
  std::set<std::string> fields;
  for (const auto& cause : status["details"]["causes"])
    fields.insert(cause["field"].get<std::string>());
  EXPECT_TRUE(fields.count("spec.ports[0].port"));
  EXPECT_TRUE(fields.count("spec.ports[1].port"));

  Json cm = {{"metadata", {{"name", "dup"}}}, {"data", {{"a", "1"}}}};
  ASSERT_EQ(api().post("/api/v1/namespaces/errs/configmaps", cm).status, 201);
  auto duplicate = api().post("/api/v1/namespaces/errs/configmaps", cm);
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(duplicate.json()["reason"], "AlreadyExists");

  auto current = api().get("/api/v1/namespaces/errs/configmaps/dup").json();
  Json first = current;
  first["data"]["a"] = "2";
  ASSERT_EQ(api().put("/api/v1/namespaces/errs/configmaps/dup", first).status, 200);
  Json stale = current;  // still carries the old resourceVersion
  stale["data"]["a"] = "3";
  auto conflict = api().put("/api/v1/namespaces/errs/configmaps/dup", stale);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.json()["reason"], "Conflict");
  EXPECT_NE(conflict.json()["message"].get<std::string>().find("the object has been modified"),
            std::string::npos);

  auto notFound = api().get("/api/v1/namespaces/errs/configmaps/nosuch");
  EXPECT_EQ(notFound.status, 404);
  EXPECT_EQ(notFound.json()["reason"], "NotFound");
  EXPECT_EQ(notFound.json()["details"]["kind"], "configmaps");

  auto badJson = api().request("POST", "/api/v1/namespaces/errs/configmaps", "{\"metadata\":");
  EXPECT_EQ(badJson.status, 400);
  EXPECT_EQ(badJson.json()["reason"], "BadRequest");
  auto mismatch = api().post("/api/v1/namespaces/errs/configmaps",
                             {{"metadata", {{"name", "x"}, {"namespace", "default"}}}});
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(mismatch.json()["message"],
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
  auto protobuf = api().request("POST", "/api/v1/namespaces/errs/configmaps", "k8s",
                                "application/vnd.kubernetes.protobuf");
  // A protobuf body is decoded; this one is cut short inside the magic.
  EXPECT_EQ(protobuf.status, 400);
  EXPECT_EQ(protobuf.json()["reason"], "BadRequest");
  EXPECT_EQ(api().request("DELETE", "/api/v1/namespaces/errs/configmaps/dup/status").status, 404);
  EXPECT_EQ(api().request("POST", "/api/v1/namespaces/errs/configmaps/dup", "{}").status, 405);

  // Malformed and hostile input never takes the server down.
  for (const char* body : {"", "null", "[]", "\"x\"", "{\"metadata\":[]}", "{\"kind\":7}",
                           "{\"metadata\":{\"name\":{}}}", "\xff\xfe"}) {
    auto r = api().request("POST", "/api/v1/namespaces/errs/configmaps", body);
    EXPECT_GE(r.status, 400) << body;
    EXPECT_LT(r.status, 500) << body << " " << r.body;
  }
  auto yaml = api().request("POST", "/api/v1/namespaces/errs/configmaps",
                            "metadata:\n  name: from-yaml\ndata:\n  k: v\n", "application/yaml");
  EXPECT_EQ(yaml.status, 201) << yaml.body;
  EXPECT_EQ(api().get("/readyz").status, 200);
}

TEST_F(RestTest, SelectorsAndPaging) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "sel"}}}}).status, 201);
  for (int i = 0; i < 7; ++i) {
    Json pod = {{"metadata",
                 {{"name", "p" + std::to_string(i)},
                  {"labels", {{"app", i % 2 ? "odd" : "even"}, {"index", std::to_string(i)}}}}},
                {"spec",
                 {{"nodeName", i < 3 ? "node-a" : "node-b"},
                  {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
    ASSERT_EQ(api().post("/api/v1/namespaces/sel/pods", pod).status, 201);
  }
  auto names = [](const Json& list) {
    std::set<std::string> out;
    for (const auto& item : list["items"]) out.insert(item["metadata"]["name"].get<std::string>());
    return out;
  };
  EXPECT_EQ(names(api().get("/api/v1/namespaces/sel/pods?labelSelector=app%3Dodd").json()),
            (std::set<std::string>{"p1", "p3", "p5"}));
  EXPECT_EQ(
      names(api()
                .get("/api/v1/namespaces/sel/pods?labelSelector=app%3Deven,index%20in%20(0,6)")
                .json()),
      (std::set<std::string>{"p0", "p6"}));
  EXPECT_EQ(
      names(api().get("/api/v1/namespaces/sel/pods?fieldSelector=spec.nodeName%3Dnode-a").json()),
      (std::set<std::string>{"p0", "p1", "p2"}));
  // Across all namespaces too.
  EXPECT_EQ(names(api()
                      .get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&labelSelector="
                           "app%3Deven")
                      .json()),
            (std::set<std::string>{"p0", "p2"}));
  EXPECT_EQ(api().get("/api/v1/namespaces/sel/pods?labelSelector=%3D%3D%3D").status, 400);

  std::set<std::string> paged;
  std::string next;
  int pages = 0;
  do {
    auto page = api().get("/api/v1/namespaces/sel/pods?limit=3" +
                          (next.empty() ? std::string() : "&continue=" + next));
    ASSERT_EQ(page.status, 200) << page.body;
    auto json = page.json();
    EXPECT_LE(json["items"].size(), 3u);
    for (const auto& n : names(json)) EXPECT_TRUE(paged.insert(n).second) << "twice: " << n;
    next = json["metadata"].value("continue", "");
    ++pages;
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(paged.size(), 7u);
}

TEST_F(RestTest, PatchKinds) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "patch"}}}}).status, 201);
  ASSERT_EQ(api()
                .post("/api/v1/namespaces/patch/configmaps",
                      {{"metadata", {{"name", "cm"}, {"labels", {{"a", "1"}, {"b", "2"}}}}},
                       {"data", {{"x", "1"}}}})
                .status,
            201);
  std::string cm = "/api/v1/namespaces/patch/configmaps/cm";
  auto merged = api().patch(
      cm, {{"metadata", {{"labels", {{"a", nullptr}, {"c", "3"}}}}}, {"data", {{"y", "2"}}}});
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(merged.json()["metadata"]["labels"], (Json{{"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(merged.json()["data"], (Json{{"x", "1"}, {"y", "2"}}));
  auto jsonPatch = api().patch(cm, Json::parse(R"([{"op":"test","path":"/data/x","value":"1"},
                                               {"op":"replace","path":"/data/x","value":"10"},
                                               {"op":"remove","path":"/data/y"}])"),
                               "application/json-patch+json");
  ASSERT_EQ(jsonPatch.status, 200) << jsonPatch.body;
  EXPECT_EQ(jsonPatch.json()["data"], (Json{{"x", "10"}}));
  auto failedTest = api().patch(cm, Json::parse(R"([{"op":"test","path":"/data/x","value":"1"}])"),
                                "application/json-patch+json");
  EXPECT_EQ(failedTest.status, 422);
  auto strategic = api().patch(cm, {{"metadata", {{"labels", {{"d", "4"}}}}}},
                               "application/strategic-merge-patch+json");
  EXPECT_EQ(strategic.status, 200);
  EXPECT_EQ(strategic.json()["metadata"]["labels"]["d"], "4");
  auto stale = api().patch(cm, {{"metadata", {{"resourceVersion", "1"}}}, {"data", {{"z", "1"}}}});
  EXPECT_EQ(stale.status, 409);
  // Server-side apply needs a field manager.
  auto unmanaged = api().patch(cm, Json::object(), "application/apply-patch+yaml");
  EXPECT_EQ(unmanaged.status, 400);
  EXPECT_NE(unmanaged.body.find("fieldManager"), std::string::npos) << unmanaged.body;
  EXPECT_EQ(
      api().patch("/api/v1/namespaces/patch/configmaps/none", {{"data", {{"a", "b"}}}}).status,
      404);
}

TEST_F(RestTest, StatusSubresource) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "status"}}}}).status, 201);
  Json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  auto created = api().post("/api/v1/namespaces/status/pods", pod);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string path = "/api/v1/namespaces/status/pods/p";
  Json withStatus = created.json();
  withStatus["status"] = {{"phase", "Running"}, {"podIP", "10.244.1.7"}};
  withStatus["metadata"]["labels"]["ignored"] = "yes";
  withStatus["metadata"].erase("resourceVersion");
  auto put = api().put(path + "/status", withStatus);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json()["status"]["podIP"], "10.244.1.7");
  EXPECT_FALSE(put.json()["metadata"].contains("labels") &&
               put.json()["metadata"]["labels"].contains("ignored"));
  // The main resource does not change status.
  Json main = api().get(path).json();
  main["status"]["podIP"] = "10.0.0.1";
  main["metadata"]["labels"]["kept"] = "yes";
  // The scheduler writes this pod's status (PodScheduled=False) meanwhile:
  // an unconditional PUT, as no other writer touches labels.
  main["metadata"].erase("resourceVersion");
  auto mainPut = api().put(path, main);
  ASSERT_EQ(mainPut.status, 200) << mainPut.body;
  EXPECT_EQ(mainPut.json()["status"]["podIP"], "10.244.1.7");
  EXPECT_EQ(mainPut.json()["metadata"]["labels"]["kept"], "yes");
  auto patched = api().patch(path + "/status", {{"status", {{"phase", "Succeeded"}}}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["status"]["phase"], "Succeeded");
  EXPECT_EQ(api().get(path + "/status").json()["status"]["phase"], "Succeeded");
}

TEST_F(RestTest, ScaleSubresource) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "scale"}}}}).status, 201);
  Json deployment = {{"metadata", {{"name", "web"}}},
                     {"spec",
                      {{"replicas", 0},
                       {"selector", {{"matchLabels", {{"app", "web"}}}}},
                       {"template",
                        {{"metadata", {{"labels", {{"app", "web"}}}}},
                         {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}}}}}};
  ASSERT_EQ(api().post("/apis/apps/v1/namespaces/scale/deployments", deployment).status, 201);
  std::string path = "/apis/apps/v1/namespaces/scale/deployments/web/scale";
  auto scale = api().get(path);
  ASSERT_EQ(scale.status, 200) << scale.body;
  EXPECT_EQ(scale.json()["kind"], "Scale");
  EXPECT_EQ(scale.json()["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(scale.json()["spec"]["replicas"], 0);
  EXPECT_EQ(scale.json()["status"]["selector"], "app=web");
  // What `kubectl scale` sends.
  auto patched = api().patch(path, {{"spec", {{"replicas", 3}}}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["spec"]["replicas"], 3);
  EXPECT_EQ(api().get("/apis/apps/v1/namespaces/scale/deployments/web").json()["spec"]["replicas"],
            3);
  // The deployment controller writes status meanwhile, so a PUT of what was
  // read may meet a newer resourceVersion: read again and retry, as clients do.
  Json put;
  HttpResult replaced;
  for (int attempt = 0; attempt < 20; ++attempt) {
    put = api().get(path).json();
    put["spec"]["replicas"] = 1;
    replaced = api().put(path, put);
    if (replaced.status != 409) break;
  }
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.json()["spec"]["replicas"], 1);
  put["spec"]["replicas"] = 2;  // put still carries the old resourceVersion
  EXPECT_EQ(api().put(path, put).status, 409);
  EXPECT_EQ(api().get("/api/v1/namespaces/default/services/kubernetes/scale").status, 404);
}

TEST_F(RestTest, WatchDeliversAndResumes) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "watch"}}}}).status, 201);
  std::string collection = "/api/v1/namespaces/watch/configmaps";
  // The namespace's kube-root-ca.crt comes first.
  ASSERT_TRUE(
      eventually([&] { return api().get(collection + "/kube-root-ca.crt").status == 200; }));
  auto first = api().post(collection, {{"metadata", {{"name", "w1"}}}});
  ASSERT_EQ(first.status, 201);
  std::string startVersion = first.json()["metadata"]["resourceVersion"];
  ASSERT_EQ(api().post(collection, {{"metadata", {{"name", "w2"}}}}).status, 201);
  ASSERT_EQ(api().patch(collection + "/w2", {{"data", {{"k", "v"}}}}).status, 200);

  // Resuming after w1 replays what came later, in order.
  auto watch = server_->watch(collection + "?watch=true&resourceVersion=" + startVersion);
  ASSERT_EQ(watch->status(), 200);
  auto added = watch->next();
  ASSERT_TRUE(added);
  EXPECT_EQ(added->json["type"], "ADDED");
  EXPECT_EQ(added->json["object"]["metadata"]["name"], "w2");
  auto modified = watch->next();
  ASSERT_TRUE(modified);
  EXPECT_EQ(modified->json["type"], "MODIFIED");
  // Live events arrive as they happen.
  auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(api().del(collection + "/w1").status, 200);
  auto deleted = watch->next();
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->json["type"], "DELETED");
  EXPECT_EQ(deleted->json["object"]["metadata"]["name"], "w1");
  EXPECT_LT(deleted->received - sent, std::chrono::seconds(1));

  // A watch with a label selector sees only its objects.
  auto selected = server_->watch(collection + "?watch=1&labelSelector=pick%3Dme");
  ASSERT_EQ(api().post(collection, {{"metadata", {{"name", "other"}}}}).status, 201);
  ASSERT_EQ(
      api()
          .post(collection, {{"metadata", {{"name", "picked"}, {"labels", {{"pick", "me"}}}}}})
          .status,
      201);
  auto picked = selected->next();
  ASSERT_TRUE(picked);
  EXPECT_EQ(picked->json["object"]["metadata"]["name"], "picked");

  // timeoutSeconds ends the stream.
  auto timed = server_->watch(collection + "?watch=true&timeoutSeconds=1");
  EXPECT_TRUE(timed->waitEnded(std::chrono::seconds(5)));
}

TEST_F(RestTest, DeleteCollectionAndDeleteOptions) {
  ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", "delcol"}}}}).status, 201);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(api()
                  .post("/api/v1/namespaces/delcol/configmaps",
                        {{"metadata",
                          {{"name", "c" + std::to_string(i)},
                           {"labels", {{"group", i < 3 ? "gone" : "kept"}}}}}})
                  .status,
              201);
  auto deleted = api().del("/api/v1/namespaces/delcol/configmaps?labelSelector=group%3Dgone");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(deleted.json()["items"].size(), 3u);
  auto left = api().get("/api/v1/namespaces/delcol/configmaps?labelSelector=group").json();
  ASSERT_EQ(left["items"].size(), 1u);
  EXPECT_EQ(left["items"][0]["metadata"]["name"], "c3");
  // A precondition that does not hold refuses the delete.
  auto refused = api().del("/api/v1/namespaces/delcol/configmaps/c3",
                           R"({"preconditions":{"uid":"not-the-uid"}})");
  EXPECT_EQ(refused.status, 409);
  auto accepted = api().del("/api/v1/namespaces/delcol/configmaps/c3",
                            R"({"propagationPolicy":"Background","gracePeriodSeconds":0})");
  EXPECT_EQ(accepted.status, 200);
}

TEST_F(RestTest, DryRunStoresNothing) {
  auto dry = api().post("/api/v1/namespaces/default/configmaps?dryRun=All",
                        {{"metadata", {{"name", "dry"}}}});
  EXPECT_EQ(dry.status, 201) << dry.body;
  EXPECT_EQ(api().get("/api/v1/namespaces/default/configmaps/dry").status, 404);
}

}  // namespace
}  // namespace podnet::testing
