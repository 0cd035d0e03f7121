// The policy program of one node, as data: what the compiler produces, what
// netlink_writer.h encodes for the kernel and trace.h follows a packet
// through in tests.
//
// The kernel's side (table `ip podnet-policy`) is a few fixed chains plus
// one chain per kind of local pod; everything else is set elements, so most
// changes are a handful of element additions and deletions in one
// transaction:
//
//   forward (filter hook forward, priority 0) and input (hook input: a pod
//   reaching its own node):
//     ct state established,related accept        replies are never judged
//     ip saddr vmap @egress-dispatch             a local pod isolated for egress sends
//     ip daddr vmap @ingress-dispatch            (forward only) a local isolated pod receives
//   ingress-<id> / egress-<id>, one per identity of local pods isolated in
//   that direction (the dispatch maps send each of its pods' addresses there):
//     ip saddr . ip daddr @self return                      a pod reaching itself (via a Service)
//     <peer> @<chain>-peers return                          rules without ports
//     <peer> . meta l4proto @<chain>-protocols return       a protocol, every port
//     <peer> . meta l4proto . th dport @<chain>-ports return        one port
//     <peer> . meta l4proto . th dport @<chain>-port-ranges return  endPort ranges (intervals)
//     <peer> . meta l4proto . th dport @<chain>-cidrs return        ipBlocks, "anywhere"
//     (intervals) ct state new limit rate ... log group <nflog group> prefix "podnet-policy
//     <direction>" drop
//   where <peer> is ip saddr for ingress and ip daddr for egress.
//
// An identity is a kind of pod: one namespace, the same labels and the same
// named ports. Pods of one kind on this node share a chain and its sets, so
// the sets grow with the kinds of local pods times the peers they allow,
// not with every local pod. Every rule is plain nft: `nft list ruleset`
// prints it. Traffic from the node itself never crosses forward (it leaves
// through output), so it is always allowed, as the API requires.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace podnet::policy {

enum class SetKind : uint8_t { peers = 0, protocols, ports, portRanges, cidrs, groupPorts };
inline constexpr size_t kSetKinds = 5;      // a chain's own sets of peer addresses
inline constexpr size_t kElementKinds = 6;  // and the ports it allows from each peer group
inline constexpr size_t kDirections = 2;    // index: 0 ingress, 1 egress

// One element of a chain's set: up to three fields in key order, as numbers
// in host order; `last` differs from `first` only in the interval sets.
//   peers:       peer address
//   protocols:   peer address, protocol
//   ports:       peer address, protocol, port
//   port-ranges: peer address, protocol, [first port, last port]
//   cidrs:       [first address, last address], [protocols], [ports]
//   groupPorts:  peer group, [protocols], [ports] (a group of the full box:
//                every port; else the chain's set <chain>-g<group>)
struct Element {
  std::array<uint32_t, 3> first{};
  std::array<uint32_t, 3> last{};
  bool operator==(const Element&) const = default;
  auto operator<=>(const Element&) const = default;
};

// The sets of one chain (one local identity, one direction).
struct ChainSets {
  std::set<Element> sets[kElementKinds];
  bool operator==(const ChainSets&) const = default;
};

// The peer groups a chain uses, element by element (SetKind::groupPorts).
struct GroupRefs {
  std::set<Element> before, after;
};

struct Program {
  // Isolated local pod IPv4 (host order) -> the identity whose chain judges it.
  std::map<uint32_t, uint32_t> dispatch[kDirections];
  std::set<uint32_t> localPods;                       // the `self` set
  std::map<uint32_t, ChainSets> chains[kDirections];  // by number
  std::map<uint32_t, std::set<uint32_t>> groups;      // peer group -> addresses
  bool operator==(const Program&) const = default;
};

// What changed between two programs. Chains come and go with their sets;
// the elements of a removed chain are not listed, those of a new one are
// (as added). A dispatch entry whose chain changed is removed and added.
struct Delta {
  std::set<uint32_t> chainsAdded[kDirections], chainsRemoved[kDirections];
  std::map<uint32_t, uint32_t> dispatchAdded[kDirections], dispatchRemoved[kDirections];
  std::set<uint32_t> localPodsAdded, localPodsRemoved;
  std::map<uint32_t, ChainSets> added[kDirections], removed[kDirections];
  // Groups: new ones with their addresses, gone ones, and address changes.
  std::map<uint32_t, std::set<uint32_t>> groupsAdded;
  std::set<uint32_t> groupsRemoved;
  std::map<uint32_t, std::set<uint32_t>> groupAddressesAdded, groupAddressesRemoved;
  // Chains (present before and after) whose peer-group references changed:
  // their group rules are rewritten. (A new chain has them in `added`, a
  // removed one its former ones in `removed`.)
  std::map<uint32_t, GroupRefs> groupRefsChanged[kDirections];
  bool empty() const;
  size_t size() const;  // chains and elements touched
};

// The names in the kernel.
inline constexpr const char* kPolicyTable = "podnet-policy";
inline constexpr const char* kSelfSet = "self";
const char* directionName(size_t direction);                             // "ingress"
std::string dispatchMapName(size_t direction);                           // "ingress-dispatch"
std::string chainName(size_t direction, uint32_t identity);              // "ingress-7"
std::string setName(size_t direction, uint32_t identity, SetKind kind);  // "ingress-7-ports"
std::string groupSetName(uint32_t group);                                // "group-3"
std::string groupPortsSetName(size_t direction, uint32_t chain, uint32_t group);  // "ingress-7-g3"
// A group element that allows every port and protocol (a bare rule, no set).
bool allowsEverything(const Element& groupPorts);
inline constexpr uint16_t kDefaultNflogGroup = 4201;
inline constexpr const char* kLogPrefix = "podnet-policy ";  // + "ingress"/"egress"

Delta diffPrograms(const Program& before, const Program& after);
// Applies a delta to a program (what the kernel holds after the change).
void applyDelta(Program& program, const Delta& delta);
size_t elementCount(const Program& program);

}  // namespace podnet::policy
