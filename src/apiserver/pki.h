// The server's credentials, made with OpenSSL 3 on first start and reused on
// every later one: a CA, a serving certificate it signs, and the admin
// bearer token; plus the kubeconfig that hands them to kubectl.
#pragma once

#include <string>
#include <vector>

#include "client/kubeconfig.h"
#include "core/files.h"
#include "core/result.h"

namespace podnet::apiserver {

struct Pki {
  std::string caCertPem;
  std::string caKeyPem;
  std::string serverCertPem;
  std::string serverKeyPem;
  std::string adminToken;
  // What the server presents to the agents' node API (kubelet's port) when
  // it proxies logs, exec, attach and port-forward: kube-apiserver's
  // --kubelet-client-certificate, CN kube-apiserver-kubelet-client in
  // system:masters.
  std::string kubeletClientCertPem;
  std::string kubeletClientKeyPem;
};

// Reads DIR/pki/{ca.crt,ca.key,server.crt,server.key,admin.token}, creating
// what is missing. The serving certificate covers localhost, 127.0.0.1, the
// in-cluster names of the kubernetes Service, `serviceIp` and `extraHosts`
// (DNS names or IPs); it is re-issued by the same CA when one of those is
// not covered any more (a new --listen address) or it is about to expire.
core::Result<Pki> loadOrCreatePki(const std::string& dataDir, const std::string& serviceIp,
                                  const std::vector<std::string>& extraHosts);

using client::kubeconfigYaml;  // client/kubeconfig.h

using core::writeFileAtomically;  // core/files.h

}  // namespace podnet::apiserver
