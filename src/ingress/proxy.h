// The ingress proxy's serving side: N threads, each with its own event loop
// and its own SO_REUSEPORT listeners (HTTP and HTTPS), so the kernel spreads
// connections and no lock is taken per request; a routing snapshot that
// publish() swaps (threads pick the new one up at their next request, the
// exchanges running keep theirs: no reload, no dropped connection); TLS
// certificates chosen by SNI from the snapshot, the default certificate
// self-signed as ingress-nginx's; /metrics and /healthz on their own port.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "ingress/exchange.h"
#include "ingress/http1_connection.h"
#include "ingress/metrics.h"
#include "ingress/routes.h"
#include "ingress/stream.h"

namespace podnet::ingress {

struct ProxyOptions {
  std::string httpListen = ":80";        // "" for none
  std::string httpsListen = ":443";      // "" for none
  std::string metricsListen = ":10254";  // /metrics and /healthz, as ingress-nginx; "" for none
  int threads = 0;                       // 0: one per CPU
  size_t maxConnectionsPerThread = 16384;
  // Idle upstream keep-alive connections kept per endpoint and thread
  // (ingress-nginx's upstream-keepalive-connections: 320); fewer than the
  // clients' concurrency means reconnecting under load.
  size_t idlePerEndpoint = 320;
  uint64_t upstreamIdleTimeoutMs = 60000;
  ClientSettings client;
  ExchangeSettings exchange;
};

// A certificate's TLS context, and the PEM it was made from.
struct TlsContext {
  std::string pem;  // certificate then key
  std::shared_ptr<SSL_CTX> context;
};
// The TLS contexts of one snapshot, by the Secret (ns/name) they serve.
struct TlsContexts {
  std::unordered_map<std::string, std::shared_ptr<const TlsContext>> bySecret;
};

class Proxy {
 public:
  explicit Proxy(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds every listener and starts the threads.
  core::Status start();
  void stop();

  // Serves `table` to requests from now on. Certificates whose PEM did not
  // change keep their TLS context.
  void publish(std::shared_ptr<const RoutingTable> table, size_t diagnostics = 0);

  // Ports bound (a listen address with port 0 gets one from the kernel).
  uint16_t httpPort() const { return httpPort_; }
  uint16_t httpsPort() const { return httpsPort_; }
  uint16_t metricsPort() const { return metricsPort_; }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::string metricsText();
  // The Gateway ports listened on now (the last published table's).
  std::vector<uint16_t> gatewayPorts();
  // What /healthz says: 200 once `ready` holds (set before start()), else 503.
  void setReadyCheck(std::function<bool()> ready) { ready_ = std::move(ready); }
  bool isReady() const { return !ready_ || ready_(); }

  class Worker;  // one serving thread

 private:
  friend class Worker;
  struct Published {
    std::shared_ptr<const Snapshot> snapshot;
    std::shared_ptr<const TlsContexts> tls;
  };
  Published current();
  // Opens the published table's Gateway ports (every thread, SO_REUSEPORT)
  // and closes those it no longer has.
  void syncGatewayListeners(const RoutingTable& table);

  ProxyOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t httpPort_ = 0, httpsPort_ = 0, metricsPort_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::mutex publishedMutex_;
  Published published_;
  std::shared_ptr<SSL_CTX> defaultContext_;  // the fake certificate; SNI switches from it
  std::mutex gaugesMutex_;
  ControllerGauges gauges_;
  bool started_ = false;
  std::mutex gatewayMutex_;
  std::map<uint16_t, bool> gatewayListeners_;  // port -> TLS
  std::function<bool()> ready_;
};

}  // namespace podnet::ingress
