// The SQLite store alone, without HTTP or codecs: write throughput on one
// thread, a 10k-item list from memory (and from history), and the latency
// from the start of a write to its event arriving at a blocked watcher.
// Prints one JSON object.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
using podnet::store::Store;

constexpr int kWrites = 20000;
constexpr int kListKeys = 10000;
constexpr int kWatchSamples = 2000;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string keyOf(int i) {
  char name[64];
  snprintf(name, sizeof name, "/registry/pods/default/pod-%06d", i);
  return name;
}

[[noreturn]] void fail(const char* what, const podnet::core::Error& error) {
  fprintf(stderr, "store_bench: %s: %s\n", what, error.message.c_str());
  exit(1);
}

double percentile(std::vector<double> samples, double fraction) {
  std::sort(samples.begin(), samples.end());
  return samples[static_cast<size_t>(fraction * static_cast<double>(samples.size() - 1))];
}

}  // namespace

int main() {
  std::string dir = "/tmp/podnet-store-bench-XXXXXX";
  if (!mkdtemp(dir.data())) return 1;
  const std::string path = dir + "/db.sqlite";
  // A small Pod-sized value: the cost per write is mostly the commit.
  const std::string value(600, 'x');

  auto opened = podnet::store::openSqlite({.path = path});
  if (!opened.ok()) fail("open", opened.error());
  std::unique_ptr<Store> store = std::move(opened).value();

  auto start = Clock::now();
  for (int i = 0; i < kWrites; ++i) {
    auto created = store->create(keyOf(i), value);
    if (!created.ok()) fail("create", created.error());
  }
  const double createsPerSec = kWrites / secondsSince(start);

  start = Clock::now();
  for (int i = 0; i < kWrites; ++i) {
    auto updated = store->update(keyOf(i), value, 0);
    if (!updated.ok()) fail("update", updated.error());
  }
  const double updatesPerSec = kWrites / secondsSince(start);

  // Lists of 10k keys: at the current revision (memory) and at an older one
  // (the history table). Best of a few runs.
  const int64_t afterCreates = kWrites;
  double listMs = 1e9, historyListMs = 1e9;
  for (int run = 0; run < 5; ++run) {
    start = Clock::now();
    auto listed = store->list("/registry/pods/", "", kListKeys, 0);
    if (!listed.ok() || listed->items.size() != kListKeys) fail("list", listed.error());
    listMs = std::min(listMs, secondsSince(start) * 1e3);
    start = Clock::now();
    auto past = store->list("/registry/pods/", "", kListKeys, afterCreates);
    if (!past.ok() || past->items.size() != kListKeys) fail("history list", past.error());
    historyListMs = std::min(historyListMs, secondsSince(start) * 1e3);
  }

  // Watch latency: one write at a time, timed from the start of the write
  // until a watcher blocked in next() has the event.
  auto watched = store->watch("/registry/leases/", store->revision());
  if (!watched.ok()) fail("watch", watched.error());
  std::unique_ptr<podnet::store::Watch> watch = std::move(watched).value();
  std::vector<Clock::time_point> writeStarts(kWatchSamples), arrivals(kWatchSamples);
  std::atomic<int> arrived{0};
  std::thread watcher([&] {
    while (arrived < kWatchSamples) {
      auto events = watch->next(std::chrono::seconds(5));
      if (!events.ok()) fail("watch next", events.error());
      if (events->empty()) fail("watch next", podnet::core::internal("no event in 5s"));
      auto now = Clock::now();
      for (size_t n = 0; n < events->size(); ++n) arrivals[arrived++] = now;
    }
  });
  for (int i = 0; i < kWatchSamples; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // let the watcher block
    writeStarts[i] = Clock::now();
    auto created = store->create("/registry/leases/l-" + std::to_string(i), "lease");
    if (!created.ok()) fail("create lease", created.error());
    while (arrived <= i) std::this_thread::yield();
  }
  watcher.join();
  std::vector<double> latenciesUs;
  for (int i = 0; i < kWatchSamples; ++i)
    latenciesUs.push_back(
        std::chrono::duration<double, std::micro>(arrivals[i] - writeStarts[i]).count());

  store.reset();
  start = Clock::now();
  auto reopened = podnet::store::openSqlite({.path = path});
  if (!reopened.ok()) fail("reopen", reopened.error());
  const double reopenMs = secondsSince(start) * 1e3;
  reopened.value().reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);

  printf(
      "{\"creates_per_sec\":%.0f,\"updates_per_sec\":%.0f,\"list_10k_ms\":%.2f,"
      "\"list_10k_history_ms\":%.2f,\"watch_p50_us\":%.1f,\"watch_p99_us\":%.1f,"
      "\"reopen_%dk_keys_ms\":%.1f}\n",
      createsPerSec, updatesPerSec, listMs, historyListMs, percentile(latenciesUs, 0.5),
      percentile(latenciesUs, 0.99), kWrites / 1000, reopenMs);
  return 0;
}
