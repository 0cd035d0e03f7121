// client::Client: the Kubernetes API as every podnet component sees it:
// create, get, update, delete, list and watch of API objects (as JSON).
//
// Implemented in-process by registry::Registry (the API server's own
// storage layer, used by the controllers) and, for the agent and other
// processes, over HTTPS by a REST client (a later issue).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "core/result.h"

namespace podnet::client {

using api::Json;
using api::ResourceInfo;

struct ListOptions {
  std::string labelSelector;  // "app=web,tier!=db", as the query parameter
  std::string fieldSelector;  // "metadata.name=foo,spec.nodeName=n1"
  int64_t limit = 0;
  std::string continueToken;
  // "" = the newest; "0" = any (the newest here); otherwise an exact revision
  // (for list) or the revision to start after (for watch).
  std::string resourceVersion;
  bool allowWatchBookmarks = false;
};

struct WriteOptions {
  // "", "status", "scale" or "binding" (pods only: sets spec.nodeName once,
  // from obj.spec.nodeName, as POST pods/NAME/binding does)
  std::string subresource;
  std::string fieldManager;
  bool dryRun = false;
};

struct DeleteOptions {
  std::optional<int64_t> gracePeriodSeconds;
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  std::string propagationPolicy;  // Background (default), Foreground, Orphan
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  Json object;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Waits up to `timeout`; an empty vector means nothing happened. An error
  // (e.g. 410 Expired) ends the stream.
  virtual core::Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout) = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  // `ns` is ignored for cluster-scoped resources; for namespaced ones an
  // empty `ns` in list/watch means every namespace.
  virtual core::Result<Json> create(const ResourceInfo& resource, std::string_view ns, Json obj,
                                    const WriteOptions& options = {}) = 0;
  virtual core::Result<Json> get(const ResourceInfo& resource, std::string_view ns,
                                 std::string_view name) = 0;
  // Replaces the object named in obj.metadata.name. A metadata.resourceVersion
  // in obj makes it a compare-and-swap (409 Conflict when stale).
  virtual core::Result<Json> update(const ResourceInfo& resource, std::string_view ns, Json obj,
                                    const WriteOptions& options = {}) = 0;
  // Returns the deleted object, or the object marked for graceful deletion.
  virtual core::Result<Json> remove(const ResourceInfo& resource, std::string_view ns,
                                    std::string_view name, const DeleteOptions& options = {}) = 0;
  // Returns a List object: {"kind": "<Kind>List", "metadata": {"resourceVersion",
  // "continue"}, "items": [...]}.
  virtual core::Result<Json> list(const ResourceInfo& resource, std::string_view ns,
                                  const ListOptions& options = {}) = 0;
  virtual core::Result<std::unique_ptr<Watcher>> watch(const ResourceInfo& resource,
                                                       std::string_view ns,
                                                       const ListOptions& options) = 0;
};

// Every item of a list, page by page (`pageSize` per request), each with its
// "kind" (list items carry none).
core::Result<std::vector<Json>> listAll(Client& client, const ResourceInfo& resource,
                                        std::string_view ns = {}, int64_t pageSize = 500);

}  // namespace podnet::client
