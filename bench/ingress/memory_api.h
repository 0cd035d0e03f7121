// The podnet side of the config-churn test: podnet's Ingress controller and
// proxy (the same Controller and Proxy as `podnet ingress --kubeconfig`)
// over an in-memory API instead of a real API server, in a child process of
// the bench (`ingress_bench --serve-podnet-memory-api ...`).
//
// Why not the real `podnet server` + kubectl: the API server validates
// EndpointSlices as kube-apiserver does, and refuses loopback endpoint
// addresses ("may not be in the loopback range"), while the benchmark's
// backend must stay on 127.0.0.1. `podnet ingress --objects` reads its file
// once and cannot change. The in-memory API keeps the rest of the path:
// list + watch through client::Informer, the controller's compile on a
// change, Proxy::publish, and the proxy threads picking up the new snapshot.
//
// Each SIGUSR1 changes the Ingress once (an extra path /churn-N in place of
// the previous one, a new generation), as `kubectl apply` of an edited
// Ingress would. When it stops (SIGTERM) the helper prints one JSON line: the
// changes made and, per change, how long until the proxy published the new
// routing table.
#pragma once

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/object.h"
#include "api/resource.h"
#include "client/client.h"
#include "client/informer.h"
#include "ingress/controller.h"
#include "ingress/ingress_main.h"
#include "ingress/proxy.h"
#include "objects.h"

namespace ingressbench {

using podnet::client::Json;
namespace client = podnet::client;
namespace core = podnet::core;

// Objects by resource and key, every write a new revision and a watch event.
// Only what the controller does is implemented: list, watch, get, update
// (status), create (Events: accepted and dropped).
class MemoryApi : public client::Client {
 public:
  void put(const podnet::api::ResourceInfo& resource, Json object) {
    std::lock_guard lock(mutex_);
    store(resource, std::move(object));
  }

  core::Result<Json> create(const podnet::api::ResourceInfo& resource, std::string_view ns,
                            Json obj, const client::WriteOptions&) override {
    if (resource.plural == "events") return obj;  // the controller's Events: not kept
    std::lock_guard lock(mutex_);
    if (!obj["metadata"].contains("namespace") && resource.namespaced)
      obj["metadata"]["namespace"] = std::string(ns);
    return store(resource, std::move(obj));
  }

  core::Result<Json> get(const podnet::api::ResourceInfo& resource, std::string_view ns,
                         std::string_view name) override {
    std::lock_guard lock(mutex_);
    auto& objects = objects_[resource.plural];
    auto it = objects.find(client::objectKey(resource.namespaced ? ns : "", name));
    if (it == objects.end())
      return core::notFound(resource.group, resource.plural, std::string(name));
    return it->second;
  }

  core::Result<Json> update(const podnet::api::ResourceInfo& resource, std::string_view, Json obj,
                            const client::WriteOptions&) override {
    std::lock_guard lock(mutex_);
    return store(resource, std::move(obj));
  }

  core::Result<Json> remove(const podnet::api::ResourceInfo& resource, std::string_view,
                            std::string_view name, const client::DeleteOptions&) override {
    return core::notFound(resource.group, resource.plural, std::string(name));
  }

  core::Result<Json> list(const podnet::api::ResourceInfo& resource, std::string_view ns,
                          const client::ListOptions&) override {
    std::lock_guard lock(mutex_);
    Json items = Json::array();
    for (const auto& [key, object] : objects_[resource.plural])
      if (ns.empty() || podnet::api::namespaceOf(object) == ns) items.push_back(object);
    return Json{{"kind", resource.listKind()},
                {"apiVersion", resource.apiVersion()},
                {"metadata", {{"resourceVersion", std::to_string(revision_)}}},
                {"items", std::move(items)}};
  }

  core::Result<std::unique_ptr<client::Watcher>> watch(
      const podnet::api::ResourceInfo& resource, std::string_view ns,
      const client::ListOptions& options) override {
    return std::unique_ptr<client::Watcher>(
        new MemoryWatcher(*this, resource.plural, std::string(ns),
                          client::parseResourceVersion(options.resourceVersion)));
  }

 private:
  struct LoggedEvent {
    int64_t revision;
    std::string plural;
    client::WatchEvent event;
  };

  class MemoryWatcher : public client::Watcher {
   public:
    MemoryWatcher(MemoryApi& api, std::string plural, std::string ns, int64_t after)
        : api_(api), plural_(std::move(plural)), ns_(std::move(ns)), after_(after) {}

    core::Result<std::vector<client::WatchEvent>> next(std::chrono::milliseconds timeout) override {
      std::unique_lock lock(api_.mutex_);
      std::vector<client::WatchEvent> events;
      auto collect = [&] {
        for (const auto& logged : api_.log_) {
          if (logged.revision <= after_) continue;
          after_ = logged.revision;
          if (logged.plural != plural_) continue;
          if (!ns_.empty() && podnet::api::namespaceOf(logged.event.object) != ns_) continue;
          events.push_back(logged.event);
        }
        return !events.empty();
      };
      api_.changed_.wait_for(lock, timeout, collect);
      return events;
    }

   private:
    MemoryApi& api_;
    std::string plural_, ns_;
    int64_t after_;
  };

  Json store(const podnet::api::ResourceInfo& resource, Json object) {
    auto& meta = object["metadata"];
    meta["resourceVersion"] = std::to_string(++revision_);
    if (!meta.contains("uid")) meta["uid"] = "memory-" + std::to_string(revision_);
    if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = "2026-01-01T00:00:00Z";
    std::string key = client::objectKey(object);
    auto& objects = objects_[resource.plural];
    std::string type = objects.count(key) ? "MODIFIED" : "ADDED";
    objects[key] = object;
    log_.push_back({revision_, resource.plural, {type, object}});
    changed_.notify_all();
    return object;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t revision_ = 1;
  std::map<std::string, std::map<std::string, Json>> objects_;  // plural -> key -> object
  std::vector<LoggedEvent> log_;
};

inline std::atomic<int> churnRequests{0};
inline std::atomic<bool> helperStopping{false};

// `ingress_bench --serve-podnet-memory-api OBJECTS HTTP_LISTEN HTTPS_LISTEN
// METRICS_LISTEN`: see the top of this file. Exit code 0 after SIGTERM.
inline int serveWithMemoryApi(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: ingress_bench --serve-podnet-memory-api OBJECTS HTTP HTTPS METRICS\n");
    return 2;
  }
  signal(SIGUSR1, [](int) { churnRequests.fetch_add(1); });
  signal(SIGTERM, [](int) { helperStopping = true; });
  signal(SIGINT, [](int) { helperStopping = true; });
  signal(SIGPIPE, SIG_IGN);

  auto inputs = podnet::ingress::loadRouteInputs(argv[2]);
  if (!inputs) {
    std::fprintf(stderr, "memory api: %s\n", inputs.error().message.c_str());
    return 1;
  }
  MemoryApi api;
  for (auto list : {&inputs->ingresses, &inputs->ingressClasses, &inputs->services,
                    &inputs->endpointSlices, &inputs->secrets})
    for (const auto& object : *list)
      api.put(podnet::api::resource(object->value("kind", "")), *object);

  podnet::ingress::ProxyOptions proxyOptions;
  proxyOptions.httpListen = argv[3];
  proxyOptions.httpsListen = argv[4];
  proxyOptions.metricsListen = argv[5];
  proxyOptions.threads = 1;
  podnet::ingress::Proxy proxy(proxyOptions);
  podnet::ingress::Controller* controllerForReadiness = nullptr;
  proxy.setReadyCheck([&controllerForReadiness] {
    return controllerForReadiness && controllerForReadiness->ready();
  });
  if (auto started = proxy.start(); !started) {
    std::fprintf(stderr, "memory api: %s\n", started.error().message.c_str());
    return 1;
  }
  podnet::ingress::Controller controller(api, proxy, {});
  controllerForReadiness = &controller;
  controller.start();

  // Changes, applied by this thread; for each, the time until the proxy's
  // generation moved past the one before the change.
  std::vector<double> publishMs;
  int changes = 0, unpublished = 0;
  const auto& ingressResource = podnet::api::resource("Ingress");
  while (!helperStopping) {
    if (churnRequests.load() <= changes) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // changes come once a second
      continue;
    }
    ++changes;
    Json ingress = benchIngress();
    ingress["metadata"]["generation"] = 1 + changes;
    ingress["spec"]["rules"][0]["http"]["paths"].push_back(
        ingressPath("/churn-" + std::to_string(changes)));
    uint64_t before = proxy.generation();
    auto start = std::chrono::steady_clock::now();
    api.put(ingressResource, ingress);
    bool published = false;
    while (!helperStopping && std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
      if (proxy.generation() > before) {
        published = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (published)
      publishMs.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    else
      ++unpublished;
  }
  controller.stop();
  proxy.stop();
  std::sort(publishMs.begin(), publishMs.end());
  nlohmann::json report{
      {"changes", changes}, {"unpublished_within_2s", unpublished}, {"publish_ms", publishMs}};
  std::printf("%s\n", report.dump().c_str());
  return 0;
}

}  // namespace ingressbench
