// The meaning of NetworkPolicy, written once: whether a policy selects a
// pod, whether a rule's peer matches the other end of a connection, whether
// a rule's port matches, and from those the verdict on one connection with
// the reasons for it. `podnet policy explain` prints these verdicts, the
// denial log names the policies they find, and the compiler (compiler.h)
// builds the kernel's program from the same predicates, so the program and
// the explanations cannot drift apart (the tests check that they agree on
// random policies, through the packet tracer).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/model.h"

namespace podnet::policy {

// The objects a verdict depends on, indexed for lookups.
class ClusterState {
 public:
  void setNamespace(Namespace ns);
  void removeNamespace(const std::string& name);
  void setPod(Pod pod);
  void removePod(const std::string& key);
  void setPolicy(Policy policy);
  void removePolicy(const std::string& key);
  // A node's addresses: traffic from them to the node's own pods is always
  // allowed (kubelet probes), and hostNetwork pods have them.
  void setNodeAddresses(const std::string& node, std::vector<core::IpAddress> addresses);
  void removeNode(const std::string& node);

  const Namespace* findNamespace(const std::string& name) const;
  const Pod* findPod(const std::string& key) const;
  // The pod (not on hostNetwork) that holds `ip`, if any.
  const Pod* podByIp(const core::IpAddress& ip) const;
  const Policy* findPolicy(const std::string& key) const;
  // The node whose address `ip` is ("" if none).
  std::string nodeByIp(const core::IpAddress& ip) const;
  const std::vector<core::IpAddress>* nodeAddresses(const std::string& node) const;

  const std::map<std::string, Pod>& pods() const { return pods_; }
  const std::map<std::string, Policy>& policies() const { return policies_; }
  const std::map<std::string, Namespace>& namespaces() const { return namespaces_; }
  // The policies of one namespace, in name order.
  std::vector<const Policy*> policiesIn(const std::string& ns) const;
  // Labels of a namespace; an unknown namespace has only its name label.
  Labels namespaceLabels(const std::string& ns) const;

 private:
  std::map<std::string, Namespace> namespaces_;
  std::map<std::string, Pod> pods_;
  std::map<std::string, Policy> policies_;
  std::map<std::string, std::set<std::string>> policiesByNamespace_;
  std::map<core::IpAddress, std::set<std::string>> podsByIp_;  // pod keys
  std::map<std::string, std::vector<core::IpAddress>> nodes_;
  std::map<core::IpAddress, std::string> nodeByIp_;
};

// Adds a Namespace, Pod, Node or NetworkPolicy object (with its kind) to
// `state`; false for other kinds (and a policy that does not parse).
bool addToClusterState(ClusterState& state, const Json& object);

// One end of a connection: a pod, or an address that is not a pod's (a
// node, a hostNetwork pod, anything outside the cluster).
struct Endpoint {
  const Pod* pod = nullptr;  // never a hostNetwork pod: those count as their node's address
  Labels namespaceLabels;    // the pod's namespace's
  core::IpAddress ip;
  std::string node;              // the node the address belongs to, when it is a node's
  std::string describe() const;  // "x/a (10.244.1.5)" or "10.0.0.1"
};

// The endpoint for a pod (a hostNetwork pod becomes its node's address) and
// for an address (the pod holding it, if any).
Endpoint endpointForPod(const ClusterState& state, const Pod& pod);
Endpoint endpointForIp(const ClusterState& state, const core::IpAddress& ip);

// ---- the predicates ---------------------------------------------------------

// Whether `policy` applies to `pod` (its namespace, its podSelector; never a
// hostNetwork pod).
bool policySelects(const Policy& policy, const Pod& pod);
// The other end of a connection as the predicates see it: a pod (never a
// hostNetwork one) with its namespace's labels, or only an address.
struct PeerView {
  const Pod* pod = nullptr;
  const Labels* namespaceLabels = nullptr;  // set when pod is
  core::IpAddress ip;
};
PeerView peerView(const Endpoint& endpoint);

// Whether a peer of a rule of `policy` matches the other end of the connection.
bool peerMatches(const Policy& policy, const Peer& peer, const PeerView& other);
// Whether a port of a rule matches a connection to `port`/`protocol` whose
// destination pod is `destination` (named ports resolve on it: a name never
// matches an address that is not a pod's).
bool portMatches(const PolicyPort& rulePort, Protocol protocol, uint16_t port,
                 const Pod* destination);
// The port a named policy port resolves to on `pod`, for `protocol`.
std::optional<uint16_t> resolveNamedPort(const Pod& pod, const std::string& name,
                                         Protocol protocol);

// ---- verdicts ---------------------------------------------------------------

struct RuleRef {
  std::string policy;  // ns/name
  size_t rule = 0;     // index in spec.ingress / spec.egress
  bool operator==(const RuleRef&) const = default;
};

// How one rule of an isolating policy fared: both its peers and its ports
// must match for it to allow.
struct RuleCheck {
  RuleRef rule;
  bool peerMatches = false;
  bool portMatches = false;
};

// One direction: the egress of the source, or the ingress of the destination.
struct DirectionVerdict {
  Direction direction = Direction::ingress;
  bool applies = false;  // the side is a pod whose policies can judge this connection
  bool isolated = false;
  bool allowed = true;
  std::vector<std::string> isolatingPolicies;  // policies of this type that select the pod
  std::vector<RuleRef> allowedBy;              // every rule that allows it
  std::vector<RuleCheck> rules;                // every rule of the isolating policies
  std::string reason;                          // in plain words
};

struct Verdict {
  bool allowed = true;
  // Set when the connection is allowed before any policy is consulted.
  std::string exemption;     // "a pod reaching itself", "from the pod's own node", ""
  DirectionVerdict egress;   // of the source
  DirectionVerdict ingress;  // of the destination
};

// The verdict on a new connection from `from` to `to` on `port`/`protocol`.
Verdict evaluate(const ClusterState& state, const Endpoint& from, const Endpoint& to,
                 Protocol protocol, uint16_t port);

// A rule in words: "from pods app=web in namespace default on 3000/TCP".
std::string describeRule(const Policy& policy, Direction direction, size_t index);
std::string describeSelector(const api::LabelSelector& selector);

}  // namespace podnet::policy
