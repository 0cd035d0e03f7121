// The routing table of the ingress proxy: an immutable snapshot compiled
// from Ingresses, IngressClasses, Services, EndpointSlices and Secrets
// (compileRoutes, pure), which the serving threads read while the next one
// is built, and swap atomically.
//
// Matching, as networking.k8s.io/v1 says (and the conformance suite checks):
// - hosts: exact first, then a `*.` wildcard covering exactly one label,
//   then rules without a host; an Ingress's defaultBackend serves what its
//   hosts' paths miss; the oldest Ingress with only a defaultBackend serves
//   what no host matches; else 404;
// - paths, on the normalized request path (dot segments removed, duplicate
//   slashes merged, unreserved characters decoded; the backend receives this
//   path): Exact, Prefix element by element (`/foo` matches `/foo/bar`, not
//   `/foobar`), ImplementationSpecific as Prefix, or with use-regex (or
//   rewrite-target) a case-insensitive regular expression anchored at the
//   start; the longest matching path wins, Exact before the others on a tie;
//   two Ingresses with the same host, path and type: the oldest wins.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ip.h"
#include "http/http1.h"
#include "ingress/model.h"
#include "metrics/metrics.h"

namespace re2 {
class RE2;
}

namespace podnet::ingress {

struct Endpoint {
  core::IpAddress ip;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// A Service port resolved to its ready endpoints.
struct BackendTarget {
  std::string service;  // ns/name
  std::string port;     // the Service port as the Ingress names it ("80", "http")
  std::vector<Endpoint> endpoints;
  std::string problem;  // why there is nothing to send to ("" when endpoints exist)
  // Round-robin position, shared by the proxy's threads.
  mutable std::atomic<uint32_t> next{0};
};

// What a Gateway API rule (HTTPRoute) does to the requests it matches,
// beyond choosing a backend (none of it applies to Ingress routes).
struct HeaderEdits {
  std::vector<http::Header> set, add;  // names as written; matched without case
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};
// ReplaceFullPath, or ReplacePrefixMatch of the path the rule matched.
struct PathReplacement {
  bool fullPath = true;
  std::string value;
};
struct Redirect {
  std::string scheme, hostname;  // "" = the request's
  std::optional<uint16_t> port;  // none: the scheme's well-known port, else the listener's
  std::optional<PathReplacement> path;
  int status = 302;
};
struct UrlRewrite {
  std::string hostname;  // "" = unchanged
  std::optional<PathReplacement> path;
};
struct WeightedBackend {
  std::shared_ptr<const BackendTarget> target;  // null: an invalid reference (500)
  uint32_t weight = 1;
};
struct GatewayRule {
  std::vector<WeightedBackend> backends;
  uint64_t totalWeight = 0;  // 0: nothing to send to (500)
  HeaderEdits requestHeaders, responseHeaders;
  std::optional<Redirect> redirect;
  std::optional<UrlRewrite> rewrite;
  std::vector<std::shared_ptr<const BackendTarget>> mirrors;
  uint64_t requestTimeoutMs = 0, backendTimeoutMs = 0;  // 0: the proxy's defaults
};

struct Route {
  std::string ingress;  // ns/name (an HTTPRoute's for Gateway API routes)
  std::string host;     // as the rule has it ("" for every host)
  std::string path;     // as written
  PathType type = PathType::prefix;
  std::shared_ptr<const re2::RE2> regex;  // set for a regular-expression path
  std::shared_ptr<const BackendTarget> backend;
  std::shared_ptr<const Annotations> annotations;
  bool tls = false;  // the Ingress has a certificate for this host
  // Canary Ingresses for the same host and path, tried first (by header,
  // then cookie, then weight).
  std::vector<std::shared_ptr<const Route>> canaries;
  // Its metric labels (namespace, ingress, host, path, service), and the
  // same as one string (the key per-thread counters find it by).
  metrics::Labels metricLabels;
  std::string labels;
  // Set for an HTTPRoute rule: what it does; `backend` is then unused (a
  // backend is chosen per request by weight).
  std::shared_ptr<const GatewayRule> gateway;
};

struct Certificate {
  std::string secret;  // ns/name
  std::string certPem, keyPem;
};

struct Diagnostic {
  std::string ingress;  // ns/name
  std::string reason;   // an Event reason: ServiceNotFound, PortNotFound, SecretNotFound, ...
  std::string message;
  bool operator==(const Diagnostic&) const = default;
};

// What a request got: the route, and the path to send upstream.
struct RouteMatch {
  const Route* route = nullptr;
  std::string upstreamPath;  // normalized, then rewritten if the route says so
  // Gateway API: the PathPrefix the match had ("" for others: what
  // ReplacePrefixMatch replaces), and the listener's port (redirects).
  std::string matchedPrefix;
  uint16_t listenerPort = 0;
};

// Gateway API: what one match of one HTTPRoute rule asks of a request.
struct ValueMatcher {
  std::string name;  // headers: lowercase
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // RegularExpression instead of Exact
};
struct GatewayMatch {
  std::shared_ptr<const Route> route;
  std::string path;  // Exact or PathPrefix value ("" with a regex)
  std::shared_ptr<const re2::RE2> pathRegex;
  std::string method;  // "" = any
  std::vector<ValueMatcher> headers, query;
};
// The parts of a request a Gateway API match looks at.
struct RequestView {
  std::string_view host;  // Host header as sent
  std::string_view path;  // normalized
  std::string_view method;
  const std::vector<http::Header>* headers = nullptr;
  std::string_view query;  // raw, after '?'
};

class RoutingTable {
 public:
  // Ingress: `path` must be normalized (normalizePath).
  RouteMatch match(std::string_view host, std::string_view path) const;
  // The certificate for an SNI name (exact, then one-label wildcard).
  const Certificate* certificateFor(std::string_view serverName) const;
  size_t routeCount() const;
  // Every certificate (Ingress hosts and Gateway listeners; a Secret serving
  // several appears once per use).
  std::vector<const Certificate*> certificates() const;

  // Gateway API: the ports the proxy listens on for Gateway listeners (its
  // own ports; each Gateway's LoadBalancer Service maps the listener's port
  // to one), with whether they terminate TLS.
  struct GatewayPortInfo {
    uint16_t bindPort = 0, listenerPort = 0;
    bool tls = false;
  };
  std::vector<GatewayPortInfo> gatewayPorts() const;
  bool isGatewayPort(uint16_t bindPort) const { return gatewayPorts_.count(bindPort) > 0; }
  // The listener that takes the request's host on `bindPort` (the most
  // specific hostname), then its routes' matches in the specification's
  // precedence; no route: 404.
  RouteMatch matchGateway(uint16_t bindPort, const RequestView& request) const;
  // The certificate of the listener on `bindPort` whose hostname takes `serverName`.
  const Certificate* gatewayCertificateFor(uint16_t bindPort, std::string_view serverName) const;

 private:
  friend struct RoutingTableBuilder;
  friend struct GatewayTableBuilder;
  struct HostRoutes {
    std::vector<std::shared_ptr<const Route>> routes;  // in precedence order
    std::shared_ptr<const Route> fallback;             // its Ingress's defaultBackend
  };
  static RouteMatch matchIn(const HostRoutes& host, std::string_view path);
  std::unordered_map<std::string, HostRoutes> exact_;
  std::unordered_map<std::string, HostRoutes> wildcard_;  // by the suffix after "*."
  HostRoutes anyHost_;
  std::shared_ptr<const Route> defaultBackend_;
  std::unordered_map<std::string, Certificate> certificates_, wildcardCertificates_;

  // Gateway API. The matches of one hostname of one listener, indexed so a
  // request looks up its path instead of trying every match: Exact paths by
  // value, PathPrefix values by their path (trailing slash dropped), tried
  // from the request path's longest prefix down; each list in precedence
  // order.
  struct GatewayMatches {
    std::unordered_map<std::string, std::vector<GatewayMatch>> exact, prefix;
    std::vector<GatewayMatch> regex;
    size_t size = 0;
  };
  struct GatewayListener {
    std::string hostname;  // "" = any
    std::unordered_map<std::string, GatewayMatches> exactHosts;
    std::vector<std::pair<std::string, GatewayMatches>> wildcardHosts;  // ".suffix", longest first
    GatewayMatches anyHost;
    std::shared_ptr<const Certificate> certificate;  // HTTPS
  };
  struct GatewayPort {
    uint16_t listenerPort = 0;
    bool tls = false;
    std::vector<GatewayListener> listeners;  // most specific hostname first
  };
  static const GatewayMatch* matchGatewayIn(const GatewayMatches& matches,
                                            const RequestView& request);
  const GatewayListener* gatewayListenerFor(uint16_t bindPort, std::string_view host) const;
  std::unordered_map<uint16_t, GatewayPort> gatewayPorts_;
};

// The objects the table is compiled from (as the API server holds them).
struct RouteInputs {
  using Objects = std::vector<std::shared_ptr<const Json>>;  // as informers list them
  Objects ingresses, ingressClasses, services, endpointSlices, secrets;
  // Gateway API (empty when its CRDs are not installed); namespaces for
  // listeners' allowedRoutes selectors.
  Objects gatewayClasses, gateways, httpRoutes, referenceGrants, namespaces;
  std::string now;  // RFC 3339, for the conditions' lastTransitionTime
  // The classes served: IngressClass names whose controller is ours are
  // served whatever this says; these are the names served even without an
  // IngressClass object (e.g. "nginx" before its class is created).
  std::vector<std::string> classes = {"podnet", "nginx"};
};

struct CompiledRoutes {
  std::shared_ptr<const RoutingTable> table;
  std::vector<std::string> served;  // Ingresses (ns/name) this controller serves
  std::vector<Diagnostic> diagnostics;
  // Gateway API: the statuses to write (gateway_status.h's outputs, without
  // the attachments).
  std::map<std::string, Json> gatewayClassStatus, gatewayStatus, httpRouteParents;
};

CompiledRoutes compileRoutes(const RouteInputs& inputs);

// The request path as matched and forwarded: percent-escapes of unreserved
// characters decoded (so `%2e%2e` is `..`), dot segments removed, runs of
// slashes merged; `%2F` stays an escape, never a separator. nullopt for a
// path that is not origin-form (does not start with `/`) or holds bytes no
// path may.
std::optional<std::string> normalizePath(std::string_view path);

// Whether an Exact / Prefix path matches a normalized request path.
bool prefixMatches(std::string_view rulePath, std::string_view path);

// Host matching: a host header's name (port and trailing dot removed,
// lowercased).
std::string hostName(std::string_view hostHeader);

}  // namespace podnet::ingress
