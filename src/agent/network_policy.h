// The agent's NetworkPolicy enforcement: informers for Pods, Namespaces,
// NetworkPolicies and Nodes feed a policy::Enforcer that programs this
// node's nftables; the denied connections the kernel logs to nflog are
// named (pods, policies), kept in a bounded record written to
// DATA/policy/denials.log for `podnet policy log`, and reported as a
// Warning Event on the pod that was refused (at most once a minute per
// source).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "client/client.h"
#include "client/informer.h"
#include "core/result.h"

namespace podnet::metrics {
class Writer;
}

namespace podnet::agent {

struct NetworkPolicyConfig {
  std::string nodeName;
  std::string dataDir;
  uint16_t nflogGroup = 4201;
};

class NetworkPolicy {
 public:
  NetworkPolicy(NetworkPolicyConfig config, client::Client& client,
                client::SharedInformers& informers);
  ~NetworkPolicy();
  // Registers the informer handlers and starts the sync and denial threads
  // (they wait for the informers to sync). The nftables and nflog sockets
  // live in the calling thread's network namespace.
  core::Status start();
  void stop();
  // Sync durations, what is programmed, denied connections by direction.
  void writeMetrics(metrics::Writer& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::agent
