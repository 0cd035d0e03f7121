// NamespaceLifecycle's view of the namespaces (whether one exists and
// whether it is being deleted), kept from a watch of the store as
// kube-apiserver's admission plugin keeps it in an informer, so that a create
// costs no extra store read. On etcd that read is a quorum round trip, half
// of what a create costs. A namespace the cache does not know is looked up
// in the store by the caller (it may have been created through another API
// server a moment ago), as upstream falls back to a live lookup.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "store/store.h"

namespace podnet::registry {

class NamespaceCache {
 public:
  explicit NamespaceCache(store::Store& store) : store_(store) {}
  ~NamespaceCache();
  NamespaceCache(const NamespaceCache&) = delete;
  NamespaceCache& operator=(const NamespaceCache&) = delete;

  enum class State { Unknown, Active, Terminating };
  // What the cache knows of `name` (starts following the store at the first call).
  State lookup(std::string_view name);
  // A write of this server, applied at once so its own next request sees
  // it: a namespace stored (the JSON as stored) or deleted.
  void stored(const std::string& name, const std::string& json, int64_t modRevision);
  void deleted(const std::string& name, int64_t modRevision);

 private:
  struct Entry {
    bool terminating = false;
    bool gone = false;
    int64_t modRevision = 0;
  };
  void apply(const std::string& name, Entry entry);
  void follow();

  store::Store& store_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  bool synced_ = false;
  std::once_flag started_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace podnet::registry
