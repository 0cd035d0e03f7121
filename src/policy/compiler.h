// The policy compiler of one node: Namespaces, Pods and NetworkPolicies in,
// the node's Program (program.h) out, kept up to date incrementally. Pure:
// no I/O, no clock, no threads; the enforcer (enforcer.h) feeds it and
// sends its deltas to the kernel.
//
// How a change costs little:
// - Pods are grouped into identities (namespace, labels, named ports). The
//   rules are worked out between identities (reference-counted pairs), and
//   each pair is then held once per address of the peer identity's pods in
//   the chain of the local identity: a new pod of an existing kind adds its
//   address where its kind is allowed, and a local one only a dispatch entry.
// - Kinds of local pods that the policies treat alike (the same selecting
//   policies; for ingress, where named ports resolve on the local pod, the
//   same named ports) share one chain: a rollout's new pod-template-hash, or
//   a pod relabelled into an existing group, only moves dispatch entries. A
//   chain one kind uses alone is edited in place when its policies change.
// - Only policies that select a pod of this node ("active" ones) have their
//   peers resolved; the others cost nothing until such a pod arrives.
// - Every element is reference-counted by the rules that want it, so a
//   policy, pod or namespace change adds and removes exactly the elements
//   whose count crosses zero; interval sets are renormalized (made disjoint,
//   as the kernel requires) only for the local identity they belong to.
//
// The predicates come from evaluator.h (policySelects, peerMatches,
// resolveNamedPort), so the program means what `podnet policy explain` says.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "policy/evaluator.h"
#include "policy/program.h"

namespace podnet::policy {

struct CompilerStats {
  size_t identities = 0;
  size_t localIdentities = 0;
  size_t policies = 0;
  size_t activePolicies = 0;  // selecting a pod of this node
  size_t elements = 0;        // in the rule sets
  size_t chains = 0;          // per-kind chains, both directions
  size_t groups = 0;          // peer groups
};

struct CompilerOptions {
  // A rule whose peers hold at least this many addresses gets a peer group
  // (a set shared by every chain that uses it); below half of it, pairs
  // again. See program.h.
  size_t groupAtAddresses = 128;
};

class Compiler {
 public:
  explicit Compiler(std::string nodeName, CompilerOptions options = {});
  ~Compiler();
  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

  void setNamespace(const Namespace& ns);
  void removeNamespace(const std::string& name);
  void setPod(const Pod& pod);
  void removePod(const std::string& key);
  void setPolicy(const Policy& policy);
  void removePolicy(const std::string& key);

  // The program as it stands.
  const Program& program() const;
  // What changed since the last call (everything, the first time).
  Delta takeDelta();
  CompilerStats stats() const;

  // The identity of a pod address (0: none), as the chain names use it.
  uint32_t identityOf(uint32_t ipv4) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::policy
