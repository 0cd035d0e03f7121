#include "policy/probe.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

namespace podnet::policy {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_storage addressOf(const core::IpAddress& ip, uint16_t port, socklen_t& length) {
  sockaddr_storage storage{};
  if (ip.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, ip.bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, ip.bytes.data(), 4);
    length = sizeof(sockaddr_in);
  }
  return storage;
}

// In the calling thread's network namespace (the worker entered the pod's).
void probe(ProbeTask& task, std::chrono::milliseconds timeout) {
  int family = task.target.v6 ? AF_INET6 : AF_INET;
  int type = task.protocol == Protocol::udp ? SOCK_DGRAM : SOCK_STREAM;
  int proto = task.protocol == Protocol::sctp ? IPPROTO_SCTP : 0;
  Fd s{::socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto)};
  if (s.fd < 0) {
    task.outcome = ProbeOutcome::error;
    task.detail = std::string("socket: ") + strerror(errno);
    return;
  }
  socklen_t length = 0;
  sockaddr_storage to = addressOf(task.target, task.port, length);
  int ms = static_cast<int>(timeout.count());
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&to), length) != 0 && errno != EINPROGRESS) {
    task.outcome = errno == ECONNREFUSED ? ProbeOutcome::refused : ProbeOutcome::error;
    task.detail = strerror(errno);
    return;
  }
  if (type == SOCK_DGRAM) {
    // The test server answers "hostname"; a port without a listener sends
    // ICMP port unreachable, which the connected socket reports.
    const char request[] = "hostname\n";
    (void)::send(s.fd, request, sizeof request - 1, MSG_NOSIGNAL);
  }
  pollfd p{s.fd, static_cast<short>(type == SOCK_DGRAM ? POLLIN : POLLOUT), 0};
  int ready = ::poll(&p, 1, ms);
  if (ready == 0) {
    task.outcome = ProbeOutcome::blocked;
    return;
  }
  int error = 0;
  socklen_t errorLength = sizeof error;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &errorLength);
  if (type == SOCK_DGRAM && !error) {
    char buffer[256];
    if (::recv(s.fd, buffer, sizeof buffer, 0) < 0) error = errno;
  }
  if (!error) {
    task.outcome = ProbeOutcome::connected;
  } else if (error == ECONNREFUSED) {
    task.outcome = ProbeOutcome::refused;
  } else if (error == ETIMEDOUT) {
    task.outcome = ProbeOutcome::blocked;
  } else {
    task.outcome = ProbeOutcome::error;
    task.detail = strerror(error);
  }
}

}  // namespace

void runProbes(std::vector<ProbeTask>& tasks, size_t parallel, std::chrono::milliseconds timeout) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    // This thread alone moves between the pods' namespaces.
    while (true) {
      size_t i = next++;
      if (i >= tasks.size()) return;
      ProbeTask& task = tasks[i];
      Fd ns{::open(task.netnsPath.c_str(), O_RDONLY | O_CLOEXEC)};
      if (ns.fd < 0 || ::setns(ns.fd, CLONE_NEWNET) != 0) {
        task.outcome = ProbeOutcome::error;
        task.detail = task.netnsPath + ": " + strerror(errno);
        continue;
      }
      probe(task, timeout);
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::max<size_t>(1, std::min(parallel, tasks.size())); ++i)
    threads.emplace_back(worker);
  for (auto& t : threads) t.join();
}

}  // namespace podnet::policy
