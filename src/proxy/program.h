// The nftables program the proxy wants in the kernel, as data: chains of
// rules, verdict maps and sets. The compiler produces it, program_state.h
// turns it into transactions (the delta between two, or a whole table) that
// netlink_writer.h encodes for the kernel and Transaction::script() renders as
// nft text, and trace.h follows a packet through it in tests, so the rules'
// meaning is checked without root.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace podnet::proxy {

enum class Family { v4, v6 };

// What a rule tests; all conditions of a rule must hold.
enum class Match {
  saddrIn,     // source address in one of `values` (addresses or CIDRs)
  saddrNotIn,  // source address in none of `values`
  daddrIs,     // destination address is values[0]
  saddrLocal,  // fib saddr type local: sent by this node itself
  inAffinity,  // the source address is in the affinity set values[0]
  oneIn,       // with probability 1/values[0] (a leg of a random choice; see kernelRules)
};

struct Condition {
  Match match;
  std::vector<std::string> values;
  bool operator==(const Condition&) const = default;
};

struct DnatTarget {
  std::string ip;
  int port = 0;
  bool operator==(const DnatTarget&) const = default;
  auto operator<=>(const DnatTarget&) const = default;
};

enum class Action {
  jump,       // target chain, then come back
  gotoChain,  // target chain, no return
  drop,
  reject,          // ICMP port unreachable (TCP: connection refused)
  markMasquerade,  // masquerade this connection on its way out
  dnat,            // to one of `targets` chosen at random (protocol `protocol`)
  randomGoto,      // goto one of `chains`, chosen at random
  updateAffinity,  // add the source address to affinity set `target`
};

struct Rule {
  std::vector<Condition> conditions;
  Action action = Action::jump;
  std::string target;               // chain or set name
  std::string protocol;             // for dnat: tcp/udp/sctp
  std::vector<DnatTarget> targets;  // for dnat
  std::vector<std::string> chains;  // for randomGoto
  bool operator==(const Rule&) const = default;
};

using Chain = std::vector<Rule>;

// An affinity set: client addresses, each remembered for `timeoutSeconds`.
struct AffinitySet {
  int timeoutSeconds = 0;
  bool operator==(const AffinitySet&) const = default;
};

// The names of the maps and sets the base program declares.
inline constexpr const char* kServiceIps = "service-ips";  // ip . proto . port : verdict
inline constexpr const char* kServiceNodePorts = "service-nodeports";  // proto . port : verdict
inline constexpr const char* kNoEndpointServices = "no-endpoint-services";
inline constexpr const char* kNoEndpointNodePorts = "no-endpoint-nodeports";
inline constexpr const char* kHairpin = "hairpin";  // ip . ip: an endpoint reaching itself
inline constexpr const char* kMarkForMasquerade = "mark-for-masquerade";
inline constexpr const char* kRejectChain = "reject-chain";

// A map key is its nft text ("10.96.0.5 . tcp . 80", "tcp . 30080"); a
// verdict is nft text too ("goto service-...", "drop").
using VerdictMap = std::map<std::string, std::string>;

// What one Service adds to the program: its own chains and affinity sets,
// and its entries in the shared maps and sets.
struct ServiceProgram {
  std::map<std::string, Chain> chains;
  std::map<std::string, AffinitySet> affinitySets;
  std::map<std::string, VerdictMap> maps;             // map name -> entries
  std::map<std::string, std::set<std::string>> sets;  // set name -> elements
  bool operator==(const ServiceProgram&) const = default;
};

}  // namespace podnet::proxy
