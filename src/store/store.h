// The Store: a key-value history with etcd's revision semantics, the only
// place API objects are kept. resourceVersion == a key's modRevision.
//
// Implementations: store/sqlite_store (embedded default) and
// store/etcd_store (several API servers on one etcd); both pass the same
// tests (tests/unit/store/store_test.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::store {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t createRevision = 0;
  int64_t modRevision = 0;
  // Read through a key of the encryption at rest that no longer seals
  // (encryption/encrypting_store.h): writing the same object again changes
  // what is stored, so an update must not be skipped as a no-op.
  bool stale = false;
};

struct Event {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  // For Put: the new value. For Delete: the last value, with modRevision set
  // to the revision of the delete.
  KeyValue kv;
  bool created = false;  // Put of a key that did not exist before
};

struct ListResult {
  std::vector<KeyValue> items;
  int64_t revision = 0;  // the revision the list was read at
  bool more = false;     // limit reached; continue after items.back().key
};

// A stream of events, in revision order, for the keys under a prefix.
class Watch {
 public:
  virtual ~Watch() = default;
  // Waits up to `timeout` for events. An empty vector means none arrived.
  // An error (410 Expired) means the watcher fell too far behind; the stream
  // is then over.
  virtual core::Result<std::vector<Event>> next(std::chrono::milliseconds timeout) = 0;
};

// Errors carry HTTP codes with bare reasons: 404 NotFound, 409 AlreadyExists,
// 409 Conflict, 410 Expired; the registry turns them into full Statuses.
class Store {
 public:
  virtual ~Store() = default;

  // The newest revision (0 for an empty store).
  virtual int64_t revision() const = 0;
  // The oldest revision a watch or list can still start from; older ones get 410.
  virtual int64_t compactedRevision() const = 0;

  virtual core::Result<KeyValue> get(std::string_view key) = 0;
  // Create-if-absent.
  virtual core::Result<KeyValue> create(std::string_view key, std::string_view value) = 0;
  // Compare-and-swap on modRevision; expectedModRevision 0 means unconditional
  // (but the key must exist).
  virtual core::Result<KeyValue> update(std::string_view key, std::string_view value,
                                        int64_t expectedModRevision) = 0;
  // Compare-and-delete; returns the deleted value with the delete's revision.
  virtual core::Result<KeyValue> remove(std::string_view key, int64_t expectedModRevision) = 0;

  // Keys under `prefix` in key order, strictly after `startAfter` (for
  // paging), at most `limit` of them (0 = all), as of `atRevision` (0 = now).
  virtual core::Result<ListResult> list(std::string_view prefix, std::string_view startAfter,
                                        int64_t limit, int64_t atRevision) = 0;

  // Events for keys under `prefix` with revision > afterRevision.
  virtual core::Result<std::unique_ptr<Watch>> watch(std::string_view prefix,
                                                     int64_t afterRevision) = 0;

  // The current values under `prefix` that contain `needle` (e.g. an owner's
  // uid), in key order: a scan that copies only what matches. This default
  // lists everything; stores holding values in memory override it.
  virtual core::Result<std::vector<KeyValue>> listContaining(std::string_view prefix,
                                                             std::string_view needle);
};

struct SqliteOptions {
  std::string path;  // database file; WAL files sit beside it
  // How many revisions of history watches and lists can reach back; older
  // revisions are compacted away (kube-apiserver compacts every 5 minutes).
  int64_t historyRevisions = 100000;
  // Recent events kept in memory so watches catch up without reading disk;
  // older (but not yet compacted) events are read back from SQLite.
  size_t eventCacheSize = 100000;
  // Cached events older than this are dropped too (watchers further behind
  // read them from disk, as kube-apiserver's watch cache keeps ~75 s), so a
  // burst of writes does not stay in memory once it is over; the newest
  // eventCacheKeptWhenOld stay whatever their age.
  std::chrono::milliseconds eventCacheMaxAge = std::chrono::seconds(75);
  size_t eventCacheKeptWhenOld = 1000;
  // A watcher that has more than this many undelivered events is dropped
  // with 410 Expired, so a slow reader never holds writers back.
  size_t maxWatchBacklog = 50000;
};

// The embedded default backend: SQLite in WAL mode. A write acknowledged by
// create/update/remove survives kill -9 of the process.
core::Result<std::unique_ptr<Store>> openSqlite(const SqliteOptions& options);

}  // namespace podnet::store
