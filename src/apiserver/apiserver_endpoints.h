// The endpoints of the `kubernetes` Service: where the API servers
// listen, as kube-apiserver's endpoint reconciler publishes them (an
// Endpoints object and an EndpointSlice, both named "kubernetes").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"

namespace podnet::apiserver {

core::Status publishApiServerEndpoints(client::Client& client, const std::string& ip,
                                       uint16_t port);
// The same for several servers: every address in `ips` (sorted), one port.
core::Status publishApiServerEndpoints(client::Client& client, std::vector<std::string> ips,
                                       uint16_t port);

// Several API servers on one store, as kube-apiserver's lease endpoint
// reconciler: each server renews a Lease kube-system/apiserver-<ip> (label
// apiserver.kubernetes.io/identity=kube-apiserver) every `renew`, and
// publishes every server whose lease is younger than `expiry`; a server
// that stops deletes its lease and publishes the others, one that dies
// drops out once its lease expires. The servers share one port, as
// kube-apiserver's must.
class ApiServerEndpointReconciler {
 public:
  ApiServerEndpointReconciler(client::Client& client, std::string ip, uint16_t port,
                              std::chrono::seconds renew = std::chrono::seconds(10),
                              std::chrono::seconds expiry = std::chrono::seconds(30));
  ~ApiServerEndpointReconciler();  // stop()
  void start();
  // Deletes this server's lease and publishes the servers left.
  void stop();
  // One round: renew, then publish (what the thread does every `renew`).
  core::Status reconcile();

 private:
  core::Status publishLive(const std::string& leaving);

  client::Client& client_;
  std::string ip_;
  uint16_t port_;
  std::chrono::seconds renew_, expiry_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace podnet::apiserver
