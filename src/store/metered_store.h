// A Store that times every operation of the store it wraps, for the API
// server's /metrics: etcd_request_duration_seconds{operation,type} as
// kube-apiserver records it (the operation, and the resource the key is
// under), and the database size the caller knows how to read.
#pragma once

#include <functional>
#include <memory>

#include "metrics/metrics.h"
#include "store/store.h"

namespace podnet::store {

class MeteredStore : public Store {
 public:
  // `size`: the database's size in bytes now (-1 when unknown).
  MeteredStore(std::unique_ptr<Store> inner, std::function<int64_t()> size);

  int64_t revision() const override { return inner_->revision(); }
  int64_t compactedRevision() const override { return inner_->compactedRevision(); }
  core::Result<KeyValue> get(std::string_view key) override;
  core::Result<KeyValue> create(std::string_view key, std::string_view value) override;
  core::Result<KeyValue> update(std::string_view key, std::string_view value,
                                int64_t expectedModRevision) override;
  core::Result<KeyValue> remove(std::string_view key, int64_t expectedModRevision) override;
  core::Result<ListResult> list(std::string_view prefix, std::string_view startAfter, int64_t limit,
                                int64_t atRevision) override;
  core::Result<std::unique_ptr<Watch>> watch(std::string_view prefix,
                                             int64_t afterRevision) override;
  core::Result<std::vector<KeyValue>> listContaining(std::string_view prefix,
                                                     std::string_view needle) override;

  void writeMetrics(metrics::Writer& out) const;

 private:
  template <typename Op>
  auto timed(const char* operation, std::string_view key, Op op);

  std::unique_ptr<Store> inner_;
  std::function<int64_t()> size_;
  metrics::Family<metrics::Histogram> durations_;
};

// The resource a key is under: "/registry/pods/ns/name" -> "pods".
std::string keyType(std::string_view key);

}  // namespace podnet::store
