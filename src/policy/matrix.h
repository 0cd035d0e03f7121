// Reachability of every pod to every pod (`podnet policy matrix`), fast
// enough for 100,000 pods and 10,000 policies: pods that no policy can tell
// apart (same namespace, labels and named ports, and inside the same
// ipBlocks) form one class; every selector is evaluated once, over all
// classes at a time, as bitsets from a label index; a class's allowed peers
// are the union of its rules' peer bitsets. The predicates are those of
// evaluator.h (tests check the two agree on every pair of random clusters).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/evaluator.h"

namespace podnet::policy {

// A fixed-size set of indexes.
class Bitset {
 public:
  Bitset() = default;
  explicit Bitset(size_t bits) : bits_(bits), words_((bits + 63) / 64, 0) {}
  size_t size() const { return bits_; }
  bool test(size_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  void set(size_t i) { words_[i / 64] |= uint64_t(1) << (i % 64); }
  void setAll();
  Bitset& operator|=(const Bitset& o);
  Bitset& operator&=(const Bitset& o);
  void flip();  // complement within size()
  bool any() const;
  size_t count() const;
  const std::vector<uint64_t>& words() const { return words_; }
  std::vector<uint64_t>& words() { return words_; }

 private:
  size_t bits_ = 0;
  std::vector<uint64_t> words_;
};

struct PortProtocol {
  Protocol protocol = Protocol::tcp;
  uint16_t port = 0;
};

class Reachability {
 public:
  // `pods`: the rows and columns, in order (pods without an address, or on
  // hostNetwork, are left out by the caller). `state` holds every pod,
  // namespace and policy (peers may be outside `pods`).
  static Reachability compute(const ClusterState& state, const std::vector<const Pod*>& pods,
                              PortProtocol port);

  PortProtocol port() const { return port_; }
  size_t pods() const { return classOf_.size(); }
  size_t classes() const { return members_.size(); }
  // The verdict for a new connection from pods[from] to pods[to].
  bool allowed(size_t from, size_t to) const;
  // Ordered pairs of distinct pods that may connect, of pods() * (pods() - 1).
  uint64_t allowedPairs() const;
  size_t isolatedForIngress() const;  // pods
  size_t isolatedForEgress() const;

 private:
  PortProtocol port_;
  std::vector<uint32_t> classOf_;               // per pod
  std::vector<std::vector<uint32_t>> members_;  // per class: pod indexes
  std::vector<Bitset> ingressFrom_;             // per class: source classes its ingress admits
  std::vector<Bitset> egressTo_;                // per class: destination classes its egress admits
  std::vector<bool> ingressIsolated_, egressIsolated_;
};

// The distinct container ports the pods declare, in order (the default
// ports of a matrix), at most `limit`.
std::vector<PortProtocol> declaredPorts(const std::vector<const Pod*>& pods, size_t limit);

}  // namespace podnet::policy
