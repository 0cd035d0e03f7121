// The HTTPS transport: Boost.Beast over Asio with TLS (OpenSSL), HTTP/1.1
// keep-alive, a pool of threads running one io_context. Requests go to a
// Handler; watches get a thread of their own that streams chunked events.
// Beast and Asio stay inside http_server.cpp (their headers are heavy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apiserver/handler.h"
#include "core/result.h"

namespace podnet::apiserver {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6443;  // 0 picks a free port (see HttpServer::port)
  std::string certPem;   // the serving certificate chain
  std::string keyPem;
  int threads = 0;  // 0: twice the number of cores
  // How the server reaches the nodes' API for pods/log, exec, attach and
  // portforward: its client certificate, and the CA the nodes' serving
  // certificates must chain to. Empty: those subresources answer 503.
  std::string kubeletClientCertPem, kubeletClientKeyPem, kubeletCaPem;
};

class HttpServer {
 public:
  HttpServer(Handler& handler, HttpServerOptions options);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads.
  core::Status start();
  // The bound port (after start).
  uint16_t port() const;
  // Stops accepting, ends running watches (each gets its final chunk), and
  // joins every thread. Idempotent.
  void stop();

  struct Impl;  // opaque: defined in http_server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::apiserver
