// What the Gateway API controller reports and serves, decided from the
// objects alone (pure, no I/O): GatewayClass acceptance, each Gateway's
// listeners with their conditions (Accepted, Programmed, ResolvedRefs,
// Conflicted) and attached route counts, each HTTPRoute's status per parent
// (Accepted, ResolvedRefs with the specification's reasons), and which
// routes attach to which listener with which hostnames (what the routing
// compiler serves). Conditions carry observedGeneration; the writer keeps
// lastTransitionTime when a condition's status does not change.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ingress/gateway_model.h"

namespace podnet::ingress::gateway {

struct StatusInputs {
  std::vector<GatewayClass> classes;
  std::vector<Gateway> gateways;
  std::vector<HttpRoute> routes;
  std::vector<ReferenceGrant> grants;
  // Lookups into the cluster (the controller's informers; tests' maps).
  std::function<bool(const std::string& ns, const std::string& name)> serviceExists;
  // A kubernetes.io/tls Secret with a certificate and key that parse.
  std::function<bool(const std::string& ns, const std::string& name)> tlsSecretValid;
  std::function<std::map<std::string, std::string>(const std::string& ns)> namespaceLabels;
  // The addresses given to each Gateway ("ns/name"), from the LoadBalancer pool.
  std::map<std::string, std::vector<std::string>> addresses;
  std::string now;  // RFC 3339, for lastTransitionTime
};

// A route attached to one listener of one Gateway, with the hostnames it
// serves there.
struct Attachment {
  std::string gateway;  // "ns/name"
  std::string listener;
  const HttpRoute* route = nullptr;
  std::vector<std::string> hostnames;
};

struct StatusOutputs {
  std::map<std::string, Json> classStatus;    // by name: only our classes
  std::map<std::string, Json> gatewayStatus;  // "ns/name": only Gateways of our classes
  // "ns/name" -> status.parents entries for our Gateways (the writer keeps
  // other controllers' entries).
  std::map<std::string, Json> routeParents;
  std::vector<Attachment> attachments;
};

StatusOutputs computeStatus(const StatusInputs& inputs);

// `fresh` (a status, or part of one) with each condition's
// lastTransitionTime taken from `written` when the condition's status is
// unchanged, as the API conventions ask; list entries are paired by their
// `name` (listeners) or `parentRef` (route parents). A write is needed when
// the result differs from `written`.
Json carryTransitionTimes(const Json& written, Json fresh);

// An HTTPRoute's status.parents: `written`'s entries of other controllers
// kept, ours replaced by `ours` (times carried).
Json mergeRouteParents(const Json& written, const Json& ours);

// Whether a ReferenceGrant in `toNs` lets a `fromKind` in `fromNs` refer to
// the `toKind` (group `toGroup`) named `toName`.
bool referenceAllowed(const std::vector<ReferenceGrant>& grants, const std::string& fromGroup,
                      const std::string& fromKind, const std::string& fromNs,
                      const std::string& toGroup, const std::string& toKind,
                      const std::string& toNs, const std::string& toName);

}  // namespace podnet::ingress::gateway
