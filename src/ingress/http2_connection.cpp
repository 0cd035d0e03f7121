#include "ingress/http2_connection.h"

#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "ingress/metrics.h"

namespace podnet::ingress {

namespace {

constexpr size_t kMaxQueued = 256 * 1024;  // frames waiting for the socket
constexpr uint32_t kMaxConcurrentStreams = 128;

bool isPseudo(std::string_view name) { return !name.empty() && name.front() == ':'; }

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

// ---- one stream ---------------------------------------------------------------------------

class Http2Connection::H2Stream : public ClientSide, public UpstreamUser {
 public:
  H2Stream(Http2Connection& connection, int32_t id) : connection_(connection), id_(id) {}

  void onUpstreamIo(UpstreamConnection&, uint32_t) override { connection_.drive(); }

  void sendContinue() override {
    nghttp2_nv status = header(":status", "100");
    nghttp2_submit_headers(connection_.session_, NGHTTP2_FLAG_NONE, id_, nullptr, &status, 1,
                           nullptr);
  }

  void sendResponseHead(const http::ResponseHead& head, const ResponseShape& shape,
                        std::string_view extraHeaders) override {
    std::vector<http::Header> extra = splitHeaderLines(extraHeaders);
    std::string status = std::to_string(head.status);
    std::vector<std::string> names;  // lowercased names live here while submitted
    names.reserve(head.headers.size() + extra.size());
    std::vector<nghttp2_nv> nva;
    nva.push_back(header(":status", status));
    auto add = [&](const http::Header& h) {
      if (isHopByHop(h.name, head.headers) || http::equalsIgnoreCase(h.name, "content-length"))
        return;
      names.push_back(lowercase(h.name));
      nva.push_back(header(names.back(), h.value));
    };
    for (const auto& h : head.headers) add(h);
    for (const auto& h : extra) add(h);
    std::string length;
    if (shape.length) {
      length = std::to_string(*shape.length);
      nva.push_back(header("content-length", length));
    }
    withBody_ = shape.hasBody && !headRequest_;
    submit(nva);
  }

  void sendResponseBody(std::string_view payload) override {
    if (!withBody_) return;
    body_.append(payload);
    resume();
  }

  void endResponse() override {
    ended_ = true;
    resume();
  }

  void sendLocal(const LocalResponse& response) override {
    LocalContent content = localContent(response);
    std::string status = std::to_string(response.status);
    std::string length = std::to_string(content.body.size());
    std::vector<nghttp2_nv> nva = {header(":status", status), header("server", "podnet")};
    std::string_view date = http::dateHeader();  // "Date: ...\r\n"
    std::string dateValue(date.substr(6, date.size() - 8));
    nva.push_back(header("date", dateValue));
    if (response.status != 204 && response.status != 304) {
      nva.push_back(header("content-type", content.contentType));
      nva.push_back(header("content-length", length));
    }
    if (!response.location.empty()) nva.push_back(header("location", response.location));
    std::vector<http::Header> extra = splitHeaderLines(response.extraHeaders);
    std::vector<std::string> names;
    names.reserve(extra.size());
    for (const auto& h : extra) {
      names.push_back(lowercase(h.name));
      nva.push_back(header(names.back(), h.value));
    }
    withBody_ = !headRequest_ && !content.body.empty();
    if (withBody_) body_.append(content.body);
    ended_ = true;
    submit(nva);
  }

  void abortResponse() override {
    ended_ = true;
    nghttp2_submit_rst_stream(connection_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  }

  size_t queuedTowardsClient() const override { return body_.size(); }

  void sendTrailers(const std::vector<http::Header>& trailers) override {
    for (const auto& h : trailers) trailers_.push_back({lowercase(h.name), h.value});
    hasTrailers_ = true;
  }

  // The request, built from the HEADERS frame.
  ProxyRequest request;
  std::vector<std::string> cookies;  // joined into one header (RFC 9113 8.2.3)
  std::string pathHeader, schemeHeader, authority;
  size_t headerBytes = 0, headerCount = 0;
  std::unique_ptr<Exchange> exchange;
  bool closed = false;

  void setHeadRequest(bool head) { headRequest_ = head; }

  // nghttp2 asks for response body bytes.
  ssize_t read(uint8_t* buffer, size_t length, uint32_t* flags) {
    size_t n = std::min(length, body_.size());
    if (n > 0) {
      std::memcpy(buffer, body_.data(), n);
      body_.consume(n);
    }
    if (body_.empty() && ended_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (hasTrailers_) {
        // The stream ends with the trailers' HEADERS frame instead.
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (const auto& h : trailers_) nva.push_back(header(h.name, h.value));
        nghttp2_submit_trailer(connection_.session_, id_, nva.data(), nva.size());
      }
      return ssize_t(n);
    }
    if (n == 0) {
      deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return ssize_t(n);
  }

 private:
  static ssize_t readCallback(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                              uint32_t* flags, nghttp2_data_source* source, void*) {
    return static_cast<H2Stream*>(source->ptr)->read(buffer, length, flags);
  }

  void submit(const std::vector<nghttp2_nv>& nva) {
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = readCallback;
    nghttp2_submit_response(connection_.session_, id_, nva.data(), nva.size(),
                            withBody_ ? &provider : nullptr);
    submitted_ = true;
  }

  void resume() {
    if (submitted_ && deferred_ && withBody_) {
      deferred_ = false;
      nghttp2_session_resume_data(connection_.session_, id_);
    }
  }

  Http2Connection& connection_;
  int32_t id_;
  Buffer body_;
  std::vector<http::Header> trailers_;
  bool hasTrailers_ = false;
  bool headRequest_ = false, withBody_ = false, ended_ = false, submitted_ = false,
       deferred_ = false;
};

// ---- nghttp2's callbacks ----------------------------------------------------------------

struct Http2Callbacks {
  static Http2Connection& connection(void* user) { return *static_cast<Http2Connection*>(user); }

  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Http2Connection& c = connection(user);
    auto stream = std::make_unique<Http2Connection::H2Stream>(c, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
    c.streams_[frame->hd.stream_id] = std::move(stream);
    return 0;
  }

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* s = static_cast<Http2Connection::H2Stream*>(
        nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!s) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), nameLength);
    std::string_view v(reinterpret_cast<const char*>(value), valueLength);
    // The same limits as for HTTP/1 heads (HPACK lets a small frame carry a
    // big list): past them the stream is reset.
    const http::Limits& limits = connection(user).owner_.clientSettings().limits;
    s->headerBytes += nameLength + valueLength + 32;  // RFC 9113's size of a field
    if (s->headerBytes > limits.maxHeaderBytes || ++s->headerCount > limits.maxHeaders)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (n == ":method")
      s->request.method = v;
    else if (n == ":path")
      s->pathHeader = v;
    else if (n == ":scheme")
      s->schemeHeader = v;
    else if (n == ":authority")
      s->authority = v;
    else if (n == "cookie")
      s->cookies.emplace_back(v);
    else if (!isPseudo(n)) {
      if (n == "host" && s->authority.empty()) s->authority = v;
      s->request.headers.push_back({std::string(n), std::string(v)});
    }
    return 0;
  }

  static int onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    Http2Connection& c = connection(user);
    auto* s = static_cast<Http2Connection::H2Stream*>(
        nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
    if (!s) return 0;
    bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      startExchange(c, *s, !endStream);
    } else if (endStream && s->exchange) {
      s->exchange->requestEnd();
    }
    return 0;
  }

  static void startExchange(Http2Connection& c, Http2Connection::H2Stream& s, bool hasBody) {
    ProxyRequest& r = s.request;
    size_t question = s.pathHeader.find('?');
    r.path = s.pathHeader.substr(0, question);
    if (question != std::string::npos) r.query = s.pathHeader.substr(question + 1);
    r.host = s.authority;
    if (!s.cookies.empty()) {
      std::string joined;
      for (const auto& cookie : s.cookies) joined += (joined.empty() ? "" : "; ") + cookie;
      r.headers.push_back({"cookie", std::move(joined)});
    }
    r.hasBody = hasBody;
    if (const http::Header* length = http::findHeader(r.headers, "content-length")) {
      uint64_t n = 0;
      bool digits = !length->value.empty() &&
                    length->value.find_first_not_of("0123456789") == std::string::npos &&
                    length->value.size() <= 18;
      if (digits) n = std::stoull(length->value);
      if (hasBody && digits) r.contentLength = n;
    } else if (!hasBody) {
      r.contentLength = 0;
    }
    r.clientIp = c.clientIp_;
    r.secure = c.stream_->secure();
    r.serverPort = c.serverPort_;
    r.http2 = true;
    s.setHeadRequest(r.method == "HEAD");
    bool expectContinue = false;
    if (const http::Header* expect = http::findHeader(r.headers, "expect"))
      expectContinue = http::equalsIgnoreCase(expect->value, "100-continue");
    s.exchange = std::make_unique<Exchange>(c.worker_, s, s, c.owner_.snapshot(), std::move(r),
                                            expectContinue);
    s.exchange->start();
    if (!hasBody && s.exchange) s.exchange->requestEnd();
  }

  static int onData(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                    size_t length, void*) {
    auto* s =
        static_cast<Http2Connection::H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
    if (s && s->exchange && !s->exchange->finished())
      s->exchange->requestBody({reinterpret_cast<const char*>(data), length});
    return 0;
  }

  static int onStreamClose(nghttp2_session* session, int32_t id, uint32_t, void*) {
    auto* s =
        static_cast<Http2Connection::H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
    if (s) s->closed = true;  // removed after this round of the session's work
    return 0;
  }
};

// ---- the connection ---------------------------------------------------------------------

Http2Connection::Http2Connection(ConnectionOwner& owner, std::unique_ptr<Stream> stream,
                                 std::string clientIp, uint16_t serverPort)
    : owner_(owner),
      worker_(owner.context()),
      stream_(std::move(stream)),
      clientIp_(std::move(clientIp)),
      serverPort_(serverPort) {}

Http2Connection::~Http2Connection() {
  streams_.clear();  // exchanges first: they give back their upstreams
  if (session_) nghttp2_session_del(session_);
}

bool Http2Connection::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                          Http2Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, Http2Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, Http2Callbacks::onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, Http2Callbacks::onData);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, Http2Callbacks::onStreamClose);
  int made = nghttp2_session_server_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (made != 0) return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       uint32_t(owner_.clientSettings().limits.maxHeaderBytes)}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  if (!worker_.loop.add(stream_->fd(), this)) return false;
  lastActivity_ = worker_.loop.now();
  drive();
  return true;
}

void Http2Connection::onIo(uint32_t events) {
  noteEvents(*stream_, events, readable_, writable_);
  drive();
}

Http2Connection::H2Stream* Http2Connection::streamFor(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2Connection::drive() {
  if (closed_) return;
  // Upstream events can arrive while nghttp2 calls us back (a stream's
  // exchange starting its connect): run the loop again instead of nesting.
  if (driving_) {
    again_ = true;
    return;
  }
  driving_ = true;
  for (int round = 0; round < 64 && !closed_; ++round) {
    again_ = false;
    bool moved = false;
    // In: frames from the client.
    if (readable_) {
      IoState s = stream_->read(in_, 64 * 1024);
      if (s == IoState::progress) {
        moved = true;
        lastActivity_ = worker_.loop.now();
        if (stream_->drained()) readable_ = false;
      } else if (s == IoState::wouldBlock) {
        readable_ = false;
      } else {
        readable_ = false;
        if (in_.empty()) {
          close();
          break;
        }
      }
    }
    if (!in_.empty()) {
      ssize_t used = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(in_.data()), in_.size());
      if (used < 0) {
        // A protocol error: nghttp2 queued a GOAWAY; send it, then close.
        in_.clear();
        nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      } else {
        in_.consume(size_t(used));
        moved = moved || used > 0;
      }
    }
    // Exchanges: upstream bytes towards their streams.
    for (auto& [id, stream] : streams_)
      if (stream->exchange && stream->exchange->advance()) moved = true;
    // Out: frames to the client.
    while (out_.size() < kMaxQueued) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out_.append({reinterpret_cast<const char*>(data), size_t(n)});
      moved = true;
    }
    if (!out_.empty() && writable_) {
      IoState s = stream_->write(out_);
      if (s == IoState::progress) {
        lastActivity_ = worker_.loop.now();
        moved = true;
      } else if (s == IoState::wouldBlock) {
        writable_ = false;
      } else {
        close();
        break;
      }
    }
    // Streams nghttp2 closed: their exchanges end (a finished one gave its
    // upstream back already; an unfinished one drops it).
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second->closed) {
        nghttp2_session_set_stream_user_data(session_, it->first, nullptr);
        it = streams_.erase(it);
        moved = true;
      } else {
        ++it;
      }
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
        out_.empty()) {
      close();
      break;
    }
    if (!moved && !again_) break;
  }
  driving_ = false;
  if (!closed_) updateDeadline();
}

void Http2Connection::onDeadline() {
  uint64_t now = worker_.loop.now();
  bool exchangeDue = false;
  for (auto& [id, stream] : streams_) {
    if (stream->exchange && stream->exchange->deadline() != 0 &&
        stream->exchange->deadline() <= now) {
      stream->exchange->checkTimeout(now);
      exchangeDue = true;
    }
  }
  if (exchangeDue) return drive();
  if (streams_.empty()) {
    // Idle past keep-alive (or stuck in the handshake of a dead client): say goodbye.
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    drive();
    if (!closed_) close();
    return;
  }
  drive();
}

void Http2Connection::updateDeadline() {
  uint64_t soonest = 0;
  for (auto& [id, stream] : streams_) {
    uint64_t d = stream->exchange ? stream->exchange->deadline() : 0;
    if (d != 0 && (soonest == 0 || d < soonest)) soonest = d;
  }
  if (streams_.empty()) soonest = lastActivity_ + owner_.clientSettings().keepAliveTimeoutMs;
  deadline = soonest;
}

void Http2Connection::close() {
  if (closed_) return;
  closed_ = true;
  streams_.clear();
  if (stream_) worker_.loop.remove(stream_->fd());
  stream_.reset();
  owner_.connectionClosed();
  worker_.loop.retire(this);
}

}  // namespace podnet::ingress
