#include "policy/compiler.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace podnet::policy {

namespace {

constexpr size_t kIngress = 0;
constexpr size_t kEgress = 1;

size_t directionIndex(Direction d) { return d == Direction::ingress ? kIngress : kEgress; }

// An element at the level of identities: what a rule allows between a
// local identity and a peer identity. The kernel holds it once per address
// of the peer identity's pods (see pairPresent).
struct PairKey {
  size_t direction = 0;
  SetKind kind = SetKind::peers;  // peers, protocols, ports or portRanges
  uint32_t local = 0, peer = 0;
  uint32_t protocol = 0;
  uint32_t portFirst = 0, portLast = 0;
  auto operator<=>(const PairKey&) const = default;
  bool operator==(const PairKey&) const = default;
};

struct PairKeyHash {
  size_t operator()(const PairKey& k) const {
    uint64_t h = 1469598103934665603ULL;
    for (uint64_t v : {uint64_t(k.direction), uint64_t(k.kind), uint64_t(k.local), uint64_t(k.peer),
                       uint64_t(k.protocol), uint64_t(k.portFirst), uint64_t(k.portLast)})
      h = (h ^ v) * 1099511628211ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// The kernel element of a pair for one address of the peer.
Element elementFor(const PairKey& k, uint32_t ip) {
  switch (k.kind) {
    case SetKind::peers:
      return Element{{ip, 0, 0}, {ip, 0, 0}};
    case SetKind::protocols:
      return Element{{ip, k.protocol, 0}, {ip, k.protocol, 0}};
    case SetKind::ports:
    case SetKind::portRanges:
      return Element{{ip, k.protocol, k.portFirst}, {ip, k.protocol, k.portLast}};
    case SetKind::cidrs:
      break;
  }
  return Element{};
}

// A region of (peer address, protocol, port) for one local identity.
struct Box {
  uint32_t ipFirst = 0, ipLast = 0;
  uint32_t protoFirst = 0, protoLast = 0;
  uint32_t portFirst = 0, portLast = 0;
  auto operator<=>(const Box&) const = default;
  bool operator==(const Box&) const = default;
};

constexpr uint32_t kAllProtocolsLast = 255;
// endPort ranges of at most this many ports become single ports.
constexpr uint32_t kPortsAsSingles = 16;
constexpr uint32_t kAllPortsLast = 65535;

using Interval = std::pair<uint32_t, uint32_t>;

// Sorted, disjoint, not adjacent.
std::vector<Interval> mergeIntervals(std::vector<Interval> in) {
  std::sort(in.begin(), in.end());
  std::vector<Interval> out;
  for (const auto& iv : in) {
    if (!out.empty() && uint64_t(iv.first) <= uint64_t(out.back().second) + 1) {
      out.back().second = std::max(out.back().second, iv.second);
    } else {
      out.push_back(iv);
    }
  }
  return out;
}

// The elementary intervals cut by the bounds of `intervals`.
std::vector<Interval> elementaryIntervals(const std::vector<Interval>& intervals) {
  std::vector<uint64_t> cuts;
  for (const auto& [first, last] : intervals) {
    cuts.push_back(first);
    cuts.push_back(uint64_t(last) + 1);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<Interval> out;
  for (size_t i = 0; i + 1 < cuts.size(); ++i)
    out.emplace_back(uint32_t(cuts[i]), uint32_t(cuts[i + 1] - 1));
  return out;
}

// The union of `boxes` as disjoint boxes (the kernel's interval sets refuse
// overlapping elements): cut along protocols, then ports, merge the address
// ranges, and join neighbours that ended up alike.
std::vector<Box> normalizeBoxes(const std::vector<Box>& boxes) {
  std::vector<Interval> protoBounds;
  for (const auto& b : boxes) protoBounds.emplace_back(b.protoFirst, b.protoLast);
  // Per protocol slice: per port slice, the merged address ranges.
  using PortSlices = std::vector<std::pair<Interval, std::vector<Interval>>>;
  std::vector<std::pair<Interval, PortSlices>> protoSlices;
  for (const auto& proto : elementaryIntervals(protoBounds)) {
    std::vector<const Box*> inProto;
    std::vector<Interval> portBounds;
    for (const auto& b : boxes)
      if (b.protoFirst <= proto.first && b.protoLast >= proto.second) {
        inProto.push_back(&b);
        portBounds.emplace_back(b.portFirst, b.portLast);
      }
    if (inProto.empty()) continue;
    PortSlices slices;
    for (const auto& port : elementaryIntervals(portBounds)) {
      std::vector<Interval> ips;
      for (const Box* b : inProto)
        if (b->portFirst <= port.first && b->portLast >= port.second)
          ips.emplace_back(b->ipFirst, b->ipLast);
      if (ips.empty()) continue;
      ips = mergeIntervals(std::move(ips));
      if (!slices.empty() && uint64_t(slices.back().first.second) + 1 == port.first &&
          slices.back().second == ips) {
        slices.back().first.second = port.second;
      } else {
        slices.emplace_back(port, std::move(ips));
      }
    }
    if (slices.empty()) continue;
    if (!protoSlices.empty() && uint64_t(protoSlices.back().first.second) + 1 == proto.first &&
        protoSlices.back().second == slices) {
      protoSlices.back().first.second = proto.second;
    } else {
      protoSlices.emplace_back(proto, std::move(slices));
    }
  }
  std::vector<Box> out;
  for (const auto& [proto, slices] : protoSlices)
    for (const auto& [port, ips] : slices)
      for (const auto& ip : ips)
        out.push_back({ip.first, ip.second, proto.first, proto.second, port.first, port.second});
  return out;
}

struct Identity {
  uint32_t id = 0;
  std::string key;
  Pod representative;  // namespace, labels, named ports: all a policy reads of a pod
  uint32_t pods = 0;
  std::set<std::string> localPods;                // keys of this node's pods
  uint32_t isolation[kDirections] = {0, 0};       // policies of each type selecting it
  std::set<std::string> selectedBy[kDirections];  // those policies
};

// A chain of the program: the local kinds of pods that policies treat
// alike share one (same selecting policies, and for ingress, where named
// ports resolve on the local pod, the same named ports).
struct ChainState {
  std::string signature;
  std::set<uint32_t> members;  // local identities
};

struct ChainElementKey {
  uint32_t chain = 0;
  size_t kind = 0;
  Element element;
  bool operator==(const ChainElementKey&) const = default;
};

struct ChainElementKeyHash {
  size_t operator()(const ChainElementKey& k) const {
    uint64_t h = 1469598103934665603ULL ^ k.chain ^ (uint64_t(k.kind) << 32);
    for (uint32_t v : k.element.first) h = (h ^ v) * 1099511628211ULL;
    for (uint32_t v : k.element.last) h = (h ^ v) * 1099511628211ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct PodRecord {
  std::string identityKey;
  uint32_t identity = 0;
  bool local = false;
  std::vector<uint32_t> ips;  // IPv4, host order
};

struct PolicyState;

struct RuleState {
  PolicyState* owner = nullptr;
  Direction direction = Direction::ingress;
  size_t index = 0;
  std::set<uint32_t> matched;  // identities its selector peers match (active policies only)
  size_t addresses = 0;        // of the pods of those identities
  // Many addresses: a peer group (a shared set) instead of elements of each
  // chain; 0 while the rule's peers are few. Rules with the same peers (the
  // key) share one group.
  uint32_t group = 0;
  std::string peerKey;
  bool selectorPeers = false;
  bool namespaceSelectorPeers = false;
  // Egress to anywhere with a named port: the name resolves on each
  // destination pod, so every identity that has it gets an entry.
  bool anyPodNamed = false;
};

struct PolicyState {
  Policy policy;
  std::vector<RuleState> rules;
  std::set<uint32_t> selected;  // local identities it selects
  bool active = false;
  // Egress ipBlock with a named port: the name resolves on the pods inside
  // the block, so their addresses become elements of their own.
  bool podIpDependent = false;
  std::vector<std::pair<uint32_t, Box>> podIpBoxes;  // (local identity, box) added
};

}  // namespace

struct Compiler::Impl {
  std::string node;
  Program program;

  // What the program held at the last takeDelta, for whatever changed since.
  std::map<uint32_t, bool> touchedChains[kDirections];  // identity -> existed
  std::map<uint32_t, std::optional<uint32_t>> touchedDispatch[kDirections];
  std::map<uint32_t, bool> touchedLocal;
  // (identity, kind, element) -> was present
  std::map<std::tuple<uint32_t, size_t, Element>, bool> touchedElements[kDirections];

  std::map<std::string, Labels> namespaceLabels;
  std::unordered_map<std::string, uint32_t> idByKey;
  std::map<uint32_t, Identity> identities;
  std::map<std::string, std::set<uint32_t>> idsByNamespace;
  // Identities are never reused: a chain's name stays its identity's.
  uint32_t maxId = 0;
  std::map<std::string, PodRecord> pods;
  std::map<uint32_t, std::set<std::string>> podsByIp;
  std::map<uint32_t, uint32_t> ipIdentity;         // every pod address -> identity
  std::map<uint32_t, std::set<uint32_t>> ipsById;  // and back
  std::map<std::string, PolicyState> policies;
  std::map<std::string, std::set<std::string>> policiesByNamespace;
  // Policies that select a local pod (the map's nodes stay put), and those
  // of them whose elements follow pod addresses.
  std::set<PolicyState*> active;
  std::set<PolicyState*> activePodIpDependent;

  // Reference counts of what the rules want, between identities.
  std::unordered_map<PairKey, uint32_t, PairKeyHash> refs;
  using RangeOwner = std::tuple<size_t, uint32_t, uint32_t, uint32_t>;  // dir, local, peer, proto
  std::map<RangeOwner, std::map<Interval, uint32_t>> rangeRefs;
  std::map<RangeOwner, std::set<Interval>> rangesPresent;  // normalized, as in the program
  using BoxOwner = std::pair<size_t, uint32_t>;            // dir, local
  std::map<BoxOwner, std::map<Box, uint32_t>> boxRefs;
  std::set<RangeOwner> dirtyRanges;
  std::set<BoxOwner> dirtyBoxes;
  // Present pairs by peer identity (what a new address of that identity
  // gets) and by local identity (what moves with it to another chain).
  std::map<uint32_t, std::set<PairKey>> pairsByPeer;
  std::map<std::pair<size_t, uint32_t>, std::set<PairKey>> pairsByLocal;
  // The normalized ipBlock elements of each local identity, as contributed.
  std::map<BoxOwner, std::set<Element>> boxesPresent;

  // Chains, by number (never reused: a name stays with its chain), and the
  // members' reference counts of each element.
  // Peer groups: the rules whose matched identities include an identity,
  // rules whose size crossed a threshold, and the per-chain port boxes of
  // the groups (a Box whose address range is the group's number).
  std::map<uint32_t, std::set<RuleState*>> rulesByIdentity;
  std::set<RuleState*> modeDirty;
  uint32_t maxGroup = 0;
  struct GroupState {
    uint32_t id = 0;
    uint32_t users = 0;  // rules in group mode with these peers
  };
  std::unordered_map<std::string, GroupState> groupsByKey;
  // Each user rule adds its peers' addresses: an address is in the group
  // while one does.
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> groupAddressRefs;
  std::map<BoxOwner, std::map<Box, uint32_t>> groupBoxRefs;
  std::map<BoxOwner, std::set<Element>> groupBoxesPresent;
  std::set<BoxOwner> dirtyGroupBoxes;
  std::map<uint32_t, bool> touchedGroups;                               // group -> existed
  std::map<std::pair<uint32_t, uint32_t>, bool> touchedGroupAddresses;  // (group, ip) -> was in
  size_t groupAtAddresses = 128;

  std::map<uint32_t, ChainState> chainStates[kDirections];
  std::unordered_map<std::string, uint32_t> chainBySignature[kDirections];
  std::map<uint32_t, uint32_t> chainOf[kDirections];  // local identity -> chain
  std::unordered_map<ChainElementKey, uint32_t, ChainElementKeyHash> elementRefs[kDirections];
  uint32_t maxChain = 0;

  explicit Impl(std::string n) : node(std::move(n)) {}

  // ---- the program, with change tracking ------------------------------------

  void setKernelElement(size_t d, uint32_t chainId, SetKind kind, const Element& e, bool present) {
    auto chain = program.chains[d].find(chainId);
    if (chain == program.chains[d].end()) return;  // gone with its chain
    auto& set = chain->second.sets[static_cast<size_t>(kind)];
    auto key = std::make_tuple(chainId, static_cast<size_t>(kind), e);
    if (present) {
      if (set.insert(e).second) touchedElements[d].emplace(key, false);
    } else if (set.erase(e)) {
      touchedElements[d].emplace(key, true);
    }
  }

  void setChain(size_t d, uint32_t chainId, bool present) {
    auto& chains = program.chains[d];
    auto it = chains.find(chainId);
    if (present == (it != chains.end())) return;
    if (present) {
      chains[chainId];
      touchedChains[d].emplace(chainId, false);
      return;
    }
    // Element by element, so a chain that comes back before the next delta
    // is diffed against what the kernel still holds.
    for (size_t k = 0; k < kSetKinds; ++k) {
      std::vector<Element> all(it->second.sets[k].begin(), it->second.sets[k].end());
      for (const auto& e : all) setKernelElement(d, chainId, static_cast<SetKind>(k), e, false);
    }
    chains.erase(chainId);
    touchedChains[d].emplace(chainId, true);
  }

  // A local identity's share of an element of its chain (none without one).
  void contribute(size_t d, uint32_t local, SetKind kind, const Element& e, int sign) {
    auto chain = chainOf[d].find(local);
    if (chain == chainOf[d].end()) return;
    ChainElementKey key{chain->second, static_cast<size_t>(kind), e};
    auto& refs = elementRefs[d];
    if (sign > 0) {
      if (++refs[key] == 1) setKernelElement(d, chain->second, kind, e, true);
      return;
    }
    auto it = refs.find(key);
    if (it == refs.end()) return;
    if (--it->second == 0) {
      refs.erase(it);
      setKernelElement(d, chain->second, kind, e, false);
    }
  }

  // Everything a local identity contributes to its chain, added or taken back.
  void contributeAll(size_t d, uint32_t local, int sign) {
    if (auto pairs = pairsByLocal.find({d, local}); pairs != pairsByLocal.end())
      for (const auto& k : pairs->second)
        if (auto ips = ipsById.find(k.peer); ips != ipsById.end())
          for (uint32_t ip : ips->second) contribute(d, local, k.kind, elementFor(k, ip), sign);
    if (auto boxes = boxesPresent.find({d, local}); boxes != boxesPresent.end())
      for (const auto& e : boxes->second) contribute(d, local, SetKind::cidrs, e, sign);
    if (auto boxes = groupBoxesPresent.find({d, local}); boxes != groupBoxesPresent.end())
      for (const auto& e : boxes->second) contribute(d, local, SetKind::groupPorts, e, sign);
  }

  // ---- peer groups ------------------------------------------------------------

  void setGroup(uint32_t group, bool present) {
    auto it = program.groups.find(group);
    if (present == (it != program.groups.end())) return;
    if (present) {
      program.groups[group];
      touchedGroups.emplace(group, false);
      return;
    }
    for (uint32_t ip : std::vector<uint32_t>(it->second.begin(), it->second.end()))
      setGroupAddress(group, ip, false);
    program.groups.erase(group);
    touchedGroups.emplace(group, true);
  }

  void setGroupAddress(uint32_t group, uint32_t ip, bool present) {
    auto it = program.groups.find(group);
    if (it == program.groups.end()) return;
    if (present) {
      if (it->second.insert(ip).second) touchedGroupAddresses.emplace(std::pair{group, ip}, false);
    } else if (it->second.erase(ip)) {
      touchedGroupAddresses.emplace(std::pair{group, ip}, true);
    }
  }

  size_t addressCount(uint32_t identity) const {
    auto it = ipsById.find(identity);
    return it == ipsById.end() ? 0 : it->second.size();
  }

  void matchedInsert(RuleState& r, uint32_t identity) {
    if (!r.matched.insert(identity).second) return;
    rulesByIdentity[identity].insert(&r);
    r.addresses += addressCount(identity);
    if (r.group)
      if (auto ips = ipsById.find(identity); ips != ipsById.end())
        for (uint32_t ip : ips->second) groupAddressRef(r.group, ip, +1);
    modeDirty.insert(&r);
  }

  void matchedErase(RuleState& r, uint32_t identity) {
    if (!r.matched.erase(identity)) return;
    if (auto it = rulesByIdentity.find(identity); it != rulesByIdentity.end()) {
      it->second.erase(&r);
      if (it->second.empty()) rulesByIdentity.erase(it);
    }
    r.addresses -= std::min(r.addresses, addressCount(identity));
    if (r.group)
      if (auto ips = ipsById.find(identity); ips != ipsById.end())
        for (uint32_t ip : ips->second) groupAddressRef(r.group, ip, -1);
    modeDirty.insert(&r);
  }

  // A rule's peers become a group at `groupAtAddresses` addresses and stop
  // being one below half of it, so a group does not flap at the edge.
  bool wantsGroup(const RuleState& r) const {
    if (!r.selectorPeers) return false;
    return r.group ? r.addresses * 2 >= groupAtAddresses : r.addresses >= groupAtAddresses;
  }

  void groupAddressRef(uint32_t group, uint32_t ip, int sign) {
    auto key = std::pair{group, ip};
    if (sign > 0) {
      if (++groupAddressRefs[key] == 1) setGroupAddress(group, ip, true);
      return;
    }
    auto it = groupAddressRefs.find(key);
    if (it == groupAddressRefs.end()) return;
    if (--it->second == 0) {
      groupAddressRefs.erase(it);
      setGroupAddress(group, ip, false);
    }
  }

  void openGroup(RuleState& r) {
    GroupState& g = groupsByKey[r.peerKey];
    if (g.users++ == 0) {
      g.id = ++maxGroup;
      setGroup(g.id, true);
    }
    r.group = g.id;
    for (uint32_t identity : r.matched)
      if (auto ips = ipsById.find(identity); ips != ipsById.end())
        for (uint32_t ip : ips->second) groupAddressRef(r.group, ip, +1);
  }

  void closeGroup(RuleState& r) {
    if (!r.group) return;
    for (uint32_t identity : r.matched)
      if (auto ips = ipsById.find(identity); ips != ipsById.end())
        for (uint32_t ip : ips->second) groupAddressRef(r.group, ip, -1);
    auto g = groupsByKey.find(r.peerKey);
    if (g != groupsByKey.end() && --g->second.users == 0) {
      setGroup(g->second.id, false);
      groupsByKey.erase(g);
    }
    r.group = 0;
  }

  void groupBoxRef(size_t d, uint32_t local, const Box& box, int sign) {
    BoxOwner owner{d, local};
    auto& counts = groupBoxRefs[owner];
    if (sign > 0) {
      ++counts[box];
    } else {
      auto it = counts.find(box);
      if (it != counts.end() && --it->second == 0) counts.erase(it);
      if (counts.empty()) groupBoxRefs.erase(owner);
    }
    dirtyGroupBoxes.insert(owner);
  }

  std::string signatureOf(size_t d, const Identity& identity) const {
    std::string sig;
    for (const auto& key : identity.selectedBy[d]) {
      sig += key;
      sig += '\0';
    }
    if (d == kIngress) {
      sig += '\1';
      for (const auto& p : identity.representative.namedPorts)
        sig += p.name + "/" + std::to_string(int(p.protocol)) + ":" + std::to_string(p.port) + ",";
    }
    return sig;
  }

  // Puts a local identity in the chain its selecting policies call for (or
  // in none, when no policy of direction d selects it), moving what it
  // contributes. A chain it alone uses changes signature in place, so a
  // policy change edits that chain instead of building another.
  void placeInChain(size_t d, uint32_t local) {
    Identity& identity = identities.at(local);
    auto current = chainOf[d].find(local);
    std::optional<uint32_t> from;
    if (current != chainOf[d].end()) from = current->second;
    if (identity.isolation[d] == 0 || identity.localPods.empty()) {
      if (!from) return;
      leaveChain(d, local, *from);
      refreshIdentityIps(identity);
      return;
    }
    std::string sig = signatureOf(d, identity);
    if (from && chainStates[d].at(*from).signature == sig) return;
    auto existing = chainBySignature[d].find(sig);
    if (from && existing == chainBySignature[d].end() &&
        chainStates[d].at(*from).members.size() == 1) {
      ChainState& chain = chainStates[d].at(*from);
      chainBySignature[d].erase(chain.signature);
      chain.signature = sig;
      chainBySignature[d][sig] = *from;
      return;
    }
    uint32_t to;
    if (existing != chainBySignature[d].end()) {
      to = existing->second;
    } else {
      to = ++maxChain;
      chainStates[d][to].signature = sig;
      chainBySignature[d][sig] = to;
      setChain(d, to, true);
    }
    if (from) leaveChain(d, local, *from);
    chainStates[d].at(to).members.insert(local);
    chainOf[d][local] = to;
    contributeAll(d, local, +1);
    refreshIdentityIps(identity);
  }

  void leaveChain(size_t d, uint32_t local, uint32_t chainId) {
    contributeAll(d, local, -1);
    chainOf[d].erase(local);
    ChainState& chain = chainStates[d].at(chainId);
    chain.members.erase(local);
    if (!chain.members.empty()) return;
    chainBySignature[d].erase(chain.signature);
    chainStates[d].erase(chainId);
    setChain(d, chainId, false);
  }

  void setDispatch(size_t d, uint32_t ip, std::optional<uint32_t> id) {
    auto& map = program.dispatch[d];
    auto it = map.find(ip);
    std::optional<uint32_t> now;
    if (it != map.end()) now = it->second;
    if (now == id) return;
    touchedDispatch[d].emplace(ip, now);
    if (id)
      map[ip] = *id;
    else
      map.erase(it);
  }

  void setLocal(uint32_t ip, bool local) {
    if (local) {
      if (program.localPods.insert(ip).second) touchedLocal.emplace(ip, false);
    } else if (program.localPods.erase(ip)) {
      touchedLocal.emplace(ip, true);
    }
  }

  // An identity-level element appears or goes: once per address of the peer.
  void pairPresent(const PairKey& k, bool present) {
    if (present) {
      pairsByPeer[k.peer].insert(k);
      pairsByLocal[{k.direction, k.local}].insert(k);
    } else {
      if (auto it = pairsByPeer.find(k.peer); it != pairsByPeer.end()) {
        it->second.erase(k);
        if (it->second.empty()) pairsByPeer.erase(it);
      }
      if (auto it = pairsByLocal.find({k.direction, k.local}); it != pairsByLocal.end()) {
        it->second.erase(k);
        if (it->second.empty()) pairsByLocal.erase(it);
      }
    }
    auto ips = ipsById.find(k.peer);
    if (ips == ipsById.end()) return;
    for (uint32_t ip : ips->second)
      contribute(k.direction, k.local, k.kind, elementFor(k, ip), present ? +1 : -1);
  }

  void setIpIdentity(uint32_t ip, std::optional<uint32_t> id) {
    auto it = ipIdentity.find(ip);
    std::optional<uint32_t> old;
    if (it != ipIdentity.end()) old = it->second;
    if (old == id) return;
    if (old) {
      ipIdentity.erase(ip);
      auto& ips = ipsById[*old];
      ips.erase(ip);
      if (ips.empty()) ipsById.erase(*old);
      if (auto rules = rulesByIdentity.find(*old); rules != rulesByIdentity.end())
        for (RuleState* r : rules->second) {
          r->addresses -= std::min<size_t>(r->addresses, 1);
          if (r->group) groupAddressRef(r->group, ip, -1);
          modeDirty.insert(r);
        }
      if (auto pairs = pairsByPeer.find(*old); pairs != pairsByPeer.end())
        for (const auto& k : pairs->second)
          contribute(k.direction, k.local, k.kind, elementFor(k, ip), -1);
    }
    if (id) {
      ipIdentity[ip] = *id;
      ipsById[*id].insert(ip);
      if (auto rules = rulesByIdentity.find(*id); rules != rulesByIdentity.end())
        for (RuleState* r : rules->second) {
          ++r->addresses;
          if (r->group) groupAddressRef(r->group, ip, +1);
          modeDirty.insert(r);
        }
      if (auto pairs = pairsByPeer.find(*id); pairs != pairsByPeer.end())
        for (const auto& k : pairs->second)
          contribute(k.direction, k.local, k.kind, elementFor(k, ip), +1);
    }
  }

  // The entries of one address, from the pods that hold it.
  void refreshIp(uint32_t ip) {
    std::optional<uint32_t> id;
    bool local = false;
    auto holders = podsByIp.find(ip);
    if (holders != podsByIp.end() && !holders->second.empty()) {
      const PodRecord& rec = pods.at(*holders->second.begin());
      id = rec.identity;
      local = rec.local;
    }
    setIpIdentity(ip, id);
    setLocal(ip, local);
    for (size_t d = 0; d < kDirections; ++d) {
      std::optional<uint32_t> chain;
      if (local)
        if (auto it = chainOf[d].find(*id); it != chainOf[d].end()) chain = it->second;
      setDispatch(d, ip, chain);
    }
  }

  void refreshIdentityIps(const Identity& identity) {
    for (const auto& podKey : identity.localPods)
      for (uint32_t ip : pods.at(podKey).ips) refreshIp(ip);
  }

  // ---- reference counts -------------------------------------------------------

  void ref(const PairKey& k, int sign) {
    if (sign > 0) {
      if (++refs[k] == 1) pairPresent(k, true);
      return;
    }
    auto it = refs.find(k);
    if (it == refs.end()) return;
    if (--it->second == 0) {
      refs.erase(it);
      pairPresent(k, false);
    }
  }

  void rangeRef(size_t d, uint32_t local, uint32_t peer, uint32_t proto, Interval ports, int sign) {
    RangeOwner owner{d, local, peer, proto};
    auto& counts = rangeRefs[owner];
    if (sign > 0) {
      ++counts[ports];
    } else {
      auto it = counts.find(ports);
      if (it != counts.end() && --it->second == 0) counts.erase(it);
      if (counts.empty()) rangeRefs.erase(owner);
    }
    dirtyRanges.insert(owner);
  }

  void boxRef(size_t d, uint32_t local, const Box& box, int sign) {
    BoxOwner owner{d, local};
    auto& counts = boxRefs[owner];
    if (sign > 0) {
      ++counts[box];
    } else {
      auto it = counts.find(box);
      if (it != counts.end() && --it->second == 0) counts.erase(it);
      if (counts.empty()) boxRefs.erase(owner);
    }
    dirtyBoxes.insert(owner);
  }

  // Interval sets: the elements of each changed owner, made disjoint again
  // (the kernel refuses overlapping intervals).
  void flush() {
    // Rules whose peers crossed the group threshold change representation:
    // everything they give their selected kinds is taken back, then given
    // again the other way.
    std::set<RuleState*> switching;
    switching.swap(modeDirty);
    for (RuleState* r : switching) {
      if (wantsGroup(*r) == (r->group != 0)) continue;
      PolicyState& p = *r->owner;
      for (uint32_t local : p.selected) applyRule(p, *r, local, -1);
      if (r->group)
        closeGroup(*r);
      else
        openGroup(*r);
      for (uint32_t local : p.selected) applyRule(p, *r, local, +1);
    }
    modeDirty.clear();  // the switches themselves change nothing about sizes
    for (const auto& owner : dirtyRanges) {
      auto [d, local, peer, proto] = owner;
      std::vector<Interval> wanted;
      if (auto it = rangeRefs.find(owner); it != rangeRefs.end())
        for (const auto& [iv, count] : it->second) wanted.push_back(iv);
      auto merged = mergeIntervals(std::move(wanted));
      std::set<Interval> want(merged.begin(), merged.end());
      std::set<Interval>& present = rangesPresent[owner];
      auto key = [&](const Interval& iv) {
        return PairKey{d, SetKind::portRanges, local, peer, proto, iv.first, iv.second};
      };
      for (auto it = present.begin(); it != present.end();) {
        if (want.count(*it)) {
          ++it;
          continue;
        }
        pairPresent(key(*it), false);
        it = present.erase(it);
      }
      for (const auto& iv : want)
        if (present.insert(iv).second) pairPresent(key(iv), true);
      if (present.empty()) rangesPresent.erase(owner);
    }
    dirtyRanges.clear();
    for (const auto& owner : dirtyBoxes) {
      auto [d, local] = owner;
      std::vector<Box> boxes;
      if (auto it = boxRefs.find(owner); it != boxRefs.end())
        for (const auto& [box, count] : it->second) boxes.push_back(box);
      std::set<Element> want;
      for (const Box& b : normalizeBoxes(boxes))
        want.insert(
            Element{{b.ipFirst, b.protoFirst, b.portFirst}, {b.ipLast, b.protoLast, b.portLast}});
      std::set<Element>& present = boxesPresent[owner];
      for (auto it = present.begin(); it != present.end();) {
        if (want.count(*it)) {
          ++it;
          continue;
        }
        contribute(d, local, SetKind::cidrs, *it, -1);
        it = present.erase(it);
      }
      for (const auto& e : want)
        if (present.insert(e).second) contribute(d, local, SetKind::cidrs, e, +1);
      if (present.empty()) boxesPresent.erase(owner);
    }
    for (const auto& owner : dirtyGroupBoxes) {
      auto [d, local] = owner;
      // Made disjoint group by group (the address field is the group).
      std::map<uint32_t, std::vector<Box>> byGroup;
      if (auto it = groupBoxRefs.find(owner); it != groupBoxRefs.end())
        for (const auto& [box, count] : it->second) byGroup[box.ipFirst].push_back(box);
      std::set<Element> want;
      for (const auto& [group, boxes] : byGroup)
        for (const Box& b : normalizeBoxes(boxes))
          want.insert(
              Element{{group, b.protoFirst, b.portFirst}, {group, b.protoLast, b.portLast}});
      std::set<Element>& present = groupBoxesPresent[owner];
      for (auto it = present.begin(); it != present.end();) {
        if (want.count(*it)) {
          ++it;
          continue;
        }
        contribute(d, local, SetKind::groupPorts, *it, -1);
        it = present.erase(it);
      }
      for (const auto& e : want)
        if (present.insert(e).second) contribute(d, local, SetKind::groupPorts, e, +1);
      if (present.empty()) groupBoxesPresent.erase(owner);
    }
    dirtyGroupBoxes.clear();
    dirtyBoxes.clear();
  }

  // ---- what a rule contributes --------------------------------------------------

  Labels& labelsOf(const std::string& ns) {
    auto it = namespaceLabels.find(ns);
    if (it == namespaceLabels.end())
      it = namespaceLabels.emplace(ns, Labels{{kNamespaceNameLabel, ns}}).first;
    return it->second;
  }

  PeerView viewOf(const Identity& identity) {
    PeerView view;
    view.pod = &identity.representative;
    view.namespaceLabels = &labelsOf(identity.representative.ns);
    return view;
  }

  bool selectorPeerMatches(const Policy& policy, const Rule& rule, const Identity& identity) {
    PeerView view = viewOf(identity);
    for (const auto& peer : rule.peers)
      if (!peer.ipBlock && peerMatches(policy, peer, view)) return true;
    return false;
  }

  // The elements for the pair (local identity, peer identity) under a rule.
  void applyPair(const RuleState& r, const Rule& rule, uint32_t local, uint32_t peer,
                 bool namedOnly, int sign) {
    size_t d = directionIndex(r.direction);
    // Named ports resolve on the destination: the local pod for ingress,
    // the peer for egress.
    const Pod& destination =
        identities.at(r.direction == Direction::ingress ? local : peer).representative;
    if (rule.ports.empty()) {
      if (!namedOnly) ref(PairKey{d, SetKind::peers, local, peer, 0, 0, 0}, sign);
      return;
    }
    for (const auto& port : rule.ports) {
      uint32_t proto = static_cast<uint32_t>(port.protocol);
      switch (port.kind) {
        case PolicyPort::Kind::all:
          if (!namedOnly) ref(PairKey{d, SetKind::protocols, local, peer, proto, 0, 0}, sign);
          break;
        case PolicyPort::Kind::number:
          if (namedOnly) break;
          // A short range is cheaper as single ports: hash sets take and drop
          // elements in constant time; the kernel's interval sets of
          // concatenations rework themselves on every change.
          if (uint32_t(port.endPort) - port.port < kPortsAsSingles)
            for (uint32_t number = port.port; number <= port.endPort; ++number)
              ref(PairKey{d, SetKind::ports, local, peer, proto, number, number}, sign);
          else
            rangeRef(d, local, peer, proto, {port.port, port.endPort}, sign);
          break;
        case PolicyPort::Kind::named:
          if (auto number = resolveNamedPort(destination, port.name, port.protocol))
            ref(PairKey{d, SetKind::ports, local, peer, proto, *number, *number}, sign);
          break;
      }
    }
  }

  // The boxes of a rule's ipBlocks (and of "anywhere") for a local identity.
  void applyBoxes(const RuleState& r, const Rule& rule, uint32_t local, int sign) {
    std::vector<Interval> ranges;
    if (rule.peers.empty()) ranges.emplace_back(0, 0xffffffffU);
    for (const auto& peer : rule.peers)
      if (peer.ipBlock)
        for (const auto& iv : peer.ipBlock->ipv4Ranges()) ranges.push_back(iv);
    if (ranges.empty()) return;
    size_t d = directionIndex(r.direction);
    std::vector<std::tuple<Interval, Interval>> portSpace;  // (protocols, ports)
    if (rule.ports.empty())
      portSpace.emplace_back(Interval{0, kAllProtocolsLast}, Interval{0, kAllPortsLast});
    const Pod& localPod = identities.at(local).representative;
    for (const auto& port : rule.ports) {
      uint32_t proto = static_cast<uint32_t>(port.protocol);
      switch (port.kind) {
        case PolicyPort::Kind::all:
          portSpace.emplace_back(Interval{proto, proto}, Interval{0, kAllPortsLast});
          break;
        case PolicyPort::Kind::number:
          portSpace.emplace_back(Interval{proto, proto}, Interval{port.port, port.endPort});
          break;
        case PolicyPort::Kind::named:
          // Ingress: resolves on the local pod. Egress: on the destination
          // pod, which an address range does not name (see podIpBoxes).
          if (r.direction == Direction::ingress)
            if (auto number = resolveNamedPort(localPod, port.name, port.protocol))
              portSpace.emplace_back(Interval{proto, proto}, Interval{*number, *number});
          break;
      }
    }
    for (const auto& ip : ranges)
      for (const auto& [protos, ports] : portSpace)
        boxRef(d, local,
               Box{ip.first, ip.second, protos.first, protos.second, ports.first, ports.second},
               sign);
  }

  // ---- policies -------------------------------------------------------------------

  // What a rule's selector peers mean, as a key: rules with equal keys
  // match the same pods.
  static std::string peerKeyOf(const Policy& policy, const Rule& rule) {
    std::vector<std::string> parts;
    auto selector = [](const std::optional<api::LabelSelector>& s) {
      if (!s) return std::string("*");
      if (!s->selectsEverything() && s->requirements().empty()) return std::string("!");
      return "{" + s->toString() + "}";
    };
    for (const auto& peer : rule.peers) {
      if (peer.ipBlock) continue;
      parts.push_back((peer.namespaceSelector ? selector(peer.namespaceSelector) : "@" + policy.ns) +
                      "|" + selector(peer.podSelector));
    }
    std::sort(parts.begin(), parts.end());
    parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
    std::string key;
    for (const auto& part : parts) key += part + "\n";
    return key;
  }

  const Rule& ruleOf(const PolicyState& p, const RuleState& r) {
    return p.policy.rules(r.direction)[r.index];
  }

  void activate(PolicyState& p) {
    if (p.active) return;
    p.active = true;
    active.insert(&p);
    if (p.podIpDependent) activePodIpDependent.insert(&p);
    for (auto& r : p.rules) {
      if (!r.selectorPeers) continue;
      const Rule& rule = ruleOf(p, r);
      if (!r.namespaceSelectorPeers) {
        // podSelector alone: only the policy's own namespace can match.
        if (auto it = idsByNamespace.find(p.policy.ns); it != idsByNamespace.end())
          for (uint32_t id : it->second)
            if (selectorPeerMatches(p.policy, rule, identities.at(id))) matchedInsert(r, id);
      } else {
        for (const auto& [id, identity] : identities)
          if (selectorPeerMatches(p.policy, rule, identity)) matchedInsert(r, id);
      }
      // Nothing is selected yet: the representation is chosen now, for free.
      if (wantsGroup(r)) openGroup(r);
      modeDirty.erase(&r);
    }
  }

  void deactivate(PolicyState& p) {
    if (!p.active) return;
    setPodIpBoxes(p, {});
    p.active = false;
    active.erase(&p);
    activePodIpDependent.erase(&p);
    for (auto& r : p.rules) {
      closeGroup(r);
      for (uint32_t id : std::vector<uint32_t>(r.matched.begin(), r.matched.end()))
        matchedErase(r, id);
      r.addresses = 0;
      modeDirty.erase(&r);
    }
  }

  void addSelected(PolicyState& p, uint32_t local) {
    p.selected.insert(local);
    Identity& identity = identities.at(local);
    for (size_t d = 0; d < kDirections; ++d)
      if (p.policy.hasType(d == kIngress ? Direction::ingress : Direction::egress)) {
        ++identity.isolation[d];
        identity.selectedBy[d].insert(p.policy.key());
        placeInChain(d, local);
      }
    for (const auto& r : p.rules) applyRule(p, r, local, +1);
  }

  void removeSelected(PolicyState& p, uint32_t local) {
    for (const auto& r : p.rules) applyRule(p, r, local, -1);
    Identity& identity = identities.at(local);
    for (size_t d = 0; d < kDirections; ++d)
      if (p.policy.hasType(d == kIngress ? Direction::ingress : Direction::egress)) {
        --identity.isolation[d];
        identity.selectedBy[d].erase(p.policy.key());
        placeInChain(d, local);
      }
    p.selected.erase(local);
  }

  // Everything a rule gives one selected local identity.
  void applyRule(const PolicyState& p, const RuleState& r, uint32_t local, int sign) {
    const Rule& rule = ruleOf(p, r);
    applyPeers(r, rule, local, r.matched, sign);
    if (r.group) applyGroupPorts(r, rule, local, sign);
    if (r.anyPodNamed)
      for (const auto& [peer, identity] : identities) applyPair(r, rule, local, peer, true, sign);
    applyBoxes(r, rule, local, sign);
  }

  // What a rule's matched peers give one local identity: pairs, or with a
  // group, its ports from the group (egress named ports still resolve on
  // each peer, so those stay pairs).
  void applyPeers(const RuleState& r, const Rule& rule, uint32_t local,
                  const std::set<uint32_t>& peers, int sign) {
    if (!r.group) {
      for (uint32_t peer : peers) applyPair(r, rule, local, peer, false, sign);
      return;
    }
    if (r.direction == Direction::egress && hasNamedPort(rule))
      for (uint32_t peer : peers) applyPair(r, rule, local, peer, true, sign);
  }

  static bool hasNamedPort(const Rule& rule) {
    for (const auto& port : rule.ports)
      if (port.kind == PolicyPort::Kind::named) return true;
    return false;
  }

  // The ports a rule allows from its group, for one local identity.
  void applyGroupPorts(const RuleState& r, const Rule& rule, uint32_t local, int sign) {
    size_t d = directionIndex(r.direction);
    const Pod& localPod = identities.at(local).representative;
    auto box = [&](uint32_t protoFirst, uint32_t protoLast, uint32_t portFirst, uint32_t portLast) {
      groupBoxRef(d, local, Box{r.group, r.group, protoFirst, protoLast, portFirst, portLast},
                  sign);
    };
    if (rule.ports.empty()) box(0, kAllProtocolsLast, 0, kAllPortsLast);
    for (const auto& port : rule.ports) {
      uint32_t proto = static_cast<uint32_t>(port.protocol);
      switch (port.kind) {
        case PolicyPort::Kind::all:
          box(proto, proto, 0, kAllPortsLast);
          break;
        case PolicyPort::Kind::number:
          box(proto, proto, port.port, port.endPort);
          break;
        case PolicyPort::Kind::named:
          if (r.direction == Direction::ingress)
            if (auto number = resolveNamedPort(localPod, port.name, port.protocol))
              box(proto, proto, *number, *number);
          break;
      }
    }
  }

  // Egress to an ipBlock with a named port: one box per selected identity
  // and per pod address inside the block whose pod has the port.
  std::vector<std::pair<uint32_t, Box>> computePodIpBoxes(const PolicyState& p) {
    std::vector<std::pair<uint32_t, Box>> out;
    if (!p.active || !p.podIpDependent || p.selected.empty()) return out;
    for (const auto& r : p.rules) {
      if (r.direction != Direction::egress) continue;
      const Rule& rule = ruleOf(p, r);
      std::vector<Interval> ranges;
      for (const auto& peer : rule.peers)
        if (peer.ipBlock)
          for (const auto& iv : peer.ipBlock->ipv4Ranges()) ranges.push_back(iv);
      if (ranges.empty()) continue;
      ranges = mergeIntervals(std::move(ranges));
      for (const auto& [ip, holders] : podsByIp) {
        auto in = std::upper_bound(ranges.begin(), ranges.end(), Interval{ip, 0xffffffffU});
        if (in == ranges.begin() || std::prev(in)->second < ip) continue;
        const Pod& destination = identities.at(ipIdentity.at(ip)).representative;
        for (const auto& port : rule.ports) {
          if (port.kind != PolicyPort::Kind::named) continue;
          auto number = resolveNamedPort(destination, port.name, port.protocol);
          if (!number) continue;
          uint32_t proto = static_cast<uint32_t>(port.protocol);
          for (uint32_t local : p.selected)
            out.emplace_back(local, Box{ip, ip, proto, proto, *number, *number});
        }
      }
    }
    return out;
  }

  void setPodIpBoxes(PolicyState& p, std::vector<std::pair<uint32_t, Box>> boxes) {
    for (const auto& [local, box] : boxes) boxRef(kEgress, local, box, +1);
    for (const auto& [local, box] : p.podIpBoxes) boxRef(kEgress, local, box, -1);
    p.podIpBoxes = std::move(boxes);
  }

  void refreshPodIpBoxes(PolicyState& p) {
    if (p.podIpDependent) setPodIpBoxes(p, computePodIpBoxes(p));
  }

  void refreshAllPodIpBoxes() {
    for (PolicyState* p : activePodIpDependent) refreshPodIpBoxes(*p);
  }

  void addPolicy(const Policy& policy) {
    std::string key = policy.key();
    PolicyState& p = policies[key];
    p.policy = policy;
    for (Direction dir : {Direction::ingress, Direction::egress}) {
      if (!policy.hasType(dir)) continue;  // rules of a type not in policyTypes do nothing
      const auto& rules = policy.rules(dir);
      for (size_t i = 0; i < rules.size(); ++i) {
        RuleState r;
        r.owner = &p;
        r.direction = dir;
        r.index = i;
        bool named = false, ipBlock = false;
        for (const auto& port : rules[i].ports) named |= port.kind == PolicyPort::Kind::named;
        for (const auto& peer : rules[i].peers) {
          if (peer.ipBlock) {
            ipBlock = true;
            continue;
          }
          r.selectorPeers = true;
          r.namespaceSelectorPeers |= peer.namespaceSelector.has_value();
        }
        r.anyPodNamed = dir == Direction::egress && rules[i].peers.empty() && named;
        r.peerKey = peerKeyOf(policy, rules[i]);
        p.podIpDependent |= dir == Direction::egress && ipBlock && named;
        p.rules.push_back(std::move(r));
      }
    }
    policiesByNamespace[policy.ns].insert(key);
    std::vector<uint32_t> selected;
    if (auto it = idsByNamespace.find(policy.ns); it != idsByNamespace.end())
      for (uint32_t id : it->second) {
        const Identity& identity = identities.at(id);
        if (!identity.localPods.empty() && policySelects(policy, identity.representative))
          selected.push_back(id);
      }
    if (selected.empty()) return;
    activate(p);
    for (uint32_t id : selected) addSelected(p, id);
    refreshPodIpBoxes(p);
  }

  void dropPolicy(const std::string& key) {
    auto it = policies.find(key);
    if (it == policies.end()) return;
    PolicyState& p = it->second;
    std::vector<uint32_t> selected(p.selected.begin(), p.selected.end());
    for (uint32_t id : selected) removeSelected(p, id);
    deactivate(p);
    auto byNs = policiesByNamespace.find(p.policy.ns);
    if (byNs != policiesByNamespace.end()) {
      byNs->second.erase(key);
      if (byNs->second.empty()) policiesByNamespace.erase(byNs);
    }
    policies.erase(it);
  }

  // ---- identities -------------------------------------------------------------------

  void identityAdded(uint32_t id) {
    const Identity& identity = identities.at(id);
    for (PolicyState* active : this->active) {
      PolicyState& p = *active;
      for (auto& r : p.rules) {
        const Rule& rule = ruleOf(p, r);
        if (r.selectorPeers && selectorPeerMatches(p.policy, rule, identity)) {
          matchedInsert(r, id);
          for (uint32_t local : p.selected) applyPeers(r, rule, local, {id}, +1);
        }
        if (r.anyPodNamed)
          for (uint32_t local : p.selected) applyPair(r, rule, local, id, true, +1);
      }
    }
  }

  void identityRemoved(uint32_t id) {
    for (PolicyState* active : this->active) {
      PolicyState& p = *active;
      for (auto& r : p.rules) {
        const Rule& rule = ruleOf(p, r);
        if (r.matched.count(id)) {
          for (uint32_t local : p.selected) applyPeers(r, rule, local, {id}, -1);
          matchedErase(r, id);
        }
        if (r.anyPodNamed)
          for (uint32_t local : p.selected) applyPair(r, rule, local, id, true, -1);
      }
    }
  }

  void identityBecomesLocal(uint32_t id) {
    const Identity& identity = identities.at(id);
    auto byNs = policiesByNamespace.find(identity.representative.ns);
    if (byNs == policiesByNamespace.end()) return;
    for (const auto& key : byNs->second) {
      PolicyState& p = policies.at(key);
      if (!policySelects(p.policy, identity.representative)) continue;
      activate(p);
      addSelected(p, id);
      refreshPodIpBoxes(p);
    }
  }

  void identityLeavesLocal(uint32_t id) {
    const Identity& identity = identities.at(id);
    auto byNs = policiesByNamespace.find(identity.representative.ns);
    if (byNs == policiesByNamespace.end()) return;
    for (const auto& key : byNs->second) {
      PolicyState& p = policies.at(key);
      if (!p.selected.count(id)) continue;
      removeSelected(p, id);
      if (p.selected.empty())
        deactivate(p);
      else
        refreshPodIpBoxes(p);
    }
  }

  uint32_t allocateId() { return ++maxId; }

  // ---- pods ---------------------------------------------------------------------------

  void acquirePod(const std::string& key, const Pod& pod, PodRecord rec) {
    auto found = idByKey.find(rec.identityKey);
    uint32_t id;
    if (found == idByKey.end()) {
      id = allocateId();
      Identity& identity = identities[id];
      identity.id = id;
      identity.key = rec.identityKey;
      identity.representative.ns = pod.ns;
      identity.representative.labels = pod.labels;
      identity.representative.namedPorts = pod.namedPorts;
      idByKey[rec.identityKey] = id;
      idsByNamespace[pod.ns].insert(id);
      labelsOf(pod.ns);
      identityAdded(id);
    } else {
      id = found->second;
    }
    Identity& identity = identities.at(id);
    ++identity.pods;
    rec.identity = id;
    bool local = rec.local;
    std::vector<uint32_t> ips = rec.ips;
    pods[key] = std::move(rec);
    for (uint32_t ip : ips) podsByIp[ip].insert(key);
    if (local && identity.localPods.insert(key).second && identity.localPods.size() == 1)
      identityBecomesLocal(id);
    for (uint32_t ip : ips) refreshIp(ip);
  }

  void releasePod(const std::string& key) {
    auto it = pods.find(key);
    if (it == pods.end()) return;
    PodRecord rec = std::move(it->second);
    pods.erase(it);
    Identity& identity = identities.at(rec.identity);
    for (uint32_t ip : rec.ips) {
      auto holders = podsByIp.find(ip);
      if (holders == podsByIp.end()) continue;
      holders->second.erase(key);
      if (holders->second.empty()) podsByIp.erase(holders);
    }
    if (rec.local && identity.localPods.erase(key) && identity.localPods.empty())
      identityLeavesLocal(rec.identity);
    for (uint32_t ip : rec.ips) refreshIp(ip);
    if (--identity.pods == 0) {
      uint32_t id = rec.identity;
      identityRemoved(id);
      idByKey.erase(identity.key);
      auto byNs = idsByNamespace.find(identity.representative.ns);
      if (byNs != idsByNamespace.end()) {
        byNs->second.erase(id);
        if (byNs->second.empty()) idsByNamespace.erase(byNs);
      }
      identities.erase(id);
    }
  }

  void setPod(const Pod& pod) {
    std::string key = pod.key();
    std::optional<PodRecord> next;
    if (!pod.hostNetwork) {
      PodRecord rec;
      for (const auto& ip : pod.ips)
        if (!ip.v6) rec.ips.push_back(ip.v4());
      if (!rec.ips.empty()) {
        rec.identityKey = kindKey(pod);
        rec.local = pod.nodeName == node;
        next = std::move(rec);
      }
    }
    auto old = pods.find(key);
    if (old != pods.end() && next && old->second.identityKey == next->identityKey &&
        old->second.local == next->local && old->second.ips == next->ips)
      return;
    if (old == pods.end() && !next) return;
    releasePod(key);
    if (next) acquirePod(key, pod, std::move(*next));
    refreshAllPodIpBoxes();
  }

  void removePod(const std::string& key) {
    if (!pods.count(key)) return;
    releasePod(key);
    refreshAllPodIpBoxes();
  }

  // ---- namespaces -----------------------------------------------------------------------

  void relabelNamespace(const std::string& name, Labels labels) {
    labels[kNamespaceNameLabel] = name;
    Labels& current = labelsOf(name);
    if (current == labels) return;
    current = std::move(labels);
    auto ids = idsByNamespace.find(name);
    if (ids == idsByNamespace.end()) return;
    for (PolicyState* active : this->active) {
      PolicyState& p = *active;
      for (auto& r : p.rules) {
        if (!r.namespaceSelectorPeers) continue;
        const Rule& rule = ruleOf(p, r);
        for (uint32_t id : ids->second) {
          bool now = selectorPeerMatches(p.policy, rule, identities.at(id));
          bool was = r.matched.count(id) > 0;
          if (now == was) continue;
          if (now) matchedInsert(r, id);
          for (uint32_t local : p.selected) applyPeers(r, rule, local, {id}, now ? +1 : -1);
          if (!now) matchedErase(r, id);
        }
      }
    }
  }

  // ---- deltas -------------------------------------------------------------------------

  Delta takeDelta() {
    flush();
    Delta delta;
    for (const auto& [ip, was] : touchedLocal) {
      bool now = program.localPods.count(ip) > 0;
      if (now && !was) delta.localPodsAdded.insert(ip);
      if (!now && was) delta.localPodsRemoved.insert(ip);
    }
    touchedLocal.clear();
    for (size_t d = 0; d < kDirections; ++d) {
      for (const auto& [ip, was] : touchedDispatch[d]) {
        auto it = program.dispatch[d].find(ip);
        std::optional<uint32_t> now;
        if (it != program.dispatch[d].end()) now = it->second;
        if (now == was) continue;
        if (was) delta.dispatchRemoved[d][ip] = *was;
        if (now) delta.dispatchAdded[d][ip] = *now;
      }
      touchedDispatch[d].clear();
      // Chains that came or went: their elements go with them.
      std::set<uint32_t> skip;
      for (const auto& [id, was] : touchedChains[d]) {
        auto it = program.chains[d].find(id);
        bool now = it != program.chains[d].end();
        if (was && !now) {
          delta.chainsRemoved[d].insert(id);
          skip.insert(id);
        } else if (!was && now) {
          delta.chainsAdded[d].insert(id);
          delta.added[d][id] = it->second;
          skip.insert(id);
        } else if (!was && !now) {
          skip.insert(id);
        }
      }
      touchedChains[d].clear();
      constexpr size_t kGroups = static_cast<size_t>(SetKind::groupPorts);
      std::map<uint32_t, std::set<Element>> groupsBefore;  // persistent chains whose refs changed
      for (const auto& [key, was] : touchedElements[d]) {
        const auto& [id, kind, e] = key;
        if (delta.chainsRemoved[d].count(id)) {
          // What the writer must delete with the chain: its group port sets.
          if (kind == kGroups && was) delta.removed[d][id].sets[kind].insert(e);
          continue;
        }
        if (skip.count(id)) continue;
        auto chain = program.chains[d].find(id);
        bool now = chain != program.chains[d].end() && chain->second.sets[kind].count(e) > 0;
        if (kind == kGroups) {
          if (now == was) continue;
          auto [before, fresh] = groupsBefore.try_emplace(id, chain->second.sets[kind]);
          if (was)
            before->second.insert(e);
          else
            before->second.erase(e);
          continue;
        }
        if (now && !was) delta.added[d][id].sets[kind].insert(e);
        if (!now && was) delta.removed[d][id].sets[kind].insert(e);
      }
      touchedElements[d].clear();
      for (auto& [id, before] : groupsBefore) {
        const auto& after = program.chains[d].at(id).sets[kGroups];
        if (before != after) delta.groupRefsChanged[d][id] = {std::move(before), after};
      }
    }
    for (const auto& [group, was] : touchedGroups) {
      bool now = program.groups.count(group) > 0;
      if (was && !now) delta.groupsRemoved.insert(group);
      if (!was && now) delta.groupsAdded[group] = program.groups.at(group);
    }
    for (const auto& [key, was] : touchedGroupAddresses) {
      const auto& [group, ip] = key;
      if (delta.groupsRemoved.count(group) || delta.groupsAdded.count(group)) continue;
      auto it = program.groups.find(group);
      bool now = it != program.groups.end() && it->second.count(ip) > 0;
      if (now && !was) delta.groupAddressesAdded[group].insert(ip);
      if (!now && was) delta.groupAddressesRemoved[group].insert(ip);
    }
    touchedGroups.clear();
    touchedGroupAddresses.clear();
    return delta;
  }
};

Compiler::Compiler(std::string nodeName, CompilerOptions options)
    : impl_(std::make_unique<Impl>(std::move(nodeName))) {
  impl_->groupAtAddresses = std::max<size_t>(1, options.groupAtAddresses);
}
Compiler::~Compiler() = default;

void Compiler::setNamespace(const Namespace& ns) {
  impl_->relabelNamespace(ns.name, ns.labels);
  impl_->flush();
}

void Compiler::removeNamespace(const std::string& name) {
  impl_->relabelNamespace(name, {});
  impl_->flush();
}

void Compiler::setPod(const Pod& pod) {
  impl_->setPod(pod);
  impl_->flush();
}

void Compiler::removePod(const std::string& key) {
  impl_->removePod(key);
  impl_->flush();
}

void Compiler::setPolicy(const Policy& policy) {
  impl_->dropPolicy(policy.key());
  impl_->addPolicy(policy);
  impl_->flush();
}

void Compiler::removePolicy(const std::string& key) {
  impl_->dropPolicy(key);
  impl_->flush();
}

const Program& Compiler::program() const { return impl_->program; }

Delta Compiler::takeDelta() { return impl_->takeDelta(); }

CompilerStats Compiler::stats() const {
  CompilerStats s;
  s.identities = impl_->identities.size();
  for (const auto& [id, identity] : impl_->identities)
    s.localIdentities += !identity.localPods.empty();
  s.policies = impl_->policies.size();
  s.activePolicies = impl_->active.size();
  s.elements = elementCount(impl_->program);
  for (size_t d = 0; d < kDirections; ++d) s.chains += impl_->program.chains[d].size();
  s.groups = impl_->program.groups.size();
  return s;
}

uint32_t Compiler::identityOf(uint32_t ipv4) const {
  auto it = impl_->ipIdentity.find(ipv4);
  return it == impl_->ipIdentity.end() ? 0 : it->second;
}

}  // namespace podnet::policy
