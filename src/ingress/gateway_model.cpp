#include "ingress/gateway_model.h"

#include <algorithm>
#include <tuple>

#include "api/object.h"

namespace podnet::ingress::gateway {

namespace {

const Json& member(const Json& obj, const char* key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string text(const Json& obj, const char* key, std::string fallback = {}) {
  const Json& value = member(obj, key);
  return value.is_string() ? value.get<std::string>() : fallback;
}

const Json& list(const Json& obj, const char* key) {
  static const Json kEmpty = Json::array();
  const Json& value = member(obj, key);
  return value.is_array() ? value : kEmpty;
}

std::optional<uint16_t> port(const Json& obj, const char* key) {
  const Json& value = member(obj, key);
  if (!value.is_number_integer()) return std::nullopt;
  auto n = value.get<int64_t>();
  if (n < 1 || n > 65535) return std::nullopt;
  return uint16_t(n);
}

int64_t generationOf(const Json& obj) {
  const Json& generation = member(member(obj, "metadata"), "generation");
  return generation.is_number_integer() ? generation.get<int64_t>() : 0;
}

core::Error invalid(const std::string& kind, const Json& obj, const std::string& field,
                    const std::string& why) {
  return core::badRequest(kind + " " + api::namespaceOf(obj) + "/" + api::name(obj) + ": " + field +
                          ": " + why);
}

ValueMatch valueMatch(const Json& json) {
  ValueMatch match;
  match.type = text(json, "type", "Exact") == "RegularExpression"
                   ? ValueMatchType::RegularExpression
                   : ValueMatchType::Exact;
  match.name = text(json, "name");
  match.value = text(json, "value");
  return match;
}

HeaderModifier headerModifier(const Json& json) {
  HeaderModifier out;
  for (const char* key : {"set", "add"})
    for (const Json& header : list(json, key))
      (std::string(key) == "set" ? out.set : out.add)
          .emplace_back(text(header, "name"), text(header, "value"));
  for (const Json& name : list(json, "remove"))
    if (name.is_string()) out.remove.push_back(name.get<std::string>());
  return out;
}

BackendRef backendRef(const Json& json) {
  BackendRef ref;
  ref.group = text(json, "group");
  ref.kind = text(json, "kind", "Service");
  ref.ns = text(json, "namespace");
  ref.name = text(json, "name");
  ref.port = port(json, "port");
  const Json& weight = member(json, "weight");
  if (weight.is_number_integer())
    ref.weight = int32_t(std::clamp<int64_t>(weight.get<int64_t>(), 0, 1000000));
  return ref;
}

}  // namespace

core::Result<GatewayClass> parseGatewayClass(const Json& obj) {
  GatewayClass out;
  out.name = api::name(obj);
  out.controllerName = text(member(obj, "spec"), "controllerName");
  out.generation = generationOf(obj);
  if (out.name.empty()) return core::badRequest("GatewayClass without a name");
  return out;
}

core::Result<Gateway> parseGateway(const Json& obj) {
  Gateway out;
  out.ns = api::namespaceOf(obj);
  out.name = api::name(obj);
  const Json& spec = member(obj, "spec");
  out.gatewayClassName = text(spec, "gatewayClassName");
  out.generation = generationOf(obj);
  for (const Json& address : list(spec, "addresses"))
    if (text(address, "type", "IPAddress") == "IPAddress" && !text(address, "value").empty())
      out.requestedAddresses.push_back(text(address, "value"));
  const Json& infrastructure = member(spec, "infrastructure");
  for (const auto& [field, to] : {std::pair{"labels", &out.infrastructureLabels},
                                  std::pair{"annotations", &out.infrastructureAnnotations}}) {
    const Json& values = member(infrastructure, field);
    if (values.is_object())
      for (const auto& [k, v] : values.items())
        if (v.is_string()) (*to)[k] = v.get<std::string>();
  }
  const Json& listeners = list(spec, "listeners");
  for (size_t i = 0; i < listeners.size(); ++i) {
    const Json& json = listeners[i];
    std::string field = "spec.listeners[" + std::to_string(i) + "]";
    Listener listener;
    listener.name = text(json, "name");
    listener.hostname = text(json, "hostname");
    listener.protocol = text(json, "protocol");
    auto number = port(json, "port");
    if (listener.name.empty()) return invalid("Gateway", obj, field + ".name", "required");
    if (!number) return invalid("Gateway", obj, field + ".port", "must be 1-65535");
    listener.port = *number;
    const Json& tls = member(json, "tls");
    listener.tlsMode = text(tls, "mode", listener.protocol == "HTTPS" ? "Terminate" : "");
    for (const Json& ref : list(tls, "certificateRefs"))
      listener.certificateRefs.push_back({text(ref, "group"), text(ref, "kind", "Secret"),
                                          text(ref, "namespace"), text(ref, "name")});
    const Json& allowed = member(json, "allowedRoutes");
    const Json& namespaces = member(allowed, "namespaces");
    listener.routesFrom = text(namespaces, "from", "Same");
    listener.routesSelector = member(namespaces, "selector");
    for (const Json& kind : list(allowed, "kinds"))
      listener.routeKinds.push_back({text(kind, "group", kGroup), text(kind, "kind")});
    out.listeners.push_back(std::move(listener));
  }
  return out;
}

core::Result<HttpRoute> parseHttpRoute(const Json& obj) {
  HttpRoute out;
  out.ns = api::namespaceOf(obj);
  out.name = api::name(obj);
  const Json& meta = member(obj, "metadata");
  if (const Json& created = member(meta, "creationTimestamp"); created.is_string())
    out.created = api::parseRfc3339(created.get<std::string>());
  out.generation = generationOf(obj);
  const Json& spec = member(obj, "spec");
  for (const Json& ref : list(spec, "parentRefs")) {
    ParentRef parent;
    parent.group = text(ref, "group", kGroup);
    parent.kind = text(ref, "kind", "Gateway");
    parent.ns = text(ref, "namespace");
    parent.name = text(ref, "name");
    parent.sectionName = text(ref, "sectionName");
    parent.port = port(ref, "port");
    out.parentRefs.push_back(std::move(parent));
  }
  for (const Json& hostname : list(spec, "hostnames"))
    if (hostname.is_string()) out.hostnames.push_back(hostname.get<std::string>());
  const Json& rules = list(spec, "rules");
  for (size_t r = 0; r < rules.size(); ++r) {
    const Json& json = rules[r];
    Rule rule;
    for (const Json& m : list(json, "matches")) {
      RouteMatch match;
      if (const Json& path = member(m, "path"); path.is_object()) {
        std::string type = text(path, "type", "PathPrefix");
        if (type == "Exact")
          match.path.type = PathMatchType::Exact;
        else if (type == "RegularExpression")
          match.path.type = PathMatchType::RegularExpression;
        else if (type != "PathPrefix")
          return invalid("HTTPRoute", obj,
                         "spec.rules[" + std::to_string(r) + "].matches.path.type",
                         "unsupported value \"" + type + "\"");
        match.path.value = text(path, "value", "/");
      }
      for (const Json& header : list(m, "headers")) match.headers.push_back(valueMatch(header));
      for (const Json& query : list(m, "queryParams"))
        match.queryParams.push_back(valueMatch(query));
      match.method = text(m, "method");
      rule.matches.push_back(std::move(match));
    }
    if (rule.matches.empty()) rule.matches.emplace_back();  // PathPrefix "/"
    for (const Json& f : list(json, "filters")) {
      Filter filter;
      filter.type = text(f, "type");
      if (filter.type == "RequestHeaderModifier")
        filter.headers = headerModifier(member(f, "requestHeaderModifier"));
      else if (filter.type == "ResponseHeaderModifier")
        filter.headers = headerModifier(member(f, "responseHeaderModifier"));
      const Json& redirect =
          member(f, filter.type == "URLRewrite" ? "urlRewrite" : "requestRedirect");
      if (filter.type == "RequestRedirect" || filter.type == "URLRewrite") {
        filter.scheme = text(redirect, "scheme");
        filter.hostname = text(redirect, "hostname");
        filter.port = port(redirect, "port");
        if (const Json& path = member(redirect, "path"); path.is_object())
          filter.path =
              PathModifier{text(path, "type"), text(path, text(path, "type") == "ReplaceFullPath"
                                                              ? "replaceFullPath"
                                                              : "replacePrefixMatch")};
        if (const Json& code = member(redirect, "statusCode"); code.is_number_integer())
          filter.statusCode = int(code.get<int64_t>());
      }
      if (filter.type == "RequestMirror")
        filter.mirror = backendRef(member(member(f, "requestMirror"), "backendRef"));
      rule.filters.push_back(std::move(filter));
    }
    for (const Json& ref : list(json, "backendRefs")) rule.backendRefs.push_back(backendRef(ref));
    const Json& timeouts = member(json, "timeouts");
    rule.requestTimeout = text(timeouts, "request");
    rule.backendRequestTimeout = text(timeouts, "backendRequest");
    out.rules.push_back(std::move(rule));
  }
  return out;
}

core::Result<ReferenceGrant> parseReferenceGrant(const Json& obj) {
  ReferenceGrant out;
  out.ns = api::namespaceOf(obj);
  const Json& spec = member(obj, "spec");
  for (const Json& from : list(spec, "from"))
    out.from.push_back({text(from, "group"), text(from, "kind"), text(from, "namespace")});
  for (const Json& to : list(spec, "to"))
    out.to.push_back({text(to, "group"), text(to, "kind"), text(to, "name")});
  return out;
}

bool hostnameMatches(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  if (pattern.substr(0, 2) != "*.") return pattern == host;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
}

std::vector<std::string> intersectHostnames(const std::string& listenerHostname,
                                            const std::vector<std::string>& routeHostnames) {
  if (routeHostnames.empty()) return {listenerHostname};
  if (listenerHostname.empty()) return routeHostnames;
  std::vector<std::string> out;
  auto add = [&](const std::string& hostname) {
    if (std::find(out.begin(), out.end(), hostname) == out.end()) out.push_back(hostname);
  };
  bool listenerWildcard = listenerHostname.rfind("*.", 0) == 0;
  for (const std::string& route : routeHostnames) {
    bool routeWildcard = route.rfind("*.", 0) == 0;
    if (route == listenerHostname) {
      add(route);
    } else if (!routeWildcard && hostnameMatches(listenerHostname, route)) {
      add(route);  // a host under the listener's wildcard
    } else if (routeWildcard && hostnameMatches(route, listenerHostname)) {
      // The listener's host (or narrower wildcard) under the route's wildcard.
      add(listenerHostname);
    } else if (routeWildcard && listenerWildcard &&
               hostnameMatches(listenerHostname, route.substr(2))) {
      add(route);  // *.a.example.com under *.example.com
    }
  }
  return out;
}

namespace {

// Larger is tried first.
std::tuple<int, size_t, bool, size_t, size_t> specificity(const RouteMatch& match) {
  int type = match.path.type == PathMatchType::Exact        ? 2
             : match.path.type == PathMatchType::PathPrefix ? 1
                                                            : 0;
  return {type, match.path.value.size(), !match.method.empty(), match.headers.size(),
          match.queryParams.size()};
}

}  // namespace

bool precedes(const MatchKey& a, const MatchKey& b) {
  auto sa = specificity(a.route->rules[a.rule].matches[a.match]);
  auto sb = specificity(b.route->rules[b.rule].matches[b.match]);
  if (sa != sb) return sa > sb;
  if (a.route != b.route) {
    if (a.route->created != b.route->created) return a.route->created < b.route->created;
    int order = (a.route->ns + "/" + a.route->name).compare(b.route->ns + "/" + b.route->name);
    if (order != 0) return order < 0;
  }
  if (a.rule != b.rule) return a.rule < b.rule;
  return a.match < b.match;
}

}  // namespace podnet::ingress::gateway
