#include "client/events.h"

#include <chrono>
#include <cstdio>

#include "api/object.h"
#include "api/resource.h"

namespace podnet::client {

namespace {

std::string stringOf(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t countOf(const Json& event) {
  auto it = event.find("count");
  return it != event.end() && it->is_number_integer() ? it->get<int64_t>() : 1;
}

}  // namespace

EventRecorder::EventRecorder(client::Client& client, std::string component)
    : client_(client), component_(std::move(component)) {}

void EventRecorder::normal(const Json& object, const std::string& reason,
                           const std::string& message) {
  record(object, "Normal", reason, message);
}

void EventRecorder::warning(const Json& object, const std::string& reason,
                            const std::string& message) {
  record(object, "Warning", reason, message);
}

void EventRecorder::record(const Json& object, const std::string& type, const std::string& reason,
                           const std::string& message) {
  const auto& events = api::resource("Event");
  std::string ns = api::namespaceOf(object);
  if (ns.empty()) ns = "default";  // events of cluster-scoped objects, as upstream
  std::string now = api::nowRfc3339();
  std::string correlation = api::uid(object) + "\n" + type + "\n" + reason + "\n" + message;

  std::string existing;
  {
    std::lock_guard lock(mutex_);
    auto it = recent_.find(correlation);
    if (it != recent_.end()) existing = it->second;
  }
  if (!existing.empty()) {
    auto current = client_.get(events, ns, existing);
    if (current.ok()) {
      Json updated = std::move(current.value());
      updated["count"] = countOf(updated) + 1;
      updated["lastTimestamp"] = now;
      if (client_.update(events, ns, std::move(updated)).ok()) return;
    }
  }

  char suffix[32];
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos));
  std::string name = api::name(object) + "." + suffix;
  Json involved = {{"kind", stringOf(object, "kind")},
                   {"name", api::name(object)},
                   {"uid", api::uid(object)},
                   {"apiVersion", stringOf(object, "apiVersion")},
                   {"resourceVersion", api::resourceVersion(object)}};
  if (!api::namespaceOf(object).empty()) involved["namespace"] = api::namespaceOf(object);
  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"involvedObject", involved},
                {"reason", reason},
                {"message", message},
                {"type", type},
                {"source", {{"component", component_}}},
                {"reportingComponent", component_},
                {"reportingInstance", ""},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  if (client_.create(events, ns, std::move(event)).ok()) {
    std::lock_guard lock(mutex_);
    if (recent_.size() > 4096) recent_.clear();  // a bounded cache is enough to correlate
    recent_[correlation] = name;
  }
}

}  // namespace podnet::client
