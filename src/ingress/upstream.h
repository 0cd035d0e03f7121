// Connections to backend endpoints and, per proxy thread, the pool of idle
// keep-alive ones (as nginx's `keepalive N` per upstream and worker): a
// request takes an idle connection to its endpoint or starts a new
// non-blocking connect; a finished exchange gives the connection back when
// both sides allow it. An idle connection the backend closes is dropped at
// once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ingress/buffer.h"
#include "ingress/event_loop.h"
#include "ingress/routes.h"
#include "ingress/stream.h"

namespace podnet::ingress {

class UpstreamConnection;

// Who gets an upstream connection's events while it is in use.
class UpstreamUser {
 public:
  virtual ~UpstreamUser() = default;
  virtual void onUpstreamIo(UpstreamConnection& connection, uint32_t events) = 0;
};

class UpstreamPool;

class UpstreamConnection : public IoHandler {
 public:
  UpstreamConnection(UpstreamPool& pool, const Endpoint& endpoint, bool tls);
  ~UpstreamConnection() override;

  void onIo(uint32_t events) override;
  void onDeadline() override;

  // Finishes the connect (progress when connected, wouldBlock meanwhile).
  IoState finishConnect();

  const Endpoint endpoint;
  const bool tls;
  std::unique_ptr<Stream> stream;
  Buffer in, out;
  bool connected = false;
  bool readable = false, writable = false;
  bool reused = false;  // it served a request before this one
  UpstreamUser* user = nullptr;
  void* tag = nullptr;  // the user's (which exchange this is)

 private:
  friend class UpstreamPool;
  UpstreamPool& pool_;
  int connectError_ = 0;
};

class UpstreamPool {
 public:
  UpstreamPool(EventLoop& loop, size_t idlePerEndpoint, uint64_t idleTimeoutMs)
      : loop_(loop), idlePerEndpoint_(idlePerEndpoint), idleTimeoutMs_(idleTimeoutMs) {}
  ~UpstreamPool();

  // An idle connection to `endpoint`, else a new one with its connect
  // started; nullptr if no socket could be made (error in `why`). `http2`:
  // a new connection for HTTP/2 (gRPC backends: never pooled; TLS offers h2
  // by ALPN).
  UpstreamConnection* acquire(const Endpoint& endpoint, bool tls, UpstreamUser* user, void* tag,
                              std::string& why, bool http2 = false);
  // Gives a connection back: kept idle if `reusable` and there is room,
  // else closed.
  void release(UpstreamConnection* connection, bool reusable);
  size_t idleCount() const;
  EventLoop& loop() { return loop_; }

 private:
  friend class UpstreamConnection;
  void drop(UpstreamConnection* connection);  // an idle one closed
  // Idle connections by endpoint and protocol, without building a string
  // per request.
  struct Key {
    Endpoint endpoint;
    bool tls = false;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  EventLoop& loop_;
  size_t idlePerEndpoint_;
  uint64_t idleTimeoutMs_;
  std::unordered_map<Key, std::vector<UpstreamConnection*>, KeyHash> idle_;
  SSL_CTX* clientTls_ = nullptr;  // backend-protocol HTTPS (no verification, as ingress-nginx)
};

}  // namespace podnet::ingress
