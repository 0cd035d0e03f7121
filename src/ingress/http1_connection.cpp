#include "ingress/http1_connection.h"

#include <sys/epoll.h>

#include <cstdio>

#include "ingress/metrics.h"

namespace podnet::ingress {

namespace {

constexpr size_t kMaxQueued = 256 * 1024;
constexpr uint64_t kLingerMs = 5000;  // flushing a last response before closing

std::string hexChunkSize(size_t n) {
  char text[24];
  int length = std::snprintf(text, sizeof text, "%zx\r\n", n);
  return std::string(text, size_t(length));
}

}  // namespace

Http1Connection::Http1Connection(ConnectionOwner& owner, std::unique_ptr<Stream> stream,
                                 std::string clientIp, uint16_t serverPort)
    : owner_(owner),
      worker_(owner.context()),
      stream_(std::move(stream)),
      clientIp_(std::move(clientIp)),
      serverPort_(serverPort),
      state_(stream_->secure() ? State::handshake : State::head) {}

Http1Connection::~Http1Connection() = default;

bool Http1Connection::start() {
  if (!worker_.loop.add(stream_->fd(), this)) return false;
  lastActivity_ = worker_.loop.now();
  updateDeadline();
  drive();
  return true;
}

void Http1Connection::onIo(uint32_t events) {
  noteEvents(*stream_, events, readable_, writable_);
  drive();
}

void Http1Connection::onUpstreamIo(UpstreamConnection&, uint32_t) { drive(); }

void Http1Connection::onDeadline() {
  uint64_t now = worker_.loop.now();
  if (exchange_ && exchange_->deadline() != 0 && exchange_->deadline() <= now) {
    exchange_->checkTimeout(now);
    drive();
    return;
  }
  // The client's own timeout (slow head or body, idle keep-alive, linger).
  close();
}

bool Http1Connection::wantsRead() const {
  switch (state_) {
    case State::head:
      return in_.size() <= worker_.settings.bodyLimit + 1 &&
             in_.size() <= owner_.clientSettings().limits.maxHeaderBytes + 1;
    case State::body:
    case State::tunnel:
      return exchange_ && exchange_->acceptsRequestBody() && in_.size() < kMaxQueued;
    case State::waiting:
      // Pipelined requests wait; reading also notices a client that left.
      return in_.size() < owner_.clientSettings().limits.maxHeaderBytes;
    default:
      return false;
  }
}

bool Http1Connection::readClient() {
  if (!readable_ || clientEof_ || !wantsRead()) return false;
  IoState s = stream_->read(in_, 64 * 1024);
  if (s == IoState::progress) {
    lastActivity_ = worker_.loop.now();
    if (stream_->drained()) readable_ = false;
    return true;
  }
  if (s == IoState::wouldBlock) {
    readable_ = false;
    return false;
  }
  clientEof_ = true;
  readable_ = false;
  return true;
}

void Http1Connection::drive() {
  if (state_ == State::closed) return;
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    if (state_ == State::handshake) {
      IoState s = stream_->handshake();
      if (s == IoState::wouldBlock) break;
      if (s != IoState::progress) return close();
      if (stream_->protocol() == "h2") {
        // The HTTP/2 connection takes the socket from here.
        worker_.loop.remove(stream_->fd());
        owner_.startHttp2(std::move(stream_), clientIp_, serverPort_);
        state_ = State::closed;
        worker_.loop.retire(this);
        return;
      }
      state_ = State::head;
      moved = true;
    }
    if (readClient()) moved = true;
    if (processInput()) moved = true;
    if (state_ == State::closed) return;
    if (exchange_ && exchange_->advance()) moved = true;
    if (finishExchange()) moved = true;
    if (state_ == State::closed) return;
    if (!out_.empty() && writable_) {
      IoState s = stream_->write(out_);
      if (s == IoState::progress) {
        moved = true;
        lastActivity_ = worker_.loop.now();
      } else if (s == IoState::wouldBlock) {
        writable_ = false;
      } else {
        return close();
      }
    }
    if (state_ == State::closing && out_.empty()) return close();
    if (clientEof_ && state_ != State::closing) {
      // The client left: what it sent is answered only if complete and
      // the response can still reach it (a half-closed client reads on).
      if (state_ == State::head && in_.empty() && !exchange_) return close();
      if (state_ == State::body || state_ == State::tunnel) return close();
    }
    if (!moved) break;
  }
  updateDeadline();
}

bool Http1Connection::processInput() {
  bool moved = false;
  if (state_ == State::head && !in_.empty() && !exchange_) {
    // An incomplete head waits for more bytes (not "moved": the drive loop
    // would parse it again and again); a refused one changed the state.
    if (!startRequest()) return state_ != State::head;
    moved = true;
  }
  if (state_ == State::body && feedBody()) moved = true;
  if (state_ == State::tunnel && exchange_ && !in_.empty() && exchange_->acceptsRequestBody()) {
    exchange_->requestBody(in_.view());
    in_.clear();
    moved = true;
  }
  return moved;
}

void Http1Connection::refuse(int status) {
  LocalResponse response{.status = status};
  writeLocalResponse(out_, response, http10_, false, false);
  worker_.stats.record(nullptr, status, -1);
  in_.clear();
  exchange_.reset();
  state_ = State::closing;
}

bool Http1Connection::startRequest() {
  const ClientSettings& settings = owner_.clientSettings();
  auto parsed = http::parseRequest(in_.view(), settings.limits);
  using S = http::Parsed<http::RequestHead>::State;
  if (parsed.state == S::incomplete) {
    if (clientEof_) close();
    return false;
  }
  if (parsed.state == S::error) {
    refuse(parsed.error.status);
    return false;
  }
  in_.consume(parsed.consumed);
  http::RequestHead& head = parsed.head;
  http10_ = head.http10;
  keepAlive_ = head.keepAlive;
  headRequest_ = head.method == "HEAD";
  responseEnded_ = false;
  responseFraming_ = BodyFraming::none;
  closeAfterResponse_ = false;
  ProxyRequest request;
  request.method = std::move(head.method);
  request.path = std::move(head.path);
  request.query = std::move(head.query);
  request.host = std::move(head.host);
  request.headers = std::move(head.headers);
  request.http10 = head.http10;
  request.upgrade = head.upgrade;
  request.clientIp = clientIp_;
  request.secure = stream_->secure();
  request.serverPort = serverPort_;
  switch (head.framing) {
    case http::Framing::length:
      requestBody_ = head.contentLength > 0 ? RequestBody::length : RequestBody::none;
      bodyRemaining_ = head.contentLength;
      request.contentLength = head.contentLength;
      request.hasBody = head.contentLength > 0;
      break;
    case http::Framing::chunked:
      requestBody_ = RequestBody::chunked;
      chunks_ = http::ChunkedDecoder();
      request.hasBody = true;
      break;
    default:
      requestBody_ = RequestBody::none;
      break;
  }
  exchange_ = std::make_unique<Exchange>(worker_, *this, *this, owner_.snapshot(),
                                         std::move(request), head.expectContinue);
  state_ = requestBody_ == RequestBody::none ? State::waiting : State::body;
  exchange_->start();
  if (exchange_ && exchange_->tunnel()) state_ = State::tunnel;
  return true;
}

bool Http1Connection::feedBody() {
  bool moved = false;
  while (state_ == State::body && exchange_ && !in_.empty() && exchange_->acceptsRequestBody()) {
    moved = true;
    if (requestBody_ == RequestBody::length) {
      size_t n = size_t(std::min<uint64_t>(bodyRemaining_, in_.size()));
      exchange_->requestBody(in_.view().substr(0, n));
      in_.consume(n);
      bodyRemaining_ -= n;
      if (bodyRemaining_ == 0) {
        exchange_->requestEnd();
        state_ = State::waiting;
      }
    } else {
      std::string_view view = in_.view();
      size_t before = view.size();
      scratch_.clear();
      auto result = chunks_.feed(view, scratch_);
      in_.consume(before - view.size());
      if (!scratch_.empty()) exchange_->requestBody(scratch_);
      if (result == http::ChunkedDecoder::Result::done) {
        exchange_->requestEnd();
        state_ = State::waiting;
      } else if (result == http::ChunkedDecoder::Result::error) {
        // The upstream must not see a body that ends where it did not.
        if (!responseEnded_ && responseFraming_ == BodyFraming::none && out_.empty()) {
          exchange_.reset();
          refuse(400);
        } else {
          exchange_.reset();
          state_ = State::closing;
        }
        return true;
      }
    }
  }
  // A request answered before its body was read: the connection closes.
  if (state_ == State::body && exchange_ && exchange_->finished()) state_ = State::waiting;
  return moved;
}

bool Http1Connection::finishExchange() {
  if (!exchange_) return false;
  if (exchange_->tunnel() && state_ != State::tunnel) {
    state_ = State::tunnel;
    return true;
  }
  if (!exchange_->finished() || !responseEnded_) return false;
  if (state_ == State::body) return false;  // still reading a body the upstream takes
  bool close =
      exchange_->closesClient() || !keepAlive_ || closeAfterResponse_ || state_ == State::tunnel;
  exchange_.reset();
  if (close) {
    state_ = State::closing;
  } else {
    state_ = State::head;
    in_.shrink();
  }
  return true;
}

void Http1Connection::sendContinue() {
  if (!http10_) out_.append("HTTP/1.1 100 Continue\r\n\r\n");
}

void Http1Connection::sendResponseHead(const http::ResponseHead& head, const ResponseShape& shape,
                                       std::string_view extraHeaders) {
  ClientResponse response;
  response.http10 = http10_;
  response.keepAlive = keepAlive_ && !(exchange_ && exchange_->closesClient());
  if (shape.upgrade) {
    response.upgrade = true;
    responseFraming_ = BodyFraming::raw;
  } else if (!shape.hasBody) {
    response.framing = shape.length ? BodyFraming::length : BodyFraming::none;
    response.contentLength = shape.length.value_or(0);
    responseFraming_ = BodyFraming::none;
  } else if (shape.length) {
    response.framing = BodyFraming::length;
    response.contentLength = *shape.length;
    responseFraming_ = BodyFraming::length;
  } else if (http10_) {
    response.framing = BodyFraming::raw;
    response.keepAlive = false;
    responseFraming_ = BodyFraming::raw;
  } else {
    response.framing = BodyFraming::chunked;
    responseFraming_ = BodyFraming::chunked;
  }
  if (!response.keepAlive) closeAfterResponse_ = true;
  writeResponseHead(out_, head, response, extraHeaders);
}

void Http1Connection::sendResponseBody(std::string_view payload) {
  if (payload.empty()) return;
  if (responseFraming_ == BodyFraming::chunked) {
    out_.append(hexChunkSize(payload.size()));
    out_.append(payload);
    out_.append("\r\n");
  } else if (responseFraming_ != BodyFraming::none) {
    out_.append(payload);
  }
}

void Http1Connection::endResponse() {
  if (responseFraming_ == BodyFraming::chunked) out_.append("0\r\n\r\n");
  responseEnded_ = true;
}

void Http1Connection::sendLocal(const LocalResponse& response) {
  bool keep = keepAlive_ && !(exchange_ && exchange_->closesClient());
  // During start() the exchange is being built: a request with an unread
  // body closes the connection after the answer.
  if (state_ == State::body) keep = false;
  if (!keep) closeAfterResponse_ = true;
  writeLocalResponse(out_, response, http10_, keep, headRequest_);
  responseEnded_ = true;
}

void Http1Connection::abortResponse() {
  closeAfterResponse_ = true;
  responseEnded_ = true;  // nothing more comes; closing tells the client it is cut
  responseFraming_ = BodyFraming::none;
}

void Http1Connection::updateDeadline() {
  const ClientSettings& s = owner_.clientSettings();
  uint64_t own = 0;
  switch (state_) {
    case State::handshake:
      own = lastActivity_ + s.handshakeTimeoutMs;
      break;
    case State::head:
      own = lastActivity_ + (in_.empty() ? s.keepAliveTimeoutMs : s.headerTimeoutMs);
      break;
    case State::body:
      own = lastActivity_ + s.bodyTimeoutMs;
      break;
    case State::closing:
      own = lastActivity_ + kLingerMs;
      break;
    default:
      own = 0;
      break;
  }
  uint64_t theirs = exchange_ ? exchange_->deadline() : 0;
  if (own == 0 || (theirs != 0 && theirs < own)) own = theirs;
  deadline = own;
}

void Http1Connection::close() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  exchange_.reset();
  if (stream_) worker_.loop.remove(stream_->fd());
  stream_.reset();
  owner_.connectionClosed();
  worker_.loop.retire(this);
}

}  // namespace podnet::ingress
