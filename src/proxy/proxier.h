// The service proxy's control loop, as kube-proxy's: informer handlers record
// which Services changed (cheap, under a small lock); sync() compiles only
// those, diffs them against what it applied, and sends one atomic nftables
// transaction per IP family. A failed transaction makes the next sync a full
// one that replaces the table atomically.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "metrics/metrics.h"
#include "proxy/compiler.h"
#include "proxy/program_state.h"
#include "proxy/service_port.h"

namespace podnet::proxy {

// Where transactions go: the kernel in the agent (netlink_writer.h), a
// recorder in tests.
class RulesetWriter {
 public:
  virtual ~RulesetWriter() = default;
  // Applies the changes to one or more tables as one atomic transaction.
  virtual core::Status apply(const std::vector<Transaction>& changes) = 0;
  // Replaces tables wholesale, as one atomic transaction.
  virtual core::Status replace(const Replacement& replacement) = 0;
};

// A UDP endpoint that stopped serving a Service address: its conntrack
// entries must go, or clients keep sending into the void (kubernetes#19029).
struct StaleUdpFlow {
  std::string serviceIp;  // "" for a NodePort (any local address)
  int port = 0;           // the Service port, or the NodePort
  std::string endpointIp;
  bool operator<(const StaleUdpFlow& o) const {
    return std::tie(serviceIp, port, endpointIp) < std::tie(o.serviceIp, o.port, o.endpointIp);
  }
};

struct ProxierConfig {
  std::string nodeName;
  std::vector<std::string> clusterCidrs;  // pod ranges, any family
  std::string table = "podnet-proxy";
  // The Services are spread over tables ("shards") of at most this many each,
  // by a hash of their name: the kernel re-checks a whole table (every chain
  // reachable from its hooks) on any change to it, so the cost of a change
  // follows the size of one table, not of all (see docs/decisions.md). One
  // table up to this many Services, then 2, 4, ... (names <table>-<i>).
  size_t servicesPerTable = 1000;
  size_t maxTables = 64;
  // After the first change of a burst, wait this long for more before
  // syncing, so a rollout costs a few transactions, not hundreds.
  std::chrono::milliseconds coalesce{10};
  std::chrono::milliseconds retryAfterFailure{1000};
  // Told about every failed sync (run() retries, with a full sync).
  std::function<void(const core::Error&)> onSyncError;
};

struct SyncStats {
  size_t servicesCompiled = 0;
  size_t fullRules = 0;     // kernel rules written by a full sync
  size_t rulesWritten = 0;  // kernel rules in an incremental sync
  size_t tables = 0;        // tables (shards) per family after the sync
  bool full = false;
  std::chrono::microseconds duration{0};
};

class Proxier {
 public:
  Proxier(ProxierConfig config, std::shared_ptr<RulesetWriter> writer);

  // Informer handlers (any thread). Only the proxy's compact form of each
  // object is kept (service_port.h), never the object.
  void serviceChanged(const Json& service);
  void serviceDeleted(const Json& service);
  void sliceChanged(const Json& slice);
  void sliceDeleted(const Json& slice);
  void serviceChanged(const std::shared_ptr<const Json>& service) { serviceChanged(*service); }
  void sliceChanged(const std::shared_ptr<const Json>& slice) { sliceChanged(*slice); }

  // Applies everything pending. On error the next sync is a full one.
  core::Status sync();
  bool pending() const;
  SyncStats lastSync() const;
  // UDP flows made stale by the last successful syncs; the caller clears them.
  std::vector<StaleUdpFlow> takeStaleUdpFlows();

  // Syncs whenever something changed, until `stop`. Call markReady() first
  // (after the informers synced) so the first transaction is complete.
  void run(const std::atomic<bool>& stop);
  void markReady();
  void wake();

  // The ServicePorts last compiled, by Service key, of the Services with
  // load balancer addresses or a health check node port (what the agent
  // announces and health-checks); plain ClusterIP Services are not kept.
  std::map<std::string, std::vector<ServicePort>> servicePorts() const;

  // kube-proxy's metrics (kubeproxy_sync_proxy_rules_*, the same names,
  // units and buckets) and podnet's counts of what is programmed.
  void writeMetrics(metrics::Writer& out) const;

 private:
  core::Status syncChanges();  // sync() but the clean-up after a full one
  void noteStaleUdp(const std::vector<ServicePort>& before, const std::vector<ServicePort>& after);

  // The number of tables for `services` Services, and the table of a Service.
  size_t tablesFor(size_t services) const;
  size_t shardOf(const std::string& serviceKey) const;
  // Fresh, empty programs for `tables` tables per family.
  void resetPrograms(size_t tables);

  ProxierConfig config_;
  std::shared_ptr<RulesetWriter> writer_;
  CompilerConfig compilers_[2];
  std::vector<ProgramState> states_[2];  // per family, one per table
  // Tables a full sync must remove when they are not current: at first every
  // name an earlier run may have left, afterwards the tables we made.
  std::set<std::string> staleTables_[2];
  // Read by run() under mutex_ and written by sync(): atomic.
  std::atomic<bool> needFull_ = true;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool ready_ = false;
  // service key -> its ports without endpoints (empty: headless or
  // ExternalName, known but given no rules)
  std::map<std::string, std::vector<ServicePort>> services_;
  // service key -> slice name -> its endpoints
  std::map<std::string, std::map<std::string, SliceEndpoints>> slices_;
  std::set<std::string> dirty_;
  // What the last sync programmed per Service (guarded by mutex_ for
  // readers): its endpoint count, and its compiled ports only when they are
  // needed after the sync (keptAfterSync in proxier.cpp: UDP ports for stale
  // flows, load balancer addresses, health checks), so 10k ClusterIP
  // Services do not keep a second copy of their endpoints.
  struct Programmed {
    std::vector<ServicePort> ports;
    size_t endpoints = 0;
  };
  std::map<std::string, Programmed> programmed_;
  std::set<StaleUdpFlow> staleUdp_;
  SyncStats lastSync_;
  size_t pendingServiceChanges_ = 0, pendingEndpointChanges_ = 0;  // under mutex_

  // Metrics (any thread reads them at scrape time).
  metrics::Histogram syncDuration_, fullSyncDuration_, partialSyncDuration_;
  metrics::Counter serviceChanges_, endpointChanges_, syncFailures_, rulesWritten_;
  metrics::Gauge lastSyncSeconds_, lastQueuedSeconds_;
};

}  // namespace podnet::proxy
