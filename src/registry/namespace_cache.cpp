#include "registry/namespace_cache.h"

#include <chrono>
#include <set>

#include "api/codec.h"
#include "api/resource.h"

namespace podnet::registry {

namespace {

bool terminating(const std::string& json) {
  auto obj = api::decodeJson(json);
  if (!obj.ok() || !obj->is_object()) return false;
  auto meta = obj->find("metadata");
  return meta != obj->end() && meta->is_object() && meta->contains("deletionTimestamp") &&
         !(*meta)["deletionTimestamp"].is_null();
}

}  // namespace

NamespaceCache::~NamespaceCache() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

NamespaceCache::State NamespaceCache::lookup(std::string_view name) {
  std::call_once(started_, [this] { thread_ = std::thread([this] { follow(); }); });
  std::lock_guard lock(mutex_);
  if (!synced_) return State::Unknown;
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.gone) return State::Unknown;
  return it->second.terminating ? State::Terminating : State::Active;
}

void NamespaceCache::stored(const std::string& name, const std::string& json, int64_t modRevision) {
  apply(name, Entry{terminating(json), false, modRevision});
}

void NamespaceCache::deleted(const std::string& name, int64_t modRevision) {
  apply(name, Entry{false, true, modRevision});
}

void NamespaceCache::apply(const std::string& name, Entry entry) {
  std::lock_guard lock(mutex_);
  auto& current = entries_[name];
  // Events and this server's own writes may arrive in either order: the
  // newer revision wins.
  if (entry.modRevision >= current.modRevision) current = entry;
}

void NamespaceCache::follow() {
  const std::string prefix = api::resource("Namespace").storagePrefix;
  while (!stopping_) {
    // List, then watch from the list's revision; a watch that fails (410,
    // a lost etcd member past recovery) lists again.
    auto listed = store_.list(prefix, "", 0, 0);
    if (!listed.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    std::set<std::string> present;
    for (const auto& kv : listed->items) {
      present.insert(kv.key.substr(prefix.size()));
      apply(kv.key.substr(prefix.size()), Entry{terminating(kv.value), false, kv.modRevision});
    }
    {
      // Deleted while no watch ran (a relist after a broken one): gone.
      std::lock_guard lock(mutex_);
      for (auto& [name, entry] : entries_)
        if (!present.count(name) && entry.modRevision <= listed->revision) entry.gone = true;
    }
    {
      std::lock_guard lock(mutex_);
      synced_ = true;
    }
    auto watch = store_.watch(prefix, listed->revision);
    if (!watch.ok()) continue;
    while (!stopping_) {
      auto events = (*watch)->next(std::chrono::milliseconds(200));
      if (!events.ok()) break;
      for (const auto& event : *events) {
        std::string name = event.kv.key.substr(prefix.size());
        if (event.type == store::Event::Type::Delete)
          deleted(name, event.kv.modRevision);
        else
          stored(name, event.kv.value, event.kv.modRevision);
      }
    }
  }
}

}  // namespace podnet::registry
