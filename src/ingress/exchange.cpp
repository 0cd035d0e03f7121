#include "ingress/exchange.h"

#include <cstdio>

#include "ingress/balancer.h"
#include "ingress/gateway_routes.h"
#include "ingress/metrics.h"
#include "ingress/mirror.h"

namespace podnet::ingress {

namespace {

// Bytes the proxy holds for one direction before it stops reading the
// other side (flow control).
constexpr size_t kMaxQueued = 256 * 1024;
// A request whose head and body fit here can be sent again on a retry.
constexpr size_t kMaxReplay = 64 * 1024;
constexpr size_t kUpstreamRead = 64 * 1024;

bool inRanges(const std::vector<core::Cidr>& ranges, const std::string& ip) {
  auto address = core::IpAddress::parse(ip);
  if (!address) return false;
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
  for (const auto& range : ranges)
    if (range.contains(*address)) return true;
  return false;
}

std::string hexChunkSize(size_t n) {
  char text[24];
  int length = std::snprintf(text, sizeof text, "%zx\r\n", n);
  return std::string(text, size_t(length));
}

}  // namespace

Exchange::Exchange(WorkerContext& worker, ClientSide& client, UpstreamUser& user,
                   std::shared_ptr<const Snapshot> snapshot, ProxyRequest request,
                   bool expectContinue)
    : worker_(worker),
      client_(client),
      user_(user),
      snapshot_(std::move(snapshot)),
      request_(std::move(request)),
      expectContinue_(expectContinue),
      connectTimeoutMs_(worker.settings.connectTimeoutMs),
      readTimeoutMs_(worker.settings.readTimeoutMs),
      sendTimeoutMs_(worker.settings.sendTimeoutMs) {
  startedMs_ = worker_.loop.now();
}

Exchange::~Exchange() { releaseUpstream(false); }

bool Exchange::idempotent() const {
  const std::string& m = request_.method;
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

void Exchange::answer(LocalResponse response) {
  status_ = response.status;
  // A body the client may still send is not read: the connection closes.
  if (request_.hasBody && !requestEnded_) closeClient_ = true;
  client_.sendLocal(response);
  worker_.stats.record(route_, response.status, -1);
  phase_ = Phase::done;
  deadline_ = 0;
}

void Exchange::start() {
  const RoutingTable& table = *snapshot_->table;
  auto path = normalizePath(request_.path);
  if (!path) return answer({.status = 400});
  bool routed = table.isGatewayPort(request_.serverPort) ? routeGateway(table, *path)
                                                         : routeIngress(table, *path);
  if (routed) forward();
}

bool Exchange::routeIngress(const RoutingTable& table, const std::string& path) {
  RouteMatch match = table.match(request_.host, path);
  if (!match.route) return answer({.status = 404}), false;
  mainRoute_ = route_ = match.route;
  const Annotations& a = *route_->annotations;
  std::string hostOnly = hostName(request_.host);
  if (!a.allowSourceRange.empty() && !inRanges(a.allowSourceRange, request_.clientIp))
    return answer({.status = 403}), false;
  if (!request_.secure && (a.forceSslRedirect || (route_->tls && a.sslRedirect.value_or(true)))) {
    std::string location = "https://" + hostOnly + request_.path;
    if (!request_.query.empty()) location += "?" + request_.query;
    return answer({.status = 308, .location = location}), false;
  }
  if (a.appRoot && path == "/")
    return answer({.status = 302,
                   .location = std::string(request_.secure ? "https://" : "http://") +
                               request_.host + *a.appRoot}),
           false;
  uint64_t limit = a.proxyBodySize.value_or(worker_.settings.bodyLimit);
  if (limit > 0 && request_.contentLength && *request_.contentLength > limit)
    return answer({.status = 413}), false;
  if (a.enableCors) {
    extraResponseHeaders_ += corsHeaders();
    if (request_.method == "OPTIONS")
      return answer({.status = 204,
                     .extraHeaders = std::string(corsHeaders()) +
                                     "Content-Type: text/plain charset=UTF-8\r\n"
                                     "Content-Length: 0\r\n"}),
             false;
  }
  route_ = &chooseCanary(*mainRoute_, request_.headers, uint32_t(worker_.random()));
  const Annotations& ra = *route_->annotations;
  if (ra.connectTimeout) connectTimeoutMs_ = uint64_t(*ra.connectTimeout) * 1000;
  if (ra.readTimeout) readTimeoutMs_ = uint64_t(*ra.readTimeout) * 1000;
  if (ra.sendTimeout) sendTimeoutMs_ = uint64_t(*ra.sendTimeout) * 1000;
  backend_ = route_->backend.get();
  if (!backend_ || backend_->endpoints.empty()) return answer({.status = 503}), false;
  upstreamPath_ = std::move(match.upstreamPath);
  return true;
}

LocalResponse Exchange::gatewayRedirect(const Redirect& redirect, const RouteMatch& match,
                                        const std::string& path) const {
  std::string scheme =
      !redirect.scheme.empty() ? redirect.scheme : (request_.secure ? "https" : "http");
  std::string host = !redirect.hostname.empty() ? redirect.hostname : hostName(request_.host);
  // The specification's port: the one given, else the scheme's well-known
  // port when the scheme is given, else the listener's; a scheme's
  // well-known port is left out of Location.
  uint16_t port = redirect.port              ? *redirect.port
                  : !redirect.scheme.empty() ? uint16_t(scheme == "https" ? 443 : 80)
                                             : match.listenerPort;
  std::string location = scheme + "://" + host;
  if (port != 0 && !((scheme == "http" && port == 80) || (scheme == "https" && port == 443)))
    location += ":" + std::to_string(port);
  if (redirect.path)
    location += redirect.path->fullPath
                    ? redirect.path->value
                    : replacePrefix(path, match.matchedPrefix, redirect.path->value);
  else
    location += request_.path;
  if (!request_.query.empty()) location += "?" + request_.query;
  return {.status = redirect.status, .location = location};
}

namespace {

// Gateway API header modifiers: set replaces every field of the name, add
// appends to the value (a comma-separated list, RFC 9110), remove drops.
void editHeaders(std::vector<http::Header>& headers, const HeaderEdits& edits) {
  auto drop = [&](const std::string& name) {
    headers.erase(
        std::remove_if(headers.begin(), headers.end(),
                       [&](const http::Header& h) { return http::equalsIgnoreCase(h.name, name); }),
        headers.end());
  };
  for (const auto& h : edits.set) {
    drop(h.name);
    headers.push_back(h);
  }
  for (const auto& h : edits.add) {
    auto it = std::find_if(headers.begin(), headers.end(), [&](const http::Header& field) {
      return http::equalsIgnoreCase(field.name, h.name);
    });
    if (it == headers.end())
      headers.push_back(h);
    else
      it->value += "," + h.value;
  }
  for (const auto& name : edits.remove) drop(name);
}

}  // namespace

bool Exchange::routeGateway(const RoutingTable& table, const std::string& path) {
  RequestView view{request_.host, path, request_.method, &request_.headers, request_.query};
  RouteMatch match = table.matchGateway(request_.serverPort, view);
  if (!match.route) return answer({.status = 404}), false;
  mainRoute_ = route_ = match.route;
  const GatewayRule& rule = *route_->gateway;
  if (rule.redirect) return answer(gatewayRedirect(*rule.redirect, match, path)), false;
  uint64_t limit = worker_.settings.bodyLimit;
  if (limit > 0 && request_.contentLength && *request_.contentLength > limit)
    return answer({.status = 413}), false;
  // A backend by weight; an invalid reference's share answers 500.
  if (rule.totalWeight == 0) return answer({.status = 500}), false;
  uint64_t draw = (uint64_t(worker_.random()) << 32) | uint64_t(worker_.random());
  uint64_t pick = draw % rule.totalWeight;
  const WeightedBackend* chosen = &rule.backends.back();
  for (const auto& b : rule.backends) {
    if (pick < b.weight) {
      chosen = &b;
      break;
    }
    pick -= b.weight;
  }
  if (!chosen->target) return answer({.status = 500}), false;
  backend_ = chosen->target.get();
  if (backend_->endpoints.empty()) return answer({.status = 503}), false;
  upstreamPath_ = path;
  if (rule.rewrite) {
    if (rule.rewrite->path)
      upstreamPath_ = rule.rewrite->path->fullPath
                          ? rule.rewrite->path->value
                          : replacePrefix(path, match.matchedPrefix, rule.rewrite->path->value);
    if (!rule.rewrite->hostname.empty()) request_.host = rule.rewrite->hostname;
  }
  if (!rule.requestHeaders.empty()) editHeaders(request_.headers, rule.requestHeaders);
  if (!rule.responseHeaders.empty()) responseEdits_ = &rule.responseHeaders;
  if (rule.backendTimeoutMs) readTimeoutMs_ = std::min(readTimeoutMs_, rule.backendTimeoutMs);
  if (rule.requestTimeoutMs) requestDeadline_ = worker_.loop.now() + rule.requestTimeoutMs;
  // X-Forwarded-Port: the port the client connected to, not the proxy's.
  request_.serverPort = match.listenerPort;
  return true;
}

void Exchange::forward() {
  std::string_view given = acceptedRequestId(request_.headers);
  if (!given.empty()) {
    requestId_ = given;
  } else {
    static const char* hex = "0123456789abcdef";
    requestId_.resize(32);
    for (size_t i = 0; i < 32; i += 8) {
      uint32_t r = uint32_t(worker_.random()) ^ (uint32_t(worker_.random()) << 16);
      for (size_t j = 0; j < 8; ++j) requestId_[i + j] = hex[(r >> (4 * j)) & 15];
    }
  }
  BackendProtocol protocol = route_->annotations->backendProtocol;
  grpc_ = protocol == BackendProtocol::grpc || protocol == BackendProtocol::grpcs;
  if (grpc_) {
    // gRPC is HTTP/2 end to end: an HTTP/1 client cannot carry its trailers.
    if (!request_.http2) return answer({.status = 502});
    http2Headers_ = upstreamHttp2Headers(request_, upstreamPath_, requestId_,
                                         protocol == BackendProtocol::grpcs);
    replay_.clear();
    if (!request_.hasBody) requestEnded_ = true;
    phase_ = Phase::upstream;
    auto choice = chooseEndpoint(*route_, *backend_, request_.headers, tried_);
    if (!choice.endpoint) return answer({.status = 503});
    connectTo(*choice.endpoint);
    return;
  }
  if (!request_.hasBody)
    upstreamFraming_ = BodyFraming::none;
  else if (request_.contentLength)
    upstreamFraming_ = BodyFraming::length;
  else
    upstreamFraming_ = BodyFraming::chunked;
  if (request_.upgrade) upstreamFraming_ = BodyFraming::none;
  Buffer head;
  writeUpstreamRequest(head, request_, upstreamPath_, requestId_, upstreamFraming_,
                       request_.contentLength.value_or(0));
  replay_.assign(head.view());
  // RequestMirror: a copy to each mirror backend, its answer dropped; with
  // a body, once the whole request is in (from what is kept for retries:
  // a body past that size is not mirrored).
  if (route_->gateway && !route_->gateway->mirrors.empty()) {
    if (request_.hasBody)
      mirrorPending_ = true;
    else
      sendMirrors(head.view());
  }
  if (!request_.hasBody) requestEnded_ = true;
  phase_ = Phase::upstream;
  auto choice = chooseEndpoint(*route_, *backend_, request_.headers, tried_);
  extraResponseHeaders_ += choice.setCookie;
  if (!choice.endpoint) return answer({.status = 503});
  if (!connectTo(*choice.endpoint)) return;
  if (expectContinue_ && request_.hasBody) client_.sendContinue();
}

bool Exchange::connectTo(const Endpoint& endpoint) {
  ++attempts_;
  tried_.push_back(endpoint);
  std::string why;
  BackendProtocol protocol = route_->annotations->backendProtocol;
  bool tls = protocol == BackendProtocol::https || protocol == BackendProtocol::grpcs;
  upstream_ = worker_.pool.acquire(endpoint, tls, &user_, this, why, grpc_);
  if (!upstream_) {
    retryOrFail(502, true);
    return phase_ == Phase::upstream;
  }
  if (!upstream_->reused) worker_.stats.upstreamConnects.fetch_add(1, std::memory_order_relaxed);
  if (grpc_) {
    http2_ = std::make_unique<UpstreamHttp2>(static_cast<UpstreamHttp2Sink&>(*this));
    http2Ended_ = false;
    http2Error_ = 0;
    if (!http2_->start(http2Headers_, request_.hasBody)) {
      retryOrFail(502, false);
      return false;
    }
    if (!replay_.empty()) http2_->body(replay_);
    if (requestEnded_ && request_.hasBody) http2_->endBody();
    http2_->pump(upstream_->in, upstream_->out);  // the preface, SETTINGS and the request
  } else {
    upstream_->out.append(replay_);
  }
  requestFullySent_ = false;
  responseBytesSeen_ = false;
  sentSomething_ = false;
  upstreamEof_ = false;
  upstreamStartMs_ = worker_.loop.now();
  deadline_ = worker_.loop.now() + (upstream_->connected ? sendTimeoutMs_ : connectTimeoutMs_);
  // A reused connection is writable now; a new one says so when connected.
  if (upstream_->reused) upstream_->writable = true;
  return true;
}

void Exchange::releaseUpstream(bool reusable) {
  if (!upstream_) return;
  worker_.pool.release(upstream_, reusable && !grpc_);
  upstream_ = nullptr;
  http2_.reset();
}

void Exchange::retryOrFail(int status, bool mayRetry) {
  bool reused = upstream_ && upstream_->reused;
  releaseUpstream(false);
  if (mayRetry && replayable_ && !responseStarted_ && attempts_ < worker_.settings.maxAttempts) {
    auto choice = chooseEndpoint(*route_, *backend_, request_.headers, tried_);
    const Endpoint* next = choice.endpoint;
    // A pooled connection the backend had closed says nothing about the
    // endpoint: a fresh connection to it is as good as any.
    if (!next && reused) next = &tried_.back();
    if (next) {
      Endpoint target = *next;
      worker_.stats.upstreamRetries.fetch_add(1, std::memory_order_relaxed);
      connectTo(target);
      return;
    }
  }
  if (responseStarted_) {
    closeClient_ = true;
    client_.abortResponse();
    phase_ = Phase::failed;
    deadline_ = 0;
    return;
  }
  answer({.status = status});
}

void Exchange::keepForReplay(std::string_view bytes) {
  if (!replayable_) return;
  if (replay_.size() + bytes.size() > kMaxReplay) {
    replayable_ = false;
    replay_.clear();
    replay_.shrink_to_fit();
  } else {
    replay_.append(bytes);
  }
}

void Exchange::appendToUpstream(std::string_view bytes) {
  if (upstream_) upstream_->out.append(bytes);
  keepForReplay(bytes);
}

void Exchange::frameRequestBody(std::string_view payload) {
  if (payload.empty()) return;
  requestBodyBytes_ += payload.size();
  if (grpc_) {
    // Framed by nghttp2; kept raw for a retry on another endpoint.
    if (http2_) http2_->body(payload);
    keepForReplay(payload);
    return;
  }
  if (upstreamFraming_ == BodyFraming::chunked) {
    appendToUpstream(hexChunkSize(payload.size()));
    appendToUpstream(payload);
    appendToUpstream("\r\n");
  } else {
    appendToUpstream(payload);
  }
}

void Exchange::requestBody(std::string_view payload) {
  if (phase_ == Phase::tunnel) {
    if (upstream_) upstream_->out.append(payload);
    return;
  }
  if (finished() || requestEnded_) return;
  const Annotations* a = route_ ? route_->annotations.get() : nullptr;
  uint64_t limit = a && a->proxyBodySize ? *a->proxyBodySize : worker_.settings.bodyLimit;
  if (limit > 0 && requestBodyBytes_ + payload.size() > limit) {
    // A chunked body grew past the limit: the upstream gets nothing more.
    requestEnded_ = true;
    closeClient_ = true;
    if (!responseStarted_) {
      releaseUpstream(false);
      answer({.status = 413});
    }
    return;
  }
  frameRequestBody(payload);
}

void Exchange::sendMirrors(std::string_view request) {
  for (const auto& mirror : route_->gateway->mirrors)
    if (!mirror->endpoints.empty()) {
      uint32_t n = mirror->next.fetch_add(1, std::memory_order_relaxed);
      sendMirror(worker_.loop, mirror->endpoints[n % mirror->endpoints.size()],
                 std::string(request));
    }
}

void Exchange::requestEnd() {
  if (requestEnded_ || finished()) {
    requestEnded_ = true;
    return;
  }
  requestEnded_ = true;
  if (grpc_) {
    if (http2_ && request_.hasBody) http2_->endBody();
    return;
  }
  if (upstreamFraming_ == BodyFraming::chunked) appendToUpstream("0\r\n\r\n");
  if (mirrorPending_ && replayable_) sendMirrors(replay_);
  mirrorPending_ = false;
}

bool Exchange::acceptsRequestBody() const {
  if (phase_ == Phase::tunnel) return upstream_ && upstream_->out.size() < kMaxQueued;
  if (finished()) return true;  // read and dropped (or the connection closes)
  if (grpc_ && http2_ && http2_->bufferedBody() >= kMaxQueued) return false;
  return upstream_ && upstream_->out.size() < kMaxQueued;
}

void Exchange::checkTimeout(uint64_t now) {
  if (requestDeadline_ != 0 && now >= requestDeadline_ && !finished()) {
    // An HTTPRoute's request timeout: the whole exchange, retries included.
    requestDeadline_ = 0;
    releaseUpstream(false);
    if (!responseStarted_) return answer({.status = 504});
    closeClient_ = true;
    client_.abortResponse();
    phase_ = Phase::failed;
    deadline_ = 0;
    return;
  }
  if (deadline_ == 0 || now < deadline_ || finished()) return;
  deadline_ = 0;
  if (!upstream_) return;
  if (!upstream_->connected) return retryOrFail(504, true);  // connect timeout
  if (phase_ == Phase::tunnel) {
    closeClient_ = true;
    releaseUpstream(false);
    client_.endResponse();
    phase_ = Phase::done;
    return;
  }
  retryOrFail(504, false);  // read or send timeout: the request may be running
}

bool Exchange::advance() {
  bool progressed = false;
  for (int round = 0; round < 16 && upstream_ && !finished(); ++round) {
    bool moved = false;
    UpstreamConnection& u = *upstream_;
    if (!u.connected) {
      IoState s = u.finishConnect();
      if (s == IoState::wouldBlock) break;
      if (s != IoState::progress) {
        retryOrFail(502, true);
        return true;
      }
      moved = true;
      deadline_ = worker_.loop.now() + sendTimeoutMs_;
    }
    if (!u.out.empty() && u.writable) {
      IoState s = u.stream->write(u.out);
      if (s == IoState::progress) {
        moved = true;
        sentSomething_ = true;
        deadline_ = worker_.loop.now() + (u.out.empty() ? readTimeoutMs_ : sendTimeoutMs_);
      } else if (s == IoState::wouldBlock) {
        u.writable = false;
      } else {
        // A pooled connection the backend closed, or a reset.
        retryOrFail(502, idempotent() || !sentSomething_);
        return true;
      }
    }
    if (u.out.empty() && requestEnded_) requestFullySent_ = true;
    if (u.readable && client_.queuedTowardsClient() < kMaxQueued) {
      IoState s = u.stream->read(u.in, kUpstreamRead);
      if (s == IoState::progress) {
        moved = true;
        responseBytesSeen_ = true;
        deadline_ = worker_.loop.now() + readTimeoutMs_;
        if (u.stream->drained()) u.readable = false;
      } else if (s == IoState::wouldBlock) {
        u.readable = false;
      } else {
        u.readable = false;
        upstreamEof_ = true;
        if (s == IoState::error && !responseBytesSeen_) {
          retryOrFail(502, idempotent() || !sentSomething_);
          return true;
        }
      }
    }
    if (processUpstreamInput()) moved = true;
    if (!moved) break;
    progressed = true;
  }
  return progressed;
}

void Exchange::startResponse(const http::ResponseHead& head) {
  responseStarted_ = true;
  status_ = head.status;
  ResponseShape shape;
  bool noBody = request_.method == "HEAD" || head.status == 204 || head.status == 304 ||
                (head.status >= 100 && head.status < 200);
  if (head.status == 101) {
    shape.upgrade = true;
    shape.hasBody = false;
    bodyState_ = BodyState::none;
  } else if (noBody) {
    shape.hasBody = false;
    bodyState_ = BodyState::none;
    // HEAD keeps the length the upstream announced.
    if (head.framing == http::Framing::length) shape.length = head.contentLength;
  } else if (head.framing == http::Framing::length) {
    shape.length = head.contentLength;
    remaining_ = head.contentLength;
    bodyState_ = remaining_ == 0 ? BodyState::none : BodyState::length;
  } else if (head.framing == http::Framing::chunked) {
    bodyState_ = BodyState::chunked;
    chunks_ = http::ChunkedDecoder();
  } else {
    bodyState_ = BodyState::untilClose;
  }
  double seconds = double(worker_.loop.now() - upstreamStartMs_) / 1000.0;
  worker_.stats.record(route_, head.status, seconds);
  if (responseEdits_) {
    http::ResponseHead edited = head;
    editHeaders(edited.headers, *responseEdits_);
    client_.sendResponseHead(edited, shape, extraResponseHeaders_);
    return;
  }
  client_.sendResponseHead(head, shape, extraResponseHeaders_);
}

bool Exchange::processHttp2() {
  UpstreamConnection& u = *upstream_;
  size_t inBefore = u.in.size(), outBefore = u.out.size();
  if (!http2_ || !http2_->pump(u.in, u.out)) {
    retryOrFail(502, false);
    return true;
  }
  // The stream's end is acted on here, not in nghttp2's callback: giving
  // the connection back there would free the buffer it is reading.
  if (http2Ended_) {
    if (http2Error_ == 0 && responseStarted_) {
      requestEnded_ = true;
      finishResponse();
    } else {
      retryOrFail(502, false);
    }
    return true;
  }
  if (upstreamEof_ && u.in.empty()) {
    retryOrFail(502, false);
    return true;
  }
  return u.in.size() != inBefore || u.out.size() != outBefore;
}

void Exchange::onHttp2Head(int status, std::vector<http::Header> headers, bool endStream) {
  responseStarted_ = true;
  status_ = status;
  http::ResponseHead head;
  head.status = status;
  head.headers = std::move(headers);
  head.keepAlive = false;
  ResponseShape shape;
  shape.hasBody = !endStream && request_.method != "HEAD";
  double seconds = double(worker_.loop.now() - upstreamStartMs_) / 1000.0;
  worker_.stats.record(route_, status, seconds);
  client_.sendResponseHead(head, shape, extraResponseHeaders_);
}

void Exchange::onHttp2Data(std::string_view payload) { client_.sendResponseBody(payload); }

void Exchange::onHttp2Trailers(std::vector<http::Header> trailers) {
  client_.sendTrailers(trailers);
}

void Exchange::onHttp2End(uint32_t error) {
  http2Ended_ = true;
  http2Error_ = error;
}

bool Exchange::processUpstreamInput() {
  if (!upstream_) return false;
  if (grpc_) return processHttp2();
  UpstreamConnection& u = *upstream_;
  bool moved = false;
  while (bodyState_ == BodyState::head) {
    if (phase_ == Phase::tunnel) break;
    auto parsed = http::parseResponse(u.in.view(), request_.method);
    if (parsed.state == http::Parsed<http::ResponseHead>::State::incomplete) {
      if (upstreamEof_) {
        retryOrFail(502, u.in.empty() && (idempotent() || !sentSomething_));
        return true;
      }
      // Nothing to do until more arrives: saying "moved" here made the
      // callers parse the same bytes again hundreds of times per request.
      return moved;
    }
    if (parsed.state == http::Parsed<http::ResponseHead>::State::error) {
      retryOrFail(502, false);
      return true;
    }
    u.in.consume(parsed.consumed);
    moved = true;
    const auto& head = parsed.head;
    if (head.status == 101) {
      if (!request_.upgrade) {
        retryOrFail(502, false);
        return true;
      }
      startResponse(head);
      phase_ = Phase::tunnel;
      deadline_ = 0;
      break;
    }
    if (head.status >= 100 && head.status < 200) continue;  // interim: dropped
    responseHead_ = head;
    startResponse(head);
    if (bodyState_ == BodyState::none) {
      finishResponse();
      return true;
    }
  }
  if (phase_ == Phase::tunnel) {
    if (!u.in.empty()) {
      client_.sendResponseBody(u.in.view());
      u.in.clear();
      moved = true;
    }
    if (upstreamEof_) {
      closeClient_ = true;
      releaseUpstream(false);
      client_.endResponse();
      phase_ = Phase::done;
      return true;
    }
    return moved;
  }
  while (!u.in.empty() && client_.queuedTowardsClient() < kMaxQueued &&
         (bodyState_ == BodyState::length || bodyState_ == BodyState::chunked ||
          bodyState_ == BodyState::untilClose)) {
    moved = true;
    if (bodyState_ == BodyState::length) {
      size_t n = size_t(std::min<uint64_t>(remaining_, u.in.size()));
      client_.sendResponseBody(u.in.view().substr(0, n));
      u.in.consume(n);
      remaining_ -= n;
      if (remaining_ == 0) {
        finishResponse();
        return true;
      }
    } else if (bodyState_ == BodyState::chunked) {
      std::string_view view = u.in.view();
      size_t before = view.size();
      scratch_.clear();
      auto result = chunks_.feed(view, scratch_);
      u.in.consume(before - view.size());
      if (!scratch_.empty()) client_.sendResponseBody(scratch_);
      if (result == http::ChunkedDecoder::Result::done) {
        finishResponse();
        return true;
      }
      if (result == http::ChunkedDecoder::Result::error) {
        retryOrFail(502, false);
        return true;
      }
    } else {
      client_.sendResponseBody(u.in.view());
      u.in.clear();
    }
  }
  if (upstreamEof_ && u.in.empty()) {
    if (bodyState_ == BodyState::untilClose) {
      responseHead_.keepAlive = false;
      finishResponse();
    } else {
      retryOrFail(502, false);  // cut short: the client's response is too
    }
    return true;
  }
  return moved;
}

void Exchange::finishResponse() {
  bool reusable = responseHead_.keepAlive && requestEnded_ && upstream_ && upstream_->out.empty() &&
                  upstream_->in.empty() && !upstreamEof_;
  if (!requestEnded_) closeClient_ = true;
  releaseUpstream(reusable);
  phase_ = Phase::done;
  deadline_ = 0;
  client_.endResponse();
}

}  // namespace podnet::ingress
