// The control plane past one machine, end to end: `podnet up --etcd
// --servers 2` (a 3-member etcd, two API servers), driven by the real
// kubectl through either server while the test kills an API server, takes
// etcd's quorum away and gives it back.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "cluster_fixture.h"

namespace podnet::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kWeb = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nextgen-app:1.0
          ports: [{containerPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
    - name: client
      image: busybox
      command: [sleep, "3600"]
)";

class ControlPlaneE2E : public ClusterTest {
 protected:
  std::string upFlags() const override { return "--etcd --servers 2 --nodes 2 --manifests ''"; }

  void SetUp() override {
    if (!std::filesystem::exists("/usr/bin/etcd")) GTEST_SKIP() << "no etcd-server";
    ClusterTest::SetUp();
    if (!up_) return;
    std::ifstream in(dataDir_ / "cluster.json");
    state_ = json::parse(in, nullptr, false);
    ASSERT_TRUE(state_.is_object());
    ASSERT_EQ(state_["servers"].size(), 2u);
    ASSERT_EQ(state_["etcd"].size(), 3u);
  }

  // kubectl through API server `index` (0 or 1) alone.
  std::pair<int, std::string> kubectlVia(size_t index, const std::string& args) const {
    std::string dir = state_["servers"][index]["dir"];
    return runCommand("KUBECONFIG=" + dir + "/kubeconfig /usr/bin/kubectl --request-timeout=10s " +
                      args + " 2>&1");
  }
  std::string leaseHolder(size_t via) const {
    auto [code, out] = kubectlVia(via,
                                  "get lease -n kube-system podnet-controller-manager -o "
                                  "jsonpath={.spec.holderIdentity}");
    return code == 0 ? out : "";
  }
  // Which server (0 or 1) holds the controllers' lease, or -1.
  int leader(size_t via) const {
    std::string holder = leaseHolder(via);
    for (size_t i = 0; i < 2; ++i) {
      std::string ip = state_["servers"][i]["ip"];
      if (holder.find("_" + ip + ":") != std::string::npos) return int(i);
    }
    return -1;
  }
  std::pair<int, std::string> inClient(const std::string& command) const {
    return runCommand(std::string(PODNET_BINARY) + " exec --data-dir " + dataDir_.string() +
                      " client -- sh -c '" + command + "'");
  }

  json state_;
};

TEST_F(ControlPlaneE2E, ServersShareStateAndSurviveAServerAndQuorumLoss) {
  // Written through the second server, served by the first, run by the
  // controllers wherever they lead.
  std::ofstream(work() / "web.yaml") << kWeb;
  auto [applied, applyOut] = kubectlVia(1, "apply -f " + (work() / "web.yaml").string());
  ASSERT_EQ(applied, 0) << applyOut;
  ASSERT_TRUE(readyPods("app=web", 2));
  ASSERT_TRUE(eventually([&] { return inClient("true").first == 0; }));

  // Pods find both API servers behind the kubernetes Service.
  EXPECT_TRUE(eventually([&] {
    return jsonpath("endpoints kubernetes", "{.subsets[0].addresses[*].ip}") ==
           "172.30.0.1 172.30.0.2";
  })) << jsonpath("endpoints kubernetes", "{.subsets}");

  // Services created through both servers at once never share an address or
  // a NodePort.
  std::string many;
  for (int i = 0; i < 16; ++i)
    many += "---\napiVersion: v1\nkind: Service\nmetadata: {name: s" + std::to_string(i) +
            "}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80}]\n";
  std::ofstream(work() / "many.yaml") << many;
  std::thread other(
      [&] { kubectlVia(1, "create -f " + (work() / "many.yaml").string() + " -n kube-public"); });
  auto [created, createOut] = kubectlVia(0, "create -f " + (work() / "many.yaml").string());
  other.join();
  ASSERT_EQ(created, 0) << createOut;
  auto [listed, services] = kubectlVia(0, "get svc -A -o json");
  ASSERT_EQ(listed, 0) << services;
  std::set<std::string> ips;
  std::set<int> ports;
  size_t nodePorts = 0, withIp = 0;
  json list = json::parse(services, nullptr, false);
  ASSERT_TRUE(list.is_object()) << services;
  for (const json& svc : list["items"]) {
    std::string ip = svc["spec"].value("clusterIP", "");
    if (!ip.empty() && ip != "None") {
      ++withIp;
      ips.insert(ip);
    }
    for (const json& port : svc["spec"].value("ports", json::array()))
      if (port.contains("nodePort")) {
        ++nodePorts;
        ports.insert(port["nodePort"].get<int>());
      }
  }
  EXPECT_GE(withIp, 32u) << services.substr(0, 3000);
  EXPECT_EQ(ips.size(), withIp) << "a ClusterIP handed out twice";
  EXPECT_EQ(ports.size(), nodePorts) << "a NodePort handed out twice";

  // The leading API server killed: kubectl through the other works, the
  // lease moves to it, and its controllers and the agents carry on.
  int leading = leader(0);
  ASSERT_GE(leading, 0) << leaseHolder(0);
  size_t survivor = leading == 0 ? 1 : 0;
  pid_t killed = state_["servers"][size_t(leading)]["pid"];
  ASSERT_EQ(::kill(killed, SIGKILL), 0);
  auto killedAt = std::chrono::steady_clock::now();
  auto [nodesCode, nodesOut] = kubectlVia(survivor, "get nodes");
  EXPECT_EQ(nodesCode, 0) << nodesOut;
  ASSERT_TRUE(eventually([&] { return leader(survivor) == int(survivor); }, 40s))
      << "the lease stayed with " << leaseHolder(survivor);
  std::printf("the controllers moved %lld ms after the leading API server was killed\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - killedAt)
                                         .count()));
  auto [scaled, scaleOut] = kubectlVia(survivor, "scale deployment web --replicas 4");
  ASSERT_EQ(scaled, 0) << scaleOut;
  EXPECT_TRUE(eventually(
      [&] {
        auto [code, out] = kubectlVia(survivor, "get pods -l app=web --no-headers");
        size_t running = 0;
        for (size_t at = out.find(" Running "); at != std::string::npos;
             at = out.find(" Running ", at + 1))
          ++running;
        return running == 4;
      },
      60s))
      << kubectlVia(survivor, "get pods -o wide").second;

  // Quorum lost (two of three etcd members frozen): a clear error naming
  // etcd, while the dataplane keeps serving the Service.
  std::vector<pid_t> frozen = {state_["etcd"][1]["pid"].get<pid_t>(),
                               state_["etcd"][2]["pid"].get<pid_t>()};
  for (pid_t pid : frozen) ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  auto [failed, failOut] = kubectlVia(survivor, "create configmap during-outage");
  EXPECT_NE(failed, 0);
  EXPECT_NE(failOut.find("etcd"), std::string::npos) << failOut;
  auto [served, serveOut] = inClient("curl -sf -m 3 -o /dev/null -w %{http_code} http://web/");
  EXPECT_EQ(serveOut, "200") << "the Service keeps working without a control plane";
  for (pid_t pid : frozen) ::kill(pid, SIGCONT);
  EXPECT_TRUE(eventually(
      [&] {
        auto [code, out] = kubectlVia(survivor, "create configmap after-outage");
        return code == 0 || out.find("AlreadyExists") != std::string::npos ||
               out.find("already exists") != std::string::npos;
      },
      30s));

  // The etcd leader killed while ConfigMaps are created through the API:
  // writes are accepted again within 3 s and every acknowledged one is kept.
  std::string status =
      runCommand("ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=" +
                 std::string(state_["etcd"][0]["clientUrl"]) + "," +
                 std::string(state_["etcd"][1]["clientUrl"]) + "," +
                 std::string(state_["etcd"][2]["clientUrl"]) + " endpoint status -w fields 2>&1")
          .second;
  int etcdLeader = -1;
  for (size_t i = 0; i < 3; ++i) {
    // Each member prints its MemberID, then the Leader it knows, then its Endpoint.
    std::string url = state_["etcd"][i]["clientUrl"];
    size_t endpoint = status.find("\"Endpoint\" : \"" + url + "\"");
    if (endpoint == std::string::npos) continue;
    size_t member = status.rfind("\"MemberID\" : ", endpoint);
    size_t leaderAt = status.rfind("\"Leader\" : ", endpoint);
    if (member == std::string::npos || leaderAt == std::string::npos) continue;
    std::string id = status.substr(member + 13, status.find('\n', member) - member - 13);
    std::string leaderId =
        status.substr(leaderAt + 11, status.find('\n', leaderAt) - leaderAt - 11);
    if (id == leaderId) etcdLeader = int(i);
  }
  ASSERT_GE(etcdLeader, 0) << status;
  std::vector<std::string> acknowledged;
  std::atomic<bool> writing{true};
  std::atomic<long long> firstAfterKillMs{-1};
  std::atomic<long long> killedAtMs{0};
  auto sinceEpochMs = [] {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now().time_since_epoch())
                                      .count());
  };
  std::thread writer([&] {
    for (int i = 0; writing; ++i) {
      std::string name = "loop-" + std::to_string(i);
      auto [code, out] = kubectlVia(survivor, "create configmap " + name);
      if (code != 0) continue;
      acknowledged.push_back(name);
      if (killedAtMs > 0 && firstAfterKillMs < 0) firstAfterKillMs = sinceEpochMs() - killedAtMs;
    }
  });
  std::this_thread::sleep_for(1s);
  killedAtMs = sinceEpochMs();
  ASSERT_EQ(::kill(state_["etcd"][size_t(etcdLeader)]["pid"].get<pid_t>(), SIGKILL), 0);
  std::this_thread::sleep_for(6s);
  writing = false;
  writer.join();
  ASSERT_GE(firstAfterKillMs.load(), 0) << "no write accepted after the etcd leader died";
  // kubectl's own start-up is part of each request here (~0.1-0.2 s).
  EXPECT_LT(firstAfterKillMs.load(), 3500)
      << "writes accepted again only after " << firstAfterKillMs << " ms";
  std::printf("API writes accepted again %lld ms after the etcd leader was killed\n",
              firstAfterKillMs.load());
  auto [got, names] = kubectlVia(survivor, "get configmaps -o name");
  ASSERT_EQ(got, 0) << names;
  for (const std::string& name : acknowledged)
    EXPECT_NE(names.find("configmap/" + name + "\n"), std::string::npos)
        << "acknowledged " << name << " lost";

  // No API server left: an agent still stops within 2 s of SIGTERM.
  ::kill(state_["servers"][survivor]["pid"].get<pid_t>(), SIGKILL);
  std::this_thread::sleep_for(1s);
  pid_t agent = state_["nodes"][1]["agentPid"];
  ASSERT_EQ(::kill(agent, SIGTERM), 0);
  auto stopping = std::chrono::steady_clock::now();
  while (!processGone(agent) && std::chrono::steady_clock::now() - stopping < 5s)
    std::this_thread::sleep_for(20ms);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s) << "the agent ignored SIGTERM";
}

}  // namespace
}  // namespace podnet::testing

namespace podnet::testing {
namespace {

// A node joining a `podnet up` cluster over the network: a network
// namespace on the host bridge plays the other machine.
class JoinE2E : public ClusterTest {
 protected:
  static constexpr const char* kNetns = "podnet-e2e-join";
  static constexpr const char* kHostVeth = "pnjoin9";
  static constexpr const char* kNodeIp = "172.30.0.19";

  void SetUp() override {
    ClusterTest::SetUp();
    if (!up_) return;
    auto [code, out] = runCommand(
        std::string("ip netns add ") + kNetns + " && ip link add " + kHostVeth +
        " type veth peer name eth0 netns " + kNetns + " && ip link set " + kHostVeth +
        " master podnet0 up && ip -n " + kNetns + " link set lo up && ip -n " + kNetns +
        " addr add " + kNodeIp + "/24 dev eth0 && ip -n " + kNetns + " link set eth0 up && ip -n " +
        kNetns + " route add default via 172.30.0.1 2>&1");
    ASSERT_EQ(code, 0) << out;
    machine_ = true;
  }
  void TearDown() override {
    if (joinPid_ > 0) {
      ::kill(joinPid_, SIGTERM);
      for (int i = 0; i < 100 && !processGone(joinPid_); ++i) std::this_thread::sleep_for(20ms);
    }
    // `podnet down` stops the joined node's pods too: its data dir is under DATA/nodes.
    ClusterTest::TearDown();
    if (machine_)
      runCommand(std::string("ip netns del ") + kNetns + "; ip link del " + kHostVeth +
                 " 2>/dev/null");
  }
  std::string podnet(const std::string& args) const {
    return std::string(PODNET_BINARY) + " " + args;
  }
  std::string joinCommand(const std::string& token, const std::string& hash) const {
    return std::string("ip netns exec ") + kNetns + " " +
           podnet("join --server https://172.30.0.1:6443 --token " + token + " --ca-cert-hash " +
                  hash + " --node-name node-9 --data-dir " +
                  (dataDir_ / "nodes" / "node-9").string());
  }
  std::string nodeKubectl(const std::string& args) const {
    return "KUBECONFIG=" + (dataDir_ / "nodes" / "node-9" / "kubeconfig").string() +
           " /usr/bin/kubectl " + args + " 2>&1";
  }

  bool machine_ = false;
  pid_t joinPid_ = 0;
};

TEST_F(JoinE2E, AJoinedNodeRunsPodsOnThePodNetworkAndTouchesOnlyItsOwnObjects) {
  auto [made, token] = runCommand(podnet("token create --data-dir " + dataDir_.string()));
  ASSERT_EQ(made, 0) << token;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  auto [joinLine, printed] =
      runCommand(podnet("token create --print-join-command --data-dir " + dataDir_.string()));
  ASSERT_EQ(joinLine, 0) << printed;
  size_t at = printed.find("sha256:");
  ASSERT_NE(at, std::string::npos) << printed;
  std::string hash = printed.substr(at, 7 + 64);
  auto [listed, tokens] = runCommand(podnet("token list --data-dir " + dataDir_.string()));
  EXPECT_EQ(listed, 0);
  EXPECT_NE(tokens.find(token), std::string::npos) << tokens;

  // Refused: a CA that is not the one the hash names, a token nobody issued.
  auto [badHash, badHashOut] =
      runCommand(joinCommand(token, "sha256:" + std::string(64, '0')) + " 2>&1");
  EXPECT_EQ(badHash, 1);
  EXPECT_NE(badHashOut.find("refusing to join"), std::string::npos) << badHashOut;
  auto [badToken, badTokenOut] = runCommand(joinCommand("abcdef.0123456789abcdef", hash) + " 2>&1");
  EXPECT_EQ(badToken, 1);
  EXPECT_NE(badTokenOut.find("refused the bootstrap token"), std::string::npos) << badTokenOut;
  auto [deleted, deletedOut] =
      runCommand(podnet("token delete " + token + " --data-dir " + dataDir_.string()));
  EXPECT_EQ(deleted, 0) << deletedOut;
  auto [gone, goneOut] = runCommand(joinCommand(token, hash) + " 2>&1");
  EXPECT_EQ(gone, 1) << "a deleted token joins nothing: " << goneOut;

  // The real join, with a fresh token.
  auto [again, fresh] = runCommand(podnet("token create --data-dir " + dataDir_.string()));
  ASSERT_EQ(again, 0);
  while (!fresh.empty() && fresh.back() == '\n') fresh.pop_back();
  auto [started, pidText] = runCommand(joinCommand(fresh, hash) + " > " +
                                       (work() / "join.log").string() + " 2>&1 & echo $!");
  ASSERT_EQ(started, 0);
  joinPid_ = std::atoi(pidText.c_str());
  ASSERT_TRUE(eventually([&] {
    return jsonpath("node node-9", "{.status.conditions[?(@.type==\"Ready\")].status}") == "True";
  })) << runCommand("cat " + (work() / "join.log").string()).second;
  EXPECT_EQ(jsonpath("node node-9", "{.status.addresses[0].address}"), kNodeIp);

  // Pods on the joined node, reached from a pod on another node.
  auto [applied, applyOut] = apply("pods.yaml", R"(apiVersion: v1
kind: Pod
metadata: {name: on-joined}
spec:
  nodeName: node-9
  containers: [{name: web, image: nextgen-app:1.0, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-first}
spec:
  nodeName: node-1
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
)");
  ASSERT_EQ(applied, 0) << applyOut;
  std::string ip;
  ASSERT_TRUE(eventually([&] {
    ip = jsonpath("pod on-joined", "{.status.podIP}");
    return jsonpath("pod on-joined", "{.status.phase}") == "Running" &&
           jsonpath("pod on-first", "{.status.phase}") == "Running" && !ip.empty();
  }));
  EXPECT_TRUE(eventually([&] {
    auto [code, out] = runCommand(podnet("exec --data-dir " + dataDir_.string() +
                                         " on-first -- curl -s -m 2 -o /dev/null -w %{http_code} "
                                         "http://" +
                                         ip + ":3000/"));
    return out == "200";
  })) << "a pod on node-1 reaches the pod on the joined node at "
      << ip;

  // What the node's own credentials may and may not do.
  auto [own, ownOut] = runCommand(nodeKubectl("label node node-9 joined=yes"));
  EXPECT_EQ(own, 0) << ownOut;
  auto [other, otherOut] = runCommand(nodeKubectl("label node node-1 stolen=yes"));
  EXPECT_NE(other, 0);
  EXPECT_NE(otherOut.find("Forbidden"), std::string::npos) << otherOut;
  EXPECT_NE(otherOut.find("not allowed to modify node \"node-1\""), std::string::npos) << otherOut;
  auto [secrets, secretsOut] = runCommand(nodeKubectl("get secrets -A"));
  EXPECT_NE(secrets, 0);
  EXPECT_NE(secretsOut.find("Forbidden"), std::string::npos) << secretsOut;
  auto [removed, removedOut] = runCommand(nodeKubectl("delete pod on-first"));
  EXPECT_NE(removed, 0) << "node-9 deleted a pod bound to node-1";
  auto [reads, readsOut] = runCommand(nodeKubectl("get pods -A"));
  EXPECT_EQ(reads, 0) << readsOut;
}

}  // namespace
}  // namespace podnet::testing
