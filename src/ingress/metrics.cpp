#include "ingress/metrics.h"

#include <cstdio>
#include <map>

namespace podnet::ingress {

void ProxyStats::record(const std::string& labels, int status, double upstreamSeconds) {
  size_t cls = status >= 100 && status < 600 ? size_t(status / 100 - 1) : 4;
  std::lock_guard lock(mutex);
  PerRoute& r = routes[labels];
  ++r.byClass[cls];
  if (upstreamSeconds >= 0) {
    size_t b = 0;
    while (b < kLatencyBuckets.size() && upstreamSeconds > kLatencyBuckets[b]) ++b;
    ++r.latency[b];
    r.latencySum += upstreamSeconds;
    ++r.latencyCount;
  }
}

std::string labelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

}  // namespace

std::string renderMetrics(const std::vector<ProxyStats*>& workers, const ControllerGauges& gauges) {
  std::map<std::string, ProxyStats::PerRoute> merged;
  uint64_t accepted = 0, open = 0, refused = 0, connects = 0, retries = 0;
  for (ProxyStats* w : workers) {
    {
      std::lock_guard lock(w->mutex);
      for (const auto& [labels, r] : w->routes) {
        auto& m = merged[labels];
        for (size_t i = 0; i < r.byClass.size(); ++i) m.byClass[i] += r.byClass[i];
        for (size_t i = 0; i < r.latency.size(); ++i) m.latency[i] += r.latency[i];
        m.latencySum += r.latencySum;
        m.latencyCount += r.latencyCount;
      }
    }
    accepted += w->connectionsAccepted.load(std::memory_order_relaxed);
    open += w->connectionsOpen.load(std::memory_order_relaxed);
    refused += w->connectionsRefused.load(std::memory_order_relaxed);
    connects += w->upstreamConnects.load(std::memory_order_relaxed);
    retries += w->upstreamRetries.load(std::memory_order_relaxed);
  }
  std::string out;
  out +=
      "# HELP podnet_ingress_requests_total Requests served, by Ingress, host, path rule and "
      "status class.\n# TYPE podnet_ingress_requests_total counter\n";
  static const char* classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const auto& [labels, r] : merged)
    for (size_t i = 0; i < r.byClass.size(); ++i)
      if (r.byClass[i])
        out += "podnet_ingress_requests_total{" + labels + ",status=\"" + classes[i] + "\"} " +
               std::to_string(r.byClass[i]) + "\n";
  out +=
      "# HELP podnet_ingress_upstream_latency_seconds Time from sending a request upstream "
      "to its response head.\n# TYPE podnet_ingress_upstream_latency_seconds histogram\n";
  for (const auto& [labels, r] : merged) {
    if (r.latencyCount == 0) continue;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < r.latency.size(); ++i) {
      cumulative += r.latency[i];
      std::string le = i < kLatencyBuckets.size() ? number(kLatencyBuckets[i]) : "+Inf";
      out += "podnet_ingress_upstream_latency_seconds_bucket{" + labels + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "podnet_ingress_upstream_latency_seconds_sum{" + labels + "} " + number(r.latencySum) +
           "\n";
    out += "podnet_ingress_upstream_latency_seconds_count{" + labels + "} " +
           std::to_string(r.latencyCount) + "\n";
  }
  auto counter = [&](const char* name, const char* help, uint64_t value, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  counter("podnet_ingress_connections_accepted_total", "Client connections accepted.", accepted,
          "counter");
  counter("podnet_ingress_connections_open", "Client connections open now.", open, "gauge");
  counter("podnet_ingress_connections_refused_total",
          "Client connections closed at once because the connection cap was reached.", refused,
          "counter");
  counter("podnet_ingress_upstream_connects_total", "Connections opened to endpoints.", connects,
          "counter");
  counter("podnet_ingress_upstream_retries_total",
          "Requests sent again to another endpoint after a failed attempt.", retries, "counter");
  counter("podnet_ingress_config_reloads_total",
          "Routing snapshots published (no process reload: the threads swap a pointer).",
          gauges.configReloads, "counter");
  counter("podnet_ingress_config_problems", "Ingresses or parts of them that cannot be served.",
          gauges.configFailures, "gauge");
  counter("podnet_ingress_routes", "Host and path routes in the snapshot served.", gauges.routes,
          "gauge");
  counter("podnet_ingress_certificates", "TLS certificates served by SNI.", gauges.certificates,
          "gauge");
  out +=
      "# HELP podnet_ingress_config_last_reload_timestamp_seconds When the snapshot served "
      "was published.\n# TYPE podnet_ingress_config_last_reload_timestamp_seconds gauge\n"
      "podnet_ingress_config_last_reload_timestamp_seconds " +
      number(gauges.lastReloadSeconds) + "\n";
  return out;
}

}  // namespace podnet::ingress
