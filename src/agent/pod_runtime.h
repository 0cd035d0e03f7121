// The pod runtime: kubelet's part of the agent. It runs the pods bound to
// this node (a sandbox per pod: a network namespace set up through the CNI
// code, plus a shim and its program per container), restarts containers as
// their restartPolicy says, runs their probes, writes their status back,
// and publishes what the node API serves from (nodeapi/pods.h). A restarted
// agent adopts the sandboxes its predecessor left.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "client/client.h"
#include "client/informer.h"
#include "nodeapi/pods.h"

namespace podnet::metrics {
class Writer;
}

namespace podnet::agent {

struct PodRuntimeConfig {
  std::string nodeName;
  std::string nodeIp;
  std::string dataDir;  // sandboxes, IPAM state, logs; survives agent restarts
  std::string clusterDns = "10.96.0.10";
  std::string clusterDomain = "cluster.local";
  std::string selfBinary;  // the podnet binary: shims and the test server
  std::string cniConfig;   // the network configuration every sandbox is set up with
  // Back-off between restarts of a failing container: doubles from `initial`
  // up to `max` (kubelet: 10 s to 5 min; shorter here, for a local cluster).
  std::chrono::milliseconds backoffInitial{1000};
  std::chrono::milliseconds backoffMax{20000};
};

class PodRuntime {
 public:
  // `informers`: the agent's shared ones; the runtime reads Services from
  // them (the service link variables).
  PodRuntime(PodRuntimeConfig config, client::Client& client, client::SharedInformers& informers);
  ~PodRuntime();
  PodRuntime(const PodRuntime&) = delete;
  PodRuntime& operator=(const PodRuntime&) = delete;

  // Takes over the sandboxes a previous agent left (their processes go on).
  void adopt();
  // One pass over this node's pods: start, restart, probe, stop, status.
  void sync();
  // This node's pods as the last sync left them.
  const nodeapi::PodDirectory& directory() const;
  // kubelet's pod metrics (any thread).
  void writeMetrics(metrics::Writer& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::agent
