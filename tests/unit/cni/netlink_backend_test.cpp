// The CNI plugin with the netlink backend against the real kernel (root only).
// Everything happens in throwaway namespaces "pcn-<pid>-...": a "node"
// namespace plays the host (the plugin runs inside it via runInNetns) and two
// pod namespaces get attached, so the host's own network is never touched.
// An RAII guard removes the namespaces also when a test fails.
#include "cni/netlink_backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cni/plugin.h"
#include "net/netlink.h"
#include "net/netns.h"

namespace podnet::cni {
namespace {

namespace fs = std::filesystem;

class NetnsGuard {
 public:
  void track(const std::string& name) { names_.push_back(name); }
  ~NetnsGuard() {
    for (const auto& name : names_) (void)net::deleteNamedNetns(name);
  }

 private:
  std::vector<std::string> names_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr const char* kNetwork = "pcn-net";

class NetlinkBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    prefix_ = "pcn-" + std::to_string(getpid()) + "-";
    for (const char* suffix : {"node", "a", "b"}) {
      std::string name = prefix_ + suffix;
      guard_.track(name);
      auto created = net::createNamedNetns(name);
      ASSERT_TRUE(created.ok()) << created.error().message;
    }
    auto node = net::NetnsHandle::openNamed(prefix_ + "node");
    ASSERT_TRUE(node.ok()) << node.error().message;
    node_.emplace(std::move(node).value());
    char dirTemplate[] = "/tmp/pcn-ipam-XXXXXX";
    ASSERT_NE(mkdtemp(dirTemplate), nullptr);
    dataDir_ = dirTemplate;
    options_.dataDirOverride = dataDir_;
  }
  void TearDown() override {
    if (!dataDir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dataDir_, ignored);
    }
  }

  std::string config() const {
    return R"({"cniVersion":"1.1.0","name":")" + std::string(kNetwork) +
           R"(","type":"podnet-cni","bridge":"pcnbr0","isGateway":true,)"
           R"("isDefaultGateway":true,"hairpinMode":true,"mtu":1400,)"
           R"("ipam":{"type":"host-local","subnet":"10.77.0.0/24"}})";
  }
  std::string netnsPath(const char* pod) const { return net::namedNetnsPath(prefix_ + pod); }

  // Runs the plugin inside the node namespace, as the runtime would run it on
  // the host.
  Response run(const std::string& command, const char* pod, const std::string& stdinConfig) {
    std::map<std::string, std::string> env{{"CNI_COMMAND", command},
                                           {"CNI_CONTAINERID", std::string("ctr-") + pod},
                                           {"CNI_NETNS", netnsPath(pod)},
                                           {"CNI_IFNAME", "eth0"},
                                           {"CNI_PATH", "/opt/cni/bin"}};
    auto result = net::runInNetns(*node_, [&]() -> core::Result<Response> {
      NetlinkBackend backend;
      return runPlugin(env, stdinConfig, backend, options_);
    });
    if (!result) return {99, result.error().message};
    return *result;
  }

  // ADD for `pod`; returns the parsed result.
  Json add(const char* pod) {
    Response response = run("ADD", pod, config());
    EXPECT_EQ(response.exitCode, 0) << response.stdoutJson;
    return Json::parse(response.stdoutJson, nullptr, false);
  }

  bool ipFileExists(const std::string& ip) const {
    return fs::exists(fs::path(dataDir_) / kNetwork / ip);
  }

  std::string prefix_;
  NetnsGuard guard_;
  std::optional<net::NetnsHandle> node_;
  std::string dataDir_;
  PluginOptions options_;
};

std::string ipOf(const Json& result) {
  std::string cidr = result["ips"][0]["address"].get<std::string>();
  return cidr.substr(0, cidr.find('/'));
}

TEST(HostVethName, StableAndShort) {
  std::string name = hostVethName("/run/netns/x", "eth0");
  EXPECT_EQ(name, hostVethName("/run/netns/x", "eth0"));
  EXPECT_NE(name, hostVethName("/run/netns/y", "eth0"));
  EXPECT_EQ(name.size(), 12u);
  EXPECT_EQ(name.rfind("veth", 0), 0u);
}

TEST_F(NetlinkBackendTest, AddConnectCheckDelete) {
  Json a = add("a");
  Json b = add("b");
  ASSERT_FALSE(a.is_discarded());
  ASSERT_FALSE(b.is_discarded());
  const std::string ipA = ipOf(a), ipB = ipOf(b);
  EXPECT_EQ(ipA.rfind("10.77.0.", 0), 0u);
  EXPECT_EQ(ipB.rfind("10.77.0.", 0), 0u);
  EXPECT_NE(ipA, ipB);
  ASSERT_EQ(a["interfaces"].size(), 3u);
  EXPECT_EQ(a["interfaces"][1]["name"], hostVethName(netnsPath("a"), "eth0"));
  EXPECT_EQ(a["interfaces"][2]["name"], "eth0");
  EXPECT_EQ(a["interfaces"][2]["sandbox"], netnsPath("a"));
  EXPECT_EQ(a["interfaces"][2]["mac"].get<std::string>().size(), 17u);
  EXPECT_TRUE(ipFileExists(ipA));

  // Kernel state: pod address and default route; host veth on the bridge
  // with hairpin; gateway on the bridge.
  auto podA = net::NetnsHandle::openNamed(prefix_ + "a");
  ASSERT_TRUE(podA.ok());
  auto nlA = net::Netlink::openIn(*podA);
  ASSERT_TRUE(nlA.ok());
  auto routes = nlA->listRoutes();
  ASSERT_TRUE(routes.ok());
  bool hasDefault = false;
  for (const auto& route : *routes)
    hasDefault = hasDefault || (route.dst.prefix == 0 && route.gateway &&
                                route.gateway->toString() == "10.77.0.1" && route.device == "eth0");
  EXPECT_TRUE(hasDefault);
  auto lo = nlA->link("lo");
  ASSERT_TRUE(lo.ok());
  EXPECT_TRUE(lo->up);
  auto nodeNl = net::Netlink::openIn(*node_);
  ASSERT_TRUE(nodeNl.ok());
  const std::string hostA = hostVethName(netnsPath("a"), "eth0");
  auto hostLink = nodeNl->link(hostA);
  ASSERT_TRUE(hostLink.ok()) << hostLink.error().message;
  auto bridge = nodeNl->link("pcnbr0");
  ASSERT_TRUE(bridge.ok());
  EXPECT_EQ(hostLink->masterIndex, bridge->index);
  EXPECT_TRUE(hostLink->up);
  EXPECT_EQ(hostLink->mtu, 1400u);
  auto hairpin = nodeNl->hairpin(hostA);
  ASSERT_TRUE(hairpin.ok());
  EXPECT_TRUE(*hairpin);

  // A real TCP connection from A to B over the bridge.
  auto podB = net::NetnsHandle::openNamed(prefix_ + "b");
  ASSERT_TRUE(podB.ok());
  auto server = net::runInNetns(*podB, [&]() -> core::Result<int> {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(8080);
    inet_pton(AF_INET, ipB.c_str(), &address.sin_addr);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(fd, 4) != 0)
      return core::internal("listen failed");
    return fd;
  });
  ASSERT_TRUE(server.ok()) << server.error().message;
  Fd listener(*server);
  auto client = net::runInNetns(*podA, [&]() -> core::Result<int> {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::internal("socket failed");
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(8080);
    inet_pton(AF_INET, ipB.c_str(), &address.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      close(fd);
      return core::internal(std::string("connect: ") + strerror(errno));
    }
    return fd;
  });
  ASSERT_TRUE(client.ok()) << client.error().message;
  Fd connection(*client);
  sockaddr_in peer{};
  socklen_t peerLength = sizeof peer;
  Fd accepted(accept(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peerLength));
  ASSERT_GE(accepted.get(), 0);
  char peerText[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &peer.sin_addr, peerText, sizeof peerText);
  EXPECT_EQ(std::string(peerText), ipA);
  ASSERT_EQ(write(connection.get(), "hi", 2), 2);
  char buffer[2] = {};
  ASSERT_EQ(read(accepted.get(), buffer, 2), 2);
  EXPECT_EQ(std::string(buffer, 2), "hi");

  // CHECK with the ADD result as prevResult.
  Json checkConfig = Json::parse(config());
  checkConfig["prevResult"] = a;
  Response checked = run("CHECK", "a", checkConfig.dump());
  EXPECT_EQ(checked.exitCode, 0) << checked.stdoutJson;

  // DEL removes the interface and releases the address; DEL again succeeds.
  Response deleted = run("DEL", "a", config());
  EXPECT_EQ(deleted.exitCode, 0) << deleted.stdoutJson;
  EXPECT_FALSE(ipFileExists(ipA));
  EXPECT_FALSE(nlA->link("eth0").ok());
  EXPECT_FALSE(nodeNl->link(hostA).ok());
  Response again = run("DEL", "a", config());
  EXPECT_EQ(again.exitCode, 0) << again.stdoutJson;

  // CHECK after DEL fails.
  Response stale = run("CHECK", "a", checkConfig.dump());
  EXPECT_NE(stale.exitCode, 0);

  // DEL after the pod's netns is gone still succeeds and releases the IP.
  ASSERT_TRUE(net::deleteNamedNetns(prefix_ + "b").ok());
  Response gone = run("DEL", "b", config());
  EXPECT_EQ(gone.exitCode, 0) << gone.stdoutJson;
  EXPECT_FALSE(ipFileExists(ipB));
}

TEST_F(NetlinkBackendTest, AddTwiceFailsWithoutLeaking) {
  Json a = add("a");
  ASSERT_FALSE(a.is_discarded());
  // Same netns and ifname under another container ID: the interface exists.
  Json config = Json::parse(this->config());
  std::map<std::string, std::string> env{{"CNI_COMMAND", "ADD"},
                                         {"CNI_CONTAINERID", "other"},
                                         {"CNI_NETNS", netnsPath("a")},
                                         {"CNI_IFNAME", "eth0"},
                                         {"CNI_PATH", "/opt/cni/bin"}};
  auto result = net::runInNetns(*node_, [&]() -> core::Result<Response> {
    NetlinkBackend backend;
    return runPlugin(env, config.dump(), backend, options_);
  });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exitCode, 1);
  Json error = Json::parse(result->stdoutJson);
  EXPECT_EQ(error["code"], int(kBackendFailure));
  // Only A's address is held: the failed ADD gave its address back.
  size_t held = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(dataDir_) / kNetwork))
    held += entry.path().filename().string().rfind("10.77.", 0) == 0;
  EXPECT_EQ(held, 1u);
  EXPECT_EQ(run("DEL", "a", this->config()).exitCode, 0);
}

// IPAM runs while the links are made: when it then fails (here: the range
// is exhausted), the links made meanwhile are removed and IPAM's error is the
// answer.
TEST_F(NetlinkBackendTest, ExhaustedRangeLeavesNoLinksBehind) {
  std::string small = config();
  small.replace(small.find("10.77.0.0/24"), 12, "10.77.0.0/30");  // only .2 is free
  ASSERT_EQ(run("ADD", "a", small).exitCode, 0);
  Response second = run("ADD", "b", small);
  EXPECT_EQ(second.exitCode, 1);
  Json error = Json::parse(second.stdoutJson, nullptr, false);
  ASSERT_TRUE(error.is_object()) << second.stdoutJson;
  EXPECT_EQ(error["code"], int(kRangeExhausted)) << second.stdoutJson;
  auto inPod = net::NetnsHandle::openNamed(prefix_ + "b");
  ASSERT_TRUE(inPod.ok());
  auto pod = net::Netlink::openIn(*inPod);
  ASSERT_TRUE(pod.ok());
  EXPECT_FALSE(pod->linkIndex("eth0").ok());  // no half-made pod interface
  auto onNode = net::runInNetns(*node_, [&] {
    return net::Netlink::open().value().linkIndex(hostVethName(netnsPath("b"), "eth0"));
  });
  EXPECT_FALSE(onNode.ok());  // nor its host end
  EXPECT_EQ(run("DEL", "b", small).exitCode, 0);
  EXPECT_EQ(run("DEL", "a", small).exitCode, 0);
}

TEST_F(NetlinkBackendTest, MalformedConfigIsAnError) {
  Response broken = run("ADD", "a", "{not json");
  EXPECT_EQ(broken.exitCode, 1);
  EXPECT_EQ(Json::parse(broken.stdoutJson)["code"], int(kDecodeFailure));
  Response invalid = run("ADD", "a",
                         R"({"cniVersion":"1.0.0","name":"n","type":"podnet-cni",)"
                         R"("ipam":{"type":"host-local","subnet":"not-a-subnet"}})");
  EXPECT_EQ(invalid.exitCode, 1);
  EXPECT_EQ(Json::parse(invalid.stdoutJson)["code"], int(kInvalidNetworkConfig));
  // Nothing was created in the pod.
  auto pod = net::NetnsHandle::openNamed(prefix_ + "a");
  ASSERT_TRUE(pod.ok());
  auto nl = net::Netlink::openIn(*pod);
  ASSERT_TRUE(nl.ok());
  EXPECT_FALSE(nl->link("eth0").ok());
}

}  // namespace
}  // namespace podnet::cni
