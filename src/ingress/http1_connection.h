// A client connection speaking HTTP/1.x (over TCP or TLS): reads request
// heads with the strict parser, runs one Exchange per request (pipelined
// requests wait their turn), frames the response for the client (length,
// chunked, or until close for HTTP/1.0), and turns into a tunnel after a
// 101. Timeouts for slow heads and bodies and for idle keep-alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http1.h"
#include "ingress/buffer.h"
#include "ingress/event_loop.h"
#include "ingress/exchange.h"
#include "ingress/stream.h"
#include "ingress/upstream.h"

namespace podnet::ingress {

// Client-side limits and timeouts (nginx's defaults).
struct ClientSettings {
  uint64_t headerTimeoutMs = 60000;     // client_header_timeout
  uint64_t bodyTimeoutMs = 60000;       // client_body_timeout (between reads)
  uint64_t keepAliveTimeoutMs = 75000;  // keepalive_timeout
  uint64_t handshakeTimeoutMs = 10000;
  http::Limits limits;
};

// What a connection needs from its proxy thread.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual WorkerContext& context() = 0;
  virtual const ClientSettings& clientSettings() const = 0;
  // The routing snapshot new requests use.
  virtual std::shared_ptr<const Snapshot> snapshot() = 0;
  virtual void connectionClosed() = 0;
  // A TLS connection whose client chose HTTP/2 by ALPN: the owner takes
  // the stream (and this connection retires).
  virtual void startHttp2(std::unique_ptr<Stream> stream, const std::string& clientIp,
                          uint16_t serverPort) = 0;
};

class Http1Connection : public IoHandler, public UpstreamUser, public ClientSide {
 public:
  Http1Connection(ConnectionOwner& owner, std::unique_ptr<Stream> stream, std::string clientIp,
                  uint16_t serverPort);
  ~Http1Connection() override;

  // Registers with the loop; false if it could not (the caller deletes it).
  bool start();

  void onIo(uint32_t events) override;
  void onDeadline() override;
  void onUpstreamIo(UpstreamConnection& connection, uint32_t events) override;

  void sendContinue() override;
  void sendResponseHead(const http::ResponseHead& head, const ResponseShape& shape,
                        std::string_view extraHeaders) override;
  void sendResponseBody(std::string_view payload) override;
  void endResponse() override;
  void sendLocal(const LocalResponse& response) override;
  void abortResponse() override;
  size_t queuedTowardsClient() const override { return out_.size(); }

 private:
  enum class State { handshake, head, body, waiting, tunnel, closing, closed };
  enum class RequestBody { none, length, chunked };

  void drive();
  bool readClient();
  bool processInput();
  bool startRequest();
  bool feedBody();
  bool finishExchange();
  void refuse(int status);  // a request that cannot be parsed: answer and close
  void close();
  void updateDeadline();
  bool wantsRead() const;

  ConnectionOwner& owner_;
  WorkerContext& worker_;
  std::unique_ptr<Stream> stream_;
  std::string clientIp_;
  uint16_t serverPort_;
  State state_;
  Buffer in_, out_;
  bool readable_ = true, writable_ = true, clientEof_ = false;
  std::unique_ptr<Exchange> exchange_;
  // The request being read.
  RequestBody requestBody_ = RequestBody::none;
  uint64_t bodyRemaining_ = 0;
  http::ChunkedDecoder chunks_;
  std::string scratch_;
  bool http10_ = false, keepAlive_ = true, headRequest_ = false;
  // The response being written.
  BodyFraming responseFraming_ = BodyFraming::none;
  bool responseEnded_ = false;
  bool closeAfterResponse_ = false;
  uint64_t lastActivity_ = 0;
};

}  // namespace podnet::ingress
