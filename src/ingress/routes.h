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
#include "ingress/model.h"

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

struct Route {
  std::string ingress;  // ns/name
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
  // Its metric labels: namespace="..",ingress="..",host="..",path="..",service="..".
  std::string labels;
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
};

class RoutingTable {
 public:
  // `path` must be normalized (normalizePath).
  RouteMatch match(std::string_view host, std::string_view path) const;
  // The certificate for an SNI name (exact, then one-label wildcard).
  const Certificate* certificateFor(std::string_view serverName) const;
  size_t routeCount() const;
  // Every host's certificate (a Secret serving several hosts appears once per host).
  std::vector<const Certificate*> certificates() const;

 private:
  friend struct RoutingTableBuilder;
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
};

// The objects the table is compiled from (as the API server holds them).
struct RouteInputs {
  using Objects = std::vector<std::shared_ptr<const Json>>;  // as informers list them
  Objects ingresses, ingressClasses, services, endpointSlices, secrets;
  // The classes served: IngressClass names whose controller is ours are
  // served whatever this says; these are the names served even without an
  // IngressClass object (e.g. "nginx" before its class is created).
  std::vector<std::string> classes = {"podnet", "nginx"};
};

struct CompiledRoutes {
  std::shared_ptr<const RoutingTable> table;
  std::vector<std::string> served;  // Ingresses (ns/name) this controller serves
  std::vector<Diagnostic> diagnostics;
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
