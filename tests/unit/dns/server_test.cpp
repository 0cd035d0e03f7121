// The server over real sockets on 127.0.0.1, queried with the real `dig`;
// forwarding goes to a fake upstream started here on loopback (never the
// machine's resolver).
#include "dns/server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <thread>

#include "dns/dns_main.h"
#include "dns/forwarder.h"
#include "dns/responder.h"
#include "dns_test_util.h"

namespace podnet::dns {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A tiny authoritative upstream on 127.0.0.1 (UDP and TCP, same port):
//   example.org A 192.0.2.1 (TTL 60); missing.example.org NXDOMAIN (SOA
//   minimum 30); big.example.org 100 A records, truncated over UDP;
//   slow.example.org never answered.
class FakeUpstream {
 public:
  FakeUpstream() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::bind(udp_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t len = sizeof address;
    ::getsockname(udp_, reinterpret_cast<sockaddr*>(&address), &len);
    port_ = ntohs(address.sin_port);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(tcp_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(tcp_, 16);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  uint16_t port() const { return port_; }
  int udpQueries() const { return udpQueries_; }
  int tcpQueries() const { return tcpQueries_; }

 private:
  std::string answer(const uint8_t* q, size_t size, bool overTcp) {
    Query query;
    if (parseQuery(q, size, query) != ParseStatus::ok) return {};
    std::string name = wireToText(query.name());
    if (name == "slow.example.org.") return {};
    MessageBuilder b;
    b.question(query.name(), query.qtype);
    uint16_t flags = flag::QR | flag::AA | (query.flags & flag::RD);
    if (name == "example.org." && query.qtype == type::A) {
      uint8_t ip[4] = {192, 0, 2, 1};
      b.a(query.name(), 60, ip);
    } else if (name == "big.example.org." && !overTcp) {
      flags |= flag::TC;
    } else if (name == "big.example.org.") {
      for (int i = 1; i <= 100; ++i) {
        uint8_t ip[4] = {192, 0, 2, uint8_t(i)};
        b.a(query.name(), 60, ip);
      }
    } else {
      b.beginSection(1);
      b.soa(*textToWire("example.org"), 3600, *textToWire("ns.example.org"),
            *textToWire("admin.example.org"), 1, 2, 3, 4, 30);
      if (name != "example.org.") flags |= rcode::NXDOMAIN;
    }
    b.setFlags(flags);
    std::string out = b.bytes();
    put16(reinterpret_cast<uint8_t*>(out.data()), query.id);
    return out;
  }

  void run() {
    uint8_t buffer[4096];
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        sockaddr_storage from{};
        socklen_t fromLen = sizeof from;
        ssize_t n = ::recvfrom(udp_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                               &fromLen);
        if (n > 0) {
          ++udpQueries_;
          std::string reply = answer(buffer, size_t(n), false);
          if (!reply.empty())
            ::sendto(udp_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     fromLen);
        }
      }
      if (fds[1].revents & POLLIN) {
        int fd = ::accept(tcp_, nullptr, nullptr);
        if (fd < 0) continue;
        uint8_t length[2];
        if (::recv(fd, length, 2, MSG_WAITALL) == 2) {
          size_t want = get16(length);
          if (::recv(fd, buffer, want, MSG_WAITALL) == ssize_t(want)) {
            ++tcpQueries_;
            std::string reply = answer(buffer, want, true);
            uint8_t frame[2];
            put16(frame, uint16_t(reply.size()));
            ::send(fd, frame, 2, MSG_NOSIGNAL);
            ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
          }
        }
        ::close(fd);
      }
    }
  }

  int udp_ = -1, tcp_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> udpQueries_{0}, tcpQueries_{0};
  std::thread thread_;
};

constexpr const char* kObjects = R"yaml(
items:
- {kind: Namespace, metadata: {name: default}}
- kind: Service
  metadata: {name: web, namespace: default}
  spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80, protocol: TCP}]}
- kind: Service
  metadata: {name: db, namespace: default}
  spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
- kind: EndpointSlice
  metadata: {name: db-1, namespace: default, labels: {kubernetes.io/service-name: db}}
  addressType: IPv4
  ports: [{name: pg, port: 5432, protocol: TCP}]
  endpoints: [{addresses: [10.244.2.1], hostname: db-0}, {addresses: [10.244.2.2]}]
- kind: Service
  metadata: {name: ext, namespace: default}
  spec: {type: ExternalName, externalName: example.org}
- kind: Pod
  metadata: {name: p1, namespace: default}
  status: {phase: Running, podIP: 10.244.1.7}
)yaml";

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  ::pclose(pipe);
  return output;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/dig", X_OK) != 0) GTEST_SKIP() << "no dig (bind9-dnsutils)";
    config_.reverseCidrs = {*core::Cidr::parse("10.96.0.0/12"),
                            *core::Cidr::parse("10.244.0.0/16")};
    authority_ = std::make_unique<Authority>(config_);
    std::string yaml = kObjects;
    yaml +=
        "- kind: Service\n  metadata: {name: big, namespace: default}\n  spec: {clusterIP: None}\n"
        "- kind: EndpointSlice\n  metadata: {name: big-1, namespace: default, labels: "
        "{kubernetes.io/service-name: big}}\n  addressType: IPv4\n  endpoints:\n";
    for (int i = 1; i <= 60; ++i) yaml += "  - {addresses: [10.244.5." + std::to_string(i) + "]}\n";
    auto objects = parseObjects(yaml);
    ASSERT_TRUE(objects);
    objects_ = *objects;
    slot_.publish(compileZone(config_, objects_));
    auto upstream = Upstream::parse("127.0.0.1:" + std::to_string(upstream_.port()));
    forwarder_ = std::make_unique<Forwarder>(std::vector<Upstream>{*upstream},
                                             ForwarderOptions{std::chrono::milliseconds(300), 2});
    ASSERT_TRUE(forwarder_->start());
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.udpThreads = 2;
    options.tcpIdleTimeout = std::chrono::milliseconds(1000);
    server_ = std::make_unique<Server>(options, *authority_, slot_, forwarder_.get());
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    std::string bound = server_->boundAddress();
    port_ = bound.substr(bound.rfind(':') + 1);
  }
  void TearDown() override {
    if (forwarder_) forwarder_->stop();
    if (server_) server_->stop();
  }

  std::string dig(const std::string& args) {
    return run("dig @127.0.0.1 -p " + port_ + " +tries=1 +time=3 " + args);
  }

  ZoneConfig config_;
  std::unique_ptr<Authority> authority_;
  ClusterObjects objects_;
  SnapshotSlot slot_;
  FakeUpstream upstream_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Server> server_;
  std::string port_;
};

TEST_F(ServerTest, ClusterRecordsWithDig) {
  EXPECT_EQ(dig("web.default.svc.cluster.local +short"), "10.96.0.20\n");
  EXPECT_EQ(dig("WEB.default.SVC.cluster.local +short"), "10.96.0.20\n");
  std::string aaaa = dig("web.default.svc.cluster.local AAAA");
  EXPECT_THAT(aaaa, HasSubstr("status: NOERROR"));
  EXPECT_THAT(aaaa, HasSubstr("ANSWER: 0, AUTHORITY: 1"));
  EXPECT_THAT(
      aaaa,
      HasSubstr("cluster.local.\t\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local."));
  std::string srv = dig("_http._tcp.web.default.svc.cluster.local SRV");
  EXPECT_THAT(srv, HasSubstr("SRV 0 100 80 web.default.svc.cluster.local."));
  EXPECT_THAT(srv, HasSubstr("ADDITIONAL: 2"));  // the A record and our OPT
  EXPECT_EQ(dig("-x 10.96.0.20 +short"), "web.default.svc.cluster.local.\n");
  EXPECT_EQ(dig("-x 10.244.2.1 +short"), "db-0.db.default.svc.cluster.local.\n");
  std::string headless = dig("db.default.svc.cluster.local +short");
  EXPECT_THAT(headless, HasSubstr("10.244.2.1\n"));
  EXPECT_THAT(headless, HasSubstr("10.244.2.2\n"));
  EXPECT_EQ(dig("db-0.db.default.svc.cluster.local +short"), "10.244.2.1\n");
  EXPECT_THAT(dig("_pg._tcp.db.default.svc.cluster.local SRV +short"),
              HasSubstr("0 50 5432 db-0.db.default.svc.cluster.local."));
  std::string cname = dig("ext.default.svc.cluster.local");
  EXPECT_THAT(cname, HasSubstr("CNAME\texample.org."));
  EXPECT_EQ(dig("10-244-1-7.default.pod.cluster.local +short"), "10.244.1.7\n");
  EXPECT_THAT(dig("10-244-1-8.default.pod.cluster.local"), HasSubstr("status: NXDOMAIN"));
  EXPECT_THAT(dig("nope.default.svc.cluster.local"), HasSubstr("status: NXDOMAIN"));
  std::string nodata = dig("default.svc.cluster.local");
  EXPECT_THAT(nodata, HasSubstr("status: NOERROR"));
  EXPECT_THAT(nodata, HasSubstr("ANSWER: 0, AUTHORITY: 1"));
  EXPECT_THAT(dig("dns-version.cluster.local TXT +short"), HasSubstr("\"1.1.0\""));
  EXPECT_THAT(dig("cluster.local AXFR"), HasSubstr("Transfer failed"));
}

TEST_F(ServerTest, TruncatedOverUdpThenFullOverTcp) {
  std::string udp = dig("big.default.svc.cluster.local +noedns +ignore");
  EXPECT_THAT(udp, HasSubstr(" tc "));
  EXPECT_THAT(udp, HasSubstr("ANSWER: 0"));
  std::string tcp = dig("big.default.svc.cluster.local +tcp");
  EXPECT_THAT(tcp, HasSubstr("ANSWER: 60"));
  EXPECT_THAT(tcp, Not(HasSubstr(" tc ")));
  // dig retries over TCP by itself when it sees TC.
  EXPECT_THAT(dig("big.default.svc.cluster.local +noedns"), HasSubstr("ANSWER: 60"));
  // EDNS: a 4096-byte buffer gets everything over UDP; 512 does not.
  std::string large = dig("big.default.svc.cluster.local +bufsize=4096 +ignore");
  EXPECT_THAT(large, HasSubstr("ANSWER: 60"));
  EXPECT_THAT(large, HasSubstr("udp: 1232"));
  EXPECT_THAT(dig("big.default.svc.cluster.local +bufsize=512 +ignore"), HasSubstr(" tc "));
  EXPECT_GE(server_->stats().tcpQueries.load(), 2u);
}

TEST_F(ServerTest, SeveralQueriesOnOneTcpConnection) {
  std::string out =
      dig("+tcp +keepopen web.default.svc.cluster.local A db-0.db.default.svc.cluster.local A "
          "nope.default.svc.cluster.local A");
  EXPECT_THAT(out, HasSubstr("10.96.0.20"));
  EXPECT_THAT(out, HasSubstr("10.244.2.1"));
  EXPECT_THAT(out, HasSubstr("status: NXDOMAIN"));
}

TEST_F(ServerTest, IdleTcpConnectionsAreClosedAndThePortIsOurs) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(uint16_t(std::stoi(port_)));
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  auto started = std::chrono::steady_clock::now();
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);  // closed by the server (idle timeout 1 s)
  auto idle = std::chrono::steady_clock::now() - started;
  EXPECT_GE(idle, std::chrono::milliseconds(900));
  EXPECT_LT(idle, std::chrono::milliseconds(2500));
  ::close(fd);
  // A second server cannot take the same port (TCP tells even though UDP
  // sockets share it with SO_REUSEPORT).
  ServerOptions options;
  options.listen = "127.0.0.1:" + port_;
  Server second(options, *authority_, slot_, nullptr);
  auto status = second.start();
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("Address already in use"));
}

TEST_F(ServerTest, FormerrForGarbageOverUdp) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(uint16_t(std::stoi(port_)));
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const uint8_t garbage[] = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
                             0x00, 0x00, 0x00, 0x00, 0x3f, 'x',  'y'};
  ::sendto(fd, garbage, sizeof garbage, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
  uint8_t reply[512];
  ssize_t n = ::recv(fd, reply, sizeof reply, 0);
  ASSERT_EQ(n, 12);
  EXPECT_EQ(get16(reply), 0xabcd);
  EXPECT_EQ(reply[3] & 0xF, rcode::FORMERR);
  // A packet too short for a header gets nothing; the server keeps serving.
  ::sendto(fd, garbage, 5, 0, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::close(fd);
  EXPECT_EQ(dig("web.default.svc.cluster.local +short"), "10.96.0.20\n");
}

TEST_F(ServerTest, ForwardsToUpstreamAndCaches) {
  EXPECT_EQ(dig("example.org +short"), "192.0.2.1\n");
  EXPECT_EQ(upstream_.udpQueries(), 1);
  std::string again = dig("EXAMPLE.org");
  EXPECT_THAT(again, HasSubstr("status: NOERROR"));
  EXPECT_THAT(again, HasSubstr(";EXAMPLE.org.\t\t\tIN\tA"));  // the client's case
  EXPECT_EQ(upstream_.udpQueries(), 1);                       // from the cache
  EXPECT_GE(server_->stats().cacheHits.load(), 1u);
  // Negative caching: NXDOMAIN with the SOA, then from the cache.
  EXPECT_THAT(dig("missing.example.org"), HasSubstr("status: NXDOMAIN"));
  EXPECT_THAT(dig("missing.example.org +tcp"), HasSubstr("status: NXDOMAIN"));
  EXPECT_EQ(upstream_.udpQueries(), 2);
  // Truncated upstream answers are fetched again over TCP.
  std::string big = dig("big.example.org +bufsize=4096");
  EXPECT_THAT(big, HasSubstr("ANSWER: 100"));
  EXPECT_EQ(upstream_.tcpQueries(), 1);
  // Names in the cluster zone never go upstream; ranges outside ours do.
  dig("nope.default.svc.cluster.local");
  EXPECT_EQ(upstream_.udpQueries(), 3);
  // An upstream that never answers: SERVFAIL after the attempts.
  EXPECT_THAT(dig("slow.example.org"), HasSubstr("status: SERVFAIL"));
}

TEST_F(ServerTest, CachedTtlsCountDown) {
  ResponseCache cache;
  MessageBuilder b;
  b.question(*textToWire("example.org"), type::A);
  uint8_t ip[4] = {192, 0, 2, 1};
  b.a(*textToWire("example.org"), 60, ip);
  auto t0 = Clock::now();
  cache.insert("k", b.bytes(), t0);
  std::string out;
  ASSERT_TRUE(cache.lookup("k", t0 + std::chrono::seconds(10), out));
  auto m = testing::decode(out);
  ASSERT_EQ(m.answer.size(), 1u);
  EXPECT_EQ(m.answer[0].ttl, 50u);
  EXPECT_FALSE(cache.lookup("k", t0 + std::chrono::seconds(61), out));
}

TEST_F(ServerTest, NewSnapshotIsServedAtOnceAndServfailBeforeFirst) {
  SnapshotSlot empty;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.udpThreads = 1;
  Server unsynced(options, *authority_, empty, nullptr);
  ASSERT_TRUE(unsynced.start());
  std::string bound = unsynced.boundAddress();
  std::string port = bound.substr(bound.rfind(':') + 1);
  EXPECT_THAT(run("dig @127.0.0.1 -p " + port + " +tries=1 web.default.svc.cluster.local"),
              HasSubstr("status: SERVFAIL"));
  EXPECT_THAT(run("dig @127.0.0.1 -p " + port + " +tries=1 example.org"),
              HasSubstr("status: REFUSED"));  // no upstreams
  unsynced.stop();

  EXPECT_THAT(dig("new.default.svc.cluster.local"), HasSubstr("status: NXDOMAIN"));
  auto svc = api::Json::parse(
      R"({"kind":"Service","metadata":{"name":"new","namespace":"default"},"spec":{"clusterIP":"10.96.0.99"}})");
  objects_.services.push_back(std::make_shared<const api::Json>(svc));
  slot_.publish(compileZone(config_, objects_));
  EXPECT_EQ(dig("new.default.svc.cluster.local +short"), "10.96.0.99\n");
}

// IPv4 answers leave with DF set (IP_PMTUDISC_DO); one bigger than the
// MTU must still reach the client, fragmented, as without DF. Run in a
// network namespace of our own whose loopback has an MTU of 1280.
TEST(Server, AnswersBiggerThanTheMtuAreFragmentedNotLost) {
  std::string skip;
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      skip = "no network namespace (needs root)";
      return;
    }
    int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    request.ifr_mtu = 1280;
    ASSERT_EQ(::ioctl(control, SIOCSIFMTU, &request), 0);
    ASSERT_EQ(::ioctl(control, SIOCGIFFLAGS, &request), 0);
    request.ifr_flags |= IFF_UP;
    ASSERT_EQ(::ioctl(control, SIOCSIFFLAGS, &request), 0);
    ::close(control);

    std::string yaml =
        "items:\n- {kind: Service, metadata: {name: big, namespace: default}, spec: {clusterIP: "
        "None}}\n- kind: EndpointSlice\n  metadata: {name: big-1, namespace: default, labels: "
        "{kubernetes.io/service-name: big}}\n  addressType: IPv4\n  endpoints:\n";
    for (int i = 1; i <= 150; ++i)
      yaml += "  - {addresses: [10.244.5." + std::to_string(i) + "]}\n";
    ZoneConfig config;
    Authority authority(config);
    SnapshotSlot slot;
    slot.publish(compileZone(config, *parseObjects(yaml)));
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.udpThreads = 1;
    Server server(options, authority, slot, nullptr);
    ASSERT_TRUE(server.start());
    std::string bound = server.boundAddress();

    int client = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(uint16_t(std::stoi(bound.substr(bound.rfind(':') + 1))));
    timeval timeout{3, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    for (const char* name : {"big.default.svc.cluster.local", "big.default.svc.cluster.local",
                             "10-244-5-1.big.default.svc.cluster.local"}) {
      std::string query = testing::makeQuery(name, type::A, true, 4096);
      ::sendto(client, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&address),
               sizeof address);
      std::string reply(4096, '\0');
      ssize_t n = ::recv(client, reply.data(), reply.size(), 0);
      ASSERT_GT(n, 0) << name << ": no answer";
      reply.resize(size_t(n));
      auto m = testing::decode(reply);
      ASSERT_TRUE(m.ok);
      EXPECT_FALSE(m.tc());
      EXPECT_EQ(m.answer.size(), std::string(name).starts_with("big") ? 150u : 1u) << name;
    }
    ::close(client);
    server.stop();
  }).join();
  if (!skip.empty()) GTEST_SKIP() << skip;
}

// With CPU steering (the default) every UDP socket of the group serves the
// CPUs mapped to it: a client on any CPU is answered, also when the thread
// count does not divide the CPU count, and with steering off.
TEST(Server, ClientsOnEveryCpuAreAnsweredWithAndWithoutCpuAffinity) {
  ZoneConfig config;
  Authority authority(config);
  SnapshotSlot slot;
  slot.publish(compileZone(config, *parseObjects(kObjects)));
  cpu_set_t allowed;
  ASSERT_EQ(::sched_getaffinity(0, sizeof allowed, &allowed), 0);
  for (bool affinity : {true, false}) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.udpThreads = 3;
    options.cpuAffinity = affinity;
    Server server(options, authority, slot, nullptr);
    ASSERT_TRUE(server.start());
    std::string bound = server.boundAddress();
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(uint16_t(std::stoi(bound.substr(bound.rfind(':') + 1))));
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &allowed)) continue;
      std::thread([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ASSERT_EQ(::pthread_setaffinity_np(::pthread_self(), sizeof one, &one), 0);
        int client = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        timeval timeout{3, 0};
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        for (int i = 0; i < 20; ++i) {  // several source ports' worth of hashing
          std::string query = testing::makeQuery("web.default.svc.cluster.local", type::A);
          ::sendto(client, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&address),
                   sizeof address);
          std::string reply(512, '\0');
          ssize_t n = ::recv(client, reply.data(), reply.size(), 0);
          ASSERT_GT(n, 0) << "cpu " << cpu << " affinity " << affinity;
          reply.resize(size_t(n));
          EXPECT_THAT(testing::datas(testing::decode(reply).answer),
                      ::testing::ElementsAre("10.96.0.20"));
          if (i % 5 == 4) {  // a new source port
            ::close(client);
            client = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
          }
        }
        ::close(client);
      }).join();
    }
    EXPECT_EQ(server.stats().udpQueries.load(), uint64_t(20 * CPU_COUNT(&allowed)));
    server.stop();
  }
}

TEST(Forwarder, IdenticalQuestionsInFlightShareOneUpstreamQuery) {
  FakeUpstream upstream;
  Forwarder forwarder({*Upstream::parse("127.0.0.1:" + std::to_string(upstream.port()))});
  ASSERT_TRUE(forwarder.start());
  std::string packet = testing::makeQuery("example.org", type::A);
  Query query;
  ASSERT_EQ(parseQuery(reinterpret_cast<const uint8_t*>(packet.data()), packet.size(), query),
            ParseStatus::ok);
  std::atomic<int> answered{0};
  for (int i = 0; i < 5; ++i)
    forwarder.resolve(query, [&](const std::string* answer) {
      if (answer && testing::decode(*answer).answer.size() == 1) ++answered;
    });
  for (int i = 0; i < 200 && answered < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(answered.load(), 5);
  EXPECT_EQ(upstream.udpQueries(), 1);
  forwarder.stop();
  // After stop every caller still hears back (SERVFAIL), never silence.
  bool failed = false;
  forwarder.resolve(query, [&](const std::string* answer) { failed = answer == nullptr; });
  EXPECT_TRUE(failed);
}

TEST_F(ServerTest, ForwardingToOurselvesIsCaughtNotLooped) {
  // A server whose upstream is itself (a resolv.conf naming the cluster DNS).
  uint16_t port = 0;
  {
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t len = sizeof address;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &len);
    port = ntohs(address.sin_port);
    ::close(probe);
  }
  Forwarder self({*Upstream::parse("127.0.0.1:" + std::to_string(port))},
                 ForwarderOptions{std::chrono::milliseconds(2000), 1});
  ASSERT_TRUE(self.start());
  ServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port);
  options.udpThreads = 1;
  Server looped(options, *authority_, slot_, &self);
  ASSERT_TRUE(looped.start());
  auto started = std::chrono::steady_clock::now();
  std::string out =
      run("dig @127.0.0.1 -p " + std::to_string(port) + " +tries=1 +time=3 example.net");
  EXPECT_THAT(out, HasSubstr("status: SERVFAIL"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  EXPECT_EQ(looped.stats().forwarded.load(), 1u);   // only the client's query went upstream
  EXPECT_EQ(looped.stats().udpQueries.load(), 2u);  // and came back once
  self.stop();
  looped.stop();
}

TEST(ResolvConf, NameserversBecomeUpstreams) {
  auto upstreams = upstreamsFromResolvConf(
      "# comment\nsearch default.svc.cluster.local\nnameserver 10.0.0.1\nnameserver ::1\n"
      "nameserver fe80::1%eth0\nnameserverx 1.1.1.1\noptions ndots:5\n");
  ASSERT_EQ(upstreams.size(), 2u);
  EXPECT_EQ(upstreams[0].text, "10.0.0.1:53");
  EXPECT_EQ(upstreams[1].text, "[::1]:53");
  EXPECT_EQ(Upstream::parse("127.0.0.1:5353")->text, "127.0.0.1:5353");
  EXPECT_FALSE(Upstream::parse("127.0.0.1:0"));
  EXPECT_FALSE(Upstream::parse("example.org"));
}

}  // namespace
}  // namespace podnet::dns
