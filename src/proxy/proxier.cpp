#include "proxy/proxier.h"

#include <malloc.h>

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

Proxier::Proxier(ProxierConfig config, std::shared_ptr<RulesetWriter> writer)
    : config_(std::move(config)), writer_(std::move(writer)) {
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

Replacement Proxier::fullReplacement() const {
  Replacement out;
  for (Family f : {Family::v4, Family::v6}) {
    std::set<std::string> current;
    for (const auto& state : states_[int(f)]) current.insert(state.config().table);
    for (const auto& table : staleTables_[int(f)])
      if (!current.count(table)) out.staleTables.emplace_back(f, table);
    for (const auto& state : states_[int(f)])
      out.tables.push_back(Replacement::Table{state.config(), state.contents()});
  }
  return out;
}

void Proxier::serviceChanged(const std::shared_ptr<const Json>& service) {
  std::string key = keyOf(*service);
  std::lock_guard lock(mutex_);
  auto& slot = services_[key];
  if (slot && *slot == *service) return;
  slot = service;
  dirty_.insert(key);
  wake_.notify_all();
}

void Proxier::serviceDeleted(const Json& service) {
  std::string key = keyOf(service);
  std::lock_guard lock(mutex_);
  services_.erase(key);
  dirty_.insert(key);
  wake_.notify_all();
}

void Proxier::sliceChanged(const std::shared_ptr<const Json>& slice) {
  std::string service = serviceKeyOfSlice(*slice);
  if (service.empty()) return;
  std::lock_guard lock(mutex_);
  auto& slot = slices_[service][keyOf(*slice)];
  if (slot && *slot == *slice) return;
  slot = slice;
  dirty_.insert(service);
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

std::map<std::string, std::vector<ServicePort>> Proxier::servicePorts() const {
  std::lock_guard lock(mutex_);
  return ports_;
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
    if (grow || shrink) {
      tables = tablesFor(count);
      for (const auto& [key, svc] : services_) dirty_.insert(key);
    }
    dirty.swap(dirty_);
    for (const auto& key : dirty) {
      auto svc = services_.find(key);
      if (svc == services_.end()) {
        compiled[key];
        continue;
      }
      std::vector<std::shared_ptr<const Json>> slices;
      if (auto s = slices_.find(key); s != slices_.end())
        for (const auto& [sliceKey, slice] : s->second) slices.push_back(slice);
      compiled[key] = servicePortsOf(*svc->second, slices);
    }
  }
  if (tables != states_[0].size()) {
    resetPrograms(tables);
    needFull_ = true;
  }
  SyncStats stats;
  stats.servicesCompiled = compiled.size();
  stats.tables = tables;
  std::vector<Transaction> changes;
  for (Family f : {Family::v4, Family::v6}) {
    auto& states = states_[int(f)];
    std::vector<Transaction> txs;
    for (const auto& state : states) txs.push_back(state.newTransaction());
    for (const auto& [key, ports] : compiled) {
      size_t shard = shardOf(key);
      // A full sync renders the tables from the state: no transactions.
      states[shard].update(key, compileService(compilers_[int(f)], ports),
                           needFull_ ? nullptr : &txs[shard]);
    }
    for (auto& tx : txs)
      if (!tx.empty()) changes.push_back(std::move(tx));
  }
  core::Status result = core::Ok{};
  if (needFull_) {
    Replacement replacement = fullReplacement();
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
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, ports] : compiled) {
      auto old = ports_.find(key);
      if (old != ports_.end()) noteStaleUdp(old->second, ports);
      if (ports.empty())
        ports_.erase(key);
      else
        ports_[key] = std::move(ports);
    }
    lastSync_ = stats;
  }
  return result;
}

core::Status Proxier::sync() {
  core::Status result = syncChanges();
  if (lastSync().full) {
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

}  // namespace podnet::proxy
