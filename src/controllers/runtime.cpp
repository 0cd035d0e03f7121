#include "controllers/runtime.h"

#include <chrono>
#include <cstdio>

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

Controller::Controller(std::string name, Context& context)
    : name_(std::move(name)), context_(context) {}

Controller::~Controller() { stop(); }

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
    auto status = sync(*key);
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
