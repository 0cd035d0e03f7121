// Time from creating N pods on one node to all of them Ready, on a real
// `podnet up --nodes 1` cluster (busybox sleep pods: netns, CNI ADD, process,
// status write-back). Prints one JSON object. Usage: cluster_bench [N]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "shell.h"

using podnet::bench::run;

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 100;
  if (::geteuid() != 0) {
    std::puts("{\"bench\":\"pods_ready\",\"skipped\":\"needs root\"}");
    return 0;
  }
  std::string dataDir =
      (std::filesystem::temp_directory_path() / ("podnet-bench-" + std::to_string(::getpid())))
          .string();
  std::string podnet = PODNET_BINARY;
  auto [upCode, upOut] = run(podnet + " up --nodes 1 --manifests '' --data-dir " + dataDir);
  if (upCode != 0) {
    std::fprintf(stderr, "%s\n", upOut.c_str());
    run(podnet + " down --data-dir " + dataDir);
    return 1;
  }
  std::string kubectl = "KUBECONFIG=" + dataDir + "/server/kubeconfig kubectl ";
  std::string manifest = dataDir + "-pods.yaml";
  {
    std::ofstream out(manifest);
    for (int i = 0; i < count; ++i)
      out << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bench-" << i
          << "\n  labels: {app: bench}\nspec:\n  containers:\n  - name: main\n    image: "
             "busybox\n    args: [sleep, \"3600\"]\n---\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto [applyCode, applyOut] = run(kubectl + "apply -f " + manifest);
  double appliedMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  double readyMs = -1;
  int ready = 0;
  while (applyCode == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(120)) {
    auto [code, out] = run(kubectl + "get pods -l app=bench -o json");
    nlohmann::json list = nlohmann::json::parse(out, nullptr, false);
    ready = 0;
    if (list.is_object())
      for (const auto& pod : list["items"])
        for (const auto& condition : pod["status"].value("conditions", nlohmann::json::array()))
          if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True")
            ++ready;
    if (ready == count) {
      readyMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  run(podnet + " down --data-dir " + dataDir);
  std::filesystem::remove(manifest);
  nlohmann::json result = {{"bench", "pods_ready"}, {"pods", count},           {"nodes", 1},
                           {"apply_ms", appliedMs}, {"all_ready_ms", readyMs}, {"ready", ready},
                           {"goal_ms", 5000}};
  std::puts(result.dump().c_str());
  return readyMs < 0 ? 1 : 0;
}
