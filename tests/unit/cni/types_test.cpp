#include "cni/types.h"

#include <gtest/gtest.h>

namespace podnet::cni {
namespace {

std::map<std::string, std::string> addEnvironment() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "c1"},
          {"CNI_NETNS", "/run/netns/p1"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/usr/lib/cni:/opt/cni/bin"}};
}

TEST(CniInvocation, ParsesAddEnvironment) {
  auto env = addEnvironment();
  env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.9";
  auto inv = parseInvocation(env);
  ASSERT_TRUE(inv.ok()) << inv.error().msg;
  EXPECT_EQ(inv->command, Command::kAdd);
  EXPECT_EQ(inv->containerId, "c1");
  EXPECT_EQ(inv->netns, "/run/netns/p1");
  EXPECT_EQ(inv->ifname, "eth0");
  EXPECT_EQ(inv->path, (std::vector<std::string>{"/usr/lib/cni", "/opt/cni/bin"}));
  EXPECT_EQ(inv->arg("K8S_POD_NAME"), "web");
  EXPECT_EQ(inv->arg("IP"), "10.0.0.9");
  EXPECT_FALSE(inv->arg("missing"));
}

TEST(CniInvocation, AddAndCheckNeedEverything) {
  for (const char* command : {"ADD", "CHECK"}) {
    for (const char* missing : {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}) {
      auto env = addEnvironment();
      env["CNI_COMMAND"] = command;
      env.erase(missing);
      auto inv = parseInvocation(env);
      ASSERT_FALSE(inv.ok()) << command << " without " << missing;
      EXPECT_EQ(inv.error().code, kInvalidEnvironment);
    }
  }
}

TEST(CniInvocation, DelWithoutNetnsIsFine) {
  auto env = addEnvironment();
  env["CNI_COMMAND"] = "DEL";
  env.erase("CNI_NETNS");
  EXPECT_TRUE(parseInvocation(env).ok());
  env.erase("CNI_IFNAME");
  EXPECT_EQ(parseInvocation(env).error().code, kInvalidEnvironment);
}

TEST(CniInvocation, LightCommandsNeedLess) {
  EXPECT_TRUE(parseInvocation({{"CNI_COMMAND", "VERSION"}}).ok());
  EXPECT_TRUE(parseInvocation({{"CNI_COMMAND", "STATUS"}}).ok());
  EXPECT_EQ(parseInvocation({{"CNI_COMMAND", "GC"}}).error().code, kInvalidEnvironment);
  EXPECT_TRUE(parseInvocation({{"CNI_COMMAND", "GC"}, {"CNI_PATH", "/usr/lib/cni"}}).ok());
  EXPECT_EQ(parseInvocation({}).error().code, kInvalidEnvironment);
  EXPECT_EQ(parseInvocation({{"CNI_COMMAND", "RESTART"}}).error().code, kInvalidEnvironment);
}

TEST(CniInvocation, ContainerIdAndIfnameRules) {
  EXPECT_TRUE(isValidContainerId("default-abc_1.2"));
  EXPECT_TRUE(isValidContainerId("9f86d081884c"));
  EXPECT_FALSE(isValidContainerId(""));
  EXPECT_FALSE(isValidContainerId("-abc"));
  EXPECT_FALSE(isValidContainerId("_abc"));
  EXPECT_FALSE(isValidContainerId("a/b"));
  EXPECT_FALSE(isValidContainerId("a b"));
  EXPECT_TRUE(isValidInterfaceName("eth0"));
  EXPECT_FALSE(isValidInterfaceName("a-very-long-name0"));
  EXPECT_FALSE(isValidInterfaceName(".."));
  EXPECT_FALSE(isValidInterfaceName("a/b"));
  auto env = addEnvironment();
  env["CNI_CONTAINERID"] = "../etc";
  EXPECT_EQ(parseInvocation(env).error().code, kInvalidEnvironment);
  env = addEnvironment();
  env["CNI_IFNAME"] = "eth 0";
  EXPECT_EQ(parseInvocation(env).error().code, kInvalidEnvironment);
}

TEST(CniInvocation, MalformedArgsAreEnvironmentErrors) {
  auto env = addEnvironment();
  env["CNI_ARGS"] = "A=1;novalue";
  EXPECT_EQ(parseInvocation(env).error().code, kInvalidEnvironment);
  env["CNI_ARGS"] = "A=1;;B=";  // empty pairs are skipped, empty values allowed
  auto inv = parseInvocation(env);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->arg("B"), "");
}

TEST(CniVersion, NegotiationAndInfo) {
  EXPECT_EQ(compareVersions("1.1.0", "1.0.0"), 1);
  EXPECT_EQ(compareVersions("0.4.0", "1.0.0"), -1);
  EXPECT_EQ(compareVersions("1.0", "1.0.0"), 0);
  EXPECT_EQ(negotiateVersion({"0.3.1", "1.0.0", "1.1.0", "2.0.0"}), "1.1.0");
  EXPECT_FALSE(negotiateVersion({"0.3.1", "9.9.9"}));
  Json info = versionInfo();
  EXPECT_EQ(info["cniVersion"], "1.1.0");
  EXPECT_EQ(info["supportedVersions"], Json({"0.4.0", "1.0.0", "1.1.0"}));
}

TEST(CniConfig, ReferenceBridgeConfigFromTheNotes) {
  auto config = parsePluginConfig(R"({"cniVersion":"1.0.0","name":"n","type":"bridge",
    "bridge":"br0","isGateway":true,
    "ipam":{"type":"host-local","ranges":[[{"subnet":"10.213.0.0/24"}]],"dataDir":"/run/ipam-test"}})");
  ASSERT_TRUE(config.ok()) << config.error().msg;
  EXPECT_EQ(config->cniVersion, "1.0.0");
  EXPECT_EQ(config->name, "n");
  EXPECT_EQ(config->bridge, "br0");
  EXPECT_TRUE(config->isGateway);
  ASSERT_TRUE(config->ipam);
  EXPECT_EQ(config->ipam->dataDir, "/run/ipam-test");
  ASSERT_EQ(config->ipam->ranges.size(), 1u);
  const IpRange& range = config->ipam->ranges[0];
  EXPECT_EQ(range.subnet.toString(), "10.213.0.0/24");
  EXPECT_EQ(range.rangeStart.toString(), "10.213.0.1");
  EXPECT_EQ(range.rangeEnd.toString(), "10.213.0.254");
  EXPECT_EQ(range.gateway.toString(), "10.213.0.1");
}

TEST(CniConfig, DefaultsAndOwnKeys) {
  auto config = parsePluginConfig(R"({"cniVersion":"1.1.0","name":"podnet","type":"podnet",
    "isDefaultGateway":true,"hairpinMode":true,"mtu":1350,
    "ipam":{"type":"podnet-ipam","subnet":"10.244.1.0/24","rangeStart":"10.244.1.10",
            "rangeEnd":"10.244.1.20","gateway":"10.244.1.1",
            "routes":[{"dst":"10.244.0.0/16"},{"dst":"10.96.0.0/12","gw":"10.244.1.1"}]},
    "dns":{"nameservers":["10.96.0.10"]},"runtimeConfig":{"ips":["10.244.1.15/24"]}})");
  ASSERT_TRUE(config.ok()) << config.error().msg;
  EXPECT_EQ(config->bridge, "podnet0");
  EXPECT_TRUE(config->isGateway);  // implied by isDefaultGateway
  EXPECT_TRUE(config->hairpinMode);
  EXPECT_EQ(config->mtu, 1350);
  EXPECT_EQ(config->ipam->dataDir, "/var/lib/cni/networks");
  EXPECT_EQ(config->ipam->ranges[0].rangeStart.toString(), "10.244.1.10");
  ASSERT_EQ(config->ipam->routes.size(), 2u);
  EXPECT_FALSE(config->ipam->routes[0].gw);
  EXPECT_EQ(config->ipam->routes[1].gw->toString(), "10.244.1.1");
  EXPECT_EQ(config->dns["nameservers"][0], "10.96.0.10");
  EXPECT_TRUE(config->runtimeConfig.is_object());
}

TEST(CniConfig, RangeStartAndEndNeverNetworkOrBroadcast) {
  auto config = parsePluginConfig(R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local",
    "subnet":"10.0.0.0/29","rangeStart":"10.0.0.0","rangeEnd":"10.0.0.7"}})");
  ASSERT_TRUE(config.ok()) << config.error().msg;
  EXPECT_EQ(config->ipam->ranges[0].rangeStart.toString(), "10.0.0.1");
  EXPECT_EQ(config->ipam->ranges[0].rangeEnd.toString(), "10.0.0.6");
}

TEST(CniConfig, MalformedIsDecodeError) {
  for (const char* text : {"", "{", "[1,2]", "\"x\"", "{\"cniVersion\":}", "nul"}) {
    auto config = parsePluginConfig(std::string_view(text));
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, kDecodeFailure) << text;
  }
}

TEST(CniConfig, InvalidValuesAreConfigErrors) {
  const char* base =
      R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.0.0.0/24"})";
  for (std::string extra :
       {R"(,"mtu":"1500")", R"(,"mtu":-1)", R"(,"isGateway":"yes")", R"(,"bridge":7)",
        R"(,"bridge":"way-too-long-bridge-name")", R"(,"prevResult":[])",
        R"(,"cni.dev/attachments":{})", R"(,"cni.dev/attachments":[{"containerID":"c"}])",
        R"(,"hairpinMode":true,"promiscMode":true)"}) {
    auto config = parsePluginConfig(std::string(base) + extra + "}");
    ASSERT_FALSE(config.ok()) << extra;
    EXPECT_EQ(config.error().code, kInvalidNetworkConfig) << extra;
  }
  for (
      const char* text : {
          R"({"cniVersion":"1.0.0"})",
          R"({"cniVersion":"1.0.0","name":"../x"})",
          R"({"name":"n"})",
          R"({"cniVersion":1,"name":"n"})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.0.0.0/31"}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.0.0.0/24","gateway":"10.1.0.1"}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.0.0.0/24","rangeStart":"10.0.0.9","rangeEnd":"10.0.0.3"}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","subnet":"10.0.0.0/24","routes":[{"dst":"x"}]}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"10.0.0.0/25"}]]}})",
          R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local","ranges":[]}})",
      }) {
    auto config = parsePluginConfig(std::string_view(text));
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.error().code, kInvalidNetworkConfig) << text;
  }
}

TEST(CniConfig, VersionsAndUnsupportedFeatures) {
  auto old = parsePluginConfig(R"({"cniVersion":"0.3.1","name":"n"})");
  EXPECT_EQ(old.error().code, kIncompatibleVersion);
  auto dhcp = parsePluginConfig(R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"dhcp"}})");
  EXPECT_EQ(dhcp.error().code, kUnsupportedField);
  auto twoSets = parsePluginConfig(R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local",
    "ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"fd00::/64"}]]}})");
  EXPECT_EQ(twoSets.error().code, kUnsupportedField);
}

TEST(CniConfig, GcAttachments) {
  auto config = parsePluginConfig(R"({"cniVersion":"1.1.0","name":"n",
    "cni.dev/attachments":[{"containerID":"c1","ifname":"eth0"},{"containerID":"c2","ifname":"net1"}]})");
  ASSERT_TRUE(config.ok()) << config.error().msg;
  ASSERT_TRUE(config->gcAttachments);
  EXPECT_EQ(*config->gcAttachments, (std::vector<Attachment>{{"c1", "eth0"}, {"c2", "net1"}}));
}

TEST(CniConfigList, NegotiatesAndFlattens) {
  auto list =
      parseNetworkConfigList(R"({"cniVersion":"1.0.0","cniVersions":["0.3.1","1.0.0","1.1.0"],
    "name":"podnet","disableCheck":true,"plugins":[
      {"type":"podnet","bridge":"cni0","capabilities":{"ips":true},
       "ipam":{"type":"podnet-ipam","ranges":[[{"subnet":"10.244.0.0/24"}]]}},
      {"type":"portmap","capabilities":{"portMappings":true}}]})");
  ASSERT_TRUE(list.ok()) << list.error().msg;
  EXPECT_EQ(list->cniVersion, "1.1.0");
  EXPECT_TRUE(list->disableCheck);
  ASSERT_EQ(list->plugins.size(), 2u);
  EXPECT_EQ(list->plugins[0].cniVersion, "1.1.0");
  EXPECT_EQ(list->plugins[0].name, "podnet");
  EXPECT_EQ(list->plugins[0].bridge, "cni0");
  EXPECT_FALSE(list->plugins[0].raw.contains("capabilities"));
  EXPECT_EQ(list->plugins[1].type, "portmap");

  auto fallback =
      parseNetworkConfigList(R"({"cniVersion":"0.4.0","name":"x","plugins":[{"type":"a"}]})");
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->cniVersion, "0.4.0");
  EXPECT_EQ(
      parseNetworkConfigList(R"({"cniVersions":["2.0.0"],"name":"x","plugins":[{"type":"a"}]})")
          .error()
          .code,
      kIncompatibleVersion);
  EXPECT_EQ(
      parseNetworkConfigList(R"({"cniVersion":"1.0.0","name":"x","plugins":[]})").error().code,
      kInvalidNetworkConfig);
  EXPECT_EQ(
      parseNetworkConfigList(R"({"cniVersion":"1.0.0","name":"x","plugins":[{}]})").error().code,
      kInvalidNetworkConfig);
  EXPECT_EQ(parseNetworkConfigList("{").error().code, kDecodeFailure);
}

AddResult sampleResult(std::string version) {
  AddResult result;
  result.cniVersion = std::move(version);
  result.interfaces = {{"podnet0", "0a:58:0a:f4:00:01", 1500, ""},
                       {"veth1234", "0a:58:0a:f4:00:02", 1500, ""},
                       {"eth0", "0a:58:0a:f4:00:03", 1500, "/run/netns/p1"}};
  result.ips = {
      {*InterfaceAddress::parse("10.244.0.5/24"), core::IpAddress::parse("10.244.0.1"), 2}};
  result.routes = {{*core::Cidr::parse("0.0.0.0/0"), core::IpAddress::parse("10.244.0.1")}};
  result.dns = {{"nameservers", {"10.96.0.10"}}};
  return result;
}

TEST(CniResult, EncodesPerVersion) {
  Json v110 = sampleResult("1.1.0").toJson();
  EXPECT_EQ(v110["cniVersion"], "1.1.0");
  EXPECT_EQ(v110["interfaces"][2]["sandbox"], "/run/netns/p1");
  EXPECT_EQ(v110["interfaces"][2]["mtu"], 1500);
  EXPECT_FALSE(v110["interfaces"][0].contains("sandbox"));
  EXPECT_EQ(v110["ips"][0],
            Json({{"address", "10.244.0.5/24"}, {"gateway", "10.244.0.1"}, {"interface", 2}}));
  EXPECT_EQ(v110["routes"][0], Json({{"dst", "0.0.0.0/0"}, {"gw", "10.244.0.1"}}));
  EXPECT_EQ(v110["dns"]["nameservers"][0], "10.96.0.10");

  Json v100 = sampleResult("1.0.0").toJson();
  EXPECT_FALSE(v100["interfaces"][2].contains("mtu"));
  EXPECT_FALSE(v100["ips"][0].contains("version"));
  Json v040 = sampleResult("0.4.0").toJson();
  EXPECT_EQ(v040["ips"][0]["version"], "4");
}

TEST(CniResult, RoundTripsAndRejectsBadShapes) {
  auto parsed = AddResult::fromJson(sampleResult("1.1.0").toJson());
  ASSERT_TRUE(parsed.ok()) << parsed.error().msg;
  EXPECT_EQ(parsed->toJson(), sampleResult("1.1.0").toJson());
  EXPECT_FALSE(AddResult::fromJson(Json::parse(R"({"ips":[{"address":"10.0.0.1"}]})")).ok());
  EXPECT_FALSE(AddResult::fromJson(Json::parse(R"({"ips":{}})")).ok());
  EXPECT_FALSE(
      AddResult::fromJson(Json::parse(R"({"ips":[{"address":"10.0.0.1/24","interface":-1}]})"))
          .ok());
  EXPECT_FALSE(AddResult::fromJson(Json::array()).ok());
}

TEST(CniError, Json) {
  CniError error{kTryAgainLater, "busy", "lock held"};
  EXPECT_EQ(
      error.toJson("1.1.0"),
      Json({{"cniVersion", "1.1.0"}, {"code", 11}, {"msg", "busy"}, {"details", "lock held"}}));
  CniError plain{kIoFailure, "x", ""};
  EXPECT_FALSE(plain.toJson("1.0.0").contains("details"));
}

}  // namespace
}  // namespace podnet::cni
