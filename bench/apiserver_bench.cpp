// apiserver_bench: starts the real podnet server and measures, over
// keep-alive HTTPS with the generated credentials:
//   - creates/s (ConfigMaps) from several connections,
//   - list latency with 10k objects (whole list and a 500-item page),
//   - watch delivery latency from the start of a write to the event.
// Prints one JSON document. Usage: apiserver_bench [connections] [creates]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>

#include "../tests/integration/podnet_harness.h"

using namespace podnet::testing;
using Clock = std::chrono::steady_clock;

namespace {

double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
  return values[index];
}

Json configMap(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"bench", "yes"}}}}},
          {"data", {{"key", "value of a typical small size"}}}};
}

}  // namespace

int main(int argc, char** argv) {
  int connections = argc > 1 ? std::atoi(argv[1]) : 8;
  int creates = argc > 2 ? std::atoi(argv[2]) : 10000;
  if (connections < 1) connections = 1;
  if (creates < connections) creates = connections;

  ServerProcess server;
  if (!server.start()) {
    std::fprintf(stderr, "server did not start:\n%s\n", server.log().c_str());
    return 1;
  }
  {
    auto api = server.client();
    for (const char* ns : {"bench", "watch"})
      api->post("/api/v1/namespaces", {{"metadata", {{"name", ns}}}});
  }

  // Creates over keep-alive connections, one thread per connection.
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  auto createStart = Clock::now();
  for (int c = 0; c < connections; ++c) {
    workers.emplace_back([&] {
      auto api = server.client();
      for (int i = next++; i < creates; i = next++) {
        auto body = configMap("cm-" + std::to_string(i)).dump();
        if (api->request("POST", "/api/v1/namespaces/bench/configmaps", body).status != 201)
          ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  double createSeconds = std::chrono::duration<double>(Clock::now() - createStart).count();

  // Fill up to 10k objects for the list measurements.
  {
    auto api = server.client();
    for (int i = creates; i < 10000; ++i)
      api->request("POST", "/api/v1/namespaces/bench/configmaps",
                   configMap("cm-" + std::to_string(i)).dump());
  }
  std::vector<double> fullList, pageList;
  size_t listed = 0, listBytes = 0;
  {
    auto api = server.client();
    for (int i = 0; i < 10; ++i) {
      auto start = Clock::now();
      auto result = api->get("/api/v1/namespaces/bench/configmaps");
      fullList.push_back(millis(Clock::now() - start));
      listBytes = result.body.size();
      listed = result.json()["items"].size();
    }
    for (int i = 0; i < 50; ++i) {
      auto start = Clock::now();
      api->get("/api/v1/namespaces/bench/configmaps?limit=500");
      pageList.push_back(millis(Clock::now() - start));
    }
  }

  // Watch delivery: one write at a time, timed from the start of the write
  // to the event arriving at the watcher.
  std::vector<double> delivery;
  {
    auto api = server.client();
    auto watch = server.watch("/api/v1/namespaces/watch/configmaps?watch=true");
    constexpr int kWrites = 1000;
    for (int i = 0; i < kWrites; ++i) {
      auto start = Clock::now();
      api->request("POST", "/api/v1/namespaces/watch/configmaps",
                   configMap("w-" + std::to_string(i)).dump());
      auto event = watch->next(std::chrono::seconds(5));
      if (!event) break;
      delivery.push_back(millis(event->received - start));
    }
  }

  Json report = {{"benchmark", "apiserver"},
                 {"transport", "HTTPS/1.1 keep-alive, bearer token"},
                 {"hardware_threads", std::thread::hardware_concurrency()},
                 {"create",
                  {{"connections", connections},
                   {"objects", creates},
                   {"failures", failures.load()},
                   {"seconds", createSeconds},
                   {"per_second", double(creates) / createSeconds}}},
                 {"list_10k",
                  {{"items", listed},
                   {"bytes", listBytes},
                   {"full_ms_p50", percentile(fullList, 50)},
                   {"full_ms_max", percentile(fullList, 100)},
                   {"page500_ms_p50", percentile(pageList, 50)},
                   {"page500_ms_p99", percentile(pageList, 99)}}},
                 {"watch_delivery",
                  {{"events", delivery.size()},
                   {"ms_p50", percentile(delivery, 50)},
                   {"ms_p99", percentile(delivery, 99)},
                   {"ms_max", percentile(delivery, 100)},
                   {"measured_from", "start of the POST that made the event"}}}};
  std::printf("%s\n", report.dump(2).c_str());
  return failures.load() == 0 ? 0 : 1;
}
