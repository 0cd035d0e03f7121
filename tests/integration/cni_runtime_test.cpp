// The built podnet binary as a CNI plugin under runtime conditions (root
// only). ChainWithPortmapAndBandwidth executes a conflist
// [podnet-cni, portmap, bandwidth] the way libcni does (each plugin exec'ed
// with CNI_* environment and its config on stdin, `prevResult` threaded
// through, capabilities turned into runtimeConfig, ADD in order, DEL in
// reverse with the cached result). Everything runs inside throwaway network
// namespaces "pcr-<pid>-...": the "node" namespace plays the host (the plugins
// run in it through `ip netns exec`, so iptables rules, the bridge and the ifb
// device never touch the real host), and a "pod" namespace is the sandbox.
// RAII guards remove the namespaces and temp dirs also when a test fails.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

extern char** environ;

// The dedicated plugin executable (CMake defines it); `podnet` run under the
// name podnet-cni is the same plugin.
#ifndef PODNET_CNI_BINARY
#define PODNET_CNI_BINARY PODNET_BINARY
#endif

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

struct ProcessResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

// Runs argv with exactly `env` (or the inherited environment when empty),
// feeding `input` on stdin; collects stdout and stderr.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         const std::string& input = "", bool inheritEnv = true) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return {};
  std::vector<std::string> envStrings;
  if (inheritEnv)
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      if (!env.count(entry.substr(0, entry.find('=')))) envStrings.push_back(entry);
    }
  for (const auto& [key, value] : env) envStrings.push_back(key + "=" + value);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : envStrings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  (void)!write(in[1], input.data(), input.size());
  close(in[1]);
  ProcessResult result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (auto& fd : fds) {
      if (fd.fd < 0 || !(fd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      ssize_t n = read(fd.fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fd.fd);
        fd.fd = -1;
        --open;
      } else {
        (fd.fd == out[0] ? result.out : result.err).append(buffer, size_t(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProcessResult sh(const std::string& command) { return runProcess({"/bin/sh", "-c", command}); }

class NetnsGuard {
 public:
  void track(const std::string& name) { names_.push_back(name); }
  ~NetnsGuard() {
    for (const auto& name : names_) runProcess({"ip", "netns", "delete", name});
  }

 private:
  std::vector<std::string> names_;
};

class TempDir {
 public:
  TempDir() {
    char dirTemplate[] = "/tmp/pcr-XXXXXX";
    if (mkdtemp(dirTemplate)) path_ = dirTemplate;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Executes a conflist like libcni (CNI spec 1.0 "Execution of Network
// Configuration Lists").
class ChainRunner {
 public:
  ChainRunner(Json conflist, std::string node, std::string cniPath, Json runtimeConfig)
      : list_(std::move(conflist)),
        node_(std::move(node)),
        cniPath_(std::move(cniPath)),
        runtimeConfig_(std::move(runtimeConfig)) {}

  Json pluginConfig(const Json& plugin, const Json& prevResult) const {
    Json config = plugin;
    config["cniVersion"] = list_["cniVersion"];
    config["name"] = list_["name"];
    if (!prevResult.is_null()) config["prevResult"] = prevResult;
    if (plugin.contains("capabilities")) {
      Json runtime = Json::object();
      for (const auto& [capability, enabled] : plugin["capabilities"].items())
        if (enabled == true && runtimeConfig_.contains(capability))
          runtime[capability] = runtimeConfig_[capability];
      if (!runtime.empty()) config["runtimeConfig"] = runtime;
    }
    return config;
  }

  ProcessResult exec(const std::string& command, const Json& plugin, const Json& prevResult,
                     const std::map<std::string, std::string>& invocation) {
    std::map<std::string, std::string> env = invocation;
    env["CNI_COMMAND"] = command;
    env["CNI_PATH"] = cniPath_;
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
    // Find the plugin in CNI_PATH as libcni does.
    std::string binary;
    std::string dirs = cniPath_;
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      fs::path candidate =
          fs::path(dirs.substr(start, end - start)) / plugin["type"].get<std::string>();
      if (binary.empty() && access(candidate.c_str(), X_OK) == 0) binary = candidate;
      start = end + 1;
    }
    if (binary.empty()) return {127, "", "plugin not found: " + plugin["type"].dump()};
    return runProcess({"ip", "netns", "exec", node_, binary}, env,
                      pluginConfig(plugin, prevResult).dump(), /*inheritEnv=*/false);
  }

  // Returns the final result, or null with `error` set.
  Json add(const std::map<std::string, std::string>& invocation, std::string& error) {
    Json prev;
    for (const auto& plugin : list_["plugins"]) {
      ProcessResult run = exec("ADD", plugin, prev, invocation);
      if (run.exitCode != 0) {
        error = plugin["type"].get<std::string>() + " ADD exit " + std::to_string(run.exitCode) +
                ": " + run.out + run.err;
        return nullptr;
      }
      Json result = Json::parse(run.out, nullptr, false);
      if (result.is_discarded() || !result.is_object()) {
        error = plugin["type"].get<std::string>() + " ADD printed no result: " + run.out;
        return nullptr;
      }
      prev = result;
    }
    return prev;
  }

  bool del(const std::map<std::string, std::string>& invocation, const Json& cached,
           std::string& error) {
    const auto& plugins = list_["plugins"];
    for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
      ProcessResult run = exec("DEL", *it, cached, invocation);
      if (run.exitCode != 0) {
        error = (*it)["type"].get<std::string>() + " DEL exit " + std::to_string(run.exitCode) +
                ": " + run.out + run.err;
        return false;
      }
    }
    return true;
  }

  bool check(const std::map<std::string, std::string>& invocation, const Json& cached,
             std::string& error, const std::string& skipType = "") {
    for (const auto& plugin : list_["plugins"]) {
      if (plugin["type"] == skipType) continue;
      ProcessResult run = exec("CHECK", plugin, cached, invocation);
      if (run.exitCode != 0) {
        error = plugin["type"].get<std::string>() + " CHECK exit " + std::to_string(run.exitCode) +
                ": " + run.out + run.err;
        return false;
      }
    }
    return true;
  }

 private:
  Json list_;
  std::string node_;
  std::string cniPath_;
  Json runtimeConfig_;
};

class CniRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    for (const char* tool : {"/usr/lib/cni/portmap", "/usr/lib/cni/bandwidth"})
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
    if (sh("command -v ip && command -v iptables && command -v tc").exitCode != 0)
      GTEST_SKIP() << "needs ip, iptables and tc";
    prefix_ = "pcr-" + std::to_string(getpid()) + "-";
    node_ = prefix_ + "node";
    pod_ = prefix_ + "pod";
    for (const auto& name : {node_, pod_}) {
      guard_.track(name);
      auto created = runProcess({"ip", "netns", "add", name});
      ASSERT_EQ(created.exitCode, 0) << created.err;
    }
    ASSERT_FALSE(dir_.path().empty());
    binDir_ = dir_.path() / "bin";
    fs::create_directories(binDir_);
    fs::create_symlink(PODNET_CNI_BINARY, binDir_ / "podnet-cni");
    subnetOctet_ = std::to_string(getpid() % 250 + 1);
  }

  ProcessResult inNode(const std::string& command) {
    return runProcess({"ip", "netns", "exec", node_, "/bin/sh", "-c", command});
  }

  std::string prefix_, node_, pod_;
  NetnsGuard guard_;
  TempDir dir_;
  fs::path binDir_;
  std::string subnetOctet_;
};

TEST_F(CniRuntimeTest, ChainWithPortmapAndBandwidth) {
  const std::string subnet = "10.250." + subnetOctet_ + ".0/24";
  const std::string gateway = "10.250." + subnetOctet_ + ".1";
  const std::string bridge = "pcrbr" + std::to_string(getpid() % 100000);
  Json conflist = {
      {"cniVersion", "1.0.0"},
      {"name", "pcr-chain"},
      {"plugins",
       {{{"type", "podnet-cni"},
         {"bridge", bridge},
         {"isGateway", true},
         {"isDefaultGateway", true},
         {"ipam",
          {{"type", "host-local"},
           {"subnet", subnet},
           {"dataDir", (dir_.path() / "ipam").string()}}}},
        {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}},
        {{"type", "bandwidth"},
         {"ingressRate", 8000000},
         {"ingressBurst", 1000000},
         {"egressRate", 8000000},
         {"egressBurst", 1000000}}}}};
  Json runtimeConfig = {
      {"portMappings", {{{"hostPort", 18080}, {"containerPort", 80}, {"protocol", "tcp"}}}}};
  ChainRunner runner(conflist, node_, binDir_.string() + ":/usr/lib/cni", runtimeConfig);
  const std::string netnsPath = "/run/netns/" + pod_;
  const std::string containerId = "pcr-ctr-" + std::to_string(getpid());
  std::map<std::string, std::string> invocation{
      {"CNI_CONTAINERID", containerId}, {"CNI_NETNS", netnsPath}, {"CNI_IFNAME", "eth0"}};

  std::string error;
  Json result = runner.add(invocation, error);
  ASSERT_FALSE(result.is_null()) << error;
  // The final result is ours passed on by portmap and extended by bandwidth.
  EXPECT_EQ(result["cniVersion"], "1.0.0");
  ASSERT_TRUE(result["ips"].is_array());
  ASSERT_EQ(result["ips"].size(), 1u) << result.dump();
  const std::string cidr = result["ips"][0]["address"];
  const std::string podIp = cidr.substr(0, cidr.find('/'));
  EXPECT_EQ(podIp.rfind("10.250." + subnetOctet_ + ".", 0), 0u) << cidr;
  // Ours (bridge, host veth, pod eth0) plus the ifb device bandwidth appends.
  ASSERT_EQ(result["interfaces"].size(), 4u) << result.dump();
  EXPECT_EQ(result["interfaces"][3]["name"].get<std::string>().rfind("bwp", 0), 0u);
  EXPECT_EQ(result["interfaces"][0]["name"], bridge);
  const std::string hostVeth = result["interfaces"][1]["name"];
  EXPECT_EQ(result["interfaces"][2]["sandbox"], netnsPath);
  EXPECT_TRUE(fs::exists(dir_.path() / "ipam" / "pcr-chain" / podIp));

  // The pod reaches the gateway over the bridge, and the node reaches the pod.
  auto ping = runProcess(
      {"ip", "netns", "exec", pod_, "/bin/busybox", "ping", "-c", "1", "-W", "3", gateway});
  EXPECT_EQ(ping.exitCode, 0) << ping.out << ping.err;
  auto pingPod = inNode("/bin/busybox ping -c 1 -W 3 " + podIp);
  EXPECT_EQ(pingPod.exitCode, 0) << pingPod.out << pingPod.err;

  // portmap: a DNAT chain for this container with our port and pod address.
  auto nat = inNode("iptables -t nat -S");
  ASSERT_EQ(nat.exitCode, 0) << nat.err;
  EXPECT_NE(nat.out.find("CNI-HOSTPORT-DNAT"), std::string::npos) << nat.out;
  EXPECT_NE(nat.out.find("--dport 18080"), std::string::npos) << nat.out;
  EXPECT_NE(nat.out.find(podIp + ":80"), std::string::npos) << nat.out;

  // bandwidth: tbf on the host veth (ingress into the pod) and an ifb device
  // carrying the egress shaping, mirrored from the host veth.
  auto qdisc = inNode("tc qdisc show dev " + hostVeth);
  EXPECT_NE(qdisc.out.find("tbf"), std::string::npos) << qdisc.out << qdisc.err;
  EXPECT_NE(qdisc.out.find("ingress"), std::string::npos) << qdisc.out << qdisc.err;
  auto links = inNode("ip -o link show type ifb");
  EXPECT_NE(links.out.find("bwp"), std::string::npos) << links.out << links.err;

  // CHECK over the chain with the cached result. Not portmap: the Debian
  // portmap (1.1.x) fails CHECK on IPv4-only attachments ("could not check
  // ipv6 dnat: chain CNI-DN-... not found"), it looks for an ip6tables chain
  // its own ADD did not create.
  EXPECT_TRUE(runner.check(invocation, result, error, "portmap")) << error;

  // DEL in reverse order with the cached result cleans everything up.
  ASSERT_TRUE(runner.del(invocation, result, error)) << error;
  EXPECT_FALSE(fs::exists(dir_.path() / "ipam" / "pcr-chain" / podIp));
  EXPECT_NE(inNode("ip link show " + hostVeth).exitCode, 0) << "host veth left behind";
  links = inNode("ip -o link show type ifb");
  EXPECT_EQ(links.out.find("bwp"), std::string::npos) << links.out;
  nat = inNode("iptables -t nat -S");
  EXPECT_EQ(nat.out.find("--dport 18080"), std::string::npos) << nat.out;
  EXPECT_EQ(nat.out.find(podIp), std::string::npos) << nat.out;
  auto podLinks = runProcess({"ip", "netns", "exec", pod_, "ip", "-o", "link", "show", "eth0"});
  EXPECT_NE(podLinks.exitCode, 0) << "pod interface left behind: " << podLinks.out;

  // A second DEL (runtimes retry) still succeeds for the whole chain.
  EXPECT_TRUE(runner.del(invocation, result, error)) << error;
}

// Files and directories created under fixed system paths; removed (only
// these, newest first) when the test ends, also on failure.
class CreatedPaths {
 public:
  // Creates each missing directory of `dir`, remembering those it made.
  bool makeDirs(const fs::path& dir) {
    std::vector<fs::path> missing;
    for (fs::path p = dir; !p.empty() && p != p.root_path() && !fs::exists(p); p = p.parent_path())
      missing.push_back(p);
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      std::error_code error;
      if (!fs::create_directory(*it, error)) return false;
      paths_.push_back(*it);
    }
    return true;
  }
  void track(const fs::path& file) { paths_.push_back(file); }
  ~CreatedPaths() {
    for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
      std::error_code ignored;
      fs::remove(*it, ignored);
    }
  }

 private:
  std::vector<fs::path> paths_;
};

// A private containerd (own root, state and socket under `dir`) running in
// the network namespace `netns`; stopped by pid when destroyed.
class PrivateContainerd {
 public:
  PrivateContainerd(const fs::path& dir, std::string netns) : dir_(dir), netns_(std::move(netns)) {}
  ~PrivateContainerd() {
    for (const auto& id : containers_) {
      ctr({"tasks", "kill", "-s", "SIGKILL", id});
      ctr({"tasks", "delete", "-f", id});
      ctr({"containers", "delete", id});
    }
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) usleep(50000);
      if (kill(pid_, 0) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
      }
    }
  }
  std::string socket() const { return (dir_ / "containerd.sock").string(); }

  bool start(std::string& error) {
    const fs::path config = dir_ / "config.toml";
    {
      std::ofstream out(config);
      out << "version = 2\nroot = \"" << (dir_ / "root").string() << "\"\nstate = \""
          << (dir_ / "state").string()
          << "\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \""
          << socket() << "\"\n[ttrpc]\n  address = \"" << socket() << ".ttrpc\"\n";
    }
    // nsenter, not `ip netns exec`: the latter remounts /sys, and runc then
    // finds no cgroup mount.
    pid_ = fork();
    if (pid_ == 0) {
      int log = open((dir_ / "containerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 1);
      dup2(log, 2);
      execlp("nsenter", "nsenter", ("--net=/run/netns/" + netns_).c_str(), "containerd", "--config",
             config.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (ctr({"version"}).exitCode == 0) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(50000);
    }
    std::ifstream log(dir_ / "containerd.log");
    error.assign(std::istreambuf_iterator<char>(log), {});
    return false;
  }

  ProcessResult ctr(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"timeout", "60",        "nsenter", "--net=/run/netns/" + netns_,
                                  "ctr",     "--address", socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
  }
  void trackContainer(const std::string& id) { containers_.push_back(id); }

 private:
  fs::path dir_;
  std::string netns_;
  pid_t pid_ = -1;
  std::vector<std::string> containers_;
};

// `ctr run --cni` with our plugin as the network: ctr 1.6 calls
// gocni.New(gocni.WithDefaultConf), i.e. the first config in the fixed
// /etc/cni/net.d and plugins from the fixed /opt/cni/bin, so the test puts a
// conflist and the podnet-cni link there (creating only what is missing and
// removing exactly that afterwards). containerd and ctr run in the test's
// node namespace, so the bridge and veths live there.
TEST_F(CniRuntimeTest, ContainerdRunCni) {
  for (const char* tool : {"containerd", "ctr", "runc", "containerd-shim-runc-v2", "nsenter"})
    if (sh(std::string("command -v ") + tool).exitCode != 0)
      GTEST_SKIP() << tool << " not installed";
  if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "/bin/busybox (busybox-static) missing";
  const fs::path confDir = "/etc/cni/net.d", binDir = "/opt/cni/bin";
  const fs::path link = binDir / "podnet-cni";
  const fs::path conf = confDir / ("00-pcr-" + std::to_string(getpid()) + ".conflist");
  if (fs::exists(fs::symlink_status(link)))
    GTEST_SKIP() << link << " already exists; not overwriting the machine's plugin";
  CreatedPaths created;
  ASSERT_TRUE(created.makeDirs(confDir));
  ASSERT_TRUE(created.makeDirs(binDir));
  fs::create_symlink(PODNET_CNI_BINARY, link);
  created.track(link);
  const std::string prefix = "10.250." + subnetOctet_ + ".";
  {
    Json conflist = {{"cniVersion", "1.0.0"},
                     {"name", "pcr-ctd"},
                     {"plugins",
                      {{{"type", "podnet-cni"},
                        {"bridge", "pcrct" + std::to_string(getpid() % 100000)},
                        {"isGateway", true},
                        {"isDefaultGateway", true},
                        {"ipam",
                         {{"type", "host-local"},
                          {"subnet", prefix + "0/24"},
                          {"dataDir", (dir_.path() / "ipam").string()}}}}}}};
    std::ofstream out(conf);
    out << conflist.dump();
    created.track(conf);
  }
  // A rootfs with busybox only.
  const fs::path rootfs = dir_.path() / "rootfs";
  fs::create_directories(rootfs / "bin");
  fs::copy_file("/bin/busybox", rootfs / "bin" / "busybox");

  PrivateContainerd containerd(dir_.path(), node_);
  std::string error;
  ASSERT_TRUE(containerd.start(error)) << error;
  const std::string id = "pcr-" + std::to_string(getpid());
  containerd.trackContainer(id);
  auto run = containerd.ctr({"run", "--rm", "--cni", "--rootfs", rootfs.string(), id,
                             "/bin/busybox", "sh", "-c",
                             "/bin/busybox ip -4 addr show eth0 && "
                             "/bin/busybox ping -c 1 -W 3 " +
                                 prefix + "1"});
  EXPECT_EQ(run.exitCode, 0) << run.out << run.err;
  // The address came from our config, and the gateway on the bridge answered.
  EXPECT_NE(run.out.find("inet " + prefix), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("1 packets received"), std::string::npos) << run.out;
  // ctr ran DEL when the container exited: the address is released and no
  // veth is left on the node side.
  bool addressLeft = false;
  if (fs::exists(dir_.path() / "ipam" / "pcr-ctd"))
    for (const auto& entry : fs::directory_iterator(dir_.path() / "ipam" / "pcr-ctd"))
      addressLeft = addressLeft || entry.path().filename().string().rfind(prefix, 0) == 0;
  EXPECT_FALSE(addressLeft);
  // ctr passes the task's /proc/<pid>/ns/net, gone by the time it runs DEL:
  // the pair then goes with the namespace, which the kernel tears down
  // asynchronously (slower under load), so allow it a few seconds.
  std::string veths;
  for (int i = 0; i < 100; ++i) {
    veths = inNode("ip -o link show type veth").out;
    if (veths.empty()) break;
    usleep(100 * 1000);
  }
  EXPECT_EQ(veths, "");
}

}  // namespace

// Both executables are the plugin: the dedicated podnet-cni, and podnet itself
// when exec'ed under that name (or as `podnet cni`).
TEST(CniExecutables, DedicatedAndMultiCallBinariesAnswerVersion) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  fs::create_symlink(PODNET_BINARY, dir.path() / "podnet-cni");
  const std::map<std::string, std::string> env{{"CNI_COMMAND", "VERSION"}};
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{PODNET_CNI_BINARY},
        std::vector<std::string>{(dir.path() / "podnet-cni").string()},
        std::vector<std::string>{PODNET_BINARY, "cni"}}) {
    auto run = runProcess(argv, env);
    ASSERT_EQ(run.exitCode, 0) << argv.back() << ": " << run.err;
    auto answer = Json::parse(run.out, nullptr, false);
    ASSERT_TRUE(answer.is_object()) << run.out;
    EXPECT_EQ(answer["cniVersion"], "1.1.0") << argv.back();
    EXPECT_NE(answer["supportedVersions"].dump().find("1.1.0"), std::string::npos);
  }
}
