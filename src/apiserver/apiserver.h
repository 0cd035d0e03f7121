// `podnet server`: the API server process. Credentials and kubeconfig in the
// data dir, the SQLite store, the registry, the in-process controllers and
// the HTTPS front end, until SIGTERM or SIGINT.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controllers/controllers.h"
#include "core/result.h"

namespace podnet::apiserver {

struct ServerOptions {
  std::string dataDir;
  std::string listen = "127.0.0.1:6443";  // ADDR:PORT or [V6ADDR]:PORT; port 0 picks one
  controllers::Config controllers;
  // Revisions of history kept for watches and lists (store compaction).
  int64_t historyRevisions = 100000;
  int threads = 0;  // HTTP threads; 0 = twice the cores
  // The Store on etcd instead of DATA_DIR/state.db (--etcd-servers, as
  // kube-apiserver's flags): member URLs, key prefix, and TLS files.
  std::vector<std::string> etcdServers;
  std::string etcdPrefix = "/registry";
  std::string etcdCaFile, etcdCertFile, etcdKeyFile;
  // kube-apiserver's --encryption-provider-config: an EncryptionConfiguration
  // (encryption/encryption_config.h); "" stores every value as it is.
  std::string encryptionProviderConfig;
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "127.0.0.1:6443", "[::1]:6443", ":6443" (all addresses).
core::Result<HostPort> parseHostPort(const std::string& text);

// Blocks until SIGTERM or SIGINT; returns the process exit code.
int runServer(const ServerOptions& options);

}  // namespace podnet::apiserver
