#include "client/informer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "api/object.h"

namespace podnet::client {

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  key.append(ns).append("/").append(name);
  return key;
}

std::string objectKey(const Json& obj) { return objectKey(api::namespaceOf(obj), api::name(obj)); }

int64_t parseResourceVersion(std::string_view rv) {
  int64_t value = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), value);
  if (ec != std::errc() || p != rv.data() + rv.size()) return 0;
  return value;
}

Informer::Informer(Client& client, const ResourceInfo& resource, InformerOptions options)
    : client_(client), resource_(resource), options_(std::move(options)) {}

Informer::~Informer() { stop(); }

void Informer::addHandlers(EventHandlers handlers) {
  std::lock_guard delivery(deliveryMutex_);
  if (handlers.onAdd) {
    for (const auto& obj : list()) handlers.onAdd(*obj);
  }
  std::lock_guard lock(handlersMutex_);
  handlers_.push_back(std::move(handlers));
}

std::vector<EventHandlers> Informer::handlersSnapshot() {
  std::lock_guard lock(handlersMutex_);
  return handlers_;
}

void Informer::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Informer::requestStop() {
  stopping_ = true;
  {
    std::lock_guard lock(changeMutex_);
    ++changeCount_;
  }
  changed_.notify_all();
}

void Informer::stop() {
  requestStop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  return waitUntil([this] { return hasSynced(); }, timeout);
}

ObjectPtr Informer::get(std::string_view ns, std::string_view name) const {
  return getByKey(objectKey(resource_.namespaced ? ns : std::string_view{}, name));
}

Informer::Entry Informer::store(ObjectPtr object) const {
  if (!options_.encodedCache) return {std::move(object), {}};
  Entry entry;
  Json::to_msgpack(*object, entry.encoded);
  entry.encoded.shrink_to_fit();
  return entry;
}

ObjectPtr Informer::load(const Entry& entry) const {
  if (entry.object) return entry.object;
  Json decoded = Json::from_msgpack(entry.encoded, true, false);
  return std::make_shared<const Json>(decoded.is_discarded() ? Json::object() : std::move(decoded));
}

ObjectPtr Informer::getByKey(const std::string& key) const {
  std::shared_lock lock(cacheMutex_);
  auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : load(it->second);
}

std::vector<ObjectPtr> Informer::list(std::string_view ns) const {
  std::vector<ObjectPtr> out;
  std::shared_lock lock(cacheMutex_);
  if (ns.empty() || !resource_.namespaced) {
    out.reserve(cache_.size());
    for (const auto& [key, entry] : cache_) out.push_back(load(entry));
    return out;
  }
  std::string prefix = std::string(ns) + "/";
  for (auto it = cache_.lower_bound(prefix); it != cache_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(load(it->second));
  }
  return out;
}

void Informer::forEach(const std::function<void(const Json&)>& visit) const {
  std::vector<std::string> keys;
  {
    std::shared_lock lock(cacheMutex_);
    keys.reserve(cache_.size());
    for (const auto& [key, entry] : cache_) keys.push_back(key);
  }
  for (const auto& key : keys)
    if (ObjectPtr object = getByKey(key)) visit(*object);
}

void Informer::addIndex(const std::string& name, IndexFunc keysOf) {
  std::unique_lock lock(cacheMutex_);
  Index& index = indexes_[name];
  index.keysOf = std::move(keysOf);
  index.objects.clear();
  for (const auto& [key, entry] : cache_) {
    ObjectPtr object = load(entry);
    for (auto& value : index.keysOf(*object)) index.objects[std::move(value)].insert(key);
  }
}

std::vector<ObjectPtr> Informer::byIndex(std::string_view name, std::string_view value) const {
  std::vector<ObjectPtr> out;
  std::shared_lock lock(cacheMutex_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) return out;
  auto keys = index->second.objects.find(value);
  if (keys == index->second.objects.end()) return out;
  out.reserve(keys->second.size());
  for (const auto& key : keys->second) {
    auto it = cache_.find(key);
    if (it != cache_.end()) out.push_back(load(it->second));
  }
  return out;
}

void Informer::reindex(const std::string& key, const Json* before, const Json* after) {
  for (auto& [name, index] : indexes_) {
    std::vector<std::string> was = before ? index.keysOf(*before) : std::vector<std::string>{};
    std::vector<std::string> is = after ? index.keysOf(*after) : std::vector<std::string>{};
    if (was == is) continue;
    for (const auto& value : was) {
      auto it = index.objects.find(value);
      if (it == index.objects.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.objects.erase(it);
    }
    for (auto& value : is) index.objects[std::move(value)].insert(key);
  }
}

size_t Informer::size() const {
  std::shared_lock lock(cacheMutex_);
  return cache_.size();
}

int64_t Informer::lastSyncRevision() const {
  std::shared_lock lock(cacheMutex_);
  return revision_;
}

bool Informer::waitForRevision(int64_t rv, std::chrono::milliseconds timeout) const {
  return waitUntil([this, rv] { return lastSyncRevision() >= rv; }, timeout);
}

bool Informer::waitUntil(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen;
    {
      std::lock_guard lock(changeMutex_);
      seen = changeCount_;
    }
    if (pred()) return true;
    std::unique_lock lock(changeMutex_);
    if (!changed_.wait_until(lock, deadline, [&] { return changeCount_ != seen; })) return pred();
    if (stopping_) return pred();
  }
}

bool Informer::sleepUnlessStopped(std::chrono::milliseconds d) {
  std::unique_lock lock(changeMutex_);
  changed_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void Informer::noteRevision(int64_t rv) {
  {
    std::unique_lock lock(cacheMutex_);
    if (rv > revision_) revision_ = rv;
  }
  {
    std::lock_guard lock(changeMutex_);
    ++changeCount_;
  }
  changed_.notify_all();
}

void Informer::run() {
  auto backoff = std::chrono::milliseconds(100);
  nextResync_ = std::chrono::steady_clock::now() + options_.resyncPeriod;
  while (!stopping_) {
    auto rv = relist();
    if (!rv) {
      if (!sleepUnlessStopped(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    watchFrom(*rv);
  }
}

std::optional<std::string> Informer::relist() {
  ListOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  auto result = client_.list(resource_, options_.ns, opts);
  if (!result.ok()) {
    std::fprintf(stderr, "informer %s: list failed: %s\n", resource_.plural.c_str(),
                 result.error().message.c_str());
    return std::nullopt;
  }
  Json& listObj = result.value();
  std::string rv = api::getString(listObj, "/metadata/resourceVersion"_json_pointer);

  // With an encoded cache each item is encoded as it is read and its parsed
  // form freed, so a relist never holds two parsed copies of the resource.
  std::map<std::string, Entry> fresh;
  std::map<std::string, std::map<std::string, std::set<std::string>, std::less<>>, std::less<>>
      freshIndexes;
  if (listObj.contains("items") && listObj["items"].is_array()) {
    for (auto& item : listObj["items"]) {
      if (!item.is_object()) continue;
      std::string key = objectKey(item);
      if (options_.transform) options_.transform(item);
      auto object = std::make_shared<const Json>(std::move(item));
      for (const auto& [name, index] : indexes_)
        for (auto& value : index.keysOf(*object)) freshIndexes[name][std::move(value)].insert(key);
      fresh.emplace_hint(fresh.end(), std::move(key), store(std::move(object)));
    }
  }
  listObj = Json();

  std::lock_guard delivery(deliveryMutex_);
  std::map<std::string, Entry> old;
  {
    std::unique_lock lock(cacheMutex_);
    old.swap(cache_);
    cache_ = std::move(fresh);
    for (auto& [name, index] : indexes_) index.objects = std::move(freshIndexes[name]);
    revision_ = std::max(revision_, parseResourceVersion(rv));
  }
  synced_ = true;
  noteRevision(0);

  // Only this thread writes cache_, so it can be read entry by entry here,
  // without holding the lock while handlers run.
  std::vector<std::string> keys;
  {
    std::shared_lock lock(cacheMutex_);
    keys.reserve(cache_.size());
    for (const auto& [key, entry] : cache_) keys.push_back(key);
  }
  auto handlers = handlersSnapshot();
  for (const auto& key : keys) {
    ObjectPtr obj = getByKey(key);
    if (!obj) continue;
    auto it = old.find(key);
    if (it == old.end()) {
      for (auto& h : handlers)
        if (h.onAdd) h.onAdd(*obj);
      continue;
    }
    ObjectPtr before = load(it->second);
    if (api::resourceVersion(*before) != api::resourceVersion(*obj) ||
        api::uid(*before) != api::uid(*obj)) {
      for (auto& h : handlers)
        if (h.onUpdate) h.onUpdate(*before, *obj);
    }
  }
  for (const auto& [key, entry] : old) {
    if (std::binary_search(keys.begin(), keys.end(), key)) continue;
    ObjectPtr gone = load(entry);
    for (auto& h : handlers)
      if (h.onDelete) h.onDelete(*gone);
  }
  return rv;
}

void Informer::watchFrom(std::string rv) {
  ListOptions opts;
  opts.labelSelector = options_.labelSelector;
  opts.fieldSelector = options_.fieldSelector;
  opts.resourceVersion = rv;
  opts.allowWatchBookmarks = true;
  auto watcher = client_.watch(resource_, options_.ns, opts);
  if (!watcher.ok()) {
    std::fprintf(stderr, "informer %s: watch failed: %s\n", resource_.plural.c_str(),
                 watcher.error().message.c_str());
    sleepUnlessStopped(std::chrono::milliseconds(100));
    return;
  }
  while (!stopping_) {
    auto events = watcher.value()->next(options_.pollInterval);
    if (!events.ok()) return;  // 410 Expired or a broken stream: relist
    for (const auto& event : events.value()) {
      if (event.type == "ERROR") return;
      applyEvent(event);
    }
    resyncIfDue();
  }
}

void Informer::applyEvent(const WatchEvent& event) {
  int64_t rv = parseResourceVersion(api::resourceVersion(event.object));
  if (event.type == "BOOKMARK") {
    noteRevision(rv);
    return;
  }
  if (!event.object.is_object()) return;
  std::string key = objectKey(event.object);
  std::lock_guard delivery(deliveryMutex_);
  ObjectPtr old;
  ObjectPtr current;
  {
    std::unique_lock lock(cacheMutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) old = load(it->second);
    if (event.type == "DELETED") {
      if (it != cache_.end()) cache_.erase(it);
    } else {
      Json object = event.object;
      if (options_.transform) options_.transform(object);
      current = std::make_shared<const Json>(std::move(object));
      cache_[key] = store(current);
    }
    reindex(key, old.get(), current.get());
  }
  noteRevision(rv);
  auto handlers = handlersSnapshot();
  for (auto& h : handlers) {
    if (event.type == "DELETED") {
      if (h.onDelete) h.onDelete(old ? *old : event.object);
    } else if (old) {
      if (h.onUpdate) h.onUpdate(*old, *current);
    } else if (h.onAdd) {
      h.onAdd(*current);
    }
  }
}

void Informer::resyncIfDue() {
  if (options_.resyncPeriod.count() <= 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now < nextResync_) return;
  nextResync_ = now + options_.resyncPeriod;
  std::lock_guard delivery(deliveryMutex_);
  auto handlers = handlersSnapshot();
  for (const auto& obj : list())
    for (auto& h : handlers)
      if (h.onUpdate) h.onUpdate(*obj, *obj);
}

SharedInformers::SharedInformers(Client& client, InformerOptions defaults)
    : client_(client), defaults_(std::move(defaults)) {}

SharedInformers::~SharedInformers() { stop(); }

Informer& SharedInformers::forResource(const ResourceInfo& resource) {
  return forResource(resource, nullptr);
}

Informer& SharedInformers::forResource(const ResourceInfo& resource,
                                       std::function<void(Json&)> transform, bool encodedCache) {
  std::lock_guard lock(mutex_);
  std::string id = resource.qualifiedPlural();
  auto it = informers_.find(id);
  if (it != informers_.end()) return *it->second;
  InformerOptions options = defaults_;
  if (transform) options.transform = std::move(transform);
  if (encodedCache || encoded_.count(id)) options.encodedCache = true;
  auto informer = std::make_unique<Informer>(client_, resource, options);
  if (started_) informer->start();
  return *informers_.emplace(id, std::move(informer)).first->second;
}

void SharedInformers::keepEncoded(const ResourceInfo& resource) {
  std::lock_guard lock(mutex_);
  encoded_.insert(resource.qualifiedPlural());
}

void SharedInformers::start() {
  std::lock_guard lock(mutex_);
  started_ = true;
  for (auto& [id, informer] : informers_) informer->start();
}

void SharedInformers::stop() {
  std::lock_guard lock(mutex_);
  for (auto& [id, informer] : informers_) informer->requestStop();
  for (auto& [id, informer] : informers_) informer->stop();
}

bool SharedInformers::waitForSync(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Informer*> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, informer] : informers_) all.push_back(informer.get());
  }
  for (auto* informer : all) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    if (!informer->waitForSync(left)) return false;
  }
  return true;
}

}  // namespace podnet::client
