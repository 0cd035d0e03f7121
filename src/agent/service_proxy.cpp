#include "agent/service_proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "api/object.h"
#include "api/resource.h"
#include "client/informer.h"
#include "core/ip.h"
#include "net/conntrack.h"
#include "net/netlink.h"
#include "proxy/netlink_writer.h"
#include "proxy/proxier.h"

namespace podnet::agent {

namespace fs = std::filesystem;

std::string electedNode(const std::string& ip, const std::vector<std::string>& candidates) {
  std::string best;
  uint64_t bestHash = 0;
  for (const auto& node : candidates) {
    uint64_t hash = proxy::fnv1a64(node + "/" + ip);
    if (best.empty() || hash < bestHash || (hash == bestHash && node < best)) {
      best = node;
      bestHash = hash;
    }
  }
  return best;
}

namespace {

bool nodeReady(const api::Json& node) {
  if (!node.contains("status") || !node["status"].contains("conditions")) return false;
  for (const auto& c : node["status"]["conditions"])
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

// healthCheckNodePort listeners: 200 while this node has a local endpoint
// for the Service, 503 otherwise, with kube-proxy's JSON body, so an
// external load balancer only sends to nodes that can serve
// (externalTrafficPolicy Local).
class HealthCheckServer {
 public:
  ~HealthCheckServer() {
    for (auto& [port, l] : listeners_) ::close(l.fd);
  }
  struct Target {
    std::string ns, name;
    int localEndpoints = 0;
  };
  void reconcile(const std::map<int, Target>& wanted) {
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      if (!wanted.count(it->first)) {
        ::close(it->second.fd);
        it = listeners_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [port, target] : wanted) {
      auto it = listeners_.find(port);
      if (it == listeners_.end()) {
        int fd = listen(port);
        if (fd < 0) continue;
        it = listeners_.emplace(port, Listener{fd, target}).first;
      }
      it->second.target = target;
    }
  }
  // Answers what is waiting, for up to `timeoutMs`.
  void serve(int timeoutMs) {
    std::vector<pollfd> fds;
    std::vector<int> ports;
    for (const auto& [port, l] : listeners_) {
      fds.push_back({l.fd, POLLIN, 0});
      ports.push_back(port);
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeoutMs));
      return;
    }
    if (::poll(fds.data(), fds.size(), timeoutMs) <= 0) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int client = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      timeval tv{0, 200000};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char request[1024];
      (void)::recv(client, request, sizeof request, 0);  // any request gets the answer
      const Target& t = listeners_[ports[i]].target;
      std::string body = "{\"service\":{\"namespace\":\"" + t.ns + "\",\"name\":\"" + t.name +
                         "\"},\"localEndpoints\":" + std::to_string(t.localEndpoints) +
                         ",\"serviceProxyHealthy\":true}";
      std::string response =
          std::string("HTTP/1.1 ") + (t.localEndpoints > 0 ? "200 OK" : "503 Service Unavailable") +
          "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

 private:
  struct Listener {
    int fd = -1;
    Target target;
  };
  static int listen(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  std::map<int, Listener> listeners_;
};

}  // namespace

struct ServiceProxy::Impl {
  ServiceProxyConfig config;
  client::Client& client;
  client::SharedInformers& informers;
  std::shared_ptr<proxy::Proxier> proxier;
  std::unique_ptr<net::Netlink> netlink;
  std::atomic<bool> stopping{false};
  std::thread syncThread, maintenanceThread;
  std::set<std::string> announced;  // load balancer addresses on our device
  HealthCheckServer health;

  Impl(ServiceProxyConfig c, client::Client& cl, client::SharedInformers& i)
      : config(std::move(c)), client(cl), informers(i) {}

  void log(const std::string& message) {
    std::fprintf(stderr, "podnet agent %s: proxy: %s\n", config.nodeName.c_str(), message.c_str());
  }

  fs::path announcedFile() const { return fs::path(config.dataDir) / "lb-addresses"; }

  void saveAnnounced() {
    std::ofstream out(announcedFile().string() + ".tmp");
    for (const auto& ip : announced) out << ip << "\n";
    out.close();
    std::error_code ignored;
    fs::rename(announcedFile().string() + ".tmp", announcedFile(), ignored);
  }

  // Adds and removes load balancer addresses so this node holds exactly the
  // ones it is elected for.
  void announce(const std::map<std::string, std::vector<proxy::ServicePort>>& ports) {
    std::vector<std::string> readyNodes;
    for (const auto& node : informers.forResource(api::resource("Node")).list())
      if (nodeReady(*node)) readyNodes.push_back(api::name(*node));
    std::set<std::string> wanted;
    for (const auto& [key, servicePorts] : ports) {
      for (const auto& port : servicePorts) {
        std::vector<std::string> candidates = readyNodes;
        if (port.externalPolicyLocal) {
          // Only nodes that can serve without forwarding (MetalLB does the same).
          std::set<std::string> withEndpoints;
          for (const auto& e : port.endpoints)
            if (e.ready) withEndpoints.insert(e.nodeName);
          std::erase_if(candidates, [&](const std::string& n) { return !withEndpoints.count(n); });
        }
        for (const auto& ip : port.loadBalancerIps)
          if (ip.find(':') == std::string::npos && electedNode(ip, candidates) == config.nodeName)
            wanted.insert(ip);
      }
    }
    bool changed = false;
    for (auto it = announced.begin(); it != announced.end();) {
      if (wanted.count(*it)) {
        ++it;
        continue;
      }
      auto ip = core::IpAddress::parse(*it);
      if (ip) (void)netlink->deleteAddress(config.nodeDevice, *ip, 32, net::IfAbsent::succeed);
      log("stops answering for " + *it);
      it = announced.erase(it);
      changed = true;
    }
    for (const auto& text : wanted) {
      if (announced.count(text)) continue;
      auto ip = core::IpAddress::parse(text);
      if (!ip) continue;
      core::Status added = netlink->addAddress(config.nodeDevice, *ip, 32, net::IfExists::succeed);
      if (!added) {
        log("cannot add " + text + ": " + added.error().message);
        continue;
      }
      log("answers for load balancer address " + text);
      announced.insert(text);
      changed = true;
    }
    if (changed) saveAnnounced();
  }

  void healthChecks(const std::map<std::string, std::vector<proxy::ServicePort>>& ports) {
    std::map<int, HealthCheckServer::Target> wanted;
    for (const auto& [key, servicePorts] : ports) {
      for (const auto& port : servicePorts) {
        if (!port.healthCheckNodePort || !port.externalPolicyLocal) continue;
        auto& target = wanted[port.healthCheckNodePort];
        target.ns = port.ns;
        target.name = port.name;
        int local = 0;
        for (const auto& e : port.endpoints)
          if (e.ready && e.nodeName == config.nodeName) ++local;
        target.localEndpoints = std::max(target.localEndpoints, local);
      }
    }
    health.reconcile(wanted);
  }

  void maintain() {
    auto next = std::chrono::steady_clock::now();
    while (!stopping) {
      if (std::chrono::steady_clock::now() >= next) {
        auto ports = proxier->servicePorts();
        announce(ports);
        healthChecks(ports);
        std::vector<net::UdpFlowFilter> filters;
        for (const auto& flow : proxier->takeStaleUdpFlows())
          filters.push_back({flow.serviceIp, flow.port, flow.endpointIp});
        if (!filters.empty()) {
          auto deleted = net::deleteUdpFlows(filters);
          if (!deleted) log("conntrack: " + deleted.error().message);
        }
        next = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
      }
      health.serve(50);
    }
  }

  core::Status start() {
    auto opened = net::Netlink::open();
    if (!opened) return opened.takeError();
    netlink = std::make_unique<net::Netlink>(std::move(*opened));
    auto writer = proxy::NetlinkWriter::open();
    if (!writer) return writer.takeError();
    proxy::ProxierConfig pc;
    pc.nodeName = config.nodeName;
    pc.clusterCidrs = {config.clusterCidr};
    pc.onSyncError = [this](const core::Error& e) {
      log("sync failed, retrying in full: " + e.message);
    };
    proxier = std::make_shared<proxy::Proxier>(
        pc, std::make_shared<proxy::NetlinkWriter>(std::move(*writer)));
    // Addresses announced before a restart are ours to keep or remove.
    std::ifstream in(announcedFile());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) announced.insert(line);

    // The proxier keeps its own compact form of each (service_port.h).
    auto p = proxier;
    informers.forResource(api::resource("Service"))
        .addHandlers({[p](const api::Json& o) { p->serviceChanged(o); },
                      [p](const api::Json&, const api::Json& o) { p->serviceChanged(o); },
                      [p](const api::Json& o) { p->serviceDeleted(o); }});
    informers.forResource(api::resource("EndpointSlice"))
        .addHandlers({[p](const api::Json& o) { p->sliceChanged(o); },
                      [p](const api::Json&, const api::Json& o) { p->sliceChanged(o); },
                      [p](const api::Json& o) { p->sliceDeleted(o); }});
    informers.forResource(api::resource("Node"));
    syncThread = std::thread([this] {
      // The first transaction replaces the table: wait until it can be
      // complete, so an agent restart never drops a Service's rules.
      while (!stopping && !informers.waitForSync(std::chrono::milliseconds(200))) {
      }
      if (stopping) return;
      log("informers synced; programming Services");
      proxier->markReady();
      proxier->run(stopping);
    });
    maintenanceThread = std::thread([this] {
      while (!stopping && !informers.waitForSync(std::chrono::milliseconds(200))) {
      }
      maintain();
    });
    return core::Ok{};
  }

  void stop() {
    stopping = true;
    proxier->wake();
    if (syncThread.joinable()) syncThread.join();
    if (maintenanceThread.joinable()) maintenanceThread.join();
  }
};

ServiceProxy::ServiceProxy(ServiceProxyConfig config, client::Client& client,
                           client::SharedInformers& informers)
    : impl_(std::make_unique<Impl>(std::move(config), client, informers)) {}

ServiceProxy::~ServiceProxy() {
  if (impl_->syncThread.joinable() || impl_->maintenanceThread.joinable()) impl_->stop();
}

core::Status ServiceProxy::start() { return impl_->start(); }
void ServiceProxy::stop() { impl_->stop(); }

void ServiceProxy::writeMetrics(metrics::Writer& out) const {
  if (impl_->proxier) impl_->proxier->writeMetrics(out);
}

}  // namespace podnet::agent
