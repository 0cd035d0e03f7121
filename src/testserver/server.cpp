#include "testserver/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "http/http1.h"

namespace podnet::testserver {
namespace {

constexpr size_t kMaxEchoLine = 64 * 1024;

std::string peerString(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(in6->sin6_port));
    }
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unknown";
}

uint16_t boundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

// A bound (and, for TCP, listening) socket, or -1 with `error` set.
int openSocket(int family, bool tcp, const std::string& address, uint16_t port,
               std::string& error) {
  int fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  if (tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (family == AF_INET) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
      close(fd);
      error = "bad bind address " + address;
      return -1;
    }
    rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_any;
    rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc == 0 && tcp) rc = listen(fd, 128);
  if (rc != 0) {
    error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool parsePort(const std::string& text, uint16_t& port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535)
    return false;
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

const char* const kUsage =
    "usage: podnet testserver [--tcp PORT]... [--udp PORT]... [--name NAME] [--ip IP]\n"
    "                         [--bind IPV4]\n"
    "  --tcp PORT   serve HTTP/1.1, or echo lines for non-HTTP clients, on TCP PORT (repeatable)\n"
    "  --udp PORT   answer datagrams on UDP PORT (repeatable)\n"
    "               without --tcp or --udp: TCP 8080 and UDP 8081; PORT 0 picks a free port\n"
    "  --name NAME  the name to report (default: $POD_NAME, else the host name)\n"
    "  --ip IP      the IP to report in /info (default: $POD_IP)\n"
    "  --bind IPV4  listen only on this address (default: every address, IPv4 and IPv6)\n"
    "HTTP: / /hostname /clientip /echo?msg=X /healthz /info\n"
    "UDP:  hostname | clientip | echo X | anything else is echoed\n";

ParsedArgs parseArgs(const std::vector<std::string>& args, const char* podName, const char* podIp,
                     const std::string& hostname) {
  ParsedArgs parsed;
  Options& o = parsed.options;
  o.self.name = podName && *podName ? podName : hostname;
  o.self.ip = podIp ? podIp : "";
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool hasValue = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      hasValue = true;
    }
    if (flag == "-h" || flag == "--help") {
      parsed.help = true;
      return parsed;
    }
    if (flag != "--tcp" && flag != "--udp" && flag != "--name" && flag != "--ip" &&
        flag != "--bind") {
      parsed.error = "unknown argument " + args[i];
      return parsed;
    }
    if (!hasValue) {
      if (i + 1 >= args.size()) {
        parsed.error = flag + " needs a value";
        return parsed;
      }
      value = args[++i];
    }
    if (flag == "--tcp" || flag == "--udp") {
      uint16_t port = 0;
      if (!parsePort(value, port)) {
        parsed.error = "bad port for " + flag + ": " + value;
        return parsed;
      }
      (flag == "--tcp" ? o.tcpPorts : o.udpPorts).push_back(port);
    } else if (flag == "--name") {
      o.self.name = value;
    } else if (flag == "--ip") {
      o.self.ip = value;
    } else {
      in_addr addr{};
      if (inet_pton(AF_INET, value.c_str(), &addr) != 1) {
        parsed.error = "--bind needs an IPv4 address: " + value;
        return parsed;
      }
      o.bindAddress = value;
    }
  }
  if (o.tcpPorts.empty() && o.udpPorts.empty()) {
    o.tcpPorts = {8080};
    o.udpPorts = {8081};
  }
  return parsed;
}

Server::Server(Options options) : options_(std::move(options)) {}

Server::~Server() { stop(); }

void Server::closeAll() {
  for (Listener& l : listeners_)
    if (l.fd >= 0) close(l.fd);
  listeners_.clear();
  if (wakeRead_ >= 0) close(wakeRead_);
  if (wakeWrite_ >= 0) close(wakeWrite_);
  wakeRead_ = wakeWrite_ = -1;
}

std::string Server::start() {
  if (started_) return "already started";
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  wakeRead_ = pipeFds[0];
  wakeWrite_ = pipeFds[1];

  bool dual = options_.bindAddress.empty();
  std::string v4 = dual ? "0.0.0.0" : options_.bindAddress;
  auto bindAll = [&](const std::vector<uint16_t>& ports, bool tcp,
                     std::vector<uint16_t>& bound) -> std::string {
    for (uint16_t port : ports) {
      std::string error;
      int fd = openSocket(AF_INET, tcp, v4, port, error);
      if (fd < 0)
        return std::string("cannot bind ") + (tcp ? "TCP" : "UDP") + " port " +
               std::to_string(port) + " on " + v4 + ": " + error;
      uint16_t actual = boundPort(fd);
      listeners_.push_back({fd, tcp, actual});
      bound.push_back(actual);
      if (dual) {  // IPv6 too, where the host has it; failing that is not an error.
        std::string ignored;
        int fd6 = openSocket(AF_INET6, tcp, "", actual, ignored);
        if (fd6 >= 0) listeners_.push_back({fd6, tcp, actual});
      }
    }
    return "";
  };
  std::string error = bindAll(options_.tcpPorts, true, boundTcp_);
  if (error.empty()) error = bindAll(options_.udpPorts, false, boundUdp_);
  if (!error.empty()) {
    closeAll();
    boundTcp_.clear();
    boundUdp_.clear();
    return error;
  }
  started_ = true;
  for (const Listener& l : listeners_) {
    if (l.tcp)
      threads_.emplace_back([this, l] { acceptLoop(l); });
    else
      threads_.emplace_back([this, l] { udpLoop(l); });
  }
  return "";
}

void Server::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  char byte = 1;
  (void)!write(wakeWrite_, &byte, 1);
  {
    std::unique_lock lock(mu_);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [this] { return activeConnections_ == 0; });
  }
  closeAll();
}

void Server::acceptLoop(Listener listener) {
  while (!stopping_) {
    pollfd fds[2] = {{listener.fd, POLLIN, 0}, {wakeRead_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents || stopping_) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) poll(nullptr, 0, 50);  // let connections close
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      connections_.insert(fd);
      ++activeConnections_;
    }
    std::thread([this, fd, port = listener.port] {
      serveConnection(fd, port);
      std::lock_guard lock(mu_);
      connections_.erase(fd);
      close(fd);
      if (--activeConnections_ == 0) idle_.notify_all();
    }).detach();
  }
}

void Server::serveConnection(int fd, uint16_t localPort) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  PeerInfo peer{peerString(addr), localPort};

  std::string buffer;
  enum class Mode { sniffing, http, echo } mode = Mode::sniffing;
  char chunk[16 * 1024];
  bool eof = false;
  while (!stopping_) {
    if (!eof) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wakeRead_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) return;
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return;
      }
      if (n == 0)
        eof = true;
      else
        buffer.append(chunk, static_cast<size_t>(n));
    }

    if (mode == Mode::sniffing) {
      Sniff s = sniffHttp(buffer);
      if (s == Sniff::needMore && !eof) continue;
      mode = s == Sniff::http ? Mode::http : Mode::echo;
    }

    if (mode == Mode::echo) {
      // Write back every complete line; a partial line waits for its end, for EOF,
      // or for the line limit.
      size_t end = buffer.rfind('\n');
      size_t take = end == std::string::npos ? 0 : end + 1;
      if (eof || buffer.size() >= kMaxEchoLine) take = buffer.size();
      if (take > 0) {
        if (!sendAll(fd, std::string_view(buffer).substr(0, take))) return;
        buffer.erase(0, take);
      }
      if (eof) {
        shutdown(fd, SHUT_WR);
        return;
      }
      continue;
    }

    // HTTP: answer every complete request in the buffer (pipelining).
    while (true) {
      ParseResult parsed = parseHttpRequest(buffer);
      if (parsed.state == ParseState::incomplete) break;
      if (parsed.state == ParseState::malformed) {
        sendAll(fd, serializeReply(malformedReply(parsed), http::dateHeader()));
        shutdown(fd, SHUT_WR);
        return;
      }
      buffer.erase(0, parsed.consumed);
      HttpReply reply = answerHttp(parsed.request, options_.self, peer);
      if (reply.delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delayMs));
      if (!sendAll(fd, serializeReply(reply, http::dateHeader()))) return;
      if (reply.close) {
        shutdown(fd, SHUT_WR);
        return;
      }
    }
    if (eof) return;
  }
}

void Server::udpLoop(Listener listener) {
  std::vector<char> datagram(64 * 1024);
  while (!stopping_) {
    pollfd fds[2] = {{listener.fd, POLLIN, 0}, {wakeRead_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents || stopping_) return;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ssize_t n = recvfrom(listener.fd, datagram.data(), datagram.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&addr), &len);
    if (n < 0) continue;
    PeerInfo peer{peerString(addr), listener.port};
    std::string answer =
        answerUdp(std::string_view(datagram.data(), static_cast<size_t>(n)), options_.self, peer);
    sendto(listener.fd, answer.data(), answer.size(), MSG_DONTWAIT,
           reinterpret_cast<sockaddr*>(&addr), len);
  }
}

}  // namespace podnet::testserver
