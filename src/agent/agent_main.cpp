#include "agent/agent_main.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "agent/agent.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "core/flags.h"
#include "core/heap.h"

namespace podnet::agent {

namespace {

std::atomic<bool> stopRequested{false};
std::atomic<int> stopSignal{0};

void onSignal(int number) {
  stopSignal = number;
  stopRequested = true;
}

// SIGTERM ends the agent within 2 s whatever it is doing: a request to an
// API server that does not answer can block for its whole timeout, and
// nothing the agent would still do on the way out matters to the node
// (pods and the nftables rules stay, and a new agent adopts them; every
// state file is written by rename).
constexpr auto kStopGrace = std::chrono::milliseconds(1500);

void exitIfStopTakesTooLong() {
  while (!stopRequested) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(kStopGrace);
  std::fprintf(stderr, "podnet agent: stopped by signal %d (without waiting for %s)\n",
               stopSignal.load(), "requests in flight");
  std::fflush(stderr);
  std::_Exit(0);
}

constexpr const char* kUsage =
    "usage: podnet agent --kubeconfig FILE --node-name NAME --data-dir DIR [flags]\n"
    "  --node-ip IP            this node's InternalIP (default: the first IPv4 address here)\n"
    "  --overlay MODE          host-gw (default) or vxlan\n"
    "  --cluster-cidr CIDR     default 10.244.0.0/16\n"
    "  --service-cidr CIDR     default 10.96.0.0/12\n"
    "  --cluster-dns IP        default 10.96.0.10\n"
    "  --network-policy on|off enforce NetworkPolicies (default on)\n"
    "  --nflog-group N         where the kernel logs denied connections (default 4201)\n"
    "  --tls-cert-file F       serving certificate of the node API (logs, exec, attach,\n"
    "                          port-forward); without it the node API is off\n"
    "  --tls-private-key-file F  its key\n"
    "  --client-ca-file F      the CA whose client certificates the node API accepts\n"
    "  --port N                the node API's port (default 10250)\n"
    "  --metrics-bind-address ADDR:PORT\n"
    "                          /metrics (kube-proxy's metric names) and /healthz, default\n"
    "                          127.0.0.1:10249 as kube-proxy ('' for none)\n";

}  // namespace

int runAgentMain(const std::vector<std::string>& args) {
  core::tuneHeapForBursts(2);
  AgentConfig config;
  std::string kubeconfig;
  core::Flags flags = core::splitFlags(args);
  if (flags.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.missingValue.empty()) {
    std::fprintf(stderr, "podnet agent: %s needs a value\n%s", flags.missingValue.c_str(), kUsage);
    return 2;
  }
  for (const auto& [flag, value] : flags.values) {
    if (flag == "--kubeconfig")
      kubeconfig = value;
    else if (flag == "--node-name")
      config.nodeName = value;
    else if (flag == "--data-dir")
      config.dataDir = value;
    else if (flag == "--node-ip")
      config.nodeIp = value;
    else if (flag == "--cluster-cidr")
      config.clusterCidr = value;
    else if (flag == "--service-cidr")
      config.serviceCidr = value;
    else if (flag == "--cluster-dns")
      config.clusterDns = value;
    else if (flag == "--network-policy" && (value == "on" || value == "off"))
      config.networkPolicy = value == "on";
    else if (flag == "--nflog-group" && !value.empty() && value.size() <= 5 &&
             value.find_first_not_of("0123456789") == std::string::npos &&
             std::stoul(value) <= 65535)
      config.nflogGroup = static_cast<uint16_t>(std::stoul(value));
    else if (flag == "--tls-cert-file")
      config.tlsCertFile = value;
    else if (flag == "--tls-private-key-file")
      config.tlsKeyFile = value;
    else if (flag == "--client-ca-file")
      config.clientCaFile = value;
    else if (long port = 0;
             flag == "--port" && core::parseWholeNumber(value, port) && port > 0 && port <= 65535)
      config.nodeApiPort = static_cast<uint16_t>(port);
    else if (flag == "--metrics-bind-address")
      config.metricsBindAddress = value;
    else if (flag == "--overlay" && (value == "vxlan" || value == "host-gw"))
      config.overlay = value == "vxlan" ? OverlayMode::vxlan : OverlayMode::hostGw;
    else {
      std::fprintf(stderr, "podnet agent: unknown or invalid flag %s\n%s", flag.c_str(), kUsage);
      return 2;
    }
  }
  if (kubeconfig.empty() || config.nodeName.empty() || config.dataDir.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto rest = client::loadKubeconfig(kubeconfig);
  if (!rest) {
    std::fprintf(stderr, "podnet agent: %s\n", rest.error().message.c_str());
    return 1;
  }
  rest->userAgent = "podnet/agent";
  auto made = client::RestClient::make(*rest);
  if (!made) {
    std::fprintf(stderr, "podnet agent: %s\n", made.error().message.c_str());
    return 1;
  }
  std::shared_ptr<client::Client> apiClient(std::move(*made));
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A daemon: a hang-up (a terminal going away) is no reason to stop.
  signal(SIGHUP, SIG_IGN);
  std::thread(exitIfStopTakesTooLong).detach();
  Agent agent(std::move(config), apiClient);
  int code = agent.run(stopRequested);
  if (stopSignal != 0)
    std::fprintf(stderr, "podnet agent: stopped by signal %d\n", stopSignal.load());
  return code;
}

}  // namespace podnet::agent
