// NetworkPolicy (networking.k8s.io/v1) and the parts of Pods and Namespaces
// it reads, as typed values. Everything else in src/policy works on these:
// the evaluator that explains verdicts, the compiler that builds the
// kernel's program, the truth tables. Parsing applies the API server's
// defaulting itself (policyTypes, protocol TCP), so objects read from a
// file behave as they would once applied.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/selector.h"
#include "core/ip.h"
#include "core/result.h"

namespace podnet::policy {

using Json = api::Json;
using Labels = std::map<std::string, std::string>;

// IP protocol numbers, as the kernel's meta l4proto holds them.
enum class Protocol : uint8_t { tcp = 6, udp = 17, sctp = 132 };
const char* protocolName(Protocol protocol);                   // "TCP"
std::optional<Protocol> parseProtocol(std::string_view text);  // "TCP", "udp", ...

// A container port with a name: what a named policy port resolves to.
struct NamedPort {
  std::string name;
  Protocol protocol = Protocol::tcp;
  uint16_t port = 0;
  bool operator==(const NamedPort&) const = default;
  auto operator<=>(const NamedPort&) const = default;
};

struct ContainerPort {
  Protocol protocol = Protocol::tcp;
  uint16_t port = 0;
  bool operator==(const ContainerPort&) const = default;
  auto operator<=>(const ContainerPort&) const = default;
};

struct Pod {
  std::string ns, name;
  Labels labels;
  std::string nodeName;
  // The pod's addresses while it holds them: none before the sandbox has
  // one, and none once the pod has Succeeded or Failed (its IP may already
  // belong to another pod). A hostNetwork pod's addresses are its node's.
  std::vector<core::IpAddress> ips;
  bool hostNetwork = false;
  std::vector<NamedPort> namedPorts;          // sorted
  std::vector<ContainerPort> containerPorts;  // every declared port, sorted
  std::string key() const { return ns + "/" + name; }
  bool operator==(const Pod&) const = default;
};

struct Namespace {
  std::string name;
  Labels labels;  // with kubernetes.io/metadata.name, which the API server always sets
  bool operator==(const Namespace&) const = default;
};

struct IpBlock {
  core::Cidr cidr;
  std::vector<core::Cidr> except;
  bool contains(const core::IpAddress& ip) const;
  // The IPv4 addresses of the block as sorted, disjoint, inclusive ranges
  // (host order): cidr minus every except. None for an IPv6 block.
  std::vector<std::pair<uint32_t, uint32_t>> ipv4Ranges() const;
};

// One item of a rule's from/to: selectors (both set: AND) or an ipBlock.
struct Peer {
  std::optional<api::LabelSelector> podSelector;
  std::optional<api::LabelSelector> namespaceSelector;
  std::optional<IpBlock> ipBlock;
};

struct PolicyPort {
  enum class Kind { all, number, named };  // all: `port` unset, every port of the protocol
  Protocol protocol = Protocol::tcp;
  Kind kind = Kind::all;
  uint16_t port = 0;
  uint16_t endPort = 0;  // number: the last port of the range (= port when unset)
  std::string name;      // named
};

struct Rule {
  std::vector<Peer> peers;        // empty: every source (ingress) or destination (egress)
  std::vector<PolicyPort> ports;  // empty: every port of every protocol
};

enum class Direction { ingress, egress };
const char* directionName(Direction direction);  // "ingress", "egress"

struct Policy {
  std::string ns, name;
  api::LabelSelector podSelector;
  bool ingress = false, egress = false;  // policyTypes, defaulted as the API server does
  std::vector<Rule> ingressRules, egressRules;
  std::string key() const { return ns + "/" + name; }
  bool hasType(Direction d) const { return d == Direction::ingress ? ingress : egress; }
  const std::vector<Rule>& rules(Direction d) const {
    return d == Direction::ingress ? ingressRules : egressRules;
  }
};

// A policy as the API server holds it (or as a file has it: defaults are
// applied here). Never throws; a spec that is not valid NetworkPolicy is an
// error naming the field.
core::Result<Policy> policyFromJson(const Json& object);
// Pods and Namespaces tolerate anything: a field that does not parse is
// left out.
Pod podFromJson(const Json& object);
Namespace namespaceFromJson(const Json& object);

// What a policy can tell of a pod, as a key: namespace, labels, named
// ports. Pods with equal keys are one kind (an identity): every rule treats
// them alike, but for their addresses.
std::string kindKey(const Pod& pod);

// The label the API server gives every namespace: its name.
inline constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

}  // namespace podnet::policy
