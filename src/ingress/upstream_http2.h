// One request to a gRPC backend over HTTP/2 (h2c, or h2 over TLS), as the
// client side of an nghttp2 session on a connection of its own: the
// request's headers and body out, the response's head, body and trailers
// (grpc-status) back through a sink. Bytes move through the connection's
// buffers; the caller does the socket I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1.h"
#include "ingress/buffer.h"

using nghttp2_session = struct nghttp2_session;

namespace podnet::ingress {

class UpstreamHttp2Sink {
 public:
  virtual ~UpstreamHttp2Sink() = default;
  virtual void onHttp2Head(int status, std::vector<http::Header> headers, bool endStream) = 0;
  virtual void onHttp2Data(std::string_view payload) = 0;
  virtual void onHttp2Trailers(std::vector<http::Header> trailers) = 0;
  // The stream is over: error 0 after a complete response, else the reset's code.
  virtual void onHttp2End(uint32_t error) = 0;
};

class UpstreamHttp2 {
 public:
  explicit UpstreamHttp2(UpstreamHttp2Sink& sink) : sink_(sink) {}
  ~UpstreamHttp2();
  UpstreamHttp2(const UpstreamHttp2&) = delete;
  UpstreamHttp2& operator=(const UpstreamHttp2&) = delete;

  // `headers`: the pseudo-headers first (:method, :scheme, :authority,
  // :path), then the rest with lowercase names. False if nghttp2 refused.
  bool start(const std::vector<http::Header>& headers, bool hasBody);
  void body(std::string_view payload);
  void endBody();
  // Feeds what arrived in `in` (consumed) and appends what to send to
  // `out`. False on a protocol error (the connection is unusable).
  bool pump(Buffer& in, Buffer& out);
  size_t bufferedBody() const { return body_.size(); }

 private:
  friend struct UpstreamHttp2Callbacks;
  UpstreamHttp2Sink& sink_;
  nghttp2_session* session_ = nullptr;
  int32_t stream_ = -1;
  Buffer body_;
  bool bodyEnded_ = false, deferred_ = false, hasBody_ = false;
  int status_ = 0;
  std::vector<http::Header> headers_;
  bool headDelivered_ = false;
};

}  // namespace podnet::ingress
