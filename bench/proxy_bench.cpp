// The service proxy's control plane and data plane. Root only; prints one JSON
// document.
//
// Usage: sudo build/bench/proxy_bench [--services 1000,10000,30000]
//                                     [--endpoints 4] [--updates 50]
//                                     [--latency-services 10,10000]
//                                     [--iterations 2000] [--quick]
//                                     [--writers podnet,nft-text-one-table]
//                                     [--services-per-table 1000]
//   --quick = --services 1000,10000 --updates 20 --iterations 300
//
// Everything happens in throwaway network namespaces "ppb-<pid>-...", removed
// at the end (also on error): the host's ruleset is never touched.
//
// Control plane, for each N: N ClusterIP Services with E endpoints each go
// through a Proxier whose writer is opened in the "node" namespace, for each
// writer side by side:
//   podnet              netlink batches (libnftnl), Services spread over
//                       tables of --services-per-table (the agent's writer)
//   nft-text-one-table  nft text through libnftables into one table: how
//                       kube-proxy's nftables mode (knftables) programs it
//   netlink-one-table   netlink batches into one table (to separate the two
//                       effects)
// Figures:
//   full_sync_ms          the first sync (every table in one transaction)
//   update_ms p50/p99     one Service's endpoints replaced, then sync()
//   scale_ms p50/p99      one Service gains an endpoint, then sync()
//   add_ms / delete_ms    one Service added / deleted, then sync()
// and the same through a RulesetWriter that only records ("compile_*": the
// pure compile + diff cost, no kernel), plus the number of kernel rules.
//
// Data plane: client netns -> node netns (the proxy's rules, ip_forward on in
// that netns only) -> server netns. Each iteration opens a TCP connection,
// sends a request and reads the answer, alternately straight to the pod IP
// and through the ClusterIP, so drift hits both alike; p50/p99 in µs, with
// the given numbers of (other) Services programmed (podnet's writer).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "net/netns.h"
#include "net/nftables.h"
#include "proxy/netlink_writer.h"
#include "proxy/nftables_writer.h"
#include "proxy/proxier.h"

namespace {

using podnet::proxy::Json;
using Clock = std::chrono::steady_clock;

std::string prefixed(const std::string& suffix) {
  return "ppb-" + std::to_string(getpid()) + "-" + suffix;
}

class Namespaces {
 public:
  ~Namespaces() {
    for (const auto& name : names_) (void)podnet::net::deleteNamedNetns(name);
  }
  const podnet::net::NetnsHandle& make(const std::string& suffix) {
    std::string name = prefixed(suffix);
    (void)podnet::net::deleteNamedNetns(name);
    auto handle = podnet::net::createNamedNetns(name);
    if (!handle) throw std::runtime_error("netns " + name + ": " + handle.error().message);
    names_.push_back(name);
    return handles_.emplace(suffix, std::move(*handle)).first->second;
  }
  const podnet::net::NetnsHandle& operator[](const std::string& s) const { return handles_.at(s); }

 private:
  std::vector<std::string> names_;
  std::map<std::string, podnet::net::NetnsHandle> handles_;
};

void ip(const std::string& args) {
  std::string command = "ip " + args + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("ip " + args + " failed");
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
  return v[i];
}

std::string ipv4(uint32_t base, uint32_t offset) {
  uint32_t a = base + offset;
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}
constexpr uint32_t kServiceBase = (10u << 24) | (96u << 16);    // 10.96.0.0/12
constexpr uint32_t kEndpointBase = (10u << 24) | (200u << 16);  // fake pods, never reached

std::shared_ptr<const Json> service(const std::string& name, const std::string& clusterIp) {
  return std::make_shared<const Json>(Json{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"name", name}, {"namespace", "bench"}}},
      {"spec",
       {{"clusterIP", clusterIp},
        {"clusterIPs", {clusterIp}},
        {"ports", {{{"name", "p"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}}}}}});
}

std::shared_ptr<const Json> slice(const std::string& name, const std::vector<std::string>& ips) {
  Json endpoints = Json::array();
  for (const auto& ip : ips)
    endpoints.push_back({{"addresses", {ip}},
                         {"nodeName", "node-2"},
                         {"conditions", {{"ready", true}, {"serving", true}}}});
  return std::make_shared<const Json>(
      Json{{"metadata",
            {{"name", name + "-abc"},
             {"namespace", "bench"},
             {"labels", {{"kubernetes.io/service-name", name}}}}},
           {"addressType", "IPv4"},
           {"endpoints", std::move(endpoints)},
           {"ports", Json::array({{{"name", "p"}, {"port", 8080}, {"protocol", "TCP"}}})}});
}

std::vector<std::string> endpointsOf(size_t service, size_t count, uint32_t generation = 0) {
  std::vector<std::string> ips;
  for (size_t j = 0; j < count; ++j)
    ips.push_back(ipv4(kEndpointBase, uint32_t(service * count + j) + generation * 0x100000u));
  return ips;
}

class RecordingWriter : public podnet::proxy::RulesetWriter {
 public:
  podnet::core::Status apply(const std::vector<podnet::proxy::Transaction>& changes) override {
    rules = 0;
    for (const auto& tx : changes) rules += tx.rules.size();
    return podnet::core::Ok{};
  }
  podnet::core::Status replace(const podnet::proxy::Replacement&) override {
    return podnet::core::Ok{};
  }
  size_t rules = 0;
};

void check(const podnet::core::Status& s, const char* what) {
  if (!s) throw std::runtime_error(std::string(what) + ": " + s.error().message);
}

// How a proxy writes to the kernel: podnet's (netlink batches, Services
// spread over tables of `servicesPerTable`), or the reference (nft text
// through libnftables into one table, as knftables-driven kube-proxy does).
struct Writer {
  std::string name;
  bool netlink = true;
  size_t servicesPerTable = 1000;
};

std::shared_ptr<podnet::proxy::RulesetWriter> kernelWriter(const podnet::net::NetnsHandle& node,
                                                           const Writer& kind) {
  if (kind.netlink) {
    auto w = podnet::net::runInNetns(node, [] { return podnet::proxy::NetlinkWriter::open(); });
    if (!w) throw std::runtime_error("netlink writer: " + w.error().message);
    return std::make_shared<podnet::proxy::NetlinkWriter>(std::move(*w));
  }
  auto nft = podnet::net::runInNetns(node, [] { return podnet::net::Nftables::open(); });
  if (!nft) throw std::runtime_error("nftables: " + nft.error().message);
  return std::make_shared<podnet::proxy::NftablesWriter>(std::move(*nft));
}

std::unique_ptr<podnet::proxy::Proxier> makeProxier(
    std::shared_ptr<podnet::proxy::RulesetWriter> writer, size_t servicesPerTable) {
  podnet::proxy::ProxierConfig config;
  config.nodeName = "node-1";
  config.clusterCidrs = {"10.244.0.0/16"};
  config.servicesPerTable = servicesPerTable;
  return std::make_unique<podnet::proxy::Proxier>(config, std::move(writer));
}

void addServices(podnet::proxy::Proxier& p, size_t n, size_t endpoints, size_t first = 0) {
  for (size_t i = first; i < first + n; ++i) {
    std::string name = "svc-" + std::to_string(i);
    p.serviceChanged(service(name, ipv4(kServiceBase, uint32_t(i) + 1000)));
    p.sliceChanged(slice(name, endpointsOf(i, endpoints)));
  }
}

struct ControlFigures {
  double fullSyncMs = 0, updateP50 = 0, updateP99 = 0, scaleP50 = 0, scaleP99 = 0, addMs = 0,
         deleteMs = 0;
  size_t fullRules = 0, updateRules = 0, tables = 0;
};

ControlFigures measureControl(std::shared_ptr<podnet::proxy::RulesetWriter> writer, size_t n,
                              size_t endpoints, size_t updates, size_t servicesPerTable) {
  ControlFigures f;
  auto p = makeProxier(writer, servicesPerTable);
  addServices(*p, n, endpoints);
  auto t0 = Clock::now();
  check(p->sync(), "full sync");
  f.fullSyncMs = ms(Clock::now() - t0);
  f.fullRules = p->lastSync().fullRules;
  f.tables = p->lastSync().tables;
  // One Service's endpoints replaced (a rollout step), and one Service
  // scaled by one endpoint (its random choice changes size).
  std::vector<double> times, scales;
  for (size_t u = 0; u < updates; ++u) {
    size_t which = (u * 7919) % n;
    std::string name = "svc-" + std::to_string(which);
    p->sliceChanged(slice(name, endpointsOf(which, endpoints, uint32_t(u % 2 + 1))));
    auto t = Clock::now();
    check(p->sync(), "update");
    times.push_back(ms(Clock::now() - t));
    f.updateRules = p->lastSync().rulesWritten;
    size_t other = (u * 7919 + 4001) % n;
    std::string otherName = "svc-" + std::to_string(other);
    p->sliceChanged(slice(otherName, endpointsOf(other, endpoints + 1 + u % 2)));
    auto ts = Clock::now();
    check(p->sync(), "scale");
    scales.push_back(ms(Clock::now() - ts));
  }
  f.updateP50 = percentile(times, 50);
  f.updateP99 = percentile(times, 99);
  f.scaleP50 = percentile(scales, 50);
  f.scaleP99 = percentile(scales, 99);
  addServices(*p, 1, endpoints, n);
  auto ta = Clock::now();
  check(p->sync(), "add");
  f.addMs = ms(Clock::now() - ta);
  p->serviceDeleted(*service("svc-" + std::to_string(n), "0.0.0.0"));
  auto td = Clock::now();
  check(p->sync(), "delete");
  f.deleteMs = ms(Clock::now() - td);
  return f;
}

// ---------------------------------------------------------------------------
// Data plane.

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

int socketIn(const podnet::net::NetnsHandle& ns) {
  auto fd = podnet::net::runInNetnsOnThisThread(ns.fd(), []() -> podnet::core::Result<int> {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return podnet::core::internal(std::string("socket: ") + strerror(errno));
    return fd;
  });
  if (!fd) throw std::runtime_error(fd.error().message);
  return *fd;
}

class Server {
 public:
  explicit Server(const podnet::net::NetnsHandle& ns) {
    fd_ = socketIn(ns);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in any = address("0.0.0.0", 8080);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(fd_, 128) != 0)
      throw std::runtime_error("server bind/listen");
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        char buf[64];
        if (recv(c, buf, sizeof buf, 0) > 0) (void)send(c, "pong", 4, MSG_NOSIGNAL);
        close(c);
      }
    });
  }
  ~Server() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One connection + request/response; returns µs, or -1 on failure.
double request(const podnet::net::NetnsHandle& client, const std::string& ip, int port) {
  int fd = socketIn(client);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in to = address(ip, port);
  auto t = Clock::now();
  double result = -1;
  char buf[16];
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
      send(fd, "ping", 4, MSG_NOSIGNAL) == 4 && recv(fd, buf, sizeof buf, 0) == 4)
    result = us(Clock::now() - t);
  close(fd);
  return result;
}

struct LatencyFigures {
  size_t services = 0;
  double directP50 = 0, directP99 = 0, clusterP50 = 0, clusterP99 = 0;
  size_t failures = 0;
};

LatencyFigures measureLatency(Namespaces& ns, size_t services, size_t iterations) {
  LatencyFigures f;
  f.services = services;
  auto p = makeProxier(kernelWriter(ns["node"], Writer{"podnet"}), 1000);
  addServices(*p, services, 4);
  p->serviceChanged(service("target", "10.96.0.10"));
  p->sliceChanged(slice("target", {"10.244.1.2"}));
  check(p->sync(), "latency sync");
  std::vector<double> direct, cluster;
  for (size_t i = 0; i < iterations + 20; ++i) {
    double d = request(ns["client"], "10.244.1.2", 8080);
    double c = request(ns["client"], "10.96.0.10", 80);
    if (i < 20) continue;  // warm-up (ARP, caches)
    if (d < 0 || c < 0) {
      ++f.failures;
      continue;
    }
    direct.push_back(d);
    cluster.push_back(c);
  }
  f.directP50 = percentile(direct, 50);
  f.directP99 = percentile(direct, 99);
  f.clusterP50 = percentile(cluster, 50);
  f.clusterP99 = percentile(cluster, 99);
  return f;
}

std::vector<size_t> parseList(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Output piped into something that stops reading (`| head`) must not kill
  // us before the namespaces are removed: writes fail instead.
  signal(SIGPIPE, SIG_IGN);
  std::vector<size_t> counts = {1000, 10000, 30000};
  std::vector<size_t> latencyCounts = {10, 10000};
  size_t endpoints = 4, updates = 50, iterations = 2000, servicesPerTable = 1000;
  std::string writerList = "podnet,nft-text-one-table";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--services")
        counts = parseList(next());
      else if (a == "--latency-services")
        latencyCounts = parseList(next());
      else if (a == "--endpoints")
        endpoints = std::stoul(next());
      else if (a == "--updates")
        updates = std::stoul(next());
      else if (a == "--iterations")
        iterations = std::stoul(next());
      else if (a == "--services-per-table")
        servicesPerTable = std::stoul(next());
      else if (a == "--writers")
        writerList = next();
      else if (a == "--quick") {
        counts = {1000, 10000};
        updates = 20;
        iterations = 300;
      } else {
        std::fprintf(stderr, "unknown argument %s (see the top of bench/proxy_bench.cpp)\n",
                     a.c_str());
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "bad value for %s\n", a.c_str());
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "proxy_bench needs root (network namespaces, nftables)\n");
    return 1;
  }
  if (updates == 0 || endpoints == 0) {
    std::fprintf(stderr, "--updates and --endpoints must be positive\n");
    return 2;
  }
  std::vector<Writer> writers;
  for (std::stringstream in(writerList); in.good();) {
    std::string name;
    std::getline(in, name, ',');
    if (name == "podnet")
      writers.push_back(Writer{name, true, servicesPerTable});
    else if (name == "nft-text-one-table")
      writers.push_back(Writer{name, false, SIZE_MAX / 2});
    else if (name == "netlink-one-table")
      writers.push_back(Writer{name, true, SIZE_MAX / 2});
    else {
      std::fprintf(stderr, "unknown writer %s\n", name.c_str());
      return 2;
    }
  }
  try {
    Namespaces ns;
    ns.make("node");
    std::string out = "{\n  \"endpoints_per_service\": " + std::to_string(endpoints) +
                      ",\n  \"updates\": " + std::to_string(updates) + ",\n  \"control_plane\": [";
    char line[1024];
    bool first = true;
    for (size_t n : counts) {
      auto recorder = std::make_shared<RecordingWriter>();
      ControlFigures c = measureControl(recorder, n, endpoints, updates, servicesPerTable);
      for (const Writer& w : writers) {
        ControlFigures k =
            measureControl(kernelWriter(ns["node"], w), n, endpoints, updates, w.servicesPerTable);
        std::snprintf(
            line, sizeof line,
            "%s\n    {\"writer\": \"%s\", \"services\": %zu, \"tables\": %zu, "
            "\"full_sync_ms\": %.1f, \"update_p50_ms\": %.2f, \"update_p99_ms\": %.2f, "
            "\"scale_p50_ms\": %.2f, \"scale_p99_ms\": %.2f, \"add_ms\": %.2f, "
            "\"delete_ms\": %.2f, \"compile_full_ms\": %.1f, \"compile_update_p50_ms\": %.3f, "
            "\"compile_update_p99_ms\": %.3f, \"full_rules\": %zu, "
            "\"update_rules\": %zu}",
            first ? "" : ",", w.name.c_str(), n, k.tables, k.fullSyncMs, k.updateP50, k.updateP99,
            k.scaleP50, k.scaleP99, k.addMs, k.deleteMs, c.fullSyncMs, c.updateP50, c.updateP99,
            c.fullRules, c.updateRules);
        out += line;
        first = false;
        std::fprintf(stderr, "control plane at %zu Services, %s: done\n", n, w.name.c_str());
      }
    }
    out += "\n  ],\n  \"data_plane\": [";
    ns.make("client");
    ns.make("srv");
    for (auto [leg, subnet] : {std::pair{"client", "10.244.9"}, std::pair{"srv", "10.244.1"}}) {
      std::string node = prefixed("node"), peer = prefixed(leg);
      ip("-n " + node + " link add n-" + leg + " type veth peer name eth0 netns " + peer);
      ip("-n " + node + " addr add " + subnet + ".1/24 dev n-" + leg);
      ip("-n " + node + " link set n-" + std::string(leg) + " up");
      ip("-n " + peer + " addr add " + subnet + ".2/24 dev eth0");
      ip("-n " + peer + " link set eth0 up");
      ip("-n " + peer + " link set lo up");
      ip("-n " + peer + " route add default via " + subnet + ".1");
    }
    check(podnet::net::writeSysctlIn(ns["node"], "net/ipv4/ip_forward", "1"), "ip_forward");
    Server server(ns["srv"]);
    first = true;
    for (size_t n : latencyCounts) {
      LatencyFigures l = measureLatency(ns, n, iterations);
      std::snprintf(line, sizeof line,
                    "%s\n    {\"services\": %zu, \"iterations\": %zu, \"direct_p50_us\": %.1f, "
                    "\"direct_p99_us\": %.1f, \"clusterip_p50_us\": %.1f, "
                    "\"clusterip_p99_us\": %.1f, \"clusterip_over_direct_p50\": %.3f, "
                    "\"failures\": %zu}",
                    first ? "" : ",", n, iterations, l.directP50, l.directP99, l.clusterP50,
                    l.clusterP99, l.directP50 > 0 ? l.clusterP50 / l.directP50 : 0.0, l.failures);
      out += line;
      first = false;
      std::fprintf(stderr, "data plane at %zu Services done\n", n);
    }
    out += "\n  ]\n}\n";
    std::fputs(out.c_str(), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
