// registry::Registry: the API server's storage layer. It turns client::Client
// calls into Store operations: defaulting, validation, admission hooks,
// metadata (uid, creationTimestamp, generation, resourceVersion), status and
// spec separation, graceful deletion, selectors, paging and watch.
//
// The HTTP layer (apiserver) and the in-process controllers both use it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "client/client.h"
#include "registry/namespace_cache.h"
#include "store/store.h"

namespace podnet::registry {

using api::Json;
using api::ResourceInfo;

// Admission: code that sees (and may change or refuse) every write of the
// kinds it cares about before it is stored, as kube-apiserver's admission
// plugins and REST strategies do (e.g. ClusterIP and NodePort allocation).
class AdmissionHook {
 public:
  virtual ~AdmissionHook() = default;
  // Before a create is stored (after defaulting, before validation).
  virtual core::Status admitCreate(const ResourceInfo& resource, Json& obj) { return core::Ok{}; }
  // Before an update is stored; `old` is the stored object.
  virtual core::Status admitUpdate(const ResourceInfo& resource, const Json& old, Json& obj) {
    return core::Ok{};
  }
  // A write failed after admit (e.g. AlreadyExists): undo what admit reserved.
  virtual void abortCreate(const ResourceInfo& resource, const Json& obj) {}
  virtual void abortUpdate(const ResourceInfo& resource, const Json& old, const Json& obj) {}
  // After a create or update (also the one that marks an object for
  // deletion) is stored; `obj` is what was stored.
  virtual void stored(const ResourceInfo& resource, const Json& obj) {}
  // After an object is finally removed from the store.
  virtual void deleted(const ResourceInfo& resource, const Json& old) {}
};

class Registry : public client::Client {
 public:
  explicit Registry(store::Store& store);
  ~Registry() override;

  void addAdmissionHook(std::shared_ptr<AdmissionHook> hook);

  core::Result<Json> create(const ResourceInfo& resource, std::string_view ns, Json obj,
                            const client::WriteOptions& options = {}) override;
  core::Result<Json> get(const ResourceInfo& resource, std::string_view ns,
                         std::string_view name) override;
  core::Result<Json> update(const ResourceInfo& resource, std::string_view ns, Json obj,
                            const client::WriteOptions& options = {}) override;
  core::Result<Json> remove(const ResourceInfo& resource, std::string_view ns,
                            std::string_view name,
                            const client::DeleteOptions& options = {}) override;
  core::Result<Json> list(const ResourceInfo& resource, std::string_view ns,
                          const client::ListOptions& options = {}) override;
  core::Result<std::unique_ptr<client::Watcher>> watch(const ResourceInfo& resource,
                                                       std::string_view ns,
                                                       const client::ListOptions& options) override;

  // Read-modify-write with retries on Conflict: `mutate` gets the current
  // object and edits it in place (returning an error aborts). Used by PATCH
  // and by controllers.
  core::Result<Json> guaranteedUpdate(const ResourceInfo& resource, std::string_view ns,
                                      std::string_view name,
                                      const std::function<core::Status(Json&)>& mutate,
                                      const client::WriteOptions& options = {});

  store::Store& store() { return store_; }

 private:
  core::Result<Json> decodeStored(const ResourceInfo& resource, const store::KeyValue& kv) const;
  std::vector<std::shared_ptr<AdmissionHook>> hooks();
  void notifyStored(const ResourceInfo& resource, const Json& obj);
  core::Result<Json> finalizeDelete(const ResourceInfo& resource, const std::string& key,
                                    const Json& current, int64_t modRevision);

  store::Store& store_;
  NamespaceCache namespaces_;
  std::mutex hooksMutex_;
  std::vector<std::shared_ptr<AdmissionHook>> hooks_;
};

}  // namespace podnet::registry
