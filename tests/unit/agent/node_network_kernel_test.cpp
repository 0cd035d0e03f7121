// The node network applier against the real kernel (root; skipped otherwise).
// Three "nodes" are network namespaces pna-<pid>-a/b/c, each with an "eth0"
// veth into a bridge "br0" that lives in a fourth namespace pna-<pid>-lan
// (never the host's root namespace). Each node's "pod network" is a bridge
// "cni0" holding the .1 of its podCIDR. A TCP connection from A's pod address
// to B's pod address must work through the compiled+applied program, first
// with host-gw routes and then with the vxlan overlay, and B must see A's pod
// address as the source (no NAT). An RAII guard removes the namespaces.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/node_network.h"
#include "kernel_helpers.h"
#include "net/netns.h"

namespace podnet::agent {
namespace {

#define ASSERT_OK(expression)                             \
  do {                                                    \
    auto&& result_ = (expression);                        \
    ASSERT_TRUE(result_.ok()) << result_.error().message; \
  } while (0)

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }
core::IpAddress ip(const std::string& text) { return *core::IpAddress::parse(text); }
core::Cidr cidr(const std::string& text) { return *core::Cidr::parse(text); }

class NetnsGuard {
 public:
  void track(const std::string& name) { names_.push_back(name); }
  ~NetnsGuard() {
    for (const auto& name : names_) (void)net::deleteNamedNetns(name);
  }

 private:
  std::vector<std::string> names_;
};

using testing::Fd;

struct TestNode {
  std::string name;  // also the Kubernetes node name
  std::string nodeIp;
  std::string podCidr;
  std::string podIp;  // .1 of podCidr, on cni0
  std::optional<net::NetnsHandle> netns;
  std::optional<net::Netlink> netlink;
  std::unique_ptr<NodeNetworkApplier> applier;
};

sockaddr_in socketAddress(const std::string& address, uint16_t port) {
  return testing::address(address, port);
}

class NodeNetworkKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    prefix_ = "pna-" + std::to_string(getpid()) + "-";
    const std::string lanName = prefix_ + "lan";
    guard_.track(lanName);
    auto lan = net::createNamedNetns(lanName);
    ASSERT_OK(lan);
    lanNetns_.emplace(std::move(lan).value());
    auto lanLink = net::Netlink::openIn(*lanNetns_);
    ASSERT_OK(lanLink);
    lan_.emplace(std::move(lanLink).value());
    ASSERT_OK(lan_->createBridge("br0", 1500));
    ASSERT_OK(lan_->setLinkUp("br0"));

    const char* letters[] = {"a", "b", "c"};
    for (int i = 0; i < 3; ++i) {
      auto node = std::make_unique<TestNode>();
      node->name = prefix_ + letters[i];
      node->nodeIp = "192.168.77." + std::to_string(11 + i);
      node->podCidr = "10.244." + std::to_string(1 + i) + ".0/24";
      node->podIp = "10.244." + std::to_string(1 + i) + ".1";
      guard_.track(node->name);
      auto netns = net::createNamedNetns(node->name);
      ASSERT_OK(netns);
      node->netns.emplace(std::move(netns).value());
      auto netlink = net::Netlink::openIn(*node->netns);
      ASSERT_OK(netlink);
      node->netlink.emplace(std::move(netlink).value());
      net::Netlink& n = *node->netlink;
      const std::string port = std::string("veth-") + letters[i];
      ASSERT_OK(lan_->createVeth({port, "eth0", 1500, node->netns->fd()}));
      ASSERT_OK(lan_->setMaster(port, "br0"));
      ASSERT_OK(lan_->setLinkUp(port));
      ASSERT_OK(n.setLinkUp("lo"));
      ASSERT_OK(n.setLinkUp("eth0"));
      ASSERT_OK(n.addAddress("eth0", ip(node->nodeIp), 24));
      ASSERT_OK(n.createBridge("cni0", 1500));
      ASSERT_OK(n.setLinkUp("cni0"));
      ASSERT_OK(n.addAddress("cni0", ip(node->podIp), 24));
      const net::NetnsHandle* netnsOfNode = &*node->netns;
      node->applier = std::make_unique<NodeNetworkApplier>(
          n, [netnsOfNode](std::string_view device, const net::MacAddress& mac) {
            return net::runInNetns(*netnsOfNode,
                                   [&] { return setLinkMacInCurrentNetns(device, mac); });
          });
      nodes_.push_back(std::move(node));
    }
  }

  LocalNode localOf(const TestNode& node, OverlayMode mode) const {
    LocalNode local;
    local.name = node.name;
    local.nodeIp = ip(node.nodeIp);
    local.podCidr = cidr(node.podCidr);
    local.underlyingDevice = "eth0";
    local.underlyingMtu = 1500;
    local.mode = mode;
    local.unreachableCidrs = {cidr("10.244.0.0/16")};
    return local;
  }

  std::vector<RemoteNode> remotesOf(const std::vector<const TestNode*>& cluster) const {
    std::vector<RemoteNode> remotes;
    for (const TestNode* node : cluster) {
      remotes.push_back({node->name, ip(node->nodeIp), cidr(node->podCidr), std::nullopt});
    }
    return remotes;
  }

  // Compiles and syncs every node of `cluster` against all of `cluster`.
  void syncAll(const std::vector<const TestNode*>& cluster, OverlayMode mode) {
    for (const TestNode* node : cluster) {
      auto program = compileNodeNetwork(localOf(*node, mode), remotesOf(cluster));
      ASSERT_OK(program);
      ASSERT_OK(node->applier->sync(*program));
    }
  }

  std::vector<const TestNode*> all() const {
    std::vector<const TestNode*> result;
    for (const auto& node : nodes_) result.push_back(node.get());
    return result;
  }

  // A TCP connection from `from`'s pod address to `to`'s pod address; returns
  // the source address the receiver saw, or an error text.
  std::string connectPodToPod(const TestNode& from, const TestNode& to, uint16_t port) {
    auto listener = net::runInNetns(*to.netns, [&]() -> core::Result<int> {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) return core::internal("socket");
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in address = socketAddress(to.podIp, port);
      if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
          listen(fd, 4) != 0) {
        close(fd);
        return core::internal("bind/listen");
      }
      return fd;
    });
    if (!listener) return "listener: " + listener.error().message;
    Fd listenFd(*listener);
    auto client = net::runInNetns(*from.netns, [&]() -> core::Result<int> {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) return core::internal("socket");
      sockaddr_in source = socketAddress(from.podIp, 0);
      if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
        close(fd);
        return core::internal("bind client");
      }
      sockaddr_in target = socketAddress(to.podIp, port);
      if (connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 &&
          errno != EINPROGRESS) {
        close(fd);
        return core::internal(std::string("connect: ") + strerror(errno));
      }
      return fd;
    });
    if (!client) return "client: " + client.error().message;
    Fd clientFd(*client);
    pollfd waitConnected{clientFd.get(), POLLOUT, 0};
    if (poll(&waitConnected, 1, 5000) != 1) return "connect timed out";
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(clientFd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return std::string("connect: ") + strerror(error);
    pollfd waitAccept{listenFd.get(), POLLIN, 0};
    if (poll(&waitAccept, 1, 5000) != 1) return "accept timed out";
    sockaddr_in peer{};
    socklen_t peerLength = sizeof peer;
    Fd accepted(accept(listenFd.get(), reinterpret_cast<sockaddr*>(&peer), &peerLength));
    if (accepted.get() < 0) return "accept failed";
    const char message[] = "hello";
    if (send(clientFd.get(), message, sizeof message, 0) != sizeof message) return "send failed";
    pollfd waitData{accepted.get(), POLLIN, 0};
    if (poll(&waitData, 1, 5000) != 1) return "receive timed out";
    char buffer[16] = {};
    if (recv(accepted.get(), buffer, sizeof buffer, 0) != sizeof message) return "short receive";
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    return text;
  }

  bool hasRouteTo(TestNode& node, const std::string& dst) {
    auto routes = node.netlink->listRoutes();
    if (!routes) return false;
    return std::any_of(routes->begin(), routes->end(),
                       [&](const net::Route& r) { return r.dst == cidr(dst); });
  }

  NetnsGuard guard_;  // first: destroyed last, after the sockets
  std::string prefix_;
  std::optional<net::NetnsHandle> lanNetns_;
  std::optional<net::Netlink> lan_;
  std::vector<std::unique_ptr<TestNode>> nodes_;
};

TEST_F(NodeNetworkKernelTest, HostGwRoutesCarryPodToPodTcpWithoutNat) {
  TestNode& a = *nodes_[0];
  TestNode& b = *nodes_[1];
  TestNode& c = *nodes_[2];
  // Without routes the safety net is all there is: nothing reaches B.
  EXPECT_NE(connectPodToPod(a, b, 18081), b.podIp);

  syncAll(all(), OverlayMode::hostGw);
  if (HasFatalFailure()) return;
  EXPECT_EQ(connectPodToPod(a, b, 18082), a.podIp);
  EXPECT_EQ(connectPodToPod(c, a, 18083), c.podIp);

  auto routes = a.netlink->listRoutes();
  ASSERT_OK(routes);
  net::Route toC;
  toC.dst = cidr(c.podCidr);
  toC.gateway = ip(c.nodeIp);
  toC.device = "eth0";
  EXPECT_NE(std::find_if(
                routes->begin(), routes->end(),
                [&](const net::Route& r) { return r.dst == toC.dst && r.gateway == toC.gateway; }),
            routes->end());
  EXPECT_NE(std::find_if(routes->begin(), routes->end(),
                         [&](const net::Route& r) {
                           return r.dst == cidr("10.244.0.0/16") &&
                                  r.type == net::RouteType::unreachable;
                         }),
            routes->end());

  // C leaves the cluster: A and B drop its route; A still reaches B.
  syncAll({&a, &b}, OverlayMode::hostGw);
  if (HasFatalFailure()) return;
  EXPECT_FALSE(hasRouteTo(a, c.podCidr));
  EXPECT_FALSE(hasRouteTo(b, c.podCidr));
  EXPECT_TRUE(hasRouteTo(a, b.podCidr));
  EXPECT_EQ(a.applier->lastOperationCount(), 1u);  // just the one delete
  EXPECT_EQ(connectPodToPod(a, b, 18084), a.podIp);
  // An unchanged program costs nothing.
  syncAll({&a, &b}, OverlayMode::hostGw);
  EXPECT_EQ(a.applier->lastOperationCount(), 0u);
}

TEST_F(NodeNetworkKernelTest, VxlanOverlayCarriesPodToPodTcpWithoutNat) {
  TestNode& a = *nodes_[0];
  TestNode& b = *nodes_[1];
  TestNode& c = *nodes_[2];
  // Start in host-gw and switch, as an operator changing the backend would.
  syncAll(all(), OverlayMode::hostGw);
  if (HasFatalFailure()) return;
  syncAll(all(), OverlayMode::vxlan);
  if (HasFatalFailure()) return;

  auto vtep = a.netlink->link("podnet.1");
  ASSERT_OK(vtep);
  EXPECT_EQ(vtep->kind, "vxlan");
  EXPECT_EQ(vtep->mtu, 1450u);
  EXPECT_EQ(vtep->mac, vtepMacFor(ip(a.nodeIp)));
  EXPECT_TRUE(vtep->up);
  auto fdb = a.netlink->listFdb("podnet.1");
  ASSERT_OK(fdb);
  EXPECT_EQ(fdb->size(), 2u);
  auto neighbours = a.netlink->listNeighbours("podnet.1");
  ASSERT_OK(neighbours);
  EXPECT_EQ(neighbours->size(), 2u);

  // The route to B now goes through the overlay, not eth0.
  auto routes = a.netlink->listRoutes();
  ASSERT_OK(routes);
  auto toB = std::find_if(routes->begin(), routes->end(),
                          [&](const net::Route& r) { return r.dst == cidr(b.podCidr); });
  ASSERT_NE(toB, routes->end());
  EXPECT_EQ(toB->device, "podnet.1");
  EXPECT_EQ(toB->gateway, ip("10.244.2.0"));

  EXPECT_EQ(connectPodToPod(a, b, 18091), a.podIp);
  EXPECT_EQ(connectPodToPod(b, c, 18092), b.podIp);

  // C leaves: its route, neighbour and FDB entry go from A and B.
  syncAll({&a, &b}, OverlayMode::vxlan);
  if (HasFatalFailure()) return;
  EXPECT_EQ(a.applier->lastOperationCount(), 3u);
  EXPECT_FALSE(hasRouteTo(a, c.podCidr));
  fdb = a.netlink->listFdb("podnet.1");
  ASSERT_OK(fdb);
  ASSERT_EQ(fdb->size(), 1u);
  EXPECT_EQ((*fdb)[0].dst, ip(b.nodeIp));
  neighbours = a.netlink->listNeighbours("podnet.1");
  ASSERT_OK(neighbours);
  ASSERT_EQ(neighbours->size(), 1u);
  EXPECT_EQ((*neighbours)[0].ip, ip("10.244.2.0"));
  EXPECT_EQ(connectPodToPod(a, b, 18093), a.podIp);
}

TEST_F(NodeNetworkKernelTest, FullSyncAfterRestartRemovesLeftovers) {
  TestNode& a = *nodes_[0];
  TestNode& b = *nodes_[1];
  syncAll(all(), OverlayMode::vxlan);
  if (HasFatalFailure()) return;
  // A new agent process (fresh applier) while C is gone: the first sync lists
  // the VTEP once and drops C's leftovers.
  NodeNetworkApplier restarted(
      *a.netlink, [&](std::string_view device, const net::MacAddress& mac) {
        return net::runInNetns(*a.netns, [&] { return setLinkMacInCurrentNetns(device, mac); });
      });
  auto program = compileNodeNetwork(localOf(a, OverlayMode::vxlan), remotesOf({&a, &b}));
  ASSERT_OK(program);
  ASSERT_OK(restarted.sync(*program));
  auto fdb = a.netlink->listFdb("podnet.1");
  ASSERT_OK(fdb);
  EXPECT_EQ(fdb->size(), 1u);
  auto neighbours = a.netlink->listNeighbours("podnet.1");
  ASSERT_OK(neighbours);
  EXPECT_EQ(neighbours->size(), 1u);
  EXPECT_EQ(connectPodToPod(a, b, 18095), a.podIp);
  // Idempotent: a second full sync succeeds and changes nothing visible.
  ASSERT_OK(restarted.fullSync(*program));
  EXPECT_EQ(connectPodToPod(a, b, 18096), a.podIp);
}

}  // namespace
}  // namespace podnet::agent
