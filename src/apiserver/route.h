// Request routing for the REST API: turns a request target ("/api/v1/
// namespaces/default/pods/web/status?watch=1") into what it names. Pure
// string work, no I/O, so every URL shape is unit-tested without a server.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/resource.h"

namespace podnet::apiserver {

enum class RouteKind {
  NotFound,
  Health,        // /healthz, /livez, /readyz (and their /... checks)
  Version,       // /version
  CoreVersions,  // /api: APIVersions
  GroupList,     // /apis: APIGroupList
  Group,         // /apis/GROUP: APIGroup
  ResourceList,  // /api/v1, /apis/GROUP/VERSION: APIResourceList
  Resource,      // a collection, an object, or an object's subresource
  OpenApi,       // /openapi/v3 and the documents below it (openapi.h)
};

struct Route {
  RouteKind kind = RouteKind::NotFound;
  std::string path;  // the decoded path, without the query
  std::string group;
  std::string version;
  const api::ResourceInfo* resource = nullptr;
  // The namespace named in the path ("" when the path has none: cluster-
  // scoped resources, or a list/watch across every namespace).
  std::string ns;
  std::string name;         // "" for a collection
  std::string subresource;  // "", "status", "scale", ... or "proxy" (nodes)
  // nodes/NAME/proxy/PATH: the path on the node's API ("" for none).
  std::string proxyPath;
  // The legacy /api/v1/watch/... prefix: the same as ?watch=true.
  bool watchPrefix = false;
  // Query parameters, percent-decoded; a repeated key keeps the last value.
  std::map<std::string, std::string> query;

  bool isCollection() const { return kind == RouteKind::Resource && name.empty(); }
  std::string queryValue(const std::string& key) const {
    auto it = query.find(key);
    return it == query.end() ? std::string() : it->second;
  }
  bool hasQuery(const std::string& key) const { return query.count(key) != 0; }
};

// Decodes %XX escapes (and '+' as a space when `plusIsSpace`, as in query
// strings). Malformed escapes are kept as they are.
std::string percentDecode(std::string_view text, bool plusIsSpace);

std::map<std::string, std::string> parseQuery(std::string_view query);

// Routes a request target (origin form: path plus optional query).
Route parseRoute(std::string_view target);

// "true" and "1" as upstream accepts for boolean parameters like watch.
bool isTrueParameter(std::string_view value);

}  // namespace podnet::apiserver
