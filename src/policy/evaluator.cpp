#include "policy/evaluator.h"

#include <algorithm>

#include "api/object.h"

namespace podnet::policy {

// ---- ClusterState -----------------------------------------------------------

void ClusterState::setNamespace(Namespace ns) {
  ns.labels[kNamespaceNameLabel] = ns.name;
  std::string name = ns.name;
  namespaces_[name] = std::move(ns);
}

void ClusterState::removeNamespace(const std::string& name) { namespaces_.erase(name); }

void ClusterState::setPod(Pod pod) {
  std::string key = pod.key();
  removePod(key);
  if (!pod.hostNetwork)
    for (const auto& ip : pod.ips) podsByIp_[ip].insert(key);
  pods_.emplace(key, std::move(pod));
}

void ClusterState::removePod(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) return;
  for (const auto& ip : it->second.ips) {
    auto holders = podsByIp_.find(ip);
    if (holders == podsByIp_.end()) continue;
    holders->second.erase(key);
    if (holders->second.empty()) podsByIp_.erase(holders);
  }
  pods_.erase(it);
}

void ClusterState::setPolicy(Policy policy) {
  std::string key = policy.key();
  policiesByNamespace_[policy.ns].insert(key);
  policies_[key] = std::move(policy);
}

void ClusterState::removePolicy(const std::string& key) {
  auto it = policies_.find(key);
  if (it == policies_.end()) return;
  auto byNs = policiesByNamespace_.find(it->second.ns);
  if (byNs != policiesByNamespace_.end()) {
    byNs->second.erase(key);
    if (byNs->second.empty()) policiesByNamespace_.erase(byNs);
  }
  policies_.erase(it);
}

void ClusterState::setNodeAddresses(const std::string& node,
                                    std::vector<core::IpAddress> addresses) {
  removeNode(node);
  for (const auto& ip : addresses) nodeByIp_[ip] = node;
  nodes_[node] = std::move(addresses);
}

void ClusterState::removeNode(const std::string& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  for (const auto& ip : it->second) {
    auto owner = nodeByIp_.find(ip);
    if (owner != nodeByIp_.end() && owner->second == node) nodeByIp_.erase(owner);
  }
  nodes_.erase(it);
}

const Namespace* ClusterState::findNamespace(const std::string& name) const {
  auto it = namespaces_.find(name);
  return it == namespaces_.end() ? nullptr : &it->second;
}

const Pod* ClusterState::findPod(const std::string& key) const {
  auto it = pods_.find(key);
  return it == pods_.end() ? nullptr : &it->second;
}

const Pod* ClusterState::podByIp(const core::IpAddress& ip) const {
  auto it = podsByIp_.find(ip);
  if (it == podsByIp_.end() || it->second.empty()) return nullptr;
  return findPod(*it->second.begin());
}

const Policy* ClusterState::findPolicy(const std::string& key) const {
  auto it = policies_.find(key);
  return it == policies_.end() ? nullptr : &it->second;
}

std::string ClusterState::nodeByIp(const core::IpAddress& ip) const {
  auto it = nodeByIp_.find(ip);
  return it == nodeByIp_.end() ? std::string() : it->second;
}

const std::vector<core::IpAddress>* ClusterState::nodeAddresses(const std::string& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const Policy*> ClusterState::policiesIn(const std::string& ns) const {
  std::vector<const Policy*> out;
  auto it = policiesByNamespace_.find(ns);
  if (it == policiesByNamespace_.end()) return out;
  for (const auto& key : it->second)
    if (const Policy* p = findPolicy(key)) out.push_back(p);
  return out;
}

Labels ClusterState::namespaceLabels(const std::string& ns) const {
  if (const Namespace* n = findNamespace(ns)) return n->labels;
  return {{kNamespaceNameLabel, ns}};
}

// ---- endpoints --------------------------------------------------------------

std::string Endpoint::describe() const {
  if (pod) return pod->key() + " (" + ip.toString() + ")";
  if (!node.empty()) return ip.toString() + " (node " + node + ")";
  return ip.toString();
}

Endpoint endpointForPod(const ClusterState& state, const Pod& pod) {
  Endpoint e;
  if (pod.hostNetwork) {
    e.node = pod.nodeName;
    if (const auto* addresses = state.nodeAddresses(pod.nodeName); addresses && !addresses->empty())
      e.ip = addresses->front();
    else if (!pod.ips.empty())
      e.ip = pod.ips.front();
    return e;
  }
  e.pod = &pod;
  e.namespaceLabels = state.namespaceLabels(pod.ns);
  if (!pod.ips.empty()) e.ip = pod.ips.front();
  return e;
}

Endpoint endpointForIp(const ClusterState& state, const core::IpAddress& ip) {
  if (const Pod* pod = state.podByIp(ip)) {
    Endpoint e = endpointForPod(state, *pod);
    e.ip = ip;
    return e;
  }
  Endpoint e;
  e.ip = ip;
  e.node = state.nodeByIp(ip);
  return e;
}

// ---- predicates -------------------------------------------------------------

bool policySelects(const Policy& policy, const Pod& pod) {
  return !pod.hostNetwork && pod.ns == policy.ns && policy.podSelector.matches(pod.labels);
}

PeerView peerView(const Endpoint& endpoint) {
  PeerView view;
  view.ip = endpoint.ip;
  if (endpoint.pod) {
    view.pod = endpoint.pod;
    view.namespaceLabels = &endpoint.namespaceLabels;
  }
  return view;
}

bool peerMatches(const Policy& policy, const Peer& peer, const PeerView& other) {
  if (peer.ipBlock) return peer.ipBlock->contains(other.ip);
  // Selectors match pods only: a node, a hostNetwork pod or an outside
  // address is matched by ipBlock alone.
  if (!other.pod) return false;
  if (peer.namespaceSelector) {
    if (!other.namespaceLabels || !peer.namespaceSelector->matches(*other.namespaceLabels))
      return false;
  } else if (other.pod->ns != policy.ns) {
    return false;  // podSelector alone: the policy's own namespace
  }
  return !peer.podSelector || peer.podSelector->matches(other.pod->labels);
}

std::optional<uint16_t> resolveNamedPort(const Pod& pod, const std::string& name,
                                         Protocol protocol) {
  for (const auto& p : pod.namedPorts)
    if (p.name == name && p.protocol == protocol) return p.port;
  return std::nullopt;
}

bool portMatches(const PolicyPort& rulePort, Protocol protocol, uint16_t port,
                 const Pod* destination) {
  if (rulePort.protocol != protocol) return false;
  switch (rulePort.kind) {
    case PolicyPort::Kind::all:
      return true;
    case PolicyPort::Kind::number:
      return port >= rulePort.port && port <= rulePort.endPort;
    case PolicyPort::Kind::named:
      if (!destination) return false;
      for (const auto& p : destination->namedPorts)
        if (p.name == rulePort.name && p.protocol == protocol && p.port == port) return true;
      return false;
  }
  return false;
}

namespace {

// Whether the rule's peers and its ports match (both must, to allow).
std::pair<bool, bool> ruleMatches(const Policy& policy, const Rule& rule, const Endpoint& peer,
                                  Protocol protocol, uint16_t port, const Pod* destination) {
  bool peerOk = rule.peers.empty();
  PeerView view = peerView(peer);
  for (const auto& p : rule.peers)
    if (!peerOk && peerMatches(policy, p, view)) peerOk = true;
  bool portOk = rule.ports.empty();
  for (const auto& p : rule.ports)
    if (!portOk && portMatches(p, protocol, port, destination)) portOk = true;
  return {peerOk, portOk};
}

std::string joinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += i + 1 == keys.size() ? " and " : ", ";
    out += keys[i];
  }
  return out;
}

std::string portText(Protocol protocol, uint16_t port) {
  return std::to_string(port) + "/" + protocolName(protocol);
}

// `subject` is the pod whose policies judge; `peer` the other end.
DirectionVerdict judge(const ClusterState& state, Direction direction, const Endpoint& subject,
                       const Endpoint& peer, Protocol protocol, uint16_t port,
                       const Pod* destination) {
  DirectionVerdict v;
  v.direction = direction;
  const char* dir = directionName(direction);
  if (!subject.pod) {
    v.reason = subject.describe() + " is not a pod: no " + dir + " policy applies";
    return v;
  }
  v.applies = true;
  std::vector<std::string> ruleless;
  for (const Policy* policy : state.policiesIn(subject.pod->ns)) {
    if (!policy->hasType(direction) || !policySelects(*policy, *subject.pod)) continue;
    v.isolatingPolicies.push_back(policy->key());
    const auto& rules = policy->rules(direction);
    if (rules.empty()) ruleless.push_back(policy->key());
    for (size_t i = 0; i < rules.size(); ++i) {
      auto [peerOk, portOk] = ruleMatches(*policy, rules[i], peer, protocol, port, destination);
      v.rules.push_back({{policy->key(), i}, peerOk, portOk});
      if (peerOk && portOk) v.allowedBy.push_back({policy->key(), i});
    }
  }
  v.isolated = !v.isolatingPolicies.empty();
  v.allowed = !v.isolated || !v.allowedBy.empty();
  std::string who = subject.pod->key();
  if (!v.isolated) {
    v.reason = who + " is not isolated for " + dir + ": no NetworkPolicy with policyType " +
               (direction == Direction::ingress ? "Ingress" : "Egress") + " selects it";
  } else if (v.allowed) {
    const RuleRef& first = v.allowedBy.front();
    const Policy* policy = state.findPolicy(first.policy);
    v.reason = std::string(dir) + " rule " + std::to_string(first.rule) + " of " + first.policy +
               " allows it (" + (policy ? describeRule(*policy, direction, first.rule) : "") + ")";
    if (v.allowedBy.size() > 1)
      v.reason += ", and " + std::to_string(v.allowedBy.size() - 1) + " more rule" +
                  (v.allowedBy.size() > 2 ? "s" : "");
  } else {
    v.reason = who + " is isolated for " + dir + " by " + joinKeys(v.isolatingPolicies) +
               ", and no " + dir + " rule of " +
               (v.isolatingPolicies.size() == 1 ? "it" : "theirs") + " allows " +
               (direction == Direction::ingress ? "from " : "to ") + peer.describe() + " on " +
               portText(protocol, port);
    if (!ruleless.empty())
      v.reason += " (" + joinKeys(ruleless) + (ruleless.size() == 1 ? " has" : " have") + " no " +
                  dir + " rules: " + (ruleless.size() == 1 ? "it denies" : "they deny") + " all)";
  }
  return v;
}

}  // namespace

Verdict evaluate(const ClusterState& state, const Endpoint& from, const Endpoint& to,
                 Protocol protocol, uint16_t port) {
  Verdict verdict;
  verdict.egress.direction = Direction::egress;
  verdict.ingress.direction = Direction::ingress;
  if (to.pod && from.pod == to.pod) {
    verdict.exemption = "a pod reaching itself";
  } else if (to.pod && !from.node.empty() && from.node == to.pod->nodeName) {
    verdict.exemption = "from the pod's own node (" + from.node + ")";
  }
  if (!verdict.exemption.empty()) {
    verdict.egress.reason = verdict.ingress.reason = "always allowed: " + verdict.exemption;
    return verdict;
  }
  verdict.egress = judge(state, Direction::egress, from, to, protocol, port, to.pod);
  verdict.ingress = judge(state, Direction::ingress, to, from, protocol, port, to.pod);
  verdict.allowed = verdict.egress.allowed && verdict.ingress.allowed;
  return verdict;
}

// ---- words --------------------------------------------------------------------

std::string describeSelector(const api::LabelSelector& selector) {
  if (selector.selectsEverything()) return "{}";
  return selector.toString();
}

namespace {

std::string describePeer(const Policy& policy, const Peer& peer) {
  if (peer.ipBlock) {
    std::string out = "addresses in " + peer.ipBlock->cidr.toString();
    for (size_t i = 0; i < peer.ipBlock->except.size(); ++i)
      out += (i ? ", " : " except ") + peer.ipBlock->except[i].toString();
    return out;
  }
  std::string pods = !peer.podSelector || peer.podSelector->selectsEverything()
                         ? "all pods"
                         : "pods " + peer.podSelector->toString();
  if (!peer.namespaceSelector) return pods + " in namespace " + policy.ns;
  if (peer.namespaceSelector->selectsEverything()) return pods + " in every namespace";
  return pods + " in namespaces " + peer.namespaceSelector->toString();
}

std::string describePort(const PolicyPort& port) {
  const char* proto = protocolName(port.protocol);
  switch (port.kind) {
    case PolicyPort::Kind::all:
      return std::string("every ") + proto + " port";
    case PolicyPort::Kind::number:
      if (port.endPort != port.port)
        return std::to_string(port.port) + "-" + std::to_string(port.endPort) + "/" + proto;
      return std::to_string(port.port) + "/" + proto;
    case PolicyPort::Kind::named:
      return "port " + port.name + "/" + proto;
  }
  return "";
}

}  // namespace

std::string describeRule(const Policy& policy, Direction direction, size_t index) {
  const auto& rules = policy.rules(direction);
  if (index >= rules.size()) return "";
  const Rule& rule = rules[index];
  std::string out = direction == Direction::ingress ? "from " : "to ";
  if (rule.peers.empty()) {
    out += "anywhere";
  } else {
    for (size_t i = 0; i < rule.peers.size(); ++i)
      out += (i ? " or " : "") + describePeer(policy, rule.peers[i]);
  }
  out += ", on ";
  if (rule.ports.empty()) return out + "every port";
  for (size_t i = 0; i < rule.ports.size(); ++i)
    out += (i ? ", " : "") + describePort(rule.ports[i]);
  return out;
}

bool addToClusterState(ClusterState& state, const Json& obj) {
  auto kindIt = obj.find("kind");
  std::string kind = kindIt != obj.end() && kindIt->is_string() ? kindIt->get<std::string>() : "";
  if (kind == "Namespace") {
    state.setNamespace(namespaceFromJson(obj));
  } else if (kind == "Pod") {
    state.setPod(podFromJson(obj));
  } else if (kind == "Node") {
    std::vector<core::IpAddress> addresses;
    if (obj.contains("status") && obj["status"].is_object() &&
        obj["status"].contains("addresses") && obj["status"]["addresses"].is_array())
      for (const Json& a : obj["status"]["addresses"])
        if (a.is_object() && a.contains("address") && a["address"].is_string())
          if (auto ip = core::IpAddress::parse(a["address"].get<std::string>()))
            addresses.push_back(*ip);
    state.setNodeAddresses(api::name(obj), std::move(addresses));
  } else if (kind == "NetworkPolicy") {
    auto policy = policyFromJson(obj);
    if (!policy) return false;
    state.setPolicy(std::move(*policy));
  } else {
    return false;
  }
  return true;
}

}  // namespace podnet::policy
#include "api/object.h"
