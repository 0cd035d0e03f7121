#include "agent/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace podnet::agent {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int resolvePort(const Json& port, const Json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (!port.is_string()) return 0;
  std::string name = port.get<std::string>();
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) return std::stoi(name);
  if (auto ports = container.find("ports"); ports != container.end() && ports->is_array())
    for (const Json& item : *ports)
      if (item.is_object() && item.value("name", "") == name) return item.value("containerPort", 0);
  return 0;
}

namespace {

int msLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// A connected non-blocking socket to ip:port, or -1.
int connectBefore(const std::string& ip, int port, Clock::time_point deadline) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
      errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd waiting{fd, POLLOUT, 0};
  if (::poll(&waiting, 1, msLeft(deadline)) != 1) {
    ::close(fd);
    return -1;
  }
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool httpProbe(const Json& action, const Json& container, const ProbeTarget& target,
               Clock::time_point deadline) {
  int port = resolvePort(action.value("port", Json()), container);
  std::string host = action.value("host", target.podIp);
  std::string path = action.value("path", "/");
  if (path.empty() || path[0] != '/') path = "/" + path;
  int fd = connectBefore(host, port, deadline);
  if (fd < 0) return false;
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                        "\r\nUser-Agent: kube-probe/1.31\r\n";
  if (auto headers = action.find("httpHeaders"); headers != action.end() && headers->is_array())
    for (const Json& header : *headers)
      if (header.is_object())
        request += header.value("name", "") + ": " + header.value("value", "") + "\r\n";
  request += "Accept: */*\r\nConnection: close\r\n\r\n";
  bool ok = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size());
  std::string response;
  while (ok && response.find("\r\n") == std::string::npos && response.size() < 4096) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, msLeft(deadline)) != 1) break;
    char buffer[1024];
    ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    response.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK": kubelet counts 200-399 as success.
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return false;
  int status = std::atoi(response.c_str() + response.find(' ') + 1);
  return status >= 200 && status < 400;
}

bool execProbe(const Json& action, const ProbeTarget& target, Clock::time_point deadline) {
  runtime::ProcessSpec spec = target.execTemplate;
  spec.argv.clear();
  if (auto command = action.find("command"); command != action.end() && command->is_array())
    for (const Json& arg : *command)
      if (arg.is_string()) spec.argv.push_back(arg.get<std::string>());
  if (spec.argv.empty()) return false;
  auto started = runtime::spawnInPod(spec);
  if (!started) return false;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(*started, &status, WNOHANG);
    if (done == *started) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (Clock::now() >= deadline) {
      ::kill(-*started, SIGKILL);
      ::kill(*started, SIGKILL);
      ::waitpid(*started, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

bool runProbe(const Json& probe, const Json& container, const ProbeTarget& target) {
  if (!probe.is_object()) return false;
  int timeout = probe.value("timeoutSeconds", 1);
  if (timeout < 1) timeout = 1;
  auto deadline = Clock::now() + std::chrono::seconds(timeout);
  if (auto action = probe.find("httpGet"); action != probe.end() && action->is_object())
    return httpProbe(*action, container, target, deadline);
  if (auto action = probe.find("tcpSocket"); action != probe.end() && action->is_object()) {
    int port = resolvePort(action->value("port", Json()), container);
    int fd = connectBefore(action->value("host", target.podIp), port, deadline);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  }
  if (auto action = probe.find("exec"); action != probe.end() && action->is_object())
    return execProbe(*action, target, deadline);
  return false;
}

}  // namespace podnet::agent
