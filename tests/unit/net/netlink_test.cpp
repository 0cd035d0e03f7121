// The netlink layer against the real kernel. Everything happens inside network
// namespaces the fixture creates ("pnt-<pid>-..."): netlink sockets are opened
// inside them (Netlink::openIn), so the host's links and routes are never
// touched. The namespaces are removed by an RAII guard, also when a test fails.
#include "net/netlink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "net/netns.h"

namespace podnet::net {
namespace {

#define ASSERT_OK(expression)                             \
  do {                                                    \
    auto&& result_ = (expression);                        \
    ASSERT_TRUE(result_.ok()) << result_.error().message; \
  } while (0)
#define EXPECT_OK(expression)                             \
  do {                                                    \
    auto&& result_ = (expression);                        \
    EXPECT_TRUE(result_.ok()) << result_.error().message; \
  } while (0)

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }
core::Cidr cidr(const char* text) { return *core::Cidr::parse(text); }
MacAddress mac(const char* text) { return *MacAddress::parse(text); }

// Deletes every namespace it was told about, whatever happened in between.
class NetnsGuard {
 public:
  void track(const std::string& name) { names_.push_back(name); }
  ~NetnsGuard() {
    for (const auto& name : names_) (void)deleteNamedNetns(name);
  }

 private:
  std::vector<std::string> names_;
};

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    const std::string prefix = "pnt-" + std::to_string(getpid()) + "-";
    nameA_ = prefix + "a";
    nameB_ = prefix + "b";
    guard_.track(nameA_);
    guard_.track(nameB_);
    auto a = createNamedNetns(nameA_);
    ASSERT_TRUE(a.ok()) << a.error().message;
    auto b = createNamedNetns(nameB_);
    ASSERT_TRUE(b.ok()) << b.error().message;
    netnsA_.emplace(std::move(a).value());
    netnsB_.emplace(std::move(b).value());
    auto linkA = Netlink::openIn(*netnsA_);
    ASSERT_TRUE(linkA.ok()) << linkA.error().message;
    auto linkB = Netlink::openIn(*netnsB_);
    ASSERT_TRUE(linkB.ok()) << linkB.error().message;
    a_.emplace(std::move(linkA).value());
    b_.emplace(std::move(linkB).value());
  }

  // Node-ish namespace A: bridge "cni0" 10.99.0.1/24 with port "veth-a",
  // whose peer is "eth0" 10.99.0.2/24 in pod-ish namespace B.
  void buildBridgeAndVeth() {
    ASSERT_OK(a_->createBridge("cni0", 1400));
    ASSERT_OK(a_->createVeth({"veth-a", "eth0", 1400, netnsB_->fd()}));
    ASSERT_OK(a_->setMaster("veth-a", "cni0"));
    ASSERT_OK(a_->setLinkUp("veth-a"));
    ASSERT_OK(a_->setLinkUp("cni0"));
    ASSERT_OK(a_->setLinkUp("lo"));
    ASSERT_OK(a_->addAddress("cni0", ip("10.99.0.1"), 24));
    ASSERT_OK(b_->setLinkUp("eth0"));
    ASSERT_OK(b_->setLinkUp("lo"));
    ASSERT_OK(b_->addAddress("eth0", ip("10.99.0.2"), 24));
  }

  NetnsGuard guard_;  // declared first: destroyed last, after the sockets
  std::string nameA_, nameB_;
  std::optional<NetnsHandle> netnsA_, netnsB_;
  std::optional<Netlink> a_, b_;
};

TEST_F(NetlinkTest, NamedNetnsIsVisibleAndDeletionIsIdempotent) {
  struct stat info {};
  EXPECT_EQ(stat(namedNetnsPath(nameA_).c_str(), &info), 0);
  auto again = createNamedNetns(nameA_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, "AlreadyExists") << again.error().message;

  const std::string extra = nameA_ + "x";
  guard_.track(extra);
  ASSERT_OK(createNamedNetns(extra));
  EXPECT_OK(deleteNamedNetns(extra));
  EXPECT_NE(stat(namedNetnsPath(extra).c_str(), &info), 0);
  EXPECT_OK(deleteNamedNetns(extra));  // absent: fine
  EXPECT_FALSE(createNamedNetns("bad/name").ok());
}

TEST_F(NetlinkTest, RunInNetnsKeepsCallerThreadAndReturnsResult) {
  auto before = NetnsHandle::openCurrentThread();
  ASSERT_OK(before);
  auto inside = runInNetns(*netnsA_, [&]() -> core::Result<std::string> {
    // A fresh namespace has only lo: proves where we are.
    auto netlink = Netlink::open();
    if (!netlink) return netlink.takeError();
    auto links = netlink->listLinks();
    if (!links) return links.takeError();
    return std::to_string(links->size()) + ":" + links->front().name;
  });
  ASSERT_OK(inside);
  EXPECT_EQ(*inside, "1:lo");
  struct stat callerNs {
  }, nowNs{};
  ASSERT_EQ(fstat(before->fd(), &callerNs), 0);
  ASSERT_EQ(stat("/proc/thread-self/ns/net", &nowNs), 0);
  EXPECT_EQ(callerNs.st_ino, nowNs.st_ino);
}

TEST_F(NetlinkTest, RunInNetnsOnThisThreadComesBack) {
  struct stat before {
  }, inside{}, after{}, a{};
  ASSERT_EQ(stat("/proc/thread-self/ns/net", &before), 0);
  ASSERT_EQ(fstat(netnsA_->fd(), &a), 0);
  auto seen = runInNetnsOnThisThread(netnsA_->fd(), [&]() -> core::Result<int> {
    if (stat("/proc/thread-self/ns/net", &inside) != 0) return core::internal("stat");
    return 7;
  });
  ASSERT_OK(seen);
  EXPECT_EQ(*seen, 7);
  EXPECT_EQ(inside.st_ino, a.st_ino);  // the body ran in A, on this thread
  ASSERT_EQ(stat("/proc/thread-self/ns/net", &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // and the thread came back
  auto bad = runInNetnsOnThisThread(-1, [] { return core::Result<int>(1); });
  EXPECT_FALSE(bad.ok());
  ASSERT_EQ(stat("/proc/thread-self/ns/net", &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST_F(NetlinkTest, VethCreatedOnItsBridgeAndUpThenPodEndConfiguredInOneBatch) {
  ASSERT_OK(a_->createBridge("br9"));
  auto bridge = a_->link("br9");
  ASSERT_OK(bridge);
  VethOptions veth{"vb9", "eth9", 0, netnsB_->fd()};
  veth.masterIndex = bridge->index;
  veth.up = true;
  veth.mac = MacAddress::parse("fe:00:00:00:00:09");
  veth.peerMac = MacAddress::parse("02:00:00:00:00:09");
  auto created = a_->createVeth(veth);
  ASSERT_OK(created);
  auto host = a_->link("vb9");
  ASSERT_OK(host);
  EXPECT_EQ(host->masterIndex, bridge->index);
  EXPECT_TRUE(host->up);
  EXPECT_EQ(host->mac.toString(), "fe:00:00:00:00:09");
  auto pod = b_->link("eth9");
  ASSERT_OK(pod);
  EXPECT_FALSE(pod->up);
  EXPECT_EQ(pod->mac.toString(), "02:00:00:00:00:09");
  // The kernel's echo (6.3 and later) names our end and the peer's index.
  ASSERT_TRUE(created->has_value());
  EXPECT_EQ((*created)->index, host->index);
  EXPECT_EQ((*created)->mac, host->mac);
  EXPECT_EQ((*created)->linkIndex, pod->index);
  EXPECT_EQ(host->linkIndex, pod->index);

  Netlink::Batch batch;
  batch.setLinkUp("lo");
  batch.setLinkUp("eth9");
  batch.addAddress(pod->index, ip("10.98.0.2"), 24);
  Route viaGateway;
  viaGateway.dst = *core::Cidr::parse("0.0.0.0/0");
  viaGateway.gateway = ip("10.98.0.1");
  batch.addRoute(viaGateway, pod->index);
  ASSERT_OK(b_->execute(batch));
  auto up = b_->link("eth9");
  ASSERT_OK(up);
  EXPECT_TRUE(up->up);
  auto addresses = b_->listAddresses("eth9");
  ASSERT_OK(addresses);
  EXPECT_NE(std::find(addresses->begin(), addresses->end(), AddressInfo{ip("10.98.0.2"), 24}),
            addresses->end());
  auto routes = b_->listRoutes();
  ASSERT_OK(routes);
  bool found = false;
  for (const auto& route : *routes)
    found = found ||
            (route.dst.prefix == 0 && route.gateway == ip("10.98.0.1") && route.device == "eth9");
  EXPECT_TRUE(found);

  // A failing message is reported with its operation and reason; the kernel
  // applies the others on their own.
  Netlink::Batch again;
  again.addAddress(pod->index, ip("10.98.0.2"), 24);
  Route more;
  more.dst = *core::Cidr::parse("10.97.0.0/16");
  more.gateway = ip("10.98.0.1");
  again.addRoute(more, pod->index);
  auto failed = b_->execute(again);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(isAlreadyExists(failed.error())) << failed.error().message;
  EXPECT_NE(failed.error().message.find("RTM_NEWADDR 10.98.0.2/24"), std::string::npos)
      << failed.error().message;
  routes = b_->listRoutes();
  ASSERT_OK(routes);
  found = false;
  for (const auto& route : *routes) found = found || route.dst == more.dst;
  EXPECT_TRUE(found);
  Netlink::Batch empty;
  EXPECT_OK(b_->execute(empty));
}

TEST_F(NetlinkTest, SysctlWritesLandInTheNamespace) {
  ASSERT_OK(writeSysctlIn(*netnsA_, "net/ipv4/ip_forward", "1"));
  auto inA = runInNetns(*netnsA_, [] { return readSysctl("net/ipv4/ip_forward"); });
  ASSERT_OK(inA);
  EXPECT_EQ(*inA, "1");
  auto inB = runInNetns(*netnsB_, [] { return readSysctl("net/ipv4/ip_forward"); });
  ASSERT_OK(inB);
  EXPECT_EQ(*inB, "0");
  auto missing = writeSysctlIn(*netnsA_, "net/ipv4/conf/nosuchif/rp_filter", "0");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nosuchif"), std::string::npos);
}

TEST_F(NetlinkTest, BridgeAndVethAcrossNamespacesCarryTcp) {
  buildBridgeAndVeth();
  if (HasFatalFailure()) return;

  auto bridge = a_->link("cni0");
  ASSERT_OK(bridge);
  EXPECT_EQ(bridge->kind, "bridge");
  EXPECT_EQ(bridge->mtu, 1400u);
  EXPECT_TRUE(bridge->up);
  auto port = a_->link("veth-a");
  ASSERT_OK(port);
  EXPECT_EQ(port->kind, "veth");
  EXPECT_EQ(port->masterIndex, bridge->index);
  // The peer was created directly in B: absent from A.
  auto peerInA = a_->linkIndex("eth0");
  ASSERT_FALSE(peerInA.ok());
  EXPECT_TRUE(isNotFound(peerInA.error()));
  auto peer = b_->link("eth0");
  ASSERT_OK(peer);
  EXPECT_EQ(peer->mtu, 1400u);
  auto peerMac = b_->linkMac("eth0");
  ASSERT_OK(peerMac);
  EXPECT_EQ(*peerMac, peer->mac);
  EXPECT_NE(peerMac->toString(), "00:00:00:00:00:00");

  auto addressesA = a_->listAddresses("cni0");
  ASSERT_OK(addressesA);
  // The kernel adds an IPv6 link-local address too, so look for ours.
  EXPECT_NE(std::find(addressesA->begin(), addressesA->end(), AddressInfo{ip("10.99.0.1"), 24}),
            addressesA->end());
  auto addressesB = b_->listAddresses("eth0");
  ASSERT_OK(addressesB);
  EXPECT_NE(std::find(addressesB->begin(), addressesB->end(), AddressInfo{ip("10.99.0.2"), 24}),
            addressesB->end());

  // Listen in B, connect from A, through veth + bridge.
  auto listener = runInNetns(*netnsB_, []() -> core::Result<int> {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::internal("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(18080);
    inet_pton(AF_INET, "10.99.0.2", &address.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(fd, 4) != 0) {
      close(fd);
      return core::internal(std::string("bind/listen: ") + std::strerror(errno));
    }
    return fd;
  });
  ASSERT_OK(listener);
  FileDescriptor listening(*listener);

  auto connected = runInNetns(*netnsA_, []() -> core::Status {
    FileDescriptor client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval timeout{5, 0};  // connect honours SO_SNDTIMEO
    setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(18080);
    inet_pton(AF_INET, "10.99.0.2", &address.sin_addr);
    if (connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      return core::internal(std::string("connect: ") + std::strerror(errno));
    if (send(client.get(), "hello", 5, 0) != 5) return core::internal("send failed");
    return core::Ok{};
  });
  ASSERT_OK(connected);

  pollfd ready{listening.get(), POLLIN, 0};
  ASSERT_EQ(poll(&ready, 1, 5000), 1);
  FileDescriptor accepted(accept(listening.get(), nullptr, nullptr));
  ASSERT_GE(accepted.get(), 0);
  char buffer[8] = {};
  pollfd data{accepted.get(), POLLIN, 0};
  ASSERT_EQ(poll(&data, 1, 5000), 1);
  ASSERT_EQ(recv(accepted.get(), buffer, sizeof buffer, 0), 5);
  EXPECT_EQ(std::string(buffer, 5), "hello");
}

TEST_F(NetlinkTest, LinkChangesAndHairpin) {
  buildBridgeAndVeth();
  if (HasFatalFailure()) return;

  ASSERT_OK(a_->setHairpin("veth-a", true));
  auto hairpin = a_->hairpin("veth-a");
  ASSERT_OK(hairpin);
  EXPECT_TRUE(*hairpin);
  ASSERT_OK(a_->setHairpin("veth-a", false));
  hairpin = a_->hairpin("veth-a");
  ASSERT_OK(hairpin);
  EXPECT_FALSE(*hairpin);

  ASSERT_OK(a_->setMtu("veth-a", 1300));
  EXPECT_EQ(a_->link("veth-a")->mtu, 1300u);
  ASSERT_OK(a_->setLinkUp("veth-a", false));
  EXPECT_FALSE(a_->link("veth-a")->up);
  ASSERT_OK(a_->setMaster("veth-a", ""));
  EXPECT_EQ(a_->link("veth-a")->masterIndex, 0);

  ASSERT_OK(a_->renameLink("veth-a", "veth-renamed"));
  EXPECT_FALSE(a_->linkIndex("veth-a").ok());
  ASSERT_OK(a_->linkIndex("veth-renamed"));

  // Move the bridge-side end to B too; then both ends live in B.
  ASSERT_OK(a_->moveToNetns("veth-renamed", netnsB_->fd()));
  EXPECT_FALSE(a_->linkIndex("veth-renamed").ok());
  ASSERT_OK(b_->linkIndex("veth-renamed"));

  // Deleting one end of a veth deletes both; absent is fine when asked.
  ASSERT_OK(b_->deleteLink("eth0"));
  EXPECT_FALSE(b_->linkIndex("veth-renamed").ok());
  EXPECT_OK(b_->deleteLink("eth0", IfAbsent::succeed));
  auto absent = b_->deleteLink("eth0");
  ASSERT_FALSE(absent.ok());
  EXPECT_TRUE(isNotFound(absent.error()));
}

TEST_F(NetlinkTest, ErrorsNameTheOperationAndTheKernelReason) {
  ASSERT_OK(a_->createBridge("br-dup"));
  auto duplicate = a_->createBridge("br-dup");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, 409);
  EXPECT_EQ(duplicate.error().reason, "AlreadyExists");
  EXPECT_EQ(duplicate.error().message.rfind("RTM_NEWLINK br-dup: File exists", 0), 0u)
      << duplicate.error().message;

  auto missing = a_->setLinkUp("nosuchlink");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, 404);
  EXPECT_NE(missing.error().message.find("nosuchlink"), std::string::npos);

  auto badMaster = a_->setMaster("lo", "br-dup");  // loopback cannot be enslaved
  ASSERT_FALSE(badMaster.ok());
  EXPECT_NE(badMaster.error().message.find("RTM_NEWLINK lo"), std::string::npos);

  EXPECT_FALSE(a_->link(std::string(40, 'x')).ok());
}

TEST_F(NetlinkTest, AddressesAreIdempotentWhenAsked) {
  ASSERT_OK(a_->createBridge("br0"));
  ASSERT_OK(a_->setLinkUp("br0"));
  ASSERT_OK(a_->addAddress("br0", ip("10.98.0.1"), 24));
  auto duplicate = a_->addAddress("br0", ip("10.98.0.1"), 24);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_TRUE(isAlreadyExists(duplicate.error())) << duplicate.error().message;
  EXPECT_OK(a_->addAddress("br0", ip("10.98.0.1"), 24, IfExists::succeed));
  ASSERT_OK(a_->addAddress("br0", ip("fd00:98::1"), 64));

  auto addresses = a_->listAddresses("br0");
  ASSERT_OK(addresses);
  EXPECT_NE(std::find(addresses->begin(), addresses->end(), AddressInfo{ip("10.98.0.1"), 24}),
            addresses->end());
  EXPECT_NE(std::find(addresses->begin(), addresses->end(), AddressInfo{ip("fd00:98::1"), 64}),
            addresses->end());

  ASSERT_OK(a_->deleteAddress("br0", ip("10.98.0.1"), 24));
  auto absent = a_->deleteAddress("br0", ip("10.98.0.1"), 24);
  ASSERT_FALSE(absent.ok());
  EXPECT_TRUE(isNotFound(absent.error())) << absent.error().message;
  EXPECT_OK(a_->deleteAddress("br0", ip("10.98.0.1"), 24, IfAbsent::succeed));
  EXPECT_OK(a_->deleteAddress("nosuchdev", ip("10.98.0.1"), 24, IfAbsent::succeed));
  addresses = a_->listAddresses("br0");
  ASSERT_OK(addresses);
  EXPECT_EQ(std::find(addresses->begin(), addresses->end(), AddressInfo{ip("10.98.0.1"), 24}),
            addresses->end());
}

TEST_F(NetlinkTest, RoutesRoundTrip) {
  buildBridgeAndVeth();
  if (HasFatalFailure()) return;

  Route viaPod{cidr("10.200.0.0/16"), ip("10.99.0.2"), "cni0"};
  Route unreachable{cidr("10.201.0.0/16")};
  unreachable.type = RouteType::unreachable;
  Route blackhole{cidr("10.202.0.0/16")};
  blackhole.type = RouteType::blackhole;
  Route onlink{cidr("10.203.0.0/16"), ip("192.168.77.1"), "cni0"};
  onlink.onlink = true;
  Route linkScoped{cidr("10.204.0.0/16"), std::nullopt, "cni0"};
  Route otherTable{cidr("10.205.0.0/16"), ip("10.99.0.2"), "cni0"};
  otherTable.table = 1000;

  for (const Route* route : {&viaPod, &unreachable, &blackhole, &onlink, &linkScoped, &otherTable})
    ASSERT_OK(a_->addRoute(*route));
  auto duplicate = a_->addRoute(viaPod);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().message.rfind(
                "RTM_NEWROUTE 10.200.0.0/16 via 10.99.0.2 dev cni0: File exists", 0),
            0u)
      << duplicate.error().message;

  auto routes = a_->listRoutes();
  ASSERT_OK(routes);
  auto find = [&](const core::Cidr& dst) -> const Route* {
    for (const auto& route : *routes)
      if (route.dst == dst) return &route;
    return nullptr;
  };
  const Route* found = find(viaPod.dst);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->gateway, viaPod.gateway);
  EXPECT_EQ(found->device, "cni0");
  ASSERT_NE(find(unreachable.dst), nullptr);
  EXPECT_EQ(find(unreachable.dst)->type, RouteType::unreachable);
  ASSERT_NE(find(blackhole.dst), nullptr);
  EXPECT_EQ(find(blackhole.dst)->type, RouteType::blackhole);
  ASSERT_NE(find(onlink.dst), nullptr);
  EXPECT_TRUE(find(onlink.dst)->onlink);
  ASSERT_NE(find(linkScoped.dst), nullptr);
  EXPECT_TRUE(find(linkScoped.dst)->scopeLink);
  EXPECT_EQ(find(otherTable.dst), nullptr);  // lives in table 1000
  auto table1000 = a_->listRoutes(false, 1000);
  ASSERT_OK(table1000);
  ASSERT_EQ(table1000->size(), 1u);
  EXPECT_EQ(table1000->front().dst, otherTable.dst);

  // Replace turns the unreachable route into a gatewayed one.
  Route replaced{cidr("10.201.0.0/16"), ip("10.99.0.2"), "cni0"};
  ASSERT_OK(a_->replaceRoute(replaced));
  routes = a_->listRoutes();
  ASSERT_OK(routes);
  ASSERT_NE(find(replaced.dst), nullptr);
  EXPECT_EQ(find(replaced.dst)->type, RouteType::unicast);
  EXPECT_EQ(find(replaced.dst)->gateway, replaced.gateway);

  for (const Route* route : {&viaPod, &replaced, &blackhole, &onlink, &linkScoped, &otherTable})
    ASSERT_OK(a_->deleteRoute(*route));
  auto absent = a_->deleteRoute(viaPod);
  ASSERT_FALSE(absent.ok());
  EXPECT_TRUE(isNotFound(absent.error())) << absent.error().message;
  EXPECT_OK(a_->deleteRoute(viaPod, IfAbsent::succeed));
  routes = a_->listRoutes();
  ASSERT_OK(routes);
  EXPECT_EQ(find(viaPod.dst), nullptr);
  EXPECT_EQ(find(blackhole.dst), nullptr);
}

TEST_F(NetlinkTest, NeighboursAndVxlanFdbRoundTrip) {
  buildBridgeAndVeth();
  if (HasFatalFailure()) return;

  Neighbour neighbour{ip("10.99.0.50"), mac("02:00:00:00:00:50"), "cni0"};
  ASSERT_OK(a_->addNeighbour(neighbour));
  EXPECT_FALSE(a_->addNeighbour(neighbour).ok());
  Neighbour moved{ip("10.99.0.50"), mac("02:00:00:00:00:51"), "cni0"};
  ASSERT_OK(a_->replaceNeighbour(moved));
  auto neighbours = a_->listNeighbours("cni0");
  ASSERT_OK(neighbours);
  EXPECT_EQ(*neighbours, std::vector<Neighbour>{moved});
  ASSERT_OK(a_->deleteNeighbour(moved));
  EXPECT_FALSE(a_->deleteNeighbour(moved).ok());
  EXPECT_OK(a_->deleteNeighbour(moved, IfAbsent::succeed));
  neighbours = a_->listNeighbours("cni0");
  ASSERT_OK(neighbours);
  EXPECT_TRUE(neighbours->empty());

  // Flannel's vxlan device: VNI 1, local VTEP, no learning, FDB programmed.
  VxlanOptions vxlan;
  vxlan.name = "flannel.1";
  vxlan.vni = 1;
  vxlan.local = ip("10.99.0.1");
  vxlan.dstPort = 8472;
  vxlan.underlyingDevice = "cni0";
  vxlan.mtu = 1350;
  ASSERT_OK(a_->createVxlan(vxlan));
  auto device = a_->link("flannel.1");
  ASSERT_OK(device);
  EXPECT_EQ(device->kind, "vxlan");
  EXPECT_EQ(device->mtu, 1350u);
  ASSERT_OK(a_->setLinkUp("flannel.1"));

  FdbEntry entry{mac("02:00:00:00:01:01"), "flannel.1", ip("10.99.0.2")};
  ASSERT_OK(a_->addFdb(entry));
  FdbEntry replaced{mac("02:00:00:00:01:01"), "flannel.1", ip("10.99.0.3")};
  ASSERT_OK(a_->replaceFdb(replaced));
  auto entries = a_->listFdb("flannel.1");
  ASSERT_OK(entries);
  EXPECT_NE(std::find(entries->begin(), entries->end(), replaced), entries->end());
  ASSERT_OK(a_->deleteFdb(replaced));
  EXPECT_FALSE(a_->deleteFdb(replaced).ok());
  EXPECT_OK(a_->deleteFdb(replaced, IfAbsent::succeed));
  entries = a_->listFdb("flannel.1");
  ASSERT_OK(entries);
  EXPECT_EQ(std::find(entries->begin(), entries->end(), replaced), entries->end());

  // The neighbour entry for the remote VTEP's MAC, as flannel programs it.
  Neighbour vtep{ip("10.244.1.0"), mac("02:00:00:00:01:01"), "flannel.1"};
  ASSERT_OK(a_->replaceNeighbour(vtep));
  neighbours = a_->listNeighbours("flannel.1");
  ASSERT_OK(neighbours);
  EXPECT_EQ(*neighbours, std::vector<Neighbour>{vtep});

  ASSERT_OK(a_->deleteLink("flannel.1"));
  EXPECT_OK(a_->deleteLink("flannel.1", IfAbsent::succeed));
}

TEST(MacAddressTest, ParsesAndFormats) {
  auto parsed = MacAddress::parse("02:AB:cd:00:10:ff");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->toString(), "02:ab:cd:00:10:ff");
  EXPECT_FALSE(MacAddress::parse("02:ab:cd:00:10"));
  EXPECT_FALSE(MacAddress::parse("02-ab-cd-00-10-ff"));
  EXPECT_FALSE(MacAddress::parse("02:ab:cd:00:10:fg"));
}

}  // namespace
}  // namespace podnet::net
