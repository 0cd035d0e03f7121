#include "proxy/proxier.h"

#include <malloc.h>

#include <algorithm>
#include <thread>

namespace podnet::proxy {

namespace {

std::string keyOf(const Json& obj) {
  const Json& metadata = obj.contains("metadata") ? obj["metadata"] : Json::object();
  return metadata.value("namespace", std::string()) + "/" + metadata.value("name", std::string());
}

// Addresses a port's traffic arrives on ("" stands for its NodePort).
std::vector<std::pair<std::string, int>> frontends(const ServicePort& p) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& ip : p.clusterIps) out.emplace_back(ip, p.port);
  for (const auto& ip : p.externalIps) out.emplace_back(ip, p.port);
  for (const auto& ip : p.loadBalancerIps) out.emplace_back(ip, p.port);
  if (p.nodePort) out.emplace_back("", p.nodePort);
  return out;
}

}  // namespace

namespace {

// kube-proxy's sync duration buckets: 1 ms doubling to 16.384 s.
const std::vector<double>& syncBuckets() {
  static const std::vector<double> buckets = metrics::exponentialBuckets(0.001, 2, 15);
  return buckets;
}

double unixSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Proxier::Proxier(ProxierConfig config, std::shared_ptr<RulesetWriter> writer)
    : config_(std::move(config)),
      writer_(std::move(writer)),
      syncDuration_(syncBuckets()),
      fullSyncDuration_(syncBuckets()),
      partialSyncDuration_(syncBuckets()) {
  for (Family f : {Family::v4, Family::v6}) {
    CompilerConfig& c = compilers_[int(f)];
    c.family = f;
    c.nodeName = config_.nodeName;
    c.clusterCidrs = ofFamily(config_.clusterCidrs, f);
    // What an earlier run may have left, whatever its table count.
    staleTables_[int(f)].insert(config_.table);
    for (size_t i = 0; i < config_.maxTables; ++i)
      staleTables_[int(f)].insert(config_.table + "-" + std::to_string(i));
  }
  resetPrograms(1);
}

size_t Proxier::tablesFor(size_t services) const {
  size_t tables = 1;
  while (tables < config_.maxTables && services > config_.servicesPerTable * tables) tables *= 2;
  return tables;
}

size_t Proxier::shardOf(const std::string& serviceKey) const {
  return fnv1a64(serviceKey) % states_[0].size();
}

void Proxier::resetPrograms(size_t tables) {
  for (Family f : {Family::v4, Family::v6}) {
    auto& states = states_[int(f)];
    for (const auto& state : states) staleTables_[int(f)].insert(state.config().table);
    states.clear();
    for (size_t i = 0; i < tables; ++i) {
      std::string name = tables == 1 ? config_.table : config_.table + "-" + std::to_string(i);
      states.emplace_back(TableConfig{f, name});
    }
  }
}

void Proxier::serviceChanged(const Json& service) {
  std::string key = keyOf(service);
  std::vector<ServicePort> ports = servicePortsOf(service);
  ports.shrink_to_fit();
  std::lock_guard lock(mutex_);
  auto [slot, added] = services_.try_emplace(key);
  if (!added && slot->second == ports) return;
  slot->second = std::move(ports);
  dirty_.insert(key);
  ++pendingServiceChanges_;
  serviceChanges_.inc();
  lastQueuedSeconds_.set(unixSeconds());
  wake_.notify_all();
}

void Proxier::serviceDeleted(const Json& service) {
  std::string key = keyOf(service);
  std::lock_guard lock(mutex_);
  services_.erase(key);
  dirty_.insert(key);
  wake_.notify_all();
}

void Proxier::sliceChanged(const Json& slice) {
  std::string service = serviceKeyOfSlice(slice);
  if (service.empty()) return;
  SliceEndpoints endpoints = sliceEndpointsOf(slice);
  std::lock_guard lock(mutex_);
  auto [slot, added] = slices_[service].try_emplace(keyOf(slice));
  if (!added && slot->second == endpoints) return;
  slot->second = std::move(endpoints);
  dirty_.insert(service);
  ++pendingEndpointChanges_;
  endpointChanges_.inc();
  lastQueuedSeconds_.set(unixSeconds());
  wake_.notify_all();
}

void Proxier::sliceDeleted(const Json& slice) {
  std::string service = serviceKeyOfSlice(slice);
  if (service.empty()) return;
  std::lock_guard lock(mutex_);
  auto it = slices_.find(service);
  if (it != slices_.end()) {
    it->second.erase(keyOf(slice));
    if (it->second.empty()) slices_.erase(it);
  }
  dirty_.insert(service);
  wake_.notify_all();
}

bool Proxier::pending() const {
  std::lock_guard lock(mutex_);
  return !dirty_.empty() || needFull_;
}

SyncStats Proxier::lastSync() const {
  std::lock_guard lock(mutex_);
  return lastSync_;
}

std::vector<StaleUdpFlow> Proxier::takeStaleUdpFlows() {
  std::lock_guard lock(mutex_);
  std::vector<StaleUdpFlow> out(staleUdp_.begin(), staleUdp_.end());
  staleUdp_.clear();
  return out;
}

namespace {

// What the agent announces or health-checks (servicePorts()).
bool announcedOrHealthChecked(const ServicePort& port) {
  return !port.loadBalancerIps.empty() || port.healthCheckNodePort;
}
// Whether a Service's compiled ports are needed after its sync: for the
// agent, and UDP ports for the stale flows of the next change.
bool keptAfterSync(const ServicePort& port) {
  return port.protocol == "udp" || announcedOrHealthChecked(port);
}

}  // namespace

std::map<std::string, std::vector<ServicePort>> Proxier::servicePorts() const {
  std::map<std::string, std::vector<ServicePort>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, programmed] : programmed_)
    if (std::any_of(programmed.ports.begin(), programmed.ports.end(), announcedOrHealthChecked))
      out[key] = programmed.ports;
  return out;
}

void Proxier::noteStaleUdp(const std::vector<ServicePort>& before,
                           const std::vector<ServicePort>& after) {
  // An endpoint that served a UDP frontend before and does not now.
  auto serving = [](const ServicePort& p) {
    std::set<std::string> ips;
    for (const auto& e : p.endpoints)
      if (e.ready || (e.serving && e.terminating)) ips.insert(e.ip);
    return ips;
  };
  for (const auto& old : before) {
    if (old.protocol != "udp") continue;
    std::set<std::string> now;
    std::set<std::pair<std::string, int>> stillFront;
    for (const auto& p : after) {
      if (p.protocol != "udp" || p.portName != old.portName) continue;
      now = serving(p);
      for (const auto& f : frontends(p)) stillFront.insert(f);
    }
    for (const auto& ip : serving(old)) {
      for (const auto& [front, port] : frontends(old)) {
        if (now.count(ip) && stillFront.count({front, port})) continue;
        staleUdp_.insert({front, port, ip});
      }
    }
  }
}

core::Status Proxier::syncChanges() {
  auto started = std::chrono::steady_clock::now();
  std::set<std::string> dirty;
  std::map<std::string, std::vector<ServicePort>> compiled;
  size_t tables = states_[0].size();
  {
    std::lock_guard lock(mutex_);
    // Grow the table count with the Services, shrink it (with some slack)
    // when they go: a new count recompiles everything into fresh tables, and
    // the full sync that follows replaces the old tables atomically.
    size_t count = services_.size();
    bool grow = tables < config_.maxTables && count > config_.servicesPerTable * tables;
    bool shrink = tables > 1 && count < config_.servicesPerTable * tables / 4;
    if (grow || shrink) tables = tablesFor(count);
    // A full sync fills fresh tables from every Service: the state keeps no
    // rules to render them from.
    if (grow || shrink || needFull_)
      for (const auto& [key, svc] : services_) dirty_.insert(key);
    dirty.swap(dirty_);
    pendingServiceChanges_ = pendingEndpointChanges_ = 0;
    for (const auto& key : dirty) {
      auto svc = services_.find(key);
      if (svc == services_.end()) {
        compiled[key];
        continue;
      }
      std::vector<const SliceEndpoints*> slices;
      if (auto s = slices_.find(key); s != slices_.end())
        for (const auto& [sliceKey, slice] : s->second) slices.push_back(&slice);
      compiled[key] = withEndpoints(svc->second, slices);
    }
  }
  if (tables != states_[0].size()) needFull_ = true;
  if (needFull_) resetPrograms(tables);
  SyncStats stats;
  stats.servicesCompiled = compiled.size();
  stats.tables = tables;
  std::vector<Transaction> changes;
  Replacement replacement;
  for (Family f : {Family::v4, Family::v6}) {
    auto& states = states_[int(f)];
    std::vector<Transaction> txs;
    for (const auto& state : states) txs.push_back(state.newTransaction());
    for (const auto& [key, ports] : compiled) {
      size_t shard = shardOf(key);
      states[shard].update(key, compileService(compilers_[int(f)], ports), &txs[shard]);
    }
    if (needFull_) {
      // Fresh states fed every Service: each transaction is its whole table.
      std::set<std::string> current;
      for (const auto& state : states) current.insert(state.config().table);
      for (const auto& table : staleTables_[int(f)])
        if (!current.count(table)) replacement.staleTables.emplace_back(f, table);
      for (size_t i = 0; i < states.size(); ++i)
        replacement.tables.push_back(Replacement::Table{states[i].config(), std::move(txs[i])});
      continue;
    }
    for (auto& tx : txs)
      if (!tx.empty()) changes.push_back(std::move(tx));
  }
  core::Status result = core::Ok{};
  if (needFull_) {
    stats.full = true;
    for (const auto& table : replacement.tables) stats.fullRules += table.contents.rules.size();
    result = writer_->replace(replacement);
    if (result) {
      for (auto& stale : staleTables_) stale.clear();
      needFull_ = false;
    }
  } else if (!changes.empty()) {
    for (const auto& tx : changes) stats.rulesWritten += tx.rules.size();
    // The state holds what we want; after a failure the kernel may hold
    // anything, so the next sync replaces the tables.
    result = writer_->apply(changes);
    if (!result) needFull_ = true;
  }
  stats.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  double seconds = std::chrono::duration<double>(stats.duration).count();
  syncDuration_.observe(seconds);
  (stats.full ? fullSyncDuration_ : partialSyncDuration_).observe(seconds);
  if (result) {
    lastSyncSeconds_.set(unixSeconds());
    rulesWritten_.inc(stats.full ? stats.fullRules : stats.rulesWritten);
  } else {
    syncFailures_.inc();
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, ports] : compiled) {
      auto old = programmed_.find(key);
      if (old != programmed_.end()) noteStaleUdp(old->second.ports, ports);
      if (ports.empty()) {
        if (old != programmed_.end()) programmed_.erase(old);
        continue;
      }
      Programmed& now = programmed_[key];
      now.endpoints = 0;
      for (const auto& port : ports) now.endpoints += port.endpoints.size();
      if (std::any_of(ports.begin(), ports.end(), keptAfterSync))
        now.ports = std::move(ports);
      else
        now.ports.clear();
      now.ports.shrink_to_fit();
    }
    lastSync_ = stats;
  }
  return result;
}

core::Status Proxier::sync() {
  core::Status result = syncChanges();
  // A burst of changes (a namespace of Services created at once) leaves the
  // same: trim after any large sync, not only a full one.
  SyncStats last = lastSync();
  if (last.full || last.servicesCompiled >= 256) {
    // A full sync frees millions of small blocks (libnftables' parse of the
    // script, the rendering) between the long-lived program state. glibc
    // keeps them in its fast bins and merges and sorts them all on the next
    // larger allocations, which were the next one-Service change's (6-90 ms
    // at 10k Services). Merge them here, where the cost belongs, and give
    // the memory back.
    malloc_trim(0);
  }
  return result;
}

void Proxier::markReady() {
  std::lock_guard lock(mutex_);
  ready_ = true;
  wake_.notify_all();
}

void Proxier::wake() { wake_.notify_all(); }

void Proxier::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(200),
                     [&] { return stop.load() || (ready_ && (!dirty_.empty() || needFull_)); });
      if (stop.load()) return;
      if (!ready_ || (dirty_.empty() && !needFull_)) continue;
    }
    std::this_thread::sleep_for(config_.coalesce);
    core::Status synced = sync();
    if (!synced) {
      if (config_.onSyncError) config_.onSyncError(synced.error());
      std::this_thread::sleep_for(config_.retryAfterFailure);
    }
  }
}

void Proxier::writeMetrics(metrics::Writer& out) const {
  using metrics::Type;
  auto histogram = [&](const char* name, const char* help, const metrics::Histogram& h) {
    out.family(name, help, Type::histogram);
    out.histogram(name, {}, h.bounds(), h.snapshot());
  };
  auto single = [&](const char* name, const char* help, Type type, double value) {
    out.family(name, help, type);
    out.sample(name, {}, value);
  };
  histogram("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds",
            syncDuration_);
  histogram("kubeproxy_sync_full_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds for full resyncs", fullSyncDuration_);
  histogram("kubeproxy_sync_partial_proxy_rules_duration_seconds",
            "SyncProxyRules latency in seconds for partial resyncs", partialSyncDuration_);
  single("kubeproxy_sync_proxy_rules_last_timestamp_seconds",
         "The last time proxy rules were successfully synced", Type::gauge,
         lastSyncSeconds_.value());
  single("kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds",
         "The last time a sync of proxy rules was queued", Type::gauge, lastQueuedSeconds_.value());
  single("kubeproxy_sync_proxy_rules_service_changes_total",
         "Cumulative proxy rules Service changes", Type::counter, double(serviceChanges_.value()));
  single("kubeproxy_sync_proxy_rules_endpoint_changes_total",
         "Cumulative proxy rules Endpoint changes", Type::counter,
         double(endpointChanges_.value()));
  single("kubeproxy_sync_proxy_rules_nftables_sync_failures_total",
         "Failed nftables transactions (the next sync replaces the tables)", Type::counter,
         double(syncFailures_.value()));
  size_t services = 0, endpoints = 0, pendingServices = 0, pendingEndpoints = 0, tables = 0;
  {
    std::lock_guard lock(mutex_);
    services = services_.size();
    tables = lastSync_.tables;
    for (const auto& [key, programmed] : programmed_) endpoints += programmed.endpoints;
    pendingServices = pendingServiceChanges_;
    pendingEndpoints = pendingEndpointChanges_;
  }
  single("kubeproxy_sync_proxy_rules_service_changes_pending",
         "Pending proxy rules Service changes", Type::gauge, double(pendingServices));
  single("kubeproxy_sync_proxy_rules_endpoint_changes_pending",
         "Pending proxy rules Endpoint changes", Type::gauge, double(pendingEndpoints));
  single("podnet_proxy_services", "Services this node's proxy knows.", Type::gauge,
         double(services));
  single("podnet_proxy_endpoints", "Endpoints programmed, over every Service port.", Type::gauge,
         double(endpoints));
  out.family("podnet_proxy_nftables_tables", "nftables tables (shards) programmed, per family.",
             Type::gauge);
  out.sample("podnet_proxy_nftables_tables", {{"family", "ipv4"}}, uint64_t(tables));
  out.sample("podnet_proxy_nftables_tables", {{"family", "ipv6"}}, uint64_t(tables));
  single("podnet_proxy_rules_written_total",
         "Kernel rules written by syncs (a full sync writes all of them).", Type::counter,
         double(rulesWritten_.value()));
}

}  // namespace podnet::proxy
