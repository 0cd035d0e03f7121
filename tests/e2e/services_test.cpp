// Services end to end on a 3-node `podnet up` cluster: what a user sees from
// a pod and from the host through ClusterIPs, NodePorts and LoadBalancer
// addresses programmed into nftables by the agents. Traffic stays inside the
// cluster's namespaces and the host bridge.
#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "podnet_harness.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::runCommand;

constexpr const char* kManifests = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nextgen-app:1.0
          ports:
            - {containerPort: 3000}
            - {containerPort: 3001, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 3000}
    - {name: udp, port: 53, targetPort: 3001, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nothing-matches}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: external}
spec:
  type: ExternalName
  externalName: example.com
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

std::string shellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::map<std::string, int> countLines(const std::string& text) {
  std::map<std::string, int> counts;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ++counts[line];
  return counts;
}

// On SQLite, and on a 3-member etcd with two API servers.
class ServicesE2E : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
    if (!fs::exists("/usr/bin/socat")) GTEST_SKIP() << "no socat";
    if (!fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "no nft (scripts/setup.sh installs it)";
    if (!GetParam().empty() && !fs::exists("/usr/bin/etcd")) GTEST_SKIP() << "no etcd-server";
    dataDir_ = fs::temp_directory_path() / ("podnet-svc-e2e-" + std::to_string(::getpid()));
    auto [code, output] = runCommand(std::string(PODNET_BINARY) + " up --nodes 3 --manifests '' " +
                                     GetParam() + " --data-dir " + dataDir_.string());
    ASSERT_EQ(code, 0) << output;
    up_ = true;
  }
  void TearDown() override {
    fs::remove(manifest_);
    if (!up_) return;
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " down --data-dir " + dataDir_.string());
    EXPECT_EQ(code, 0) << output;
    auto [c2, tables] = runCommand("nft list tables");
    EXPECT_EQ(tables.find("podnet-proxy"), std::string::npos)
        << "down leaves no nft table on the host";
  }
  std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand("KUBECONFIG=" + (dataDir_ / "server" / "kubeconfig").string() +
                      " /usr/bin/kubectl " + args);
  }
  std::string jsonpath(const std::string& what, const std::string& path) {
    auto [code, out] = kubectl("get " + what + " -o jsonpath='" + path + "'");
    return code == 0 ? out : "";
  }
  std::pair<int, std::string> inClient(const std::string& command) {
    return runCommand(std::string(PODNET_BINARY) + " exec --data-dir " + dataDir_.string() +
                      " client -- sh -c " + shellQuote(command));
  }
  // Names and nodes of the ready pods of app=web, once there are `count`.
  std::map<std::string, std::string> readyWebPods(size_t count) {
    std::map<std::string, std::string> pods;
    eventually(
        [&] {
          pods.clear();
          auto [code, out] = kubectl("get pods -l app=web -o json");
          Json list = Json::parse(out, nullptr, false);
          if (!list.is_object()) return false;
          for (const Json& pod : list["items"]) {
            if (pod["metadata"].contains("deletionTimestamp")) continue;
            for (const Json& c : pod["status"].value("conditions", Json::array()))
              if (c.value("type", "") == "Ready" && c.value("status", "") == "True")
                pods[pod["metadata"]["name"]] = pod["spec"].value("nodeName", "");
          }
          return pods.size() == count;
        },
        std::chrono::seconds(40));
    return pods;
  }

  fs::path dataDir_;
  fs::path manifest_;
  bool up_ = false;
};

TEST_P(ServicesE2E, ServicesBalanceRefuseStickAndFollowScaling) {
  manifest_ = dataDir_.string() + "-services.yaml";
  std::ofstream(manifest_) << kManifests;
  auto [applied, applyOut] = kubectl("apply -f " + manifest_.string());
  ASSERT_EQ(applied, 0) << applyOut;
  auto pods = readyWebPods(3);
  ASSERT_EQ(pods.size(), 3u);
  std::set<std::string> nodes;
  for (const auto& [pod, node] : pods) nodes.insert(node);
  ASSERT_EQ(nodes.size(), 3u) << "the 3 pods run on 3 nodes";
  ASSERT_TRUE(eventually([&] { return inClient("true").first == 0; }, std::chrono::seconds(30)));
  std::string clusterIp = jsonpath("svc web", "{.spec.clusterIP}");
  ASSERT_FALSE(clusterIp.empty());

  // A pod is Ready once its process runs (no readiness probe here); wait
  // until each one listens, so what follows measures the Service alone.
  std::string podIps = jsonpath("pods -l app=web", "{.items[*].status.podIP}");
  std::istringstream ipList(podIps);
  for (std::string podIp; ipList >> podIp;) {
    EXPECT_TRUE(eventually(
        [&] {
          return inClient("curl -sf -m 2 -o /dev/null http://" + podIp + ":3000/").first == 0;
        },
        std::chrono::seconds(20)))
        << podIp;
  }

  // 300 HTTP requests from a pod through the ClusterIP: every pod answers,
  // none gets more than half.
  auto [code, out] = inClient("for i in $(seq 300); do curl -s -m 2 http://" + clusterIp +
                              "/hostname; echo; done");
  auto counts = countLines(out);
  EXPECT_EQ(counts.size(), 3u) << out.substr(0, 400);
  int total = 0;
  for (const auto& [pod, n] : counts) {
    EXPECT_TRUE(pods.count(pod)) << pod;
    EXPECT_LE(n, 150) << pod;
    total += n;
  }
  EXPECT_EQ(total, 300);

  // The same over UDP.
  auto [udpCode, udpOut] = inClient(
      "for i in $(seq 300); do echo hostname | socat -t 0.1 -T 2 - UDP:" + clusterIp + ":53; done");
  auto udpCounts = countLines(udpOut);
  EXPECT_EQ(udpCounts.size(), 3u) << udpOut.substr(0, 400);
  int udpTotal = 0;
  for (const auto& [pod, n] : udpCounts) {
    EXPECT_LE(n, 150) << pod;
    udpTotal += n;
  }
  EXPECT_EQ(udpTotal, 300);

  // From the host: the NodePort on every node IP.
  for (const char* nodeIp : {"172.30.0.11", "172.30.0.12", "172.30.0.13"}) {
    auto [c, hostname] =
        runCommand(std::string("curl -s -m 3 http://") + nodeIp + ":30080/hostname");
    EXPECT_TRUE(pods.count(hostname)) << nodeIp << ": " << hostname;
  }
  // The LoadBalancer address answers from the host, and with
  // externalTrafficPolicy Local the pod sees the host's own address.
  std::string lbIp;
  eventually(
      [&] {
        return !(lbIp = jsonpath("svc web-lb", "{.status.loadBalancer.ingress[0].ip}")).empty();
      },
      std::chrono::seconds(10));
  ASSERT_FALSE(lbIp.empty());
  std::string seen;
  EXPECT_TRUE(eventually(
      [&] {
        seen = runCommand("curl -s -m 2 http://" + lbIp + "/clientip").second;
        return seen.rfind("172.30.0.1:", 0) == 0;
      },
      std::chrono::seconds(15)))
      << seen;

  // Session affinity: every request of one client goes to one pod.
  std::string stickyIp = jsonpath("svc sticky", "{.spec.clusterIP}");
  auto [sc, stickyOut] =
      inClient("for i in $(seq 20); do curl -s -m 2 http://" + stickyIp + "/hostname; echo; done");
  EXPECT_EQ(countLines(stickyOut).size(), 1u) << stickyOut;

  // A Service without endpoints refuses at once (curl exit 7, not a timeout).
  std::string nobodyIp = jsonpath("svc nobody", "{.spec.clusterIP}");
  auto [refused, refusedOut] = inClient("curl -s -m 5 http://" + nobodyIp + "/; echo exit=$?");
  EXPECT_NE(refusedOut.find("exit=7"), std::string::npos) << refusedOut;
  // ExternalName: no ClusterIP, kubectl shows the name.
  EXPECT_EQ(jsonpath("svc external", "{.spec.externalName}"), "example.com");

  // Cluster DNS: `podnet dns` runs as a pod behind kube-dns (10.96.0.10), so
  // names resolve through the service proxy, with the pod's search path.
  std::string dnsOut;
  EXPECT_TRUE(eventually(
      [&] {
        dnsOut = inClient("getent hosts web").second;
        return dnsOut.find(clusterIp) != std::string::npos;
      },
      std::chrono::seconds(30)))
      << dnsOut;
  for (const char* name : {"web", "web.default", "web.default.svc.cluster.local"}) {
    auto [c, hostname] = inClient(std::string("curl -s -m 3 http://") + name + "/hostname");
    EXPECT_TRUE(pods.count(hostname)) << name << ": " << hostname;
  }
  EXPECT_EQ(inClient("dig +short web.default.svc.cluster.local").second, clusterIp + "\n");
  EXPECT_NE(inClient("dig +short SRV _http._tcp.web.default.svc.cluster.local")
                .second.find(" 80 web.default.svc.cluster.local."),
            std::string::npos);
  EXPECT_EQ(inClient("dig +short -x " + clusterIp).second, "web.default.svc.cluster.local.\n");
  EXPECT_EQ(inClient("dig +short external.default.svc.cluster.local CNAME").second,
            "example.com.\n");
  EXPECT_NE(inClient("dig nothing.default.svc.cluster.local").second.find("status: NXDOMAIN"),
            std::string::npos);
  EXPECT_NE(inClient("dig web.default.svc.cluster.local AAAA").second.find("status: NOERROR"),
            std::string::npos);

  // Scale 3 -> 5 -> 1 and delete a pod while a request loop runs; count the
  // failures while changes apply, and require none once they have.
  std::string loop =
      "i=0; while [ $i -lt 400 ]; do i=$((i+1)); "
      "if curl -s -m 1 -o /dev/null http://" +
      clusterIp +
      "/hostname; "
      "then echo ok; else echo fail; fi; sleep 0.05; done";
  std::string loopOut;
  std::thread requests([&] { loopOut = inClient(loop).second; });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  kubectl("scale deployment web --replicas=5");
  readyWebPods(5);
  kubectl("scale deployment web --replicas=1");
  auto one = readyWebPods(1);
  if (!one.empty()) kubectl("delete pod " + one.begin()->first + " --wait=false");
  readyWebPods(1);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Once the replacement is ready and programmed: a settled window.
  auto [settledCode, settled] =
      inClient("for i in $(seq 50); do curl -s -m 1 -o /dev/null http://" + clusterIp +
               "/ && echo ok || echo fail; done");
  requests.join();
  auto loopCounts = countLines(loopOut);
  std::printf("[ services e2e ] during scaling: %d ok, %d failed requests\n", loopCounts["ok"],
              loopCounts["fail"]);
  EXPECT_GT(loopCounts["ok"], 0);
  auto settledCounts = countLines(settled);
  EXPECT_EQ(settledCounts["fail"], 0) << "requests failed after the changes were applied";
  EXPECT_EQ(settledCounts["ok"], 50);
}

INSTANTIATE_TEST_SUITE_P(Store, ServicesE2E, ::testing::Values("", "--etcd --servers 2"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.empty() ? "Sqlite" : "EtcdTwoServers";
                         });

}  // namespace
