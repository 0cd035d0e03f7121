// The agent's service proxy: informers for Services, EndpointSlices and
// Nodes feed a proxy::Proxier that programs this node's nftables; around it,
// what kube-proxy and MetalLB's speaker do on a node: stale UDP conntrack
// entries are deleted, healthCheckNodePorts are served, and the load
// balancer addresses this node is elected for are added to its device so it
// answers ARP for them (MetalLB layer-2 mode).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "client/client.h"
#include "client/informer.h"
#include "core/result.h"

namespace podnet::metrics {
class Writer;
}

namespace podnet::agent {

struct ServiceProxyConfig {
  std::string nodeName;
  std::string nodeDevice;  // where announced load balancer addresses go
  std::string clusterCidr;
  std::string dataDir;  // remembers the announced addresses across restarts
};

class ServiceProxy {
 public:
  // Reads Services, EndpointSlices and Nodes from `informers` (the agent's,
  // shared with its other parts; the agent starts them).
  ServiceProxy(ServiceProxyConfig config, client::Client& client,
               client::SharedInformers& informers);
  ~ServiceProxy();
  // Registers the informer handlers and starts the sync and maintenance
  // threads, which wait for the informers to sync. The nftables context
  // lives in the calling thread's namespace.
  core::Status start();
  void stop();
  // kube-proxy's metrics (after start()).
  void writeMetrics(metrics::Writer& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The node that answers for load balancer address `ip` among `candidates`
// (every agent computes the same answer, so they need not talk): the one
// with the smallest hash of node name and address, as MetalLB spreads them.
std::string electedNode(const std::string& ip, const std::vector<std::string>& candidates);

}  // namespace podnet::agent
