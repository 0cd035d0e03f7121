// The ingress proxy on loopback, in front of real test servers, driven by
// the real curl and by raw sockets: routing by host and path, TLS by SNI,
// rewrite-target, forwarded headers, keep-alive through the pool, a new
// snapshot picked up with no dropped connection, malformed and smuggling
// requests refused, the proxy's own answers, /metrics.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "ingress/proxy.h"
#include "ingress/routes.h"
#include "pki/certificates.h"
#include "prometheus_text.h"
#include "testserver/server.h"

namespace podnet::ingress {
namespace {

using Json = nlohmann::json;

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

std::shared_ptr<const Json> ptr(Json object) {
  return std::make_shared<const Json>(std::move(object));
}

Json service(const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
}

Json slice(const std::string& name, uint16_t port,
           const std::vector<std::string>& ips = {"127.0.0.1"}) {
  Json endpoints = Json::array();
  for (const auto& ip : ips)
    endpoints.push_back({{"addresses", {ip}}, {"conditions", {{"ready", true}}}});
  return {{"metadata",
           {{"name", name + "-1"},
            {"namespace", "default"},
            {"labels", {{"kubernetes.io/service-name", name}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}}},
          {"endpoints", endpoints}};
}

Json pathTo(const std::string& path, const std::string& type, const std::string& svc) {
  return {{"path", path},
          {"pathType", type},
          {"backend", {{"service", {{"name", svc}, {"port", {{"number", 80}}}}}}}};
}

// Runs a shell command; its stdout.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

// Sends raw bytes to 127.0.0.1:port, returns all it answers until close
// (or a second of silence).
std::string rawExchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, size_t(n));
  }
  ::close(fd);
  return answer;
}

// A loopback port free now (for a server the test starts as a process).
uint16_t freeLoopbackPort() {
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(probe);
  return ntohs(address.sin_port);
}

int statusOf(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

// A listening socket on 127.0.0.1 and a port the kernel chose.
int listenOnLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(fd, 4);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

// A backend that upgrades one connection to a WebSocket-like echo: answers
// the upgrade request with 101, then sends back every byte it gets.
class UpgradeEchoBackend {
 public:
  UpgradeEchoBackend() {
    listener_ = listenOnLoopback(port_);
    thread_ = std::thread([this] {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
      request = head;
      std::string answer =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
      ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      char buffer[1024];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
        ::send(fd, buffer, size_t(n), MSG_NOSIGNAL);
      ::close(fd);
    });
  }
  ~UpgradeEchoBackend() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string request;

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

class IngressProxy : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* name : {"app", "api"}) {
      testserver::Options options;
      options.tcpPorts = {0};
      options.bindAddress = "127.0.0.1";
      options.self = {std::string(name) + "-pod", "127.0.0.1"};
      backends_.push_back(std::make_unique<testserver::Server>(options));
      ASSERT_EQ(backends_.back()->start(), "");
    }
    ca_ = *pki::issueCertificate({"test-ca", "", {}, 30, true});
    auto cert =
        *pki::issueCertificate({"learn.example.org", "", {"learn.example.org"}, 30, false}, &ca_);
    caFile_ = std::filesystem::temp_directory_path() / ("ingress-ca-" + std::to_string(::getpid()));
    std::ofstream(caFile_) << ca_.certPem;

    inputs_.services = {ptr(service("app-service")), ptr(service("api-service"))};
    inputs_.endpointSlices = {ptr(slice("app-service", backends_[0]->tcpPorts()[0])),
                              ptr(slice("api-service", backends_[1]->tcpPorts()[0]))};
    inputs_.secrets = {
        ptr({{"metadata", {{"name", "learn-tls"}, {"namespace", "default"}}},
             {"type", "kubernetes.io/tls"},
             {"data", {{"tls.crt", base64(cert.certPem)}, {"tls.key", base64(cert.keyPem)}}}})};
    // Seed 003's Ingress, on test hosts.
    inputs_.ingresses = {
        ptr({{"metadata",
              {{"name", "app-ingress"},
               {"namespace", "default"},
               {"creationTimestamp", "2026-01-01T00:00:00Z"},
               {"annotations", {{"nginx.ingress.kubernetes.io/rewrite-target", "/"}}}}},
             {"spec",
              {{"ingressClassName", "nginx"},
               {"tls", {{{"hosts", {"learn.example.org"}}, {"secretName", "learn-tls"}}}},
               {"rules",
                {{{"host", "learn.example.org"},
                  {"http",
                   {{"paths",
                     {pathTo("/", "Prefix", "app-service"),
                      pathTo("/api", "Prefix", "api-service")}}}}}}}}}}),
        ptr({{"metadata",
              {{"name", "plain"},
               {"namespace", "default"},
               {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
             {"spec",
              {{"ingressClassName", "podnet"},
               {"rules",
                {{{"host", "plain.example.org"},
                  {"http", {{"paths", {pathTo("/request", "Prefix", "app-service")}}}}}}}}}})};

    ProxyOptions options;
    options.httpListen = "127.0.0.1:0";
    options.httpsListen = "127.0.0.1:0";
    options.metricsListen = "127.0.0.1:0";
    options.threads = 2;
    proxy_ = std::make_unique<Proxy>(options);
    ASSERT_TRUE(proxy_->start().ok());
    publish();
  }

  void TearDown() override {
    proxy_.reset();
    for (auto& b : backends_) b->stop();
    std::filesystem::remove(caFile_);
  }

  void publish() {
    auto compiled = compileRoutes(inputs_);
    for (const auto& d : compiled.diagnostics) ADD_FAILURE() << d.ingress << ": " << d.message;
    proxy_->publish(compiled.table, compiled.diagnostics.size());
  }

  std::string http(const std::string& host, const std::string& path,
                   const std::string& extra = "") {
    return run("curl -s -m 5 -H 'Host: " + host + "' " + extra +
               " http://127.0.0.1:" + std::to_string(proxy_->httpPort()) + path);
  }
  std::string https(const std::string& host, const std::string& path,
                    const std::string& extra = "") {
    std::string port = std::to_string(proxy_->httpsPort());
    return run("curl -s -m 5 --cacert " + caFile_.string() + " --resolve " + host + ":" + port +
               ":127.0.0.1 " + extra + " https://" + host + ":" + port + path);
  }

  std::vector<std::unique_ptr<testserver::Server>> backends_;
  pki::Credentials ca_;
  std::filesystem::path caFile_;
  RouteInputs inputs_;
  std::unique_ptr<Proxy> proxy_;
};

TEST_F(IngressProxy, ServesTheSeedsIngressOverTlsWithRewrite) {
  // rewrite-target "/": every path reaches the backend as "/" (the testserver answers its name).
  EXPECT_EQ(https("learn.example.org", "/"), "app-pod\n");
  EXPECT_EQ(https("learn.example.org", "/api"), "api-pod\n");
  EXPECT_EQ(https("learn.example.org", "/api/users"), "api-pod\n");
  EXPECT_EQ(https("learn.example.org", "/apiary"), "app-pod\n");  // Prefix is by path element
  // The certificate served is the Secret's (curl verified it against the CA).
  std::string verbose = https("learn.example.org", "/", "-v -o /dev/null 2>&1");
  EXPECT_NE(verbose.find("CN=learn.example.org"), std::string::npos) << verbose;
  // Another name gets the default certificate, as ingress-nginx's.
  std::string port = std::to_string(proxy_->httpsPort());
  std::string other = run("curl -sk -v -m 5 --resolve other.example.org:" + port +
                          ":127.0.0.1 https://other.example.org:" + port + "/ 2>&1");
  EXPECT_NE(other.find("Kubernetes Ingress Controller Fake Certificate"), std::string::npos)
      << other;
  EXPECT_NE(other.find("< HTTP/2 404"), std::string::npos) << other;
}

TEST_F(IngressProxy, SpeaksHttp2ToClientsThatOfferIt) {
  // ALPN picks h2; each stream is routed and answered as over HTTP/1.1.
  EXPECT_EQ(https("learn.example.org", "/api", "--http2 -o /dev/null -w '%{http_version}'"), "2");
  EXPECT_EQ(https("learn.example.org", "/api", "--http2"), "api-pod\n");
  EXPECT_EQ(https("learn.example.org", "/", "--http1.1 -o /dev/null -w '%{http_version}'"), "1.1");
  // Many streams at once on one connection, with bodies both ways.
  std::string urls;
  for (int i = 0; i < 40; ++i)
    urls += " https://learn.example.org:" + std::to_string(proxy_->httpsPort()) +
            (i % 2 ? "/api" : "/");
  std::string many = https(
      "learn.example.org", "",
      "--http2 --no-progress-meter --parallel --parallel-max 20 -w '%{http_code}\\n' -o /dev/null" +
          urls);
  // (the first URL is the helper's own, without a path: it gets the app too)
  std::map<std::string, int> codes;
  std::istringstream lines(many);
  for (std::string line; std::getline(lines, line);) ++codes[line];
  EXPECT_EQ(codes["200"], 41) << many;
  std::string posted = https("learn.example.org", "/api", "--http2 --data-binary @/etc/os-release");
  EXPECT_EQ(posted, "api-pod\n");
  // The proxy's own answers and HEAD.
  std::string port = std::to_string(proxy_->httpsPort());
  std::string missing = run("curl -sk --http2 -i -m 5 --resolve nobody.example.org:" + port +
                            ":127.0.0.1 https://nobody.example.org:" + port + "/");
  EXPECT_EQ(missing.rfind("HTTP/2 404", 0), 0u) << missing;
  EXPECT_NE(missing.find("server: podnet"), std::string::npos) << missing;
  // A header list past the limit resets that stream; the connection's others go on.
  std::string big =
      https("learn.example.org", "/api",
            "--http2 -o /dev/null -w '%{http_code}' -H 'X-Big: " + std::string(70000, 'b') + "'");
  EXPECT_NE(big, "200") << big;
  std::string head = https("learn.example.org", "/api", "--http2 -I");
  EXPECT_EQ(head.rfind("HTTP/2 200", 0), 0u) << head;
}

TEST_F(IngressProxy, TunnelsWebSocketUpgrades) {
  UpgradeEchoBackend echo;
  inputs_.services.push_back(ptr(service("ws")));
  inputs_.endpointSlices.push_back(ptr(slice("ws", echo.port())));
  inputs_.ingresses.push_back(
      ptr({{"metadata", {{"name", "ws"}, {"namespace", "default"}}},
           {"spec",
            {{"ingressClassName", "podnet"},
             {"rules",
              {{{"host", "ws.example.org"},
                {"http", {{"paths", {pathTo("/", "Prefix", "ws")}}}}}}}}}}));
  publish();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(proxy_->httpPort());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::string upgrade =
      "GET /chat HTTP/1.1\r\nHost: ws.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  ::send(fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL);
  std::string got;
  char buffer[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got.append(buffer, size_t(n));
  }
  EXPECT_EQ(statusOf(got), 101) << got;
  EXPECT_NE(got.find("Upgrade: websocket"), std::string::npos) << got;
  // Bytes both ways through the tunnel.
  for (std::string message : {"ping", "a longer message"}) {
    ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
    std::string echoed;
    while (echoed.size() < message.size()) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      echoed.append(buffer, size_t(n));
    }
    EXPECT_EQ(echoed, message);
  }
  ::close(fd);
  EXPECT_NE(echo.request.find("Upgrade: websocket"), std::string::npos) << echo.request;
  EXPECT_NE(echo.request.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), std::string::npos);
}

TEST_F(IngressProxy, CorsTimeoutsAndCertificateRotation) {
  auto annotated = [](const std::string& name, const std::string& host, Json annotations) {
    return ptr(
        {{"metadata", {{"name", name}, {"namespace", "default"}, {"annotations", annotations}}},
         {"spec",
          {{"ingressClassName", "podnet"},
           {"rules",
            {{{"host", host}, {"http", {{"paths", {pathTo("/", "Prefix", "app-service")}}}}}}}}}});
  };
  inputs_.ingresses.push_back(
      annotated("cors", "cors.example.org", {{"nginx.ingress.kubernetes.io/enable-cors", "true"}}));
  inputs_.ingresses.push_back(annotated("slow", "slow.example.org",
                                        {{"nginx.ingress.kubernetes.io/proxy-read-timeout", "1"}}));
  publish();
  // CORS: a preflight is answered by the proxy; other answers carry the headers.
  std::string preflight =
      http("cors.example.org", "/x", "-i -X OPTIONS -H 'Origin: https://a.example'");
  EXPECT_EQ(statusOf(preflight), 204) << preflight;
  EXPECT_NE(preflight.find("Access-Control-Allow-Origin: *"), std::string::npos) << preflight;
  std::string plain = http("cors.example.org", "/x", "-i");
  EXPECT_EQ(statusOf(plain), 200) << plain;
  EXPECT_NE(plain.find("Access-Control-Allow-Methods:"), std::string::npos) << plain;
  // proxy-read-timeout 1 s against a backend taking 3 s: 504 (a GET is not retried
  // after a read timeout: the request may have run).
  auto started = std::chrono::steady_clock::now();
  std::string late = http("slow.example.org", "/delay/3000", "-i");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(statusOf(late), 504) << late;
  EXPECT_LT(took, std::chrono::milliseconds(2900));
  EXPECT_EQ(http("slow.example.org", "/delay/100"), "app-pod\n");

  // A new certificate in the Secret is served from the next handshake on.
  auto renewed = *pki::issueCertificate(
      {"learn.example.org renewed", "", {"learn.example.org"}, 30, false}, &ca_);
  inputs_.secrets[0] =
      ptr({{"metadata", {{"name", "learn-tls"}, {"namespace", "default"}}},
           {"type", "kubernetes.io/tls"},
           {"data", {{"tls.crt", base64(renewed.certPem)}, {"tls.key", base64(renewed.keyPem)}}}});
  publish();
  std::string verbose = https("learn.example.org", "/", "-v -o /dev/null 2>&1");
  EXPECT_NE(verbose.find("CN=learn.example.org renewed"), std::string::npos) << verbose;
}

// gRPC (backend-protocol GRPC): HTTP/2 end to end, h2c to the backend,
// trailers (grpc-status) passed back. nghttpd stands in for a gRPC server:
// it answers over h2c and sends the trailer given.
TEST_F(IngressProxy, PassesGrpcOverHttp2WithTrailers) {
  if (!std::filesystem::exists("/usr/sbin/nghttpd")) GTEST_SKIP() << "no nghttpd (nghttp2-server)";
  std::filesystem::path docs = caFile_.string() + "-htdocs";
  std::filesystem::create_directories(docs / "helloworld.Greeter");
  std::ofstream(docs / "helloworld.Greeter" / "SayHello") << std::string("\0\0\0\0\5hello", 10);
  uint16_t port = freeLoopbackPort();
  pid_t server = ::fork();
  if (server == 0) {
    ::execl("/usr/sbin/nghttpd", "nghttpd", "--no-tls", "-d", docs.c_str(), "--trailer",
            "grpc-status: 0", "--trailer", "grpc-message: fine", std::to_string(port).c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Stop {
    pid_t pid;
    std::filesystem::path dir;
    ~Stop() {
      ::kill(pid, SIGKILL);  // a test server: nothing to flush, and waitpid must not hang
      ::waitpid(pid, nullptr, 0);
      std::filesystem::remove_all(dir);
    }
  } stop{server, docs};
  inputs_.services.push_back(ptr(service("greeter")));
  inputs_.endpointSlices.push_back(ptr(slice("greeter", port)));
  inputs_.ingresses.push_back(
      ptr({{"metadata",
            {{"name", "grpc"},
             {"namespace", "default"},
             {"annotations", {{"nginx.ingress.kubernetes.io/backend-protocol", "GRPC"}}}}},
           {"spec",
            {{"ingressClassName", "podnet"},
             {"tls", {{{"hosts", {"learn.example.org"}}, {"secretName", "learn-tls"}}}},
             {"rules",
              {{{"host", "grpc.example.org"},
                {"http", {{"paths", {pathTo("/", "Prefix", "greeter")}}}}}}}}}}));
  publish();
  std::string hostPort = "grpc.example.org:" + std::to_string(proxy_->httpsPort());
  std::string call = "curl -sk --http2 -i -m 5 --resolve " + hostPort +
                     ":127.0.0.1 -H 'content-type: application/grpc' -H 'te: trailers' "
                     "--data-binary @/etc/hostname https://" +
                     hostPort + "/helloworld.Greeter/SayHello";
  std::string answer;
  for (int i = 0; i < 50; ++i) {  // until nghttpd listens
    answer = run(call);
    if (answer.rfind("HTTP/2 200", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(answer.rfind("HTTP/2 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("hello"), std::string::npos) << answer;
  // curl -i prints the trailers after the body.
  EXPECT_NE(answer.find("grpc-status: 0"), std::string::npos) << answer;
  EXPECT_NE(answer.find("grpc-message: fine"), std::string::npos) << answer;
  // gRPC cannot ride HTTP/1.1 (no trailers): the proxy says so instead of breaking it.
  std::string http1 = run("curl -sk --http1.1 -i -m 5 --resolve " + hostPort +
                          ":127.0.0.1 https://" + hostPort + "/helloworld.Greeter/SayHello");
  EXPECT_EQ(statusOf(http1), 502) << http1;
}

// backend-protocol HTTPS: TLS to the backend (openssl s_server -www stands
// in: it answers GET over TLS with a status page).
TEST_F(IngressProxy, ProxiesToHttpsBackends) {
  std::filesystem::path keyFile = caFile_.string() + "-backend.key",
                        certFile = caFile_.string() + "-backend.crt";
  auto backend = *pki::issueCertificate({"backend", "", {"127.0.0.1"}, 2, false}, &ca_);
  std::ofstream(keyFile) << backend.keyPem;
  std::ofstream(certFile) << backend.certPem;
  uint16_t port = freeLoopbackPort();
  pid_t server = ::fork();
  if (server == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept",
             ("127.0.0.1:" + std::to_string(port)).c_str(), "-cert", certFile.c_str(), "-key",
             keyFile.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Stop {
    pid_t pid;
    std::vector<std::filesystem::path> files;
    ~Stop() {
      ::kill(pid, SIGKILL);  // a test server: nothing to flush, and waitpid must not hang
      ::waitpid(pid, nullptr, 0);
      for (const auto& f : files) std::filesystem::remove(f);
    }
  } stop{server, {keyFile, certFile}};
  inputs_.services.push_back(ptr(service("secure")));
  inputs_.endpointSlices.push_back(ptr(slice("secure", port)));
  inputs_.ingresses.push_back(
      ptr({{"metadata",
            {{"name", "secure"},
             {"namespace", "default"},
             {"annotations", {{"nginx.ingress.kubernetes.io/backend-protocol", "HTTPS"}}}}},
           {"spec",
            {{"ingressClassName", "podnet"},
             {"rules",
              {{{"host", "secure.example.org"},
                {"http", {{"paths", {pathTo("/", "Prefix", "secure")}}}}}}}}}}));
  publish();
  std::string answer;
  for (int i = 0; i < 50; ++i) {  // until s_server listens
    answer = http("secure.example.org", "/", "-i");
    if (statusOf(answer) == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(statusOf(answer), 200) << answer;
  EXPECT_NE(answer.find("s_server"), std::string::npos) << answer.substr(0, 300);
}

TEST_F(IngressProxy, RedirectsPlainHttpToHttpsForTlsHosts) {
  std::string head = http("learn.example.org", "/api?x=1", "-i");
  EXPECT_EQ(statusOf(head), 308) << head;
  EXPECT_NE(head.find("Location: https://learn.example.org/api?x=1"), std::string::npos) << head;
}

TEST_F(IngressProxy, ForwardsWhatTheBackendNeeds) {
  std::string body = http("plain.example.org", "/request/x?q=1", "-H 'X-Forwarded-For: 6.6.6.6'");
  auto seen = Json::parse(body, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << body;
  EXPECT_EQ(seen["name"], "app-pod");
  EXPECT_EQ(seen["target"], "/request/x?q=1");
  EXPECT_EQ(seen["headers"]["host"], "plain.example.org");
  EXPECT_EQ(seen["headers"]["x-forwarded-for"],
            "127.0.0.1");  // the client's own XFF is not trusted
  EXPECT_EQ(seen["headers"]["x-real-ip"], "127.0.0.1");
  EXPECT_EQ(seen["headers"]["x-forwarded-proto"], "http");
  EXPECT_EQ(seen["headers"]["x-forwarded-host"], "plain.example.org");
  EXPECT_EQ(seen["headers"]["x-request-id"].get<std::string>().size(), 32u);
}

TEST_F(IngressProxy, AnswersItselfWhenNothingMatches) {
  std::string head = http("nobody.example.org", "/", "-i");
  EXPECT_EQ(statusOf(head), 404) << head;
  EXPECT_NE(head.find("Server: podnet"), std::string::npos);
  // An endpoint-less Service: 503.
  inputs_.endpointSlices[0] = ptr(slice("app-service", backends_[0]->tcpPorts()[0], {}));
  publish();
  EXPECT_EQ(statusOf(http("plain.example.org", "/request", "-i")), 503);
}

TEST_F(IngressProxy, KeepAliveConnectionsSeeANewSnapshotWithoutReconnecting) {
  // One curl, two requests on one connection, a publish between them is
  // not observable that way; instead: many requests on one connection while
  // snapshots are published, none failing.
  auto accepted = [&] {
    std::string text = proxy_->metricsText();
    const std::string name = "podnet_ingress_connections_accepted_total ";
    size_t at = text.find("\n" + name);
    return at == std::string::npos ? -1L : std::atol(text.c_str() + at + 1 + name.size());
  };
  long acceptedBefore = accepted();
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      // A new EndpointSlice object: a new snapshot, published while requests run.
      inputs_.endpointSlices[0] = ptr(slice("app-service", backends_[0]->tcpPorts()[0]));
      publish();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::string urls;
  for (int i = 0; i < 200; ++i)
    urls += " http://127.0.0.1:" + std::to_string(proxy_->httpPort()) + "/request";
  std::string out =
      run("curl -s -m 20 -H 'Host: plain.example.org' -w '%{http_code}\\n' -o /dev/null" + urls +
          " 2>&1 | sort | uniq -c");
  done = true;
  churn.join();
  EXPECT_NE(out.find(" 200 200"), std::string::npos) << out;  // "    200 200": 200 answers, all 200
  EXPECT_GT(proxy_->generation(), 2u);
  EXPECT_EQ(accepted(), acceptedBefore + 1) << "curl kept one connection for all 200 requests";
}

TEST_F(IngressProxy, RefusesSmugglingAndMalformedRequests) {
  uint16_t port = proxy_->httpPort();
  const std::string host = "Host: plain.example.org\r\n";
  // Content-Length with Transfer-Encoding.
  EXPECT_EQ(statusOf(rawExchange(
                port, "POST /request HTTP/1.1\r\n" + host +
                          "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
            400);
  // Two Content-Lengths that differ.
  EXPECT_EQ(statusOf(rawExchange(port, "POST /request HTTP/1.1\r\n" + host +
                                           "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab")),
            400);
  // Whitespace before the colon; a bare LF; an obsolete line folding.
  EXPECT_EQ(statusOf(rawExchange(port, "GET /request HTTP/1.1\r\n" + host + "X-A : b\r\n\r\n")),
            400);
  EXPECT_EQ(statusOf(rawExchange(port, "GET /request HTTP/1.1\n" + host + "\n")), 400);
  EXPECT_EQ(
      statusOf(rawExchange(port, "GET /request HTTP/1.1\r\n" + host + "X-A: b\r\n c\r\n\r\n")),
      400);
  // A chunked body with a bad size ends the connection with a 400.
  EXPECT_EQ(statusOf(rawExchange(port, "POST /request HTTP/1.1\r\n" + host +
                                           "Transfer-Encoding: chunked\r\n\r\nzz\r\n")),
            400);
  // No Host in HTTP/1.1.
  EXPECT_EQ(statusOf(rawExchange(port, "GET / HTTP/1.1\r\n\r\n")), 400);
  // A path escaping upwards is normalized, not passed on.
  std::string up = rawExchange(port, "GET /request/../request/%2e%2e/request HTTP/1.1\r\n" + host +
                                         "Connection: close\r\n\r\n");
  EXPECT_EQ(statusOf(up), 200) << up;
  EXPECT_NE(up.find("\"target\":\"/request\""), std::string::npos) << up;
  // Pipelined requests are answered in order.
  std::string two =
      rawExchange(port, "GET /request/1 HTTP/1.1\r\n" + host + "\r\nGET /request/2 HTTP/1.1\r\n" +
                            host + "Connection: close\r\n\r\n");
  size_t first = two.find("\"/request/1\""), second = two.find("\"/request/2\"");
  ASSERT_NE(first, std::string::npos) << two;
  ASSERT_NE(second, std::string::npos) << two;
  EXPECT_LT(first, second);
}

TEST_F(IngressProxy, PostsBodiesAndEnforcesTheBodyLimit) {
  std::string small = http("plain.example.org", "/request", "--data-binary @/etc/os-release");
  auto seen = Json::parse(small, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << small;
  EXPECT_GT(seen["bodyBytes"].get<int>(), 0);
  // Chunked upload.
  std::string chunked = http("plain.example.org", "/request",
                             "-H 'Transfer-Encoding: chunked' --data-binary @/etc/os-release");
  seen = Json::parse(chunked, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << chunked;
  EXPECT_EQ(seen["headers"]["transfer-encoding"], "chunked");
  // Over the default 1 MiB: 413.
  std::string big = std::string(2 * 1024 * 1024, 'x');
  std::string file =
      (std::filesystem::temp_directory_path() / ("ingress-big-" + std::to_string(::getpid())))
          .string();
  std::ofstream(file) << big;
  std::string head = http("plain.example.org", "/request", "-i --data-binary @" + file);
  std::filesystem::remove(file);
  EXPECT_EQ(statusOf(head), 413) << head.substr(0, 200);
}

// A cap on connections per thread: past it, a new connection is closed at
// once (and counted); the ones already open keep being served.
TEST(IngressProxyLimits, ConnectionCapClosesTheExtraOnes) {
  ProxyOptions options;
  options.httpListen = "127.0.0.1:0";
  options.httpsListen = "";
  options.metricsListen = "127.0.0.1:0";
  options.threads = 1;
  options.maxConnectionsPerThread = 2;
  Proxy proxy(options);
  ASSERT_TRUE(proxy.start().ok());
  auto connect = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(proxy.httpPort());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  };
  int first = connect(), second = connect();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both accepted
  int third = connect();
  char byte;
  EXPECT_EQ(::recv(third, &byte, 1, 0), 0) << "the third connection is closed at once";
  // The first is still served (404: no routes published).
  std::string request = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n";
  ::send(first, request.data(), request.size(), MSG_NOSIGNAL);
  char buffer[512];
  ssize_t n = ::recv(first, buffer, sizeof buffer, 0);
  ASSERT_GT(n, 12);
  EXPECT_EQ(statusOf(std::string(buffer, size_t(n))), 404);
  for (int fd : {first, second, third}) ::close(fd);
  std::string metrics =
      run("curl -s -m 5 http://127.0.0.1:" + std::to_string(proxy.metricsPort()) + "/metrics");
  EXPECT_NE(metrics.find("podnet_ingress_connections_refused_total 1"), std::string::npos)
      << metrics;
}

TEST_F(IngressProxy, ServesMetricsAndHealth) {
  http("plain.example.org", "/request");
  http("plain.example.org", "/request/nope");
  http("nobody.example.org", "/");  // no route: counted without route labels
  std::string port = std::to_string(proxy_->metricsPort());
  EXPECT_EQ(run("curl -s -m 5 http://127.0.0.1:" + port + "/healthz"), "ok");
  std::string metrics = run("curl -s -m 5 http://127.0.0.1:" + port + "/metrics");
  testing::PromText parsed = testing::parsePromText(metrics);
  ASSERT_EQ(parsed.error, "") << metrics;
  EXPECT_EQ(parsed.families["podnet_ingress_requests_total"].type, "counter");
  EXPECT_EQ(parsed.sum("podnet_ingress_requests_total", {{"ingress", "plain"}}), 2);
  EXPECT_EQ(parsed.sum("podnet_ingress_requests_total", {{"ingress", "plain"}, {"status", "2xx"}}),
            2);
  EXPECT_EQ(parsed.value("podnet_ingress_requests_total", {{"status", "4xx"}}), 1);
  EXPECT_EQ(parsed.sum("podnet_ingress_upstream_latency_seconds_count", {{"ingress", "plain"}}), 2);
  EXPECT_GE(*parsed.value("podnet_ingress_connections_accepted_total"), 3);
}

// ---- Gateway API on the same proxy -------------------------------------------------

Json gatewayRoute(const std::string& name, Json rules) {
  return {{"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"generation", 1},
            {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
          {"spec", {{"parentRefs", {{{"name", "gw"}}}}, {"rules", std::move(rules)}}}};
}

Json prefixTo(const std::string& path, const std::string& service, Json filters = Json::array()) {
  return {{"matches", {{{"path", {{"type", "PathPrefix"}, {"value", path}}}}}},
          {"filters", std::move(filters)},
          {"backendRefs", {{{"name", service}, {"port", 80}}}}};
}

class GatewayOnTheProxy : public IngressProxy {
 protected:
  void SetUp() override {
    IngressProxy::SetUp();
    httpBind_ = freeLoopbackPort();
    httpsBind_ = freeLoopbackPort();
    inputs_.gatewayClasses = {
        ptr({{"metadata", {{"name", "podnet"}, {"generation", 1}}},
             {"spec", {{"controllerName", "podnet.io/gateway-controller"}}}})};
    inputs_.gateways = {
        ptr({{"metadata", {{"name", "gw"}, {"namespace", "default"}, {"generation", 1}}},
             {"spec",
              {{"gatewayClassName", "podnet"},
               {"listeners",
                {{{"name", "http"}, {"port", 80}, {"protocol", "HTTP"}},
                 {{"name", "https"},
                  {"port", 443},
                  {"protocol", "HTTPS"},
                  {"hostname", "learn.example.org"},
                  {"tls", {{"certificateRefs", {{{"name", "learn-tls"}}}}}}}}}}}})};
    inputs_.services.push_back(
        ptr({{"metadata",
              {{"name", "gateway-gw"},
               {"namespace", "kube-system"},
               {"annotations", {{"podnet.io/gateway", "default/gw"}}}}},
             {"spec",
              {{"ports",
                {{{"port", 80}, {"targetPort", httpBind_}},
                 {{"port", 443}, {"targetPort", httpsBind_}}}}}},
             {"status", {{"loadBalancer", {{"ingress", {{{"ip", "127.0.0.1"}}}}}}}}}));
    Json rules = Json::array();
    rules.push_back({{"matches", {{{"path", {{"type", "Exact"}, {"value", "/exact"}}}}}},
                     {"backendRefs", {{{"name", "api-service"}, {"port", 80}}}}});
    rules.push_back(prefixTo("/", "app-service"));
    rules.push_back(prefixTo("/headers", "app-service",
                             {{{"type", "RequestHeaderModifier"},
                               {"requestHeaderModifier",
                                {{"set", {{{"name", "X-Set"}, {"value", "one"}}}},
                                 {"add", {{{"name", "X-Add"}, {"value", "two"}}}},
                                 {"remove", {"X-Remove"}}}}},
                              {{"type", "ResponseHeaderModifier"},
                               {"responseHeaderModifier",
                                {{"set", {{{"name", "X-Response"}, {"value", "yes"}}}},
                                 {"remove", {"Content-Type"}}}}}}));
    rules.push_back(prefixTo(
        "/old", "app-service",
        {{{"type", "RequestRedirect"},
          {"requestRedirect",
           {{"hostname", "new.example.org"},
            {"statusCode", 301},
            {"path", {{"type", "ReplacePrefixMatch"}, {"replacePrefixMatch", "/new"}}}}}}}));
    rules.push_back(prefixTo(
        "/rewrite", "api-service",
        {{{"type", "URLRewrite"},
          {"urlRewrite",
           {{"hostname", "rewritten.example.org"},
            {"path", {{"type", "ReplacePrefixMatch"}, {"replacePrefixMatch", "/elsewhere"}}}}}}}));
    Json slow = prefixTo(
        "/slow", "app-service",
        {{{"type", "URLRewrite"},
          {"urlRewrite",
           {{"path", {{"type", "ReplaceFullPath"}, {"replaceFullPath", "/delay/3000"}}}}}}});
    slow["timeouts"] = {{"request", "500ms"}};
    rules.push_back(slow);
    Json weights = prefixTo(
        "/weights", "app-service",
        {{{"type", "URLRewrite"},
          {"urlRewrite", {{"path", {{"type", "ReplaceFullPath"}, {"replaceFullPath", "/"}}}}}}});
    weights["backendRefs"] = {{{"name", "app-service"}, {"port", 80}, {"weight", 70}},
                              {{"name", "api-service"}, {"port", 80}, {"weight", 30}},
                              {{"name", "app-service"}, {"port", 80}, {"weight", 0}}};
    rules.push_back(weights);
    inputs_.httpRoutes = {ptr(gatewayRoute("web", rules))};
    publish();
    waitForListener(httpBind_);
  }

  // The proxy opens a Gateway's port on its threads after publish(). Open
  // means the proxy holds the port (its bind succeeded: a parallel test may
  // have taken a port picked as free) and a connection is accepted by a
  // listener, not by itself: a connect to a port of the ephemeral range
  // that nothing listens on can get that port as its own and succeed
  // (TCP simultaneous open).
  void waitForListener(uint16_t port, bool open = true) {
    for (int i = 0; i < 100; ++i) {
      auto held = proxy_->gatewayPorts();
      bool ours = std::find(held.begin(), held.end(), port) != held.end();
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool accepted = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      sockaddr_in local{};
      socklen_t length = sizeof local;
      if (accepted && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
          local.sin_port == address.sin_port)
        accepted = false;  // connected to itself
      ::close(fd);
      if (accepted == open && ours == open) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "port " << port << (open ? " never opened" : " never closed");
  }

  std::string gw(const std::string& path, const std::string& extra = "") {
    return run("curl -s -m 5 -H 'Host: www.example.org' " + extra +
               " http://127.0.0.1:" + std::to_string(httpBind_) + path);
  }

  uint16_t httpBind_ = 0, httpsBind_ = 0;
};

TEST_F(GatewayOnTheProxy, MatchesExactAndPrefixAndKeepsIngressApart) {
  EXPECT_EQ(gw("/"), "app-pod\n");
  EXPECT_EQ(Json::parse(gw("/exact"))["name"], "api-pod");
  // Exact is exact: the rest goes to the prefix "/", whose backend echoes the request.
  EXPECT_EQ(Json::parse(gw("/exact/more"))["name"], "app-pod");
  // The Ingress port serves Ingresses only, and the Gateway port HTTPRoutes only.
  EXPECT_EQ(http("www.example.org", "/", "-o /dev/null -w '%{http_code}'"), "404");
  EXPECT_EQ(http("plain.example.org", "/request", "-o /dev/null -w '%{http_code}'"), "200");
  EXPECT_EQ(run("curl -s -m 5 -o /dev/null -w '%{http_code}' -H 'Host: plain.example.org' "
                "http://127.0.0.1:" +
                std::to_string(httpBind_) + "/request"),
            "200");  // this one is the HTTPRoute's "/" (any host)
}

TEST_F(GatewayOnTheProxy, ModifiesHeadersBothWays) {
  std::string response = gw("/headers/x", "-i -H 'X-Add: one' -H 'X-Remove: gone' -H 'X-Set: old'");
  size_t body = response.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << response;
  std::string head = response.substr(0, body);
  EXPECT_NE(head.find("X-Response: yes"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Type"), std::string::npos) << head;
  Json seen = Json::parse(response.substr(body + 4));
  EXPECT_EQ(seen["headers"]["x-set"], "one");
  EXPECT_EQ(seen["headers"]["x-add"], "one,two");
  EXPECT_FALSE(seen["headers"].contains("x-remove"));
  // The port the client used, not the proxy's own.
  EXPECT_EQ(seen["headers"]["x-forwarded-port"], "80");
}

TEST_F(GatewayOnTheProxy, RedirectsAndRewrites) {
  std::string redirect = gw("/old/page?q=1", "-o /dev/null -w '%{http_code} %{redirect_url}'");
  EXPECT_EQ(redirect, "301 http://new.example.org/new/page?q=1");
  Json seen = Json::parse(gw("/rewrite/a/b?x=y"));
  EXPECT_EQ(seen["name"], "api-pod");
  EXPECT_EQ(seen["path"], "/elsewhere/a/b");
  EXPECT_EQ(seen["query"], "x=y");
  EXPECT_EQ(seen["host"], "rewritten.example.org");
}

TEST_F(GatewayOnTheProxy, RequestTimeoutAnswers504) {
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(gw("/slow", "-o /dev/null -w '%{http_code}'"), "504");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2900));
}

TEST_F(GatewayOnTheProxy, WeightsSplitTrafficSeventyThirtyZero) {
  std::string urls;
  for (int i = 0; i < 500; ++i)
    urls += " http://127.0.0.1:" + std::to_string(httpBind_) + "/weights";
  std::string bodies = run("curl -s -m 60 -H 'Host: www.example.org'" + urls);
  std::map<std::string, int> counts;
  std::istringstream lines(bodies);
  for (std::string line; std::getline(lines, line);) ++counts[line];
  EXPECT_EQ(counts["app-pod"] + counts["api-pod"], 500) << bodies.substr(0, 200);
  EXPECT_NEAR(counts["app-pod"], 350, 25);
  EXPECT_NEAR(counts["api-pod"], 150, 25);
}

TEST_F(GatewayOnTheProxy, TerminatesTlsWithTheListenersCertificate) {
  waitForListener(httpsBind_);
  std::string port = std::to_string(httpsBind_);
  std::string out =
      run("curl -s -m 5 --cacert " + caFile_.string() + " --resolve learn.example.org:" + port +
          ":127.0.0.1 https://learn.example.org:" + port + "/exact");
  Json seen = Json::parse(out, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << out;  // curl verified the certificate against the CA
  EXPECT_EQ(seen["name"], "api-pod");
  EXPECT_EQ(seen["headers"]["x-forwarded-port"], "443");
  // HTTP/2 by ALPN, as on the Ingress port.
  EXPECT_EQ(run("curl -s -m 5 --http2 -o /dev/null -w '%{http_version}' --cacert " +
                caFile_.string() + " --resolve learn.example.org:" + port +
                ":127.0.0.1 https://learn.example.org:" + port + "/exact"),
            "2");
}

// A backend that records the head of the one request it gets and answers 200.
class RecordingBackend {
 public:
  RecordingBackend() {
    listener_ = listenOnLoopback(port_);
    thread_ = std::thread([this] {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
      // And the body, when the head gives its length.
      if (size_t at = head.find("Content-Length: "); at != std::string::npos)
        for (long left = std::atol(head.c_str() + at + 16); left > 0 && ::recv(fd, &c, 1, 0) == 1;
             --left)
          head += c;
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(fd);
      std::lock_guard lock(mutex_);
      request_ = head;
    });
  }
  ~RecordingBackend() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string request() {
    std::lock_guard lock(mutex_);
    return request_;
  }
  // The request once it has come (up to 2 s; "" if it never does).
  std::string waitForRequest() {
    std::string got;
    for (int i = 0; i < 100 && got.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      got = request();
    }
    return got;
  }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string request_;
};

// /mirrored on mirror.example.org: to app-service, mirrored to a Service
// whose one endpoint is 127.0.0.1:`port`.
void routeMirroredTo(RouteInputs& inputs, uint16_t port) {
  inputs.services.push_back(ptr(service("mirror")));
  inputs.endpointSlices.push_back(ptr(slice("mirror", port)));
  Json route = gatewayRoute(
      "mirrored",
      {prefixTo("/mirrored", "app-service",
                {{{"type", "RequestMirror"},
                  {"requestMirror", {{"backendRef", {{"name", "mirror"}, {"port", 80}}}}}}})});
  route["spec"]["hostnames"] = {"mirror.example.org"};
  inputs.httpRoutes.push_back(ptr(route));
}

TEST_F(GatewayOnTheProxy, MirrorsRequestsAndDropsTheMirrorsAnswer) {
  RecordingBackend recorder;
  routeMirroredTo(inputs_, recorder.port());
  publish();
  std::string out = run("curl -s -m 5 -H 'Host: mirror.example.org' http://127.0.0.1:" +
                        std::to_string(httpBind_) + "/mirrored/x?y=1");
  Json seen = Json::parse(out, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << out;
  EXPECT_EQ(seen["name"], "app-pod");  // the client gets the main backend's answer
  std::string mirrored = recorder.waitForRequest();
  EXPECT_EQ(mirrored.rfind("GET /mirrored/x?y=1 HTTP/1.1\r\n", 0), 0u) << mirrored;
  EXPECT_NE(mirrored.find("Host: mirror.example.org"), std::string::npos) << mirrored;
}

TEST_F(GatewayOnTheProxy, MirrorsRequestBodiesToo) {
  RecordingBackend recorder;
  routeMirroredTo(inputs_, recorder.port());
  publish();
  std::string out =
      run("curl -s -m 5 -H 'Host: mirror.example.org' --data-binary 'hello mirror' "
          "http://127.0.0.1:" +
          std::to_string(httpBind_) + "/mirrored/post");
  Json seen = Json::parse(out, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << out;
  EXPECT_EQ(seen["bodyBytes"], 12);
  std::string mirrored = recorder.waitForRequest();
  EXPECT_EQ(mirrored.rfind("POST /mirrored/post HTTP/1.1\r\n", 0), 0u) << mirrored;
  EXPECT_NE(mirrored.find("Content-Length: 12"), std::string::npos) << mirrored;
  EXPECT_EQ(mirrored.substr(mirrored.size() - 16), "\r\n\r\nhello mirror") << mirrored;
}

TEST_F(GatewayOnTheProxy, APortClosesWhenItsGatewayGoes) {
  inputs_.gateways.clear();
  publish();
  waitForListener(httpBind_, false);
  EXPECT_TRUE(proxy_->gatewayPorts().empty());
  // The Ingress ports are untouched.
  EXPECT_EQ(http("plain.example.org", "/request", "-o /dev/null -w '%{http_code}'"), "200");
}

}  // namespace
}  // namespace podnet::ingress
