// The zone compiler and the query path together, on byte buffers: every
// record type of the Kubernetes DNS specification 1.1.0 and CoreDNS's
// answers where the specification is silent.
#include "dns/zone.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/transforms.h"
#include "dns/dns_main.h"
#include "dns/responder.h"
#include "dns_test_util.h"

namespace podnet::dns {
namespace {

using testing::datas;
using testing::decode;
using ::testing::ElementsAre;
using testing::makeQuery;
using testing::Message;
using ::testing::UnorderedElementsAre;

constexpr const char* kObjects = R"yaml(
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: default}}
- {apiVersion: v1, kind: Namespace, metadata: {name: empty-ns}}
- apiVersion: v1
  kind: Service
  metadata: {name: web, namespace: default}
  spec:
    clusterIP: 10.96.0.20
    clusterIPs: [10.96.0.20]
    ports: [{name: http, port: 80, protocol: TCP}, {port: 81, protocol: TCP}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
  addressType: IPv4
  ports: [{name: http, port: 8080, protocol: TCP}]
  endpoints:
  - {addresses: [10.244.1.5], conditions: {ready: true}}
  - {addresses: [10.244.1.6], conditions: {ready: false}}
- apiVersion: v1
  kind: Service
  metadata: {name: noeps, namespace: default}
  spec: {clusterIP: 10.96.0.21, ports: [{port: 80}]}
- apiVersion: v1
  kind: Service
  metadata: {name: db, namespace: default}
  spec:
    clusterIP: None
    ports: [{name: pg, port: 5432, protocol: TCP}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
  addressType: IPv4
  ports: [{name: pg, port: 5432, protocol: TCP}]
  endpoints:
  - {addresses: [10.244.2.1], hostname: db-0, conditions: {ready: true}}
  - {addresses: [10.244.2.2]}
  - {addresses: [10.244.2.3], conditions: {ready: false}}
- apiVersion: v1
  kind: Service
  metadata: {name: sts, namespace: default}
  spec: {clusterIP: None, publishNotReadyAddresses: true}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: sts-1, namespace: default, labels: {kubernetes.io/service-name: sts}}
  addressType: IPv4
  endpoints:
  - {addresses: [10.244.3.1], conditions: {ready: false}}
- apiVersion: v1
  kind: Service
  metadata: {name: gone, namespace: default}
  spec: {clusterIP: None}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: gone-1, namespace: default, labels: {kubernetes.io/service-name: gone}}
  addressType: IPv4
  endpoints:
  - {addresses: [10.244.4.1], conditions: {ready: false}}
- apiVersion: v1
  kind: Service
  metadata: {name: ext, namespace: default}
  spec: {type: ExternalName, externalName: Example.COM}
- apiVersion: v1
  kind: Service
  metadata: {name: six, namespace: default}
  spec: {clusterIP: "fd00::10", clusterIPs: ["fd00::10"], ports: [{name: dns, port: 53, protocol: UDP}]}
- apiVersion: v1
  kind: Service
  metadata: {name: dual, namespace: default}
  spec: {clusterIP: 10.96.0.30, clusterIPs: [10.96.0.30, "fd00::30"]}
- apiVersion: v1
  kind: Pod
  metadata: {name: p1, namespace: default}
  spec: {hostname: h1, subdomain: db}
  status:
    phase: Running
    podIP: 10.244.1.7
    podIPs: [{ip: 10.244.1.7}, {ip: "fd00:244::7"}]
    conditions: [{type: Ready, status: "True"}]
- apiVersion: v1
  kind: Pod
  metadata: {name: p2, namespace: default}
  spec: {hostname: h2, subdomain: db}
  status: {phase: Running, podIP: 10.244.1.8, conditions: [{type: Ready, status: "False"}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: done, namespace: default}
  status: {phase: Succeeded, podIP: 10.244.1.9}
- apiVersion: v1
  kind: Service
  metadata: {name: broken, namespace: default}
  spec: {clusterIP: 17, ports: "nope"}
- {apiVersion: v1, kind: Service, metadata: {name: 12}, spec: []}
)yaml";

class ZoneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_ = new ZoneConfig();
    config_->reverseCidrs = {*core::Cidr::parse("10.96.0.0/12"),
                             *core::Cidr::parse("10.244.0.0/16")};
    auto objects = parseObjects(kObjects);
    ASSERT_TRUE(objects) << objects.error().message;
    zone_ = compileZone(*config_, *objects);
    authority_ = new Authority(*config_);
  }
  static void TearDownTestSuite() {
    delete authority_;
    delete config_;
    zone_.reset();
  }

  Message ask(const std::string& name, uint16_t qtype, bool edns = false, uint16_t size = 1232,
              bool tcp = false, const Zone* zone = nullptr, bool useZone = true) {
    std::string packet = makeQuery(name, qtype, edns, size);
    return askRaw(packet, tcp, useZone ? (zone ? zone : zone_.get()) : nullptr, &last_);
  }
  Message askRaw(const std::string& packet, bool tcp, const Zone* zone,
                 Outcome* outcome = nullptr) {
    std::vector<uint8_t> out(kMaxMessage);
    Query query;
    Outcome result = answerQuery(*authority_, zone, /*canForward=*/true,
                                 reinterpret_cast<const uint8_t*>(packet.data()), packet.size(),
                                 tcp, query, out.data(), out.size());
    if (outcome) *outcome = result;
    if (result.kind != Outcome::reply) return {};
    return decode(std::string(reinterpret_cast<char*>(out.data()), result.length));
  }

  static ZoneConfig* config_;
  static Authority* authority_;
  static std::shared_ptr<const Zone> zone_;
  Outcome last_;
};
ZoneConfig* ZoneTest::config_;
Authority* ZoneTest::authority_;
std::shared_ptr<const Zone> ZoneTest::zone_;

// What `podnet dns`'s informers cache (client/transforms.h) is all the
// compiler reads: the zone from compact objects is the zone from whole ones.
TEST_F(ZoneTest, CompactObjectsGiveTheSameZone) {
  auto objects = parseObjects(kObjects);
  ASSERT_TRUE(objects);
  auto compact = [](std::vector<client::ObjectPtr>& list, void (*transform)(api::Json&)) {
    for (client::ObjectPtr& object : list) {
      api::Json copy = *object;
      transform(copy);
      object = std::make_shared<const api::Json>(std::move(copy));
    }
  };
  ClusterObjects small = *objects;
  compact(small.services, client::keepServiceRouting);
  compact(small.endpointSlices, client::keepEndpointSliceRouting);
  compact(small.pods, client::keepPodAddressing);
  compact(small.namespaces, client::keepMetadataOnly);
  ZoneConfig config = *config_;
  config.serial = 2026120700;
  auto whole = compileZone(config, *objects);
  auto fromCompact = compileZone(config, small);
  EXPECT_GT(whole->nameCount(), 10u);
  EXPECT_TRUE(whole->identicalTo(*fromCompact));
  // And the comparison can fail: without the Services it is another zone.
  small.services.clear();
  EXPECT_FALSE(whole->identicalTo(*compileZone(config, small)));
}

TEST_F(ZoneTest, ClusterIpServiceA) {
  auto m = ask("web.default.svc.cluster.local", type::A);
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.rcode, rcode::NOERROR);
  EXPECT_TRUE(m.aa());
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_THAT(datas(m.answer), ElementsAre("10.96.0.20"));
  EXPECT_EQ(m.answer[0].ttl, 5u);
  EXPECT_EQ(m.answer[0].name, "web.default.svc.cluster.local.");
}

TEST_F(ZoneTest, NamesAreCaseInsensitiveAndTheQuestionKeepsItsCase) {
  auto m = ask("WEB.Default.Svc.Cluster.Local", type::A);
  EXPECT_THAT(datas(m.answer), ElementsAre("10.96.0.20"));
  EXPECT_EQ(m.questionWire, std::string("\3WEB\7Default\3Svc\7Cluster\5Local\0", 31));
  EXPECT_EQ(m.answer[0].name, "web.default.svc.cluster.local.");  // decoded lowercase
}

TEST_F(ZoneTest, AaaaOnV4ServiceIsNodataWithSoa) {
  auto m = ask("web.default.svc.cluster.local", type::AAAA);
  EXPECT_EQ(m.rcode, rcode::NOERROR);
  EXPECT_TRUE(m.answer.empty());
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].type, type::SOA);
  EXPECT_EQ(m.authority[0].name, "cluster.local.");
  EXPECT_EQ(m.authority[0].ttl, 5u);  // min(ttl, 300)
  EXPECT_TRUE(m.authority[0].data.starts_with("ns.dns.cluster.local. hostmaster.cluster.local. "));
  EXPECT_TRUE(m.authority[0].data.ends_with(" 7200 1800 86400 5"));  // MINIMUM = ttl
  EXPECT_EQ(ask("web.default.svc.cluster.local", type::TXT).rcode, rcode::NOERROR);
  EXPECT_EQ(ask("web.default.svc.cluster.local", type::MX).authority.size(), 1u);
}

TEST_F(ZoneTest, Ipv6AndDualStackServices) {
  EXPECT_THAT(datas(ask("six.default.svc.cluster.local", type::AAAA).answer),
              ElementsAre("fd00::10"));
  EXPECT_TRUE(ask("six.default.svc.cluster.local", type::A).answer.empty());
  EXPECT_THAT(datas(ask("dual.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.96.0.30"));
  EXPECT_THAT(datas(ask("dual.default.svc.cluster.local", type::AAAA).answer),
              ElementsAre("fd00::30"));
  EXPECT_THAT(datas(ask("_dns._udp.six.default.svc.cluster.local", type::SRV).answer),
              ElementsAre("0 100 53 six.default.svc.cluster.local."));
}

TEST_F(ZoneTest, ClusterIpWithoutEndpointsStillAnswers) {
  EXPECT_THAT(datas(ask("noeps.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.96.0.21"));
}

TEST_F(ZoneTest, SrvForNamedPortsWithAdditionalAddress) {
  auto m = ask("_http._tcp.web.default.svc.cluster.local", type::SRV);
  EXPECT_THAT(datas(m.answer), ElementsAre("0 100 80 web.default.svc.cluster.local."));
  EXPECT_THAT(datas(m.additional), ElementsAre("10.96.0.20"));
  // The unnamed port 81 has no _port._proto name; the protocol must match.
  EXPECT_EQ(ask("_http._udp.web.default.svc.cluster.local", type::SRV).rcode, rcode::NXDOMAIN);
  // `_tcp.<svc>` is an empty non-terminal: NODATA.
  auto ent = ask("_tcp.web.default.svc.cluster.local", type::SRV);
  EXPECT_EQ(ent.rcode, rcode::NOERROR);
  EXPECT_TRUE(ent.answer.empty());
  // SRV on the service name itself: every port (CoreDNS), weight 100/N.
  EXPECT_THAT(datas(ask("web.default.svc.cluster.local", type::SRV).answer),
              UnorderedElementsAre("0 50 80 web.default.svc.cluster.local.",
                                   "0 50 81 web.default.svc.cluster.local."));
}

TEST_F(ZoneTest, HeadlessReturnsReadyEndpoints) {
  EXPECT_THAT(datas(ask("db.default.svc.cluster.local", type::A).answer),
              UnorderedElementsAre("10.244.2.1", "10.244.2.2"));
  // p1 (hostname h1, subdomain db, ready) has its own name; p2 is not ready.
  EXPECT_THAT(datas(ask("h1.db.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.244.1.7"));
  EXPECT_THAT(datas(ask("h1.db.default.svc.cluster.local", type::AAAA).answer),
              ElementsAre("fd00:244::7"));
  EXPECT_EQ(ask("h2.db.default.svc.cluster.local", type::A).rcode, rcode::NXDOMAIN);
}

TEST_F(ZoneTest, HeadlessHostnameRecordsUseHostnameOrDashedIp) {
  EXPECT_THAT(datas(ask("db-0.db.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.244.2.1"));
  EXPECT_THAT(datas(ask("10-244-2-2.db.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.244.2.2"));
  EXPECT_EQ(ask("10-244-2-3.db.default.svc.cluster.local", type::A).rcode, rcode::NXDOMAIN);
}

TEST_F(ZoneTest, HeadlessSrvPerEndpointWithAdditionals) {
  auto m = ask("_pg._tcp.db.default.svc.cluster.local", type::SRV);
  EXPECT_THAT(datas(m.answer),
              UnorderedElementsAre("0 50 5432 db-0.db.default.svc.cluster.local.",
                                   "0 50 5432 10-244-2-2.db.default.svc.cluster.local."));
  EXPECT_THAT(datas(m.additional), UnorderedElementsAre("10.244.2.1", "10.244.2.2"));
}

TEST_F(ZoneTest, PublishNotReadyAddressesServesUnreadyEndpoints) {
  EXPECT_THAT(datas(ask("sts.default.svc.cluster.local", type::A).answer),
              ElementsAre("10.244.3.1"));
}

TEST_F(ZoneTest, HeadlessWithoutReadyEndpointsIsNxdomain) {
  auto m = ask("gone.default.svc.cluster.local", type::A);
  EXPECT_EQ(m.rcode, rcode::NXDOMAIN);
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].type, type::SOA);
}

TEST_F(ZoneTest, ExternalNameIsCname) {
  for (uint16_t qtype : {type::A, type::AAAA, type::CNAME}) {
    auto m = ask("ext.default.svc.cluster.local", qtype);
    EXPECT_EQ(m.rcode, rcode::NOERROR);
    ASSERT_EQ(m.answer.size(), 1u);
    EXPECT_EQ(m.answer[0].type, type::CNAME);
    EXPECT_EQ(m.answer[0].data, "example.com.");
  }
}

TEST_F(ZoneTest, PtrForServiceAndEndpointIps) {
  EXPECT_THAT(datas(ask("20.0.96.10.in-addr.arpa", type::PTR).answer),
              ElementsAre("web.default.svc.cluster.local."));
  EXPECT_THAT(datas(ask("1.2.244.10.in-addr.arpa", type::PTR).answer),
              ElementsAre("db-0.db.default.svc.cluster.local."));
  EXPECT_THAT(datas(ask("5.1.244.10.in-addr.arpa", type::PTR).answer),
              ElementsAre("10-244-1-5.web.default.svc.cluster.local."));
  std::string v6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
  EXPECT_THAT(datas(ask(v6, type::PTR).answer), ElementsAre("six.default.svc.cluster.local."));
  // Inside a reverse zone we serve but unknown: NXDOMAIN, not forwarded.
  EXPECT_EQ(ask("99.0.96.10.in-addr.arpa", type::PTR).rcode, rcode::NXDOMAIN);
  // Outside every configured range: upstream.
  ask("1.0.0.127.in-addr.arpa", type::PTR);
  EXPECT_EQ(last_.kind, Outcome::forward);
  ask("10.in-addr.arpa", type::PTR);  // wider than 10.96.0.0/12
  EXPECT_EQ(last_.kind, Outcome::forward);
}

TEST_F(ZoneTest, PodRecordsOnlyForExistingPods) {
  EXPECT_THAT(datas(ask("10-244-1-7.default.pod.cluster.local", type::A).answer),
              ElementsAre("10.244.1.7"));
  EXPECT_THAT(datas(ask("fd00-244--7.default.pod.cluster.local", type::AAAA).answer),
              ElementsAre("fd00:244::7"));
  // A non-canonical spelling of the same address.
  EXPECT_THAT(datas(ask("fd00-0244-0-0-0-0-0-7.default.pod.cluster.local", type::AAAA).answer),
              ElementsAre("fd00:244::7"));
  EXPECT_EQ(ask("10-244-1-7.other.pod.cluster.local", type::A).rcode, rcode::NXDOMAIN);
  EXPECT_EQ(ask("10-244-9-9.default.pod.cluster.local", type::A).rcode, rcode::NXDOMAIN);
  EXPECT_EQ(ask("10-244-1-9.default.pod.cluster.local", type::A).rcode,
            rcode::NXDOMAIN);  // Succeeded
}

TEST_F(ZoneTest, DnsVersionTxt) {
  auto m = ask("dns-version.cluster.local", type::TXT);
  EXPECT_THAT(datas(m.answer), ElementsAre("1.1.0"));
}

TEST_F(ZoneTest, CoreDnsNodataVersusNxdomain) {
  for (const char* name : {"cluster.local", "svc.cluster.local", "pod.cluster.local",
                           "default.svc.cluster.local", "empty-ns.svc.cluster.local"}) {
    auto m = ask(name, type::A);
    EXPECT_EQ(m.rcode, rcode::NOERROR) << name;
    EXPECT_TRUE(m.answer.empty()) << name;
    EXPECT_EQ(m.authority.size(), 1u) << name;
  }
  for (const char* name :
       {"nope.svc.cluster.local", "web.nope.svc.cluster.local", "web.default.xyz.cluster.local",
        "a.b.web.default.svc.cluster.local", "missing.default.svc.cluster.local"}) {
    auto m = ask(name, type::A);
    EXPECT_EQ(m.rcode, rcode::NXDOMAIN) << name;
    ASSERT_EQ(m.authority.size(), 1u) << name;
    EXPECT_EQ(m.authority[0].name, "cluster.local.");
  }
  auto soa = ask("cluster.local", type::SOA);
  EXPECT_EQ(soa.answer.size(), 1u);
}

TEST_F(ZoneTest, ServfailBeforeFirstSyncButForwardingWorks) {
  auto m = ask("web.default.svc.cluster.local", type::A, false, 0, false, nullptr, false);
  EXPECT_EQ(m.rcode, rcode::SERVFAIL);
  ask("example.org", type::A, false, 0, false, nullptr, false);
  EXPECT_EQ(last_.kind, Outcome::forward);
}

TEST_F(ZoneTest, RefusesTransfersAndOtherClasses) {
  EXPECT_EQ(ask("cluster.local", type::AXFR).rcode, rcode::REFUSED);
  EXPECT_EQ(ask("cluster.local", type::IXFR).rcode, rcode::REFUSED);
  std::string chaos = makeQuery("version.bind", type::TXT);
  chaos[chaos.size() - 1] = 3;  // class CH
  EXPECT_EQ(askRaw(chaos, false, zone_.get()).rcode, rcode::REFUSED);
}

TEST_F(ZoneTest, FormerrForGarbageAndNoAnswerForNoHeader) {
  std::string garbage = makeQuery("web.default.svc.cluster.local", type::A);
  garbage.resize(20);
  auto m = askRaw(garbage, false, zone_.get());
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.rcode, rcode::FORMERR);
  Outcome outcome;
  askRaw("abc", false, zone_.get(), &outcome);
  EXPECT_EQ(outcome.kind, Outcome::drop);
}

TEST_F(ZoneTest, EdnsEchoedAndTruncationHonoursBufferSize) {
  // 60 headless endpoints: about 1 KB of A records.
  std::string yaml =
      "items:\n- {kind: Service, metadata: {name: big, namespace: default}, spec: {clusterIP: "
      "None}}\n- kind: EndpointSlice\n  metadata: {name: big-1, namespace: default, labels: "
      "{kubernetes.io/service-name: big}}\n  addressType: IPv4\n  endpoints:\n";
  for (int i = 1; i <= 60; ++i) yaml += "  - {addresses: [10.244.5." + std::to_string(i) + "]}\n";
  auto objects = parseObjects(yaml);
  ASSERT_TRUE(objects);
  auto big = compileZone(*config_, *objects);
  auto udp = ask("big.default.svc.cluster.local", type::A, false, 0, false, big.get());
  EXPECT_TRUE(udp.tc());
  EXPECT_TRUE(udp.answer.empty());
  EXPECT_FALSE(udp.hasOpt);
  auto small = ask("big.default.svc.cluster.local", type::A, true, 512, false, big.get());
  EXPECT_TRUE(small.tc());
  EXPECT_TRUE(small.hasOpt);
  auto edns = ask("big.default.svc.cluster.local", type::A, true, 4096, false, big.get());
  EXPECT_FALSE(edns.tc());
  EXPECT_EQ(edns.answer.size(), 60u);
  EXPECT_TRUE(edns.hasOpt);
  EXPECT_EQ(edns.optSize, kOurUdpSize);
  auto tcp = ask("big.default.svc.cluster.local", type::A, false, 0, true, big.get());
  EXPECT_FALSE(tcp.tc());
  EXPECT_EQ(tcp.answer.size(), 60u);
}

TEST_F(ZoneTest, ConfigurableTtlAndZone) {
  ZoneConfig config;
  config.zone = "Corp.Example";
  config.ttl = 600;
  auto objects = parseObjects(kObjects);
  auto zone = compileZone(config, *objects);
  Authority authority(config);
  std::string packet = makeQuery("web.default.svc.corp.example", type::AAAA);
  std::vector<uint8_t> out(kMaxMessage);
  Query query;
  auto outcome =
      answerQuery(authority, zone.get(), false, reinterpret_cast<const uint8_t*>(packet.data()),
                  packet.size(), false, query, out.data(), out.size());
  auto m = decode(std::string(reinterpret_cast<char*>(out.data()), outcome.length));
  ASSERT_EQ(m.authority.size(), 1u);
  EXPECT_EQ(m.authority[0].ttl, 300u);  // SOA TTL min(ttl, 300)
  EXPECT_TRUE(m.authority[0].data.ends_with(" 600"));
  // Without upstreams, other names are refused.
  packet = makeQuery("example.org", type::A);
  outcome =
      answerQuery(authority, zone.get(), false, reinterpret_cast<const uint8_t*>(packet.data()),
                  packet.size(), false, query, out.data(), out.size());
  EXPECT_EQ(out[3] & 0xF, rcode::REFUSED);
}

TEST_F(ZoneTest, CompilesTenThousandServicesQuickly) {
  ClusterObjects objects;
  for (int i = 0; i < 10000; ++i) {
    api::Json svc = {
        {"kind", "Service"},
        {"metadata",
         {{"name", "svc-" + std::to_string(i)}, {"namespace", "ns" + std::to_string(i % 50)}}},
        {"spec",
         {{"clusterIP", "10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250)},
          {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
    objects.services.push_back(std::make_shared<const api::Json>(std::move(svc)));
  }
  auto started = std::chrono::steady_clock::now();
  auto zone = compileZone(*config_, objects);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(zone->nameCount(), 40000u);
  EXPECT_LT(took, std::chrono::seconds(5));
  auto m = ask("svc-9999.ns49.svc.cluster.local", type::A, false, 0, false, zone.get());
  EXPECT_THAT(datas(m.answer), ElementsAre("10.96.39.249"));
  // Every name is found (through the query path's hash too), no other.
  for (int i = 0; i < 10000; ++i) {
    std::string name =
        "svc-" + std::to_string(i) + ".ns" + std::to_string(i % 50) + ".svc.cluster.local";
    std::string packet = makeQuery(name, type::A);
    Query query;
    ASSERT_EQ(parseQuery(reinterpret_cast<const uint8_t*>(packet.data()), packet.size(), query),
              ParseStatus::ok);
    ASSERT_NE(zone->find(query), nullptr) << name;
    ASSERT_EQ(zone->find(query), zone->find(*textToWire(name))) << name;
    EXPECT_EQ(zone->find(*textToWire("svc-" + std::to_string(i) + ".nsx.svc.cluster.local")),
              nullptr);
  }
}

TEST_F(ZoneTest, ClassifyOfAQueryMatchesClassifyOfItsName) {
  for (const char* name :
       {"web.default.svc.cluster.local", "cluster.local", "local", "xcluster.local",
        "a.xcluster.local", "cluster.local.evil.com", "svc.cluster.local.cluster.local",
        "20.0.96.10.in-addr.arpa", "10.in-addr.arpa", "1.2.3.4.in-addr.arpa", "example.org", ".",
        "in-addr.arpa", "local.cluster"}) {
    std::string packet = makeQuery(name, type::A);
    Query query;
    ASSERT_EQ(parseQuery(reinterpret_cast<const uint8_t*>(packet.data()), packet.size(), query),
              ParseStatus::ok);
    EXPECT_EQ(authority_->classify(query), authority_->classify(query.name())) << name;
  }
  ZoneConfig root;
  root.zone = ".";
  Authority everything(root);
  std::string packet = makeQuery("a.b", type::A);
  Query query;
  ASSERT_EQ(parseQuery(reinterpret_cast<const uint8_t*>(packet.data()), packet.size(), query),
            ParseStatus::ok);
  EXPECT_EQ(everything.classify(query), everything.classify(query.name()));
}

}  // namespace
}  // namespace podnet::dns
