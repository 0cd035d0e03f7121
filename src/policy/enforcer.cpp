#include "policy/enforcer.h"

#include <thread>

#include "api/object.h"

namespace podnet::policy {

namespace {

std::string keyOf(const Json& object) {
  std::string ns = api::namespaceOf(object);
  if (ns.empty()) ns = "default";
  return ns + "/" + api::name(object);
}

std::vector<core::IpAddress> nodeAddresses(const Json& node) {
  std::vector<core::IpAddress> out;
  if (!node.contains("status") || !node["status"].is_object()) return out;
  const Json& status = node["status"];
  if (!status.contains("addresses") || !status["addresses"].is_array()) return out;
  for (const Json& a : status["addresses"]) {
    if (!a.is_object()) continue;
    std::string type = a.value("type", "");
    if (type != "InternalIP" && type != "ExternalIP") continue;
    if (!a.contains("address") || !a["address"].is_string()) continue;
    if (auto ip = core::IpAddress::parse(a["address"].get<std::string>())) out.push_back(*ip);
  }
  return out;
}

}  // namespace

std::optional<Policy> failClosedPolicy(const Json& object) {
  Policy policy;
  policy.name = api::name(object);
  policy.ns = api::namespaceOf(object);
  if (policy.ns.empty()) policy.ns = "default";
  if (policy.name.empty() || !object.is_object()) return std::nullopt;
  const Json* spec = object.contains("spec") ? &object["spec"] : nullptr;
  if (spec && spec->is_object() && spec->contains("podSelector")) {
    auto selector = api::LabelSelector::fromJson((*spec)["podSelector"]);
    if (!selector) return std::nullopt;
    policy.podSelector = std::move(*selector);
  }
  policy.ingress = true;
  if (spec && spec->is_object() && spec->contains("policyTypes") &&
      (*spec)["policyTypes"].is_array()) {
    bool any = false;
    policy.ingress = false;
    for (const Json& t : (*spec)["policyTypes"]) {
      if (t == "Ingress") policy.ingress = any = true;
      if (t == "Egress") policy.egress = any = true;
    }
    if (!any) policy.ingress = true;
  } else if (spec && spec->is_object() && spec->contains("egress")) {
    policy.egress = true;
  }
  return policy;
}

Enforcer::Enforcer(EnforcerConfig config, std::shared_ptr<ProgramWriter> writer)
    : config_(std::move(config)),
      writer_(std::move(writer)),
      compiler_(config_.nodeName, config_.compiler),
      syncDuration_(metrics::exponentialBuckets(0.001, 2, 15)) {}

void Enforcer::markDirty() { wake_.notify_all(); }

void Enforcer::namespaceChanged(const Json& ns) {
  Namespace parsed = namespaceFromJson(ns);
  std::lock_guard lock(mutex_);
  namespaces_[parsed.name] = std::move(parsed);
  markDirty();
}

void Enforcer::namespaceDeleted(const Json& ns) {
  std::lock_guard lock(mutex_);
  namespaces_[api::name(ns)] = std::nullopt;
  markDirty();
}

void Enforcer::podChanged(const Json& pod) {
  Pod parsed = podFromJson(pod);
  std::string key = parsed.key();
  std::lock_guard lock(mutex_);
  // Most pod updates are status heartbeats nothing here reads.
  auto seen = seenPods_.find(key);
  if (seen != seenPods_.end() && seen->second == parsed) return;
  seenPods_[key] = parsed;
  pods_[key] = std::move(parsed);
  markDirty();
}

void Enforcer::podDeleted(const Json& pod) {
  std::string key = keyOf(pod);
  std::lock_guard lock(mutex_);
  seenPods_.erase(key);
  pods_[key] = std::nullopt;
  markDirty();
}

void Enforcer::policyChanged(const Json& object) {
  std::string key = keyOf(object);
  std::string seen = object.contains("spec") ? object["spec"].dump() : std::string();
  {
    std::lock_guard lock(mutex_);
    auto it = seenPolicies_.find(key);
    if (it != seenPolicies_.end() && it->second == seen) return;
    seenPolicies_[key] = seen;
  }
  auto parsed = policyFromJson(object);
  std::optional<Policy> policy;
  if (parsed) {
    policy = std::move(*parsed);
  } else {
    if (config_.onBadPolicy) config_.onBadPolicy(keyOf(object), parsed.error());
    policy = failClosedPolicy(object);
  }
  std::lock_guard lock(mutex_);
  policies_[key] = std::move(policy);
  markDirty();
}

void Enforcer::policyDeleted(const Json& object) {
  std::lock_guard lock(mutex_);
  seenPolicies_.erase(keyOf(object));
  policies_[keyOf(object)] = std::nullopt;
  markDirty();
}

void Enforcer::nodeChanged(const Json& node) {
  auto addresses = nodeAddresses(node);
  std::lock_guard lock(mutex_);
  auto seen = seenNodes_.find(api::name(node));
  if (seen != seenNodes_.end() && seen->second == addresses) return;
  seenNodes_[api::name(node)] = addresses;
  nodes_[api::name(node)] = std::move(addresses);
  markDirty();
}

void Enforcer::nodeDeleted(const Json& node) {
  std::lock_guard lock(mutex_);
  seenNodes_.erase(api::name(node));
  nodes_[api::name(node)] = std::nullopt;
  markDirty();
}

bool Enforcer::pending() const {
  std::lock_guard lock(mutex_);
  return !namespaces_.empty() || !pods_.empty() || !policies_.empty() || !nodes_.empty() ||
         needFull_;
}

EnforcerSyncStats Enforcer::lastSync() const {
  std::lock_guard lock(mutex_);
  return lastSync_;
}

void Enforcer::writeMetrics(metrics::Writer& out) const {
  using metrics::Type;
  out.family("podnet_policy_sync_duration_seconds",
             "NetworkPolicy program syncs (nftables transactions), in seconds.", Type::histogram);
  out.histogram("podnet_policy_sync_duration_seconds", {}, syncDuration_.bounds(),
                syncDuration_.snapshot());
  auto single = [&](const char* name, const char* help, Type type, double value) {
    out.family(name, help, type);
    out.sample(name, {}, value);
  };
  single("podnet_policy_sync_failures_total",
         "Failed NetworkPolicy transactions (the next sync replaces the program).", Type::counter,
         double(syncFailures_.value()));
  single("podnet_policy_elements_written_total", "Set elements written by NetworkPolicy syncs.",
         Type::counter, double(elementsWritten_.value()));
  CompilerStats stats = compilerStats();
  single("podnet_policy_policies", "NetworkPolicies known.", Type::gauge, double(stats.policies));
  single("podnet_policy_active_policies", "NetworkPolicies selecting a pod of this node.",
         Type::gauge, double(stats.activePolicies));
  single("podnet_policy_rule_elements", "Elements in the rule sets programmed.", Type::gauge,
         double(stats.elements));
  single("podnet_policy_chains", "Per-kind chains programmed, both directions.", Type::gauge,
         double(stats.chains));
}

CompilerStats Enforcer::compilerStats() const {
  std::shared_lock lock(stateMutex_);
  return compiler_.stats();
}

core::Status Enforcer::sync() {
  auto started = std::chrono::steady_clock::now();
  Pending<Namespace> namespaces;
  Pending<Pod> pods;
  Pending<Policy> policies;
  Pending<std::vector<core::IpAddress>> nodes;
  {
    std::lock_guard lock(mutex_);
    namespaces.swap(namespaces_);
    pods.swap(pods_);
    policies.swap(policies_);
    nodes.swap(nodes_);
  }
  EnforcerSyncStats stats;
  stats.changes = namespaces.size() + pods.size() + policies.size() + nodes.size();
  Delta delta;
  {
    std::unique_lock lock(stateMutex_);
    // Namespaces first, so the pods and policies that follow see their labels.
    for (auto& [name, ns] : namespaces) {
      if (ns) {
        compiler_.setNamespace(*ns);
        state_.setNamespace(std::move(*ns));
      } else {
        compiler_.removeNamespace(name);
        state_.removeNamespace(name);
      }
    }
    for (auto& [name, addresses] : nodes) {
      if (addresses)
        state_.setNodeAddresses(name, std::move(*addresses));
      else
        state_.removeNode(name);
    }
    // Pods before policies: a policy that arrives finds its pods' kinds
    // and resolves its peers once, instead of every new kind of pod being
    // checked against every policy already there.
    for (auto& [key, pod] : pods) {
      if (pod) {
        compiler_.setPod(*pod);
        state_.setPod(std::move(*pod));
      } else {
        compiler_.removePod(key);
        state_.removePod(key);
      }
    }
    for (auto& [key, policy] : policies) {
      if (policy) {
        compiler_.setPolicy(*policy);
        state_.setPolicy(std::move(*policy));
      } else {
        compiler_.removePolicy(key);
        state_.removePolicy(key);
      }
    }
    delta = compiler_.takeDelta();
  }
  // Only this thread changes the compiler: reading its program unlocked is safe.
  core::Status status = core::Ok{};
  if (needFull_) {
    stats.full = true;
    const Program& program = compiler_.program();
    stats.elements = elementCount(program);
    status = writer_->replace(program);
  } else if (!delta.empty()) {
    stats.elements = delta.size();
    status = writer_->apply(delta);
  }
  needFull_ = !status.ok();
  stats.duration = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  syncDuration_.observe(std::chrono::duration<double>(stats.duration).count());
  if (status)
    elementsWritten_.inc(stats.elements);
  else
    syncFailures_.inc();
  {
    std::lock_guard lock(mutex_);
    lastSync_ = stats;
  }
  return status;
}

void Enforcer::markReady() {
  std::lock_guard lock(mutex_);
  ready_ = true;
  wake_.notify_all();
}

void Enforcer::wake() { wake_.notify_all(); }

void Enforcer::run(const std::atomic<bool>& stop) {
  while (!stop) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [&] {
        return stop || (ready_ && (!namespaces_.empty() || !pods_.empty() || !policies_.empty() ||
                                   !nodes_.empty() || needFull_));
      });
      if (stop) return;
      if (!ready_) continue;
      if (namespaces_.empty() && pods_.empty() && policies_.empty() && nodes_.empty() && !needFull_)
        continue;
    }
    // A burst (a rollout, an informer's initial list) becomes one transaction.
    std::this_thread::sleep_for(config_.coalesce);
    core::Status status = sync();
    if (!status) {
      if (config_.onSyncError) config_.onSyncError(status.error());
      auto until = std::chrono::steady_clock::now() + config_.retryAfterFailure;
      while (!stop && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace podnet::policy
