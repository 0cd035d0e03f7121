// The node agent: registers its Node, runs the pods bound to it (a network
// namespace set up through the CNI code, plus processes), writes their status
// back, and programs the routes to the other nodes' podCIDRs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "agent/node_network.h"
#include "client/client.h"

namespace podnet::agent {

struct AgentConfig {
  std::string nodeName;
  std::string dataDir;  // sandboxes, IPAM state, logs; survives agent restarts
  std::string nodeIp;   // empty: the first global IPv4 address of this namespace
  OverlayMode overlay = OverlayMode::hostGw;
  std::string clusterCidr = "10.244.0.0/16";
  std::string serviceCidr = "10.96.0.0/12";
  std::string clusterDns = "10.96.0.10";
  std::string clusterDomain = "cluster.local";
  std::string bridge = "cni0";
  bool serviceProxy = true;    // program Services into this node's nftables
  bool networkPolicy = true;   // enforce NetworkPolicies in this node's nftables
  uint16_t nflogGroup = 4201;  // where the kernel logs denied connections
  // The node API (kubelet's port): served when a certificate is given; only
  // clients with a certificate from the client CA get in.
  std::string tlsCertFile, tlsKeyFile, clientCaFile;
  uint16_t nodeApiPort = 10250;
  // /metrics (kube-proxy's names) and /healthz over HTTP, as kube-proxy's
  // metricsBindAddress; "" for none.
  std::string metricsBindAddress = "127.0.0.1:10249";
  std::string selfBinary;  // the podnet binary, for the test server; empty: /proc/self/exe
  std::chrono::milliseconds syncPeriod{200};
  std::chrono::seconds heartbeatPeriod{10};
  // Back-off between restarts of a failing container: doubles from `initial`
  // up to `max` (kubelet: 10 s to 5 min; shorter here, for a local cluster).
  std::chrono::milliseconds backoffInitial{1000};
  std::chrono::milliseconds backoffMax{20000};
};

class Agent {
 public:
  Agent(AgentConfig config, std::shared_ptr<client::Client> client);
  ~Agent();
  // Runs until `stop` is set. Returns a non-zero code on a fatal setup error.
  int run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::agent
