// Leader election on a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it, so that of several API servers on one
// etcd only one runs the controllers and the scheduler, and another takes
// over within the lease duration when it dies. `kubectl get lease -n
// kube-system` shows the holder.
//
// The lease is taken when absent, when held by us, or when its record has
// not changed for leaseDuration by our own clock (never by comparing
// renewTime with our clock: servers' clocks differ). Every write is a
// compare-and-swap on resourceVersion, so two candidates never both win.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/client.h"

namespace podnet::controllers {

struct LeaderElectionConfig {
  std::string ns = "kube-system";
  std::string name = "podnet-controller-manager";
  std::string identity;  // this candidate, unique among the servers
  std::chrono::milliseconds leaseDuration{15000};
  std::chrono::milliseconds renewDeadline{10000};  // a leader unable to renew this long steps down
  std::chrono::milliseconds retryPeriod{2000};
};

class LeaderElector {
 public:
  // `startedLeading` and `stoppedLeading` run on the elector's thread.
  LeaderElector(client::Client& client, LeaderElectionConfig config,
                std::function<void()> startedLeading, std::function<void()> stoppedLeading);
  // Stops; a leader hands the lease back (holder cleared) so the next
  // candidate need not wait for it to expire.
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  bool leading() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::controllers
