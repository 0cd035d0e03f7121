// One request's trip through the proxy, whichever protocol the client
// speaks: routing (or an answer of the proxy's own: 404, redirects, 403,
// 413, 503), the upstream connection (pooled or new, a failed connect or a
// dead pooled connection retried on another endpoint), the request body
// out and the response back, with flow control both ways and timeouts.
//
// The client's connection drives it: it hands over the request and its
// body, calls advance() whenever the upstream connection had events or the
// client drained its output, and gets the response through ClientSide.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "http/http1.h"
#include "ingress/messages.h"
#include "ingress/routes.h"
#include "ingress/upstream.h"
#include "ingress/upstream_http2.h"

namespace podnet::ingress {

struct ProxyStats;

// Timeouts and limits (ingress-nginx's defaults; annotations override the
// upstream ones per Ingress).
struct ExchangeSettings {
  uint64_t connectTimeoutMs = 5000;
  uint64_t readTimeoutMs = 60000;
  uint64_t sendTimeoutMs = 60000;
  uint64_t bodyLimit = 1024 * 1024;  // proxy-body-size 1m; 0 = none
  int maxAttempts = 3;               // proxy-next-upstream-tries
};

// What every exchange of one proxy thread shares.
struct WorkerContext {
  EventLoop& loop;
  UpstreamPool& pool;
  ProxyStats& stats;
  const ExchangeSettings& settings;
  std::mt19937 random;  // full 32-bit draws (canary weights scale them)
};

// The routing snapshot an exchange holds on to while it runs.
struct Snapshot {
  std::shared_ptr<const RoutingTable> table;
  uint64_t generation = 0;
};

// How the response body reaches the client.
struct ResponseShape {
  bool hasBody = true;
  std::optional<uint64_t> length;  // nullopt: until the upstream's end
  bool upgrade = false;            // 101: the connection becomes a tunnel
};

// The client's side of an exchange (an HTTP/1 connection or an HTTP/2 stream).
class ClientSide {
 public:
  virtual ~ClientSide() = default;
  virtual void sendContinue() = 0;  // 100 Continue
  virtual void sendResponseHead(const http::ResponseHead& head, const ResponseShape& shape,
                                std::string_view extraHeaders) = 0;
  virtual void sendResponseBody(std::string_view payload) = 0;
  virtual void endResponse() = 0;
  // The proxy's own answer, instead of an upstream's.
  virtual void sendLocal(const LocalResponse& response) = 0;
  // The upstream failed after the head went out: cut the response short.
  virtual void abortResponse() = 0;
  // Trailer fields after the body (gRPC's grpc-status); before endResponse().
  // Only HTTP/2 carries them.
  virtual void sendTrailers(const std::vector<http::Header>& trailers) { (void)trailers; }
  // Response bytes queued towards the client, not yet written.
  virtual size_t queuedTowardsClient() const = 0;
};

class Exchange : private UpstreamHttp2Sink {
 public:
  Exchange(WorkerContext& worker, ClientSide& client, UpstreamUser& user,
           std::shared_ptr<const Snapshot> snapshot, ProxyRequest request, bool expectContinue);
  ~Exchange() override;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Routes the request: an answer of the proxy's own, or the upstream
  // connection started.
  void start();
  // The request body's payload, in order; requestEnd() after the last byte.
  void requestBody(std::string_view payload);
  void requestEnd();
  // Whether more request body can be taken now (flow control).
  bool acceptsRequestBody() const;
  // Moves what can move between the upstream and the client; true if
  // anything did.
  bool advance();
  // Timeouts: the loop time after which checkTimeout() has work (0: none).
  uint64_t deadline() const {
    if (requestDeadline_ == 0) return deadline_;
    return deadline_ == 0 ? requestDeadline_ : std::min(deadline_, requestDeadline_);
  }
  void checkTimeout(uint64_t now);

  // The response is complete (or the proxy answered itself).
  bool finished() const { return phase_ == Phase::done || phase_ == Phase::failed; }
  // The client connection cannot carry another request after this one
  // (the request body was not read to its end, or the response was cut).
  bool closesClient() const { return closeClient_; }
  bool tunnel() const { return phase_ == Phase::tunnel; }
  const ProxyRequest& request() const { return request_; }

 private:
  enum class Phase { routing, upstream, tunnel, done, failed };
  enum class BodyState { head, length, chunked, untilClose, none };

  void answer(LocalResponse response);
  // Routing: false when the proxy answered itself.
  bool routeIngress(const RoutingTable& table, const std::string& path);
  bool routeGateway(const RoutingTable& table, const std::string& path);
  LocalResponse gatewayRedirect(const Redirect& redirect, const RouteMatch& match,
                                const std::string& path) const;
  void forward();
  void sendMirrors(std::string_view request);
  bool connectTo(const Endpoint& endpoint);
  void retryOrFail(int status, bool mayRetry);
  bool processUpstreamInput();
  void startResponse(const http::ResponseHead& head);
  void finishResponse();
  void releaseUpstream(bool reusable);
  void frameRequestBody(std::string_view payload);
  void appendToUpstream(std::string_view bytes);
  // What went upstream, kept (while small) to send again on a retry.
  void keepForReplay(std::string_view bytes);
  bool idempotent() const;
  // gRPC: the request over HTTP/2 to the backend.
  bool processHttp2();
  void onHttp2Head(int status, std::vector<http::Header> headers, bool endStream) override;
  void onHttp2Data(std::string_view payload) override;
  void onHttp2Trailers(std::vector<http::Header> trailers) override;
  void onHttp2End(uint32_t error) override;

  WorkerContext& worker_;
  ClientSide& client_;
  UpstreamUser& user_;
  std::shared_ptr<const Snapshot> snapshot_;
  ProxyRequest request_;
  bool expectContinue_;

  Phase phase_ = Phase::routing;
  const Route* route_ = nullptr;  // the route chosen (a canary maybe)
  const Route* mainRoute_ = nullptr;
  const BackendTarget* backend_ = nullptr;      // the route's, or the one its weights chose
  const HeaderEdits* responseEdits_ = nullptr;  // an HTTPRoute's ResponseHeaderModifier
  uint64_t requestDeadline_ = 0;                // an HTTPRoute's request timeout
  bool mirrorPending_ = false;                  // mirrors wait for the request's body
  std::string upstreamPath_;
  std::string requestId_;
  std::string extraResponseHeaders_;
  BodyFraming upstreamFraming_ = BodyFraming::none;
  UpstreamConnection* upstream_ = nullptr;
  std::vector<Endpoint> tried_;
  int attempts_ = 0;
  // What was sent upstream, to send again on a retry (while small).
  std::string replay_;
  bool replayable_ = true;
  bool requestEnded_ = false;
  bool requestFullySent_ = false;
  uint64_t requestBodyBytes_ = 0;
  bool responseStarted_ = false;
  bool responseBytesSeen_ = false;
  bool sentSomething_ = false;  // this attempt wrote request bytes
  bool upstreamEof_ = false;
  http::ResponseHead responseHead_;
  BodyState bodyState_ = BodyState::head;
  uint64_t remaining_ = 0;
  http::ChunkedDecoder chunks_;
  std::string scratch_;
  bool closeClient_ = false;
  uint64_t deadline_ = 0;
  uint64_t startedMs_ = 0;
  uint64_t upstreamStartMs_ = 0;
  uint64_t connectTimeoutMs_, readTimeoutMs_, sendTimeoutMs_;
  int status_ = 0;
  // gRPC backends (backend-protocol GRPC / GRPCS).
  bool grpc_ = false;
  std::vector<http::Header> http2Headers_;
  std::unique_ptr<UpstreamHttp2> http2_;
  bool http2Ended_ = false;
  uint32_t http2Error_ = 0;
};

}  // namespace podnet::ingress
