// The proxy's counters, one set per thread (written by it alone, read by
// /metrics under the set's mutex), and their Prometheus text rendering.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace podnet::ingress {

inline constexpr std::array<double, 12> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,   0.25,   0.5,   1,    2.5,   10};

struct ProxyStats {
  struct PerRoute {
    std::array<uint64_t, 5> byClass{};                           // 1xx .. 5xx
    std::array<uint64_t, kLatencyBuckets.size() + 1> latency{};  // upstream, last is +Inf
    double latencySum = 0;
    uint64_t latencyCount = 0;
  };
  std::mutex mutex;
  // By `ingress="ns/name",host="h",path="/p"` (the labels, rendered once per route).
  std::unordered_map<std::string, PerRoute> routes;
  std::atomic<uint64_t> connectionsAccepted{0}, connectionsOpen{0}, connectionsRefused{0};
  std::atomic<uint64_t> upstreamConnects{0}, upstreamRetries{0};

  // One request: its route's labels, the status the client got, and the
  // upstream's time to the response head (negative: no upstream).
  void record(const std::string& labels, int status, double upstreamSeconds);
};

// Label values escaped for the text format.
std::string labelValue(std::string_view value);

// The Prometheus text exposition of every thread's counters plus the
// controller's gauges.
struct ControllerGauges {
  uint64_t configReloads = 0;   // snapshots published
  uint64_t configFailures = 0;  // objects that could not be compiled (Events)
  uint64_t routes = 0;
  uint64_t certificates = 0;
  double lastReloadSeconds = 0;  // when (unix time)
};
std::string renderMetrics(const std::vector<ProxyStats*>& workers, const ControllerGauges& gauges);

}  // namespace podnet::ingress
