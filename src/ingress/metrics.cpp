#include "ingress/metrics.h"

#include <map>

#include "ingress/routes.h"

namespace podnet::ingress {

const std::vector<double>& latencyBuckets() {
  static const std::vector<double> buckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,   0.25,   0.5,   1,    2.5,   10};
  return buckets;
}

metrics::Labels routeMetricLabels(const std::string& ns, const std::string& ingress,
                                  const std::string& host, const std::string& path,
                                  const std::string& service) {
  return {{"namespace", ns},
          {"ingress", ingress},
          {"host", host},
          {"path", path},
          {"service", service}};
}

std::string labelsKey(const metrics::Labels& labels) {
  std::string key;
  for (const auto& [name, value] : labels) {
    key += name;
    key += '=';
    key += metrics::escapeLabelValue(value);
    key += '\x1f';
  }
  return key;
}

void ProxyStats::record(const Route* route, int status, double upstreamSeconds) {
  static const std::string none;
  const std::string& key = route ? route->labels : none;
  PerRoute* cells;
  // Only this thread inserts: looking up needs no lock.
  if (auto it = routes.find(key); it != routes.end()) {
    cells = it->second.get();
  } else {
    auto made = std::make_unique<PerRoute>(route ? route->metricLabels : metrics::Labels{});
    cells = made.get();
    std::lock_guard lock(mutex);
    routes.emplace(key, std::move(made));
  }
  size_t cls = status >= 100 && status < 600 ? size_t(status / 100 - 1) : 4;
  cells->byClass[cls].inc();
  if (upstreamSeconds >= 0) cells->latency.observe(upstreamSeconds);
}

void writeMetrics(metrics::Writer& out, const std::vector<ProxyStats*>& workers,
                  const ControllerGauges& gauges) {
  struct Merged {
    metrics::Labels labels;
    uint64_t byClass[5] = {};
    metrics::Histogram::Snapshot latency;
  };
  std::map<std::string, Merged> merged;
  uint64_t accepted = 0, open = 0, refused = 0, connects = 0, retries = 0;
  for (ProxyStats* w : workers) {
    {
      std::lock_guard lock(w->mutex);
      for (const auto& [key, r] : w->routes) {
        auto& m = merged[key];
        m.labels = r->labels;
        for (size_t i = 0; i < 5; ++i) m.byClass[i] += r->byClass[i].value();
        r->latency.addTo(m.latency);
      }
    }
    accepted += w->connectionsAccepted.load(std::memory_order_relaxed);
    open += w->connectionsOpen.load(std::memory_order_relaxed);
    refused += w->connectionsRefused.load(std::memory_order_relaxed);
    connects += w->upstreamConnects.load(std::memory_order_relaxed);
    retries += w->upstreamRetries.load(std::memory_order_relaxed);
  }
  static const char* classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  out.family("podnet_ingress_requests_total",
             "Requests served, by Ingress or HTTPRoute, host, path rule and status class.",
             metrics::Type::counter);
  for (const auto& [key, m] : merged)
    for (size_t i = 0; i < 5; ++i)
      if (m.byClass[i]) {
        auto labels = m.labels;
        labels.emplace_back("status", classes[i]);
        out.sample("podnet_ingress_requests_total", labels, m.byClass[i]);
      }
  out.family("podnet_ingress_upstream_latency_seconds",
             "Time from sending a request upstream to its response head.",
             metrics::Type::histogram);
  for (const auto& [key, m] : merged)
    if (m.latency.count)
      out.histogram("podnet_ingress_upstream_latency_seconds", m.labels, latencyBuckets(),
                    m.latency);
  auto single = [&](const char* name, const char* help, uint64_t value, metrics::Type type) {
    out.family(name, help, type);
    out.sample(name, {}, value);
  };
  single("podnet_ingress_connections_accepted_total", "Client connections accepted.", accepted,
         metrics::Type::counter);
  single("podnet_ingress_connections_open", "Client connections open now.", open,
         metrics::Type::gauge);
  single("podnet_ingress_connections_refused_total",
         "Client connections closed at once because the connection cap was reached.", refused,
         metrics::Type::counter);
  single("podnet_ingress_upstream_connects_total", "Connections opened to endpoints.", connects,
         metrics::Type::counter);
  single("podnet_ingress_upstream_retries_total",
         "Requests sent again to another endpoint after a failed attempt.", retries,
         metrics::Type::counter);
  single("podnet_ingress_config_reloads_total",
         "Routing snapshots published (no process reload: the threads swap a pointer).",
         gauges.configReloads, metrics::Type::counter);
  single("podnet_ingress_config_problems", "Ingresses or parts of them that cannot be served.",
         gauges.configFailures, metrics::Type::gauge);
  single("podnet_ingress_routes", "Routes (Ingress paths, HTTPRoute matches) in the snapshot.",
         gauges.routes, metrics::Type::gauge);
  single("podnet_ingress_certificates", "TLS certificates served by SNI.", gauges.certificates,
         metrics::Type::gauge);
  out.family("podnet_ingress_config_last_reload_timestamp_seconds",
             "When the snapshot served was published.", metrics::Type::gauge);
  out.sample("podnet_ingress_config_last_reload_timestamp_seconds", {}, gauges.lastReloadSeconds);
}

}  // namespace podnet::ingress
