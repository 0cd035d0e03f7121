#include "client/rest_client.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace podnet::client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// ------------------------------------------------------------ paths, bodies

RestConfig inClusterConfig(std::string host, uint16_t port, std::string caPem, std::string token) {
  RestConfig config;
  config.host = std::move(host);
  config.port = port;
  config.caPem = std::move(caPem);
  config.token = std::move(token);
  return config;
}

std::string resourcePath(const ResourceInfo& resource, std::string_view ns, std::string_view name,
                         std::string_view subresource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/" + resource.plural;
  if (!name.empty()) {
    path += "/";
    path += name;
    if (!subresource.empty()) {
      path += "/";
      path += subresource;
    }
  }
  return path;
}

std::string queryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

void addParameter(std::string& query, std::string_view name, std::string_view value) {
  query += query.empty() ? '?' : '&';
  query += name;
  query += '=';
  query += queryEscape(value);
}

std::string writeQuery(const WriteOptions& options) {
  std::string query;
  if (!options.fieldManager.empty()) addParameter(query, "fieldManager", options.fieldManager);
  if (options.dryRun) addParameter(query, "dryRun", "All");
  return query;
}

}  // namespace

std::string listQuery(const ListOptions& options, bool watch) {
  std::string query;
  if (watch) addParameter(query, "watch", "true");
  if (!options.labelSelector.empty()) addParameter(query, "labelSelector", options.labelSelector);
  if (!options.fieldSelector.empty()) addParameter(query, "fieldSelector", options.fieldSelector);
  if (!watch && options.limit > 0) addParameter(query, "limit", std::to_string(options.limit));
  if (!watch && !options.continueToken.empty())
    addParameter(query, "continue", options.continueToken);
  if (!options.resourceVersion.empty())
    addParameter(query, "resourceVersion", options.resourceVersion);
  if (watch && options.allowWatchBookmarks) addParameter(query, "allowWatchBookmarks", "true");
  return query;
}

Json deleteOptionsBody(const DeleteOptions& options) {
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (options.gracePeriodSeconds) body["gracePeriodSeconds"] = *options.gracePeriodSeconds;
  if (!options.preconditionUid.empty()) body["preconditions"]["uid"] = options.preconditionUid;
  if (!options.preconditionResourceVersion.empty())
    body["preconditions"]["resourceVersion"] = options.preconditionResourceVersion;
  if (!options.propagationPolicy.empty()) body["propagationPolicy"] = options.propagationPolicy;
  return body;
}

namespace {

std::string reasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

std::string jsonString(const Json& object, const char* field) {
  if (!object.is_object()) return {};
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A metav1.Status object as a core::Error; `fallbackCode` when it has none.
core::Error errorFromStatus(const Json& status, int fallbackCode) {
  core::Error error;
  error.code = fallbackCode;
  if (auto it = status.find("code"); it != status.end() && it->is_number_integer())
    error.code = it->get<int>();
  error.reason = jsonString(status, "reason");
  if (error.reason.empty()) error.reason = reasonForCode(error.code);
  error.message = jsonString(status, "message");
  if (auto details = status.find("details"); details != status.end() && details->is_object()) {
    error.name = jsonString(*details, "name");
    error.group = jsonString(*details, "group");
    error.kind = jsonString(*details, "kind");
    if (auto retry = details->find("retryAfterSeconds");
        retry != details->end() && retry->is_number_integer())
      error.retryAfterSeconds = retry->get<int>();
    if (auto causes = details->find("causes"); causes != details->end() && causes->is_array()) {
      for (const Json& cause : *causes)
        error.causes.push_back({jsonString(cause, "reason"), jsonString(cause, "message"),
                                jsonString(cause, "field")});
    }
  }
  return error;
}

core::Error transportError(int code, std::string message) {
  core::Error error;
  error.code = code;
  error.reason = code == 504 ? "Timeout" : "ServiceUnavailable";
  error.message = std::move(message);
  return error;
}

}  // namespace

core::Error errorFromResponse(int httpCode, std::string_view body) {
  Json status = Json::parse(body, nullptr, false);
  if (!status.is_discarded() && status.is_object() && jsonString(status, "kind") == "Status")
    return errorFromStatus(status, httpCode);
  core::Error error;
  error.code = httpCode;
  error.reason = reasonForCode(httpCode);
  std::string text(body.substr(0, 512));
  error.message = "the server replied " + std::to_string(httpCode) +
                  (text.empty() ? std::string() : ": " + text);
  return error;
}

// ------------------------------------------------------------ connections

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool isIpLiteral(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// One TLS connection with an io_context of its own, driven synchronously by
// whichever thread holds it; async operations + run() give every step a
// deadline, which blocking Beast calls cannot have.
class Connection {
 public:
  explicit Connection(ssl::context& tls) : stream_(ioc_, tls) {}

  // Resolves, connects and handshakes, verifying the certificate against
  // `host` (a DNS name, or an IP the certificate must list).
  beast::error_code open(const ServerAddress& server, const RestConfig& config) {
    bool ipv6 = server.host.find(':') != std::string::npos;
    hostHeader_ = (ipv6 ? "[" + server.host + "]" : server.host) +
                  (server.port == 443 ? std::string() : ":" + std::to_string(server.port));
    beast::error_code result;
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(server.host, std::to_string(server.port),
                           [&](beast::error_code ec, tcp::resolver::results_type found) {
                             result = ec;
                             endpoints = std::move(found);
                           });
    if (!runFor(config.connectTimeout)) return net::error::timed_out;
    if (result) return result;

    auto& socket = beast::get_lowest_layer(stream_);
    socket.expires_after(config.connectTimeout);
    socket.async_connect(endpoints,
                         [&](beast::error_code ec, const tcp::endpoint&) { result = ec; });
    run();
    if (result) return result;
    socket.socket().set_option(tcp::no_delay(true), result);

    if (!isIpLiteral(server.host))  // SNI: only DNS names may be sent
      SSL_set_tlsext_host_name(stream_.native_handle(), server.host.c_str());
    if (config.insecureSkipTlsVerify) {
      stream_.set_verify_mode(ssl::verify_none);
    } else {
      stream_.set_verify_mode(ssl::verify_peer);
      stream_.set_verify_callback(ssl::host_name_verification(server.host));
    }
    socket.expires_after(config.connectTimeout);
    stream_.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) { result = ec; });
    run();
    return result;
  }

  template <typename Request>
  beast::error_code write(Request& request, std::chrono::milliseconds timeout) {
    beast::error_code result;
    beast::get_lowest_layer(stream_).expires_after(timeout);
    http::async_write(stream_, request, [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return result;
  }

  template <typename Parser>
  beast::error_code read(Parser& parser, std::chrono::milliseconds timeout) {
    beast::error_code result;
    beast::get_lowest_layer(stream_).expires_after(timeout);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return result;
  }

  template <typename Parser>
  beast::error_code readHeader(Parser& parser, std::chrono::milliseconds timeout) {
    beast::error_code result;
    beast::get_lowest_layer(stream_).expires_after(timeout);
    http::async_read_header(stream_, buffer_, parser,
                            [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return result;
  }

  // Reads whatever arrives next, without a deadline (a watch may be idle
  // for minutes); close() from another thread ends it.
  template <typename Parser>
  beast::error_code readSome(Parser& parser) {
    beast::error_code result;
    beast::get_lowest_layer(stream_).expires_never();
    http::async_read_some(stream_, buffer_, parser,
                          [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return result;
  }

  // The Host header for requests on this connection ("host:port").
  const std::string& hostHeader() const { return hostHeader_; }

  // Safe from any thread: shutting the socket down makes a blocked read on
  // another thread return at once.
  void shutdownSocket() {
    ::shutdown(beast::get_lowest_layer(stream_).socket().native_handle(), SHUT_RDWR);
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }
  // For resolve, which tcp_stream's expiry does not cover.
  bool runFor(std::chrono::milliseconds timeout) {
    ioc_.restart();
    ioc_.run_for(timeout);
    if (ioc_.stopped()) return true;
    ioc_.stop();
    return false;
  }

  net::io_context ioc_{1};
  TlsStream stream_;
  beast::flat_buffer buffer_;
  std::string hostHeader_;
};

std::string describe(const beast::error_code& ec) { return ec.message(); }

bool isTimeout(const beast::error_code& ec) {
  return ec == beast::error::timeout || ec == net::error::timed_out;
}

}  // namespace

// ------------------------------------------------------------ RestClient

struct RestClient::Impl {
  RestConfig config;
  ssl::context tls{ssl::context::tls_client};
  std::vector<ServerAddress> servers;  // config.host first, then the alternates
  std::atomic<size_t> current{0};      // the server connections go to

  std::mutex poolMutex;
  std::vector<std::unique_ptr<Connection>> idle;

  struct Response {
    int status = 0;
    std::string body;
  };

  // A connection to the current server, or failing that to the next one
  // that answers (which becomes current).
  core::Result<std::unique_ptr<Connection>> connect() {
    size_t first = current.load();
    core::Error failure = transportError(503, "no API server configured");
    for (size_t i = 0; i < servers.size(); ++i) {
      size_t index = (first + i) % servers.size();
      const ServerAddress& server = servers[index];
      auto connection = std::make_unique<Connection>(tls);
      if (auto ec = connection->open(server, config)) {
        std::string where = server.host + ":" + std::to_string(server.port);
        failure = isTimeout(ec)
                      ? transportError(504, "connecting to " + where + " timed out")
                      : transportError(503, "cannot connect to " + where + ": " + describe(ec));
        continue;
      }
      if (index != first) current.store(index);
      return connection;
    }
    return failure;
  }

  std::unique_ptr<Connection> takeIdle() {
    std::lock_guard lock(poolMutex);
    if (idle.empty()) return nullptr;
    auto connection = std::move(idle.back());
    idle.pop_back();
    return connection;
  }

  void giveBack(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(poolMutex);
    if (idle.size() < config.maxIdleConnections) idle.push_back(std::move(connection));
  }

  template <typename Body>
  void setHeaders(http::request<Body>& request) {
    request.set(http::field::user_agent, config.userAgent);
    request.set(http::field::accept, "application/json");
    if (!config.token.empty()) request.set(http::field::authorization, "Bearer " + config.token);
  }

  core::Result<Response> roundTrip(std::string_view method, const std::string& target,
                                   const std::string& body) {
    http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
    if (verb == http::verb::unknown) return core::badRequest("unknown HTTP method");
    http::request<http::string_body> request{verb, target, 11};
    setHeaders(request);
    request.keep_alive(true);
    if (!body.empty()) {
      request.set(http::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();

    // A pooled connection may have been closed by the server meanwhile
    // (idle timeout, restart): that shows as a failed write or an empty
    // read, and one fresh connection is tried before giving up.
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> connection = attempt == 0 ? takeIdle() : nullptr;
      bool reused = connection != nullptr;
      if (!connection) {
        auto fresh = connect();
        if (!fresh) return fresh.takeError();
        connection = std::move(*fresh);
      }
      std::string where = std::string(method) + " " + target;
      request.set(http::field::host, connection->hostHeader());
      if (auto ec = connection->write(request, config.requestTimeout)) {
        if (reused) continue;
        if (isTimeout(ec)) return transportError(504, where + ": request timed out");
        return transportError(503, where + ": " + describe(ec));
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
      if (auto ec = connection->read(parser, config.requestTimeout)) {
        if (isTimeout(ec)) return transportError(504, where + ": request timed out");
        if (reused && !parser.got_some()) continue;
        return transportError(503, where + ": " + describe(ec));
      }
      auto& response = parser.get();
      Response result{int(response.result_int()), std::move(response.body())};
      if (response.keep_alive()) giveBack(std::move(connection));
      return result;
    }
  }
};

RestClient::RestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RestClient::~RestClient() = default;

const RestConfig& RestClient::config() const { return impl_->config; }

core::Result<std::unique_ptr<RestClient>> RestClient::make(RestConfig config) {
  if (config.host.empty()) return core::badRequest("REST client: no server host");
  auto impl = std::make_unique<Impl>();
  boost::system::error_code ec;
  if (!config.insecureSkipTlsVerify) {
    impl->tls.set_verify_mode(ssl::verify_peer, ec);
    impl->tls.add_certificate_authority(net::buffer(config.caPem), ec);
    if (ec || config.caPem.empty())
      return core::badRequest("REST client: the CA certificate is not valid PEM" +
                              (ec ? ": " + ec.message() : std::string()));
  }
  impl->servers.push_back({config.host, config.port});
  for (const auto& alternate : config.alternates)
    if (!alternate.host.empty()) impl->servers.push_back(alternate);
  impl->config = std::move(config);
  return std::unique_ptr<RestClient>(new RestClient(std::move(impl)));
}

core::Result<Json> RestClient::request(std::string_view method, const std::string& target,
                                       const std::string& body) {
  core::Result<Impl::Response> response = core::internal("unreachable");
  // Beast and Asio report some failures by throwing (e.g. allocation, bad
  // verbs); none may escape into callers that expect a Result.
  try {
    response = impl_->roundTrip(method, target, body);
  } catch (const std::exception& e) {
    return transportError(503, std::string(method) + " " + target + ": " + e.what());
  }
  if (!response) return response.takeError();
  if (response->status < 200 || response->status >= 300)
    return errorFromResponse(response->status, response->body);
  if (response->body.empty()) return Json::object();
  Json reply = Json::parse(response->body, nullptr, false);
  if (reply.is_discarded())
    return transportError(503, std::string(method) + " " + target + ": the reply is not JSON");
  return reply;
}

std::string RestClient::namespaceFor(const ResourceInfo& resource, std::string_view ns,
                                     const Json& obj) const {
  if (!resource.namespaced) return {};
  if (!ns.empty()) return std::string(ns);
  std::string fromObject = jsonString(obj.value("metadata", Json::object()), "namespace");
  return fromObject.empty() ? impl_->config.defaultNamespace : fromObject;
}

core::Result<Json> RestClient::create(const ResourceInfo& resource, std::string_view ns, Json obj,
                                      const WriteOptions& options) {
  if (options.subresource == "binding") return bind(resource, ns, obj, options);
  std::string name = jsonString(obj.value("metadata", Json::object()), "name");
  std::string path =
      options.subresource.empty()
          ? resourcePath(resource, namespaceFor(resource, ns, obj))
          : resourcePath(resource, namespaceFor(resource, ns, obj), name, options.subresource);
  return request("POST", path + writeQuery(options), obj.dump());
}

core::Result<Json> RestClient::get(const ResourceInfo& resource, std::string_view ns,
                                   std::string_view name) {
  if (name.empty()) return core::badRequest("get: a name is required");
  return request("GET", resourcePath(resource, namespaceFor(resource, ns, Json()), name));
}

core::Result<Json> RestClient::update(const ResourceInfo& resource, std::string_view ns, Json obj,
                                      const WriteOptions& options) {
  if (options.subresource == "binding") return bind(resource, ns, obj, options);
  std::string name = jsonString(obj.value("metadata", Json::object()), "name");
  if (name.empty()) return core::badRequest("update: metadata.name is required");
  std::string path =
      resourcePath(resource, namespaceFor(resource, ns, obj), name, options.subresource);
  return request("PUT", path + writeQuery(options), obj.dump());
}

core::Result<Json> RestClient::bind(const ResourceInfo& resource, std::string_view ns,
                                    const Json& pod, const WriteOptions& options) {
  std::string name = jsonString(pod.value("metadata", Json::object()), "name");
  std::string node;
  if (auto spec = pod.find("spec"); spec != pod.end()) node = jsonString(*spec, "nodeName");
  if (name.empty() || node.empty())
    return core::badRequest("binding: metadata.name and spec.nodeName are required");
  std::string podNamespace = namespaceFor(resource, ns, pod);
  Json binding = {{"kind", "Binding"},
                  {"apiVersion", "v1"},
                  {"metadata", {{"name", name}, {"namespace", podNamespace}}},
                  {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
  auto status =
      request("POST", resourcePath(resource, podNamespace, name, "binding") + writeQuery(options),
              binding.dump());
  if (!status) return status;
  // The server answers a Status; callers of Client::update expect the pod.
  if (options.dryRun) return pod;
  return get(resource, podNamespace, name);
}

core::Result<Json> RestClient::remove(const ResourceInfo& resource, std::string_view ns,
                                      std::string_view name, const DeleteOptions& options) {
  if (name.empty()) return core::badRequest("delete: a name is required");
  return request("DELETE", resourcePath(resource, namespaceFor(resource, ns, Json()), name),
                 deleteOptionsBody(options).dump());
}

core::Result<Json> RestClient::list(const ResourceInfo& resource, std::string_view ns,
                                    const ListOptions& options) {
  return request("GET", resourcePath(resource, ns) + listQuery(options, false));
}

// ------------------------------------------------------------ watch

namespace {

// The events of one watch stream, read on a thread of its own.
class RestWatcher : public Watcher {
 public:
  RestWatcher(std::unique_ptr<Connection> connection,
              std::unique_ptr<http::response_parser<http::string_body>> parser)
      : connection_(std::move(connection)), parser_(std::move(parser)) {
    thread_ = std::thread([this] { readLoop(); });
  }

  ~RestWatcher() override {
    stopping_ = true;
    connection_->shutdownSocket();
    if (thread_.joinable()) thread_.join();
  }

  core::Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [this] { return !events_.empty() || ended_; });
    if (!events_.empty()) {
      std::vector<WatchEvent> events(std::make_move_iterator(events_.begin()),
                                     std::make_move_iterator(events_.end()));
      events_.clear();
      return events;
    }
    if (ended_) return endError_;
    return std::vector<WatchEvent>{};
  }

 private:
  void readLoop() {
    core::Error end = transportError(504, "watch ended");
    try {
      end = readEvents();
    } catch (const std::exception& e) {
      end = transportError(503, std::string("watch: ") + e.what());
    }
    std::lock_guard lock(mutex_);
    endError_ = std::move(end);
    ended_ = true;
    arrived_.notify_all();
  }

  // Returns why the stream ended.
  core::Error readEvents() {
    // The header was read already; its bytes may have brought events too.
    for (;;) {
      std::string& body = parser_->get().body();
      size_t start = 0;
      for (size_t newline; (newline = body.find('\n', start)) != std::string::npos;) {
        std::string_view line(body.data() + start, newline - start);
        start = newline + 1;
        if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
        Json event = Json::parse(line, nullptr, false);
        if (event.is_discarded() || !event.is_object())
          return transportError(503, "watch: an event is not JSON");
        std::string type = jsonString(event, "type");
        Json object = event.contains("object") ? event["object"] : Json();
        if (type == "ERROR") return errorFromStatus(object, 500);
        std::lock_guard lock(mutex_);
        events_.push_back({std::move(type), std::move(object)});
        arrived_.notify_all();
      }
      // The body only grows by appending, so dropping the parsed prefix
      // keeps a long watch from holding every event it ever saw.
      body.erase(0, start);
      if (parser_->is_done()) return transportError(504, "watch ended");
      if (stopping_) return transportError(503, "watch closed");
      if (auto ec = connection_->readSome(*parser_)) {
        if (stopping_) return transportError(503, "watch closed");
        if (ec == http::error::end_of_stream || ec == net::error::eof)
          return transportError(504, "watch ended");
        return transportError(503, "watch: " + describe(ec));
      }
    }
  }

  std::unique_ptr<Connection> connection_;
  std::unique_ptr<http::response_parser<http::string_body>> parser_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<WatchEvent> events_;
  bool ended_ = false;
  core::Error endError_;
};

}  // namespace

core::Result<std::unique_ptr<Watcher>> RestClient::watch(const ResourceInfo& resource,
                                                         std::string_view ns,
                                                         const ListOptions& options) {
  std::string target = resourcePath(resource, ns) + listQuery(options, true);
  if (impl_->config.watchTimeout.count() > 0)
    target += "&timeoutSeconds=" + std::to_string(impl_->config.watchTimeout.count());
  try {
    auto connection = impl_->connect();
    if (!connection) return connection.takeError();
    http::request<http::empty_body> request{http::verb::get, target, 11};
    impl_->setHeaders(request);
    request.set(http::field::host, (*connection)->hostHeader());
    if (auto ec = (*connection)->write(request, impl_->config.requestTimeout))
      return transportError(isTimeout(ec) ? 504 : 503, "GET " + target + ": " + describe(ec));
    auto parser = std::make_unique<http::response_parser<http::string_body>>();
    parser->body_limit((std::numeric_limits<std::uint64_t>::max)());
    if (auto ec = (*connection)->readHeader(*parser, impl_->config.requestTimeout))
      return transportError(isTimeout(ec) ? 504 : 503, "GET " + target + ": " + describe(ec));
    int status = int(parser->get().result_int());
    if (status != 200) {
      if (auto ec = (*connection)->read(*parser, impl_->config.requestTimeout))
        return errorFromResponse(status, "");
      return errorFromResponse(status, parser->get().body());
    }
    return std::unique_ptr<Watcher>(
        std::make_unique<RestWatcher>(std::move(*connection), std::move(parser)));
  } catch (const std::exception& e) {
    return transportError(503, "GET " + target + ": " + e.what());
  }
}

}  // namespace podnet::client
