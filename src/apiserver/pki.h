// The server's credentials, made with OpenSSL 3 on first start and reused on
// every later one: a CA, a serving certificate it signs, and the admin
// bearer token; plus the kubeconfig that hands them to kubectl.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace podnet::apiserver {

struct Pki {
  std::string caCertPem;
  std::string caKeyPem;
  std::string serverCertPem;
  std::string serverKeyPem;
  std::string adminToken;
};

// Reads DIR/pki/{ca.crt,ca.key,server.crt,server.key,admin.token}, creating
// what is missing. The serving certificate covers localhost, 127.0.0.1, the
// in-cluster names of the kubernetes Service, `serviceIp` and `extraHosts`
// (DNS names or IPs); it is re-issued by the same CA when one of those is
// not covered any more (a new --listen address) or it is about to expire.
core::Result<Pki> loadOrCreatePki(const std::string& dataDir, const std::string& serviceIp,
                                  const std::vector<std::string>& extraHosts);

// A kubeconfig with one cluster, user and context named podnet.
std::string kubeconfigYaml(const std::string& serverUrl, const std::string& caCertPem,
                           const std::string& token);

// Writes a file atomically (temp file, fsync, rename) with the given mode.
core::Status writeFileAtomically(const std::string& path, const std::string& content, int mode);

}  // namespace podnet::apiserver
