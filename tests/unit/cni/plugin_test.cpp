#include "cni/plugin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "temp_dir.h"

namespace podnet::cni {
namespace {

namespace fs = std::filesystem;

// Records what the dispatcher asks of the kernel side.
class FakeBackend : public NetworkBackend {
 public:
  Outcome<PodLinks> setUpPod(const PodNetworkSpec& spec) override {
    setUps.push_back(spec);
    if (failSetUp) return CniError{kIoFailure, "veth creation failed", ""};
    pods[spec.netns + "/" + spec.ifname] = spec;
    return PodLinks{{spec.bridge, "0a:00:00:00:00:01", spec.mtu},
                    {"vethabc", "0a:00:00:00:00:02", spec.mtu},
                    {spec.ifname, "0a:00:00:00:00:03", spec.mtu}};
  }
  CniStatus tearDownPod(const std::string& netns, const std::string& ifname) override {
    ++tearDowns;
    if (failTearDown) return CniError{kIoFailure, "netlink error", ""};
    pods.erase(netns + "/" + ifname);
    return Done{};
  }
  CniStatus checkPod(const PodNetworkSpec& spec) override {
    auto it = pods.find(spec.netns + "/" + spec.ifname);
    if (it == pods.end() || !(it->second.address == spec.address))
      return CniError{kUnknownContainer, "interface missing", ""};
    return Done{};
  }
  bool ready() override { return isReady; }

  std::vector<PodNetworkSpec> setUps;
  std::map<std::string, PodNetworkSpec> pods;
  int tearDowns = 0;
  bool failSetUp = false;
  bool failTearDown = false;
  bool isReady = true;
};

class CniPluginTest : public ::testing::Test {
 protected:
  std::string config(const std::string& version = "1.1.0", const std::string& extra = "") {
    return R"({"cniVersion":")" + version + R"(","name":"podnet","type":"podnet",
      "isDefaultGateway":true,"mtu":1400,"hairpinMode":true,
      "ipam":{"type":"podnet-ipam","subnet":"10.244.0.0/24","dataDir":")" +
           dir.path() + R"(","routes":[{"dst":"10.96.0.0/12"}]},
      "dns":{"nameservers":["10.96.0.10"],"search":["default.svc.cluster.local"]})" +
           extra + "}";
  }
  std::map<std::string, std::string> env(const std::string& command,
                                         const std::string& containerId = "c1") {
    return {{"CNI_COMMAND", command},
            {"CNI_CONTAINERID", containerId},
            {"CNI_NETNS", "/run/netns/" + containerId},
            {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/usr/lib/cni"}};
  }
  static Json parse(const Response& response) {
    return response.stdoutJson.empty() ? Json() : Json::parse(response.stdoutJson);
  }
  size_t allocationCount() {
    auto parsed = parsePluginConfig(config());
    return HostLocalIpam(*parsed->ipam, "podnet").list()->size();
  }

  TempDir dir;
  FakeBackend backend;
};

TEST_F(CniPluginTest, AddPrintsAResultAndSetsUpThePod) {
  Response response = runPlugin(env("ADD"), config(), backend);
  ASSERT_EQ(response.exitCode, 0) << response.stdoutJson;
  Json result = parse(response);
  EXPECT_EQ(result["cniVersion"], "1.1.0");
  ASSERT_EQ(result["interfaces"].size(), 3u);
  EXPECT_EQ(result["interfaces"][0]["name"], "podnet0");
  EXPECT_EQ(result["interfaces"][2]["name"], "eth0");
  EXPECT_EQ(result["interfaces"][2]["sandbox"], "/run/netns/c1");
  EXPECT_EQ(result["interfaces"][2]["mtu"], 1400);
  EXPECT_EQ(result["ips"][0],
            Json({{"address", "10.244.0.2/24"}, {"gateway", "10.244.0.1"}, {"interface", 2}}));
  EXPECT_EQ(result["routes"],
            Json::parse(R"([{"dst":"10.96.0.0/12"},{"dst":"0.0.0.0/0","gw":"10.244.0.1"}])"));
  EXPECT_EQ(result["dns"]["nameservers"][0], "10.96.0.10");

  ASSERT_EQ(backend.setUps.size(), 1u);
  const PodNetworkSpec& spec = backend.setUps[0];
  EXPECT_EQ(spec.netns, "/run/netns/c1");
  EXPECT_EQ(spec.bridge, "podnet0");
  EXPECT_EQ(spec.address.toString(), "10.244.0.2/24");
  EXPECT_TRUE(spec.isGateway);
  EXPECT_TRUE(spec.hairpin);
  EXPECT_EQ(spec.mtu, 1400);
}

TEST_F(CniPluginTest, ResultFollowsTheRequestedVersion) {
  Json v040 = parse(runPlugin(env("ADD"), config("0.4.0"), backend));
  EXPECT_EQ(v040["cniVersion"], "0.4.0");
  EXPECT_EQ(v040["ips"][0]["version"], "4");
  Json v100 = parse(runPlugin(env("ADD", "c2"), config("1.0.0"), backend));
  EXPECT_EQ(v100["cniVersion"], "1.0.0");
  EXPECT_FALSE(v100["interfaces"][2].contains("mtu"));
  Response old = runPlugin(env("ADD", "c3"), config("0.3.1"), backend);
  EXPECT_NE(old.exitCode, 0);
  EXPECT_EQ(parse(old)["code"], kIncompatibleVersion);
}

TEST_F(CniPluginTest, RequestedAddressFromArgs) {
  auto environment = env("ADD");
  environment["CNI_ARGS"] = "IgnoreUnknown=1;IP=10.244.0.42";
  Json result = parse(runPlugin(environment, config(), backend));
  EXPECT_EQ(result["ips"][0]["address"], "10.244.0.42/24");
  environment = env("ADD", "c2");
  environment["CNI_ARGS"] = "ip=10.244.0.42";
  Json taken = parse(runPlugin(environment, config(), backend));
  EXPECT_EQ(taken["code"], kRequestedIpUnavailable);
  environment["CNI_ARGS"] = "IP=not-an-ip";
  EXPECT_EQ(parse(runPlugin(environment, config(), backend))["code"], kInvalidEnvironment);
  Json fromRuntimeConfig =
      parse(runPlugin(env("ADD", "c3"),
                      config("1.1.0", R"(,"runtimeConfig":{"ips":["10.244.0.50/24"]})"), backend));
  EXPECT_EQ(fromRuntimeConfig["ips"][0]["address"], "10.244.0.50/24");
}

TEST_F(CniPluginTest, BackendFailureReleasesTheAddress) {
  backend.failSetUp = true;
  Response response = runPlugin(env("ADD"), config(), backend);
  EXPECT_EQ(response.exitCode, 1);
  Json error = parse(response);
  EXPECT_EQ(error["cniVersion"], "1.1.0");
  EXPECT_EQ(error["code"], kIoFailure);
  EXPECT_EQ(error["msg"], "veth creation failed");
  EXPECT_EQ(allocationCount(), 0u);
  backend.failSetUp = false;
  EXPECT_EQ(runPlugin(env("ADD"), config(), backend).exitCode, 0);  // the runtime retries
}

TEST_F(CniPluginTest, DelIsIdempotentAndWorksWithoutNetns) {
  ASSERT_EQ(runPlugin(env("ADD"), config(), backend).exitCode, 0);
  ASSERT_EQ(allocationCount(), 1u);
  Response first = runPlugin(env("DEL"), config(), backend);
  EXPECT_EQ(first.exitCode, 0) << first.stdoutJson;
  EXPECT_EQ(first.stdoutJson, "");
  EXPECT_EQ(allocationCount(), 0u);
  EXPECT_TRUE(backend.pods.empty());
  EXPECT_EQ(runPlugin(env("DEL"), config(), backend).exitCode, 0);
  auto noNetns = env("DEL");
  noNetns.erase("CNI_NETNS");
  EXPECT_EQ(runPlugin(noNetns, config(), backend).exitCode, 0);
  EXPECT_EQ(backend.tearDowns, 3);
}

TEST_F(CniPluginTest, DelKeepsTheAddressWhenTeardownFails) {
  ASSERT_EQ(runPlugin(env("ADD"), config(), backend).exitCode, 0);
  backend.failTearDown = true;
  EXPECT_EQ(runPlugin(env("DEL"), config(), backend).exitCode, 1);
  EXPECT_EQ(allocationCount(), 1u);
  backend.failTearDown = false;
  EXPECT_EQ(runPlugin(env("DEL"), config(), backend).exitCode, 0);
  EXPECT_EQ(allocationCount(), 0u);
}

TEST_F(CniPluginTest, CheckComparesPrevResultWithStateAndBackend) {
  Response added = runPlugin(env("ADD"), config(), backend);
  ASSERT_EQ(added.exitCode, 0);
  std::string withPrev = config("1.1.0", ",\"prevResult\":" + added.stdoutJson);
  Response checked = runPlugin(env("CHECK"), withPrev, backend);
  EXPECT_EQ(checked.exitCode, 0) << checked.stdoutJson;

  EXPECT_EQ(parse(runPlugin(env("CHECK"), config(), backend))["code"], kInvalidNetworkConfig);
  std::string otherPrev = config(
      "1.1.0", R"(,"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"10.244.0.99/24"}]})");
  EXPECT_EQ(parse(runPlugin(env("CHECK"), otherPrev, backend))["code"], kInvalidNetworkConfig);
  backend.pods.clear();  // the interface vanished
  EXPECT_EQ(parse(runPlugin(env("CHECK"), withPrev, backend))["code"], kUnknownContainer);
  ASSERT_EQ(runPlugin(env("DEL"), config(), backend).exitCode, 0);
  EXPECT_EQ(parse(runPlugin(env("CHECK"), withPrev, backend))["code"], kUnknownContainer);
}

TEST_F(CniPluginTest, StatusReflectsBackendReadiness) {
  Response ok = runPlugin(env("STATUS"), config(), backend);
  EXPECT_EQ(ok.exitCode, 0);
  EXPECT_EQ(ok.stdoutJson, "");
  backend.isReady = false;
  Response notReady = runPlugin(env("STATUS"), config(), backend);
  EXPECT_EQ(notReady.exitCode, 1);
  EXPECT_EQ(parse(notReady)["code"], kNotAvailable);
  EXPECT_EQ(parse(runPlugin(env("STATUS"), config("1.0.0"), backend))["code"],
            kIncompatibleVersion);
}

TEST_F(CniPluginTest, GcReleasesStaleAllocations) {
  for (const char* id : {"c1", "c2", "c3"})
    ASSERT_EQ(runPlugin(env("ADD", id), config(), backend).exitCode, 0);
  Response gc = runPlugin(
      env("GC"),
      config("1.1.0", R"(,"cni.dev/attachments":[{"containerID":"c2","ifname":"eth0"}])"), backend);
  EXPECT_EQ(gc.exitCode, 0) << gc.stdoutJson;
  EXPECT_EQ(allocationCount(), 1u);
  EXPECT_EQ(parse(runPlugin(env("GC"), config(), backend))["code"], kInvalidNetworkConfig);
  EXPECT_EQ(allocationCount(), 1u);  // no attachment list: nothing released
  EXPECT_EQ(
      parse(runPlugin(env("GC"), config("1.0.0", R"(,"cni.dev/attachments":[])"), backend))["code"],
      kIncompatibleVersion);
}

TEST_F(CniPluginTest, VersionNeedsNoConfig) {
  Response response =
      runPlugin(std::map<std::string, std::string>{{"CNI_COMMAND", "VERSION"}}, "", backend);
  EXPECT_EQ(response.exitCode, 0);
  EXPECT_EQ(parse(response), versionInfo());
}

TEST_F(CniPluginTest, BadInputIsAJsonErrorNeverACrash) {
  Response badEnv =
      runPlugin(std::map<std::string, std::string>{{"CNI_COMMAND", "ADD"}}, config(), backend);
  EXPECT_EQ(badEnv.exitCode, 1);
  EXPECT_EQ(parse(badEnv)["code"], kInvalidEnvironment);
  EXPECT_EQ(parse(badEnv)["cniVersion"], "1.1.0");
  EXPECT_EQ(parse(runPlugin(env("ADD"), "{not json", backend))["code"], kDecodeFailure);
  EXPECT_EQ(parse(runPlugin(env("ADD"), "[]", backend))["code"], kDecodeFailure);
  EXPECT_EQ(parse(runPlugin(env("ADD"), R"({"cniVersion":"1.0.0","name":"n","mtu":"x"})",
                            backend))["code"],
            kInvalidNetworkConfig);
  Json noIpam = parse(runPlugin(env("ADD"), R"({"cniVersion":"1.0.0","name":"n"})", backend));
  EXPECT_EQ(noIpam["code"], kInvalidNetworkConfig);
  EXPECT_EQ(noIpam["cniVersion"], "1.0.0");
}

TEST_F(CniPluginTest, ExhaustionReportsPluginCode) {
  std::string small = R"({"cniVersion":"1.1.0","name":"tiny","ipam":{"type":"host-local",
    "subnet":"10.9.0.0/30","dataDir":")" +
                      dir.path() + "\"}}";
  ASSERT_EQ(runPlugin(env("ADD", "a"), small, backend).exitCode, 0);
  Json error = parse(runPlugin(env("ADD", "b"), small, backend));
  EXPECT_EQ(error["code"], kRangeExhausted);
  EXPECT_EQ(backend.setUps.size(), 1u);
}

TEST_F(CniPluginTest, AcceptsAConflistAndHonoursDisableCheck) {
  std::string list = R"({"cniVersions":["1.0.0","1.1.0"],"name":"podnet","disableCheck":true,
    "plugins":[{"type":"podnet","bridge":"cni0","ipam":{"type":"podnet-ipam",
    "ranges":[[{"subnet":"10.244.3.0/24"}]],"dataDir":")" +
                     dir.path() + "\"}}]}";
  Json result = parse(runPlugin(env("ADD"), list, backend));
  EXPECT_EQ(result["cniVersion"], "1.1.0");
  EXPECT_EQ(result["interfaces"][0]["name"], "cni0");
  EXPECT_EQ(runPlugin(env("CHECK"), list, backend).exitCode, 0);  // skipped
}

TEST_F(CniPluginTest, DataDirOverrideKeepsFilesWhereTheCallerWants) {
  TempDir other;
  PluginOptions options;
  options.dataDirOverride = other.path();
  std::string elsewhere = R"({"cniVersion":"1.1.0","name":"n","ipam":{"type":"host-local",
    "subnet":"10.9.0.0/24","dataDir":"/nonexistent/should-not-be-used"}})";
  ASSERT_EQ(runPlugin(env("ADD"), elsewhere, backend, options).exitCode, 0);
  EXPECT_TRUE(fs::exists(other.path() + "/n/10.9.0.2"));
}

}  // namespace
}  // namespace podnet::cni
