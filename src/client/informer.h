// client::Informer: a local cache of one resource kept current by list +
// watch, as client-go's SharedIndexInformer. Controllers read the cache (no
// round trip per decision) and react to add/update/delete handlers.
//
// One thread per informer lists, then watches from the list's
// resourceVersion; when the watch ends (410 Expired, an error, a dropped
// stream) it lists again and reports the difference to the handlers, so a
// consumer never misses a deletion.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/client.h"

namespace podnet::client {

using ObjectPtr = std::shared_ptr<const Json>;

// Called on the informer's thread, after the cache reflects the change and
// without any informer lock held (a handler may read the cache).
struct EventHandlers {
  std::function<void(const Json& obj)> onAdd;
  std::function<void(const Json& oldObj, const Json& newObj)> onUpdate;
  std::function<void(const Json& obj)> onDelete;
};

struct InformerOptions {
  std::string ns;             // "" = every namespace
  std::string labelSelector;  // passed to list and watch
  std::string fieldSelector;
  // Every period, onUpdate(obj, obj) for every cached object (0 = never), so
  // level-triggered consumers retry what they could not do before.
  std::chrono::milliseconds resyncPeriod{0};
  // How long one watch poll waits; bounds how fast stop() returns.
  std::chrono::milliseconds pollInterval{200};
  // Applied to every object before it is cached or handed to a handler
  // (client-go's SetTransform): a consumer that only reads keeps only the
  // fields it reads. It must keep metadata.name, namespace, uid and
  // resourceVersion (the cache's keys and relist's comparison). Never set it
  // on an informer whose objects are written back.
  std::function<void(Json&)> transform;
  // Keep cached objects encoded (MessagePack, a fraction of a parsed
  // object's memory) and decode them on get() and list(): for large
  // caches whose consumers read them seldom or keep their own compact form.
  // Handlers still get parsed objects.
  bool encodedCache = false;
};

// An index of an informer's cache (client-go's Indexers): the index values of
// one object, e.g. "ns/service-name" of an EndpointSlice.
using IndexFunc = std::function<std::vector<std::string>(const Json& obj)>;

// The cache key of an object: "ns/name", or "name" when cluster-scoped.
std::string objectKey(const Json& obj);
std::string objectKey(std::string_view ns, std::string_view name);
// "12" -> 12; anything else -> 0.
int64_t parseResourceVersion(std::string_view rv);

class Informer {
 public:
  Informer(Client& client, const ResourceInfo& resource, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers added after start() first get onAdd for every cached object.
  void addHandlers(EventHandlers handlers);
  void start();
  void stop();
  // The first half of stop(): tells the thread to end, without waiting
  // (SharedInformers stops them all at once, then joins).
  void requestStop();

  const ResourceInfo& resource() const { return resource_; }
  bool hasSynced() const { return synced_.load(); }
  bool waitForSync(std::chrono::milliseconds timeout) const;

  ObjectPtr get(std::string_view ns, std::string_view name) const;
  ObjectPtr getByKey(const std::string& key) const;
  // Objects of one namespace ("" = all), in key order.
  std::vector<ObjectPtr> list(std::string_view ns = {}) const;
  // Visits every object in key order, each loaded on its own (with an
  // encoded cache, decoded one at a time: never the whole cache parsed at
  // once). `visit` may read the informer.
  void forEach(const std::function<void(const Json&)>& visit) const;
  // Indexes the cache by `keysOf` (call before start()). byIndex() then finds
  // the objects with one index value without reading (or, with an encoded
  // cache, decoding) the others.
  void addIndex(const std::string& name, IndexFunc keysOf);
  // Objects whose index `name` holds `value`, in key order.
  std::vector<ObjectPtr> byIndex(std::string_view name, std::string_view value) const;
  size_t size() const;

  // The resourceVersion the cache reflects: every change of this resource up
  // to it has been applied (watch events arrive in revision order).
  int64_t lastSyncRevision() const;
  // Waits until the cache has seen revision `rv` (e.g. the result of our own
  // write), so the next decision does not act on a stale cache.
  bool waitForRevision(int64_t rv, std::chrono::milliseconds timeout) const;
  // Waits until `pred` (which may read the cache) holds, rechecking after
  // every change.
  bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) const;

 private:
  void run();
  // Lists and replaces the cache, reporting the difference; returns the
  // list's resourceVersion, or nullopt on error.
  std::optional<std::string> relist();
  // Watches from `rv` until an error or stop; returns normally to relist.
  void watchFrom(std::string rv);
  void applyEvent(const WatchEvent& event);
  void resyncIfDue();
  void noteRevision(int64_t rv);
  bool sleepUnlessStopped(std::chrono::milliseconds d);
  std::vector<EventHandlers> handlersSnapshot();

  Client& client_;
  ResourceInfo resource_;
  InformerOptions options_;

  // One cached object: parsed, or encoded (InformerOptions::encodedCache).
  struct Entry {
    ObjectPtr object;
    std::string encoded;
  };
  Entry store(ObjectPtr object) const;
  ObjectPtr load(const Entry& entry) const;

  struct Index {
    IndexFunc keysOf;
    std::map<std::string, std::set<std::string>, std::less<>> objects;  // value -> keys
  };
  // Under cacheMutex_: the object with cache key `key` was `before` (or
  // null) and is now `after` (or null).
  void reindex(const std::string& key, const Json* before, const Json* after);

  mutable std::shared_mutex cacheMutex_;
  std::map<std::string, Entry> cache_;
  std::map<std::string, Index, std::less<>> indexes_;
  int64_t revision_ = 0;

  std::mutex handlersMutex_;
  std::vector<EventHandlers> handlers_;
  // Serializes delivery so handlers added late get a consistent replay.
  std::mutex deliveryMutex_;

  mutable std::mutex changeMutex_;
  mutable std::condition_variable changed_;
  uint64_t changeCount_ = 0;

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point nextResync_;
  std::thread thread_;
};

// One informer per resource shared by every consumer in a process, as
// client-go's SharedInformerFactory: one list+watch however many readers.
class SharedInformers {
 public:
  explicit SharedInformers(Client& client, InformerOptions defaults = {});
  ~SharedInformers();
  // The informer of `resource` (every namespace), created on first use.
  Informer& forResource(const ResourceInfo& resource);
  // The same, with `transform` and `encodedCache` (InformerOptions) if this
  // call creates it. Every consumer of one process's informer shares its
  // objects, so the transform must keep what all of them read.
  Informer& forResource(const ResourceInfo& resource, std::function<void(Json&)> transform,
                        bool encodedCache = false);
  // Informers of `resource` created from now on keep their cache encoded
  // (InformerOptions::encodedCache): for large resources whose consumers
  // read objects by key or by index, not by scanning them all.
  void keepEncoded(const ResourceInfo& resource);
  // Starts every informer created so far (and any created later at once).
  void start();
  void stop();
  bool waitForSync(std::chrono::milliseconds timeout) const;

 private:
  Client& client_;
  InformerOptions defaults_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;
  std::set<std::string> encoded_;
  bool started_ = false;
};

}  // namespace podnet::client
