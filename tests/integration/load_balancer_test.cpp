// LoadBalancer Services get addresses from `podnet server --load-balancer-pool`,
// seen through the real kubectl: EXTERNAL-IP in `kubectl get svc`, requested
// addresses, exhaustion (<pending> plus an AllocationFailed Event in
// `kubectl describe`), release on delete and on a type change, assignments
// kept across a server restart, other loadBalancerClasses left alone, and a
// bad pool flag refused at start. No traffic is sent: the pool addresses are
// only written into the API.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

constexpr const char* kPool = "10.123.0.10-10.123.0.12";

class LoadBalancerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "no kubectl at " << kKubectl;
  }

  void startServer(const std::string& pool) {
    std::vector<std::string> args;
    if (!pool.empty()) args = {"--load-balancer-pool", pool};
    server_ = std::make_unique<ServerProcess>(args);
    ASSERT_TRUE(server_->start()) << server_->log();
  }

  void restartServer() {
    server_->stop();
    ASSERT_TRUE(server_->start()) << server_->log();
  }

  std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand("HOME=" + server_->dataDir + " timeout 60 " + kKubectl + " --kubeconfig " +
                      server_->kubeconfig() + " " + args);
  }

  void apply(const std::string& name, const std::string& yaml) {
    std::string path = server_->dataDir + "/" + name + ".yaml";
    std::ofstream(path) << yaml;
    auto [code, out] = kubectl("apply -f " + path);
    ASSERT_EQ(code, 0) << out;
  }

  // A LoadBalancer Service; `extra` lines go under spec (indented by 2).
  void createService(const std::string& name, const std::string& extraSpec = "",
                     const std::string& annotations = "") {
    apply(name, "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\n" +
                    (annotations.empty() ? "" : "  annotations:\n" + annotations) +
                    "spec:\n  type: LoadBalancer\n  selector:\n    app: " + name +
                    "\n  ports:\n  - port: 80\n    targetPort: 8080\n" + extraSpec);
  }

  // The EXTERNAL-IP column of `kubectl get svc NAME`.
  std::string externalIp(const std::string& name) {
    auto [code, out] = kubectl("get svc " + name + " --no-headers");
    if (code != 0) return "<error " + out + ">";
    std::istringstream columns(out);
    std::string column;
    for (int i = 0; i < 4 && columns >> column; ++i) {
    }
    return column;
  }

  bool externalIpBecomes(const std::string& name, const std::string& wanted) {
    return eventually([&] { return externalIp(name) == wanted; });
  }

  std::string describe(const std::string& name) {
    auto [code, out] = kubectl("describe svc " + name);
    return code == 0 ? out : "<error " + out + ">";
  }

  std::string jsonpath(const std::string& object, const std::string& path) {
    auto [code, out] = kubectl("get " + object + " -o jsonpath='" + path + "'");
    return code == 0 ? out : "<error " + out + ">";
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(LoadBalancerTest, SeedServiceGetsAnAddressShownByKubectl) {
  startServer(kPool);
  // The LoadBalancer example of the seed documents, as written there.
  apply("app-lb",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: app-lb\nspec:\n  type: LoadBalancer\n"
        "  selector:\n    app: nextgen-app\n  ports:\n  - port: 80\n    targetPort: 3000\n");
  ASSERT_TRUE(externalIpBecomes("app-lb", "10.123.0.10")) << externalIp("app-lb");

  auto [code, table] = kubectl("get svc app-lb");
  ASSERT_EQ(code, 0) << table;
  EXPECT_NE(table.find("EXTERNAL-IP"), std::string::npos) << table;
  EXPECT_NE(table.find("LoadBalancer"), std::string::npos) << table;
  EXPECT_NE(table.find("80:3"), std::string::npos) << table;  // the NodePort is there too
  EXPECT_EQ(jsonpath("svc app-lb", "{.status.loadBalancer.ingress[0].ipMode}"), "VIP");

  std::string described = describe("app-lb");
  EXPECT_NE(described.find("LoadBalancer Ingress:"), std::string::npos) << described;
  EXPECT_NE(described.find("IPAllocated"), std::string::npos) << described;
  EXPECT_NE(described.find("Assigned IP [10.123.0.10]"), std::string::npos) << described;

  // A second Service gets the next address; the first keeps its own.
  createService("second");
  EXPECT_TRUE(externalIpBecomes("second", "10.123.0.11")) << externalIp("second");
  EXPECT_EQ(externalIp("app-lb"), "10.123.0.10");
}

TEST_F(LoadBalancerTest, RequestedAddressesAreHonoured) {
  startServer(kPool);
  createService("by-spec", "  loadBalancerIP: 10.123.0.12\n");
  createService("by-annotation", "", "    metallb.universe.tf/loadBalancerIPs: 10.123.0.11\n");
  EXPECT_TRUE(externalIpBecomes("by-spec", "10.123.0.12")) << externalIp("by-spec");
  EXPECT_TRUE(externalIpBecomes("by-annotation", "10.123.0.11")) << externalIp("by-annotation");
  createService("any");
  EXPECT_TRUE(externalIpBecomes("any", "10.123.0.10")) << externalIp("any");

  // Taken or outside the pool: pending, and describe says why.
  createService("wants-taken", "  loadBalancerIP: 10.123.0.12\n");
  createService("wants-outside", "  loadBalancerIP: 192.0.2.7\n");
  EXPECT_TRUE(eventually([&] {
    return describe("wants-taken")
               .find(
                   "requested IP 10.123.0.12 is already allocated to "
                   "default/by-spec") != std::string::npos;
  })) << describe("wants-taken");
  EXPECT_TRUE(eventually([&] {
    return describe("wants-outside")
               .find(
                   "requested IP 192.0.2.7 is not in the load balancer pool "
                   "10.123.0.10-10.123.0.12") != std::string::npos;
  })) << describe("wants-outside");
  EXPECT_NE(describe("wants-taken").find("AllocationFailed"), std::string::npos);
  EXPECT_EQ(externalIp("wants-taken"), "<pending>");
  EXPECT_EQ(externalIp("wants-outside"), "<pending>");

  // When the holder goes, the Service that asked for its address gets it.
  auto [code, out] = kubectl("delete svc by-spec");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(externalIpBecomes("wants-taken", "10.123.0.12")) << externalIp("wants-taken");
}

TEST_F(LoadBalancerTest, ExhaustedPoolLeavesServicesPendingUntilAnAddressIsFreed) {
  startServer(kPool);
  for (const char* name : {"a", "b", "c"}) createService(name);
  ASSERT_TRUE(externalIpBecomes("c", "10.123.0.12")) << externalIp("c");
  createService("d");
  ASSERT_TRUE(eventually([&] {
    return describe("d").find("AllocationFailed") != std::string::npos;
  })) << describe("d");
  std::string described = describe("d");
  EXPECT_NE(described.find("Warning"), std::string::npos) << described;
  EXPECT_NE(described.find("no available IPs: all 3 IPv4 addresses of the pool "
                           "10.123.0.10-10.123.0.12 are in use"),
            std::string::npos)
      << described;
  EXPECT_EQ(externalIp("d"), "<pending>");
  auto [code, events] = kubectl("get events");
  EXPECT_NE(events.find("AllocationFailed"), std::string::npos) << events;
  EXPECT_NE(events.find("service/d"), std::string::npos) << events;

  std::string freed = externalIp("b");
  auto [deleted, out] = kubectl("delete svc b");
  ASSERT_EQ(deleted, 0) << out;
  EXPECT_TRUE(externalIpBecomes("d", freed)) << externalIp("d");
  EXPECT_EQ(externalIp("a"), "10.123.0.10");
  EXPECT_EQ(externalIp("c"), "10.123.0.12");
}

TEST_F(LoadBalancerTest, TypeChangeReleasesTheAddressAndClearsStatus) {
  startServer("10.123.0.10/32");
  createService("first");
  ASSERT_TRUE(externalIpBecomes("first", "10.123.0.10")) << externalIp("first");
  createService("waiting");
  ASSERT_TRUE(eventually([&] {
    return describe("waiting").find("AllocationFailed") != std::string::npos;
  })) << describe("waiting");

  // The patch clears the LoadBalancer-only fields itself: the registry does
  // not yet drop them on a type change as upstream's dropTypeDependentFields.
  auto [code, out] = kubectl(
      "patch svc first --type=merge -p '{\"spec\":{\"type\":\"ClusterIP\","
      "\"externalTrafficPolicy\":null,\"allocateLoadBalancerNodePorts\":null,"
      "\"ports\":[{\"port\":80,\"targetPort\":8080,\"protocol\":\"TCP\"}]}}'");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(externalIpBecomes("first", "<none>")) << externalIp("first");
  EXPECT_TRUE(eventually([&] { return jsonpath("svc first", "{.status.loadBalancer}") == "{}"; }))
      << jsonpath("svc first", "{.status}");
  EXPECT_TRUE(externalIpBecomes("waiting", "10.123.0.10")) << externalIp("waiting");

  // Back to LoadBalancer: the pool is empty now, so it waits.
  std::tie(code, out) =
      kubectl("patch svc first --type=merge -p '{\"spec\":{\"type\":\"LoadBalancer\"}}'");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(externalIpBecomes("first", "<pending>")) << externalIp("first");
  EXPECT_TRUE(eventually([&] {
    return describe("first").find("AllocationFailed") != std::string::npos;
  })) << describe("first");
}

TEST_F(LoadBalancerTest, ServerRestartKeepsEveryAssignment) {
  startServer(kPool);
  for (const char* name : {"a", "b", "c"}) createService(name);
  ASSERT_TRUE(externalIpBecomes("c", "10.123.0.12")) << externalIp("c");
  auto [code, out] = kubectl("delete svc a");  // a gap below the held addresses
  ASSERT_EQ(code, 0) << out;
  std::string resourceVersion = jsonpath("svc b", "{.metadata.resourceVersion}");

  restartServer();
  createService("d");
  createService("e");
  // d fills the gap; nothing held before the restart is handed out again.
  EXPECT_TRUE(externalIpBecomes("d", "10.123.0.10")) << externalIp("d");
  EXPECT_EQ(externalIp("b"), "10.123.0.11");
  EXPECT_EQ(externalIp("c"), "10.123.0.12");
  EXPECT_TRUE(eventually([&] {
    return describe("e").find("AllocationFailed") != std::string::npos;
  })) << describe("e");
  EXPECT_EQ(externalIp("e"), "<pending>");
  // The restart rewrote nothing.
  EXPECT_EQ(jsonpath("svc b", "{.metadata.resourceVersion}"), resourceVersion);
}

TEST_F(LoadBalancerTest, OtherLoadBalancerClassesAreLeftAlone) {
  startServer(kPool);
  createService("theirs", "  loadBalancerClass: example.com/other-lb\n");
  createService("ours", "  loadBalancerClass: podnet.io/lb\n");
  EXPECT_TRUE(externalIpBecomes("ours", "10.123.0.10")) << externalIp("ours");
  // Their controller writes their status; ours does not touch it.
  auto [code, out] = kubectl(
      "patch svc theirs --subresource=status --type=merge "
      "-p '{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.9\"}]}}}'");
  ASSERT_EQ(code, 0) << out;
  createService("later");
  EXPECT_TRUE(externalIpBecomes("later", "10.123.0.11")) << externalIp("later");
  EXPECT_EQ(externalIp("theirs"), "198.51.100.9");
  EXPECT_EQ(describe("theirs").find("AllocationFailed"), std::string::npos);
  EXPECT_EQ(describe("theirs").find("IPAllocated"), std::string::npos);
}

TEST_F(LoadBalancerTest, WithoutAPoolServicesStayPending) {
  startServer("");
  createService("web");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(externalIp("web"), "<pending>");
  EXPECT_EQ(describe("web").find("Allocat"), std::string::npos) << describe("web");
}

TEST(LoadBalancerPoolFlag, BadPoolIsRefusedAtStart) {
  char pattern[] = "/tmp/podnet-it-XXXXXX";
  std::string dir = ::mkdtemp(pattern);
  for (const auto& [pool, message] : std::vector<std::pair<std::string, std::string>>{
           {"10.0.0.0/33",
            "invalid --load-balancer-pool \"10.0.0.0/33\": \"10.0.0.0/33\" is "
            "not a CIDR"},
           {"10.0.0.9-10.0.0.1", "ends before it starts"},
           {"10.0.0.0/28,10.0.0.4", "overlap"}}) {
    auto [code, out] = runCommand(std::string(PODNET_BINARY) + " server --data-dir " + dir +
                                  " --listen 127.0.0.1:0 --load-balancer-pool '" + pool + "'");
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(message), std::string::npos) << out;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace podnet::testing
