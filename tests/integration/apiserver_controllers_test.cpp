// The controllers as seen through the API: IP and port allocation,
// EndpointSlices following pods, Deployments scaling, namespace deletion.
#include <gtest/gtest.h>

#include <set>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

class ControllersTest : public ServerSuite<ControllersTest> {
 public:
  static std::vector<std::string> serverArgs() {
    return {"--service-node-port-range", "31000-31099"};
  }

 protected:
  void makeNamespace(const std::string& name) {
    ASSERT_EQ(api().post("/api/v1/namespaces", {{"metadata", {{"name", name}}}}).status, 201);
  }
  Json list(const std::string& path) { return api().get(path).json(); }
};

bool inServiceRange(const std::string& ip) {
  unsigned a, b, c, d;
  if (std::sscanf(ip.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return false;
  return a == 10 && b >= 96 && b < 112;  // 10.96.0.0/12
}

TEST_F(ControllersTest, ClusterIpAndNodePortAllocation) {
  makeNamespace("alloc");
  std::string services = "/api/v1/namespaces/alloc/services";
  auto allocated = api().post(
      services, {{"metadata", {{"name", "auto"}}}, {"spec", {{"ports", {{{"port", 80}}}}}}});
  ASSERT_EQ(allocated.status, 201) << allocated.body;
  std::string ip = allocated.json()["spec"]["clusterIP"];
  EXPECT_TRUE(inServiceRange(ip)) << ip;
  EXPECT_NE(ip, "10.96.0.1");  // the kubernetes Service has it

  auto requested = api().post(
      services, {{"metadata", {{"name", "fixed"}}},
                 {"spec", {{"clusterIP", "10.96.100.100"}, {"ports", {{{"port", 80}}}}}}});
  ASSERT_EQ(requested.status, 201) << requested.body;
  EXPECT_EQ(requested.json()["spec"]["clusterIP"], "10.96.100.100");

  auto taken = api().post(
      services, {{"metadata", {{"name", "taken"}}},
                 {"spec", {{"clusterIP", "10.96.100.100"}, {"ports", {{{"port", 80}}}}}}});
  EXPECT_EQ(taken.status, 422) << taken.body;
  auto outside =
      api().post(services, {{"metadata", {{"name", "outside"}}},
                            {"spec", {{"clusterIP", "192.168.0.1"}, {"ports", {{{"port", 80}}}}}}});
  EXPECT_EQ(outside.status, 422) << outside.body;

  auto nodePort = api().post(services, {{"metadata", {{"name", "np"}}},
                                        {"spec",
                                         {{"type", "NodePort"},
                                          {"ports",
                                           {
                                               {{"port", 80}},
                                           }}}}});
  ASSERT_EQ(nodePort.status, 201) << nodePort.body;
  int port = nodePort.json()["spec"]["ports"][0]["nodePort"];
  EXPECT_GE(port, 31000);
  EXPECT_LE(port, 31099);
  auto samePort = api().post(
      services,
      {{"metadata", {{"name", "np2"}}},
       {"spec", {{"type", "NodePort"}, {"ports", {{{"port", 80}, {"nodePort", port}}}}}}});
  EXPECT_EQ(samePort.status, 422) << samePort.body;

  // A deleted Service frees its address for the next one that asks.
  ASSERT_EQ(api().del(services + "/fixed").status, 200);
  EXPECT_TRUE(eventually([&] {
    return api()
               .post(services,
                     {{"metadata", {{"name", "reuse"}}},
                      {"spec", {{"clusterIP", "10.96.100.100"}, {"ports", {{{"port", 80}}}}}}})
               .status == 201;
  }));
}

std::set<std::string> readyAddresses(const Json& slices) {
  std::set<std::string> out;
  for (const auto& slice : slices["items"])
    for (const auto& endpoint : slice.value("endpoints", Json::array()))
      if (endpoint.value("conditions", Json::object()).value("ready", false))
        for (const auto& address : endpoint["addresses"]) out.insert(address.get<std::string>());
  return out;
}

TEST_F(ControllersTest, EndpointSlicesFollowPodReadinessAndLabels) {
  makeNamespace("eps");
  ASSERT_EQ(api()
                .post("/api/v1/namespaces/eps/services",
                      {{"metadata", {{"name", "web"}}},
                       {"spec",
                        {{"selector", {{"app", "web"}}},
                         {"ports", {{{"port", 80}, {"targetPort", 8080}}}}}}})
                .status,
            201);
  for (int i = 1; i <= 2; ++i) {
    std::string name = "web-" + std::to_string(i);
    ASSERT_EQ(api()
                  .post("/api/v1/namespaces/eps/pods",
                        {{"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
                         {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}})
                  .status,
              201);
  }
  auto setReady = [&](const std::string& name, const std::string& ip, bool ready) {
    auto patched = api().patch(
        "/api/v1/namespaces/eps/pods/" + name + "/status",
        {{"status",
          {{"phase", "Running"},
           {"podIP", ip},
           {"podIPs", {{{"ip", ip}}}},
           {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}});
    ASSERT_EQ(patched.status, 200) << patched.body;
  };
  setReady("web-1", "10.244.0.11", true);
  setReady("web-2", "10.244.0.12", false);
  std::string slices =
      "/apis/discovery.k8s.io/v1/namespaces/eps/endpointslices?labelSelector=kubernetes.io%2F"
      "service-name%3Dweb";
  EXPECT_TRUE(eventually([&] {
    return readyAddresses(list(slices)) == std::set<std::string>{"10.244.0.11"};
  })) << list(slices).dump();
  setReady("web-2", "10.244.0.12", true);
  EXPECT_TRUE(eventually([&] {
    return readyAddresses(list(slices)) == std::set<std::string>{"10.244.0.11", "10.244.0.12"};
  })) << list(slices).dump();
  // A pod whose labels stop matching leaves the slice.
  ASSERT_EQ(api()
                .patch("/api/v1/namespaces/eps/pods/web-1",
                       {{"metadata", {{"labels", {{"app", "other"}}}}}})
                .status,
            200);
  EXPECT_TRUE(eventually([&] {
    return readyAddresses(list(slices)) == std::set<std::string>{"10.244.0.12"};
  })) << list(slices).dump();
  auto slice = list(slices)["items"][0];
  EXPECT_EQ(slice["ports"][0]["port"], 8080);
}

TEST_F(ControllersTest, DeploymentScalesPods) {
  makeNamespace("deploy");
  Json deployment = {{"metadata", {{"name", "web"}}},
                     {"spec",
                      {{"replicas", 2},
                       {"selector", {{"matchLabels", {{"app", "web"}}}}},
                       {"template",
                        {{"metadata", {{"labels", {{"app", "web"}}}}},
                         {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}}}}}};
  ASSERT_EQ(api().post("/apis/apps/v1/namespaces/deploy/deployments", deployment).status, 201);
  auto podCount = [&] {
    size_t live = 0;
    Json items = list("/api/v1/namespaces/deploy/pods?labelSelector=app%3Dweb")["items"];
    for (const auto& pod : items)
      if (!pod["metadata"].contains("deletionTimestamp")) ++live;
    return live;
  };
  EXPECT_TRUE(eventually([&] { return podCount() == 2; })) << podCount();
  EXPECT_EQ(list("/apis/apps/v1/namespaces/deploy/replicasets")["items"].size(), 1u);
  ASSERT_EQ(api()
                .patch("/apis/apps/v1/namespaces/deploy/deployments/web/scale",
                       {{"spec", {{"replicas", 4}}}})
                .status,
            200);
  EXPECT_TRUE(eventually([&] { return podCount() == 4; })) << podCount();
  ASSERT_EQ(api()
                .patch("/apis/apps/v1/namespaces/deploy/deployments/web/scale",
                       {{"spec", {{"replicas", 1}}}})
                .status,
            200);
  EXPECT_TRUE(eventually([&] { return podCount() == 1; })) << podCount();
}

TEST_F(ControllersTest, NamespaceDeletionRemovesItsObjects) {
  makeNamespace("doomed");
  ASSERT_EQ(
      api().post("/api/v1/namespaces/doomed/configmaps", {{"metadata", {{"name", "c"}}}}).status,
      201);
  ASSERT_EQ(api().post("/api/v1/namespaces/doomed/secrets", {{"metadata", {{"name", "s"}}}}).status,
            201);
  auto deleted = api().del("/api/v1/namespaces/doomed");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_TRUE(eventually([&] { return api().get("/api/v1/namespaces/doomed").status == 404; }))
      << api().get("/api/v1/namespaces/doomed").body;
  EXPECT_EQ(api().get("/api/v1/namespaces/doomed/configmaps/c").status, 404);
  EXPECT_EQ(api().get("/api/v1/namespaces/doomed/secrets/s").status, 404);
}

}  // namespace
}  // namespace podnet::testing

namespace podnet::testing {
namespace {

// DefaultIngressClass admission: a classless Ingress gets the default
// IngressClass (the newest of several); an explicit class or the legacy
// annotation is left alone.
TEST_F(ControllersTest, IngressesWithoutClassGetTheDefaultIngressClass) {
  makeNamespace("ing");
  std::string ingresses = "/apis/networking.k8s.io/v1/namespaces/ing/ingresses";
  auto rule = Json::array(
      {{{"host", "a.example"},
        {"http",
         {{"paths",
           {{{"path", "/"},
             {"pathType", "Prefix"},
             {"backend", {{"service", {{"name", "web"}, {"port", {{"number", 80}}}}}}}}}}}}}});
  auto before =
      api().post(ingresses, {{"metadata", {{"name", "before"}}}, {"spec", {{"rules", rule}}}});
  ASSERT_EQ(before.status, 201) << before.body;
  EXPECT_FALSE(before.json()["spec"].contains("ingressClassName"));
  for (const char* name : {"older", "newer"}) {
    auto made =
        api().post("/apis/networking.k8s.io/v1/ingressclasses",
                   {{"metadata",
                     {{"name", name},
                      {"annotations", {{"ingressclass.kubernetes.io/is-default-class", "true"}}}}},
                    {"spec", {{"controller", "podnet.io/ingress"}}}});
    ASSERT_EQ(made.status, 201) << made.body;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(1100));  // creationTimestamp is in seconds
  }
  auto defaulted =
      api().post(ingresses, {{"metadata", {{"name", "defaulted"}}}, {"spec", {{"rules", rule}}}});
  ASSERT_EQ(defaulted.status, 201) << defaulted.body;
  EXPECT_EQ(defaulted.json()["spec"]["ingressClassName"], "newer");
  auto explicitClass =
      api().post(ingresses, {{"metadata", {{"name", "explicit"}}},
                             {"spec", {{"ingressClassName", "other"}, {"rules", rule}}}});
  EXPECT_EQ(explicitClass.json()["spec"]["ingressClassName"], "other");
  auto legacy = api().post(
      ingresses,
      {{"metadata",
        {{"name", "legacy"}, {"annotations", {{"kubernetes.io/ingress.class", "nginx"}}}}},
       {"spec", {{"rules", rule}}}});
  ASSERT_EQ(legacy.status, 201) << legacy.body;
  EXPECT_FALSE(legacy.json()["spec"].contains("ingressClassName"));
}

}  // namespace
}  // namespace podnet::testing
