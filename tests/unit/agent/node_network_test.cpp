// The node network compiler and diff: pure functions, no root, no kernel.
#include "agent/node_network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace podnet::agent {
namespace {

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }
core::Cidr cidr(const char* text) { return *core::Cidr::parse(text); }
net::MacAddress mac(const char* text) { return *net::MacAddress::parse(text); }

LocalNode localNode(OverlayMode mode) {
  LocalNode local;
  local.name = "node-a";
  local.nodeIp = ip("192.168.50.11");
  local.podCidr = cidr("10.244.1.0/24");
  local.underlyingDevice = "eth0";
  local.underlyingMtu = 1400;
  local.mode = mode;
  local.unreachableCidrs = {cidr("10.244.0.0/16"), cidr("10.96.0.0/12")};
  return local;
}

RemoteNode remote(const std::string& name, const char* nodeIp, const char* podCidr) {
  return RemoteNode{name, ip(nodeIp), cidr(podCidr), std::nullopt};
}

std::vector<RemoteNode> manyRemotes(int count) {
  std::vector<RemoteNode> remotes;
  for (int i = 0; i < count; ++i) {
    RemoteNode node;
    node.name = "node-" + std::to_string(i);
    node.nodeIp = core::IpAddress::fromV4((192u << 24) | (168u << 16) | (10000u + i));
    node.podCidr = *cidr("10.244.0.0/16").subnet(24, 2 + i % 250);
    if (i >= 250) node.podCidr = *cidr("10.0.0.0/8").subnet(24, 1000 + i);
    remotes.push_back(node);
  }
  return remotes;
}

TEST(NodeNetworkCompiler, ServiceRangeRoutesToLoopbackFromTheNodeAddress) {
  LocalNode local = localNode(OverlayMode::hostGw);
  local.unreachableCidrs = {cidr("10.244.0.0/16")};
  local.serviceCidrs = {cidr("10.96.0.0/12"), cidr("fd00:96::/108")};
  auto program = compileNodeNetwork(local, {});
  ASSERT_TRUE(program.ok()) << program.error().message;
  ASSERT_EQ(program->safetyRoutes.size(), 3u);
  const net::Route* service = nullptr;
  for (const auto& route : program->safetyRoutes)
    if (route.dst == cidr("10.96.0.0/12")) service = &route;
  ASSERT_NE(service, nullptr);
  // Node processes can connect (the proxy's output chain rewrites the
  // destination); what is not rewritten never leaves the node.
  EXPECT_EQ(service->type, net::RouteType::unicast);
  EXPECT_EQ(service->device, "lo");
  EXPECT_EQ(service->source, ip("192.168.50.11"));
  for (const auto& route : program->safetyRoutes)
    if (route.dst != cidr("10.96.0.0/12")) EXPECT_EQ(route.type, net::RouteType::unreachable);
}

TEST(NodeNetworkCompiler, HostGwIsOneRoutePerRemotePodCidrViaNodeIp) {
  auto program = compileNodeNetwork(localNode(OverlayMode::hostGw),
                                    {remote("node-c", "192.168.50.13", "10.244.3.0/24"),
                                     remote("node-b", "192.168.50.12", "10.244.2.0/24")});
  ASSERT_TRUE(program.ok()) << program.error().message;
  EXPECT_FALSE(program->vtep);
  EXPECT_TRUE(program->neighbours.empty());
  EXPECT_TRUE(program->fdb.empty());
  ASSERT_EQ(program->routes.size(), 2u);
  net::Route toB;
  toB.dst = cidr("10.244.2.0/24");
  toB.gateway = ip("192.168.50.12");
  toB.device = "eth0";
  EXPECT_EQ(program->routes[0], toB);  // sorted by podCIDR, not input order
  EXPECT_EQ(program->routes[1].dst, cidr("10.244.3.0/24"));
  ASSERT_EQ(program->safetyRoutes.size(), 2u);
  EXPECT_EQ(program->safetyRoutes[0].dst, cidr("10.96.0.0/12"));
  EXPECT_EQ(program->safetyRoutes[0].type, net::RouteType::unreachable);
  EXPECT_EQ(program->safetyRoutes[1].dst, cidr("10.244.0.0/16"));
}

TEST(NodeNetworkCompiler, VxlanProgramsVtepRouteNeighbourAndFdbLikeFlannel) {
  auto program = compileNodeNetwork(localNode(OverlayMode::vxlan),
                                    {remote("node-b", "192.168.50.12", "10.244.2.0/24")});
  ASSERT_TRUE(program.ok()) << program.error().message;
  ASSERT_TRUE(program->vtep);
  const VtepDevice& vtep = *program->vtep;
  EXPECT_EQ(vtep.name, "podnet.1");
  EXPECT_EQ(vtep.vni, 1u);
  EXPECT_EQ(vtep.dstPort, 8472);
  EXPECT_FALSE(vtep.learning);
  EXPECT_EQ(vtep.mtu, 1350u);
  EXPECT_EQ(vtep.local, ip("192.168.50.11"));
  EXPECT_EQ(vtep.underlyingDevice, "eth0");
  EXPECT_EQ(vtep.mac, mac("0a:58:c0:a8:32:0b"));
  EXPECT_EQ(vtep.address, ip("10.244.1.0"));

  ASSERT_EQ(program->routes.size(), 1u);
  EXPECT_EQ(program->routes[0].dst, cidr("10.244.2.0/24"));
  EXPECT_EQ(program->routes[0].gateway, ip("10.244.2.0"));
  EXPECT_EQ(program->routes[0].device, "podnet.1");
  EXPECT_TRUE(program->routes[0].onlink);
  ASSERT_EQ(program->neighbours.size(), 1u);
  EXPECT_EQ(program->neighbours[0],
            (net::Neighbour{ip("10.244.2.0"), mac("0a:58:c0:a8:32:0c"), "podnet.1"}));
  ASSERT_EQ(program->fdb.size(), 1u);
  EXPECT_EQ(program->fdb[0],
            (net::FdbEntry{mac("0a:58:c0:a8:32:0c"), "podnet.1", ip("192.168.50.12")}));
}

TEST(NodeNetworkCompiler, ExplicitVtepMacAndVniAndPortAreHonoured) {
  LocalNode local = localNode(OverlayMode::vxlan);
  local.vni = 42;
  local.vxlanPort = 4789;
  RemoteNode b = remote("node-b", "192.168.50.12", "10.244.2.0/24");
  b.vtepMac = mac("aa:bb:cc:dd:ee:01");
  auto program = compileNodeNetwork(local, {b});
  ASSERT_TRUE(program.ok());
  EXPECT_EQ(program->vtep->vni, 42u);
  EXPECT_EQ(program->vtep->dstPort, 4789);
  EXPECT_EQ(program->fdb[0].mac, mac("aa:bb:cc:dd:ee:01"));
  EXPECT_EQ(program->neighbours[0].mac, mac("aa:bb:cc:dd:ee:01"));
}

TEST(NodeNetworkCompiler, BadRemoteNodesAreSkippedWithAReason) {
  RemoteNode noCidr;
  noCidr.name = "no-cidr";
  noCidr.nodeIp = ip("192.168.50.20");
  auto program = compileNodeNetwork(
      localNode(OverlayMode::hostGw),
      {remote("node-a", "192.168.50.11", "10.244.1.0/24"),  // this node
       noCidr, remote("overlaps-us", "192.168.50.21", "10.244.1.0/25"),
       remote("dup-2", "192.168.50.23", "10.244.5.0/24"),
       remote("dup-1", "192.168.50.22", "10.244.5.0/24"), remote("v6", "fd00::1", "fd00:10::/64"),
       remote("ok", "192.168.50.30", "10.244.9.0/24")});
  ASSERT_TRUE(program.ok());
  ASSERT_EQ(program->routes.size(), 2u);
  EXPECT_EQ(program->routes[0].gateway, ip("192.168.50.22"));  // dup-1 wins by name
  EXPECT_EQ(program->routes[1].gateway, ip("192.168.50.30"));
  std::vector<std::string> skipped;
  for (const auto& s : program->skipped) skipped.push_back(s.name);
  std::sort(skipped.begin(), skipped.end());
  EXPECT_EQ(skipped, (std::vector<std::string>{"dup-2", "no-cidr", "node-a", "overlaps-us", "v6"}));
}

TEST(NodeNetworkCompiler, UnusableLocalNodeIsAnError) {
  LocalNode local = localNode(OverlayMode::vxlan);
  local.podCidr = core::Cidr{};
  EXPECT_FALSE(compileNodeNetwork(local, {}).ok());
  local = localNode(OverlayMode::vxlan);
  local.underlyingMtu = 200;
  EXPECT_FALSE(compileNodeNetwork(local, {}).ok());
  local = localNode(OverlayMode::vxlan);
  local.underlyingDevice.clear();
  EXPECT_FALSE(compileNodeNetwork(local, {}).ok());
}

TEST(NodeNetworkCompiler, ThousandNodesAreFastAndOrderIndependent) {
  auto remotes = manyRemotes(1000);
  auto start = std::chrono::steady_clock::now();
  auto program = compileNodeNetwork(localNode(OverlayMode::vxlan), remotes);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(program.ok());
  EXPECT_EQ(program->routes.size(), 1000u);
  EXPECT_EQ(program->fdb.size(), 1000u);
  EXPECT_EQ(program->neighbours.size(), 1000u);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 50);

  std::shuffle(remotes.begin(), remotes.end(), std::mt19937(7));
  auto shuffled = compileNodeNetwork(localNode(OverlayMode::vxlan), remotes);
  ASSERT_TRUE(shuffled.ok());
  EXPECT_EQ(*program, *shuffled);
}

TEST(NodeNetworkDiff, SameProgramIsEmpty) {
  auto program = compileNodeNetwork(localNode(OverlayMode::vxlan), manyRemotes(1000));
  ASSERT_TRUE(program.ok());
  auto start = std::chrono::steady_clock::now();
  NodeNetworkDiff diff = diffNodeNetwork(*program, *program);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(diff.empty());
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 50);
}

TEST(NodeNetworkDiff, FromNothingAddsEverything) {
  auto program = compileNodeNetwork(localNode(OverlayMode::vxlan), manyRemotes(3));
  ASSERT_TRUE(program.ok());
  NodeNetworkDiff diff = diffNodeNetwork({}, *program);
  ASSERT_TRUE(diff.vtepToCreate);
  EXPECT_FALSE(diff.vtepToDelete);
  EXPECT_EQ(diff.routesToReplace.size(), 3u + 2u);  // + the two safety routes
  EXPECT_EQ(diff.neighboursToReplace.size(), 3u);
  EXPECT_EQ(diff.fdbToReplace.size(), 3u);
  EXPECT_EQ(diff.size(), 1u + 5u + 3u + 3u);
}

TEST(NodeNetworkDiff, AddingAndRemovingOneNodeTouchesOnlyThatNode) {
  auto remotes = manyRemotes(1000);
  auto before = compileNodeNetwork(localNode(OverlayMode::vxlan), remotes);
  RemoteNode gone = remotes[500];
  remotes.erase(remotes.begin() + 500);
  remotes.push_back(remote("new", "192.168.99.1", "10.250.0.0/24"));
  auto after = compileNodeNetwork(localNode(OverlayMode::vxlan), remotes);
  ASSERT_TRUE(before.ok() && after.ok());
  NodeNetworkDiff diff = diffNodeNetwork(*before, *after);
  EXPECT_FALSE(diff.vtepToCreate);
  EXPECT_FALSE(diff.vtepToDelete);
  ASSERT_EQ(diff.routesToDelete.size(), 1u);
  EXPECT_EQ(diff.routesToDelete[0].dst, gone.podCidr);
  ASSERT_EQ(diff.fdbToDelete.size(), 1u);
  EXPECT_EQ(diff.fdbToDelete[0].dst, gone.nodeIp);
  ASSERT_EQ(diff.neighboursToDelete.size(), 1u);
  EXPECT_EQ(diff.neighboursToDelete[0].ip, gone.podCidr.network);
  ASSERT_EQ(diff.routesToReplace.size(), 1u);
  EXPECT_EQ(diff.routesToReplace[0].dst, cidr("10.250.0.0/24"));
  EXPECT_EQ(diff.fdbToReplace.size(), 1u);
  EXPECT_EQ(diff.neighboursToReplace.size(), 1u);
}

TEST(NodeNetworkDiff, ChangedNodeIpIsReplacedInPlace) {
  auto before = compileNodeNetwork(localNode(OverlayMode::hostGw),
                                   {remote("node-b", "192.168.50.12", "10.244.2.0/24")});
  auto after = compileNodeNetwork(localNode(OverlayMode::hostGw),
                                  {remote("node-b", "192.168.50.99", "10.244.2.0/24")});
  NodeNetworkDiff diff = diffNodeNetwork(*before, *after);
  EXPECT_TRUE(diff.routesToDelete.empty());
  ASSERT_EQ(diff.routesToReplace.size(), 1u);
  EXPECT_EQ(diff.routesToReplace[0].gateway, ip("192.168.50.99"));
}

TEST(NodeNetworkDiff, SwitchingHostGwToVxlanCreatesVtepAndReplacesRoutes) {
  std::vector<RemoteNode> remotes = {remote("node-b", "192.168.50.12", "10.244.2.0/24")};
  auto hostGw = compileNodeNetwork(localNode(OverlayMode::hostGw), remotes);
  auto vxlan = compileNodeNetwork(localNode(OverlayMode::vxlan), remotes);
  NodeNetworkDiff diff = diffNodeNetwork(*hostGw, *vxlan);
  EXPECT_TRUE(diff.vtepToCreate);
  EXPECT_TRUE(diff.routesToDelete.empty());  // same destination: replaced, no gap
  ASSERT_EQ(diff.routesToReplace.size(), 1u);
  EXPECT_EQ(diff.routesToReplace[0].device, "podnet.1");
  EXPECT_EQ(diff.fdbToReplace.size(), 1u);

  NodeNetworkDiff back = diffNodeNetwork(*vxlan, *hostGw);
  EXPECT_TRUE(back.vtepToDelete);
  EXPECT_FALSE(back.vtepToCreate);
  // Entries on the deleted VTEP go with it: no one-by-one deletes.
  EXPECT_TRUE(back.fdbToDelete.empty());
  EXPECT_TRUE(back.neighboursToDelete.empty());
  ASSERT_EQ(back.routesToReplace.size(), 1u);
  EXPECT_EQ(back.routesToReplace[0].device, "eth0");
}

TEST(NodeNetworkDiff, ChangedVtepIsRecreatedWithAllItsEntries) {
  std::vector<RemoteNode> remotes = {remote("node-b", "192.168.50.12", "10.244.2.0/24")};
  LocalNode local = localNode(OverlayMode::vxlan);
  auto before = compileNodeNetwork(local, remotes);
  local.underlyingMtu = 9000;
  auto after = compileNodeNetwork(local, remotes);
  NodeNetworkDiff diff = diffNodeNetwork(*before, *after);
  EXPECT_TRUE(diff.vtepToDelete);
  ASSERT_TRUE(diff.vtepToCreate);
  EXPECT_EQ(diff.vtepToCreate->mtu, 8950u);
  EXPECT_EQ(diff.routesToReplace.size(), 1u);  // safety routes unchanged
  EXPECT_EQ(diff.neighboursToReplace.size(), 1u);
  EXPECT_EQ(diff.fdbToReplace.size(), 1u);
}

}  // namespace
}  // namespace podnet::agent
