// Port-forward: SPDY/3.1 as kubectl's spdystream speaks it, carried in
// WebSocket binary messages (SPDY/3.1+portforward.k8s.io, kubectl >= 1.31)
// or on the raw connection after a 101 (Upgrade: SPDY/3.1, the fallback).
// Per local connection kubectl opens an error stream and a data stream with
// the same requestid; once both are there, a TCP connection to
// localhost:port inside the pod's network namespace is copied both ways on
// the data stream. A failure is written on the error stream and ends only
// that pair: the session and its other forwards go on.
#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <map>

#include "net/netns.h"
#include "nodeapi/sessions.h"
#include "streaming/spdy.h"

namespace podnet::nodeapi::detail {

namespace websocket = beast::websocket;
namespace spdy = streaming::spdy;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kWebSocketProtocol = "SPDY/3.1+portforward.k8s.io";
// Bytes from the client waiting for a slow pod socket before the session
// stops reading (SPDY as spdystream speaks it has no flow control).
constexpr size_t kMaxQueuedToPod = 8 * 1024 * 1024;

struct Forward {
  explicit Forward(const asio::any_io_executor& executor) : socket(executor) {}
  std::string requestId;
  uint16_t port = 0;
  uint32_t errorStream = 0, dataStream = 0;
  tcp::socket socket;
  bool connecting = false, connected = false, failed = false;
  std::deque<std::string> toPod;
  size_t toPodBytes = 0;
  bool writingPod = false;
  bool clientFinished = false;  // FIN on the data stream: no more bytes for the pod
  bool podFinished = false;     // the pod closed its side
  bool closed = false;
  // Four DATA frames' worth per read, sent in one write: fewer, fuller TLS
  // records on every hop to kubectl.
  char buffer[4 * spdy::kMaxSendChunk];
};

// A TCP socket of `family` in the pod's network namespace; connect() on it
// then reaches the pod's localhost.
int socketInPod(const std::string& netnsPath, int family, std::string& error) {
  int netns = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (netns < 0) {
    error = "open " + netnsPath + ": " + std::strerror(errno);
    return -1;
  }
  auto created = net::runInNetnsOnThisThread(netns, [family]() -> core::Result<int> {
    int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::internal(std::string("socket: ") + std::strerror(errno));
    return fd;
  });
  ::close(netns);
  if (!created) {
    error = created.error().message;
    return -1;
  }
  return *created;
}

class PortForwardSession : public std::enable_shared_from_this<PortForwardSession> {
 public:
  PortForwardSession(TlsStream stream, std::string netnsPath, std::string podName,
                     SessionContext context, bool websocket)
      : netnsPath_(std::move(netnsPath)),
        podName_(std::move(podName)),
        context_(std::move(context)),
        websocket_(websocket) {
    if (websocket_)
      ws_.emplace(std::move(stream));
    else
      raw_.emplace(std::move(stream));
  }

  void start(Request request, beast::flat_buffer buffer) {
    auto self = shared_from_this();
    if (websocket_) {
      beast::string_view offered = request[http::field::sec_websocket_protocol];
      if (offered.find(kWebSocketProtocol) == beast::string_view::npos)
        return refuse("no supported stream protocol offered (want " +
                      std::string(kWebSocketProtocol) + ")");
      websocket::stream_base::timeout timeout{};
      timeout.handshake_timeout = std::chrono::seconds(30);
      timeout.idle_timeout = context_.idleTimeout;
      timeout.keep_alive_pings = true;
      ws_->set_option(timeout);
      ws_->binary(true);
      // One WebSocket frame per message: Beast would otherwise cut each into
      // 4 KiB frames, each its own TLS record, relayed one by one.
      ws_->auto_fragment(false);
      ws_->read_message_max(spdy::kMaxFrameLength + 64);
      ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::sec_websocket_protocol, kWebSocketProtocol);
      }));
      ws_->async_accept(request, [self](beast::error_code ec) {
        if (!ec) self->readTransport();
      });
      return;
    }
    bool offered = false;
    for (const auto& field : request)
      if (beast::iequals(field.name_string(), "X-Stream-Protocol-Version") &&
          field.value() == "portforward.k8s.io")
        offered = true;
    if (!offered) return refuse("no supported stream protocol offered (want portforward.k8s.io)");
    // Bytes after the request already belong to the SPDY session.
    input_ = beast::buffers_to_string(buffer.data());
    auto reply = std::make_shared<std::string>(
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n");
    asio::async_write(*raw_, asio::buffer(*reply), [self, reply](beast::error_code ec, size_t) {
      if (ec) return;
      self->processInput();
      self->readTransport();
    });
  }

 private:
  TlsStream& tls() { return websocket_ ? ws_->next_layer() : *raw_; }

  void refuse(const std::string& message) {
    refuseUpgrade(tls(), shared_from_this(), 400, message);
  }

  // ---- the transport: WebSocket messages or raw bytes, one byte stream ----

  void readTransport() {
    if (ended_ || reading_) return;
    if (queuedToPod() > kMaxQueuedToPod) {
      paused_ = true;
      return;
    }
    reading_ = true;
    auto self = shared_from_this();
    auto done = [self](beast::error_code ec) {
      self->reading_ = false;
      if (ec) return self->end();
      self->processInput();
      self->readTransport();
    };
    if (websocket_) {
      ws_->async_read(wsBuffer_, [self, done](beast::error_code ec, size_t) {
        if (!ec) {
          self->input_ += beast::buffers_to_string(self->wsBuffer_.data());
          self->wsBuffer_.consume(self->wsBuffer_.size());
        }
        done(ec);
      });
    } else {
      // Quiet for the idle timeout both ways: the session ends (as WebSocket's).
      beast::get_lowest_layer(*raw_).expires_after(context_.idleTimeout);
      raw_->async_read_some(asio::buffer(rawBuffer_), [self, done](beast::error_code ec, size_t n) {
        if (!ec) self->input_.append(self->rawBuffer_, n);
        done(ec);
      });
    }
  }

  void resumeIfPaused() {
    if (paused_ && queuedToPod() <= kMaxQueuedToPod / 2) {
      paused_ = false;
      readTransport();
    }
  }

  size_t queuedToPod() const {
    size_t total = 0;
    for (const auto& [_, forward] : byStream_) total += forward->toPodBytes;
    return total;
  }

  // Frames to the client, each written in order; `sent` runs once written.
  void queue(std::string frames, std::function<void()> sent = nullptr) {
    if (ended_ || frames.empty()) return;
    out_.push_back({std::move(frames), std::move(sent)});
    if (!writing_) writeNext();
  }

  void writeNext() {
    if (out_.empty() || ended_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    // Raw: everything queued goes in one write. WebSocket: one message each.
    auto batch = std::make_shared<std::vector<std::function<void()>>>();
    auto bytes = std::make_shared<std::string>();
    do {
      *bytes += out_.front().frames;
      batch->push_back(std::move(out_.front().sent));
      out_.pop_front();
    } while (!websocket_ && !out_.empty() && bytes->size() < 256 * 1024);
    auto finished = [self, batch, bytes](beast::error_code ec, size_t) {
      if (ec) return self->end();
      for (auto& sent : *batch)
        if (sent) sent();
      self->writeNext();
    };
    if (websocket_)
      ws_->async_write(asio::buffer(*bytes), finished);
    else
      asio::async_write(*raw_, asio::buffer(*bytes), finished);
  }

  // ---- SPDY ----------------------------------------------------------------

  void processInput() {
    size_t offset = 0;
    while (!ended_) {
      spdy::Frame frame;
      auto parsed = codec_.parse(std::string_view(input_).substr(offset), frame);
      if (parsed.outcome == spdy::Codec::Outcome::needMore) break;
      if (parsed.outcome == spdy::Codec::Outcome::error) {
        std::string out;
        codec_.goAway(out, lastStreamId_, spdy::kProtocolError);
        queue(std::move(out), [self = shared_from_this()] { self->end(); });
        input_.clear();
        return;
      }
      offset += parsed.consumed;
      handleFrame(frame);
    }
    input_.erase(0, offset);
  }

  void handleFrame(spdy::Frame& frame) {
    switch (frame.type) {
      case spdy::FrameType::synStream:
        return onSynStream(frame);
      case spdy::FrameType::data:
        return onData(frame);
      case spdy::FrameType::rstStream: {
        auto it = byStream_.find(frame.streamId);
        if (it != byStream_.end()) close(it->second);
        return;
      }
      case spdy::FrameType::ping: {
        std::string out;
        codec_.ping(out, frame.pingId);
        return queue(std::move(out));
      }
      case spdy::FrameType::goAway:
        return end();
      default:
        return;  // SETTINGS, WINDOW_UPDATE, HEADERS: spdystream ignores them too
    }
  }

  void onSynStream(const spdy::Frame& frame) {
    lastStreamId_ = std::max(lastStreamId_, frame.streamId);
    std::string out;
    codec_.synReply(out, frame.streamId, {});
    std::string_view type = spdy::headerValue(frame.headers, "streamtype");
    std::string_view portText = spdy::headerValue(frame.headers, "port");
    std::string requestId(spdy::headerValue(frame.headers, "requestid"));
    long port = 0;
    for (char c : portText)
      port = c >= '0' && c <= '9' && port < 100000 ? port * 10 + (c - '0') : -1;
    if ((type != "error" && type != "data") || port <= 0 || port > 65535) {
      codec_.rstStream(out, frame.streamId, spdy::kProtocolError);
      return queue(std::move(out));
    }
    queue(std::move(out));
    std::shared_ptr<Forward>& forward = pending_[requestId];
    if (!forward) {
      forward = std::make_shared<Forward>(tls().get_executor());
      forward->requestId = requestId;
      forward->port = static_cast<uint16_t>(port);
    }
    (type == "error" ? forward->errorStream : forward->dataStream) = frame.streamId;
    byStream_[frame.streamId] = forward;
    if (frame.fin() && type == "data") forward->clientFinished = true;
    if (forward->errorStream != 0 && forward->dataStream != 0) {
      std::shared_ptr<Forward> ready = forward;
      pending_.erase(requestId);
      connect(ready);
    }
  }

  void onData(const spdy::Frame& frame) {
    auto it = byStream_.find(frame.streamId);
    if (it == byStream_.end()) return;
    std::shared_ptr<Forward> forward = it->second;
    if (frame.streamId != forward->dataStream) return;  // the client's error stream: nothing
    if (!frame.data.empty() && !forward->clientFinished && !forward->closed) {
      forward->toPodBytes += frame.data.size();
      forward->toPod.push_back(frame.data);
    }
    if (frame.fin()) forward->clientFinished = true;
    if (forward->connected) writePod(forward);
  }

  void connect(const std::shared_ptr<Forward>& forward) {
    forward->connecting = true;
    tryConnect(forward, AF_INET, "");
  }

  // 127.0.0.1 first, then ::1, as kubelet does.
  void tryConnect(const std::shared_ptr<Forward>& forward, int family, std::string ipv4Error) {
    std::string error;
    int fd = socketInPod(netnsPath_, family, error);
    if (fd < 0) return fail(forward, error);
    beast::error_code ec;
    forward->socket.assign(family == AF_INET ? tcp::v4() : tcp::v6(), fd, ec);
    if (ec) {
      ::close(fd);
      return fail(forward, ec.message());
    }
    tcp::endpoint endpoint(
        family == AF_INET ? asio::ip::make_address("127.0.0.1") : asio::ip::make_address("::1"),
        forward->port);
    auto self = shared_from_this();
    forward->socket.async_connect(endpoint, [self, forward, family,
                                             ipv4Error](beast::error_code ec) {
      if (forward->closed) return;
      std::string port = std::to_string(forward->port);
      // Go's wording ("connect: connection refused"), which users search for.
      std::string reason = ec.message();
      if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
      if (ec) {
        beast::error_code ignored;
        forward->socket.close(ignored);
        if (family == AF_INET)
          return self->tryConnect(forward, AF_INET6,
                                  "dial tcp4 127.0.0.1:" + port + ": connect: " + reason);
        return self->fail(forward, "failed to connect to localhost:" + port +
                                       " inside the pod's network namespace, IPv4: " + ipv4Error +
                                       " IPv6: dial tcp6 [::1]:" + port + ": connect: " + reason);
      }
      forward->connected = true;
      beast::error_code ignored;
      forward->socket.set_option(tcp::no_delay(true), ignored);
      self->writePod(forward);
      self->readPod(forward);
    });
  }

  // kubelet: the error on the error stream, then both streams closed.
  void fail(const std::shared_ptr<Forward>& forward, const std::string& why) {
    std::string out;
    codec_.data(out, forward->errorStream,
                "error forwarding port " + std::to_string(forward->port) + " to pod " + podName_ +
                    ": " + why,
                true);
    codec_.data(out, forward->dataStream, "", true);
    forward->failed = true;
    queue(std::move(out));
    close(forward);
  }

  void writePod(const std::shared_ptr<Forward>& forward) {
    if (forward->writingPod || forward->closed) return;
    if (forward->toPod.empty()) {
      if (forward->clientFinished) {
        beast::error_code ignored;
        forward->socket.shutdown(tcp::socket::shutdown_send, ignored);
        if (forward->podFinished) close(forward);
      }
      return;
    }
    forward->writingPod = true;
    auto self = shared_from_this();
    asio::async_write(forward->socket, asio::buffer(forward->toPod.front()),
                      [self, forward](beast::error_code ec, size_t) {
                        forward->writingPod = false;
                        if (forward->closed) return;
                        forward->toPodBytes -= forward->toPod.front().size();
                        forward->toPod.pop_front();
                        if (ec) {
                          // The pod closed: what the client sends next has nowhere to go.
                          forward->toPod.clear();
                          forward->toPodBytes = 0;
                        }
                        self->resumeIfPaused();
                        self->writePod(forward);
                      });
  }

  void readPod(const std::shared_ptr<Forward>& forward) {
    auto self = shared_from_this();
    forward->socket.async_read_some(
        asio::buffer(forward->buffer), [self, forward](beast::error_code ec, size_t n) {
          if (forward->closed) return;
          std::string out;
          if (ec) {
            // The pod is done: FIN on the data stream, then the error stream
            // (kubectl waits for the latter's end).
            forward->podFinished = true;
            self->codec_.data(out, forward->dataStream, "", true);
            self->codec_.data(out, forward->errorStream, "", true);
            self->queue(std::move(out));
            if (forward->clientFinished || ec != asio::error::eof) self->close(forward);
            return;
          }
          self->codec_.data(out, forward->dataStream, std::string_view(forward->buffer, n));
          // The next read once this one is on its way: a slow client slows the pod.
          self->queue(std::move(out), [self, forward] {
            if (!forward->closed) self->readPod(forward);
          });
        });
  }

  void close(const std::shared_ptr<Forward>& forward) {
    if (forward->closed) return;
    forward->closed = true;
    beast::error_code ignored;
    forward->socket.close(ignored);
    forward->toPod.clear();
    forward->toPodBytes = 0;
    byStream_.erase(forward->errorStream);
    byStream_.erase(forward->dataStream);
    resumeIfPaused();
  }

  void end() {
    if (ended_) return;
    ended_ = true;
    for (auto& [_, forward] : byStream_) {
      beast::error_code ignored;
      forward->closed = true;
      forward->socket.close(ignored);
    }
    byStream_.clear();
    pending_.clear();
    out_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(tls()).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(tls()).close();
  }

  struct Outgoing {
    std::string frames;
    std::function<void()> sent;
  };

  std::string netnsPath_, podName_;
  SessionContext context_;
  bool websocket_;
  std::optional<websocket::stream<TlsStream>> ws_;
  std::optional<TlsStream> raw_;
  beast::flat_buffer wsBuffer_;
  char rawBuffer_[64 * 1024];
  spdy::Codec codec_;
  std::string input_;
  std::deque<Outgoing> out_;
  bool writing_ = false, reading_ = false, paused_ = false, ended_ = false;
  uint32_t lastStreamId_ = 0;
  std::map<std::string, std::shared_ptr<Forward>> pending_;  // by requestid, waiting for its pair
  std::map<uint32_t, std::shared_ptr<Forward>> byStream_;
};

}  // namespace

void startPortForwardSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                             std::string netnsPath, std::string podName, SessionContext context) {
  bool websocket = websocket::is_upgrade(request);
  auto session = std::make_shared<PortForwardSession>(
      std::move(stream), std::move(netnsPath), std::move(podName), std::move(context), websocket);
  session->start(std::move(request), std::move(buffer));
}

}  // namespace podnet::nodeapi::detail
