// The Services -> nftables compiler, checked by meaning: packets traced
// through the compiled program (trace.h), plus the shape of incremental
// transactions. No root, no kernel.
#include "proxy/compiler.h"

#include <gtest/gtest.h>

#include <map>

#include "client/transforms.h"
#include "proxy/program_state.h"
#include "proxy/service_port.h"
#include "proxy/trace.h"

namespace podnet::proxy {
namespace {

const std::string kNodeIp = "172.30.0.11";
const std::string kPodOnNode1 = "10.244.1.5";
const std::string kHost = "172.30.0.1";

Json service(const std::string& name, Json spec) {
  Json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec", std::move(spec)}};
  return svc;
}

Json endpoint(const std::string& ip, const std::string& node, bool ready = true,
              bool terminating = false) {
  return {{"addresses", {ip}},
          {"nodeName", node},
          {"conditions",
           {{"ready", ready}, {"serving", ready || terminating}, {"terminating", terminating}}}};
}

std::shared_ptr<const Json> slice(const std::string& service, Json endpoints, Json ports) {
  return std::make_shared<const Json>(
      Json{{"metadata",
            {{"name", service + "-abc"},
             {"namespace", "default"},
             {"labels", {{"kubernetes.io/service-name", service}}}}},
           {"addressType", "IPv4"},
           {"endpoints", std::move(endpoints)},
           {"ports", std::move(ports)}});
}

Json httpPorts() { return Json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}); }

struct Fixture {
  CompilerConfig config{Family::v4, "node-1", {"10.244.0.0/16"}};
  ProgramState state{TableConfig{}, /*keepRules=*/true};

  std::string apply(const Json& svc, const std::vector<std::shared_ptr<const Json>>& slices) {
    // What the agent's informers cache (client/transforms.h) is all the
    // compiler reads: every case here compiles the same from compact objects.
    Json compactService = svc;
    client::keepServiceRouting(compactService);
    std::vector<std::shared_ptr<const Json>> compactSlices;
    for (const auto& slice : slices) {
      Json copy = *slice;
      client::keepEndpointSliceRouting(copy);
      compactSlices.push_back(std::make_shared<const Json>(std::move(copy)));
    }
    EXPECT_EQ(servicePortsOf(compactService, compactSlices), servicePortsOf(svc, slices));
    Transaction tx = state.newTransaction();
    state.update("default/" + svc["metadata"]["name"].get<std::string>(),
                 compileService(config, servicePortsOf(svc, slices)), &tx);
    return tx.script();
  }
  Trace trace(const std::string& from, const std::string& to, int port,
              const std::string& proto = "tcp", size_t choice = 0) {
    Packet p{from, to, proto, port, {kNodeIp, "127.0.0.1"}};
    return tracePacket(state, p, nullptr, [choice](size_t n) { return choice % n; });
  }
};

Json webSpec() {
  return {{"clusterIP", "10.96.0.20"},
          {"clusterIPs", {"10.96.0.20"}},
          {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}}}};
}

TEST(ProxyCompiler, ClusterIpBalancesOverReadyEndpointsWithoutNat) {
  Fixture f;
  f.apply(service("web", webSpec()),
          {slice("web",
                 {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2"),
                  endpoint("10.244.3.5", "node-3"), endpoint("10.244.3.6", "node-3", false)},
                 httpPorts())});
  Trace t = f.trace("10.244.2.9", "10.96.0.20", 80);
  ASSERT_TRUE(t.dnat);
  EXPECT_EQ(t.verdict, Verdict::accept);
  EXPECT_FALSE(t.masquerade) << "pod-to-Service traffic keeps the client's pod IP";
  std::vector<DnatTarget> expected = {
      {"10.244.1.5", 8080}, {"10.244.2.5", 8080}, {"10.244.3.5", 8080}};
  EXPECT_EQ(t.candidates, expected) << "the not-ready endpoint is left out";
  std::set<std::string> reached;
  for (size_t i = 0; i < 3; ++i)
    reached.insert(f.trace("10.244.2.9", "10.96.0.20", 80, "tcp", i).destination.ip);
  EXPECT_EQ(reached.size(), 3u);
}

TEST(ProxyCompiler, TrafficFromOutsideThePodRangeIsMasqueraded) {
  Fixture f;
  f.apply(service("web", webSpec()),
          {slice("web", {endpoint("10.244.2.5", "node-2")}, httpPorts())});
  Trace t = f.trace(kNodeIp, "10.96.0.20", 80);
  ASSERT_TRUE(t.dnat);
  EXPECT_TRUE(t.masquerade);
}

TEST(ProxyCompiler, AnEndpointReachingItselfIsMasqueraded) {
  Fixture f;
  f.apply(service("web", webSpec()),
          {slice("web", {endpoint(kPodOnNode1, "node-1")}, httpPorts())});
  Trace t = f.trace(kPodOnNode1, "10.96.0.20", 80);
  ASSERT_TRUE(t.dnat);
  EXPECT_EQ(t.destination.ip, kPodOnNode1);
  EXPECT_TRUE(t.masquerade) << "hairpin";
}

TEST(ProxyCompiler, NoEndpointsRejectsAtOnceAndOtherPortsAreUntouched) {
  Fixture f;
  f.apply(service("web", webSpec()), {});
  EXPECT_EQ(f.trace("10.244.2.9", "10.96.0.20", 80).verdict, Verdict::reject);
  Trace other = f.trace("10.244.2.9", "10.96.0.20", 81);
  EXPECT_EQ(other.verdict, Verdict::accept);
  EXPECT_FALSE(other.dnat);
  EXPECT_EQ(f.trace("10.244.2.9", "10.96.0.20", 80, "udp").verdict, Verdict::accept);
}

TEST(ProxyCompiler, TerminatingServingEndpointsAreTheFallback) {
  Fixture f;
  f.apply(service("web", webSpec()), {slice("web",
                                            {endpoint("10.244.1.5", "node-1", false, true),
                                             endpoint("10.244.1.6", "node-1", false, false)},
                                            httpPorts())});
  Trace t = f.trace("10.244.2.9", "10.96.0.20", 80);
  ASSERT_TRUE(t.dnat);
  EXPECT_EQ(t.candidates, (std::vector<DnatTarget>{{"10.244.1.5", 8080}}));
}

Json nodePortSpec(const std::string& policy) {
  Json spec = webSpec();
  spec["type"] = "NodePort";
  spec["ports"][0]["nodePort"] = 30080;
  spec["externalTrafficPolicy"] = policy;
  return spec;
}

TEST(ProxyCompiler, NodePortClusterPolicyReachesEveryEndpointMasqueraded) {
  Fixture f;
  f.apply(service("web", nodePortSpec("Cluster")),
          {slice("web", {endpoint("10.244.2.5", "node-2"), endpoint("10.244.3.5", "node-3")},
                 httpPorts())});
  Trace t = f.trace(kHost, kNodeIp, 30080);
  ASSERT_TRUE(t.dnat);
  EXPECT_EQ(t.candidates.size(), 2u);
  EXPECT_TRUE(t.masquerade);
  EXPECT_FALSE(f.trace(kHost, "10.0.0.99", 30080).dnat) << "only this node's addresses";
  EXPECT_FALSE(f.trace(kHost, "127.0.0.1", 30080).dnat) << "no NodePorts on loopback";
}

TEST(ProxyCompiler, ExternalTrafficPolicyLocalKeepsTheClientAddress) {
  Fixture f;
  f.apply(service("web", nodePortSpec("Local")),
          {slice("web", {endpoint("10.244.1.5", "node-1"), endpoint("10.244.3.5", "node-3")},
                 httpPorts())});
  Trace external = f.trace(kHost, kNodeIp, 30080);
  ASSERT_TRUE(external.dnat);
  EXPECT_FALSE(external.masquerade);
  EXPECT_EQ(external.candidates, (std::vector<DnatTarget>{{"10.244.1.5", 8080}}));
  Trace fromPod = f.trace("10.244.2.9", kNodeIp, 30080);
  EXPECT_EQ(fromPod.candidates.size(), 2u) << "pods still reach every endpoint";
  Trace fromNode = f.trace(kNodeIp, kNodeIp, 30080);
  EXPECT_TRUE(fromNode.masquerade);
  EXPECT_EQ(fromNode.candidates.size(), 2u);

  f.apply(service("web", nodePortSpec("Local")),
          {slice("web", {endpoint("10.244.3.5", "node-3")}, httpPorts())});
  EXPECT_EQ(f.trace(kHost, kNodeIp, 30080).verdict, Verdict::drop) << "no local endpoint";
}

TEST(ProxyCompiler, LoadBalancerSourceRangesFilterClients) {
  Fixture f;
  Json svc = service("web", nodePortSpec("Cluster"));
  svc["spec"]["type"] = "LoadBalancer";
  svc["spec"]["loadBalancerSourceRanges"] = {"172.30.0.0/28"};
  svc["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}, {"ipMode", "VIP"}}}}}}};
  f.apply(svc, {slice("web", {endpoint("10.244.2.5", "node-2")}, httpPorts())});
  EXPECT_TRUE(f.trace(kHost, "172.30.0.200", 80).dnat);
  EXPECT_EQ(f.trace("172.30.0.99", "172.30.0.200", 80).verdict, Verdict::drop);
  EXPECT_TRUE(f.trace("172.30.0.99", kNodeIp, 30080).dnat) << "NodePorts ignore source ranges";
}

TEST(ProxyCompiler, ExternalIpsAreServed) {
  Fixture f;
  Json spec = webSpec();
  spec["externalIPs"] = {"192.0.2.10"};
  f.apply(service("web", spec), {slice("web", {endpoint("10.244.2.5", "node-2")}, httpPorts())});
  Trace t = f.trace(kHost, "192.0.2.10", 80);
  ASSERT_TRUE(t.dnat);
  EXPECT_TRUE(t.masquerade);
}

TEST(ProxyCompiler, InternalTrafficPolicyLocalUsesOnlyLocalEndpoints) {
  Fixture f;
  Json spec = webSpec();
  spec["internalTrafficPolicy"] = "Local";
  f.apply(service("web", spec),
          {slice("web", {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2")},
                 httpPorts())});
  EXPECT_EQ(f.trace("10.244.1.9", "10.96.0.20", 80).candidates,
            (std::vector<DnatTarget>{{"10.244.1.5", 8080}}));
  f.apply(service("web", spec), {slice("web", {endpoint("10.244.2.5", "node-2")}, httpPorts())});
  EXPECT_EQ(f.trace("10.244.1.9", "10.96.0.20", 80).verdict, Verdict::drop);
}

TEST(ProxyCompiler, SessionAffinitySticksToTheFirstChoice) {
  Fixture f;
  Json spec = webSpec();
  spec["sessionAffinity"] = "ClientIP";
  spec["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 60}}}};
  f.apply(service("web", spec),
          {slice("web",
                 {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2"),
                  endpoint("10.244.3.5", "node-3")},
                 httpPorts())});
  AffinityState affinity;
  Packet p{"10.244.2.9", "10.96.0.20", "tcp", 80, {kNodeIp}};
  Trace first = tracePacket(f.state, p, &affinity, [](size_t n) { return n - 1; });
  ASSERT_TRUE(first.dnat);
  for (size_t i = 0; i < 5; ++i) {
    Trace again = tracePacket(f.state, p, &affinity, [i](size_t n) { return i % n; });
    EXPECT_EQ(again.destination, first.destination);
  }
  Packet other = p;
  other.saddr = "10.244.2.10";
  EXPECT_EQ(tracePacket(f.state, other, &affinity, [](size_t) { return 0; }).destination.ip,
            "10.244.1.5");
}

TEST(ProxyCompiler, UdpAndNamedTargetPortsComeFromTheSlice) {
  Fixture f;
  Json spec = {
      {"clusterIP", "10.96.0.10"},
      {"ports",
       {{{"name", "dns"}, {"port", 53}, {"targetPort", "dns"}, {"protocol", "UDP"}},
        {{"name", "dns-tcp"}, {"port", 53}, {"targetPort", "dns-tcp"}, {"protocol", "TCP"}}}}};
  f.apply(service("kube-dns", spec),
          {slice("kube-dns", {endpoint("10.244.1.7", "node-1")},
                 Json::array({{{"name", "dns"}, {"port", 5353}, {"protocol", "UDP"}},
                              {{"name", "dns-tcp"}, {"port", 5354}, {"protocol", "TCP"}}}))});
  EXPECT_EQ(f.trace("10.244.2.9", "10.96.0.10", 53, "udp").destination,
            (DnatTarget{"10.244.1.7", 5353}));
  EXPECT_EQ(f.trace("10.244.2.9", "10.96.0.10", 53, "tcp").destination,
            (DnatTarget{"10.244.1.7", 5354}));
}

TEST(ProxyCompiler, HeadlessAndExternalNameServicesGetNoRules) {
  Fixture f;
  Json headless = webSpec();
  headless["clusterIP"] = "None";
  headless["clusterIPs"] = {"None"};
  EXPECT_EQ(f.apply(service("h", headless),
                    {slice("h", {endpoint("10.244.1.5", "node-1")}, httpPorts())}),
            "");
  Json external = {{"type", "ExternalName"}, {"externalName", "example.com"}};
  EXPECT_EQ(f.apply(service("e", external), {}), "");
  EXPECT_EQ(f.state.serviceCount(), 0u);
}

TEST(ProxyProgramState, AnUnchangedServiceCostsNothingAndAChangeOnlyItself) {
  Fixture f;
  auto slices = std::vector{slice("web", {endpoint("10.244.1.5", "node-1")}, httpPorts())};
  std::string first = f.apply(service("web", webSpec()), slices);
  EXPECT_NE(first.find("add chain ip podnet-proxy service-"), std::string::npos);
  EXPECT_NE(
      first.find("add element ip podnet-proxy service-ips { 10.96.0.20 . tcp . 80 : goto service-"),
      std::string::npos)
      << first;
  EXPECT_EQ(f.apply(service("web", webSpec()), slices), "");

  std::string scaled =
      f.apply(service("web", webSpec()),
              {slice("web", {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2")},
                     httpPorts())});
  EXPECT_NE(scaled.find("flush chain ip podnet-proxy service-"), std::string::npos) << scaled;
  EXPECT_EQ(scaled.find("service-ips"), std::string::npos) << "the dispatch entry did not change";
  EXPECT_NE(scaled.find("add element ip podnet-proxy hairpin { 10.244.2.5 . 10.244.2.5 }"),
            std::string::npos);

  Transaction tx = f.state.newTransaction();
  f.state.update("default/web", {}, &tx);
  std::string removed = tx.script();
  size_t deleteElement = removed.find("delete element ip podnet-proxy service-ips");
  size_t deleteChain = removed.find("delete chain ip podnet-proxy service-");
  ASSERT_NE(deleteElement, std::string::npos) << removed;
  ASSERT_NE(deleteChain, std::string::npos) << removed;
  EXPECT_LT(deleteElement, deleteChain) << "the map entry goes before the chain it points to";
  EXPECT_EQ(f.state.serviceCount(), 0u);
}

// The agent's state keeps a hash per chain, not its rules: every change
// yields the same commands as a state that keeps the rules.
TEST(ProxyProgramState, HashedChainsYieldTheSameTransactionsAsKeptRules) {
  CompilerConfig config{Family::v4, "node-1", {"10.244.0.0/16"}};
  ProgramState kept{TableConfig{}, true};
  ProgramState hashed{TableConfig{}};
  Json affinity = webSpec();
  affinity["sessionAffinity"] = "ClientIP";
  std::vector<std::pair<std::string, ServiceProgram>> steps;
  auto program = [&](const std::string& name, const Json& spec, std::vector<Json> endpoints) {
    return compileService(config, servicePortsOf(service(name, spec),
                                                 {slice(name, std::move(endpoints), httpPorts())}));
  };
  Json otherSpec = webSpec();
  otherSpec["clusterIP"] = "10.96.0.21";
  steps.emplace_back("default/web", program("web", webSpec(), {endpoint("10.244.1.5", "node-1")}));
  steps.emplace_back("default/other",
                     program("other", otherSpec, {endpoint("10.244.1.5", "node-1")}));
  steps.emplace_back("default/web",
                     program("web", webSpec(),
                             {endpoint("10.244.1.5", "node-1"), endpoint("10.244.2.5", "node-2")}));
  steps.emplace_back("default/web", program("web", affinity, {endpoint("10.244.2.5", "node-2")}));
  steps.emplace_back("default/web", program("web", affinity, {endpoint("10.244.2.5", "node-2")}));
  steps.emplace_back("default/web",
                     program("web", webSpec(), {endpoint("10.244.2.5", "node-2", false)}));
  steps.emplace_back("default/other", ServiceProgram{});
  steps.emplace_back("default/web", ServiceProgram{});
  size_t nonEmpty = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    Transaction a = kept.newTransaction(), b = hashed.newTransaction();
    bool changedA = kept.update(steps[i].first, steps[i].second, &a);
    bool changedB = hashed.update(steps[i].first, steps[i].second, &b);
    EXPECT_EQ(changedA, changedB) << "step " << i;
    EXPECT_EQ(a.script(), b.script()) << "step " << i;
    if (!b.empty()) ++nonEmpty;
    EXPECT_EQ(kept.serviceCount(), hashed.serviceCount()) << "step " << i;
  }
  EXPECT_EQ(nonEmpty, steps.size() - 1) << "every step but the repeated one changes something";
  EXPECT_EQ(hashed.serviceCount(), 0u);
  EXPECT_FALSE(hashed.contains(kHairpin, "10.244.2.5 . 10.244.2.5"));
  EXPECT_EQ(hashed.chain("anything"), nullptr);
}

TEST(ProxyProgramState, SharedEntriesBelongToTheirFirstOwner) {
  ProgramState state{TableConfig{}, /*keepRules=*/true};
  ServiceProgram a, b;
  a.maps[kServiceIps]["192.0.2.1 . tcp . 80"] = "goto service-a";
  b.maps[kServiceIps]["192.0.2.1 . tcp . 80"] = "goto service-b";
  a.sets[kHairpin].insert("10.244.1.5 . 10.244.1.5");
  b.sets[kHairpin].insert("10.244.1.5 . 10.244.1.5");
  Transaction tx = state.newTransaction();
  state.update("ns/b", b, &tx);
  state.update("ns/a", a, &tx);
  // Within one transaction only the net change reaches the kernel.
  EXPECT_EQ(tx.script(),
            "add element ip podnet-proxy hairpin { 10.244.1.5 . 10.244.1.5 }\n"
            "add element ip podnet-proxy service-ips { 192.0.2.1 . tcp . 80 : goto service-a }\n");
  Transaction remove = state.newTransaction();
  state.update("ns/a", {}, &remove);
  EXPECT_EQ(remove.script(),
            "delete element ip podnet-proxy service-ips { 192.0.2.1 . tcp . 80 }\n"
            "add element ip podnet-proxy service-ips { 192.0.2.1 . tcp . 80 : goto service-b }\n");
  EXPECT_TRUE(state.contains(kHairpin, "10.244.1.5 . 10.244.1.5"));
}

TEST(ProxyCompiler, Ipv6ServicesCompileIntoTheIp6Table) {
  CompilerConfig config{Family::v6, "node-1", {"fd00:10:244::/56"}};
  ProgramState state{TableConfig{Family::v6}, /*keepRules=*/true};
  Json spec = {{"clusterIPs", {"10.96.0.30", "fd00:10:96::30"}},
               {"ipFamilies", {"IPv4", "IPv6"}},
               {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}};
  auto v6slice =
      std::make_shared<const Json>(Json{{"metadata",
                                         {{"name", "w6"},
                                          {"namespace", "default"},
                                          {"labels", {{"kubernetes.io/service-name", "w"}}}}},
                                        {"addressType", "IPv6"},
                                        {"endpoints", {endpoint("fd00:10:244:1::5", "node-1")}},
                                        {"ports", httpPorts()}});
  Transaction tx = state.newTransaction();
  state.update("default/w", compileService(config, servicePortsOf(service("w", spec), {v6slice})),
               &tx);
  EXPECT_NE(
      tx.script().find("add element ip6 podnet-proxy service-ips { fd00:10:96::30 . tcp . 80"),
      std::string::npos)
      << tx.script();
  Trace t = tracePacket(state, Packet{"fd00:10:244:2::9", "fd00:10:96::30", "tcp", 80, {}});
  ASSERT_TRUE(t.dnat);
  EXPECT_EQ(t.destination, (DnatTarget{"fd00:10:244:1::5", 8080}));
}

TEST(ProxyCompiler, ChainNamesAreStableReadableAndBounded) {
  std::string name = chainName("service-", "default/web/tcp/http");
  EXPECT_EQ(name, chainName("service-", "default/web/tcp/http"));
  EXPECT_EQ(name.rfind("service-", 0), 0u);
  EXPECT_NE(name.find("-default/web/tcp/http"), std::string::npos);
  EXPECT_NE(name, chainName("service-", "default/web/tcp/https"));
  EXPECT_LE(chainName("endpoint-", std::string(400, 'a')).size(), 255u);
  EXPECT_EQ(chainName("e-", "x__fd00::1/80").find(':'), std::string::npos);
}

}  // namespace
}  // namespace podnet::proxy
