// /metrics over plain HTTP on a port of its own, for the components that
// have no HTTP server of their own (`podnet dns` on :9153 as CoreDNS,
// `podnet agent` on :10249 as kube-proxy): one thread, one request per
// connection, answered and closed (what Prometheus scrapes need), the
// request parsed by the strict parser of src/http.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "core/result.h"
#include "metrics/metrics.h"

namespace podnet::metrics {

class ExpositionServer {
 public:
  // `ready`: what /healthz says (200 "ok" when it holds, else 503); none: always ok.
  ExpositionServer(const Registry& registry, std::function<bool()> ready = nullptr);
  ~ExpositionServer();
  ExpositionServer(const ExpositionServer&) = delete;
  ExpositionServer& operator=(const ExpositionServer&) = delete;

  // Binds `listen` ("ADDR:PORT", ":PORT"; port 0 picks one) and starts serving.
  core::Status start(const std::string& listen);
  void stop();
  uint16_t port() const { return port_; }

 private:
  void serve();
  void answer(int fd);

  const Registry& registry_;
  std::function<bool()> ready_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace podnet::metrics
