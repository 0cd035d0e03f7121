#include "controllers/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>

#include "api/object.h"
#include "controllers/util.h"

namespace podnet::controllers {

std::pair<std::string, std::string> splitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

void enqueueOwner(WorkQueue& queue, const Json& obj, const std::string& kind) {
  auto owner = controllerOf(obj);
  if (owner && owner->kind == kind)
    queue.add(client::objectKey(api::namespaceOf(obj), owner->name));
}

namespace {

// The controllers alive in this process, for /metrics (the leader's set
// comes and goes with its lease).
std::mutex runningMutex;
std::set<const Controller*> running;

}  // namespace

Controller::Controller(std::string name, Context& context)
    : name_(std::move(name)),
      context_(context),
      workDuration_(metrics::exponentialBuckets(1e-8, 10, 10)) {
  std::lock_guard lock(runningMutex);
  running.insert(this);
}

Controller::~Controller() {
  stop();
  std::lock_guard lock(runningMutex);
  running.erase(this);
}

void writeControllerMetrics(metrics::Writer& out) {
  std::lock_guard lock(runningMutex);
  std::vector<const Controller*> all(running.begin(), running.end());
  std::sort(all.begin(), all.end(),
            [](const Controller* a, const Controller* b) { return a->name() < b->name(); });
  auto each = [&](const char* name, const char* help, metrics::Type type, auto value) {
    out.family(name, help, type);
    for (const Controller* c : all) out.sample(name, {{"name", c->name()}}, value(*c));
  };
  each("workqueue_depth", "Current depth of workqueue", metrics::Type::gauge,
       [](const Controller& c) { return uint64_t(c.queue_.length()); });
  each("workqueue_adds_total", "Total number of adds handled by workqueue", metrics::Type::counter,
       [](const Controller& c) { return c.queue_.adds(); });
  each("workqueue_retries_total", "Total number of retries handled by workqueue",
       metrics::Type::counter, [](const Controller& c) { return c.queue_.retries(); });
  out.family("workqueue_work_duration_seconds",
             "How long in seconds processing an item from workqueue takes.",
             metrics::Type::histogram);
  for (const Controller* c : all)
    out.histogram("workqueue_work_duration_seconds", {{"name", c->name()}},
                  c->workDuration_.bounds(), c->workDuration_.snapshot());
}

core::Status Controller::writeStatus(const api::ResourceInfo& resource, const Json& obj,
                                     const Json& status, client::Informer& informer) {
  if (obj.contains("status") && obj["status"] == status) return core::Ok{};
  Json updated = obj;
  updated["status"] = status;
  client::WriteOptions options;
  options.subresource = "status";
  auto written =
      context_.registry.update(resource, api::namespaceOf(obj), std::move(updated), options);
  if (!written.ok())
    return written.error().code == 404 ? core::Status(core::Ok{}) : written.takeError();
  informer.waitForRevision(revisionOf(*written), std::chrono::seconds(2));
  return core::Ok{};
}

void Controller::startWorkers(int count) {
  for (int i = 0; i < count; ++i) workers_.emplace_back([this] { work(); });
}

void Controller::stop() {
  queue_.shutDown();
  for (auto& worker : workers_)
    if (worker.joinable()) worker.join();
  workers_.clear();
}

void Controller::work() {
  while (auto key = queue_.get()) {
    auto started = std::chrono::steady_clock::now();
    auto status = sync(*key);
    workDuration_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (status.ok()) {
      queue_.forget(*key);
    } else {
      // Conflicts are routine (someone wrote first): retry quietly.
      if (status.error().reason != "Conflict" && queue_.failures(*key) < 3)
        std::fprintf(stderr, "controller %s: sync %s: %s\n", name_.c_str(), key->c_str(),
                     status.error().message.c_str());
      queue_.addRateLimited(*key);
    }
    queue_.done(*key);
  }
}

}  // namespace podnet::controllers
