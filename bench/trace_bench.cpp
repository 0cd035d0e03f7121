// podnet trace on a `podnet up --nodes 3` cluster with N ClusterIP Services
// (default 1000) besides the seed's app: how long a trace takes (p50/p99 of
// the CLI's wall clock, which includes listing every Service, EndpointSlice
// and pod), and what tracing costs other traffic: TCP connect latency from
// another pod to the Service, in rounds that alternate
//   untraced          nothing armed
//   while armed       a trace armed on every node (its rule turns on the
//                     kernel's per-packet trace check) for a connection that
//                     never comes: the kernel's cost alone
//   while CLI traces  `podnet trace` running back to back on this machine:
//                     the kernel's cost plus the CLI's and agents' CPU
// No peer: no other tool traces a request on demand from the kernel's events
// (Hubble keeps a permanent flow log; ovnkube-trace simulates).
// Usage: trace_bench [--services N] [--traces N] [--connects N]
// (also: trace_bench --connect-loop IP PORT N, run inside a pod by the bench)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shell.h"

namespace {

using Clock = std::chrono::steady_clock;

using podnet::bench::run;

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  size_t index = std::min(values.size() - 1, size_t(p * double(values.size() - 1) + 0.5));
  return values[index];
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? -1 : sum / double(values.size());
}

// Connect latencies in microseconds, one per line on stdout.
int connectLoop(const char* ip, int port, int count) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, ip, &to.sin_addr);
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto start = Clock::now();
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    linger off{1, 0};  // RST on close: no TIME_WAIT pile-up over thousands of runs
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    ::close(fd);
    if (rc != 0) return 1;
    std::printf("%.1f\n", us);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--connect-loop")
    return connectLoop(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  int services = 1000, traces = 40, connects = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--services") services = std::atoi(argv[i + 1]);
    if (flag == "--traces") traces = std::atoi(argv[i + 1]);
    if (flag == "--connects") connects = std::atoi(argv[i + 1]);
  }
  if (::geteuid() != 0) {
    std::puts("{\"bench\":\"trace\",\"skipped\":\"needs root\"}");
    return 0;
  }
  std::string dataDir =
      (std::filesystem::temp_directory_path() / ("podnet-bench-" + std::to_string(::getpid())))
          .string();
  std::string podnet = PODNET_BINARY;
  auto down = [&] {
    run(podnet + " down --data-dir " + dataDir);
    std::filesystem::remove(dataDir + "-services.yaml");
  };
  auto [upCode, upOut] = run(podnet + " up --nodes 3 --manifests '' --data-dir " + dataDir);
  if (upCode != 0) {
    std::fprintf(stderr, "%s\n", upOut.c_str());
    down();
    return 1;
  }
  std::string env = "KUBECONFIG=" + dataDir + "/server/kubeconfig ";
  std::string kubectl = env + "kubectl ";
  {
    std::ofstream out(dataDir + "-services.yaml");
    // The seed's app: three pods behind app-service, then the other Services.
    out << "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nextgen-app}\nspec:\n"
           "  replicas: 3\n  selector: {matchLabels: {app: nextgen-app}}\n  template:\n"
           "    metadata: {labels: {app: nextgen-app}}\n    spec:\n"
           "      containers: [{name: app, image: nextgen-app:1.0, ports: [{containerPort: "
           "3000}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app-service}\n"
           "spec:\n  selector: {app: nextgen-app}\n  ports: [{port: 80, targetPort: 3000}]\n---\n";
    for (int i = 0; i < services; ++i)
      out << "apiVersion: v1\nkind: Service\nmetadata: {name: bench-" << i
          << "}\nspec:\n  selector: {app: nextgen-app}\n  ports: [{port: 80, targetPort: "
             "3000}]\n---\n";
  }
  run(kubectl + "apply --validate=false -f " + dataDir + "-services.yaml");
  run(kubectl + "run client --image=busybox --restart=Never -- sleep 3600");
  run(kubectl + "run probe --image=busybox --restart=Never -- sleep 3600");
  run(kubectl + "wait --for=condition=Ready pod --all --timeout=120s");
  std::string last = "bench-" + std::to_string(services - 1);
  std::string traceCommand = env + podnet + " trace client http://" + last + "/ >/dev/null";
  // Ready when the last Service answers through a trace.
  bool ready = false;
  for (int i = 0; i < 60 && !ready; ++i) {
    ready = run(traceCommand).first == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!ready) {
    std::fprintf(stderr, "the cluster never answered a trace:\n%s\n",
                 run(env + podnet + " trace client http://" + last + "/").second.c_str());
    down();
    return 1;
  }

  std::vector<double> traceMs;
  for (int i = 0; i < traces; ++i) {
    auto start = Clock::now();
    int code = run(traceCommand).first;
    if (code != 0) continue;
    traceMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }

  std::string clusterIp =
      run(kubectl + "get service app-service -o jsonpath={.spec.clusterIP}").second;
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto connectRound = [&](std::vector<double>& into) {
    auto [code, out] = run(podnet + " exec --data-dir " + dataDir + " probe -- " + self +
                           " --connect-loop " + clusterIp + " 80 " + std::to_string(connects));
    if (code != 0) return;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) into.push_back(std::atof(line.c_str()));
  };
  // Tracing armed on every node (its rule in place, which turns on the
  // kernel's trace check for every packet) for a connection that never
  // comes: the cost to everyone else's packets, without the CLI's own CPU.
  std::string pki = dataDir + "/server/pki/";
  auto nodeApi = [&](const std::string& ip, const std::string& action, const std::string& body) {
    return run("curl -sf --cacert " + pki + "ca.crt --cert " + pki + "kubelet-client.crt --key " +
               pki + "kubelet-client.key -X POST -d '" + body + "' https://" + ip +
               ":10250/trace/" + action)
               .first == 0;
  };
  std::vector<std::string> nodeIps = {"172.30.0.11", "172.30.0.12", "172.30.0.13"};
  std::vector<double> without, armed, withCli;
  int tracesDuring = 0;
  for (int round = 0; round < 5; ++round) {
    connectRound(without);
    for (const auto& ip : nodeIps)
      nodeApi(ip, "arm", R"({"id":"bench","protocol":"tcp","sourcePort":1,"ttlSeconds":60})");
    connectRound(armed);
    for (const auto& ip : nodeIps) nodeApi(ip, "collect", R"({"id":"bench"})");
    std::atomic<bool> stop{false};
    std::thread tracer([&] {
      while (!stop)
        if (run(traceCommand).first == 0) ++tracesDuring;
    });
    connectRound(withCli);
    stop = true;
    tracer.join();
  }
  auto summary = [&](const std::vector<double>& v) {
    return nlohmann::json{{"n", v.size()},
                          {"mean", mean(v)},
                          {"p50", percentile(v, 0.5)},
                          {"p99", percentile(v, 0.99)}};
  };
  auto change = [&](const std::vector<double>& v) {
    if (v.empty() || without.empty()) return 0.0;
    return 100.0 * (percentile(v, 0.5) - percentile(without, 0.5)) / percentile(without, 0.5);
  };
  nlohmann::json out = {{"bench", "trace"},
                        {"nodes", 3},
                        {"services", services + 2},
                        {"trace_ms",
                         {{"runs", traceMs.size()},
                          {"p50", percentile(traceMs, 0.5)},
                          {"p99", percentile(traceMs, 0.99)},
                          {"max", percentile(traceMs, 1.0)}}},
                        {"connect_us_untraced", summary(without)},
                        {"connect_us_while_armed", summary(armed)},
                        {"connect_us_while_cli_traces", summary(withCli)},
                        {"traces_during_connects", tracesDuring},
                        {"connect_p50_change_armed_percent", change(armed)},
                        {"connect_p50_change_cli_percent", change(withCli)}};
  std::printf("%s\n", out.dump().c_str());
  down();
  return 0;
}
