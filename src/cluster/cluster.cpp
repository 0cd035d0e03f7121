#include "cluster/cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api/object.h"
#include "api/resource.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "core/files.h"
#include "core/socket_address.h"
#include "encryption/encryption_config.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "pki/certificates.h"
#include "runtime/container_process.h"

namespace podnet::cluster {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// What `up` creates, recorded in DATA/cluster.json so `down` removes exactly it.
constexpr const char* kBridge = "podnet0";
constexpr const char* kStateFile = "cluster.json";

struct UpOptions {
  int nodes = 3;
  std::string overlay = "host-gw";
  std::string dataDir = "data";
  std::string nodeSubnet = "172.30.0";  // /24: .1 the host bridge, .11.. the nodes
  std::string clusterCidr = "10.244.0.0/16";
  std::string serviceCidr = "10.96.0.0/12";
  std::string manifests = "examples";
  // The Store on a 3-member etcd under DATA/etcd instead of SQLite, and
  // this many API servers on it (172.30.0.1, .2, ... on the bridge).
  bool etcd = false;
  int servers = 1;
  bool quiet = false;  // -q: no progress lines, only the summary
  // The servers' EncryptionConfiguration; "" = a fresh secretbox key for
  // Secrets, generated into DATA/server.
  std::string encryptionProviderConfig;
};

constexpr const char* kEtcdBinary = "/usr/bin/etcd";
constexpr int kEtcdMembers = 3;

// Whether etcd on 127.0.0.1:`port` answers /health with a leader.
bool etcdHealthy(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const char request[] = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, request, sizeof request - 1) == ssize_t(sizeof request - 1)) {
      char buffer[1024];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, size_t(n));
    }
  }
  ::close(fd);
  return reply.find("\"health\":\"true\"") != std::string::npos;
}

// The data directory of API server `index` (1-based): DATA/server for the
// first, whose kubeconfig and CA everything else uses, DATA/server-N after.
std::string serverDirName(int index) {
  return index == 1 ? "server" : "server-" + std::to_string(index);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A zombie is not alive: a daemon `up` started is reparented when `up`
// exits, and its exit shows only as state Z until init reaps it.
bool pidAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

std::string selfBinary() { return fs::read_symlink("/proc/self/exe").string(); }

// Starts `argv` in the background (own session, output to `logPath`), in the
// network namespace `netnsPath` when given (setns only: the mount namespace
// stays the host's, so the named netns the agent creates are visible).
pid_t spawnDaemon(const std::vector<std::string>& argv, const std::string& logPath,
                  const std::string& netnsPath) {
  int netnsFd = -1;
  if (!netnsPath.empty()) netnsFd = ::open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    if (netnsFd >= 0 && ::setns(netnsFd, CLONE_NEWNET) != 0) _exit(126);
    int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
  if (netnsFd >= 0) ::close(netnsFd);
  return pid;
}

// SIGTERM, up to `grace`, then SIGKILL; reaps it when it is our child.
void stopProcess(pid_t pid, std::chrono::milliseconds grace) {
  if (!pidAlive(pid)) return;
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    ::waitpid(pid, nullptr, WNOHANG);
    if (!pidAlive(pid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, WNOHANG);
}

// Every sandbox.json under DATA/nodes/*/pods/*.
std::vector<std::pair<fs::path, Json>> sandboxes(const fs::path& dataDir) {
  std::vector<std::pair<fs::path, Json>> out;
  std::error_code error;
  for (const auto& node : fs::directory_iterator(dataDir / "nodes", error)) {
    std::error_code inner;
    for (const auto& pod : fs::directory_iterator(node.path() / "pods", inner)) {
      Json state = Json::parse(readFile(pod.path() / "sandbox.json"), nullptr, false);
      if (state.is_object()) out.emplace_back(pod.path(), state);
    }
  }
  return out;
}

core::Status hostRoute(net::Netlink& netlink, const std::string& dst, const std::string& via,
                       net::RouteType type) {
  net::Route route;
  route.dst = *core::Cidr::parse(dst);
  route.type = type;
  if (!via.empty()) {
    route.gateway = core::IpAddress::parse(via);
    route.device = kBridge;
  }
  return netlink.replaceRoute(route);
}

int usageError(const char* command, const std::string& message) {
  std::fprintf(stderr, "podnet %s: %s\n", command, message.c_str());
  return 2;
}

bool parseUp(const std::vector<std::string>& args, UpOptions& options) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--etcd") {  // flags without a value
      options.etcd = true;
      continue;
    }
    if (args[i] == "-q" || args[i] == "--quiet") {
      options.quiet = true;
      continue;
    }
    std::string flag = args[i], value;
    if (size_t equals = flag.find('='); equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      usageError("up", flag + " needs a value");
      return false;
    }
    if (flag == "--nodes") {
      options.nodes = std::atoi(value.c_str());
      if (options.nodes < 1 || options.nodes > 50) {
        usageError("up", "--nodes must be between 1 and 50");
        return false;
      }
    } else if (flag == "--overlay" && (value == "vxlan" || value == "host-gw")) {
      options.overlay = value;
    } else if (flag == "--data-dir") {
      options.dataDir = value;
    } else if (flag == "--manifests") {
      options.manifests = value;
    } else if (flag == "--encryption-provider-config") {
      if (::access(value.c_str(), R_OK) != 0) {
        usageError("up", "--encryption-provider-config " + value + ": cannot read it");
        return false;
      }
      options.encryptionProviderConfig = fs::absolute(value).string();
    } else if (flag == "--servers") {
      options.servers = std::atoi(value.c_str());
      if (options.servers < 1 || options.servers > 3) {
        usageError("up", "--servers must be between 1 and 3");
        return false;
      }
    } else {
      usageError(
          "up",
          "unknown or invalid flag " + flag +
              "\nusage: podnet up [--nodes N] [--overlay vxlan|host-gw] [--data-dir DIR] "
              "[--manifests DIR] [--etcd [--servers N]] [--encryption-provider-config FILE] [-q]");
      return false;
    }
  }
  if (options.servers > 1 && !options.etcd) {
    usageError("up",
               "--servers needs --etcd: several API servers share one etcd (SQLite serves one)");
    return false;
  }
  if (options.etcd && ::access(kEtcdBinary, X_OK) != 0) {
    usageError("up", "--etcd needs etcd-server (apt-get install etcd-server)");
    return false;
  }
  return true;
}

std::string dataDirFlag(std::vector<std::string>& args) {
  std::string dataDir = "data";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data-dir" && i + 1 < args.size()) {
      dataDir = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      break;
    }
    if (args[i].rfind("--data-dir=", 0) == 0) {
      dataDir = args[i].substr(11);
      args.erase(args.begin() + static_cast<long>(i));
      break;
    }
  }
  return dataDir;
}

int down(const fs::path& dataDir, bool quiet);

}  // namespace

// What `podnet up` makes private itself: the data dir, its logs, state file,
// kubeconfig and etcd members; each node's directory is its agent's to
// tighten (it knows which files are its pods').
bool isNodeContent(std::string_view relative) {
  if (relative.rfind("nodes/", 0) != 0) return false;
  return relative.find('/', 6) != std::string_view::npos;  // nodes/<name>/...
}

int runUp(const std::vector<std::string>& args) {
  UpOptions options;
  if (!parseUp(args, options)) return 2;
  // Everything up writes and every process it starts (server, agents,
  // etcd) keeps state private whatever the caller's umask.
  ::umask(077);
  fs::path dataDir = fs::absolute(options.dataDir);
  fs::path stateFile = dataDir / kStateFile;
  if (fs::exists(stateFile)) {
    Json state = Json::parse(readFile(stateFile), nullptr, false);
    if (state.is_object() && pidAlive(state.value("serverPid", 0))) {
      std::printf(
          "podnet: a cluster is already running (data %s).\n"
          "  export KUBECONFIG=%s\n  stop it with: podnet down --data-dir %s\n",
          dataDir.c_str(), (dataDir / "server" / "kubeconfig").c_str(), dataDir.c_str());
      return 0;
    }
    down(dataDir, true);  // a previous cluster that died: clean its leftovers first
  }
  std::error_code error;
  auto privacy = core::makePrivateDataDir(dataDir.string(), &isNodeContent);
  if (!privacy) {
    std::fprintf(stderr, "podnet up: %s\n", privacy.error().message.c_str());
    return 1;
  }
  if (!privacy->empty()) std::fprintf(stderr, "podnet up: %s\n", privacy->c_str());
  if (auto made = core::makePrivateDirectories((dataDir / "nodes").string()); !made) {
    std::fprintf(stderr, "podnet up: %s\n", made.error().message.c_str());
    return 1;
  }
  std::string hostIp = options.nodeSubnet + ".1";
  Json state = {{"bridge", kBridge},
                {"hostIp", hostIp},
                {"overlay", options.overlay},
                {"clusterCidr", options.clusterCidr},
                {"serviceCidr", options.serviceCidr},
                {"nodes", Json::array()},
                {"podRoutes", Json::array()}};
  auto save = [&] { std::ofstream(stateFile, std::ios::trunc) << state.dump(2); };
  save();
  // One line per stage as the cluster comes up (stdout; -q: none).
  const auto upStarted = std::chrono::steady_clock::now();
  auto progress = [&](const std::string& stage) {
    if (options.quiet) return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - upStarted).count();
    std::printf("podnet up: %-58s %5.2f s\n", stage.c_str(), seconds);
    std::fflush(stdout);
  };
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "podnet up: %s\n", message.c_str());
    down(dataDir, true);
    return 1;
  };

  // The host bridge the nodes hang off, and the safety routes: a packet to a
  // cluster range never leaves through the default route.
  auto opened = net::Netlink::open();
  if (!opened) return fail("netlink: " + opened.error().message);
  net::Netlink& host = *opened;
  if (auto made = host.createBridge(kBridge); !made && made.error().reason != "AlreadyExists")
    return fail("bridge: " + made.error().message);
  host.addAddress(kBridge, *core::IpAddress::parse(hostIp), 24, net::IfExists::succeed);
  host.setLinkUp(kBridge);
  for (const std::string& range : {options.clusterCidr, options.serviceCidr})
    if (auto added = hostRoute(host, range, "", net::RouteType::unreachable); !added)
      return fail("route " + range + ": " + added.error().message);
  // The host forwards nothing: nodes share the bridge, and host-to-pod traffic
  // is the host's own. (New namespaces copy ip_forward from the host's, so
  // setting it here would also leak into every namespace made afterwards.)

  std::string self = selfBinary();
  // With --etcd: a 3-member etcd on loopback (Debian's etcd-server), the
  // data under DATA/etcd, started together and waited for until it has a
  // leader.
  std::string etcdServers;
  if (options.etcd) {
    std::string initial;
    std::vector<std::pair<int, int>> ports;  // client, peer
    for (int i = 1; i <= kEtcdMembers; ++i) {
      ports.emplace_back(core::freeLoopbackPort(), core::freeLoopbackPort());
      initial += (initial.empty() ? "" : ",") + ("etcd-" + std::to_string(i)) +
                 "=http://127.0.0.1:" + std::to_string(ports.back().second);
      etcdServers += (etcdServers.empty() ? "" : ",") + std::string("http://127.0.0.1:") +
                     std::to_string(ports.back().first);
    }
    state["etcd"] = Json::array();
    for (int i = 1; i <= kEtcdMembers; ++i) {
      std::string name = "etcd-" + std::to_string(i);
      fs::path memberDir = dataDir / "etcd" / name;
      fs::create_directories(memberDir.parent_path(), error);
      ::chmod((dataDir / "etcd").c_str(), 0700);
      std::string client = "http://127.0.0.1:" + std::to_string(ports[size_t(i - 1)].first);
      std::string peer = "http://127.0.0.1:" + std::to_string(ports[size_t(i - 1)].second);
      pid_t pid = spawnDaemon({kEtcdBinary, "--name", name, "--data-dir", memberDir.string(),
                               "--listen-client-urls", client, "--advertise-client-urls", client,
                               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                               "--initial-cluster", initial, "--initial-cluster-state", "new",
                               "--initial-cluster-token", "podnet-" + dataDir.filename().string(),
                               // loopback: a leader is known lost after 0.5 s, not 1 s
                               "--heartbeat-interval", "50", "--election-timeout", "500"},
                              (dataDir / (name + ".log")).string(), "");
      state["etcd"].push_back({{"name", name}, {"pid", pid}, {"clientUrl", client}});
      save();
    }
    bool healthy = false;
    for (int i = 0; i < 300 && !healthy; ++i) {
      healthy = etcdHealthy(ports[0].first);
      if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!healthy)
      return fail("etcd did not elect a leader in 30 s; see " + dataDir.string() + "/etcd-*.log");
  }

  // The control plane, on the bridge address (.1, .2, ... for several API
  // servers) so the nodes reach it. Servers after the first share its CA,
  // admin token and service account key, as kube-apiserver replicas share
  // theirs, and get their own serving certificates.
  // Secrets encrypted at rest by default: a fresh key per cluster, in the
  // first server's private directory, shared by every server.
  std::string encryptionConfig = options.encryptionProviderConfig;
  if (encryptionConfig.empty()) {
    fs::path generated = dataDir / "server" / "encryption-config.yaml";
    std::string yaml = encryption::generateConfig({"secrets"}, "key1");
    if (yaml.empty()) return fail("no random bytes for the encryption key");
    if (auto made = core::makePrivateDirectories((dataDir / "server").string()); !made)
      return fail(made.error().message);
    if (!fs::exists(generated))
      if (auto ok = core::writeFileAtomically(generated.string(), yaml, 0600); !ok)
        return fail(ok.error().message);
    encryptionConfig = generated.string();
  }
  state["servers"] = Json::array();
  std::vector<std::string> serverUrls;
  for (int index = 1; index <= options.servers; ++index) {
    std::string ip = options.nodeSubnet + "." + std::to_string(index);
    fs::path serverDir = dataDir / serverDirName(index);
    if (index > 1) {
      host.addAddress(kBridge, *core::IpAddress::parse(ip), 24, net::IfExists::succeed);
      fs::create_directories(serverDir / "pki", error);
      ::chmod(serverDir.c_str(), 0700);
      ::chmod((serverDir / "pki").c_str(), 0700);
      for (const char* file : {"ca.crt", "ca.key", "admin.token", "sa.key"})
        fs::copy_file(dataDir / "server" / "pki" / file, serverDir / "pki" / file,
                      fs::copy_options::overwrite_existing, error);
    }
    std::vector<std::string> argv = {
        self, "server", "--data-dir", serverDir.string(), "--listen", ip + ":6443",
        "--service-cidr", options.serviceCidr, "--cluster-cidr", options.clusterCidr,
        // LoadBalancer addresses on the bridge's subnet, above the node IPs (.11..)
        "--load-balancer-pool", options.nodeSubnet + ".200-" + options.nodeSubnet + ".250",
        "--encryption-provider-config", encryptionConfig};
    if (options.etcd) {
      argv.push_back("--etcd-servers");
      argv.push_back(etcdServers);
    }
    std::string log = (dataDir / (serverDirName(index) + ".log")).string();
    pid_t pid = spawnDaemon(argv, log, "");
    if (index == 1) state["serverPid"] = pid;
    state["servers"].push_back({{"pid", pid}, {"ip", ip}, {"dir", serverDir.string()}});
    save();
    fs::path written = serverDir / "kubeconfig";
    for (int i = 0; i < 300 && !fs::exists(written); ++i) {
      if (!pidAlive(pid)) return fail("the server exited; see " + log);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!fs::exists(written)) return fail("the server did not start in 30 s; see " + log);
    serverUrls.push_back("https://" + ip + ":6443");
  }
  progress(std::to_string(serverUrls.size()) + " API server" + (serverUrls.size() > 1 ? "s" : "") +
           " up (" + serverUrls.front() + ")");
  fs::path kubeconfig = dataDir / "server" / "kubeconfig";
  if (options.servers > 1) {
    // One kubeconfig for every client: the first server, and the others in
    // podnet's extension, so agents, DNS and ingress move to another server
    // when one goes (kubectl uses the first).
    auto doc = api::decodeYaml(readFile(kubeconfig));
    if (!doc.ok() || !(*doc)["clusters"].is_array() || (*doc)["clusters"].empty())
      return fail("cannot read " + kubeconfig.string());
    Json servers = Json::array();
    for (size_t i = 1; i < serverUrls.size(); ++i) servers.push_back(serverUrls[i]);
    (*doc)["clusters"][0]["cluster"]["extensions"] = Json::array(
        {{{"name", client::kAlternateServersExtension}, {"extension", {{"servers", servers}}}}});
    kubeconfig = dataDir / "kubeconfig";
    if (auto ok = core::writeFileAtomically(kubeconfig.string(), api::encodeYaml(*doc), 0600); !ok)
      return fail(ok.error().message);
  }

  // The nodes: a network namespace each, on the bridge, running its agent.
  for (int i = 1; i <= options.nodes; ++i) {
    std::string name = "node-" + std::to_string(i);
    std::string netns = "podnet-" + name;
    std::string hostVeth = "pnveth" + std::to_string(i);
    std::string nodeIp = options.nodeSubnet + "." + std::to_string(10 + i);
    state["nodes"].push_back(
        {{"name", name}, {"netns", netns}, {"hostVeth", hostVeth}, {"ip", nodeIp}});
    save();
    auto handle = net::createNamedNetns(netns);
    if (!handle) return fail("netns " + netns + ": " + handle.error().message);
    net::VethOptions veth;
    veth.name = hostVeth;
    veth.peerName = "eth0";
    veth.peerNetnsFd = handle->fd();
    if (auto made = host.createVeth(veth); !made) return fail("veth: " + made.error().message);
    host.setMaster(hostVeth, kBridge);
    host.setLinkUp(hostVeth);
    auto inside = net::Netlink::openIn(*handle);
    if (!inside) return fail("netlink in " + netns + ": " + inside.error().message);
    inside->setLinkUp("lo");
    inside->addAddress("eth0", *core::IpAddress::parse(nodeIp), 24);
    inside->setLinkUp("eth0");
    net::Route defaultRoute;
    defaultRoute.dst = *core::Cidr::parse("0.0.0.0/0");
    defaultRoute.gateway = core::IpAddress::parse(hostIp);
    defaultRoute.device = "eth0";
    if (auto added = inside->replaceRoute(defaultRoute); !added)
      return fail("default route in " + netns + ": " + added.error().message);
    // The node API's serving certificate, from the cluster CA (kubelet's
    // --tls-cert-file); the API server verifies it when it proxies logs,
    // exec, attach and port-forward, and the node lets in only clients with
    // a certificate from the same CA.
    fs::path nodeDir = dataDir / "nodes" / name;
    fs::path nodePki = nodeDir / "pki";
    std::error_code ignored;
    fs::create_directories(nodePki, ignored);
    ::chmod(nodePki.c_str(), 0700);
    fs::path caCert = dataDir / "server" / "pki" / "ca.crt";
    pki::Credentials ca{core::readFile(caCert.string()),
                        core::readFile((dataDir / "server" / "pki" / "ca.key").string())};
    if (auto issued = pki::ensureCertificate({.commonName = "system:node:" + name,
                                              .organization = "system:nodes",
                                              .hosts = {name, nodeIp}},
                                             ca, (nodePki / "node.crt").string(),
                                             (nodePki / "node.key").string());
        !issued)
      return fail("certificate of " + name + ": " + issued.error().message);
    pid_t agent =
        spawnDaemon({self,
                     "agent",
                     "--kubeconfig",
                     kubeconfig.string(),
                     "--node-name",
                     name,
                     "--data-dir",
                     nodeDir.string(),
                     "--node-ip",
                     nodeIp,
                     "--overlay",
                     options.overlay,
                     "--cluster-cidr",
                     options.clusterCidr,
                     "--service-cidr",
                     options.serviceCidr,
                     "--tls-cert-file",
                     (nodePki / "node.crt").string(),
                     "--tls-private-key-file",
                     (nodePki / "node.key").string(),
                     "--client-ca-file",
                     caCert.string()},
                    (dataDir / ("agent-" + name + ".log")).string(), net::namedNetnsPath(netns));
    state["nodes"].back()["agentPid"] = agent;
    save();
  }

  // Wait until every node is Ready with a podCIDR; route each podCIDR from
  // the host to its node, so the host reaches pods.
  auto rest = client::loadKubeconfig(kubeconfig.string());
  if (!rest) return fail(rest.error().message);
  auto made = client::RestClient::make(*rest);
  if (!made) return fail(made.error().message);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    auto list = (*made)->list(api::resource("Node"), "");
    int ready = 0;
    Json routes = Json::array();
    if (list) {
      for (const Json& node : (*list)["items"]) {
        bool isReady = false;
        for (const Json& condition : node["status"].value("conditions", Json::array()))
          if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True")
            isReady = true;
        std::string cidr = node["spec"].value("podCIDR", "");
        std::string ip;
        for (const Json& address : node["status"].value("addresses", Json::array()))
          if (address.value("type", "") == "InternalIP") ip = address.value("address", "");
        if (isReady && !cidr.empty() && !ip.empty()) {
          ++ready;
          routes.push_back({{"dst", cidr}, {"via", ip}});
        }
      }
    }
    if (ready >= options.nodes) {
      for (const Json& route : routes)
        hostRoute(host, route["dst"], route["via"], net::RouteType::unicast);
      state["podRoutes"] = routes;
      save();
      progress(std::to_string(options.nodes) + " node" + (options.nodes > 1 ? "s" : "") +
               " Ready (agent metrics: 127.0.0.1:10249 in each)");
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      return fail("nodes not Ready after 60 s; see " + dataDir.string() + "/agent-*.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  // Cluster DNS as in a real cluster: `podnet dns` as a pod in kube-system
  // behind the kube-dns Service (10.96.0.10, what pods' resolv.conf names),
  // reached through the service proxy. No upstream: pods here have no way
  // out of the machine, so names outside the cluster are not forwarded.
  {
    fs::path dnsManifest = dataDir / "server" / "kube-dns.yaml";
    std::ofstream(dnsManifest) << R"(apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, protocol: UDP}
    - {name: dns-tcp, port: 53, protocol: TCP}
    - {name: metrics, port: 9153, protocol: TCP}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      dnsPolicy: Default
      containers:
        - name: dns
          image: podnet/dns
          command: [")" + self + R"(", dns, --kubeconfig, ")" +
                                      kubeconfig.string() +
                                      R"(", --listen, "0.0.0.0:53", --upstream, none]
          ports:
            - {name: dns, containerPort: 53, protocol: UDP}
            - {name: dns-tcp, containerPort: 53, protocol: TCP}
            - {name: metrics, containerPort: 9153, protocol: TCP}
)";
    std::string command = "KUBECONFIG='" + kubeconfig.string() + "' kubectl apply -f '" +
                          dnsManifest.string() + "' >/dev/null";
    if (std::system(command.c_str()) != 0)
      std::fprintf(stderr, "podnet up: could not create the cluster DNS (kube-dns)\n");
  }

  // Ingress as ingress-nginx users expect it: `podnet ingress` as a
  // kube-system Deployment behind a LoadBalancer Service (the pool's last
  // address, so the first LoadBalancer of the user's manifests keeps the
  // first), the IngressClasses podnet (the default) and nginx, both ours,
  // so Ingresses written for ingress-nginx are served unchanged.
  {
    fs::path ingressManifest = dataDir / "server" / "podnet-ingress.yaml";
    std::ofstream(ingressManifest)
        << R"(apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: podnet
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: podnet.io/ingress}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: podnet.io/ingress}
---
apiVersion: v1
kind: Service
metadata:
  name: podnet-ingress
  namespace: kube-system
  labels: {app.kubernetes.io/name: podnet-ingress}
  annotations: {metallb.universe.tf/loadBalancerIPs: ")" +
               options.nodeSubnet + R"(.250"}
spec:
  type: LoadBalancer
  # As ingress-nginx's: clients' addresses reach the proxy unchanged
  # (X-Forwarded-For, source-range annotations).
  externalTrafficPolicy: Local
  selector: {app.kubernetes.io/name: podnet-ingress}
  ports:
    - {name: http, port: 80, targetPort: http, protocol: TCP}
    - {name: https, port: 443, targetPort: https, protocol: TCP}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podnet-ingress
  namespace: kube-system
  labels: {app.kubernetes.io/name: podnet-ingress}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: podnet-ingress}}
  template:
    metadata: {labels: {app.kubernetes.io/name: podnet-ingress}}
    spec:
      containers:
        - name: controller
          image: podnet/ingress
          command: [")" +
               self + R"(", ingress, --kubeconfig, ")" + kubeconfig.string() +
               R"(", --publish-service, kube-system/podnet-ingress, --threads, "2"]
          ports:
            - {name: http, containerPort: 80, protocol: TCP}
            - {name: https, containerPort: 443, protocol: TCP}
            - {name: metrics, containerPort: 10254, protocol: TCP}
          readinessProbe:
            httpGet: {path: /healthz, port: 10254}
            periodSeconds: 1
)";
    std::string command = "KUBECONFIG='" + kubeconfig.string() + "' kubectl apply -f '" +
                          ingressManifest.string() + "' >/dev/null";
    if (std::system(command.c_str()) != 0)
      std::fprintf(stderr, "podnet up: could not create the ingress controller\n");
  }

  progress("system pods: kube-dns (:9153), podnet-ingress (:10254)");
  if (!options.manifests.empty() && fs::is_directory(options.manifests)) {
    std::string command = "KUBECONFIG='" + kubeconfig.string() + "' kubectl apply -f '" +
                          options.manifests + "'" + (options.quiet ? " >/dev/null" : "");
    if (std::system(command.c_str()) != 0)
      std::fprintf(stderr, "podnet up: kubectl apply -f %s failed\n", options.manifests.c_str());
    else
      progress("manifests applied from " + options.manifests);
  }
  std::printf(
      "\npodnet: a cluster of %d nodes (%s) is up.\n"
      "  export KUBECONFIG=%s\n"
      "  kubectl get nodes -o wide\n"
      "  kubectl get pods -o wide\n"
      "  podnet exec POD -- curl -s http://<another pod IP>:<port>/clientip\n"
      "  Ingresses (classes podnet, nginx) are served at %s.250 (HTTP and HTTPS)\n"
      "  Gateways (class podnet) once the Gateway API CRDs are applied (docs/gateway-api.md)\n"
      "  metrics (Prometheus text): kubectl get --raw /metrics (API server);\n"
      "    ip netns exec podnet-node-1 curl 127.0.0.1:10249/metrics (agent, kube-proxy's names);\n"
      "    from pods: 10.96.0.10:9153 (DNS, CoreDNS's names), podnet-ingress pod :10254\n"
      "  podnet down%s            stops it and removes everything it created\n",
      options.nodes, options.overlay.c_str(), kubeconfig.c_str(), options.nodeSubnet.c_str(),
      options.dataDir == "data" ? "" : (" --data-dir " + options.dataDir).c_str());
  return 0;
}

namespace {

int down(const fs::path& dataDir, bool quiet) {
  fs::path stateFile = dataDir / kStateFile;
  Json state = Json::parse(readFile(stateFile), nullptr, false);
  if (!state.is_object()) {
    if (!quiet) std::printf("podnet: no cluster in %s\n", dataDir.c_str());
    return 0;
  }
  // Agents first, so nothing restarts what is stopped next.
  for (const Json& node : state.value("nodes", Json::array()))
    stopProcess(node.value("agentPid", 0), std::chrono::seconds(5));
  for (const auto& [dir, sandbox] : sandboxes(dataDir)) {
    for (const Json& container : sandbox.value("containers", Json::array())) {
      // The program (and its process group), then its shim.
      for (auto [pidKey, startKey] :
           {std::pair{"containerPid", "containerStart"}, {"pid", "procStart"}}) {
        pid_t pid = container.value(pidKey, 0);
        if (pid > 0 && runtime::processStartTime(pid) == container.value(startKey, 0ULL)) {
          ::kill(-pid, SIGKILL);
          ::kill(pid, SIGKILL);
        }
      }
    }
    net::deleteNamedNetns(sandbox.value("netns", ""));
  }
  // Deleting a node's namespace removes everything in it (bridge, vxlan,
  // veths) and the host end of its veth.
  for (const Json& node : state.value("nodes", Json::array())) {
    net::deleteNamedNetns(node.value("netns", ""));
  }
  stopProcess(state.value("serverPid", 0), std::chrono::seconds(5));
  for (const Json& server : state.value("servers", Json::array()))
    if (server.value("pid", 0) != state.value("serverPid", 0))  // stopped just above
      stopProcess(server.value("pid", 0), std::chrono::seconds(5));
  for (const Json& member : state.value("etcd", Json::array()))
    stopProcess(member.value("pid", 0), std::chrono::seconds(5));
  if (auto host = net::Netlink::open()) {
    for (const Json& node : state.value("nodes", Json::array()))
      host->deleteLink(node.value("hostVeth", ""), net::IfAbsent::succeed);
    host->deleteLink(state.value("bridge", kBridge), net::IfAbsent::succeed);  // its routes go too
    for (const char* key : {"clusterCidr", "serviceCidr"}) {
      auto cidr = core::Cidr::parse(state.value(key, ""));
      if (!cidr) continue;
      net::Route route;
      route.dst = *cidr;
      route.type = net::RouteType::unreachable;
      host->deleteRoute(route, net::IfAbsent::succeed);
    }
  }
  std::error_code error;
  fs::remove_all(dataDir / "nodes", error);
  fs::remove_all(dataDir / "server", error);
  for (int index = 2; index <= 3; ++index) fs::remove_all(dataDir / serverDirName(index), error);
  fs::remove_all(dataDir / "etcd", error);
  fs::remove(dataDir / "kubeconfig", error);
  for (const auto& entry : fs::directory_iterator(dataDir, error))
    if (entry.path().extension() == ".log") fs::remove(entry.path(), error);
  fs::remove(stateFile, error);
  fs::remove(dataDir, error);  // only if empty
  if (!quiet) std::printf("podnet: cluster stopped; nothing left behind.\n");
  return 0;
}

}  // namespace

int runDown(const std::vector<std::string>& args) {
  std::vector<std::string> rest = args;
  fs::path dataDir = fs::absolute(dataDirFlag(rest));
  if (!rest.empty()) return usageError("down", "usage: podnet down [--data-dir DIR]");
  return down(dataDir, false);
}

int runExec(const std::vector<std::string>& args) {
  std::vector<std::string> rest = args;
  fs::path dataDir = fs::absolute(dataDirFlag(rest));
  std::string ns = "default", pod, container;
  std::vector<std::string> command;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == "--") {
      command.assign(rest.begin() + static_cast<long>(i) + 1, rest.end());
      break;
    }
    if ((rest[i] == "-n" || rest[i] == "--namespace") && i + 1 < rest.size()) {
      ns = rest[++i];
    } else if ((rest[i] == "-c" || rest[i] == "--container") && i + 1 < rest.size()) {
      container = rest[++i];
    } else if (pod.empty() && rest[i][0] != '-') {
      pod = rest[i];
    } else {
      return usageError("exec", "unexpected argument " + rest[i]);
    }
  }
  if (pod.empty() || command.empty())
    return usageError("exec",
                      "usage: podnet exec [--data-dir DIR] [-n NS] POD [-c CONTAINER] -- CMD...");
  for (const auto& [dir, sandbox] : sandboxes(dataDir)) {
    if (sandbox.value("namespace", "") != ns || sandbox.value("name", "") != pod) continue;
    runtime::ProcessSpec spec;
    spec.argv = command;
    const char* term = std::getenv("TERM");
    spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=" + pod,
                "HOME=/root",
                "POD_NAME=" + pod,
                "POD_NAMESPACE=" + ns,
                "POD_IP=" + sandbox.value("podIP", ""),
                std::string("TERM=") + (term ? term : "xterm")};
    spec.netnsPath = net::namedNetnsPath(sandbox.value("netns", ""));
    spec.resolvConfPath = (dir / "resolv.conf").string();
    spec.hostsPath = (dir / "hosts").string();
    spec.hostname = pod;
    spec.newSession = false;
    spec.keepStdin = true;
    auto started = runtime::spawnInPod(spec);
    if (!started) {
      std::fprintf(stderr, "podnet exec: %s\n", started.error().message.c_str());
      return 126;
    }
    int status = 0;
    while (::waitpid(*started, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }
  std::fprintf(stderr, "podnet exec: pod %s/%s is not running on this machine's cluster (%s)\n",
               ns.c_str(), pod.c_str(), dataDir.c_str());
  return 1;
}

}  // namespace podnet::cluster
