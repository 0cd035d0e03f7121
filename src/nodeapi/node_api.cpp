#include "nodeapi/node_api.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "http/query.h"
#include "nodeapi/sessions.h"
#include "runtime/container_log.h"

namespace podnet::nodeapi {

using namespace detail;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;

std::string detail::statusJson(int code, const std::string& reason, const std::string& message) {
  nlohmann::json status = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  return status.dump();
}

void detail::refuseUpgrade(TlsStream& stream, std::shared_ptr<void> owner, int code,
                           const std::string& message,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  auto response =
      std::make_shared<http::response<http::string_body>>(static_cast<http::status>(code), 11);
  response->set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) response->set(name, value);
  response->body() = statusJson(code, code == 403 ? "Forbidden" : "BadRequest", message);
  response->keep_alive(false);
  response->prepare_payload();
  http::async_write(stream, *response,
                    [&stream, owner = std::move(owner), response](beast::error_code, size_t) {
                      beast::get_lowest_layer(stream).close();
                    });
}

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
constexpr auto kRequestTimeout = std::chrono::seconds(60);

bool isTrue(const std::string& value) { return value == "1" || value == "true"; }

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) {
      auto decoded = podnet::http::urlDecode(path.substr(start, slash - start), false);
      segments.push_back(decoded ? *decoded : std::string(path.substr(start, slash - start)));
    }
    start = slash + 1;
  }
  return segments;
}

// The subject's common name and organizations.
std::vector<std::string> subjectNames(X509* certificate) {
  std::vector<std::string> names;
  X509_NAME* subject = X509_get_subject_name(certificate);
  for (int nid : {NID_commonName, NID_organizationName}) {
    int index = -1;
    while ((index = X509_NAME_get_index_by_NID(subject, nid, index)) >= 0) {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
      unsigned char* text = nullptr;
      int length = ASN1_STRING_to_UTF8(&text, data);
      if (length >= 0)
        names.emplace_back(reinterpret_cast<char*>(text), static_cast<size_t>(length));
      OPENSSL_free(text);
    }
  }
  return names;
}

}  // namespace

struct NodeApiServer::Impl {
  Impl(const PodDirectory& p, NodeApiOptions o) : pods(p), options(std::move(o)) {}

  const PodDirectory& pods;
  NodeApiOptions options;
  ssl::context sslContext{ssl::context::tls_server};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<size_t> sessions{0};
  std::atomic<bool> stopping{false};
  uint16_t boundPort = 0;

  // A place in the session cap, or null when it is full.
  std::shared_ptr<void> takeTicket() {
    if (sessions.fetch_add(1) >= options.maxSessions) {
      sessions.fetch_sub(1);
      return nullptr;
    }
    struct Ticket {
      explicit Ticket(std::atomic<size_t>& c) : count(c) {}
      Ticket(const Ticket&) = delete;
      ~Ticket() { count.fetch_sub(1); }
      std::atomic<size_t>& count;
    };
    return std::make_shared<Ticket>(sessions);
  }

  void accept();
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, NodeApiServer::Impl& server)
      : server_(server), stream_(std::move(socket), server.sslContext) {}

  void run() {
    beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (!ec) self->read();
                            });
  }

 private:
  void read() {
    if (server_.stopping) return;
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    parser_->header_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    http::async_read(
        stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec == http::error::end_of_stream || ec == beast::error::timeout) return;
          if (ec) {
            if (&ec.category() == &http::make_error_code(http::error::bad_target).category())
              return self->reply(400, "BadRequest", "malformed HTTP request: " + ec.message(),
                                 false);
            return;
          }
          self->route();
        });
  }

  // A component's request: answered from a thread of its own, then the
  // reply is written on the connection's executor.
  void handOver(const PlainHandler& handler, std::string path, std::string query) {
    Request& request = parser_->get();
    PlainRequest plain{std::string(request.method_string()), std::move(path), std::move(query),
                       std::move(request.body())};
    bool keepAlive = request.keep_alive();
    auto self = shared_from_this();
    beast::get_lowest_layer(stream_).expires_never();  // the handler keeps its own deadline
    try {
      std::thread([self, handler, plain = std::move(plain), keepAlive] {
        PlainReply answer = handler(plain);
        asio::post(self->stream_.get_executor(), [self, answer = std::move(answer), keepAlive] {
          auto response = std::make_shared<http::response<http::string_body>>();
          response->version(11);
          response->result(static_cast<unsigned>(answer.status));
          response->set(http::field::content_type, answer.contentType);
          response->body() = answer.body;
          response->keep_alive(keepAlive);
          response->prepare_payload();
          beast::get_lowest_layer(self->stream_).expires_after(kRequestTimeout);
          http::async_write(self->stream_, *response,
                            [self, response](beast::error_code ec, size_t) {
                              if (!ec && response->keep_alive()) self->read();
                            });
        });
      }).detach();
    } catch (const std::system_error&) {
      reply(503, "ServiceUnavailable", "no thread for the request", false);
    }
  }

  // Sends a Status and, when `keepAlive`, reads the next request.
  void reply(int code, const std::string& reason, const std::string& message,
             bool keepAlive = true) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(11);
    response->result(static_cast<unsigned>(code));
    response->set(http::field::content_type, "application/json");
    response->body() = statusJson(code, reason, message);
    response->keep_alive(keepAlive);
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (response->keep_alive())
                          self->read();
                        else
                          self->stream_.async_shutdown([self](beast::error_code) {});
                      });
  }

  // 401 without a certificate from the client CA, 403 for one whose name
  // is not allowed (kubelet answers the same after its SubjectAccessReview).
  bool authorized() {
    SSL* ssl = stream_.native_handle();
    X509* peer = SSL_get1_peer_certificate(ssl);
    if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
      if (peer) X509_free(peer);
      reply(401, "Unauthorized", "Unauthorized", false);
      return false;
    }
    std::vector<std::string> names = subjectNames(peer);
    X509_free(peer);
    if (server_.options.allowedClients.empty()) return true;
    for (const std::string& name : names)
      for (const std::string& allowed : server_.options.allowedClients)
        if (name == allowed) return true;
    std::string user = names.empty() ? "" : names.front();
    reply(403, "Forbidden",
          "Forbidden (user=" + user + ", verb=get, resource=nodes, subresource(s)=[proxy])", false);
    return false;
  }

  void route() {
    if (!authorized()) return;
    Request& request = parser_->get();
    std::string requestTarget(request.target());
    auto [path, query] = podnet::http::splitTarget(requestTarget);
    std::vector<std::string> segments = splitPath(path);
    std::vector<std::pair<std::string, std::string>> parameters =
        podnet::http::queryParameters(query);
    auto parameter = [&](const char* key) {
      for (const auto& [name, value] : parameters)
        if (name == key) return value;
      return std::string();
    };
    if (segments.size() == 1 && segments[0] == "healthz") {
      auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
      response->set(http::field::content_type, "text/plain");
      response->body() = "ok";
      response->keep_alive(request.keep_alive());
      response->prepare_payload();
      return http::async_write(stream_, *response,
                               [self = shared_from_this(), response](beast::error_code ec, size_t) {
                                 if (!ec && response->keep_alive()) self->read();
                               });
    }
    if (segments.empty())
      return reply(404, "NotFound", "the server could not find the requested resource");
    const std::string& kind = segments[0];
    if (auto handler = server_.options.handlers.find(kind);
        handler != server_.options.handlers.end())
      return handOver(handler->second, std::string(path), std::string(query));
    // {ns}/{pod}[/{uid}]/{container}, {ns}/{pod}[/{uid}] for port-forward.
    bool isPortForward = kind == "portForward";
    size_t expected = isPortForward ? 3 : 4;
    if ((kind != "containerLogs" && kind != "exec" && kind != "attach" && !isPortForward) ||
        segments.size() < expected ||
        segments.size() > expected + (kind == "containerLogs" ? 0 : 1))
      return reply(404, "NotFound", "the server could not find the requested resource");
    const std::string& ns = segments[1];
    const std::string& podName = segments[2];
    std::optional<PodView> pod = server_.pods.find(ns, podName);
    if (!pod) return reply(404, "NotFound", "pod \"" + podName + "\" not found");
    bool withUid = segments.size() == expected + 1;
    if (withUid && segments[3] != pod->uid)
      return reply(404, "NotFound",
                   "pod \"" + podName + "\" with uid " + segments[3] + " not found");
    if (isPortForward) return startPortForward(*pod);
    const std::string& containerName = segments.back();
    const ContainerView* container = pod->container(containerName);
    if (!container)
      return reply(400, "BadRequest",
                   "container " + containerName + " is not valid for pod " + podName);
    if (kind == "containerLogs") return startLogs(*pod, *container, parameter);

    StreamOptions streams;
    streams.in = isTrue(parameter("input")) || isTrue(parameter("stdin"));
    streams.out = isTrue(parameter("output")) || isTrue(parameter("stdout"));
    streams.err = isTrue(parameter("error")) || isTrue(parameter("stderr"));
    streams.tty = isTrue(parameter("tty"));
    if (streams.tty) streams.err = false;
    if (!beast::websocket::is_upgrade(request) &&
        !beast::iequals(request[http::field::upgrade], "SPDY/3.1"))
      return reply(400, "BadRequest", "Upgrade request required", false);
    if (!container->running)
      return reply(400, "BadRequest",
                   "container " + containerName + " is not running in pod " + podName +
                       (container->waitingReason.empty() ? "" : ": " + container->waitingReason),
                   false);
    auto ticket = server_.takeTicket();
    if (!ticket)
      return reply(429, "TooManyRequests", "too many streaming sessions on this node", false);
    SessionContext context{ticket, server_.options.idleTimeout};
    beast::get_lowest_layer(stream_).expires_never();
    if (kind == "exec") {
      ExecTarget target;
      target.process = container->execTemplate;
      for (const auto& [name, value] : parameters)
        if (name == "command") target.process.argv.push_back(value);
      if (target.process.argv.empty())
        return reply(400, "BadRequest", "you must specify at least 1 command", false);
      target.streams = streams;
      return startExecSession(std::move(stream_), std::move(buffer_), parser_->release(),
                              std::move(target), context);
    }
    AttachTarget target;
    target.socket = container->attachSocket;
    target.streams = streams;
    if (!container->stdinOpen) target.streams.in = false;
    if (!container->tty) target.streams.tty = false;
    startAttachSession(std::move(stream_), std::move(buffer_), parser_->release(),
                       std::move(target), context);
  }

  template <typename Parameter>
  void startLogs(const PodView& pod, const ContainerView& container, Parameter parameter) {
    runtime::LogOptions options;
    auto number = [&](const char* key, int64_t minimum, std::optional<int64_t>& out) {
      std::string text = parameter(key);
      if (text.empty()) return true;
      if (text.size() > 18 || text.find_first_not_of("-0123456789") != std::string::npos)
        return false;
      try {
        int64_t value = std::stoll(text);
        if (value < minimum) return false;
        out = value;
        return true;
      } catch (const std::exception&) {
        return false;
      }
    };
    std::optional<int64_t> sinceSeconds;
    if (!number("tailLines", 0, options.tailLines) ||
        !number("limitBytes", 1, options.limitBytes) || !number("sinceSeconds", 1, sinceSeconds))
      return reply(400, "BadRequest",
                   "invalid log options in " + std::string(parser_->get().target()));
    if (sinceSeconds)
      options.since = runtime::SystemClock::now() - std::chrono::seconds(*sinceSeconds);
    std::string sinceTime = parameter("sinceTime");
    if (!sinceTime.empty()) {
      auto time = runtime::parseRfc3339(sinceTime);
      if (!time) return reply(400, "BadRequest", "invalid sinceTime " + sinceTime);
      options.since = *time;
    }
    options.timestamps = isTrue(parameter("timestamps"));
    bool follow = isTrue(parameter("follow"));
    bool previous = isTrue(parameter("previous"));
    int instance = container.instance;
    if (previous) {
      // kubelet's lastState.terminated: while the container waits to be
      // restarted, that is the instance that just ended; else the one
      // before the current one.
      int found = -1;
      bool awaitingRestart = !container.running && container.instance >= 0 &&
                             container.waitingReason == "CrashLoopBackOff";
      for (int logged : runtime::loggedInstances(container.logDir))
        if (logged < container.instance || (awaitingRestart && logged == container.instance))
          found = logged;
      if (found < 0)
        return reply(400, "BadRequest",
                     "previous terminated container \"" + container.name + "\" in pod \"" +
                         pod.name + "\" not found");
      instance = found;
      follow = false;
    } else if (instance < 0) {
      return reply(
          400, "BadRequest",
          "container \"" + container.name + "\" in pod \"" + pod.name + "\" is waiting to start: " +
              (container.waitingReason.empty() ? "ContainerCreating" : container.waitingReason));
    }
    std::shared_ptr<void> ticket;
    if (follow) {
      ticket = server_.takeTicket();
      if (!ticket)
        return reply(429, "TooManyRequests", "too many streaming sessions on this node", false);
    }
    std::string exitPath =
        (fs::path(container.logDir) / (std::to_string(instance) + ".exit")).string();
    beast::get_lowest_layer(stream_).expires_never();
    startLogSession(std::move(stream_), runtime::instanceLogPath(container.logDir, instance),
                    options, follow, exitPath, SessionContext{ticket, server_.options.idleTimeout});
  }

  void startPortForward(const PodView& pod) {
    Request& request = parser_->get();
    bool websocket = beast::websocket::is_upgrade(request);
    bool spdy = beast::iequals(request[http::field::upgrade], "SPDY/3.1");
    if (!websocket && !spdy) return reply(400, "BadRequest", "Upgrade request required", false);
    auto ticket = server_.takeTicket();
    if (!ticket)
      return reply(429, "TooManyRequests", "too many streaming sessions on this node", false);
    beast::get_lowest_layer(stream_).expires_never();
    startPortForwardSession(std::move(stream_), std::move(buffer_), parser_->release(),
                            pod.netnsPath, pod.name,
                            SessionContext{ticket, server_.options.idleTimeout});
  }

  NodeApiServer::Impl& server_;
  TlsStream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void NodeApiServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(std::move(socket), *this)->run();
    }
    accept();
  });
}

NodeApiServer::NodeApiServer(const PodDirectory& pods, NodeApiOptions options)
    : impl_(std::make_unique<Impl>(pods, std::move(options))) {}

NodeApiServer::~NodeApiServer() { stop(); }

core::Status NodeApiServer::start() {
  Impl& impl = *impl_;
  try {
    impl.sslContext.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                ssl::context::no_tlsv1_1);
    impl.sslContext.use_certificate_chain(asio::buffer(impl.options.certPem));
    impl.sslContext.use_private_key(asio::buffer(impl.options.keyPem), ssl::context::pem);
    impl.sslContext.add_certificate_authority(asio::buffer(impl.options.clientCaPem));
    // Ask for a certificate but let the handshake finish without one, so a
    // client without gets an HTTP 401 it can read rather than a TLS alert.
    impl.sslContext.set_verify_mode(ssl::verify_peer);
    impl.sslContext.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  } catch (const std::exception& e) {
    return core::badRequest(std::string("node API certificate: ") + e.what());
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(impl.options.host, ec);
  if (ec) return core::badRequest("node API address " + impl.options.host + ": " + ec.message());
  tcp::endpoint endpoint(address, impl.options.port);
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::internal("node API on " + impl.options.host + ":" +
                          std::to_string(impl.options.port) + ": " + ec.message());
  impl.boundPort = impl.acceptor.local_endpoint().port();
  impl.accept();
  for (int i = 0; i < std::max(1, impl.options.threads); ++i)
    impl.threads.emplace_back([&impl] {
      while (!impl.stopping) {
        try {
          impl.ioc.run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "podnet node API: %s\n", e.what());
        }
      }
    });
  return core::Ok{};
}

uint16_t NodeApiServer::port() const { return impl_->boundPort; }

void NodeApiServer::stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  beast::error_code ignored;
  impl.acceptor.close(ignored);
  impl.ioc.stop();
  for (std::thread& thread : impl.threads)
    if (thread.joinable()) thread.join();
  impl.threads.clear();
}

}  // namespace podnet::nodeapi
