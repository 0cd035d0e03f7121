// Helpers for tests against the real kernel (root only): throwaway network
// namespaces that are removed whatever happens, sockets opened inside them,
// an echo server and one-shot TCP/UDP clients. Only loopback and the test's
// own namespaces ever see a packet.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/netns.h"

namespace podnet::testing {

#define ASSERT_OK(expression)                             \
  do {                                                    \
    auto&& result_ = (expression);                        \
    ASSERT_TRUE(result_.ok()) << result_.error().message; \
  } while (0)

inline bool isRoot() { return geteuid() == 0; }

// Deletes every namespace it made, whatever happened in between. Names are
// "<prefix>-<pid>-<suffix>", so concurrent test binaries never collide.
class Namespaces {
 public:
  explicit Namespaces(std::string prefix) : prefix_(std::move(prefix)) {}
  ~Namespaces() {
    for (const auto& name : names_) (void)net::deleteNamedNetns(name);
  }
  std::string name(const std::string& suffix) const {
    return prefix_ + "-" + std::to_string(getpid()) + "-" + suffix;
  }
  const net::NetnsHandle& make(const std::string& suffix) {
    std::string full = name(suffix);
    (void)net::deleteNamedNetns(full);  // a leftover of a crashed run
    auto handle = net::createNamedNetns(full);
    if (!handle) throw std::runtime_error("create netns " + full + ": " + handle.error().message);
    names_.push_back(full);
    return handles_.emplace(suffix, std::move(*handle)).first->second;
  }
  const net::NetnsHandle& operator[](const std::string& suffix) const {
    return handles_.at(suffix);
  }

 private:
  std::string prefix_;
  std::vector<std::string> names_;
  std::map<std::string, net::NetnsHandle> handles_;
};

// iproute2 for the test topology only (the product uses net/netlink.h).
inline bool ip(const std::string& args) {
  std::string command = "ip " + args + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

inline sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

inline std::string addressText(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
  return text;
}

inline int socketIn(const net::NetnsHandle& ns, int type) {
  auto fd = net::runInNetns(ns, [type]() -> core::Result<int> {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return core::internal(std::string("socket: ") + strerror(errno));
    return fd;
  });
  return fd ? *fd : -1;
}

// A server in its own netns, TCP and UDP on each of `ports`, that answers
// every request with "<its own IP> <the client's IP as it sees it>".
class EchoServer {
 public:
  EchoServer(const net::NetnsHandle& ns, std::string ownIp, std::vector<int> ports = {8080})
      : ownIp_(std::move(ownIp)) {
    ok_ = true;
    for (int port : ports) {
      Fd tcp(socketIn(ns, SOCK_STREAM)), udp(socketIn(ns, SOCK_DGRAM));
      int one = 1;
      setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in any = address("0.0.0.0", port);
      ok_ = ok_ && tcp.get() >= 0 && udp.get() >= 0 &&
            bind(tcp.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0 &&
            listen(tcp.get(), 64) == 0 &&
            bind(udp.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
      tcp_.push_back(std::move(tcp));
      udp_.push_back(std::move(udp));
    }
    if (ok_) thread_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const { return ok_; }

 private:
  void serve() {
    std::vector<pollfd> fds;
    for (const auto& f : tcp_) fds.push_back({f.get(), POLLIN, 0});
    for (const auto& f : udp_) fds.push_back({f.get(), POLLIN, 0});
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        char buf[64];
        if (i < tcp_.size()) {
          Fd conn(accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
          if (conn.get() < 0) continue;
          pollfd in{conn.get(), POLLIN, 0};
          if (poll(&in, 1, 2000) > 0 && recv(conn.get(), buf, sizeof buf, 0) > 0) {
            std::string reply = ownIp_ + " " + addressText(peer);
            (void)send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
          }
        } else if (recvfrom(fds[i].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer),
                            &len) >= 0) {
          std::string reply = ownIp_ + " " + addressText(peer);
          (void)sendto(fds[i].fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer),
                       len);
        }
      }
    }
  }

  std::string ownIp_;
  std::vector<Fd> tcp_, udp_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct Reply {
  int error = 0;     // errno of connect/send/recv, 0 when answered
  std::string text;  // what the server said
};

// One TCP connection from the client netns: connect, send, read the answer.
// The timeout bounds a dropped connection (ETIMEDOUT or EINPROGRESS-like
// errors); nothing asserts on time.
inline Reply tcpRequest(const net::NetnsHandle& client, const std::string& ip, int port,
                        int timeoutSeconds = 5) {
  Fd fd(socketIn(client, SOCK_STREAM));
  if (fd.get() < 0) return {EBADF, ""};
  timeval timeout{timeoutSeconds, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in to = address(ip, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    return {errno == EINPROGRESS ? ETIMEDOUT : errno, ""};
  if (send(fd.get(), "hi", 2, MSG_NOSIGNAL) != 2) return {errno, ""};
  char buf[128];
  ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
  if (n <= 0) return {n == 0 ? ECONNRESET : errno, ""};
  return {0, std::string(buf, n)};
}

inline Reply udpRequest(const net::NetnsHandle& client, const std::string& ip, int port,
                        int timeoutSeconds = 2) {
  Fd fd(socketIn(client, SOCK_DGRAM));
  if (fd.get() < 0) return {EBADF, ""};
  timeval timeout{timeoutSeconds, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in to = address(ip, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return {errno, ""};
  for (int attempt = 0; attempt < 3; ++attempt) {  // UDP may lose the first ARP-queued packet
    if (send(fd.get(), "hi", 2, 0) != 2) return {errno, ""};
    char buf[128];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) return {0, std::string(buf, n)};
    if (n < 0 && errno == ECONNREFUSED) return {ECONNREFUSED, ""};
  }
  return {ETIMEDOUT, ""};
}

}  // namespace podnet::testing
