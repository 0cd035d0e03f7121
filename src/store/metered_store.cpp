#include "store/metered_store.h"

#include <chrono>

namespace podnet::store {

std::string keyType(std::string_view key) {
  constexpr std::string_view kRegistry = "/registry/";
  if (key.rfind(kRegistry, 0) == 0) key.remove_prefix(kRegistry.size());
  while (!key.empty() && key.front() == '/') key.remove_prefix(1);
  std::string_view first = key.substr(0, key.find('/'));
  // Custom resources and some built-ins are under their group: keep two segments.
  if (first.find('.') != std::string_view::npos) {
    size_t second = key.find('/', first.size() + 1);
    return std::string(key.substr(0, second));
  }
  return std::string(first);
}

MeteredStore::MeteredStore(std::unique_ptr<Store> inner, std::function<int64_t()> size)
    : inner_(std::move(inner)),
      size_(std::move(size)),
      durations_("etcd_request_duration_seconds",
                 "Etcd request latency in seconds for each operation and object type.",
                 {"operation", "type"},
                 {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
                  3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60}) {}

template <typename Op>
auto MeteredStore::timed(const char* operation, std::string_view key, Op op) {
  auto started = std::chrono::steady_clock::now();
  auto result = op();
  durations_.with({operation, keyType(key)})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

core::Result<KeyValue> MeteredStore::get(std::string_view key) {
  return timed("get", key, [&] { return inner_->get(key); });
}

core::Result<KeyValue> MeteredStore::create(std::string_view key, std::string_view value) {
  return timed("create", key, [&] { return inner_->create(key, value); });
}

core::Result<KeyValue> MeteredStore::update(std::string_view key, std::string_view value,
                                            int64_t expectedModRevision) {
  return timed("update", key, [&] { return inner_->update(key, value, expectedModRevision); });
}

core::Result<KeyValue> MeteredStore::remove(std::string_view key, int64_t expectedModRevision) {
  return timed("delete", key, [&] { return inner_->remove(key, expectedModRevision); });
}

core::Result<ListResult> MeteredStore::list(std::string_view prefix, std::string_view startAfter,
                                            int64_t limit, int64_t atRevision) {
  return timed("list", prefix, [&] { return inner_->list(prefix, startAfter, limit, atRevision); });
}

core::Result<std::vector<KeyValue>> MeteredStore::listContaining(std::string_view prefix,
                                                                 std::string_view needle) {
  return timed("list", prefix, [&] { return inner_->listContaining(prefix, needle); });
}

core::Result<std::unique_ptr<Watch>> MeteredStore::watch(std::string_view prefix,
                                                         int64_t afterRevision) {
  return inner_->watch(prefix, afterRevision);  // long-running: not a latency
}

void MeteredStore::writeMetrics(metrics::Writer& out) const {
  durations_.write(out);
  int64_t bytes = size_ ? size_() : -1;
  if (bytes < 0) return;
  out.family("apiserver_storage_size_bytes", "Size of the storage database file in bytes.",
             metrics::Type::gauge);
  out.sample("apiserver_storage_size_bytes", {{"storage_cluster_id", "podnet"}}, double(bytes));
  out.family("apiserver_storage_revision", "The store's newest revision.", metrics::Type::gauge);
  out.sample("apiserver_storage_revision", {}, double(inner_->revision()));
}

}  // namespace podnet::store
