#include "dns/server_metrics.h"

namespace podnet::dns {

const std::vector<double>& requestDurationBuckets() {
  static const std::vector<double> buckets = metrics::exponentialBuckets(0.00025, 2, 16);
  return buckets;
}

namespace {

const char* typeName(size_t slot) {
  static const char* names[] = {"A",   "NS",   "CNAME", "SOA",   "PTR", "MX",
                                "TXT", "AAAA", "SRV",   "HTTPS", "ANY", "other"};
  return names[slot];
}

const char* rcodeName(size_t slot) {
  static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                "NOTIMP",  "REFUSED", "other"};
  return names[slot];
}

const char* answererName(size_t slot) {
  static const char* names[] = {"kubernetes", "forward", "cache"};
  return names[slot];
}

template <bool Shared>
void add(const QueryCounts<Shared>& from, uint64_t (&requests)[2][2][kTypeSlots],
         uint64_t (&responses)[kRcodeSlots][3],
         std::vector<metrics::Histogram::Snapshot>& duration) {
  for (size_t p = 0; p < 2; ++p)
    for (size_t f = 0; f < 2; ++f)
      for (size_t t = 0; t < kTypeSlots; ++t) requests[p][f][t] += from.requests[p][f][t].value();
  for (size_t r = 0; r < kRcodeSlots; ++r)
    for (size_t a = 0; a < 3; ++a) responses[r][a] += from.responses[r][a].value();
  for (size_t t = 0; t < kTypeSlots; ++t) from.duration[t]->addTo(duration[t]);
}

}  // namespace

void writeDnsMetrics(metrics::Writer& out, const std::string& server,
                     const std::vector<const QueryCounts<false>*>& threads,
                     const QueryCounts<true>& shared, const CacheCounts& cache,
                     uint64_t cacheEntries) {
  uint64_t requests[2][2][kTypeSlots] = {};
  uint64_t responses[kRcodeSlots][3] = {};
  std::vector<metrics::Histogram::Snapshot> duration(kTypeSlots);
  for (const auto* t : threads) add(*t, requests, responses, duration);
  add(shared, requests, responses, duration);
  // CoreDNS's labels: the server block, its zone ".", no view.
  const metrics::Labels base = {{"server", server}, {"zone", "."}, {"view", ""}};

  out.family("coredns_dns_requests_total",
             "Counter of DNS requests made per zone, protocol and family.", metrics::Type::counter);
  for (size_t p = 0; p < 2; ++p)
    for (size_t f = 0; f < 2; ++f)
      for (size_t t = 0; t < kTypeSlots; ++t) {
        if (!requests[p][f][t]) continue;
        auto labels = base;
        labels.insert(
            labels.end(),
            {{"proto", p ? "tcp" : "udp"}, {"family", f ? "2" : "1"}, {"type", typeName(t)}});
        out.sample("coredns_dns_requests_total", labels, requests[p][f][t]);
      }
  out.family("coredns_dns_responses_total", "Counter of response status codes.",
             metrics::Type::counter);
  for (size_t r = 0; r < kRcodeSlots; ++r)
    for (size_t a = 0; a < 3; ++a) {
      if (!responses[r][a]) continue;
      auto labels = base;
      labels.insert(labels.end(), {{"rcode", rcodeName(r)}, {"plugin", answererName(a)}});
      out.sample("coredns_dns_responses_total", labels, responses[r][a]);
    }
  out.family("coredns_dns_request_duration_seconds",
             "Histogram of the time (in seconds) each request took per zone.",
             metrics::Type::histogram);
  for (size_t t = 0; t < kTypeSlots; ++t) {
    if (duration[t].count == 0) continue;
    auto labels = base;
    labels.emplace_back("type", typeName(t));
    out.histogram("coredns_dns_request_duration_seconds", labels, requestDurationBuckets(),
                  duration[t]);
  }
  const metrics::Labels cacheLabels = {{"server", server}, {"zones", "."}, {"view", ""}};
  auto withType = [&](const char* type) {
    auto labels = cacheLabels;
    labels.emplace_back("type", type);
    return labels;
  };
  out.family("coredns_cache_entries", "The number of elements in the cache.", metrics::Type::gauge);
  out.sample("coredns_cache_entries", withType("success"), cacheEntries);
  out.family("coredns_cache_requests_total", "The count of cache requests.",
             metrics::Type::counter);
  out.sample("coredns_cache_requests_total", cacheLabels,
             cache.hits.value() + cache.misses.value());
  out.family("coredns_cache_hits_total", "The count of cache hits.", metrics::Type::counter);
  out.sample("coredns_cache_hits_total", withType("success"), cache.hits.value());
  out.family("coredns_cache_misses_total", "The count of cache misses.", metrics::Type::counter);
  out.sample("coredns_cache_misses_total", cacheLabels, cache.misses.value());
  out.family("podnet_dns_forward_requests_total",
             "Queries sent to the upstream resolvers (cache misses).", metrics::Type::counter);
  out.sample("podnet_dns_forward_requests_total", {}, cache.forwarded.value());
  out.family("podnet_dns_forward_failures_total",
             "Forwarded queries no upstream answered (the client got SERVFAIL).",
             metrics::Type::counter);
  out.sample("podnet_dns_forward_failures_total", {}, cache.forwardFailures.value());
}

}  // namespace podnet::dns
