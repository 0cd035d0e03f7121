// The DNS server's counts under CoreDNS's metric names, so the dashboards
// and alerts written for CoreDNS (kube-dns's usual server) work unchanged:
// coredns_dns_requests_total, coredns_dns_responses_total,
// coredns_dns_request_duration_seconds (its buckets), coredns_cache_*;
// podnet's own forward counters. UDP threads each own a QueryCounts of
// single-writer cells (no read-modify-write per query); TCP connections and
// the forwarder's callbacks share one of atomic cells. Summed at scrape time.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "metrics/metrics.h"

namespace podnet::dns {

// CoreDNS's request duration buckets: 0.25 ms doubling to 8.192 s.
const std::vector<double>& requestDurationBuckets();

// The query types CoreDNS names in its labels; the rest are "other".
inline constexpr std::array<uint16_t, 11> kCountedTypes = {1, 2, 5, 6, 12, 15, 16, 28, 33, 65, 255};
inline constexpr size_t kTypeSlots = kCountedTypes.size() + 1;
inline size_t typeSlot(uint16_t qtype) {
  for (size_t i = 0; i < kCountedTypes.size(); ++i)
    if (kCountedTypes[i] == qtype) return i;
  return kCountedTypes.size();
}
inline constexpr size_t kRcodeSlots = 7;       // NOERROR .. REFUSED, then other
enum class Answerer { zone, forward, cache };  // the label `plugin`

template <bool Shared>
struct QueryCounts {
  using Count = std::conditional_t<Shared, metrics::Counter, metrics::LocalCounter>;
  using Latency = std::conditional_t<Shared, metrics::Histogram, metrics::LocalHistogram>;

  QueryCounts() {
    for (auto& h : duration) h = std::make_unique<Latency>(requestDurationBuckets());
  }
  // A query received, over TCP or UDP; `family` from the client's address.
  void request(bool tcp, int family, uint16_t qtype) {
    requests[tcp ? 1 : 0][family == AF_INET6 ? 1 : 0][typeSlot(qtype)].inc();
  }
  // A response sent: its RCODE (the header's low bits), who answered, the
  // time since the query was received.
  void response(uint8_t rcode, Answerer by, uint16_t qtype, double seconds) {
    responses[rcode < kRcodeSlots - 1 ? rcode : kRcodeSlots - 1][size_t(by)].inc();
    duration[typeSlot(qtype)]->observe(seconds);
  }

  Count requests[2][2][kTypeSlots];  // [udp, tcp][IPv4, IPv6][type]
  Count responses[kRcodeSlots][3];
  std::unique_ptr<Latency> duration[kTypeSlots];
};

struct CacheCounts {
  metrics::Counter hits, misses;
  metrics::Counter forwarded, forwardFailures;
};

// The exposition of every thread's counts. `server` is CoreDNS's label
// ("dns://:53"), `cacheEntries` the forward cache's size now.
void writeDnsMetrics(metrics::Writer& out, const std::string& server,
                     const std::vector<const QueryCounts<false>*>& threads,
                     const QueryCounts<true>& shared, const CacheCounts& cache,
                     uint64_t cacheEntries);

}  // namespace podnet::dns
