#include "metrics/exposition_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/socket_address.h"
#include "http/http1.h"

namespace podnet::metrics {

ExpositionServer::ExpositionServer(const Registry& registry, std::function<bool()> ready)
    : registry_(registry), ready_(std::move(ready)) {}

ExpositionServer::~ExpositionServer() { stop(); }

core::Status ExpositionServer::start(const std::string& listen) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (!core::parseListenAddress(listen, address, length))
    return core::badRequest("invalid metrics address " + listen + " (want ADDR:PORT)");
  fd_ = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(fd_, 64) != 0) {
    std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return core::Error{500, "InternalError", "metrics: listen on " + listen + ": " + why};
  }
  sockaddr_storage bound{};
  socklen_t boundLength = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &boundLength);
  port_ = core::portOf(bound);
  thread_ = std::thread([this] { serve(); });
  return core::Ok{};
}

void ExpositionServer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ExpositionServer::serve() {
  while (!stopping_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    answer(client);
    ::close(client);
  }
}

void ExpositionServer::answer(int fd) {
  std::string in;
  char buffer[4096];
  http::Parsed<http::RequestHead> parsed;
  while (true) {
    parsed = http::parseRequest(in);
    if (parsed.state != http::Parsed<http::RequestHead>::State::incomplete) break;
    if (in.size() > 16384) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return;
    in.append(buffer, size_t(n));
  }
  int status = 400;
  std::string body = "bad request\n", type = "text/plain; charset=utf-8";
  bool head = false;
  if (parsed.state == http::Parsed<http::RequestHead>::State::done) {
    head = parsed.head.method == "HEAD";
    if (parsed.head.method != "GET" && !head) {
      status = 405;
      body = "method not allowed\n";
    } else if (parsed.head.path == "/metrics") {
      status = 200;
      body = registry_.render();
      type = "text/plain; version=0.0.4; charset=utf-8";
    } else if (parsed.head.path == "/healthz") {
      bool ok = !ready_ || ready_();
      status = ok ? 200 : 503;
      body = ok ? "ok" : "not ready";
    } else {
      status = 404;
      body = "not found\n";
    }
  }
  const char* reason = status == 200   ? "OK"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                       : status == 503 ? "Service Unavailable"
                                       : "Bad Request";
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
      "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) out += body;
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += size_t(n);
  }
}

}  // namespace podnet::metrics
