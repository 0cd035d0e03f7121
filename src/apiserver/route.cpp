#include "apiserver/route.h"

#include <vector>

namespace podnet::apiserver {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) segments.push_back(percentDecode(path.substr(start, slash - start), false));
    start = slash + 1;
  }
  return segments;
}

bool groupServed(std::string_view group) {
  for (const api::ResourceInfo* info : api::allResources())
    if (info->group == group) return true;
  return false;
}

bool groupVersionServed(std::string_view group, std::string_view version) {
  for (const api::ResourceInfo* info : api::allResources())
    if (info->group == group && info->version == version) return true;
  return false;
}

// Resolves what follows /api/v1 or /apis/GROUP/VERSION.
void routeResource(Route& route, std::vector<std::string> rest) {
  route.kind = RouteKind::NotFound;
  if (!rest.empty() && rest[0] == "watch") {
    route.watchPrefix = true;
    rest.erase(rest.begin());
  }
  if (rest.empty()) return;

  std::string ns;
  bool namespacedPath = false;
  // "namespaces/NS/<plural>/..." names a namespaced resource, except for the
  // namespace object's own subresources (namespaces/NS/status).
  if (rest[0] == "namespaces" && rest.size() >= 3 &&
      !(route.group.empty() && rest.size() == 3 && rest[2] == "status")) {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
    namespacedPath = true;
  }
  // nodes/NAME/proxy/PATH...: kubelet's API through the API server.
  std::string proxyPath;
  if (!namespacedPath && route.group.empty() && rest.size() >= 3 && rest[0] == "nodes" &&
      rest[2] == "proxy") {
    for (size_t i = 3; i < rest.size(); ++i) proxyPath += "/" + rest[i];
    rest.resize(3);
  }
  if (rest.empty() || rest.size() > 3) return;

  const api::ResourceInfo* info = api::findResource(route.group, route.version, rest[0]);
  if (!info) return;
  if (namespacedPath && !info->namespaced) return;
  std::string name = rest.size() >= 2 ? rest[1] : std::string();
  std::string subresource = rest.size() == 3 ? rest[2] : std::string();
  // A namespaced object is only reachable through its namespace; without
  // one the path names the list across all namespaces, which has no items.
  if (info->namespaced && !namespacedPath && !name.empty()) return;
  if (!subresource.empty()) {
    bool known = (subresource == "status" && info->hasStatus) ||
                 (subresource == "scale" && info->hasScale) ||
                 (info->kind == "ServiceAccount" && subresource == "token") ||
                 (info->kind == "Pod" &&
                  (subresource == "binding" || subresource == "log" || subresource == "exec" ||
                   subresource == "attach" || subresource == "portforward")) ||
                 (info->kind == "Node" && (subresource == "proxy" || subresource == "token"));
    if (!known) return;
  }
  route.kind = RouteKind::Resource;
  route.resource = info;
  route.ns = std::move(ns);
  route.name = std::move(name);
  route.subresource = std::move(subresource);
  route.proxyPath = std::move(proxyPath);
}

}  // namespace

std::string percentDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hexValue(text[i + 1]);
      int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(char(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plusIsSpace && c == '+' ? ' ' : c);
  }
  return out;
}

std::map<std::string, std::string> parseQuery(std::string_view query) {
  std::map<std::string, std::string> params;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = percentDecode(pair.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1), true);
      params[std::move(key)] = std::move(value);
    }
    start = amp + 1;
  }
  return params;
}

bool isTrueParameter(std::string_view value) { return value == "true" || value == "1"; }

Route parseRoute(std::string_view target) {
  Route route;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (question != std::string_view::npos) route.query = parseQuery(target.substr(question + 1));
  route.path = percentDecode(path, false);

  std::vector<std::string> segments = splitPath(path);
  if (segments.empty()) return route;
  const std::string& root = segments[0];
  if (root == "healthz" || root == "livez" || root == "readyz") {
    route.kind = RouteKind::Health;
    return route;
  }
  if (root == "openapi" && segments.size() >= 2 &&
      (segments[1] == "v3" || (segments[1] == "v2" && segments.size() == 2))) {
    route.kind = RouteKind::OpenApi;
    return route;
  }
  if (root == "version" && segments.size() == 1) {
    route.kind = RouteKind::Version;
    return route;
  }
  if (root == "api") {
    if (segments.size() == 1) {
      route.kind = RouteKind::CoreVersions;
      return route;
    }
    route.version = segments[1];
    if (!groupVersionServed("", route.version)) return route;
    if (segments.size() == 2) {
      route.kind = RouteKind::ResourceList;
      return route;
    }
    routeResource(route, {segments.begin() + 2, segments.end()});
    return route;
  }
  if (root == "apis") {
    if (segments.size() == 1) {
      route.kind = RouteKind::GroupList;
      return route;
    }
    route.group = segments[1];
    // The core group has no /apis path; "" cannot come from a segment.
    if (!groupServed(route.group)) return route;
    if (segments.size() == 2) {
      route.kind = RouteKind::Group;
      return route;
    }
    route.version = segments[2];
    if (!groupVersionServed(route.group, route.version)) return route;
    if (segments.size() == 3) {
      route.kind = RouteKind::ResourceList;
      return route;
    }
    routeResource(route, {segments.begin() + 3, segments.end()});
    return route;
  }
  return route;
}

}  // namespace podnet::apiserver
