// NetworkPolicy against the real kernel (root only; skipped otherwise), in
// throwaway namespaces "ppk-<pid>-...": a node with a bridge and three pods
// on it (a, b, c), a pod of another node reached through the node's routes
// (r), and an address outside the cluster (ext). The Enforcer programs the
// node's nftables through netlink; real TCP and UDP connections show the
// verdicts, the stateful replies, incremental updates, ipBlock with except,
// named ports, and the denials read back from nflog.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "kernel_helpers.h"
#include "net/nflog.h"
#include "net/nft_batch.h"
#include "net/nftables.h"
#include "policy/enforcer.h"
#include "policy/netlink_writer.h"

namespace podnet::policy {
namespace {

using testing::EchoServer;
using testing::Fd;
using testing::ip;
using testing::isRoot;
using testing::Reply;
using testing::tcpRequest;
using testing::udpRequest;

Json namespaceJson(const std::string& name, Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", std::move(labels)}}}};
}

Json podJson(const std::string& name, const std::string& address, Json labels,
             const std::string& node = "node-1", Json ports = Json::array()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", std::move(labels)}}},
          {"spec",
           {{"nodeName", node},
            {"containers", {{{"name", "c"}, {"image", "x"}, {"ports", std::move(ports)}}}}}},
          {"status", {{"phase", "Running"}, {"podIP", address}, {"podIPs", {{{"ip", address}}}}}}};
}

Json policyJson(const std::string& name, Json spec) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", std::move(spec)}};
}

constexpr const char* kA = "10.244.1.10";
constexpr const char* kB = "10.244.1.11";
constexpr const char* kC = "10.244.1.12";
constexpr const char* kR = "10.244.2.10";     // a pod of another node
constexpr const char* kExt = "192.168.77.2";  // outside the cluster
constexpr const char* kNode = "10.244.1.1";   // the node's own address on the bridge

class PolicyKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs root (network namespaces, nftables)";
    node_ = &ns_.make("node");
    std::string node = ns_.name("node");
    ASSERT_TRUE(ip("-n " + node + " link add cni0 type bridge"));
    ASSERT_TRUE(ip("-n " + node + " addr add 10.244.1.1/24 dev cni0"));
    ASSERT_TRUE(ip("-n " + node + " link set cni0 up"));
    ASSERT_TRUE(ip("-n " + node + " link set lo up"));
    for (const auto& [suffix, address] :
         std::vector<std::pair<std::string, std::string>>{{"a", kA}, {"b", kB}, {"c", kC}}) {
      ns_.make(suffix);
      std::string pod = ns_.name(suffix);
      ASSERT_TRUE(
          ip("-n " + node + " link add v-" + suffix + " type veth peer name eth0 netns " + pod));
      ASSERT_TRUE(ip("-n " + node + " link set v-" + suffix + " master cni0 up"));
      ASSERT_TRUE(ip("-n " + pod + " addr add " + address + "/24 dev eth0"));
      ASSERT_TRUE(ip("-n " + pod + " link set eth0 up"));
      ASSERT_TRUE(ip("-n " + pod + " link set lo up"));
      ASSERT_TRUE(ip("-n " + pod + " route add default via 10.244.1.1"));
    }
    // Routed neighbours: r (a pod behind another node) and ext.
    struct Leg {
      std::string suffix, nodeSide, peerSide;
    };
    for (const Leg& leg : {Leg{"r", "10.244.2.1/24", std::string(kR) + "/24"},
                           Leg{"ext", "192.168.77.1/24", std::string(kExt) + "/24"}}) {
      ns_.make(leg.suffix);
      std::string peer = ns_.name(leg.suffix);
      ASSERT_TRUE(ip("-n " + node + " link add n-" + leg.suffix +
                     " type veth peer name eth0 netns " + peer));
      ASSERT_TRUE(ip("-n " + node + " addr add " + leg.nodeSide + " dev n-" + leg.suffix));
      ASSERT_TRUE(ip("-n " + node + " link set n-" + leg.suffix + " up"));
      ASSERT_TRUE(ip("-n " + peer + " addr add " + leg.peerSide + " dev eth0"));
      ASSERT_TRUE(ip("-n " + peer + " link set eth0 up"));
      ASSERT_TRUE(ip("-n " + peer + " link set lo up"));
      std::string gateway = leg.nodeSide.substr(0, leg.nodeSide.find('/'));
      ASSERT_TRUE(ip("-n " + peer + " route add default via " + gateway));
    }
    ASSERT_OK(net::writeSysctlIn(*node_, "net/ipv4/ip_forward", "1"));
    // Bridged traffic between pods of the node crosses the IP hooks.
    (void)net::writeSysctlIn(*node_, "net/bridge/bridge-nf-call-iptables", "1");
    for (const auto& [suffix, address] : std::vector<std::pair<std::string, std::string>>{
             {"a", kA}, {"b", kB}, {"c", kC}, {"r", kR}, {"ext", kExt}}) {
      servers_.push_back(
          std::make_unique<EchoServer>(ns_[suffix], address, std::vector<int>{80, 81}));
      ASSERT_TRUE(servers_.back()->ok());
    }
    enforcer_ = makeEnforcer();
    ASSERT_NE(enforcer_, nullptr);
    Enforcer& e = *enforcer_;
    e.namespaceChanged(namespaceJson("default"));
    e.podChanged(
        podJson("a", kA, {{"pod", "a"}}, "node-1",
                Json::array({{{"containerPort", 80}},
                             {{"containerPort", 81}, {"name", "http"}},
                             {{"containerPort", 80}, {"protocol", "UDP"}, {"name", "dns"}}})));
    e.podChanged(podJson("b", kB, {{"pod", "b"}}));
    e.podChanged(podJson("c", kC, {{"pod", "c"}}));
    e.podChanged(podJson("r", kR, {{"pod", "r"}}, "node-2",
                         Json::array({{{"containerPort", 81}, {"name", "http"}}})));
    ASSERT_OK(e.sync());
    EXPECT_TRUE(e.lastSync().full);
  }

  std::unique_ptr<Enforcer> makeEnforcer(size_t groupAtAddresses = 128) {
    auto writer = net::runInNetns(*node_, [] { return NetlinkWriter::open(); });
    if (!writer) {
      ADD_FAILURE() << writer.error().message;
      return nullptr;
    }
    EnforcerConfig config;
    config.nodeName = "node-1";
    config.compiler.groupAtAddresses = groupAtAddresses;
    return std::make_unique<Enforcer>(config, std::make_shared<NetlinkWriter>(std::move(*writer)));
  }

  // Whether a new TCP connection from `from` reaches `to`:`port` (a drop
  // shows as a timeout; the server answers otherwise).
  bool tcp(const std::string& from, const std::string& to, int port = 80) {
    Reply r = from == "node" ? tcpRequest(*node_, to, port, 1) : tcpRequest(ns_[from], to, port, 1);
    return r.error == 0;
  }
  bool udp(const std::string& from, const std::string& to, int port = 80) {
    Reply r = udpRequest(ns_[from], to, port, 1);
    return r.error == 0;
  }

  void apply(const Json& policy) {
    enforcer_->policyChanged(policy);
    ASSERT_OK(enforcer_->sync());
    EXPECT_FALSE(enforcer_->lastSync().full);
  }
  void remove(const std::string& name) {
    enforcer_->policyDeleted(policyJson(name, Json::object()));
    ASSERT_OK(enforcer_->sync());
  }

  std::string listTable() {
    auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
    if (!nft) return "open: " + nft.error().message;
    auto out = nft->query("list table ip podnet-policy");
    return out ? *out : "query: " + out.error().message;
  }

  testing::Namespaces ns_{"ppk"};
  const net::NetnsHandle* node_ = nullptr;
  std::vector<std::unique_ptr<EchoServer>> servers_;
  std::unique_ptr<Enforcer> enforcer_;
};

TEST_F(PolicyKernel, NoPolicyAllowsEverything) {
  EXPECT_TRUE(tcp("b", kA));
  EXPECT_TRUE(tcp("a", kB));
  EXPECT_TRUE(tcp("ext", kA));
  EXPECT_TRUE(tcp("a", kR));
  EXPECT_TRUE(udp("b", kA));
  EXPECT_NE(listTable().find("chain forward"), std::string::npos) << listTable();
}

TEST_F(PolicyKernel, IngressVerdictsAreStatefulAndTheNodeIsAlwaysAllowed) {
  apply(policyJson("deny-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
                              {"policyTypes", {"Ingress"}},
                              {"ingress", Json::array()}}));
  EXPECT_FALSE(tcp("b", kA));
  EXPECT_FALSE(tcp("ext", kA));
  EXPECT_FALSE(tcp("r", kA));
  EXPECT_FALSE(udp("b", kA));
  EXPECT_TRUE(tcp("node", kA)) << "the pod's own node (probes) is always allowed";
  EXPECT_TRUE(tcp("a", kB)) << "a's connections out are not judged by ingress, replies pass";
  EXPECT_TRUE(tcp("b", kC));

  // Only from pod b, TCP 80.
  apply(policyJson("b-to-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
                              {"ingress",
                               {{{"from", {{{"podSelector", {{"matchLabels", {{"pod", "b"}}}}}}}},
                                 {"ports", {{{"port", 80}}}}}}}}));
  EXPECT_TRUE(tcp("b", kA));
  EXPECT_FALSE(tcp("b", kA, 81));
  EXPECT_FALSE(tcp("c", kA));
  EXPECT_FALSE(udp("b", kA)) << "a TCP rule never opens UDP";

  // The named port "http" is a's 81/TCP; "dns" its 80/UDP.
  apply(policyJson(
      "b-to-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
                 {"ingress",
                  {{{"from", {{{"podSelector", {{"matchLabels", {{"pod", "b"}}}}}}}},
                    {"ports", {{{"port", "http"}}, {{"port", "dns"}, {"protocol", "UDP"}}}}}}}}));
  EXPECT_FALSE(tcp("b", kA));
  EXPECT_TRUE(tcp("b", kA, 81));
  EXPECT_TRUE(udp("b", kA));
  EXPECT_FALSE(udp("b", kA, 81));

  // An established connection survives a change; new ones follow it at once.
  Fd conn(testing::socketIn(ns_["b"], SOCK_STREAM));
  sockaddr_in to = testing::address(kA, 81);
  ASSERT_EQ(connect(conn.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  remove("b-to-a");
  timeval timeout{3, 0};
  setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ASSERT_EQ(send(conn.get(), "hi", 2, MSG_NOSIGNAL), 2);
  char buf[64];
  EXPECT_GT(recv(conn.get(), buf, sizeof buf, 0), 0) << "the established connection was cut";
  EXPECT_FALSE(tcp("b", kA, 81));

  remove("deny-a");
  EXPECT_TRUE(tcp("b", kA));
  EXPECT_TRUE(tcp("ext", kA));
}

TEST_F(PolicyKernel, IpBlockExceptIsAUnionAcrossPolicies) {
  apply(policyJson(
      "from-lan",
      {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
       {"ingress",
        {{{"from",
           {{{"ipBlock", {{"cidr", "192.168.0.0/16"}, {"except", {"192.168.77.0/24"}}}}}}}}}}}));
  EXPECT_FALSE(tcp("ext", kA));
  EXPECT_FALSE(tcp("b", kA)) << "the pod's address is outside the block";
  apply(policyJson("from-ext", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
                                {"ingress",
                                 {{{"from", {{{"ipBlock", {{"cidr", std::string(kExt) + "/32"}}}}}},
                                   {"ports", {{{"port", 81}}}}}}}}));
  EXPECT_FALSE(tcp("ext", kA));
  EXPECT_TRUE(tcp("ext", kA, 81)) << "excepted by one policy, allowed by another";
  // A pod's address in a block is matched as any address.
  apply(policyJson(
      "from-b-ip",
      {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
       {"ingress", {{{"from", {{{"ipBlock", {{"cidr", std::string(kB) + "/32"}}}}}}}}}}));
  EXPECT_TRUE(tcp("b", kA));
  EXPECT_FALSE(tcp("c", kA));
}

TEST_F(PolicyKernel, EgressToPodsNamedPortsAndTheNode) {
  apply(policyJson("c-out", {{"podSelector", {{"matchLabels", {{"pod", "c"}}}}},
                             {"policyTypes", {"Egress"}},
                             {"egress",
                              {{{"to", {{{"podSelector", {{"matchLabels", {{"pod", "r"}}}}}}}},
                                {"ports", {{{"port", "http"}}}}}}}}));
  EXPECT_TRUE(tcp("c", kR, 81)) << "r's named port http is 81";
  EXPECT_FALSE(tcp("c", kR, 80));
  EXPECT_FALSE(tcp("c", kB, 81)) << "b has no port named http";
  EXPECT_FALSE(tcp("c", kExt, 81));
  EXPECT_FALSE(tcp("c", kNode, 81)) << "egress to the node itself is judged too";
  EXPECT_TRUE(tcp("b", kC)) << "c's replies are never judged";
  // Anywhere on 80: ipBlock 0.0.0.0/0 is any address, pods included.
  apply(policyJson("c-web", {{"podSelector", {{"matchLabels", {{"pod", "c"}}}}},
                             {"policyTypes", {"Egress"}},
                             {"egress", {{{"ports", {{{"port", 80}, {"endPort", 80}}}}}}}}));
  EXPECT_TRUE(tcp("c", kExt, 80));
  EXPECT_TRUE(tcp("c", kB, 80));
  EXPECT_FALSE(tcp("c", kB, 81));
}

TEST_F(PolicyKernel, ARestartReplacesTheTableAndKeepsConnections) {
  apply(policyJson(
      "b-to-a",
      {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}},
       {"ingress", {{{"from", {{{"podSelector", {{"matchLabels", {{"pod", "b"}}}}}}}}}}}}));
  Fd conn(testing::socketIn(ns_["b"], SOCK_STREAM));
  sockaddr_in to = testing::address(kA, 80);
  ASSERT_EQ(connect(conn.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  std::string before = listTable();

  auto restarted = makeEnforcer();
  ASSERT_NE(restarted, nullptr);
  restarted->namespaceChanged(namespaceJson("default"));
  restarted->podChanged(podJson("a", kA, {{"pod", "a"}}));
  restarted->podChanged(podJson("b", kB, {{"pod", "b"}}));
  restarted->policyChanged(policyJson(
      "deny-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}}, {"ingress", Json::array()}}));
  ASSERT_OK(restarted->sync());
  EXPECT_TRUE(restarted->lastSync().full);
  timeval timeout{3, 0};
  setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ASSERT_EQ(send(conn.get(), "hi", 2, MSG_NOSIGNAL), 2);
  char buf[64];
  EXPECT_GT(recv(conn.get(), buf, sizeof buf, 0), 0) << "the established connection was cut";
  EXPECT_NE(listTable(), before);
  EXPECT_FALSE(tcp("b", kA));
}

TEST_F(PolicyKernel, AFailedTransactionMakesTheNextSyncFull) {
  auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
  ASSERT_OK(nft);
  ASSERT_OK(nft->run("delete table ip podnet-policy\n"));
  enforcer_->policyChanged(policyJson(
      "deny-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}}, {"ingress", Json::array()}}));
  EXPECT_FALSE(enforcer_->sync().ok());
  ASSERT_OK(enforcer_->sync());
  EXPECT_TRUE(enforcer_->lastSync().full);
  EXPECT_FALSE(tcp("b", kA));
}

TEST_F(PolicyKernel, DeniedConnectionsReachNflog) {
  auto reader = net::runInNetns(*node_, [] { return net::NflogReader::open(kDefaultNflogGroup); });
  ASSERT_OK(reader);
  apply(policyJson(
      "deny-a", {{"podSelector", {{"matchLabels", {{"pod", "a"}}}}}, {"ingress", Json::array()}}));
  apply(policyJson("c-out", {{"podSelector", {{"matchLabels", {{"pod", "c"}}}}},
                             {"policyTypes", {"Egress"}},
                             {"egress", Json::array()}}));
  EXPECT_FALSE(tcp("b", kA, 81));
  EXPECT_FALSE(udp("c", kR, 80));
  std::vector<net::LoggedPacket> packets;
  for (int i = 0; i < 20 && packets.size() < 2; ++i) {
    auto got = reader->read(std::chrono::milliseconds(100));
    ASSERT_OK(got);
    for (auto& p : *got) packets.push_back(std::move(p));
  }
  bool ingress = false, egress = false;
  for (const auto& p : packets) {
    if (p.prefix == "podnet-policy ingress" && p.source.toString() == kB &&
        p.destination.toString() == kA && p.protocol == 6 && p.destinationPort == 81)
      ingress = true;
    if (p.prefix == "podnet-policy egress" && p.source.toString() == kC &&
        p.destination.toString() == kR && p.protocol == 17 && p.destinationPort == 80)
      egress = true;
  }
  EXPECT_TRUE(ingress);
  EXPECT_TRUE(egress);
}

// Every rule set accepts what the compiler can produce, SCTP and full
// ranges included (this kernel cannot carry SCTP traffic).
TEST_F(PolicyKernel, EveryKindOfElementIsAccepted) {
  apply(policyJson("all-kinds-in", Json::parse(R"({
    "podSelector": {},
    "ingress": [
      {"from": [{"podSelector": {}}]},
      {"from": [{"podSelector": {}}],
       "ports": [{"protocol": "SCTP"}, {"port": 1000, "endPort": 2000, "protocol": "UDP"},
                 {"port": 53, "protocol": "UDP"}]},
      {"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}
    ]})")));
  apply(policyJson("all-kinds-out", Json::parse(R"({
    "podSelector": {"matchLabels": {"pod": "a"}},
    "policyTypes": ["Egress"],
    "egress": [
      {"ports": [{"port": "http"}]},
      {"to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}],
       "ports": [{"port": "http"}, {"protocol": "SCTP", "port": 9}]}
    ]})")));
  std::string table = listTable();
  // nft reads back what netlink wrote: intervals of concatenations, SCTP.
  EXPECT_NE(table.find("0.0.0.0-9.255.255.255 . 0-255 . 0-65535"), std::string::npos) << table;
  EXPECT_NE(table.find("10.244.1.11 . 132"), std::string::npos) << table;  // SCTP
  EXPECT_NE(table.find("10.244.1.11 . 17 . 1000-2000"), std::string::npos) << table;
  EXPECT_NE(table.find("-cidrs"), std::string::npos) << table;
  EXPECT_NE(table.find("10.244.1.11"), std::string::npos) << table;
  CompilerStats stats = enforcer_->compilerStats();
  EXPECT_GT(stats.elements, 10U);
  EXPECT_TRUE(tcp("b", kA)) << "allowed from every pod";
  EXPECT_TRUE(tcp("ext", kA)) << "allowed from anywhere but 10/8";
  EXPECT_TRUE(tcp("a", kR, 81)) << "egress to r's http inside the block";
  EXPECT_FALSE(tcp("a", kR, 80));
}

// Peer groups in the kernel: shared address sets with a rule per chain,
// created, grown, rewritten and removed as the policies and pods change.
TEST_F(PolicyKernel, PeerGroupsAreSharedSetsWithARulePerChain) {
  enforcer_ = makeEnforcer(2);
  ASSERT_NE(enforcer_, nullptr);
  Enforcer& e = *enforcer_;
  e.namespaceChanged(namespaceJson("default"));
  e.podChanged(podJson("a", kA, {{"pod", "a"}, {"role", "server"}}));
  e.podChanged(podJson("b", kB, {{"pod", "b"}, {"role", "client"}}));
  e.podChanged(podJson("c", kC, {{"pod", "c"}, {"role", "server"}}));
  e.podChanged(podJson("r", kR, {{"pod", "r"}, {"role", "client"}}, "node-2"));
  ASSERT_OK(e.sync());
  // Servers accept clients (b and r: a group of two) on 80 only.
  apply(policyJson("clients-in", Json::parse(R"({
    "podSelector": {"matchLabels": {"role": "server"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                 "ports": [{"port": 80}]}]})")));
  EXPECT_EQ(e.compilerStats().groups, 1U);
  std::string table = listTable();
  EXPECT_NE(table.find("set group-"), std::string::npos) << table;
  EXPECT_NE(table.find("ip saddr @group-"), std::string::npos) << table;
  EXPECT_TRUE(tcp("b", kA));
  EXPECT_TRUE(tcp("r", kC));
  EXPECT_FALSE(tcp("b", kA, 81));
  EXPECT_FALSE(tcp("ext", kA));
  // Every port from the group now: the chain's rule is rewritten, bare.
  apply(policyJson("clients-in", Json::parse(R"({
    "podSelector": {"matchLabels": {"role": "server"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})")));
  EXPECT_TRUE(tcp("b", kA, 81));
  // r stops being a client: out of the group.
  e.podChanged(podJson("r", kR, {{"pod", "r"}}, "node-2"));
  ASSERT_OK(e.sync());
  EXPECT_FALSE(e.lastSync().full);
  EXPECT_FALSE(tcp("r", kA));
  EXPECT_TRUE(tcp("b", kA));
  // b too: no address left, pairs again (none), no group.
  e.podChanged(podJson("b", kB, {{"pod", "b"}}));
  ASSERT_OK(e.sync());
  EXPECT_EQ(e.compilerStats().groups, 0U);
  EXPECT_FALSE(tcp("b", kA));
  // And back: a group again.
  e.podChanged(podJson("r", kR, {{"pod", "r"}, {"role", "client"}}, "node-2"));
  e.podChanged(podJson("b", kB, {{"pod", "b"}, {"role", "client"}}));
  ASSERT_OK(e.sync());
  EXPECT_EQ(e.compilerStats().groups, 1U);
  EXPECT_TRUE(tcp("r", kA));
  remove("clients-in");
  EXPECT_EQ(e.compilerStats().groups, 0U);
  EXPECT_EQ(listTable().find("set group-"), std::string::npos) << listTable();
  EXPECT_TRUE(tcp("ext", kA));
}

}  // namespace
}  // namespace podnet::policy
