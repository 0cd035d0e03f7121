// The proxy's counters, one set per thread, on the shared metrics library:
// the thread that serves a request counts it with single-writer cells, after
// a lookup of its route that takes no lock (only that thread adds routes to
// its map, under the mutex the scrape holds while it reads); /metrics sums
// the threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/metrics.h"

namespace podnet::ingress {

struct Route;

// ingress-nginx's upstream latency buckets, in seconds.
const std::vector<double>& latencyBuckets();

struct ProxyStats {
  struct PerRoute {
    explicit PerRoute(metrics::Labels l) : labels(std::move(l)), latency(latencyBuckets()) {}
    metrics::Labels labels;
    metrics::LocalCounter byClass[5];  // 1xx .. 5xx
    metrics::LocalHistogram latency;   // upstream time to the response head
  };
  std::mutex mutex;  // adding a route (its thread) and reading (the scrape)
  std::unordered_map<std::string, std::unique_ptr<PerRoute>> routes;  // by Route::labels
  std::atomic<uint64_t> connectionsAccepted{0}, connectionsOpen{0}, connectionsRefused{0};
  std::atomic<uint64_t> upstreamConnects{0}, upstreamRetries{0};

  // One request, by the thread that owns these stats: its route (null when
  // none matched), the status the client got, and the upstream's time to
  // the response head (negative: no upstream).
  void record(const Route* route, int status, double upstreamSeconds);
};

// A route's metric labels: namespace, ingress, host, path, service.
metrics::Labels routeMetricLabels(const std::string& ns, const std::string& ingress,
                                  const std::string& host, const std::string& path,
                                  const std::string& service);
// The same labels as one string: the key a thread's stats find a route by.
std::string labelsKey(const metrics::Labels& labels);

struct ControllerGauges {
  uint64_t configReloads = 0;   // snapshots published
  uint64_t configFailures = 0;  // objects that could not be compiled (Events)
  uint64_t routes = 0;
  uint64_t certificates = 0;
  double lastReloadSeconds = 0;  // when (unix time)
};
// Every thread's counters plus the controller's gauges, as exposition text.
void writeMetrics(metrics::Writer& out, const std::vector<ProxyStats*>& workers,
                  const ControllerGauges& gauges);

}  // namespace podnet::ingress
