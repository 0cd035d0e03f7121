// The Store on etcd (3.4 and later) through its gRPC API: the state of a
// cluster several API servers share. Keys are laid out as kube-apiserver
// lays them (/registry/<resource>/[<namespace>/]<name>, with /registry
// replaced by `prefix`), so etcdctl and kube's tools read them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace podnet::store {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://host:2379"
  std::string prefix = "/registry";
  // TLS (any of them set: https): the CA that signed the members' serving
  // certificates, and our client certificate and key when etcd asks for one.
  std::string caPem, certPem, keyPem;
  // Every call's deadline: a member that lost its leader is left for the
  // next endpoint after it (a new election takes ~1.5 s).
  std::chrono::milliseconds requestTimeout{2000};
  // A watcher with more undelivered events than this gets 410 Expired.
  size_t maxWatchBacklog = 50000;
  // How often the servers on one etcd compact its history, keeping one
  // interval of it (kube-apiserver's --etcd-compaction-interval); 0: never.
  std::chrono::milliseconds compactionInterval{std::chrono::minutes(5)};
};

// Connects and reads the current revision once, so a wrong address or a
// cluster without quorum is an error now (503) rather than later.
core::Result<std::unique_ptr<Store>> openEtcd(const EtcdOptions& options);

}  // namespace podnet::store
