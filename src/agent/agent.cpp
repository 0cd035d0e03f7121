#include "agent/agent.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "agent/data_dir.h"
#include "agent/local_volumes.h"
#include "agent/network_policy.h"
#include "agent/pod_runtime.h"
#include "agent/service_proxy.h"
#include "api/object.h"
#include "api/resource.h"
#include "client/transforms.h"
#include "core/files.h"
#include "core/version.h"
#include "metrics/exposition_server.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "nodeapi/node_api.h"
#include "trace/node_tracer.h"

namespace podnet::agent {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using api::Json;
using api::stringAt;

namespace {

std::string readFile(const fs::path& path) { return core::readFile(path.string()); }

// An IPv4 address of this namespace and its device: `wanted` if given, else
// the first one that is not loopback or one of podnet's own devices. Both
// empty when there is none.
std::pair<std::string, std::string> findIpv4(const std::string& wanted) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::pair<std::string, std::string> found;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    std::string name = entry->ifa_name;
    auto* address = reinterpret_cast<sockaddr_in*>(entry->ifa_addr);
    std::string ip = core::IpAddress::fromV4(ntohl(address->sin_addr.s_addr)).toString();
    bool match = wanted.empty() ? !(entry->ifa_flags & IFF_LOOPBACK) && name != "cni0" &&
                                      name.rfind("podnet", 0) != 0
                                : ip == wanted;
    if (match) {
      found = {ip, name};
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

struct Agent::Impl {
  AgentConfig config;
  std::shared_ptr<client::Client> client;
  std::string nodeIp, nodeDevice;
  std::string podCidr;
  std::unique_ptr<net::Netlink> netlink;
  std::unique_ptr<NodeNetworkApplier> nodeNetwork;
  std::unique_ptr<client::SharedInformers> informers;  // shared by the parts below
  std::unique_ptr<LocalVolumes> localVolumes;
  std::unique_ptr<ServiceProxy> serviceProxy;
  std::unique_ptr<NetworkPolicy> networkPolicy;
  std::unique_ptr<PodRuntime> podRuntime;
  std::shared_ptr<trace::NodeTracer> tracer;
  std::unique_ptr<nodeapi::NodeApiServer> nodeApi;
  std::optional<NodeNetworkProgram> appliedProgram;
  Clock::time_point lastHeartbeat{};
  Clock::time_point lastNodeSync{};

  const api::ResourceInfo& nodes() { return api::resource("Node"); }

  void log(const std::string& message) {
    std::fprintf(stderr, "podnet agent %s: %s\n", config.nodeName.c_str(), message.c_str());
  }

  // ---- node registration -------------------------------------------------

  Json nodeStatus(const Json& previous) {
    long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
    std::string memory = std::to_string(pages * pageSize / 1024) + "Ki";
    std::string cpu = std::to_string(std::max(1U, std::thread::hardware_concurrency()));
    std::string now = api::nowRfc3339();
    std::string transition = now;
    if (previous.is_object() && previous.contains("conditions") &&
        previous["conditions"].is_array())
      for (const Json& condition : previous["conditions"])
        if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True")
          transition = condition.value("lastTransitionTime", now);
    Json resources = {{"cpu", cpu}, {"memory", memory}, {"pods", "110"}};
    char hostname[256] = {};
    gethostname(hostname, sizeof(hostname) - 1);
    std::string kernel = readFile("/proc/sys/kernel/osrelease");
    if (!kernel.empty() && kernel.back() == '\n') kernel.pop_back();
    return {{"addresses", Json::array({{{"type", "InternalIP"}, {"address", nodeIp}},
                                       {{"type", "Hostname"}, {"address", config.nodeName}}})},
            {"capacity", resources},
            {"allocatable", resources},
            {"conditions", Json::array({{{"type", "Ready"},
                                         {"status", "True"},
                                         {"reason", "KubeletReady"},
                                         {"message", "podnet agent is posting ready status"},
                                         {"lastHeartbeatTime", now},
                                         {"lastTransitionTime", transition}}})},
            {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", config.nodeApiPort}}}}},
            {"nodeInfo",
             {{"machineID", ""},
              {"systemUUID", ""},
              {"bootID", ""},
              {"kernelVersion", kernel},
              {"osImage", "podnet node"},
              {"containerRuntimeVersion", "podnet://0.1.0"},
              {"kubeletVersion", core::kKubernetesVersion},
              {"kubeProxyVersion", core::kKubernetesVersion},
              {"operatingSystem", "linux"},
              {"architecture", "amd64"}}}};
  }

  core::Result<Json> registerNode() {
    auto existing = client->get(nodes(), "", config.nodeName);
    if (!existing) {
      if (existing.error().code != 404) return existing.takeError();
      Json labels = {{"kubernetes.io/hostname", config.nodeName},
                     {"kubernetes.io/os", "linux"},
                     {"kubernetes.io/arch", "amd64"}};
      Json node = {{"apiVersion", "v1"},
                   {"kind", "Node"},
                   {"metadata", {{"name", config.nodeName}, {"labels", labels}}},
                   {"spec", Json::object()},
                   {"status", nodeStatus(Json())}};
      auto created = client->create(nodes(), "", node);
      if (!created && created.error().code != 409) return created.takeError();
      existing = client->get(nodes(), "", config.nodeName);
      if (!existing) return existing.takeError();
    }
    return heartbeat(*existing);
  }

  core::Result<Json> heartbeat(Json node) {
    node["status"] = nodeStatus(node.value("status", Json::object()));
    client::WriteOptions options;
    options.subresource = "status";
    auto updated = client->update(nodes(), "", node, options);
    if (updated) lastHeartbeat = Clock::now();
    return updated;
  }

  // ---- pods' network ----------------------------------------------------

  uint32_t podMtu() {
    uint32_t mtu = underlyingMtu();
    return config.overlay == OverlayMode::vxlan ? mtu - 50 : mtu;
  }

  // Through netlink: /sys/class/net shows the namespace sysfs was mounted in,
  // which need not be ours.
  uint32_t underlyingMtu() {
    auto links = netlink->listLinks();
    if (links)
      for (const net::LinkInfo& link : *links)
        if (link.name == nodeDevice && link.mtu > 0) return link.mtu;
    return 1500;
  }

  // ---- node network --------------------------------------------------------

  void syncNodeNetwork() {
    auto list = client->list(nodes(), "");
    if (!list) return;
    LocalNode local;
    local.name = config.nodeName;
    local.nodeIp = *core::IpAddress::parse(nodeIp);
    local.podCidr = *core::Cidr::parse(podCidr);
    local.underlyingDevice = nodeDevice;
    local.underlyingMtu = underlyingMtu();
    local.mode = config.overlay;
    if (auto cidr = core::Cidr::parse(config.clusterCidr)) local.unreachableCidrs.push_back(*cidr);
    if (auto cidr = core::Cidr::parse(config.serviceCidr)) local.serviceCidrs.push_back(*cidr);
    std::vector<RemoteNode> remotes;
    for (const Json& node : (*list)["items"]) {
      std::string name = api::name(node);
      if (name == config.nodeName) continue;
      std::string cidrText = node.contains("spec") ? stringAt(node["spec"], "podCIDR") : "";
      std::string ip;
      if (node.contains("status") && node["status"].contains("addresses"))
        for (const Json& address : node["status"]["addresses"])
          if (address.value("type", "") == "InternalIP") ip = address.value("address", "");
      auto cidr = core::Cidr::parse(cidrText);
      auto address = core::IpAddress::parse(ip);
      if (!cidr || !address) continue;
      remotes.push_back({name, *address, *cidr, std::nullopt});
    }
    auto program = compileNodeNetwork(local, remotes);
    if (!program) {
      log("node network: " + program.error().message);
      return;
    }
    if (appliedProgram && *appliedProgram == *program) return;
    core::Status applied = nodeNetwork->sync(*program);
    if (!applied) {
      log("node network: " + applied.error().message);
      appliedProgram.reset();
      return;
    }
    appliedProgram = *program;
  }

  core::Status startNodeApi() {
    nodeapi::NodeApiOptions options;
    options.host = nodeIp;
    options.port = config.nodeApiPort;
    options.certPem = readFile(config.tlsCertFile);
    options.keyPem = readFile(config.tlsKeyFile);
    options.clientCaPem = readFile(config.clientCaFile);
    if (options.certPem.empty() || options.keyPem.empty())
      return core::badRequest("cannot read " + config.tlsCertFile + " and " + config.tlsKeyFile);
    if (options.clientCaPem.empty())
      return core::badRequest("--client-ca-file is required with --tls-cert-file");
    // `podnet trace`'s per-node part; a killed agent's trace tables go first.
    trace::NodeTracer::removeLeftovers();
    tracer = std::make_shared<trace::NodeTracer>(podRuntime->directory());
    options.handlers["trace"] = [tracer = tracer](const nodeapi::PlainRequest& request) {
      return tracer->handle(request);
    };
    nodeApi = std::make_unique<nodeapi::NodeApiServer>(podRuntime->directory(), options);
    core::Status started = nodeApi->start();
    if (started) log("node API on https://" + nodeIp + ":" + std::to_string(nodeApi->port()));
    return started;
  }

  int run(const std::atomic<bool>& stop) {
    if (config.selfBinary.empty()) config.selfBinary = fs::read_symlink("/proc/self/exe").string();
    std::tie(nodeIp, nodeDevice) = findIpv4(config.nodeIp);
    if (nodeIp.empty() || nodeDevice.empty()) {
      log("no node IP: pass --node-ip, an IPv4 address of this network namespace");
      return 1;
    }
    // Private whatever the umask we were started with (pods' own files get
    // the modes they ask for explicitly; containers run with umask 022).
    ::umask(077);
    auto privacy = core::makePrivateDataDir(config.dataDir, &isPodFacing);
    if (!privacy) {
      log(privacy.error().message);
      return 1;
    }
    if (!privacy->empty()) log(*privacy);
    if (auto made = core::makePrivateDirectories((fs::path(config.dataDir) / "pods").string());
        !made) {
      log(made.error().message);
      return 1;
    }
    auto opened = net::Netlink::open();
    if (!opened) {
      log("netlink: " + opened.error().message);
      return 1;
    }
    netlink = std::make_unique<net::Netlink>(std::move(*opened));
    nodeNetwork = std::make_unique<NodeNetworkApplier>(*netlink);
    net::writeSysctl("net/ipv4/ip_forward", "1");

    // Register, then wait for the podCIDR the control plane assigns.
    Json node;
    while (!stop) {
      auto registered = registerNode();
      if (registered) {
        node = *registered;
        podCidr = node.contains("spec") ? stringAt(node["spec"], "podCIDR") : "";
        if (!podCidr.empty()) break;
        auto fresh = client->get(nodes(), "", config.nodeName);
        if (fresh && (*fresh).contains("spec")) podCidr = stringAt((*fresh)["spec"], "podCIDR");
        if (!podCidr.empty()) break;
      } else {
        log("register node: " + registered.error().message);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (stop) return 0;
    log("node " + nodeIp + " on " + nodeDevice + ", podCIDR " + podCidr);
    Json cni = {{"cniVersion", "1.1.0"},
                {"name", "podnet"},
                {"type", "podnet-cni"},
                {"bridge", config.bridge},
                {"isGateway", true},
                {"isDefaultGateway", true},
                {"hairpinMode", true},
                {"mtu", podMtu()},
                {"ipam", {{"type", "host-local"}, {"subnet", podCidr}}}};
    // For podnet-cni run by hand (the agent passes the config itself).
    if (auto written = core::writeFileAtomically((fs::path(config.dataDir) / "cni.conf").string(),
                                                 cni.dump(2));
        !written)
      log(written.error().message);
    informers = std::make_unique<client::SharedInformers>(*client);
    // Services and EndpointSlices are only read here (the proxy, service
    // links, the trace): cache what routes, not whole objects, and keep it
    // encoded (the proxy holds its own compact form; issue 21).
    informers->forResource(api::resource("Service"), client::keepServiceRouting, true);
    informers->forResource(api::resource("EndpointSlice"), client::keepEndpointSliceRouting, true);
    podRuntime = std::make_unique<PodRuntime>(
        PodRuntimeConfig{config.nodeName, nodeIp, config.dataDir, config.clusterDns,
                         config.clusterDomain, config.selfBinary, cni.dump(), config.backoffInitial,
                         config.backoffMax},
        *client, *informers);
    podRuntime->adopt();
    localVolumes =
        std::make_unique<LocalVolumes>(config.nodeName, config.dataDir, *client, *informers);
    if (config.serviceProxy) {
      serviceProxy = std::make_unique<ServiceProxy>(
          ServiceProxyConfig{config.nodeName, nodeDevice, config.clusterCidr, config.dataDir},
          *client, *informers);
      core::Status started = serviceProxy->start();
      if (!started) {
        log("service proxy: " + started.error().message);
        return 1;
      }
    }
    if (config.networkPolicy) {
      networkPolicy = std::make_unique<NetworkPolicy>(
          NetworkPolicyConfig{config.nodeName, config.dataDir, config.nflogGroup}, *client,
          *informers);
      core::Status started = networkPolicy->start();
      if (!started) {
        log("network policy: " + started.error().message);
        return 1;
      }
    }
    informers->start();
    metrics::Registry registry;
    registry.collect([this](metrics::Writer& out) {
      if (serviceProxy) serviceProxy->writeMetrics(out);
      if (networkPolicy) networkPolicy->writeMetrics(out);
      podRuntime->writeMetrics(out);
    });
    metrics::ExpositionServer exposition(registry);
    if (!config.metricsBindAddress.empty()) {
      if (auto listening = exposition.start(config.metricsBindAddress); listening)
        log("metrics on http://" + config.metricsBindAddress + "/metrics");
      else
        log("no metrics: " + listening.error().message);  // as kube-proxy: not fatal
    }
    if (!config.tlsCertFile.empty()) {
      core::Status served = startNodeApi();
      if (!served) {
        log("node API: " + served.error().message);
        return 1;
      }
    } else {
      log("no --tls-cert-file: not serving the node API (logs, exec, attach, port-forward)");
    }

    while (!stop) {
      auto started = Clock::now();
      if (started - lastNodeSync > std::chrono::seconds(1)) {
        syncNodeNetwork();
        lastNodeSync = started;
      }
      localVolumes->sync();
      podRuntime->sync();
      if (Clock::now() - lastHeartbeat > config.heartbeatPeriod) {
        auto fresh = client->get(nodes(), "", config.nodeName);
        if (fresh)
          heartbeat(*fresh);
        else if (fresh.error().code == 404)
          registerNode();
      }
      std::this_thread::sleep_until(started + config.syncPeriod);
    }
    // Pods keep running: a restarted agent adopts them. The nftables rules
    // stay too, so Services keep working until the next agent syncs.
    exposition.stop();
    if (nodeApi) nodeApi->stop();
    if (serviceProxy) serviceProxy->stop();
    if (networkPolicy) networkPolicy->stop();
    informers->stop();
    return 0;
  }
};

Agent::Agent(AgentConfig config, std::shared_ptr<client::Client> client)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->client = std::move(client);
}
Agent::~Agent() = default;
int Agent::run(const std::atomic<bool>& stop) { return impl_->run(stop); }

}  // namespace podnet::agent
