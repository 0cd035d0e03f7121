#include "ingress/proxy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include "core/socket_address.h"
#include "ingress/http2_connection.h"
#include "pki/certificates.h"

namespace podnet::ingress {

namespace {

core::Error hostError(std::string message) {
  return core::Error{500, "InternalError", std::move(message)};
}

// ALPN: h2 first, then HTTP/1.1 (the server's preference decides).
int selectProtocol(SSL*, const unsigned char** out, unsigned char* outLength,
                   const unsigned char* in, unsigned int inLength, void*) {
  static const unsigned char kOurs[] = "\x02h2\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outLength, kOurs, sizeof kOurs - 1, in, inLength) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::shared_ptr<SSL_CTX> newServerContext() {
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return nullptr;
  std::shared_ptr<SSL_CTX> context(raw, SSL_CTX_free);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_alpn_select_cb(raw, selectProtocol, nullptr);
  // Whole records and what follows them in one recv, instead of a 5-byte
  // header read then the body: half the system calls per request.
  SSL_CTX_set_read_ahead(raw, 1);
  return context;
}

// A context serving `certPem` (leaf first, then its chain) with `keyPem`.
std::shared_ptr<SSL_CTX> contextFor(const std::string& certPem, const std::string& keyPem) {
  auto context = newServerContext();
  if (!context) return nullptr;
  std::unique_ptr<BIO, decltype(&BIO_free)> certs(
      BIO_new_mem_buf(certPem.data(), int(certPem.size())), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key(BIO_new_mem_buf(keyPem.data(), int(keyPem.size())),
                                                BIO_free);
  if (!certs || !key) return nullptr;
  X509* leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  if (!leaf) return nullptr;
  bool ok = SSL_CTX_use_certificate(context.get(), leaf) == 1;
  X509_free(leaf);
  while (ok) {
    X509* chained = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
    if (!chained) break;
    if (SSL_CTX_add_extra_chain_cert(context.get(), chained) != 1) {  // takes it on success
      X509_free(chained);
      ok = false;
    }
  }
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr);
  ok = ok && pkey && SSL_CTX_use_PrivateKey(context.get(), pkey) == 1 &&
       SSL_CTX_check_private_key(context.get()) == 1;
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return ok ? context : nullptr;
}

// Where an SSL object keeps the port of the listener that accepted it (the
// SNI callback chooses among that port's certificates).
int listenerPortIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// A listening socket of one thread (SO_REUSEPORT: each thread has its own,
// on the same address).
int listenOn(sockaddr_storage& address, socklen_t length, std::string& why) {
  int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 4096) != 0) {
    why = "listen on " + core::addressText(address) + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (core::portOf(address) == 0) {  // the kernel chose: the other threads take the same
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLength);
    core::setPort(address, core::portOf(bound));
  }
  return fd;
}

}  // namespace

// ---- a proxy thread -------------------------------------------------------------------

class Proxy::Worker : public ConnectionOwner {
 public:
  Worker(Proxy& proxy, const ProxyOptions& options)
      : proxy_(proxy),
        options_(options),
        pool_(loop_, options.idlePerEndpoint, options.upstreamIdleTimeoutMs),
        context_{loop_, pool_, stats_, options.exchange, std::mt19937(std::random_device{}())} {}

  ~Worker() override {
    for (auto& l : listeners_) ::close(l->fd);
  }

  WorkerContext& context() override { return context_; }
  const ClientSettings& clientSettings() const override { return options_.client; }
  std::shared_ptr<const Snapshot> snapshot() override {
    refresh();
    return snapshot_;
  }
  void connectionClosed() override {
    --open_;
    stats_.connectionsOpen.fetch_sub(1, std::memory_order_relaxed);
  }
  void startHttp2(std::unique_ptr<Stream> stream, const std::string& clientIp,
                  uint16_t serverPort) override {
    auto* connection = new Http2Connection(*this, std::move(stream), clientIp, serverPort);
    if (!connection->start()) {
      connectionClosed();
      delete connection;
    }
  }

  enum class Kind { http, https, metrics };
  void listen(int fd, Kind kind, uint16_t port) {
    listeners_.push_back(std::make_unique<Listener>(*this, fd, kind, port));
  }
  // While running (from another thread): a Gateway port opened or closed.
  void addListener(int fd, Kind kind, uint16_t port) {
    loop_.post([this, fd, kind, port] {
      listeners_.push_back(std::make_unique<Listener>(*this, fd, kind, port));
      if (!loop_.add(fd, listeners_.back().get())) {
        ::close(fd);
        listeners_.pop_back();
      }
    });
  }
  void removeListener(uint16_t port) {
    loop_.post([this, port] {
      for (auto it = listeners_.begin(); it != listeners_.end();) {
        if ((*it)->port == port && (*it)->kind != Kind::metrics) {
          loop_.remove((*it)->fd);
          ::close((*it)->fd);
          // The loop deletes it after this iteration: events it already
          // collected for the listener are dropped, not run on freed memory.
          loop_.retire(it->release());
          it = listeners_.erase(it);
        } else {
          ++it;
        }
      }
    });
  }

  void run() {
    for (auto& l : listeners_) loop_.add(l->fd, l.get());
    loop_.run();
  }
  void stop() { loop_.stop(); }

  std::thread thread;
  ProxyStats& stats() { return stats_; }

  // The TLS context for an SNI name ("" when none was sent) on a
  // listener's port, from this thread's snapshot.
  SSL_CTX* contextFor(std::string_view serverName, uint16_t port) {
    refresh();
    const RoutingTable& table = *snapshot_->table;
    const Certificate* certificate = table.isGatewayPort(port)
                                         ? table.gatewayCertificateFor(port, serverName)
                                         : table.certificateFor(serverName);
    if (!certificate || !tls_) return nullptr;
    auto it = tls_->bySecret.find(certificate->secret);
    return it == tls_->bySecret.end() ? nullptr : it->second->context.get();
  }

 private:
  struct Listener : IoHandler {
    Listener(Worker& w, int f, Kind k, uint16_t p) : worker(w), fd(f), kind(k), port(p) {}
    void onIo(uint32_t) override { worker.accept(*this); }
    Worker& worker;
    int fd;
    Kind kind;
    uint16_t port;
  };

  void refresh() {
    uint64_t generation = proxy_.generation();
    if (snapshot_ && generation == seen_) return;
    auto published = proxy_.current();
    snapshot_ = std::move(published.snapshot);
    tls_ = std::move(published.tls);
    seen_ = generation;
  }

  void accept(Listener& listener) {
    for (;;) {
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // EAGAIN, or out of descriptors: the next edge tries again
      }
      if (listener.kind == Kind::metrics) {
        serveMetrics(fd);
        continue;
      }
      if (open_ >= options_.maxConnectionsPerThread) {
        stats_.connectionsRefused.fetch_add(1, std::memory_order_relaxed);
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::unique_ptr<Stream> stream;
      if (listener.kind == Kind::https) {
        SSL* ssl = SSL_new(proxy_.defaultContext_.get());
        if (!ssl) {
          ::close(fd);
          continue;
        }
        SSL_set_app_data(ssl, this);
        SSL_set_ex_data(ssl, listenerPortIndex(),
                        reinterpret_cast<void*>(static_cast<uintptr_t>(listener.port)));
        stream = std::make_unique<TlsStream>(fd, ssl, true);
      } else {
        stream = std::make_unique<Stream>(fd);
      }
      ++open_;
      stats_.connectionsAccepted.fetch_add(1, std::memory_order_relaxed);
      stats_.connectionsOpen.fetch_add(1, std::memory_order_relaxed);
      auto* connection =
          new Http1Connection(*this, std::move(stream), core::hostText(peer), listener.port);
      if (!connection->start()) {
        connectionClosed();
        delete connection;
      }
    }
  }

  void serveMetrics(int fd);

  Proxy& proxy_;
  const ProxyOptions& options_;
  EventLoop loop_;
  UpstreamPool pool_;
  ProxyStats stats_;
  WorkerContext context_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const TlsContexts> tls_;
  uint64_t seen_ = 0;
  size_t open_ = 0;
};

namespace {

// A /metrics or /healthz request: one request per connection, answered and
// closed (Prometheus scrapes and probes need nothing more).
class MetricsConnection : public IoHandler {
 public:
  MetricsConnection(EventLoop& loop, int fd, std::function<std::string()> render,
                    std::function<bool()> ready)
      : loop_(loop), stream_(fd), render_(std::move(render)), ready_(std::move(ready)) {
    deadline = loop.now() + 10000;
  }
  void onIo(uint32_t events) override {
    if (events & (EPOLLRDHUP | EPOLLHUP)) stream_.noteHangup();
    if (out_.empty() && !answered_) {
      IoState s = stream_.read(in_, 16384);
      if (s == IoState::eof || s == IoState::error) return finish();
      auto parsed = http::parseRequest(in_.view());
      if (parsed.state == http::Parsed<http::RequestHead>::State::incomplete) {
        if (in_.size() >= 16384) return finish();
        return;
      }
      answered_ = true;
      LocalResponse response;
      if (parsed.state == http::Parsed<http::RequestHead>::State::error) {
        response.status = 400;
      } else if (parsed.head.path == "/metrics") {
        response.status = 200;
        response.contentType = "text/plain; version=0.0.4; charset=utf-8";
        response.body = render_();
      } else if (parsed.head.path == "/healthz") {
        bool ready = ready_();
        response.status = ready ? 200 : 503;
        response.contentType = "text/plain; charset=utf-8";
        response.body = ready ? "ok" : "not ready: no routing table yet";
      } else {
        response.status = 404;
      }
      bool head = parsed.state == http::Parsed<http::RequestHead>::State::done &&
                  parsed.head.method == "HEAD";
      writeLocalResponse(out_, response, false, false, head);
    }
    IoState s = stream_.write(out_);
    if (out_.empty() || s == IoState::error) finish();
  }
  void onDeadline() override { finish(); }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    loop_.remove(stream_.fd());
    loop_.retire(this);
  }
  EventLoop& loop_;
  Stream stream_;
  std::function<std::string()> render_;
  std::function<bool()> ready_;
  Buffer in_, out_;
  bool answered_ = false, done_ = false;
};

}  // namespace

void Proxy::Worker::serveMetrics(int fd) {
  auto* connection = new MetricsConnection(
      loop_, fd, [this] { return proxy_.metricsText(); }, [this] { return proxy_.isReady(); });
  if (!loop_.add(fd, connection)) {
    ::close(fd);
    delete connection;
  }
}

// ---- the proxy ----------------------------------------------------------------------------

namespace {

// SNI: the Secret's context for the name asked, else the default certificate.
int chooseCertificate(SSL* ssl, int*, void*) {
  auto* worker = static_cast<Proxy::Worker*>(SSL_get_app_data(ssl));
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  auto port =
      static_cast<uint16_t>(reinterpret_cast<uintptr_t>(SSL_get_ex_data(ssl, listenerPortIndex())));
  if (!worker) return SSL_TLSEXT_ERR_OK;
  if (SSL_CTX* context = worker->contextFor(name ? name : "", port)) SSL_set_SSL_CTX(ssl, context);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

Proxy::Proxy(ProxyOptions options) : options_(std::move(options)) {
  auto empty = std::make_shared<Snapshot>();
  empty->table = std::make_shared<RoutingTable>();
  published_.snapshot = std::move(empty);
  published_.tls = std::make_shared<TlsContexts>();
}

Proxy::~Proxy() { stop(); }

Proxy::Published Proxy::current() {
  std::lock_guard lock(publishedMutex_);
  return published_;
}

core::Status Proxy::start() {
  if (started_) return core::Ok{};
  // The default certificate, as ingress-nginx's.
  auto fake = pki::issueCertificate(
      {"Kubernetes Ingress Controller Fake Certificate", "Acme Co", {"ingress.local"}, 365, false});
  if (!fake) return fake.takeError();
  defaultContext_ = contextFor(fake->certPem, fake->keyPem);
  if (!defaultContext_) return hostError("cannot make the default TLS context");
  SSL_CTX_set_tlsext_servername_callback(defaultContext_.get(), chooseCertificate);

  int threads = options_.threads > 0 ? options_.threads
                                     : int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(*this, options_));

  struct Address {
    const std::string& text;
    Worker::Kind kind;
    uint16_t& port;
  };
  for (Address a : {Address{options_.httpListen, Worker::Kind::http, httpPort_},
                    Address{options_.httpsListen, Worker::Kind::https, httpsPort_},
                    Address{options_.metricsListen, Worker::Kind::metrics, metricsPort_}}) {
    if (a.text.empty()) continue;
    sockaddr_storage address{};
    socklen_t length = 0;
    if (!core::parseListenAddress(a.text, address, length))
      return core::badRequest("invalid listen address " + a.text + " (want ADDR:PORT)");
    // Metrics are served by the first thread alone.
    size_t count = a.kind == Worker::Kind::metrics ? 1 : workers_.size();
    for (size_t i = 0; i < count; ++i) {
      std::string why;
      int fd = listenOn(address, length, why);
      if (fd < 0) {
        workers_.clear();
        return hostError(why);
      }
      a.port = core::portOf(address);
      workers_[i]->listen(fd, a.kind, a.port);
    }
  }
  for (auto& worker : workers_) worker->thread = std::thread([w = worker.get()] { w->run(); });
  started_ = true;
  syncGatewayListeners(*current().snapshot->table);
  return core::Ok{};
}

void Proxy::syncGatewayListeners(const RoutingTable& table) {
  std::lock_guard lock(gatewayMutex_);
  if (!started_) return;
  std::map<uint16_t, bool> wanted;
  for (const auto& port : table.gatewayPorts()) wanted[port.bindPort] = port.tls;
  for (auto it = gatewayListeners_.begin(); it != gatewayListeners_.end();) {
    auto want = wanted.find(it->first);
    if (want != wanted.end() && want->second == it->second) {
      ++it;
      continue;
    }
    for (auto& worker : workers_) worker->removeListener(it->first);
    it = gatewayListeners_.erase(it);
  }
  for (const auto& [port, tls] : wanted) {
    if (gatewayListeners_.count(port)) continue;
    sockaddr_storage address{};
    socklen_t length = 0;
    core::parseListenAddress(":" + std::to_string(port), address, length);
    std::vector<int> fds;
    std::string why;
    for (size_t i = 0; i < workers_.size(); ++i) {
      int fd = listenOn(address, length, why);
      if (fd < 0) break;
      fds.push_back(fd);
    }
    if (fds.size() != workers_.size()) {
      for (int fd : fds) ::close(fd);
      std::fprintf(stderr, "podnet ingress: Gateway port %u: %s\n", unsigned(port), why.c_str());
      continue;
    }
    for (size_t i = 0; i < workers_.size(); ++i)
      workers_[i]->addListener(fds[i], tls ? Worker::Kind::https : Worker::Kind::http, port);
    gatewayListeners_[port] = tls;
  }
}

std::vector<uint16_t> Proxy::gatewayPorts() {
  std::lock_guard lock(gatewayMutex_);
  std::vector<uint16_t> ports;
  for (const auto& [port, tls] : gatewayListeners_) ports.push_back(port);
  return ports;
}

void Proxy::stop() {
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_)
    if (worker->thread.joinable()) worker->thread.join();
  std::lock_guard lock(gatewayMutex_);
  workers_.clear();
  gatewayListeners_.clear();
  started_ = false;
}

void Proxy::publish(std::shared_ptr<const RoutingTable> table, size_t diagnostics) {
  if (!table) table = std::make_shared<RoutingTable>();
  auto previous = current();
  // TLS contexts: reused while the Secret's PEM is the same.
  auto tls = std::make_shared<TlsContexts>();
  for (const Certificate* certificate : table->certificates()) {
    if (tls->bySecret.count(certificate->secret)) continue;
    std::string pem = certificate->certPem + certificate->keyPem;
    if (auto it = previous.tls->bySecret.find(certificate->secret);
        it != previous.tls->bySecret.end() && it->second->pem == pem) {
      tls->bySecret.emplace(certificate->secret, it->second);
      continue;
    }
    auto context = contextFor(certificate->certPem, certificate->keyPem);
    if (!context) continue;  // the compiler checked the pair; the default certificate serves
    SSL_CTX_set_tlsext_servername_callback(context.get(), chooseCertificate);
    tls->bySecret.emplace(certificate->secret,
                          std::make_shared<TlsContext>(TlsContext{std::move(pem), context}));
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->table = table;
  size_t routes = table->routeCount(), certificates = tls->bySecret.size();
  {
    std::lock_guard lock(publishedMutex_);
    snapshot->generation = published_.snapshot->generation + 1;
    published_ = Published{std::move(snapshot), std::move(tls)};
    generation_.store(published_.snapshot->generation, std::memory_order_release);
  }
  syncGatewayListeners(*table);
  std::lock_guard lock(gaugesMutex_);
  ++gauges_.configReloads;
  gauges_.configFailures = diagnostics;
  gauges_.routes = routes;
  gauges_.certificates = certificates;
  gauges_.lastReloadSeconds = double(std::time(nullptr));
}

std::string Proxy::metricsText() {
  std::vector<ProxyStats*> stats;
  for (auto& worker : workers_) stats.push_back(&worker->stats());
  ControllerGauges gauges;
  {
    std::lock_guard lock(gaugesMutex_);
    gauges = gauges_;
  }
  metrics::Writer out;
  writeMetrics(out, stats, gauges);
  return out.text();
}

}  // namespace podnet::ingress
