#include "trace/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/ip.h"
#include "dns/wire.h"
#include "trace/target.h"

namespace podnet::trace {

using Json = nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double millisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct DnsAnswer {
  std::string rcode = "timeout";
  std::vector<std::string> addresses;
  std::vector<std::string> aliases;  // CNAME targets
  double ms = 0;
};

std::string rcodeName(uint8_t code) {
  switch (code) {
    case dns::rcode::NOERROR:
      return "NOERROR";
    case dns::rcode::FORMERR:
      return "FORMERR";
    case dns::rcode::SERVFAIL:
      return "SERVFAIL";
    case dns::rcode::NXDOMAIN:
      return "NXDOMAIN";
    case dns::rcode::NOTIMP:
      return "NOTIMP";
    case dns::rcode::REFUSED:
      return "REFUSED";
    default:
      return "RCODE" + std::to_string(code);
  }
}

// One A query over UDP to `server` (a try, then one retry, 1 s each).
DnsAnswer askA(const std::string& name, const std::string& server) {
  DnsAnswer answer;
  auto start = Clock::now();
  auto wire = dns::textToWire(name);
  auto serverIp = core::IpAddress::parse(server);
  if (!wire || !serverIp || serverIp->v6) {
    answer.rcode = !wire ? "invalid name" : "unsupported nameserver " + server;
    return answer;
  }
  dns::MessageBuilder query;
  query.question(*wire, dns::type::A);
  query.setFlags(0x0100);  // RD
  std::string packet = query.bytes();
  uint16_t id = static_cast<uint16_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  packet[0] = char(id >> 8);
  packet[1] = char(id);
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    answer.rcode = std::string("socket: ") + std::strerror(errno);
    return answer;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  std::memcpy(&to.sin_addr, serverIp->bytes.data(), 4);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
        0) {
      answer.rcode = std::string("send: ") + std::strerror(errno);
      break;
    }
    pollfd pfd{fd, POLLIN, 0};
    auto waitUntil = Clock::now() + std::chrono::seconds(1);
    bool done = false;
    while (!done) {
      int left = int(
          std::chrono::duration_cast<std::chrono::milliseconds>(waitUntil - Clock::now()).count());
      if (left <= 0 || ::poll(&pfd, 1, left) <= 0) break;
      uint8_t reply[4096];
      ssize_t n = ::recv(fd, reply, sizeof reply, 0);
      if (n < int(dns::kHeaderSize) || dns::get16(reply) != id) continue;  // not ours
      answer.rcode = rcodeName(reply[3] & 0x0f);
      uint16_t answers = dns::get16(reply + 6);
      if (auto records = dns::walkRecords(reply, size_t(n)))
        for (size_t i = 0; i < records->size() && i < answers; ++i) {
          const auto& r = (*records)[i];
          if (r.type == dns::type::A && r.rdataLen == 4) {
            core::IpAddress ip;
            std::memcpy(ip.bytes.data(), reply + r.rdataOffset, 4);
            answer.addresses.push_back(ip.toString());
          } else if (r.type == dns::type::CNAME) {
            if (auto target = dns::readName(reply, size_t(n), r.rdataOffset))
              answer.aliases.push_back(dns::wireToText(*target));
          }
        }
      done = true;
    }
    if (done) break;
  }
  ::close(fd);
  answer.ms = millisecondsSince(start);
  return answer;
}

}  // namespace

Json resolveLikeAPod(const std::string& host, const std::string& resolvConfText,
                     std::string& address) {
  Json out = {{"name", host}};
  if (isIpLiteral(host)) {
    out["literal"] = true;
    address = host;
    return out;
  }
  ResolvConf conf = parseResolvConf(resolvConfText);
  out["search"] = conf.search;
  out["ndots"] = conf.ndots;
  if (conf.nameservers.empty()) {
    out["error"] = "the pod's resolv.conf names no nameserver";
    return out;
  }
  std::string server = conf.nameservers.front();
  out["nameserver"] = server;
  Json queries = Json::array();
  for (const std::string& name : queryNames(host, conf)) {
    DnsAnswer answer = askA(name, server);
    queries.push_back({{"name", name},
                       {"type", "A"},
                       {"rcode", answer.rcode},
                       {"answers", answer.addresses},
                       {"aliases", answer.aliases},
                       {"ms", answer.ms}});
    if (answer.rcode == "NOERROR" && !answer.addresses.empty()) {
      address = answer.addresses.front();
      out["answer"] = address;
      out["answeredName"] = name;
      break;
    }
    // glibc stops the search on an answer that is not "no such name" or
    // "no data"; a server failure ends it too.
    if (answer.rcode != "NOERROR" && answer.rcode != "NXDOMAIN") break;
  }
  out["queries"] = queries;
  return out;
}

namespace {

// Waits for `fd` to become ready for `events`; false on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd pfd{fd, events, 0};
  while (true) {
    int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    int ready = ::poll(&pfd, 1, left);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

Json connectAndRequest(const Probe& probe) {
  const std::string& address = probe.address;
  uint16_t port = probe.port;
  const std::string& protocol = probe.protocol;
  bool http = probe.http;
  const std::string& host = probe.host;
  const std::string& path = probe.path;
  uint16_t sourcePort = probe.sourcePort;
  std::chrono::milliseconds timeout = probe.timeout;
  Json out = {{"address", address}, {"port", port}, {"protocol", protocol}};
  auto ip = core::IpAddress::parse(address);
  if (!ip || ip->v6) {
    out["error"] = "only IPv4 addresses are traced";
    return out;
  }
  bool udp = protocol == "udp";
  int fd = ::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out["error"] = std::string("socket: ") + std::strerror(errno);
    return out;
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(sourcePort);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    out["error"] =
        "cannot bind source port " + std::to_string(sourcePort) + ": " + std::strerror(errno);
    ::close(fd);
    return out;
  }
  out["sourcePort"] = sourcePort;
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  std::memcpy(&remote.sin_addr, ip->bytes.data(), 4);
  auto start = Clock::now();
  auto deadline = start + timeout;
  auto fail = [&](const std::string& what, const std::string& kind) {
    out["error"] = what;
    out["failure"] = kind;  // refused, timeout, unreachable, other
    out["ms"] = millisecondsSince(start);
    ::close(fd);
    return out;
  };
  auto kindOf = [](int error) -> std::string {
    if (error == ECONNREFUSED) return "refused";
    if (error == EHOSTUNREACH || error == ENETUNREACH) return "unreachable";
    if (error == ETIMEDOUT) return "timeout";
    return "other";
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 &&
      errno != EINPROGRESS)
    return fail(std::string("connect: ") + std::strerror(errno), kindOf(errno));
  if (udp) {
    static const char kDatagram[] = "podnet trace\n";
    if (::send(fd, kDatagram, sizeof kDatagram - 1, 0) < 0)
      return fail(std::string("send: ") + std::strerror(errno), kindOf(errno));
    out["sent"] = true;
    if (!waitFor(fd, POLLIN,
                 Clock::now() + std::min<std::chrono::milliseconds>(
                                    timeout, std::chrono::milliseconds(1000)))) {
      out["ok"] = true;
      out["noAnswer"] = true;
      out["ms"] = millisecondsSince(start);
      ::close(fd);
      return out;
    }
    char buffer[512];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) return fail(std::string("receive: ") + std::strerror(errno), kindOf(errno));
    out["ok"] = true;
    out["answerBytes"] = n;
    out["ms"] = millisecondsSince(start);
    ::close(fd);
    return out;
  }
  if (!waitFor(fd, POLLOUT, deadline))
    return fail("no answer to the connection within " + std::to_string(timeout.count()) + " ms",
                "timeout");
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return fail(std::string("connect: ") + std::strerror(error), kindOf(error));
  out["connectMs"] = millisecondsSince(start);
  if (!http) {
    out["ok"] = true;
    out["ms"] = millisecondsSince(start);
    ::close(fd);
    return out;
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                        (port == 80 ? "" : ":" + std::to_string(port)) +
                        "\r\nUser-Agent: podnet-trace\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!waitFor(fd, POLLOUT, deadline)) return fail("the request could not be sent", "timeout");
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN)
      return fail(std::string("send: ") + std::strerror(errno), "other");
    if (n > 0) sent += size_t(n);
  }
  std::string response;
  while (response.size() < (1 << 20)) {
    if (!waitFor(fd, POLLIN, deadline)) {
      if (response.empty()) return fail("no HTTP answer within the timeout", "timeout");
      break;
    }
    char buffer[16384];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (response.empty()) return fail(std::string("receive: ") + std::strerror(errno), "other");
      break;
    }
    response.append(buffer, size_t(n));
    // Enough once the headers and a declared length are in.
    size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string lower = response.substr(0, end);
      for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos) {
        size_t length = std::strtoul(lower.c_str() + cl + 17, nullptr, 10);
        if (response.size() >= end + 4 + length) break;
      }
    }
  }
  ::close(fd);
  out["ms"] = millisecondsSince(start);
  size_t lineEnd = response.find("\r\n");
  std::string statusLine = response.substr(0, lineEnd);
  if (statusLine.rfind("HTTP/", 0) != 0) {
    out["error"] = "the answer is not HTTP";
    out["failure"] = "other";
    return out;
  }
  out["ok"] = true;
  out["statusLine"] = statusLine;
  size_t space = statusLine.find(' ');
  out["status"] = space == std::string::npos ? 0 : std::atoi(statusLine.c_str() + space + 1);
  size_t bodyStart = response.find("\r\n\r\n");
  std::string body = bodyStart == std::string::npos ? "" : response.substr(bodyStart + 4);
  out["bodyBytes"] = body.size();
  std::string first = body.substr(0, std::min(body.find('\n'), size_t(200)));
  out["bodyStart"] = first;
  return out;
}

}  // namespace podnet::trace
