// A client connection speaking HTTP/2 (TLS with ALPN h2), framed by
// nghttp2 (Debian's libnghttp2: HPACK, flow control, stream states and the
// protocol's own validation of header fields and lengths). Each stream is
// one Exchange, as an HTTP/1 request is; upstreams still speak HTTP/1.1.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ingress/buffer.h"
#include "ingress/event_loop.h"
#include "ingress/exchange.h"
#include "ingress/http1_connection.h"
#include "ingress/stream.h"
#include "ingress/upstream.h"

using nghttp2_session = struct nghttp2_session;

namespace podnet::ingress {

class Http2Connection : public IoHandler {
 public:
  Http2Connection(ConnectionOwner& owner, std::unique_ptr<Stream> stream, std::string clientIp,
                  uint16_t serverPort);
  ~Http2Connection() override;

  // Registers with the loop and sends the server preface; false if it
  // could not (the caller deletes it).
  bool start();
  void onIo(uint32_t events) override;
  void onDeadline() override;

  class H2Stream;  // one request/response

 private:
  friend class H2Stream;
  friend struct Http2Callbacks;
  void drive();
  void close();
  void updateDeadline();
  H2Stream* streamFor(int32_t id);

  ConnectionOwner& owner_;
  WorkerContext& worker_;
  std::unique_ptr<Stream> stream_;
  std::string clientIp_;
  uint16_t serverPort_;
  nghttp2_session* session_ = nullptr;
  Buffer in_, out_;
  bool readable_ = true, writable_ = true, closed_ = false, driving_ = false, again_ = false;
  std::map<int32_t, std::unique_ptr<H2Stream>> streams_;
  uint64_t lastActivity_ = 0;
};

}  // namespace podnet::ingress
