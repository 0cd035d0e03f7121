// Fuzz target for everything that reads DNS bytes from the network: the
// query parser and the query path (UDP and TCP limits, with and without a
// snapshot), and the forwarder's reading of upstream answers (record walk,
// name decompression, normalization, cache TTLs, finishing an answer).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dns/dns_main.h"
#include "dns/forwarder.h"
#include "dns/responder.h"
#include "dns/wire.h"
#include "dns/zone.h"

namespace {

using namespace podnet::dns;

struct Fixture {
  ZoneConfig config;
  std::unique_ptr<Authority> authority;
  std::shared_ptr<const Zone> zone;
  Fixture() {
    config.reverseCidrs = {*podnet::core::Cidr::parse("10.96.0.0/12"),
                           *podnet::core::Cidr::parse("10.244.0.0/16"),
                           *podnet::core::Cidr::parse("fd00::/108")};
    authority = std::make_unique<Authority>(config);
    auto objects = parseObjects(R"yaml(
items:
- {kind: Namespace, metadata: {name: default}}
- {kind: Service, metadata: {name: web, namespace: default}, spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80}]}}
- {kind: Service, metadata: {name: ext, namespace: default}, spec: {type: ExternalName, externalName: example.org}}
- {kind: Service, metadata: {name: db, namespace: default}, spec: {clusterIP: None}}
- kind: EndpointSlice
  metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
  addressType: IPv4
  ports: [{name: pg, port: 5432, protocol: TCP}]
  endpoints: [{addresses: [10.244.2.1], hostname: db-0}, {addresses: [10.244.2.2]}]
- {kind: Pod, metadata: {name: p, namespace: default}, status: {podIP: 10.244.1.7, podIPs: [{ip: "fd00::7"}]}}
)yaml");
    zone = compileZone(config, *objects);
  }
};

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  static std::vector<uint8_t> out(kMaxMessage);
  for (int variant = 0; variant < 4; ++variant) {
    bool tcp = variant & 1;
    const Zone* zone = (variant & 2) ? fixture.zone.get() : nullptr;
    Query query;
    Outcome outcome =
        answerQuery(*fixture.authority, zone, true, data, size, tcp, query, out.data(), out.size());
    if (outcome.kind == Outcome::reply) {
      check(outcome.length >= kHeaderSize && outcome.length <= out.size());
      check(tcp || outcome.length <= std::max<size_t>(query.udpLimit(), 512));
      check(get16(out.data()) == get16(data));
      check(walkRecords(out.data(), outcome.length).has_value());
    }
    if (outcome.kind == Outcome::forward) {
      // The same bytes as an upstream answer for this query.
      std::string normalized(reinterpret_cast<const char*>(data), size);
      size_t n = finishForwarded(query, data, normalized, tcp, out.data(), out.size());
      check(n <= out.size());
      check(writeServfail(query, data, out.data(), out.size()) >= kHeaderSize);
    }
  }
  // As an upstream answer.
  if (auto records = walkRecords(data, size)) {
    for (const auto& rr : *records) {
      check(rr.end <= size);
      (void)readName(data, size, rr.nameOffset);
    }
  }
  (void)readName(data, size, kHeaderSize);
  (void)cacheTtl(data, size);
  if (auto normalized = normalizeResponse(data, size)) {
    check(normalized->size() <= size);
    ResponseCache cache(16);
    auto now = Clock::now();
    cache.insert("k", *normalized, now);
    std::string back;
    (void)cache.lookup("k", now, back);
  }
  return 0;
}
