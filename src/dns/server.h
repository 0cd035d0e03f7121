// The DNS server's sockets: N UDP threads, each with its own SO_REUSEPORT
// socket (the kernel spreads clients over them) and recvmmsg/sendmmsg
// batches; one TCP acceptor with a thread per connection (RFC 7766 framing,
// several queries per connection, an idle timeout). Every thread answers
// from its own reference to the current zone snapshot.
#pragma once

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "dns/forwarder.h"
#include "dns/responder.h"
#include "dns/server_metrics.h"
#include "dns/zone.h"

namespace podnet::dns {

struct ServerOptions {
  std::string listen = "0.0.0.0:53";  // ADDR:PORT, [v6]:PORT; port 0 picks a free one
  int udpThreads = 0;                 // 0: one per CPU this process may run on
  // UDP thread k (of N) gets the packets the kernel receives on CPUs c with
  // c % N == k (a classic BPF program on the SO_REUSEPORT group) and runs on
  // those of them it may use: no cross-CPU wakeups, the packet still in the
  // CPU's cache. Off: the kernel's 4-tuple hash picks the socket.
  bool cpuAffinity = true;
  std::chrono::milliseconds tcpIdleTimeout{10000};
  int maxTcpConnections = 512;
};

// Counters the threads bump without sharing a cache line on the hot path.
struct ServerStats {
  std::atomic<uint64_t> udpQueries{0}, tcpQueries{0}, forwarded{0}, cacheHits{0};
};

class Server {
 public:
  // `forwarder` may be null (or disabled): names outside the zone get REFUSED.
  Server(ServerOptions options, const Authority& authority, const SnapshotSlot& slot,
         Forwarder* forwarder);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every socket and starts the threads.
  core::Status start();
  void stop();
  // "127.0.0.1:5353" (the port actually bound).
  std::string boundAddress() const { return bound_; }
  const ServerStats& stats() const { return stats_; }
  // Its counts under CoreDNS's metric names (server_metrics.h).
  void writeMetrics(metrics::Writer& out) const;

 private:
  void udpLoop(int fd, int index);
  // Attaches the CPU-steering program to the UDP sockets' group.
  bool steerByCpu();
  void acceptLoop();
  void serveConnection(int fd);

  ServerOptions options_;
  const Authority& authority_;
  const SnapshotSlot& slot_;
  Forwarder* forwarder_;
  sockaddr_storage address_{};
  socklen_t addressLength_ = 0;
  std::string bound_;
  std::vector<int> udpSockets_;
  bool steered_ = false;
  cpu_set_t allowedCpus_{};
  int tcpSocket_ = -1;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  std::mutex connectionsMutex_;
  std::condition_variable connectionsDone_;
  int connections_ = 0;
  ServerStats stats_;
  // Metrics: one set of single-writer cells per UDP thread; one shared set
  // (TCP, forwarded answers), kept alive by the forwarder's callbacks.
  std::vector<std::unique_ptr<QueryCounts<false>>> udpCounts_;
  struct SharedCounts {
    QueryCounts<true> queries;
    CacheCounts cache;
  };
  std::shared_ptr<SharedCounts> shared_ = std::make_shared<SharedCounts>();
};

}  // namespace podnet::dns
