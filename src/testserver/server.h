// The test server's sockets: TCP listeners (HTTP or line echo, sniffed per
// connection) and UDP sockets, one thread per listener and per connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testserver/http.h"

namespace podnet::testserver {

struct Options {
  std::vector<uint16_t> tcpPorts;  // 0: an ephemeral port (see Server::tcpPorts)
  std::vector<uint16_t> udpPorts;
  Identity self;
  // Empty: 0.0.0.0 and, where the host has IPv6, [::]. Otherwise only this IPv4 address.
  std::string bindAddress;
};

struct ParsedArgs {
  Options options;
  bool help = false;
  std::string error;  // non-empty: bad usage
};
// Flags of `podnet testserver`; `env` and `hostname` give the defaults of
// --name (POD_NAME, else the host name) and --ip (POD_IP).
ParsedArgs parseArgs(const std::vector<std::string>& args, const char* podName, const char* podIp,
                     const std::string& hostname);
extern const char* const kUsage;

class Server {
 public:
  explicit Server(Options options);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every port and starts serving; "" on success, else why a port could not be bound
  // (nothing stays bound then).
  std::string start();
  // Stops serving, closes every socket and joins every thread. Idempotent.
  void stop();

  // The bound ports, in the order of the options (ephemeral ports resolved), after start().
  const std::vector<uint16_t>& tcpPorts() const { return boundTcp_; }
  const std::vector<uint16_t>& udpPorts() const { return boundUdp_; }

 private:
  struct Listener {
    int fd = -1;
    bool tcp = true;
    uint16_t port = 0;
  };
  void acceptLoop(Listener listener);
  void udpLoop(Listener listener);
  void serveConnection(int fd, uint16_t localPort);
  void closeAll();

  Options options_;
  std::vector<Listener> listeners_;
  std::vector<uint16_t> boundTcp_, boundUdp_;
  std::vector<std::thread> threads_;
  int wakeRead_ = -1, wakeWrite_ = -1;  // a pipe that becomes readable on stop()
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  std::mutex mu_;
  std::condition_variable idle_;
  std::set<int> connections_;  // open connection sockets, shut down on stop()
  size_t activeConnections_ = 0;
};

}  // namespace podnet::testserver
