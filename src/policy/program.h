// The policy program of one node, as data: what the compiler produces, what
// netlink_writer.h encodes for the kernel and trace.h follows a packet
// through in tests.
//
// The kernel's side (table `ip podnet-policy`) is a fixed set of chains;
// everything that depends on the objects is set elements, so a change is
// a handful of element additions and deletions in one transaction:
//
//   forward (filter hook forward, priority 0) and input (hook input: a pod
//   reaching its own node):
//     ct state established,related accept          replies are never judged
//     ip saddr @egress-isolated  jump egress        a local pod isolated for egress sends
//     ip daddr @ingress-isolated jump ingress       (forward only) a local isolated pod receives
//   egress / ingress:
//     ip saddr . ip daddr @self return              a pod reaching itself (through a Service)
//     id(local) . id(peer) @<dir>-peers return                      rules without ports
//     id(local) . id(peer) . l4proto @<dir>-protocols return        a protocol, every port
//     id(local) . id(peer) . l4proto . dport @<dir>-ports return    one port
//     id(local) . id(peer) . l4proto . dport @<dir>-port-ranges return   endPort ranges
//     id(local) . peer address . l4proto . dport @<dir>-cidrs return     ipBlocks, "anywhere"
//     ct state new limit rate ... log group <nflog group> prefix "podnet-policy <dir>"
//     drop
//
// id() is the `identities` map: every pod address of the cluster to the
// identity of its pod, a number shared by the pods of one namespace with the
// same labels and named ports (so the sets grow with the distinct kinds of
// pods, not with the pods: Cilium's idea). For ingress the local pod is the
// destination and the peer the source; for egress the other way round.
// Traffic from the node itself never crosses forward (it leaves through
// output), so it is always allowed, as the API requires.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace podnet::policy {

enum class SetKind : uint8_t { peers = 0, protocols, ports, portRanges, cidrs };
inline constexpr size_t kSetKinds = 5;
inline constexpr size_t kDirections = 2;  // index: 0 ingress, 1 egress

// One element of a rule set: four fields in key order, as numbers in host
// order; `last` differs from `first` only in the interval sets
// (port-ranges: field 3; cidrs: fields 1-3).
//   peers:       local id, peer id
//   protocols:   local id, peer id, protocol
//   ports:       local id, peer id, protocol, port
//   port-ranges: local id, peer id, protocol, [first port, last port]
//   cidrs:       local id, [first address, last address], [protocols], [ports]
struct Element {
  std::array<uint32_t, 4> first{};
  std::array<uint32_t, 4> last{};
  bool operator==(const Element&) const = default;
  auto operator<=>(const Element&) const = default;
};

struct Program {
  std::map<uint32_t, uint32_t> identities;  // pod IPv4 (host order) -> identity
  std::set<uint32_t> isolated[kDirections];  // local pod IPv4s, per direction
  std::set<uint32_t> localPods;              // local pod IPv4s (the `self` set)
  std::set<Element> sets[kDirections][kSetKinds];
  bool operator==(const Program&) const = default;
};

// What changed between two programs: element additions and removals. An
// identity whose value changed is removed and added again.
struct Delta {
  std::map<uint32_t, uint32_t> identitiesAdded, identitiesRemoved;
  std::set<uint32_t> isolatedAdded[kDirections], isolatedRemoved[kDirections];
  std::set<uint32_t> localPodsAdded, localPodsRemoved;
  std::set<Element> added[kDirections][kSetKinds], removed[kDirections][kSetKinds];
  bool empty() const;
  size_t size() const;  // elements touched
};

// The names in the kernel.
inline constexpr const char* kPolicyTable = "podnet-policy";
inline constexpr const char* kIdentitiesMap = "identities";
inline constexpr const char* kSelfSet = "self";
const char* isolatedSetName(size_t direction);              // "ingress-isolated"
std::string ruleSetName(size_t direction, SetKind kind);    // "ingress-port-ranges"
const char* chainName(size_t direction);                     // "ingress"
inline constexpr uint16_t kDefaultNflogGroup = 4201;
inline constexpr const char* kLogPrefix = "podnet-policy ";  // + "ingress"/"egress"

// Program -> Delta (for tests and for a full comparison).
Delta diffPrograms(const Program& before, const Program& after);
// Applies a delta to a program (what the kernel holds after the change).
void applyDelta(Program& program, const Delta& delta);

}  // namespace podnet::policy
