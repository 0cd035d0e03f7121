#include "apiserver/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "api/codec.h"

namespace podnet::apiserver {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
// Idle keep-alive connections are closed after this (Go's client keeps them
// 90 s; a little longer here so the client is the one to close).
constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr auto kWriteTimeout = std::chrono::seconds(60);
// How often a watch thread looks up from the event stream to notice a
// client that went away or a server that is stopping.
constexpr auto kWatchPoll = std::chrono::milliseconds(250);
constexpr uint32_t kHeaderLimit = 64 * 1024;

// Offers HTTP/1.1 only: Go clients (kubectl) then speak HTTP/1.1 instead of h2.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
               unsigned int inLength, void*) {
  static const unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned int i = 0; i < inLength;) {
    unsigned int length = in[i];
    if (i + 1 + length > inLength) break;
    if (length == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, length) == 0) {
      *out = in + i + 1;
      *outLength = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

struct HttpServer::Impl {
  Impl(Handler& h, HttpServerOptions o) : handler(h), options(std::move(o)) {}

  Handler& handler;
  HttpServerOptions options;
  // Declared before the io_context so it outlives the sessions the
  // io_context destroys.
  ssl::context sslContext{ssl::context::tls_server};
  ssl::context kubeletSsl{ssl::context::tls_client};
  bool kubeletSslReady = false;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  uint16_t boundPort = 0;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::mutex watchMutex;
  std::condition_variable watchEnded;
  int activeWatches = 0;
  // The sockets of running watches, so stop() can unblock one whose client
  // stopped reading.
  std::set<int> watchSockets;

  void accept();
  void runThread();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl& server)
      : server_(server), stream_(std::move(socket), server.sslContext) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (!ec) self->read();
                            });
  }

  void read() {
    if (server_.stopping) return;
    parser_.emplace();
    parser_->body_limit(api::kMaxBodyBytes);
    parser_->header_limit(kHeaderLimit);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit)
      return sendError(413, "RequestEntityTooLarge", "the request body is too large");
    if (&ec.category() == &http::make_error_code(http::error::bad_target).category())
      return sendError(400, "BadRequest", "malformed HTTP request: " + ec.message());
    if (ec) return;  // the connection failed or timed out: just drop it

    auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.contentType = std::string(message[http::field::content_type]);
    request.accept = std::string(message[http::field::accept]);
    request.userAgent = std::string(message[http::field::user_agent]);
    request.authorization = std::string(message[http::field::authorization]);
    request.body = std::move(message.body());
    keepAlive_ = message.keep_alive();
    version_ = message.version();
    bool head = message.method() == http::verb::head;

    // What an upgrade to the node's API must carry (WebSocket or SPDY).
    std::vector<std::pair<std::string, std::string>> upgradeHeaders;
    for (const auto& field : message) {
      beast::string_view name = field.name_string();
      for (const char* wanted :
           {"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
            "Sec-WebSocket-Protocol", "X-Stream-Protocol-Version"})
        if (beast::iequals(name, wanted))
          upgradeHeaders.emplace_back(std::string(name), std::string(field.value()));
    }
    HttpResponse response = server_.handler.handle(request);
    if (response.watch) return startWatch(std::move(response.watch));
    if (response.nodeProxy)
      return proxyToNode(std::move(*response.nodeProxy), std::move(upgradeHeaders));
    send(response.status, response.contentType, std::move(response.body), head, response.headers);
  }

  // ---- pods/log, exec, attach, portforward: relayed to the node's API ----
  //
  // As kube-apiserver's UpgradeAwareHandler: the request goes to the node
  // over TLS with the server's client certificate, and from then on bytes
  // are copied both ways unchanged (the WebSocket or SPDY session, or a
  // chunked log) until either side closes. Nothing is buffered beyond one
  // read per direction.
  void proxyToNode(NodeProxy proxy,
                   std::vector<std::pair<std::string, std::string>> upgradeHeaders) {
    if (!server_.kubeletSslReady)
      return sendError(503, "ServiceUnavailable",
                       "the server has no client certificate for the nodes");
    beast::error_code ec;
    auto address = net::ip::make_address(proxy.host, ec);
    if (ec)
      return sendError(500, "InternalError",
                       "error dialing backend: bad node address " + proxy.host);
    std::string hostPort =
        (address.is_v6() ? "[" + proxy.host + "]" : proxy.host) + ":" + std::to_string(proxy.port);
    std::string head =
        proxy.method + " " + proxy.target + " HTTP/1.1\r\nHost: " + hostPort + "\r\n";
    bool upgrade = false;
    for (const auto& [name, value] : upgradeHeaders)
      upgrade = upgrade || beast::iequals(name, "Upgrade");
    for (const auto& [name, value] : upgradeHeaders)
      if (upgrade || !beast::iequals(name, "Connection")) head += name + ": " + value + "\r\n";
    if (!upgrade) head += "Connection: close\r\n";
    if (!proxy.body.empty() || proxy.method == "POST" || proxy.method == "PUT") {
      if (!proxy.contentType.empty()) head += "Content-Type: " + proxy.contentType + "\r\n";
      head += "Content-Length: " + std::to_string(proxy.body.size()) + "\r\n";
    }
    head += "User-Agent: podnet-apiserver\r\n\r\n";
    head += proxy.body;
    // What the client sent past its request belongs to the stream.
    head += beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    upstream_.emplace(stream_.get_executor(), server_.kubeletSsl);
    upstream_->set_verify_mode(ssl::verify_peer);
    upstream_->set_verify_callback(ssl::host_name_verification(proxy.host));
    beast::get_lowest_layer(stream_).expires_never();
    auto& socket = beast::get_lowest_layer(*upstream_);
    socket.expires_after(std::chrono::seconds(10));
    auto self = shared_from_this();
    auto headPtr = std::make_shared<std::string>(std::move(head));
    tcp::endpoint endpoint(address, proxy.port);
    socket.async_connect(endpoint, [self, headPtr, hostPort](beast::error_code ec) {
      if (ec)
        return self->sendError(500, "InternalError",
                               "error dialing backend: dial tcp " + hostPort + ": " + ec.message());
      // As on the accepted side: without it every small SPDY frame kubectl
      // sends waits ~40 ms for the node's delayed ACK (Nagle).
      beast::error_code ignored;
      beast::get_lowest_layer(*self->upstream_).socket().set_option(tcp::no_delay(true), ignored);
      self->upstream_->async_handshake(
          ssl::stream_base::client, [self, headPtr, hostPort](beast::error_code ec) {
            if (ec)
              return self->sendError(
                  500, "InternalError",
                  "error dialing backend: tls with " + hostPort + ": " + ec.message());
            net::async_write(*self->upstream_, net::buffer(*headPtr),
                             [self, headPtr](beast::error_code ec, size_t) {
                               if (ec) return self->closeRelay();
                               beast::get_lowest_layer(*self->upstream_).expires_never();
                               self->relayToNode();
                               self->relayToClient();
                             });
          });
    });
  }

  void relayToNode() {
    stream_.async_read_some(net::buffer(fromClient_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->closeRelay();
                              net::async_write(*self->upstream_, net::buffer(self->fromClient_, n),
                                               [self](beast::error_code ec, size_t) {
                                                 if (ec) return self->closeRelay();
                                                 self->relayToNode();
                                               });
                            });
  }

  void relayToClient() {
    upstream_->async_read_some(net::buffer(fromNode_),
                               [self = shared_from_this()](beast::error_code ec, size_t n) {
                                 if (ec) {
                                   // The node is done (a log ends, a session closes). A FIN after
                                   // what was written, not a close: closing with unread bytes from
                                   // the client would reset the connection and could lose the tail.
                                   // The pending read from the client ends the relay when it
                                   // closes.
                                   beast::error_code ignored;
                                   auto& client = beast::get_lowest_layer(self->stream_);
                                   client.socket().shutdown(tcp::socket::shutdown_send, ignored);
                                   client.expires_after(std::chrono::seconds(5));
                                   return;
                                 }
                                 net::async_write(self->stream_, net::buffer(self->fromNode_, n),
                                                  [self](beast::error_code ec, size_t) {
                                                    if (ec) return self->closeRelay();
                                                    self->relayToClient();
                                                  });
                               });
  }

  void closeRelay() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    if (upstream_) {
      beast::get_lowest_layer(*upstream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(*upstream_).close();
    }
  }

  void sendError(int code, const std::string& reason, const std::string& message) {
    keepAlive_ = false;
    core::Error error{code, reason, message};
    send(code, "application/json", error.toStatus().dump(), false);
  }

  void send(int status, const std::string& contentType, std::string body, bool head,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(version_ == 10 ? 10 : 11);
    response->result(static_cast<unsigned>(status));
    response->set(http::field::content_type, contentType);
    response->set(http::field::cache_control, "no-cache, private");
    // Repeatable headers (Warning) are added; Cache-Control replaces the default.
    for (const auto& [name, value] : headers) {
      if (beast::iequals(name, "Cache-Control"))
        response->set(http::field::cache_control, value);
      else
        response->insert(name, value);
    }
    response->keep_alive(keepAlive_);
    if (head) {
      response->content_length(body.size());
    } else {
      response->body() = std::move(body);
      response->prepare_payload();
    }
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (response->need_eof()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  // A watch holds this connection until it ends, so it runs on a thread of
  // its own with blocking writes (no async operation is pending on the
  // stream meanwhile), and hands the connection back to the io_context
  // afterwards for the next keep-alive request.
  void startWatch(std::unique_ptr<WatchStream> watch) {
    beast::get_lowest_layer(stream_).expires_never();
    int socket = beast::get_lowest_layer(stream_).socket().native_handle();
    {
      std::lock_guard lock(server_.watchMutex);
      ++server_.activeWatches;
      server_.watchSockets.insert(socket);
    }
    std::thread([self = shared_from_this(), watch = std::move(watch), socket]() mutable {
      bool reusable = self->streamWatch(*watch);
      watch.reset();
      HttpServer::Impl& server = self->server_;
      {
        std::lock_guard lock(server.watchMutex);
        server.watchSockets.erase(socket);
      }
      if (reusable) net::post(self->stream_.get_executor(), [self] { self->read(); });
      self.reset();
      std::lock_guard lock(server.watchMutex);
      --server.activeWatches;
      server.watchEnded.notify_all();
    }).detach();
  }

  bool writeAll(const std::string& data) {
    beast::error_code ec;
    net::write(stream_, net::buffer(data), ec);
    return !ec;
  }

  bool clientGone() {
    pollfd descriptor{};
    descriptor.fd = beast::get_lowest_layer(stream_).socket().native_handle();
    descriptor.events = POLLRDHUP;
    return ::poll(&descriptor, 1, 0) > 0 &&
           (descriptor.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
  }

  // Returns whether the connection can take another request.
  bool streamWatch(WatchStream& watch) {
    std::string header =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "Cache-Control: no-cache, private\r\n"
        "Transfer-Encoding: chunked\r\n";
    if (!keepAlive_) header += "Connection: close\r\n";
    header += "\r\n";
    if (!writeAll(header)) return false;
    std::string events;
    std::string chunk;
    bool more = true;
    while (more && !server_.stopping) {
      events.clear();
      more = watch.next(kWatchPoll, events);
      if (!events.empty()) {
        // One chunk per batch, sent at once: the client sees each event as
        // soon as the store has it.
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", events.size());
        chunk.assign(size);
        chunk += events;
        chunk += "\r\n";
        if (!writeAll(chunk)) return false;
      }
      if (clientGone()) return false;
    }
    if (!writeAll("0\r\n\r\n")) return false;
    return keepAlive_ && !server_.stopping;
  }

  HttpServer::Impl& server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> upstream_;
  char fromClient_[32 * 1024];
  char fromNode_[32 * 1024];
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keepAlive_ = true;
  unsigned version_ = 11;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors or the like: back off instead of spinning.
      auto timer = std::make_shared<net::steady_timer>(ioc, std::chrono::milliseconds(100));
      timer->async_wait([this, timer](beast::error_code) {
        if (!stopping) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), *this)->run();
    accept();
  });
}

void HttpServer::Impl::runThread() {
  // A handler that throws must not take the server down: log and go on.
  while (!stopping) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "podnet server: request failed: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "podnet server: request failed\n");
    }
  }
}

HttpServer::HttpServer(Handler& handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(handler, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return impl_->boundPort; }

core::Status HttpServer::start() {
  Impl& impl = *impl_;
  try {
    impl.sslContext.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                ssl::context::no_tlsv1_1);
    impl.sslContext.use_certificate_chain(net::buffer(impl.options.certPem));
    impl.sslContext.use_private_key(net::buffer(impl.options.keyPem), ssl::context::pem);
    SSL_CTX_set_alpn_select_cb(impl.sslContext.native_handle(), selectAlpn, nullptr);
    if (!impl.options.kubeletClientCertPem.empty()) {
      impl.kubeletSsl.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                  ssl::context::no_tlsv1_1);
      impl.kubeletSsl.use_certificate_chain(net::buffer(impl.options.kubeletClientCertPem));
      impl.kubeletSsl.use_private_key(net::buffer(impl.options.kubeletClientKeyPem),
                                      ssl::context::pem);
      impl.kubeletSsl.add_certificate_authority(net::buffer(impl.options.kubeletCaPem));
      impl.kubeletSslReady = true;
    }

    beast::error_code ec;
    auto address = net::ip::make_address(impl.options.host, ec);
    if (ec) return core::badRequest("invalid listen address " + impl.options.host);
    tcp::endpoint endpoint(address, impl.options.port);
    impl.acceptor.open(endpoint.protocol());
    impl.acceptor.set_option(net::socket_base::reuse_address(true));
    impl.acceptor.bind(endpoint, ec);
    if (ec)
      return core::internal("cannot listen on " + impl.options.host + ":" +
                            std::to_string(impl.options.port) + ": " + ec.message());
    impl.acceptor.listen(net::socket_base::max_listen_connections);
    impl.boundPort = impl.acceptor.local_endpoint().port();
  } catch (const std::exception& e) {
    return core::internal(std::string("cannot start the HTTPS server: ") + e.what());
  }
  impl.accept();
  int threads = impl.options.threads;
  if (threads <= 0) threads = 2 * int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) impl.threads.emplace_back([&impl] { impl.runThread(); });
  impl.started = true;
  return core::Ok{};
}

void HttpServer::stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  net::post(impl.ioc, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  // Watches notice `stopping` within one poll interval and end their
  // streams; one stuck writing to a client that stopped reading is cut off.
  {
    std::unique_lock lock(impl.watchMutex);
    if (!impl.watchEnded.wait_for(lock, std::chrono::seconds(2),
                                  [&impl] { return impl.activeWatches == 0; })) {
      for (int socket : impl.watchSockets) ::shutdown(socket, SHUT_RDWR);
      impl.watchEnded.wait(lock, [&impl] { return impl.activeWatches == 0; });
    }
  }
  impl.ioc.stop();
  for (auto& thread : impl.threads)
    if (thread.joinable()) thread.join();
  impl.threads.clear();
}

}  // namespace podnet::apiserver
