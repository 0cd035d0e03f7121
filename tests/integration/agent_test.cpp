// The node agent end to end (root only): a podnet server on a host veth, and
// `podnet agent` inside a throwaway node network namespace "pnag<pid>"
// connected to it by that veth (172.31.X.0/24, X leased: subnet_lease.h). Pods
// are created with kubectl and checked the way a user sees them: the API
// status, and what a process sees inside the pod's namespaces (nsenter).
// TearDownTestSuite removes the agent, the pods' processes and namespaces, the
// node namespace, the veth and the data dir, also when a test failed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/ip.h"
#include "podnet_harness.h"
#include "subnet_lease.h"

namespace podnet::testing {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  return text;
}

// The harness's eventually(), with the 20 s this suite's pod start-ups may need.
bool waitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return eventually(condition, timeout);
}

// True when `ip` lies in `cidr` ("a.b.c.d/n").
bool ipv4InCidr(const std::string& ip, const std::string& cidr) {
  auto range = core::Cidr::parse(cidr);
  auto address = core::IpAddress::parse(ip);
  return range && address && range->contains(*address);
}

pid_t spawnLogged(std::vector<std::string> args, const std::string& logPath) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    ::setpgid(0, 0);
    int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// SIGTERM, then SIGKILL after `grace`; reaps the child.
void stopChild(pid_t& pid, std::chrono::milliseconds grace = std::chrono::seconds(10)) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid = -1;
}

class AgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !fs::exists(kKubectl) || !fs::exists("/usr/bin/busybox") ||
        !fs::exists("/usr/bin/nsenter") || !fs::exists("/usr/bin/socat"))
      return;
    enabled_ = true;
    int id = int(::getpid());
    nodeNs_ = "pnag" + std::to_string(id);
    hostVeth_ = "pnagh" + std::to_string(id % 10000000);
    subnet_ = std::make_unique<SubnetLease>("172.31", 100, 150);
    std::string subnet = subnet_->base();
    hostIp_ = subnet + "1";
    nodeIp_ = subnet + "2";
    char pattern[] = "/tmp/podnet-agent-it-XXXXXX";
    dataDir_ = ::mkdtemp(pattern);
    setupError_ = setUp();
  }

  static std::string setUp() {
    auto run = [](const std::string& command) -> std::string {
      auto [code, out] = runCommand(command);
      return code == 0 ? "" : command + ": " + out;
    };
    for (const std::string& command :
         {"ip netns add " + nodeNs_,
          "ip link add " + hostVeth_ + " type veth peer name eth0 netns " + nodeNs_,
          "ip addr add " + hostIp_ + "/24 dev " + hostVeth_, "ip link set " + hostVeth_ + " up",
          "ip -n " + nodeNs_ + " addr add " + nodeIp_ + "/24 dev eth0",
          "ip -n " + nodeNs_ + " link set eth0 up", "ip -n " + nodeNs_ + " link set lo up",
          "ip -n " + nodeNs_ + " route add default via " + hostIp_}) {
      if (std::string error = run(command); !error.empty()) return error;
    }
    fs::create_directories(dataDir_ + "/server");
    serverPid_ = spawnLogged({PODNET_BINARY, "server", "--data-dir", dataDir_ + "/server",
                              "--listen", hostIp_ + ":6443"},
                             dataDir_ + "/server.log");
    bool ready = waitUntil(
        [] {
          return fs::exists(dataDir_ + "/server/kubeconfig") &&
                 runCommand(kubectl("get --raw /readyz")).first == 0;
        },
        std::chrono::seconds(30));
    if (!ready) return "the server did not become ready:\n" + readFile(dataDir_ + "/server.log");
    startAgent();
    return "";
  }

  static void startAgent() {
    agentPid_ =
        spawnLogged({"/usr/bin/nsenter", "--net=/run/netns/" + nodeNs_, PODNET_BINARY, "agent",
                     "--kubeconfig", dataDir_ + "/server/kubeconfig", "--node-name", "n1",
                     "--data-dir", dataDir_ + "/n1", "--node-ip", nodeIp_},
                    dataDir_ + "/agent.log");
  }

  static void TearDownTestSuite() {
    if (!enabled_) return;
    stopChild(agentPid_, std::chrono::seconds(5));
    // The pods' processes and namespaces, as the sandboxes recorded them.
    std::error_code ec;
    if (fs::exists(dataDir_ + "/n1/pods"))
      for (const auto& entry : fs::directory_iterator(dataDir_ + "/n1/pods", ec)) {
        Json state = Json::parse(readFile(entry.path() / "sandbox.json"), nullptr, false);
        if (!state.is_object()) continue;
        if (state.contains("containers") && state["containers"].is_array())
          for (const Json& c : state["containers"]) {
            // Containers run in a session of their own: the group holds
            // their children too (a shell's `sleep`). Then their shims.
            for (const char* key : {"containerPid", "pid"}) {
              int pid = c.value(key, 0);
              if (pid > 1) {
                ::kill(-pid, SIGKILL);
                ::kill(pid, SIGKILL);
              }
            }
          }
        std::string netns = state.value("netns", "");
        if (!netns.empty() && netns.find('/') == std::string::npos &&
            fs::exists("/run/netns/" + netns))
          runCommand("ip netns delete " + netns);
      }
    stopChild(serverPid_, std::chrono::seconds(5));
    runCommand("ip netns delete " + nodeNs_);
    runCommand("ip link delete " + hostVeth_);
    if (!dataDir_.empty()) fs::remove_all(dataDir_, ec);
    subnet_.reset();  // after the veth with its address is gone
  }

  void SetUp() override {
    if (!enabled_) GTEST_SKIP() << "needs root, kubectl, busybox, nsenter and socat";
    ASSERT_EQ(setupError_, "");
    ASSERT_GT(agentPid_, 0);
  }

  static std::string kubectl(const std::string& args) {
    return "HOME=" + dataDir_ + " timeout 30 " + kKubectl + " --kubeconfig " + dataDir_ +
           "/server/kubeconfig " + args;
  }
  static Json getJson(const std::string& what) {
    auto [code, out] = runCommand(kubectl("get " + what + " -o json"));
    if (code != 0) return Json();
    Json value = Json::parse(out, nullptr, false);
    return value.is_discarded() ? Json() : value;
  }
  static std::string createPod(const Json& pod) {
    std::string path = dataDir_ + "/" + pod["metadata"]["name"].get<std::string>() + ".json";
    std::ofstream(path) << pod.dump();
    auto [code, out] = runCommand(kubectl("create -f " + path));
    return code == 0 ? "" : out;
  }
  static Json busyboxPod(const std::string& name, Json containers) {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}, {"namespace", "default"}}},
            {"spec", {{"containers", std::move(containers)}}}};
  }
  static Json sleepPod(const std::string& name) {
    return busyboxPod(
        name, Json::array({{{"name", "main"}, {"image", "busybox"}, {"args", {"sleep", "3600"}}}}));
  }
  // Waits for the pod's phase; returns the pod (null when it never got there).
  static Json waitPhase(const std::string& name, const std::string& phase,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Json pod;
    bool ok = waitUntil(
        [&] {
          pod = getJson("pod " + name);
          return pod.is_object() && pod.contains("status") &&
                 pod["status"].value("phase", "") == phase;
        },
        timeout);
    return ok ? pod : Json();
  }
  static Json sandbox(const Json& pod) {
    std::string uid = pod["metadata"].value("uid", "");
    return Json::parse(readFile(dataDir_ + "/n1/pods/" + uid + "/sandbox.json"), nullptr, false);
  }
  static int containerPid(const Json& pod, const std::string& container = "main") {
    Json state = sandbox(pod);
    if (!state.is_object() || !state.contains("containers")) return 0;
    for (const Json& c : state["containers"])
      if (c.value("name", "") == container) return c.value("containerPid", 0);
    return 0;
  }
  static std::string agentLog() { return readFile(dataDir_ + "/agent.log"); }

  static inline bool enabled_ = false;
  static inline std::string setupError_;
  static inline std::unique_ptr<SubnetLease> subnet_;
  static inline std::string nodeNs_, hostVeth_, hostIp_, nodeIp_, dataDir_;
  static inline pid_t serverPid_ = -1, agentPid_ = -1;
};

TEST_F(AgentTest, NodeRegistersReadyWithInternalIpAndPodCidr) {
  Json node;
  ASSERT_TRUE(waitUntil([&] {
    node = getJson("node n1");
    if (!node.is_object() || !node.contains("status")) return false;
    for (const Json& c : node["status"].value("conditions", Json::array()))
      if (c.value("type", "") == "Ready" && c.value("status", "") == "True") return true;
    return false;
  })) << node.dump(2)
      << agentLog();
  bool internalIp = false;
  for (const Json& a : node["status"].value("addresses", Json::array()))
    if (a.value("type", "") == "InternalIP" && a.value("address", "") == nodeIp_) internalIp = true;
  EXPECT_TRUE(internalIp) << node["status"].dump(2);
  std::string podCidr = node["spec"].value("podCIDR", "");
  EXPECT_NE(podCidr, "");
  EXPECT_TRUE(ipv4InCidr(podCidr.substr(0, podCidr.find('/')), "10.244.0.0/16")) << podCidr;
}

TEST_F(AgentTest, SleepPodRunsWithPodIpHostnameResolvConfAndHosts) {
  ASSERT_EQ(createPod(sleepPod("keep")), "");
  Json pod = waitPhase("keep", "Running");
  ASSERT_TRUE(pod.is_object()) << getJson("pod keep").dump(2) << agentLog();
  std::string podIp = pod["status"].value("podIP", "");
  std::string podCidr = getJson("node n1")["spec"].value("podCIDR", "");
  EXPECT_TRUE(ipv4InCidr(podIp, podCidr)) << podIp << " not in " << podCidr;
  EXPECT_EQ(pod["status"].value("hostIP", ""), nodeIp_);
  EXPECT_EQ(pod["spec"].value("nodeName", ""), "n1");
  Json status = pod["status"]["containerStatuses"][0];
  EXPECT_TRUE(status["state"].contains("running")) << status.dump(2);
  EXPECT_TRUE(status.value("ready", false));

  int pid = containerPid(pod);
  ASSERT_GT(pid, 0) << sandbox(pod).dump(2);
  std::string enter = "nsenter -t " + std::to_string(pid) + " -n -m -u ";
  auto [hostnameCode, hostname] = runCommand(enter + "hostname");
  EXPECT_EQ(hostnameCode, 0);
  EXPECT_EQ(trim(hostname), "keep");
  auto [resolvCode, resolv] = runCommand(enter + "cat /etc/resolv.conf");
  EXPECT_EQ(resolvCode, 0);
  EXPECT_NE(resolv.find("search default.svc.cluster.local svc.cluster.local cluster.local\n"),
            std::string::npos)
      << resolv;
  EXPECT_NE(resolv.find("nameserver 10.96.0.10\n"), std::string::npos) << resolv;
  EXPECT_NE(resolv.find("options ndots:5"), std::string::npos) << resolv;
  auto [hostsCode, hosts] = runCommand(enter + "cat /etc/hosts");
  EXPECT_EQ(hostsCode, 0);
  EXPECT_NE(hosts.find(podIp + "\tkeep\n"), std::string::npos) << hosts;
  // The pod's eth0 carries the pod IP.
  auto [addrCode, addresses] = runCommand(enter + "ip -4 -o addr show dev eth0");
  EXPECT_NE(addresses.find(podIp + "/"), std::string::npos) << addresses;
}

TEST_F(AgentTest, TwoContainersTalkOverLocalhost) {
  std::string www = dataDir_ + "/www";
  fs::create_directories(www);
  std::ofstream(www + "/index.html") << "hello-from-server\n";
  Json pod = busyboxPod(
      "pair", Json::array({{{"name", "server"},
                            {"image", "busybox"},
                            {"command", {"busybox", "httpd", "-f", "-p", "7000", "-h", www}}},
                           {{"name", "client"},
                            {"image", "busybox"},
                            {"command",
                             {"sh", "-c",
                              "until wget -q -O - http://127.0.0.1:7000/index.html; do sleep "
                              "0.2; done; sleep 3600"}}}}));
  ASSERT_EQ(createPod(pod), "");
  Json running = waitPhase("pair", "Running");
  ASSERT_TRUE(running.is_object()) << getJson("pod pair").dump(2);
  std::string logPath =
      dataDir_ + "/n1/pods/" + running["metadata"].value("uid", "") + "/logs/client/0.log";
  EXPECT_TRUE(waitUntil([&] {
    return readFile(logPath).find("hello-from-server") != std::string::npos;
  })) << readFile(logPath);
  // And from the pod's network namespace, as any process in the pod would.
  std::string netns = sandbox(running).value("netns", "");
  ASSERT_NE(netns, "");
  auto [code, out] = runCommand("nsenter --net=/run/netns/" + netns +
                                " curl -s --max-time 5 http://127.0.0.1:7000/index.html");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(trim(out), "hello-from-server");
}

TEST_F(AgentTest, MissingProgramGivesCrashLoopBackOffWithTheExecMessage) {
  auto [code, out] = runCommand(kubectl("run bad --image=busybox --command -- nosuchprogram"));
  ASSERT_EQ(code, 0) << out;
  const std::string message = "exec: \"nosuchprogram\": executable file not found in $PATH";
  std::set<std::string> reasons;
  Json status;
  EXPECT_TRUE(waitUntil([&] {
    Json pod = getJson("pod bad");
    if (!pod.is_object() || !pod["status"].contains("containerStatuses")) return false;
    status = pod["status"]["containerStatuses"][0];
    if (!status["state"].contains("waiting")) return false;
    Json waiting = status["state"]["waiting"];
    std::string reason = waiting.value("reason", "");
    reasons.insert(reason);
    EXPECT_TRUE(reason == "RunContainerError" || reason == "CrashLoopBackOff") << reason;
    EXPECT_NE(waiting.value("message", "").find(message), std::string::npos) << waiting.dump();
    return reason == "CrashLoopBackOff";
  })) << status.dump(2);
  EXPECT_EQ(getJson("pod bad")["status"].value("phase", ""), "Pending");
  EXPECT_FALSE(status.value("ready", true));
}

// env valueFrom secretKeyRef / configMapKeyRef and envFrom, as kubelet:
// while the Secret is missing the container waits in
// CreateContainerConfigError (not a restart); once it exists the program
// sees the values.
TEST_F(AgentTest, EnvironmentFromSecretsAndConfigMaps) {
  Json pod = busyboxPod(
      "envfrom",
      Json::array(
          {{{"name", "main"},
            {"image", "busybox"},
            {"command",
             {"sh", "-c",
              "[ \"$PASSWORD\" = s3cr3t ] && [ \"$DB_user\" = admin ] && "
              "[ \"$LEVEL\" = debug ] || exit 7"}},
            {"envFrom", {{{"secretRef", {{"name", "dbcreds"}}}, {"prefix", "DB_"}}}},
            {"env",
             {{{"name", "PASSWORD"},
               {"valueFrom", {{"secretKeyRef", {{"name", "dbcreds"}, {"key", "password"}}}}}},
              {{"name", "LEVEL"},
               {"valueFrom",
                {{"configMapKeyRef", {{"name", "settings"}, {"key", "level"}}}}}}}}}}));
  pod["spec"]["restartPolicy"] = "Never";
  ASSERT_EQ(createPod(pod), "");
  Json waiting;
  EXPECT_TRUE(waitUntil([&] {
    Json got = getJson("pod envfrom");
    if (!got.is_object() || !got["status"].contains("containerStatuses")) return false;
    waiting = got["status"]["containerStatuses"][0];
    return waiting["state"].contains("waiting") &&
           waiting["state"]["waiting"].value("reason", "") == "CreateContainerConfigError";
  })) << waiting.dump(2);
  EXPECT_EQ(waiting["state"]["waiting"].value("message", ""), "secret \"dbcreds\" not found");
  EXPECT_EQ(waiting.value("restartCount", -1), 0);

  auto [code, out] =
      runCommand(kubectl("create secret generic dbcreds --from-literal=password=s3cr3t "
                         "--from-literal=user=admin && " +
                         kubectl("create configmap settings --from-literal=level=debug")));
  ASSERT_EQ(code, 0) << out;
  Json done = waitPhase("envfrom", "Succeeded", std::chrono::seconds(30));
  EXPECT_TRUE(done.is_object()) << getJson("pod envfrom")["status"].dump(2);
}

TEST_F(AgentTest, RestartPolicyNeverExitCodeGivesFailed) {
  Json pod = busyboxPod(
      "exit3",
      Json::array({{{"name", "main"}, {"image", "busybox"}, {"command", {"sh", "-c", "exit 3"}}}}));
  pod["spec"]["restartPolicy"] = "Never";
  ASSERT_EQ(createPod(pod), "");
  Json failed = waitPhase("exit3", "Failed");
  ASSERT_TRUE(failed.is_object()) << getJson("pod exit3").dump(2);
  Json status = failed["status"]["containerStatuses"][0];
  ASSERT_TRUE(status["state"].contains("terminated")) << status.dump(2);
  EXPECT_EQ(status["state"]["terminated"].value("exitCode", -1), 3);
  EXPECT_EQ(status["state"]["terminated"].value("reason", ""), "Error");
  EXPECT_EQ(status.value("restartCount", -1), 0);
}

TEST_F(AgentTest, TcpBetweenPodsPreservesTheClientPodIp) {
  ASSERT_EQ(createPod(sleepPod("tcp-a")), "");
  ASSERT_EQ(createPod(sleepPod("tcp-b")), "");
  Json a = waitPhase("tcp-a", "Running");
  Json b = waitPhase("tcp-b", "Running");
  ASSERT_TRUE(a.is_object() && b.is_object());
  std::string ipA = a["status"].value("podIP", ""), ipB = b["status"].value("podIP", "");
  ASSERT_NE(ipA, ipB);
  std::string nsA = sandbox(a).value("netns", ""), nsB = sandbox(b).value("netns", "");
  ASSERT_TRUE(!nsA.empty() && !nsB.empty());
  // A one-shot server in pod A answers with the peer address it saw.
  std::string script =
      "timeout 15 nsenter --net=/run/netns/" + nsA +
      " socat -T5 TCP-LISTEN:7100,reuseaddr SYSTEM:'echo peer=$SOCAT_PEERADDR' "
      ">/dev/null 2>&1 </dev/null & "
      "for i in $(seq 50); do "
      "out=$(nsenter --net=/run/netns/" +
      nsB + " socat -T5 - TCP:" + ipA +
      ":7100 </dev/null 2>/dev/null) && [ -n \"$out\" ] && { echo \"$out\"; exit 0; }; "
      "sleep 0.1; done; exit 1";
  std::string path = dataDir_ + "/tcp.sh";
  std::ofstream(path) << script << "\n";
  auto [runCode, output] = runCommand("sh " + path);
  EXPECT_EQ(runCode, 0) << output;
  EXPECT_EQ(trim(output), "peer=" + ipB);
}

TEST_F(AgentTest, AgentRestartAdoptsRunningPods) {
  // ctest runs every test in its own process (and cluster): make sure it exists.
  createPod(sleepPod("keep"));
  Json before = waitPhase("keep", "Running");
  ASSERT_TRUE(before.is_object());
  int pid = containerPid(before);
  ASSERT_GT(pid, 0);
  std::string ip = before["status"].value("podIP", "");
  stopChild(agentPid_);
  EXPECT_EQ(::kill(pid, 0), 0) << "the pod's process died with the agent";
  size_t logSize = agentLog().size();
  startAgent();
  EXPECT_TRUE(waitUntil([&] {
    return agentLog().find("adopted pod default/keep", logSize) != std::string::npos;
  })) << agentLog().substr(logSize);
  Json after = waitPhase("keep", "Running");
  ASSERT_TRUE(after.is_object());
  EXPECT_EQ(after["status"].value("podIP", ""), ip);
  EXPECT_EQ(after["metadata"].value("uid", ""), before["metadata"].value("uid", ""));
  EXPECT_EQ(containerPid(after), pid);
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(after["status"]["containerStatuses"][0].value("restartCount", -1), 0);
  // The adopted agent still runs new pods.
  ASSERT_EQ(createPod(sleepPod("after-restart")), "");
  EXPECT_TRUE(waitPhase("after-restart", "Running").is_object()) << agentLog().substr(logSize);
}

TEST_F(AgentTest, DeletingAPodRemovesItsNetnsAndProcesses) {
  // ctest runs every test in its own process (and cluster): make sure it exists.
  createPod(sleepPod("keep"));
  Json pod = waitPhase("keep", "Running");
  ASSERT_TRUE(pod.is_object());
  std::string netns = sandbox(pod).value("netns", "");
  int pid = containerPid(pod);
  ASSERT_NE(netns, "");
  ASSERT_TRUE(fs::exists("/run/netns/" + netns));
  auto start = std::chrono::steady_clock::now();
  auto [code, out] = runCommand(kubectl("delete pod keep --timeout=30s"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_TRUE(waitUntil([&] { return !fs::exists("/run/netns/" + netns); }));
  EXPECT_TRUE(waitUntil([&] { return ::kill(pid, 0) != 0; }));
  EXPECT_EQ(runCommand(kubectl("get pod keep")).first, 1);
}

// Probes drive the Ready condition, and so the EndpointSlices; a failing
// liveness probe restarts the container.
TEST_F(AgentTest, ProbesDriveReadinessEndpointsAndRestarts) {
  auto webPod = [](const std::string& name, Json readiness) {
    Json pod =
        busyboxPod(name, Json::array({{{"name", "main"},
                                       {"image", "nginx"},
                                       {"ports", {{{"containerPort", 8080}, {"name", "http"}}}},
                                       {"readinessProbe", readiness}}}));
    pod["metadata"]["labels"] = {{"app", "probed"}};
    return pod;
  };
  ASSERT_EQ(createPod(webPod("probe-ok", {{"httpGet", {{"path", "/healthz"}, {"port", "http"}}},
                                          {"periodSeconds", 1}})),
            "");
  ASSERT_EQ(createPod(webPod("probe-bad", {{"tcpSocket", {{"port", 9999}}}, {"periodSeconds", 1}})),
            "");
  Json live = busyboxPod(
      "probe-live", Json::array({{{"name", "main"},
                                  {"image", "busybox"},
                                  {"command", {"sleep", "3600"}},
                                  {"livenessProbe",
                                   {{"exec", {{"command", {"sh", "-c", "test -f /nonexistent"}}}},
                                    {"periodSeconds", 1},
                                    {"failureThreshold", 2}}}}}));
  ASSERT_EQ(createPod(live), "");
  auto [code, out] = runCommand(kubectl(
      "expose pod probe-ok --name probed --port 80 --target-port 8080 --selector app=probed"));
  ASSERT_EQ(code, 0) << out;

  auto readyOf = [&](const std::string& name) {
    Json pod = getJson("pod " + name);
    if (!pod.is_object()) return std::string();
    for (const Json& c : pod["status"].value("conditions", Json::array()))
      if (c.value("type", "") == "Ready") return c.value("status", "");
    return std::string();
  };
  EXPECT_TRUE(waitUntil([&] { return readyOf("probe-ok") == "True"; }))
      << getJson("pod probe-ok").dump(2);
  ASSERT_TRUE(waitPhase("probe-bad", "Running").is_object());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(readyOf("probe-bad"), "False");

  // The EndpointSlice lists both pods; only the probed-ready one is ready.
  Json okPod = getJson("pod probe-ok"), badPod = getJson("pod probe-bad");
  std::string okIp = okPod["status"].value("podIP", ""),
              badIp = badPod["status"].value("podIP", "");
  EXPECT_TRUE(waitUntil([&] {
    Json slices = getJson("endpointslices -l kubernetes.io/service-name=probed");
    if (!slices.is_object() || slices["items"].empty()) return false;
    std::map<std::string, bool> readyByIp;
    for (const Json& slice : slices["items"])
      for (const Json& endpoint : slice.value("endpoints", Json::array()))
        readyByIp[endpoint["addresses"][0]] = endpoint["conditions"].value("ready", false);
    return readyByIp.count(okIp) && readyByIp[okIp] && readyByIp.count(badIp) && !readyByIp[badIp];
  })) << getJson("endpointslices").dump(2);

  EXPECT_TRUE(waitUntil([&] {
    Json pod = getJson("pod probe-live");
    return pod.is_object() && pod["status"].contains("containerStatuses") &&
           pod["status"]["containerStatuses"][0].value("restartCount", 0) >= 1;
  })) << getJson("pod probe-live").dump(2);
  EXPECT_NE(agentLog().find("liveness probe of probe-live/main failed"), std::string::npos);
  for (const char* name : {"probe-ok", "probe-bad", "probe-live"})
    runCommand(kubectl(std::string("delete pod --wait=false ") + name));
}

}  // namespace
}  // namespace podnet::testing
