// The service proxy against the real kernel (root only; skipped otherwise).
// Everything happens in throwaway network namespaces named "pbk-<pid>-...":
// the nftables context is opened inside them, so the host's ruleset is never
// touched, and an RAII guard removes them also when a test fails.
//  - Kernel acceptance: every kind of Service the compiler handles, then
//    incremental changes, each sync() accepted and `nft list table` showing
//    the result; a second Proxier (an agent restart) replaces the table.
//  - Real traffic: client -> node (the proxy's rules) -> two server netns,
//    over TCP and UDP, through the ClusterIP.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel_helpers.h"
#include "net/netns.h"
#include "net/nft_batch.h"
#include "net/nftables.h"
#include "proxy/netlink_writer.h"
#include "proxy/nftables_writer.h"
#include "proxy/proxier.h"

namespace podnet::proxy {
namespace {

using testing::EchoServer;
using testing::Fd;
using testing::ip;
using testing::isRoot;
using testing::Reply;
using testing::tcpRequest;
using testing::udpRequest;

// Throwaway namespaces "pbk-<pid>-<suffix>".
struct Namespaces : testing::Namespaces {
  Namespaces() : testing::Namespaces("pbk") {}
};
std::string prefixed(const std::string& suffix) { return Namespaces().name(suffix); }

Json service(const std::string& name, Json spec) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", std::move(spec)}};
}

Json endpoint(const std::string& ip, const std::string& node, bool ready = true) {
  return {{"addresses", {ip}},
          {"nodeName", node},
          {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", false}}}};
}

std::shared_ptr<const Json> slice(const std::string& service, Json endpoints,
                                  const std::string& protocol = "TCP") {
  return std::make_shared<const Json>(
      Json{{"metadata",
            {{"name", service + "-abc"},
             {"namespace", "default"},
             {"labels", {{"kubernetes.io/service-name", service}}}}},
           {"addressType", "IPv4"},
           {"endpoints", std::move(endpoints)},
           {"ports", Json::array({{{"name", "p"}, {"port", 8080}, {"protocol", protocol}}})}});
}

Json clusterIpSpec(const std::string& ip, const std::string& protocol = "TCP") {
  return {{"clusterIP", ip},
          {"clusterIPs", {ip}},
          {"ports", {{{"name", "p"}, {"port", 80}, {"targetPort", 8080}, {"protocol", protocol}}}}};
}

std::shared_ptr<const Json> shared(Json j) { return std::make_shared<const Json>(std::move(j)); }

// Whether the listed table DNATs to `ip`:8080 (a random choice among
// several endpoints is a cascade of `numgen random mod k 0 dnat to` rules).
bool dnatsTo(const std::string& table, const std::string& ip) {
  return table.find("dnat to " + ip + ":8080") != std::string::npos;
}

// Services, each with its EndpointSlice (or none).
using Objects = std::vector<std::pair<Json, std::shared_ptr<const Json>>>;

void feed(Proxier& proxier, const Objects& objects) {
  for (const auto& [svc, sl] : objects) {
    proxier.serviceChanged(shared(svc));
    if (sl) proxier.sliceChanged(sl);
  }
}

// ---------------------------------------------------------------------------
// Kernel acceptance of the scripts.

// Parameter: the writer, "netlink" (the agent's) or "nftables" (nft text
// through libnftables, the reference).
class ProxyKernel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs root (network namespaces, nftables)";
    node_ = &namespaces_.make("node");
    proxier_ = makeProxier();
    ASSERT_NE(proxier_, nullptr);
  }

  std::shared_ptr<RulesetWriter> makeWriter(const std::string& kind) {
    if (kind == "netlink") {
      auto writer = net::runInNetns(*node_, [] { return NetlinkWriter::open(); });
      if (!writer) {
        ADD_FAILURE() << writer.error().message;
        return nullptr;
      }
      return std::make_shared<NetlinkWriter>(std::move(*writer));
    }
    auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
    if (!nft) {
      ADD_FAILURE() << nft.error().message;
      return nullptr;
    }
    return std::make_shared<NftablesWriter>(std::move(*nft));
  }

  // A Proxier writing with the test's writer, or with `kind`.
  std::unique_ptr<Proxier> makeProxier(size_t servicesPerTable = 1000, std::string kind = "") {
    auto writer = makeWriter(kind.empty() ? GetParam() : kind);
    if (!writer) return nullptr;
    ProxierConfig config;
    config.nodeName = "node-1";
    config.clusterCidrs = {"10.244.0.0/16"};
    config.servicesPerTable = servicesPerTable;
    return std::make_unique<Proxier>(config, writer);
  }

  // `nft list table`, its blocks (maps, sets, chains) sorted: a table built
  // in another order lists them in another order.
  std::string sortedListing(const std::string& family = "ip") {
    std::string listing = listTable("podnet-proxy", family);
    std::vector<std::string> blocks;
    size_t start = 0;
    while (true) {
      size_t end = listing.find("\n\n", start);
      blocks.push_back(listing.substr(start, end == std::string::npos ? end : end - start));
      if (end == std::string::npos) break;
      start = end + 2;
    }
    std::sort(blocks.begin(), blocks.end());
    std::string out;
    for (const auto& b : blocks) out += b + "\n\n";
    return out;
  }

  // The kernel's bytecode of every rule of a table, grouped by chain (in
  // name order; a chain's rules in their order), so two tables built in a
  // different order compare equal when they hold the same rules.
  std::string dumpRules(const std::string& table = "podnet-proxy",
                        net::NftFamily family = net::NftFamily::ip) {
    auto socket = net::runInNetns(*node_, [] { return net::NftSocket::open(); });
    if (!socket) return "open: " + socket.error().message;
    auto dump = socket->dumpRules(family, table);
    if (!dump) return "dump: " + dump.error().message;
    std::map<std::string, std::string> chains;
    std::istringstream in(*dump);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string family, tableName, chain;
      words >> family >> tableName >> chain;
      chains[chain] += line + "\n";
    }
    std::string out;
    for (const auto& [chain, rules] : chains) out += rules;
    return out;
  }

  std::string listTable(const std::string& name = "podnet-proxy",
                        const std::string& family = "ip") {
    auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
    if (!nft) return "open: " + nft.error().message;
    auto out = nft->query("list table " + family + " " + name);
    return out ? *out : "query: " + out.error().message;
  }

  Namespaces namespaces_;
  const net::NetnsHandle* node_ = nullptr;
  std::unique_ptr<Proxier> proxier_;
};

TEST_P(ProxyKernel, EveryKindOfServiceIsAcceptedAndChangesApplyIncrementally) {
  Proxier& p = *proxier_;
  // ClusterIP, 2 endpoints.
  p.serviceChanged(shared(service("web", clusterIpSpec("10.96.0.10"))));
  p.sliceChanged(
      slice("web", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2")}));
  // NodePort, eTP Local.
  Json np = clusterIpSpec("10.96.0.11");
  np["type"] = "NodePort";
  np["ports"][0]["nodePort"] = 30080;
  np["externalTrafficPolicy"] = "Local";
  p.serviceChanged(shared(service("np", np)));
  p.sliceChanged(slice("np", {endpoint("10.244.1.3", "node-1"), endpoint("10.244.2.3", "node-2")}));
  // LoadBalancer with source ranges and an externalIP.
  Json lbSpec = clusterIpSpec("10.96.0.12");
  lbSpec["type"] = "LoadBalancer";
  lbSpec["ports"][0]["nodePort"] = 30081;
  lbSpec["loadBalancerSourceRanges"] = {"172.30.0.0/28", "192.168.7.0/24"};
  lbSpec["externalIPs"] = {"198.51.100.7"};
  Json lb = service("lb", lbSpec);
  lb["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}}}}}}};
  p.serviceChanged(shared(lb));
  p.sliceChanged(slice("lb", {endpoint("10.244.1.4", "node-1")}));
  // Session affinity, iTP Local.
  Json aff = clusterIpSpec("10.96.0.13");
  aff["sessionAffinity"] = "ClientIP";
  aff["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 600}}}};
  aff["internalTrafficPolicy"] = "Local";
  p.serviceChanged(shared(service("aff", aff)));
  p.sliceChanged(
      slice("aff", {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2")}));
  // UDP, and a Service without endpoints.
  p.serviceChanged(shared(service("dns", clusterIpSpec("10.96.0.14", "UDP"))));
  p.sliceChanged(slice("dns", {endpoint("10.244.1.6", "node-1")}, "UDP"));
  p.serviceChanged(shared(service("empty", clusterIpSpec("10.96.0.15"))));

  ASSERT_OK(p.sync());
  EXPECT_TRUE(p.lastSync().full);
  std::string table = listTable();
  for (const char* expected :
       {"10.96.0.10 . 6 . 80", "10.96.0.11 . 6 . 80", "10.96.0.12 . 6 . 80",
        "172.30.0.200 . 6 . 80", "198.51.100.7 . 6 . 80", "10.96.0.13 . 6 . 80",
        "10.96.0.14 . 17 . 80", "10.96.0.15 . 6 . 80", "6 . 30080", "6 . 30081", "172.30.0.0/28",
        "192.168.7.0/24", "timeout 10m"})
    EXPECT_NE(table.find(expected), std::string::npos) << expected << " missing in\n" << table;
  for (const char* pod : {"10.244.1.2", "10.244.2.2", "10.244.1.3", "10.244.2.3", "10.244.1.4",
                          "10.244.1.5", "10.244.1.6"})
    EXPECT_TRUE(dnatsTo(table, pod)) << pod << " missing in\n" << table;
  EXPECT_FALSE(dnatsTo(table, "10.244.2.5")) << "internalTrafficPolicy Local: node-2's endpoint";
  // Only the load balancer's ports are kept for the agent to announce; every
  // Service's endpoints are counted.
  auto kept = p.servicePorts();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.begin()->first, "default/lb");
  EXPECT_EQ(kept.begin()->second.at(0).loadBalancerIps, std::vector<std::string>{"172.30.0.200"});
  metrics::Writer counted;
  p.writeMetrics(counted);
  EXPECT_NE(counted.text().find("\npodnet_proxy_endpoints 8\n"), std::string::npos)
      << counted.text();

  // Scale web up to 3 endpoints.
  p.sliceChanged(slice("web", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2"),
                               endpoint("10.244.1.7", "node-1")}));
  ASSERT_OK(p.sync());
  EXPECT_FALSE(p.lastSync().full);
  EXPECT_EQ(p.lastSync().servicesCompiled, 1u);
  table = listTable();
  EXPECT_TRUE(dnatsTo(table, "10.244.1.7")) << table;

  // One endpoint becomes not-ready; then scale down to one.
  p.sliceChanged(
      slice("web", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2", false),
                    endpoint("10.244.1.7", "node-1")}));
  ASSERT_OK(p.sync());
  table = listTable();
  EXPECT_FALSE(dnatsTo(table, "10.244.2.2")) << table;
  EXPECT_TRUE(dnatsTo(table, "10.244.1.7")) << table;
  p.sliceChanged(slice("web", {endpoint("10.244.1.2", "node-1")}));
  ASSERT_OK(p.sync());
  table = listTable();
  EXPECT_FALSE(dnatsTo(table, "10.244.1.7")) << table;
  EXPECT_TRUE(dnatsTo(table, "10.244.1.2")) << table;

  // The affinity timeout changes.
  aff["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 30}}}};
  p.serviceChanged(shared(service("aff", aff)));
  ASSERT_OK(p.sync());
  table = listTable();
  EXPECT_NE(table.find("timeout 30s"), std::string::npos) << table;
  EXPECT_EQ(table.find("timeout 10m"), std::string::npos) << table;

  // A Service is deleted: its address and chains go.
  p.serviceDeleted(service("lb", lbSpec));
  ASSERT_OK(p.sync());
  table = listTable();
  for (const char* gone : {"10.96.0.12 . 6 . 80", "172.30.0.200", "198.51.100.7", "6 . 30081",
                           "10.244.1.4", "192.168.7.0/24"})
    EXPECT_EQ(table.find(gone), std::string::npos) << gone << " still in\n" << table;

  // The empty Service gets an endpoint: it leaves the no-endpoint map.
  p.sliceChanged(slice("empty", {endpoint("10.244.2.9", "node-2")}));
  ASSERT_OK(p.sync());
  table = listTable();
  EXPECT_TRUE(dnatsTo(table, "10.244.2.9")) << table;

  // An agent restart: a new Proxier fed the same objects replaces the table
  // atomically with the same content. It writes nft text (the reference):
  // for the netlink writer this checks its encoding, rule by rule, against
  // nft's.
  std::string rules = dumpRules();
  std::unique_ptr<Proxier> restarted = makeProxier(1000, "nftables");
  ASSERT_NE(restarted, nullptr);
  restarted->serviceChanged(shared(service("web", clusterIpSpec("10.96.0.10"))));
  restarted->sliceChanged(slice("web", {endpoint("10.244.1.2", "node-1")}));
  restarted->serviceChanged(shared(service("np", np)));
  restarted->sliceChanged(
      slice("np", {endpoint("10.244.1.3", "node-1"), endpoint("10.244.2.3", "node-2")}));
  restarted->serviceChanged(shared(service("aff", aff)));
  restarted->sliceChanged(
      slice("aff", {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2")}));
  restarted->serviceChanged(shared(service("dns", clusterIpSpec("10.96.0.14", "UDP"))));
  restarted->sliceChanged(slice("dns", {endpoint("10.244.1.6", "node-1")}, "UDP"));
  restarted->serviceChanged(shared(service("empty", clusterIpSpec("10.96.0.15"))));
  restarted->sliceChanged(slice("empty", {endpoint("10.244.2.9", "node-2")}));
  ASSERT_OK(restarted->sync());
  EXPECT_TRUE(restarted->lastSync().full);
  EXPECT_EQ(listTable(), table);
  EXPECT_EQ(dumpRules(), rules);
}

// Every kind of rule, written one Service at a time (incremental syncs),
// leaves the same table, rule for rule, as a full sync of the same Services
// (nft text through libnftables): the netlink encoding means what nft means.
TEST_P(ProxyKernel, IncrementalChangesLeaveWhatAFullSyncWrites) {
  Objects objects;
  Json np = clusterIpSpec("10.96.0.11");
  np["type"] = "NodePort";
  np["ports"][0]["nodePort"] = 30080;
  np["externalTrafficPolicy"] = "Local";
  objects.emplace_back(service("np", np), slice("np", {endpoint("10.244.1.3", "node-1"),
                                                       endpoint("10.244.2.3", "node-2")}));
  Json lbSpec = clusterIpSpec("10.96.0.12");
  lbSpec["type"] = "LoadBalancer";
  lbSpec["ports"][0]["nodePort"] = 30081;
  lbSpec["loadBalancerSourceRanges"] = {"192.168.7.0/24", "172.30.0.0/28", "172.30.0.16/28",
                                        "10.1.2.3/32"};
  lbSpec["externalIPs"] = {"198.51.100.7"};
  Json lb = service("lb", lbSpec);
  lb["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}}}}}}};
  objects.emplace_back(
      lb, slice("lb", {endpoint("10.244.1.4", "node-1"), endpoint("10.244.2.4", "node-2"),
                       endpoint("10.244.3.4", "node-3")}));
  Json lbOne = lbSpec;
  lbOne["clusterIP"] = "10.96.0.17";
  lbOne["clusterIPs"] = {"10.96.0.17"};
  lbOne["ports"][0]["nodePort"] = 30082;
  lbOne["loadBalancerSourceRanges"] = {"203.0.113.0/25"};
  lbOne["externalIPs"] = Json::array();
  Json lb1 = service("lb1", lbOne);
  lb1["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.201"}}}}}}};
  objects.emplace_back(lb1, slice("lb1", {endpoint("10.244.1.8", "node-1")}));
  Json aff = clusterIpSpec("10.96.0.13");
  aff["sessionAffinity"] = "ClientIP";
  aff["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 600}}}};
  objects.emplace_back(service("aff", aff), slice("aff", {endpoint("10.244.1.5", "node-1"),
                                                          endpoint("10.244.2.5", "node-2")}));
  Json itp = clusterIpSpec("10.96.0.16");
  itp["internalTrafficPolicy"] = "Local";
  objects.emplace_back(service("itp", itp), slice("itp", {endpoint("10.244.2.6", "node-2")}));
  objects.emplace_back(service("dns", clusterIpSpec("10.96.0.14", "UDP")),
                       slice("dns", {endpoint("10.244.1.6", "node-1")}, "UDP"));
  objects.emplace_back(service("empty", clusterIpSpec("10.96.0.15")), nullptr);
  objects.emplace_back(
      service("web", clusterIpSpec("10.96.0.10")),
      slice("web", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2"),
                    endpoint("10.244.1.7", "node-1"), endpoint("10.244.3.2", "node-3")}));

  Proxier& p = *proxier_;
  ASSERT_OK(p.sync());  // the empty table, in full
  for (const auto& [svc, sl] : objects) {
    p.serviceChanged(shared(svc));
    if (sl) p.sliceChanged(sl);
    ASSERT_OK(p.sync());
    EXPECT_FALSE(p.lastSync().full);
  }
  std::string table = sortedListing();
  std::string rules = dumpRules();
  EXPECT_NE(table.find("ip saddr { 10.1.2.3, 172.30.0.0/27, 192.168.7.0/24 }"), std::string::npos)
      << table;
  EXPECT_NE(rules.find("dnat"), std::string::npos) << rules;

  std::unique_ptr<Proxier> full = makeProxier(1000, "nftables");
  ASSERT_NE(full, nullptr);
  feed(*full, objects);
  ASSERT_OK(full->sync());
  EXPECT_TRUE(full->lastSync().full);
  EXPECT_EQ(sortedListing(), table);
  EXPECT_EQ(dumpRules(), rules);

  // And a full sync through the test's writer writes the same, in both
  // families (the ip6 table holds its base program and a v6 Service).
  Json v6 = {{"clusterIP", "fd00:10:96::5"},
             {"clusterIPs", {"fd00:10:96::5"}},
             {"ipFamilies", {"IPv6"}},
             {"ports", {{{"name", "p"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}}}};
  Json v6Slice = *slice("v6", {endpoint("fd00:10:244:1::5", "node-1")});
  v6Slice["addressType"] = "IPv6";
  objects.emplace_back(service("v6", v6), std::make_shared<const Json>(v6Slice));
  std::map<std::string, std::string> reference;
  for (std::string kind : {std::string("nftables"), GetParam()}) {
    std::unique_ptr<Proxier> writer = makeProxier(1000, kind);
    ASSERT_NE(writer, nullptr);
    feed(*writer, objects);
    ASSERT_OK(writer->sync());
    EXPECT_TRUE(writer->lastSync().full);
    std::map<std::string, std::string> got = {
        {"ip listing", sortedListing("ip")},
        {"ip6 listing", sortedListing("ip6")},
        {"ip rules", dumpRules("podnet-proxy", net::NftFamily::ip)},
        {"ip6 rules", dumpRules("podnet-proxy", net::NftFamily::ip6)}};
    EXPECT_NE(got["ip6 rules"].find("dnat"), std::string::npos) << got["ip6 rules"];
    if (reference.empty()) {
      reference = got;
      continue;
    }
    for (const auto& [what, text] : reference) EXPECT_EQ(got[what], text) << what;
  }
}

// Services are spread over more tables as they grow and fewer as they go;
// each new table count replaces the old tables in one full sync, and a
// Service's changes afterwards touch only its own table.
TEST_P(ProxyKernel, TablesGrowAndShrinkWithTheServices) {
  proxier_ = makeProxier(2);
  ASSERT_NE(proxier_, nullptr);
  Proxier& p = *proxier_;
  auto tables = [&] {
    auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
    if (!nft) return std::string("open: ") + nft.error().message;
    auto out = nft->query("list tables");
    return out ? *out : "query: " + out.error().message;
  };
  auto add = [&](int i) {
    std::string name = "s" + std::to_string(i);
    p.serviceChanged(shared(service(name, clusterIpSpec("10.96.1." + std::to_string(i)))));
    p.sliceChanged(slice(name, {endpoint("10.244.1." + std::to_string(i), "node-1")}));
  };
  add(1);
  ASSERT_OK(p.sync());
  EXPECT_EQ(p.lastSync().tables, 1u);
  EXPECT_EQ(tables(), "table ip podnet-proxy\ntable ip6 podnet-proxy\n");

  for (int i = 2; i <= 7; ++i) add(i);
  ASSERT_OK(p.sync());
  EXPECT_TRUE(p.lastSync().full);
  EXPECT_EQ(p.lastSync().tables, 4u);
  std::string listed = tables();
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(listed.find("table ip podnet-proxy-" + std::to_string(i) + "\n"), std::string::npos)
        << listed;
  EXPECT_EQ(listed.find("table ip podnet-proxy\n"), std::string::npos) << listed;
  // Each Service is in exactly one table.
  std::string all;
  for (int i = 0; i < 4; ++i) all += listTable("podnet-proxy-" + std::to_string(i));
  for (int i = 1; i <= 7; ++i) {
    std::string key = "10.96.1." + std::to_string(i) + " . 6 . 80";
    size_t first = all.find(key);
    EXPECT_NE(first, std::string::npos) << key;
    EXPECT_EQ(all.find(key, first + 1), std::string::npos) << key;
  }

  // A change to one Service is incremental.
  p.sliceChanged(slice("s3", {endpoint("10.244.2.3", "node-2")}));
  ASSERT_OK(p.sync());
  EXPECT_FALSE(p.lastSync().full);
  all.clear();
  for (int i = 0; i < 4; ++i) all += listTable("podnet-proxy-" + std::to_string(i));
  EXPECT_TRUE(dnatsTo(all, "10.244.2.3")) << all;
  EXPECT_FALSE(dnatsTo(all, "10.244.1.3")) << all;

  // Down to one Service: back to one table, the four others gone.
  for (int i = 2; i <= 7; ++i)
    p.serviceDeleted(service("s" + std::to_string(i), clusterIpSpec("10.96.1.1")));
  ASSERT_OK(p.sync());
  EXPECT_TRUE(p.lastSync().full);
  EXPECT_EQ(p.lastSync().tables, 1u);
  EXPECT_EQ(tables(), "table ip podnet-proxy\ntable ip6 podnet-proxy\n");
  EXPECT_TRUE(dnatsTo(listTable(), "10.244.1.1"));
}

TEST_P(ProxyKernel, AFailedTransactionMakesTheNextSyncFull) {
  Proxier& p = *proxier_;
  p.serviceChanged(shared(service("web", clusterIpSpec("10.96.0.10"))));
  p.sliceChanged(slice("web", {endpoint("10.244.1.2", "node-1")}));
  ASSERT_OK(p.sync());
  // Someone deletes the table behind the proxy's back: the next incremental
  // sync fails as a whole...
  auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
  ASSERT_OK(nft);
  ASSERT_OK(nft->run("delete table ip podnet-proxy\n"));
  p.sliceChanged(slice("web", {endpoint("10.244.1.3", "node-1")}));
  EXPECT_FALSE(p.sync().ok());
  // ...and the one after is a full sync that restores everything.
  ASSERT_OK(p.sync());
  EXPECT_TRUE(p.lastSync().full);
  std::string after = listTable();
  EXPECT_TRUE(dnatsTo(after, "10.244.1.3")) << after;
  EXPECT_NE(after.find("10.96.0.10 . 6 . 80"), std::string::npos) << after;
}

// ---------------------------------------------------------------------------
// Real traffic.

// Traffic through Services spread one per table (servicesPerTable 1), so a
// connection crosses the hooks of several tables, as at scale.
class ProxyTraffic : public ProxyKernel {
 protected:
  void SetUp() override {
    ProxyKernel::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    proxier_ = makeProxier(1);
    ASSERT_NE(proxier_, nullptr);
    namespaces_.make("client");
    namespaces_.make("srv1");
    namespaces_.make("srv2");
    // client 10.244.9.2 -- node, srv1 10.244.1.2 -- node, srv2 10.244.2.2 -- node.
    struct Leg {
      std::string ns, subnet;
    };
    for (const Leg& leg :
         {Leg{"client", "10.244.9"}, Leg{"srv1", "10.244.1"}, Leg{"srv2", "10.244.2"}}) {
      std::string node = prefixed("node"), peer = prefixed(leg.ns);
      ASSERT_TRUE(
          ip("-n " + node + " link add n-" + leg.ns + " type veth peer name eth0 netns " + peer));
      ASSERT_TRUE(ip("-n " + node + " addr add " + leg.subnet + ".1/24 dev n-" + leg.ns));
      ASSERT_TRUE(ip("-n " + node + " link set n-" + leg.ns + " up"));
      ASSERT_TRUE(ip("-n " + peer + " addr add " + leg.subnet + ".2/24 dev eth0"));
      ASSERT_TRUE(ip("-n " + peer + " link set eth0 up"));
      ASSERT_TRUE(ip("-n " + peer + " link set lo up"));
      ASSERT_TRUE(ip("-n " + peer + " route add default via " + leg.subnet + ".1"));
    }
    ASSERT_TRUE(ip("-n " + prefixed("node") + " link set lo up"));
    ASSERT_OK(net::writeSysctlIn(*node_, "net/ipv4/ip_forward", "1"));
    srv1_ = std::make_unique<EchoServer>(namespaces_["srv1"], "10.244.1.2");
    srv2_ = std::make_unique<EchoServer>(namespaces_["srv2"], "10.244.2.2");
    ASSERT_TRUE(srv1_->ok() && srv2_->ok());
  }

  std::unique_ptr<EchoServer> srv1_, srv2_;
};

TEST_P(ProxyTraffic, ClusterIpReachesEveryEndpointKeepsTheClientIpAndRefusesWhenEmpty) {
  Proxier& p = *proxier_;
  const auto& client = namespaces_["client"];
  p.serviceChanged(shared(service("web", clusterIpSpec("10.96.0.10"))));
  p.sliceChanged(
      slice("web", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2")}));
  p.serviceChanged(shared(service("dns", clusterIpSpec("10.96.0.11", "UDP"))));
  p.sliceChanged(
      slice("dns", {endpoint("10.244.1.2", "node-1"), endpoint("10.244.2.2", "node-2")}, "UDP"));
  p.serviceChanged(shared(service("empty", clusterIpSpec("10.96.0.12"))));
  ASSERT_OK(p.sync());

  // Direct first: the topology itself works.
  Reply direct = tcpRequest(client, "10.244.1.2", 8080);
  ASSERT_EQ(direct.error, 0) << strerror(direct.error);
  EXPECT_EQ(direct.text, "10.244.1.2 10.244.9.2");

  std::map<std::string, int> answered;
  for (int i = 0; i < 40; ++i) {
    Reply r = tcpRequest(client, "10.96.0.10", 80);
    ASSERT_EQ(r.error, 0) << "connection " << i << ": " << strerror(r.error);
    auto space = r.text.find(' ');
    ASSERT_NE(space, std::string::npos) << r.text;
    EXPECT_EQ(r.text.substr(space + 1), "10.244.9.2") << "no SNAT for pod traffic";
    answered[r.text.substr(0, space)]++;
  }
  EXPECT_EQ(answered.size(), 2u) << "both endpoints answer over 40 connections";

  Reply udp = udpRequest(client, "10.96.0.11", 80);
  ASSERT_EQ(udp.error, 0) << strerror(udp.error);
  EXPECT_TRUE(udp.text == "10.244.1.2 10.244.9.2" || udp.text == "10.244.2.2 10.244.9.2")
      << udp.text;

  Reply refused = tcpRequest(client, "10.96.0.12", 80);
  EXPECT_EQ(refused.error, ECONNREFUSED) << strerror(refused.error);

  // Scale to one endpoint: every new connection goes there.
  p.sliceChanged(slice("web", {endpoint("10.244.2.2", "node-2")}));
  ASSERT_OK(p.sync());
  for (int i = 0; i < 20; ++i) {
    Reply r = tcpRequest(client, "10.96.0.10", 80);
    ASSERT_EQ(r.error, 0) << strerror(r.error);
    EXPECT_EQ(r.text, "10.244.2.2 10.244.9.2");
  }
  // And to none: refused at once.
  p.sliceChanged(slice("web", Json::array()));
  ASSERT_OK(p.sync());
  EXPECT_EQ(tcpRequest(client, "10.96.0.10", 80).error, ECONNREFUSED);
}

INSTANTIATE_TEST_SUITE_P(Writers, ProxyKernel, ::testing::Values("netlink", "nftables"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Writers, ProxyTraffic, ::testing::Values("netlink", "nftables"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace podnet::proxy
