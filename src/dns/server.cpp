#include "dns/server.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "core/socket_address.h"

namespace podnet::dns {

using core::addressText;
using core::parseListenAddress;
using core::portOf;
using core::setPort;

namespace {

// A failure of this host (a port taken, no sockets): said as is.
core::Error hostError(std::string message) {
  return core::Error{500, "InternalError", std::move(message)};
}

constexpr int kBatch = 32;
constexpr size_t kRecvSize = 4096;                // a query bigger than this is dropped
constexpr size_t kUdpOutSize = kMaxUdpSize + 64;  // room for the OPT record past the limit

std::string errnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

bool sendAll(int fd, const uint8_t* data, size_t size, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data += n;
      size -= size_t(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, int(left.count()));
  }
  return true;
}

// IPv4 UDP sockets send with IP_PMTUDISC_DO: a response that fits the path
// MTU leaves with DF set, as with the default IP_PMTUDISC_WANT, but the
// kernel then skips the per-packet IP ID hash (__ip_select_ident, about 4%
// of the server's CPU) because a DF datagram's ID may be 0 (RFC 6864). A
// response bigger than the MTU fails with EMSGSIZE instead of being
// fragmented; sendFragmentable() sends it once with WANT, so what goes on
// the wire is what WANT would have sent.
void setDontFragment(int fd, bool on) {
  int mode = on ? IP_PMTUDISC_DO : IP_PMTUDISC_WANT;
  ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode);
}

void sendFragmentable(int fd, const msghdr& message) {
  // The forwarder's thread sends on the same sockets: one toggle at a time
  // (a send of another thread in between only gets WANT's behaviour).
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  setDontFragment(fd, false);
  ::sendmsg(fd, &message, MSG_DONTWAIT);
  setDontFragment(fd, true);
}

}  // namespace

Server::Server(ServerOptions options, const Authority& authority, const SnapshotSlot& slot,
               Forwarder* forwarder)
    : options_(std::move(options)), authority_(authority), slot_(slot), forwarder_(forwarder) {}

Server::~Server() { stop(); }

core::Status Server::start() {
  if (!parseListenAddress(options_.listen, address_, addressLength_))
    return core::badRequest("invalid listen address " + options_.listen + " (want ADDR:PORT)");
  CPU_ZERO(&allowedCpus_);
  if (::sched_getaffinity(0, sizeof allowedCpus_, &allowedCpus_) != 0 ||
      CPU_COUNT(&allowedCpus_) == 0) {
    CPU_ZERO(&allowedCpus_);
    for (unsigned cpu = 0; cpu < std::max(1u, std::thread::hardware_concurrency()); ++cpu)
      if (cpu < CPU_SETSIZE) CPU_SET(cpu, &allowedCpus_);
  }
  int threads = options_.udpThreads > 0 ? options_.udpThreads : CPU_COUNT(&allowedCpus_);
  auto udpSocket = [&]() -> int {
    int fd = ::socket(address_.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (address_.ss_family == AF_INET6)
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    else
      setDontFragment(fd, true);
    int buffer = 4 << 20;  // capped by the host's rmem_max/wmem_max, which we leave alone
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    timeval timeout{0, 200 * 1000};  // bounds how fast stop() returns
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address_), addressLength_) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  };
  // Port 0: the first UDP socket picks the port, TCP and the other UDP
  // sockets take the same one (retried when TCP finds it taken).
  bool ephemeral = portOf(address_) == 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (ephemeral) setPort(address_, 0);
    int first = udpSocket();
    if (first < 0) return hostError(errnoText("bind udp " + options_.listen));
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof bound;
    ::getsockname(first, reinterpret_cast<sockaddr*>(&bound), &boundLength);
    setPort(address_, portOf(bound));
    tcpSocket_ = ::socket(address_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcpSocket_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (address_.ss_family == AF_INET6)
      ::setsockopt(tcpSocket_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (tcpSocket_ >= 0 &&
        ::bind(tcpSocket_, reinterpret_cast<sockaddr*>(&address_), addressLength_) == 0 &&
        ::listen(tcpSocket_, 1024) == 0) {
      udpSockets_.push_back(first);
      break;
    }
    std::string error = errnoText("bind tcp " + addressText(address_));
    ::close(first);
    if (tcpSocket_ >= 0) ::close(tcpSocket_);
    tcpSocket_ = -1;
    if (!ephemeral || attempt == 9) return hostError(error);
  }
  for (int i = 1; i < threads; ++i) {
    int fd = udpSocket();
    if (fd < 0) {
      std::string error = errnoText("bind udp " + addressText(address_));
      stop();
      return hostError(error);
    }
    udpSockets_.push_back(fd);
  }
  bound_ = addressText(address_);
  udpCounts_.clear();
  for (size_t i = 0; i < udpSockets_.size(); ++i)
    udpCounts_.push_back(std::make_unique<QueryCounts<false>>());
  steered_ = options_.cpuAffinity && udpSockets_.size() > 1 && steerByCpu();
  for (size_t i = 0; i < udpSockets_.size(); ++i)
    threads_.emplace_back([this, fd = udpSockets_[i], i] { udpLoop(fd, int(i)); });
  threads_.emplace_back([this] { acceptLoop(); });
  return core::Ok{};
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
  {
    std::unique_lock lock(connectionsMutex_);
    connectionsDone_.wait(lock, [this] { return connections_ == 0; });
  }
  for (int fd : udpSockets_) ::close(fd);
  udpSockets_.clear();
  if (tcpSocket_ >= 0) ::close(tcpSocket_);
  tcpSocket_ = -1;
}

bool Server::steerByCpu() {
  // A = the CPU the packet arrived on; return A % N: the index of the socket
  // in the group, which is the order the sockets were bound in.
  sock_filter code[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, uint32_t(SKF_AD_OFF + SKF_AD_CPU)},
      {BPF_ALU | BPF_MOD | BPF_K, 0, 0, uint32_t(udpSockets_.size())},
      {BPF_RET | BPF_A, 0, 0, 0},
  };
  sock_fprog program{uint16_t(std::size(code)), code};
  return ::setsockopt(udpSockets_[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program,
                      sizeof program) == 0;
}

void Server::udpLoop(int fd, int index) {
  if (steered_) {
    // Run where this socket's packets arrive (of the CPUs we may use).
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &allowedCpus_) && cpu % int(udpSockets_.size()) == index)
        CPU_SET(cpu, &cpus);
    if (CPU_COUNT(&cpus) > 0) ::pthread_setaffinity_np(::pthread_self(), sizeof cpus, &cpus);
  }
  std::vector<uint8_t> inBuffers(kBatch * kRecvSize);
  std::vector<uint8_t> outBuffers(kBatch * kUdpOutSize);
  mmsghdr in[kBatch], out[kBatch];
  iovec inIov[kBatch], outIov[kBatch];
  sockaddr_storage from[kBatch];
  std::memset(in, 0, sizeof in);
  std::memset(out, 0, sizeof out);
  for (int i = 0; i < kBatch; ++i) {
    inIov[i] = {inBuffers.data() + i * kRecvSize, kRecvSize};
    in[i].msg_hdr.msg_iov = &inIov[i];
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &from[i];
    in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    out[i].msg_hdr.msg_iov = &outIov[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  SnapshotSlot::Reader reader(slot_);
  std::vector<Query> queries(kBatch);
  ParseStatus parsed[kBatch];
  std::string cached;
  bool canForward = forwarder_ != nullptr && forwarder_->enabled();
  QueryCounts<false>& counts = *udpCounts_[size_t(index)];
  std::shared_ptr<SharedCounts> shared = shared_;
  uint16_t replyType[kBatch];
  Answerer replyBy[kBatch];
  while (!stopping_.load(std::memory_order_relaxed)) {
    int received = ::recvmmsg(fd, in, kBatch, MSG_WAITFORONE, nullptr);
    if (received <= 0) {
      // The receive timeout or EINTR: check for stop, and let go of a zone
      // replaced since this thread last answered (an idle thread would keep
      // an old snapshot, as large as the current one, alive).
      reader.current();
      continue;
    }
    const auto receivedAt = std::chrono::steady_clock::now();
    const Zone* zone = reader.current();
    // Parse the whole batch first and prefetch each name's slot, then its
    // record, so the lookups below rarely wait for memory.
    for (int i = 0; i < received; ++i) {
      if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {
        parsed[i] = ParseStatus::drop;
        continue;
      }
      parsed[i] = parseQuery(inBuffers.data() + i * kRecvSize, in[i].msg_len, queries[size_t(i)]);
      if (zone && parsed[i] == ParseStatus::ok) zone->prefetchSlot(queries[size_t(i)].nameHash);
    }
    if (zone)
      for (int i = 0; i < received; ++i)
        if (parsed[i] == ParseStatus::ok) zone->prefetchName(queries[size_t(i)].nameHash);
    int replies = 0;
    for (int i = 0; i < received; ++i) {
      if (in[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      const uint8_t* packet = inBuffers.data() + i * kRecvSize;
      uint8_t* response = outBuffers.data() + i * kUdpOutSize;
      Query& query = queries[size_t(i)];
      Outcome outcome = answerParsed(authority_, zone, canForward, parsed[i], packet, in[i].msg_len,
                                     false, query, response, kUdpOutSize);
      uint16_t qtype = parsed[i] == ParseStatus::ok ? query.qtype : 0;
      if (outcome.kind != Outcome::drop) counts.request(false, from[i].ss_family, qtype);
      Answerer by = Answerer::zone;
      if (outcome.kind == Outcome::forward) {
        stats_.forwarded.fetch_add(1, std::memory_order_relaxed);
        if (forwarder_->cached(query, cached)) {
          stats_.cacheHits.fetch_add(1, std::memory_order_relaxed);
          shared->cache.hits.inc();
          by = Answerer::cache;
          outcome.length = finishForwarded(query, packet, cached, false, response, kUdpOutSize);
          outcome.kind = outcome.length ? Outcome::reply : Outcome::drop;
        } else {
          shared->cache.misses.inc();
          shared->cache.forwarded.inc();
          sockaddr_storage client = from[i];
          socklen_t clientLength = in[i].msg_hdr.msg_namelen;
          std::string copy(reinterpret_cast<const char*>(packet), in[i].msg_len);
          forwarder_->resolve(query, [fd, client, clientLength, copy = std::move(copy), query,
                                      shared, receivedAt](const std::string* normalized) {
            uint8_t buffer[kUdpOutSize];
            const auto* bytes = reinterpret_cast<const uint8_t*>(copy.data());
            size_t length = normalized ? finishForwarded(query, bytes, *normalized, false, buffer,
                                                         sizeof buffer)
                                       : 0;
            if (!normalized) shared->cache.forwardFailures.inc();
            if (length == 0) length = writeServfail(query, bytes, buffer, sizeof buffer);
            shared->queries.response(
                buffer[3] & 0x0F, Answerer::forward, query.qtype,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - receivedAt)
                    .count());
            iovec iov{buffer, length};
            msghdr message{};
            message.msg_name = const_cast<sockaddr_storage*>(&client);
            message.msg_namelen = clientLength;
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            if (::sendmsg(fd, &message, MSG_DONTWAIT) < 0 && errno == EMSGSIZE)
              sendFragmentable(fd, message);
          });
          continue;
        }
      }
      if (outcome.kind != Outcome::reply) continue;
      replyType[replies] = qtype;
      replyBy[replies] = by;
      outIov[replies] = {response, outcome.length};
      out[replies].msg_hdr.msg_name = &from[i];
      out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
      ++replies;
    }
    // recvmmsg wrote each sender's address length: room for any next time.
    for (int i = 0; i < received; ++i) in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    stats_.udpQueries.fetch_add(uint64_t(received), std::memory_order_relaxed);
    // The batch's answers took this long from its arrival (one clock read a batch).
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - receivedAt).count();
    for (int r = 0; r < replies; ++r)
      counts.response(static_cast<const uint8_t*>(outIov[r].iov_base)[3] & 0x0F, replyBy[r],
                      replyType[r], seconds);
    int sent = 0;
    while (sent < replies) {
      int n = ::sendmmsg(fd, out + sent, unsigned(replies - sent), 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EMSGSIZE) sendFragmentable(fd, out[sent].msg_hdr);
        ++sent;  // skip the one the kernel refused (e.g. an unreachable client)
        continue;
      }
      sent += n;
    }
  }
}

void Server::acceptLoop() {
  while (!stopping_.load()) {
    pollfd p{tcpSocket_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(tcpSocket_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    {
      std::lock_guard lock(connectionsMutex_);
      if (connections_ >= options_.maxTcpConnections) {
        ::close(fd);
        continue;
      }
      ++connections_;
    }
    std::thread([this, fd] {
      serveConnection(fd);
      ::close(fd);
      std::lock_guard lock(connectionsMutex_);
      --connections_;
      connectionsDone_.notify_all();
    }).detach();
  }
}

void Server::serveConnection(int fd) {
  std::vector<uint8_t> in;
  std::vector<uint8_t> out(2 + kMaxMessage);
  uint8_t chunk[4096];
  SnapshotSlot::Reader reader(slot_);
  Query query;
  std::string cached;
  bool canForward = forwarder_ != nullptr && forwarder_->enabled();
  auto deadline = std::chrono::steady_clock::now() + options_.tcpIdleTimeout;
  sockaddr_storage peer{};
  socklen_t peerLength = sizeof peer;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peerLength);
  SharedCounts& shared = *shared_;
  while (!stopping_.load()) {
    // Answer every complete frame already received, in order.
    while (in.size() >= 2) {
      size_t length = get16(in.data());
      if (in.size() < 2 + length) break;
      const uint8_t* packet = in.data() + 2;
      const auto receivedAt = std::chrono::steady_clock::now();
      stats_.tcpQueries.fetch_add(1, std::memory_order_relaxed);
      Outcome outcome = answerQuery(authority_, reader.current(), canForward, packet, length, true,
                                    query, out.data() + 2, kMaxMessage);
      Answerer by = Answerer::zone;
      if (outcome.kind == Outcome::forward) {
        stats_.forwarded.fetch_add(1, std::memory_order_relaxed);
        if (forwarder_->cached(query, cached)) {
          stats_.cacheHits.fetch_add(1, std::memory_order_relaxed);
          shared.cache.hits.inc();
          by = Answerer::cache;
        } else {
          shared.cache.misses.inc();
          shared.cache.forwarded.inc();
          by = Answerer::forward;
          auto promise = std::make_shared<std::promise<std::optional<std::string>>>();
          auto future = promise->get_future();
          forwarder_->resolve(query, [promise](const std::string* normalized) {
            promise->set_value(normalized ? std::optional<std::string>(*normalized) : std::nullopt);
          });
          cached.clear();
          if (future.wait_for(std::chrono::seconds(10)) == std::future_status::ready)
            if (auto answer = future.get()) cached = std::move(*answer);
        }
        outcome.length = cached.empty() ? 0
                                        : finishForwarded(query, packet, cached, true,
                                                          out.data() + 2, kMaxMessage);
        if (outcome.length == 0) {
          if (by == Answerer::forward) shared.cache.forwardFailures.inc();
          outcome.length = writeServfail(query, packet, out.data() + 2, kMaxMessage);
        }
        outcome.kind = Outcome::reply;
      }
      if (outcome.kind != Outcome::reply) return;  // unreadable: close the connection
      shared.queries.request(true, peer.ss_family, query.qtype);
      shared.queries.response(
          out[2 + 3] & 0x0F, by, query.qtype,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - receivedAt).count());
      put16(out.data(), uint16_t(outcome.length));
      if (!sendAll(fd, out.data(), outcome.length + 2, std::chrono::seconds(5))) return;
      in.erase(in.begin(), in.begin() + long(2 + length));
      deadline = std::chrono::steady_clock::now() + options_.tcpIdleTimeout;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;  // idle timeout
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, int(std::min<long>(200, left.count()))) <= 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    in.insert(in.end(), chunk, chunk + n);
  }
}

void Server::writeMetrics(metrics::Writer& out) const {
  std::vector<const QueryCounts<false>*> threads;
  for (const auto& c : udpCounts_) threads.push_back(c.get());
  // CoreDNS's server label: the scheme and the listen address ("dns://:53").
  std::string port = bound_.substr(bound_.rfind(':') + 1);
  writeDnsMetrics(out, "dns://:" + port, threads, shared_->queries, shared_->cache,
                  forwarder_ ? forwarder_->cacheSize() : 0);
}

}  // namespace podnet::dns
