// The pod network end to end: `podnet up` with 3 nodes, a Deployment of 6
// pods, and what a user checks with kubectl and `podnet exec` — for both
// overlays. Traffic stays inside the namespaces the cluster creates.
#include <signal.h>

#include <map>
#include <set>

#include "core/ip.h"
#include "podnet_harness.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::runCommand;

std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// What a cluster made, read from its data dir before `down`: network
// namespaces (nodes and pods) and processes (server, agents, containers).
struct Footprint {
  std::vector<std::string> netns;
  std::vector<int> pids;
};

Footprint clusterFootprint(const fs::path& dataDir) {
  Footprint out;
  Json state = Json::parse(podnet::testing::readFile(dataDir / "cluster.json"), nullptr, false);
  if (!state.is_object()) return out;
  out.pids.push_back(state.value("serverPid", 0));
  for (const Json& node : state["nodes"]) {
    out.netns.push_back(node.value("netns", ""));
    out.pids.push_back(node.value("agentPid", 0));
    std::error_code error;
    for (const auto& pod :
         fs::directory_iterator(dataDir / "nodes" / node.value("name", "") / "pods", error)) {
      Json sandbox =
          Json::parse(podnet::testing::readFile(pod.path() / "sandbox.json"), nullptr, false);
      if (!sandbox.is_object()) continue;
      out.netns.push_back(sandbox.value("netns", ""));
      for (const Json& container : sandbox["containers"])
        out.pids.push_back(container.value("pid", 0));
    }
  }
  return out;
}

class ClusterE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
    if (!fs::exists("/usr/bin/socat")) GTEST_SKIP() << "no socat (scripts/setup.sh installs it)";
    dataDir_ = fs::temp_directory_path() / ("podnet-e2e-" + std::to_string(::getpid()));
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " up --nodes 3 --overlay " + GetParam() +
                   " --manifests '' --data-dir " + dataDir_.string());
    ASSERT_EQ(code, 0) << output;
    up_ = true;
  }
  void TearDown() override {
    for (const fs::path& path : manifests_) fs::remove(path);
    if (!up_) return;
    Footprint footprint = clusterFootprint(dataDir_);
    EXPECT_GT(footprint.netns.size(), 3u);
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " down --data-dir " + dataDir_.string());
    EXPECT_EQ(code, 0) << output;
    // Nothing left: namespaces (and their /run/netns mounts), processes,
    // the host bridge and veths, the host routes for the cluster ranges.
    std::string mounts = podnet::testing::readFile("/proc/mounts");
    for (const std::string& netns : footprint.netns) {
      EXPECT_FALSE(fs::exists("/run/netns/" + netns)) << netns;
      EXPECT_EQ(mounts.find("/run/netns/" + netns + " "), std::string::npos) << netns;
    }
    for (int pid : footprint.pids)
      if (pid > 0)
        EXPECT_TRUE(podnet::testing::processGone(pid)) << "process " << pid << " still runs";
    auto [linkCode, links] = runCommand("ip -o link show");
    EXPECT_EQ(links.find("podnet0"), std::string::npos) << links;
    EXPECT_EQ(links.find("pnveth"), std::string::npos) << links;
    auto [routeCode, routes] = runCommand("ip route show");
    EXPECT_EQ(routes.find("10.244."), std::string::npos) << routes;
    EXPECT_EQ(routes.find("10.96."), std::string::npos) << routes;
    EXPECT_FALSE(fs::exists(dataDir_));
  }

  std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand("KUBECONFIG=" + (dataDir_ / "server" / "kubeconfig").string() +
                      " /usr/bin/kubectl " + args);
  }
  Json kubectlJson(const std::string& args) {
    auto [code, output] = kubectl(args + " -o json");
    if (code != 0) return Json();
    return Json::parse(output, nullptr, false);
  }
  std::pair<int, std::string> podExec(const std::string& pod, const std::string& command) {
    return runCommand(std::string(PODNET_BINARY) + " exec --data-dir " + dataDir_.string() + " " +
                      pod + " -- sh -c " + shellQuote(command));
  }
  // Manifests live beside the data dir, which `down` must leave empty.
  fs::path manifest(const std::string& name) {
    fs::path path = dataDir_.string() + "-" + name;
    manifests_.push_back(path);
    return path;
  }
  Json clusterState() {
    return Json::parse(podnet::testing::readFile(dataDir_ / "cluster.json"), nullptr, false);
  }

  struct PodInfo {
    std::string name, ip, node;
  };
  // Running pods with label `selector` once there are `count` of them.
  std::vector<PodInfo> runningPods(const std::string& selector, size_t count) {
    std::vector<PodInfo> pods;
    eventually(
        [&] {
          pods.clear();
          Json list = kubectlJson("get pods -l " + selector);
          if (!list.is_object()) return false;
          for (const Json& pod : list["items"]) {
            if (pod["metadata"].contains("deletionTimestamp")) continue;
            if (pod["status"].value("phase", "") != "Running") continue;
            std::string ready;
            for (const Json& c : pod["status"].value("conditions", Json::array()))
              if (c.value("type", "") == "Ready") ready = c.value("status", "");
            if (ready != "True") continue;
            pods.push_back({pod["metadata"]["name"], pod["status"].value("podIP", ""),
                            pod["spec"].value("nodeName", "")});
          }
          return pods.size() == count;
        },
        std::chrono::seconds(30));
    return pods;
  }

  fs::path dataDir_;
  bool up_ = false;
  std::vector<fs::path> manifests_;
};

// Every pod answers on TCP 9000 and UDP 9001 with the address it sees the
// client at, and echoes on TCP 9002 (for the long-lived connection).
constexpr const char* kEchoDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
spec:
  replicas: 6
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: echo
        image: busybox
        command: ["sh", "-c"]
        args:
        - |
          socat TCP-LISTEN:9000,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' &
          socat UDP-RECVFROM:9001,fork SYSTEM:'echo $SOCAT_PEERADDR' &
          socat TCP-LISTEN:9002,fork,reuseaddr EXEC:cat &
          wait
)";

// Two containers of one pod: "first" listens on 127.0.0.1 only; "second"
// reaches it over localhost and only then serves on the pod IP.
constexpr const char* kTwoContainerPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: pair
  labels: {app: pair}
spec:
  containers:
  - name: first
    image: busybox
    command: ["socat", "TCP-LISTEN:7000,bind=127.0.0.1,fork,reuseaddr", "SYSTEM:echo from-first"]
  - name: second
    image: busybox
    command: ["sh", "-c"]
    args:
    - |
      until socat -T1 - TCP:127.0.0.1:7000 </dev/null | grep -q from-first; do sleep 0.1; done
      exec socat TCP-LISTEN:7001,fork,reuseaddr SYSTEM:'echo second-reached-first'
)";

TEST_P(ClusterE2E, EveryPodReachesEveryPodWithoutNat) {
  // Three Ready nodes, each with its own podCIDR.
  Json nodes = kubectlJson("get nodes");
  ASSERT_TRUE(nodes.is_object());
  ASSERT_EQ(nodes["items"].size(), 3u);
  std::map<std::string, podnet::core::Cidr> podCidrs;
  for (const Json& node : nodes["items"]) {
    auto cidr = podnet::core::Cidr::parse(node["spec"].value("podCIDR", ""));
    ASSERT_TRUE(cidr) << node.dump();
    podCidrs[node["metadata"]["name"]] = *cidr;
  }

  {
    std::ofstream(manifest("echo.yaml")) << kEchoDeployment;
    auto [code, output] = kubectl("apply -f " + manifest("echo.yaml").string());
    ASSERT_EQ(code, 0) << output;
  }
  std::vector<PodInfo> pods = runningPods("app=echo", 6);
  ASSERT_EQ(pods.size(), 6u) << kubectl("get pods -o wide").second;

  // Spread over the 3 nodes; unique IPs, each inside its node's podCIDR.
  std::set<std::string> ips, nodesUsed;
  for (const PodInfo& pod : pods) {
    ips.insert(pod.ip);
    nodesUsed.insert(pod.node);
    auto ip = podnet::core::IpAddress::parse(pod.ip);
    ASSERT_TRUE(ip) << pod.name;
    EXPECT_TRUE(podCidrs.at(pod.node).contains(*ip)) << pod.ip << " not in " << pod.node;
  }
  EXPECT_EQ(ips.size(), 6u);
  EXPECT_EQ(nodesUsed.size(), 3u);

  // The full matrix, TCP and UDP: the server sees the client's own pod IP.
  for (const PodInfo& client : pods) {
    for (const PodInfo& server : pods) {
      auto [tcpCode, tcpSeen] =
          podExec(client.name, "socat -T3 - TCP:" + server.ip + ":9000 </dev/null");
      EXPECT_EQ(tcpCode, 0) << client.name << " -> " << server.ip << ": " << tcpSeen;
      EXPECT_EQ(trim(tcpSeen), client.ip) << "TCP " << client.name << " -> " << server.name;
      // UDP may lose a datagram; a client retries, so does the test (3 tries).
      std::string udpSeen;
      for (int attempt = 0; attempt < 3 && trim(udpSeen) != client.ip; ++attempt)
        udpSeen = podExec(client.name, "echo x | socat -T2 - UDP:" + server.ip + ":9001").second;
      EXPECT_EQ(trim(udpSeen), client.ip) << "UDP " << client.name << " -> " << server.name;
    }
  }

  // The containers of one pod share localhost.
  {
    std::ofstream(manifest("pair.yaml")) << kTwoContainerPod;
    auto [code, output] = kubectl("apply -f " + manifest("pair.yaml").string());
    ASSERT_EQ(code, 0) << output;
    std::vector<PodInfo> pair = runningPods("app=pair", 1);
    ASSERT_EQ(pair.size(), 1u);
    std::string reply;
    EXPECT_TRUE(eventually(
        [&] {
          reply = trim(
              podExec(pods[0].name, "socat -T2 - TCP:" + pair[0].ip + ":7001 </dev/null").second);
          return reply == "second-reached-first";
        },
        std::chrono::seconds(10)))
        << reply;
  }

  // A deleted pod's replacement gets a new IP.
  {
    const PodInfo victim = pods[0];
    auto [code, output] = kubectl("delete pod " + victim.name);
    ASSERT_EQ(code, 0) << output;
    std::vector<PodInfo> after = runningPods("app=echo", 6);
    ASSERT_EQ(after.size(), 6u);
    std::set<std::string> afterIps;
    for (const PodInfo& pod : after) {
      EXPECT_NE(pod.name, victim.name);
      afterIps.insert(pod.ip);
    }
    EXPECT_EQ(afterIps.count(victim.ip), 0u) << "the replacement reused " << victim.ip;
    pods = after;
  }

  // An agent restart keeps the pods, their IPs and an open connection.
  {
    const PodInfo client = pods[0];
    const PodInfo& server = *std::find_if(
        pods.begin(), pods.end(), [&](const PodInfo& pod) { return pod.node != client.node; });
    int toChild[2], fromChild[2];
    ASSERT_EQ(::pipe(toChild), 0);
    ASSERT_EQ(::pipe(fromChild), 0);
    pid_t connection = ::fork();
    if (connection == 0) {
      ::dup2(toChild[0], 0);
      ::dup2(fromChild[1], 1);
      ::close(toChild[1]);
      ::close(fromChild[0]);
      std::string target = "TCP:" + server.ip + ":9002";
      ::execl(PODNET_BINARY, "podnet", "exec", "--data-dir", dataDir_.c_str(), client.name.c_str(),
              "--", "socat", "-", target.c_str(), nullptr);
      _exit(127);
    }
    ::close(toChild[0]);
    ::close(fromChild[1]);
    auto roundTrip = [&](const std::string& line) {
      std::string message = line + "\n";
      if (::write(toChild[1], message.data(), message.size()) < 0) return std::string();
      std::string got;
      char c;
      while (::read(fromChild[0], &c, 1) == 1 && c != '\n') got += c;
      return got;
    };
    EXPECT_EQ(roundTrip("before"), "before");

    Json state = clusterState();
    for (Json& node : state["nodes"]) {
      pid_t agent = node["agentPid"];
      std::string cmdline =
          podnet::testing::readFile("/proc/" + std::to_string(agent) + "/cmdline");
      ASSERT_EQ(::kill(agent, SIGTERM), 0);
      ASSERT_TRUE(eventually([&] { return podnet::testing::processGone(agent); },
                             std::chrono::seconds(10)));
      // Start it again, in its node's namespace, as `up` did; record the new
      // pid so `down` stops it.
      std::string args;
      for (size_t start = 0; start < cmdline.size();) {
        size_t end = cmdline.find('\0', start);
        if (end == std::string::npos) end = cmdline.size();
        args += shellQuote(cmdline.substr(start, end - start)) + " ";
        start = end + 1;
      }
      auto [code, pid] = runCommand("nsenter --net=/run/netns/" + node["netns"].get<std::string>() +
                                    " setsid " + args + " >>" + dataDir_.string() + "/agent-" +
                                    node["name"].get<std::string>() + ".log 2>&1 & echo $!");
      ASSERT_EQ(code, 0);
      node["agentPid"] = std::stoi(trim(pid));
    }
    std::ofstream(dataDir_ / "cluster.json", std::ios::trunc) << state.dump(2);

    EXPECT_EQ(roundTrip("after"), "after") << "the connection did not survive the agent restart";
    // The restarted agents serve their node API again (kubectl logs goes
    // through it) and stay up: no container or shim may hold its listening
    // port (they did, inherited without CLOEXEC, and the new agent exited
    // with "Address already in use").
    EXPECT_TRUE(eventually([&] { return kubectl("logs " + client.name).first == 0; },
                           std::chrono::seconds(30)))
        << kubectl("logs " + client.name).second;
    for (const Json& node : state["nodes"]) {
      pid_t agent = node["agentPid"];
      EXPECT_FALSE(podnet::testing::processGone(agent))
          << "agent " << node["name"] << " exited after its restart";
    }
    std::vector<PodInfo> after = runningPods("app=echo", 6);
    ASSERT_EQ(after.size(), 6u);
    std::map<std::string, std::string> ipByName;
    for (const PodInfo& pod : pods) ipByName[pod.name] = pod.ip;
    for (const PodInfo& pod : after) EXPECT_EQ(ipByName[pod.name], pod.ip) << pod.name;
    Json restarted = kubectlJson("get pods -l app=echo");
    for (const Json& pod : restarted["items"])
      EXPECT_EQ(pod["status"]["containerStatuses"][0].value("restartCount", -1), 0);
    ::close(toChild[1]);
    ::close(fromChild[0]);
    ::kill(connection, SIGTERM);
    ::waitpid(connection, nullptr, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Overlays, ClusterE2E, ::testing::Values("host-gw", "vxlan"),
                         [](const auto& info) {
                           return info.param == "host-gw" ? std::string("HostGw")
                                                          : std::string("Vxlan");
                         });

}  // namespace
