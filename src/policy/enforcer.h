// NetworkPolicy enforcement on one node, as the service proxy's loop:
// informer handlers record the objects that changed (cheap, under a small
// lock); sync() feeds them to the Compiler and sends its Delta to the
// kernel in one transaction. The first sync, and any sync after a failed
// one, replaces the whole table atomically instead.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "core/result.h"
#include "metrics/metrics.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/netlink_writer.h"

namespace podnet::policy {

struct EnforcerConfig {
  std::string nodeName;
  CompilerOptions compiler;
  // After the first change of a burst, wait this long for more.
  std::chrono::milliseconds coalesce{5};
  std::chrono::milliseconds retryAfterFailure{1000};
  std::function<void(const core::Error&)> onSyncError;
  // A policy the compiler cannot read (never one the API server accepted):
  // it isolates what its podSelector selects and allows nothing.
  std::function<void(const std::string& policy, const core::Error&)> onBadPolicy;
};

struct EnforcerSyncStats {
  bool full = false;
  size_t changes = 0;   // objects applied
  size_t elements = 0;  // set elements written (a full sync: all of them)
  std::chrono::microseconds duration{0};
};

class Enforcer {
 public:
  Enforcer(EnforcerConfig config, std::shared_ptr<ProgramWriter> writer);

  // Informer handlers (any thread).
  void namespaceChanged(const Json& ns);
  void namespaceDeleted(const Json& ns);
  void podChanged(const Json& pod);
  void podDeleted(const Json& pod);
  void policyChanged(const Json& policy);
  void policyDeleted(const Json& policy);
  void nodeChanged(const Json& node);
  void nodeDeleted(const Json& node);

  // Applies everything pending; on error the next sync is a full one.
  core::Status sync();
  bool pending() const;
  EnforcerSyncStats lastSync() const;
  CompilerStats compilerStats() const;
  // Its sync durations and failures, and what is programmed (any thread).
  void writeMetrics(metrics::Writer& out) const;

  // Syncs whenever something changed, until `stop`. Call markReady() first
  // (after the informers synced) so the first transaction is complete.
  void run(const std::atomic<bool>& stop);
  void markReady();
  void wake();

  // Reads the objects as last synced (any thread): the denial log explains
  // the packets the kernel dropped with them.
  template <typename F>
  auto withState(F&& f) const {
    std::shared_lock lock(stateMutex_);
    return f(static_cast<const ClusterState&>(state_));
  }

 private:
  // Pending changes: the latest object per key, or nullopt for a deletion.
  template <typename T>
  using Pending = std::map<std::string, std::optional<T>>;

  void markDirty();

  EnforcerConfig config_;
  std::shared_ptr<ProgramWriter> writer_;
  Compiler compiler_;
  std::atomic<bool> needFull_ = true;

  mutable std::shared_mutex stateMutex_;  // state_: written by sync(), read by withState()
  ClusterState state_;

  mutable std::mutex mutex_;  // everything below
  std::condition_variable wake_;
  bool ready_ = false;
  Pending<Namespace> namespaces_;
  Pending<Pod> pods_;
  Pending<Policy> policies_;
  Pending<std::vector<core::IpAddress>> nodes_;
  // As last recorded, to drop updates that change nothing read here (pod
  // status heartbeats, node heartbeats, a policy relisted unchanged).
  std::map<std::string, Pod> seenPods_;
  std::map<std::string, std::string> seenPolicies_;  // serialized metadata.namespace/name + spec
  std::map<std::string, std::vector<core::IpAddress>> seenNodes_;
  EnforcerSyncStats lastSync_;
  metrics::Histogram syncDuration_;
  metrics::Counter syncFailures_, elementsWritten_;
};

// A policy the compiler could not read, reduced to what is safe: it
// selects by its podSelector (if that parses) for its policyTypes and
// allows nothing. nullopt when not even its selector can be read.
std::optional<Policy> failClosedPolicy(const Json& object);

}  // namespace podnet::policy
