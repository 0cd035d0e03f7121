// Gateway API (gateway.networking.k8s.io/v1) as the controller reads it:
// GatewayClass, Gateway, HTTPRoute and ReferenceGrant (v1beta1) as typed
// values, and the specification's pure rules the routing compiler and the
// status writer share: listener/route hostname intersection (Gateway API's
// own wildcards, which differ from Ingress's) and the precedence of matches
// across rules and routes. The first step of issue 18; routes.h will compile
// these into the same RoutingTable as Ingresses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/codec.h"
#include "core/result.h"

namespace podnet::ingress::gateway {

using Json = api::Json;

inline constexpr const char* kGroup = "gateway.networking.k8s.io";
inline constexpr const char* kControllerName = "podnet.io/gateway-controller";

struct GatewayClass {
  std::string name;
  std::string controllerName;
  int64_t generation = 0;
};

struct CertificateRef {
  std::string group;  // "" (core)
  std::string kind = "Secret";
  std::string ns;  // "" = the Gateway's
  std::string name;
};

struct RouteKind {
  std::string group = kGroup;
  std::string kind;
};

struct Listener {
  std::string name;
  std::string hostname;  // "" = any
  uint16_t port = 0;
  std::string protocol;  // HTTP, HTTPS, TLS, TCP, UDP
  std::string tlsMode;   // Terminate (default for HTTPS), Passthrough
  std::vector<CertificateRef> certificateRefs;
  // allowedRoutes.namespaces.from: Same (default), All, Selector.
  std::string routesFrom = "Same";
  Json routesSelector;                // a LabelSelector when routesFrom == Selector
  std::vector<RouteKind> routeKinds;  // empty = the protocol's defaults
};

struct Gateway {
  std::string ns, name;
  std::string gatewayClassName;
  int64_t generation = 0;
  std::vector<Listener> listeners;
  std::vector<std::string> requestedAddresses;  // spec.addresses[].value (type IPAddress)
  // spec.infrastructure: what the resources made for the Gateway (its Service) carry.
  std::map<std::string, std::string> infrastructureLabels, infrastructureAnnotations;
};

struct ParentRef {
  std::string group = kGroup;
  std::string kind = "Gateway";
  std::string ns;  // "" = the route's
  std::string name;
  std::string sectionName;       // "" = every listener
  std::optional<uint16_t> port;  // none = every port
};

enum class PathMatchType { Exact, PathPrefix, RegularExpression };
enum class ValueMatchType { Exact, RegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::PathPrefix;
  std::string value = "/";
};

struct ValueMatch {
  ValueMatchType type = ValueMatchType::Exact;
  std::string name;
  std::string value;
};

struct RouteMatch {
  PathMatch path;
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> queryParams;
  std::string method;  // "" = any
};

struct HeaderModifier {
  std::vector<std::pair<std::string, std::string>> set, add;
  std::vector<std::string> remove;
};

// ReplaceFullPath or ReplacePrefixMatch.
struct PathModifier {
  std::string type;
  std::string value;
};

struct BackendRef {
  std::string group;  // "" (core)
  std::string kind = "Service";
  std::string ns;  // "" = the route's
  std::string name;
  std::optional<uint16_t> port;
  int32_t weight = 1;
};

struct Filter {
  std::string type;  // RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect,
                     // URLRewrite, RequestMirror, ExtensionRef
  HeaderModifier headers;
  // RequestRedirect
  std::string scheme, hostname;
  std::optional<uint16_t> port;
  std::optional<PathModifier> path;
  int statusCode = 302;
  // RequestMirror
  std::optional<BackendRef> mirror;
};

struct Rule {
  std::vector<RouteMatch> matches;  // never empty: one PathPrefix "/" by default
  std::vector<Filter> filters;
  std::vector<BackendRef> backendRefs;
  std::string requestTimeout, backendRequestTimeout;  // Gateway API durations, "" = none
};

struct HttpRoute {
  std::string ns, name;
  long long created = 0;  // creationTimestamp, Unix seconds
  int64_t generation = 0;
  std::vector<ParentRef> parentRefs;
  std::vector<std::string> hostnames;
  std::vector<Rule> rules;
};

struct ReferenceGrant {
  std::string ns;
  struct From {
    std::string group, kind, ns;
  };
  struct To {
    std::string group, kind, name;  // name "" = every object of the kind
  };
  std::vector<From> from;
  std::vector<To> to;
};

// Parsing: the API server has validated and defaulted these objects against
// the CRDs' schemas; what is missing or mistyped anyway becomes the
// specification's default or an error naming the field, never a crash.
core::Result<GatewayClass> parseGatewayClass(const Json& obj);
core::Result<Gateway> parseGateway(const Json& obj);
core::Result<HttpRoute> parseHttpRoute(const Json& obj);
core::Result<ReferenceGrant> parseReferenceGrant(const Json& obj);

// Whether `host` (a request's, lowercase, no port) matches `pattern` (a
// listener's or route's hostname): equal, or `*.suffix` and `host` ends in
// ".suffix" with at least one label before it (Gateway API: any number of
// labels, unlike Ingress's one). "" matches everything.
bool hostnameMatches(std::string_view pattern, std::string_view host);

// The hostnames a route serves on a listener (the specification's
// intersection): the route's when the listener has none; the listener's when
// the route has none ({""} when neither has); otherwise every route hostname
// the listener's matches, and the listener's hostname for every route
// wildcard it matches. Empty: the route has no hostname the listener
// accepts (status reason NoMatchingListenerHostname).
std::vector<std::string> intersectHostnames(const std::string& listenerHostname,
                                            const std::vector<std::string>& routeHostnames);

// One match of one rule of one route, and the specification's order
// between two of them (true when `a` is tried before `b`): Exact path, then
// the longest PathPrefix (then RegularExpression, longest first), then a
// method, then the most header matches, then the most query parameter
// matches; then the oldest route, then "{namespace}/{name}"; then rule
// order, then match order.
struct MatchKey {
  const HttpRoute* route = nullptr;
  size_t rule = 0;
  size_t match = 0;
};
bool precedes(const MatchKey& a, const MatchKey& b);

}  // namespace podnet::ingress::gateway
