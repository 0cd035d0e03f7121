// The controllers that run inside `podnet server`: IP and port allocation
// (as admission hooks, so a created Service comes back with its clusterIP),
// Node podCIDRs, EndpointSlices and Endpoints, Deployments -> ReplicaSets ->
// Pods, the scheduler, namespaces (built-ins and cascading deletion), and
// LoadBalancer addresses from a configured pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "registry/registry.h"

namespace podnet::controllers {

struct Config {
  std::string serviceCidr = "10.96.0.0/12";
  std::string clusterCidr = "10.244.0.0/16";
  int nodeCidrPrefix = 24;
  int nodePortMin = 30000;
  int nodePortMax = 32767;
  // Addresses for LoadBalancer Services (LoadBalancerPool::parse syntax,
  // e.g. "172.30.0.200-172.30.0.250"); empty: they stay pending.
  std::string loadBalancerPool;
  // The cluster CA (PEM) published in every namespace as the ConfigMap
  // kube-root-ca.crt; empty: not published.
  std::string rootCaPem;
  // Test hook (podnet server --test-cronjob-backdate): the CronJob
  // controller schedules as if every CronJob had been created this many
  // seconds earlier, so a test sees a run come due without waiting for it.
  int64_t cronJobBackdateSeconds = 0;
  // How often the leader checks that the Service IP and NodePort claims
  // match the Services (service_allocator.h); a claim is released once it
  // was seen orphaned at two checks in a row.
  int claimRepairSeconds = 60;
};

// Running controllers; destroying the handle stops their threads.
class Manager {
 public:
  virtual ~Manager() = default;
};

// Installs the admission hooks on `registry` (allocators rebuilt from what is
// stored, so nothing leaks across restarts; DefaultIngressClass,
// DefaultStorageClass, ServiceAccount), makes sure the built-in objects exist
// (namespaces default, kube-system, kube-public; the `kubernetes` Service at
// the first service IP; the default StorageClass `standard`), then starts the
// controller threads.
core::Result<std::unique_ptr<Manager>> start(registry::Registry& registry, const Config& config);

// The two halves of start(), for several API servers on one store: every
// server installs the admission hooks (they run on its own requests); only
// the leader (leader_election.h) runs the controllers.
core::Status installAdmission(registry::Registry& registry, const Config& config);
core::Result<std::unique_ptr<Manager>> startControllers(registry::Registry& registry,
                                                        const Config& config);

}  // namespace podnet::controllers
