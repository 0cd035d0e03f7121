#include "policy/netlink_writer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

namespace podnet::policy {

namespace {

using net::Bytes;
using net::NftBatch;
using net::NftElement;
using net::NftFamily;
using net::NftRule;

constexpr uint32_t kTypeIpv4 = net::nft_type::ipv4Address;
constexpr uint32_t kTypeProtocol = net::nft_type::inetProtocol;
constexpr uint32_t kTypeService = net::nft_type::inetService;
using net::nft_type::concat;

// Registers as nft allocates them for a concatenation: the first field in
// register 1, the next ones in the 32-bit registers after it.
constexpr uint32_t kReg1 = 1;
constexpr uint32_t kReg32Second = NFT_REG32_01, kReg32Third = NFT_REG32_02;
constexpr uint32_t kSaddr = 12, kDaddr = 16;  // offsets in the IPv4 header
// conntrack state bits: established 2, related 4, new 8.
constexpr uint32_t kCtEstablishedRelated = 2 | 4;
constexpr uint32_t kCtNew = 8;
constexpr uint32_t kLogSnaplen = 64;  // the IP and transport headers

constexpr NftFamily kFamily = NftFamily::ip;

Bytes u32Host(uint32_t v) {
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

// A field of a key in network order, padded to 4 bytes as the registers
// hold it.
void putField(Bytes& key, uint32_t value, size_t length) {
  size_t start = key.size();
  key.resize(start + 4, 0);
  for (size_t i = 0; i < length; ++i)
    key[start + i] = static_cast<uint8_t>(value >> (8 * (length - 1 - i)));
}

Bytes be32(uint32_t v) {
  Bytes b;
  putField(b, v, 4);
  return b;
}

// Field lengths of each set's key, in order.
std::vector<size_t> fieldLengths(SetKind kind) {
  switch (kind) {
    case SetKind::peers:
      return {4};
    case SetKind::protocols:
      return {4, 1};
    case SetKind::ports:
    case SetKind::portRanges:
    case SetKind::cidrs:
      return {4, 1, 2};
  }
  return {};
}

bool isInterval(SetKind kind) { return kind == SetKind::portRanges || kind == SetKind::cidrs; }

NftElement setElement(SetKind kind, const Element& e) {
  NftElement out;
  auto lengths = fieldLengths(kind);
  for (size_t i = 0; i < lengths.size(); ++i) putField(out.key, e.first[i], lengths[i]);
  if (isInterval(kind))
    for (size_t i = 0; i < lengths.size(); ++i) putField(out.keyEnd, e.last[i], lengths[i]);
  return out;
}

net::NftSetSpec setSpec(size_t direction, uint32_t identity, SetKind kind) {
  net::NftSetSpec spec;
  spec.name = setName(direction, identity, kind);
  auto lengths = fieldLengths(kind);
  spec.keyLength = static_cast<uint32_t>(4 * lengths.size());
  switch (kind) {
    case SetKind::peers:
      spec.keyType = kTypeIpv4;
      break;
    case SetKind::protocols:
      spec.keyType = concat({kTypeIpv4, kTypeProtocol});
      break;
    default:
      spec.keyType = concat({kTypeIpv4, kTypeProtocol, kTypeService});
      break;
  }
  if (isInterval(kind)) {
    spec.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
    for (size_t l : lengths) spec.fieldLengths.push_back(static_cast<uint8_t>(l));
  }
  return spec;
}

NftElement dispatchElement(size_t direction, uint32_t ip, uint32_t identity) {
  NftElement e;
  e.key = be32(ip);
  e.hasVerdict = true;
  e.verdict = NFT_JUMP;
  e.chain = chainName(direction, identity);
  return e;
}

NftElement selfElement(uint32_t ip) {
  NftElement e;
  e.key = be32(ip);
  putField(e.key, ip, 4);
  return e;
}

NftRule establishedAccept() {
  return NftRule()
      .ct(NFT_CT_STATE)
      .maskXor(kCtEstablishedRelated, 0)
      .notEqual(u32Host(0))
      .verdict(NF_ACCEPT);
}

// The peer's address and, per kind, the protocol and destination port,
// looked up in the chain's set of that kind.
NftRule setRule(size_t direction, uint32_t identity, SetKind kind) {
  NftRule r;
  r.payload(NftRule::Header::network, direction == 0 ? kSaddr : kDaddr, 4, kReg1);
  size_t fields = fieldLengths(kind).size();
  if (fields >= 2) r.meta(NFT_META_L4PROTO, kReg32Second);
  if (fields >= 3) r.payload(NftRule::Header::transport, 2, 2, kReg32Third);
  r.lookup(setName(direction, identity, kind), kReg1);
  r.verdict(NFT_RETURN);
  return r;
}

void addElements(NftBatch& batch, const std::string& table, const std::string& set,
                 const std::vector<NftElement>& items, bool add);

// The peer groups of a chain's group elements, with whether each allows
// every port (a bare rule) or needs the chain's set of its ports.
std::map<uint32_t, bool> groupsOf(const std::set<Element>& groupPorts) {
  std::map<uint32_t, bool> out;
  for (const auto& e : groupPorts) {
    auto [it, fresh] = out.emplace(e.first[0], allowsEverything(e));
    if (!fresh) it->second = false;  // several boxes: never the full one
  }
  return out;
}

// A chain's set of the ports it allows from one group: protocol . port
// intervals.
void addGroupPortsSet(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t chain,
                      uint32_t group, const std::set<Element>& groupPorts) {
  net::NftSetSpec spec;
  spec.name = groupPortsSetName(d, chain, group);
  spec.keyType = concat({kTypeProtocol, kTypeService});
  spec.keyLength = 8;
  spec.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
  spec.fieldLengths = {1, 2};
  batch.addSet(kFamily, config.table, spec);
  std::vector<NftElement> items;
  for (auto it = groupPorts.lower_bound(Element{{group, 0, 0}, {}});
       it != groupPorts.end() && it->first[0] == group; ++it) {
    NftElement e;
    putField(e.key, it->first[1], 1);
    putField(e.key, it->first[2], 2);
    putField(e.keyEnd, it->last[1], 1);
    putField(e.keyEnd, it->last[2], 2);
    items.push_back(std::move(e));
  }
  addElements(batch, config.table, spec.name, items, true);
}

// Every rule of a chain: the fixed ones around those of its groups.
void addChainRules(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t identity,
                   const std::set<Element>& groupPorts) {
  const std::string& t = config.table;
  std::string chain = chainName(d, identity);
  batch.addRule(kFamily, t, chain,
                NftRule()
                    .payload(NftRule::Header::network, kSaddr, 4, kReg1)
                    .payload(NftRule::Header::network, kDaddr, 4, kReg32Second)
                    .lookup(kSelfSet, kReg1)
                    .verdict(NFT_RETURN));
  for (size_t k = 0; k < kSetKinds; ++k)
    batch.addRule(kFamily, t, chain, setRule(d, identity, static_cast<SetKind>(k)));
  for (const auto& [group, everything] : groupsOf(groupPorts)) {
    NftRule r;
    r.payload(NftRule::Header::network, d == 0 ? kSaddr : kDaddr, 4, kReg1);
    r.lookup(groupSetName(group), kReg1);
    if (!everything) {
      r.meta(NFT_META_L4PROTO, kReg1);
      r.payload(NftRule::Header::transport, 2, 2, kReg32Second);
      r.lookup(groupPortsSetName(d, identity, group), kReg1);
    }
    r.verdict(NFT_RETURN);
    batch.addRule(kFamily, t, chain, r);
  }
  batch.addRule(
      kFamily, t, chain,
      NftRule()
          .ct(NFT_CT_STATE)
          .maskXor(kCtNew, 0)
          .notEqual(u32Host(0))
          .limit(config.logRatePerSecond, 1, config.logBurst)
          .log(config.nflogGroup, std::string(kLogPrefix) + directionName(d), kLogSnaplen));
  batch.addRule(kFamily, t, chain, NftRule().verdict(NF_DROP));
}

// The chain of one local identity in one direction, with its sets.
void addChain(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t identity,
              const std::set<Element>& groupPorts) {
  const std::string& t = config.table;
  for (size_t k = 0; k < kSetKinds; ++k)
    batch.addSet(kFamily, t, setSpec(d, identity, static_cast<SetKind>(k)));
  for (const auto& [group, everything] : groupsOf(groupPorts))
    if (!everything) addGroupPortsSet(batch, config, d, identity, group, groupPorts);
  batch.addChain(kFamily, t, chainName(d, identity));
  addChainRules(batch, config, d, identity, groupPorts);
}

// Rules reference sets and maps reference chains: rules go (flush), then
// the chain, then its sets.
void removeChain(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t identity,
                 const std::set<Element>& groupPorts) {
  const std::string& t = config.table;
  std::string chain = chainName(d, identity);
  batch.flushChain(kFamily, t, chain);
  batch.deleteChain(kFamily, t, chain);
  for (size_t k = 0; k < kSetKinds; ++k)
    batch.deleteSet(kFamily, t, setName(d, identity, static_cast<SetKind>(k)));
  for (const auto& [group, everything] : groupsOf(groupPorts))
    if (!everything) batch.deleteSet(kFamily, t, groupPortsSetName(d, identity, group));
}

// A chain whose groups changed: its rules again, its group port sets anew.
void rewriteGroups(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t identity,
                   const GroupRefs& refs) {
  batch.flushChain(kFamily, config.table, chainName(d, identity));
  for (const auto& [group, everything] : groupsOf(refs.before))
    if (!everything) batch.deleteSet(kFamily, config.table, groupPortsSetName(d, identity, group));
  for (const auto& [group, everything] : groupsOf(refs.after))
    if (!everything) addGroupPortsSet(batch, config, d, identity, group, refs.after);
  addChainRules(batch, config, d, identity, refs.after);
}

void addGroupSet(NftBatch& batch, const WriterConfig& config, uint32_t group,
                 const std::set<uint32_t>& addresses) {
  net::NftSetSpec spec;
  spec.name = groupSetName(group);
  spec.keyType = kTypeIpv4;
  spec.keyLength = 4;
  batch.addSet(kFamily, config.table, spec);
  std::vector<NftElement> items;
  for (uint32_t ip : addresses) {
    NftElement e;
    e.key = be32(ip);
    items.push_back(std::move(e));
  }
  addElements(batch, config.table, spec.name, items, true);
}

void addBase(NftBatch& batch, const WriterConfig& config) {
  const std::string& t = config.table;
  batch.addTable(kFamily, t);
  batch.deleteTable(kFamily, t);
  batch.addTable(kFamily, t);
  net::NftSetSpec self;
  self.name = kSelfSet;
  self.keyType = concat({kTypeIpv4, kTypeIpv4});
  self.keyLength = 8;
  batch.addSet(kFamily, t, self);
  for (size_t d = 0; d < kDirections; ++d) {
    net::NftSetSpec map;
    map.name = dispatchMapName(d);
    map.keyType = kTypeIpv4;
    map.keyLength = 4;
    map.flags = NFT_SET_MAP;
    map.dataType = NFT_DATA_VERDICT;
    map.dataLength = 16;
    batch.addSet(kFamily, t, map);
  }
  batch.addBaseChain(kFamily, t, "forward", net::NftHook::forward, 0, "filter");
  batch.addBaseChain(kFamily, t, "input", net::NftHook::input, 0, "filter");
  auto dispatch = [](uint32_t offset, size_t d) {
    return NftRule().payload(NftRule::Header::network, offset, 4).verdictMap(dispatchMapName(d));
  };
  batch.addRule(kFamily, t, "forward", establishedAccept());
  batch.addRule(kFamily, t, "forward", dispatch(kSaddr, 1));
  batch.addRule(kFamily, t, "forward", dispatch(kDaddr, 0));
  batch.addRule(kFamily, t, "input", establishedAccept());
  batch.addRule(kFamily, t, "input", dispatch(kSaddr, 1));
}

void addElements(NftBatch& batch, const std::string& table, const std::string& set,
                 const std::vector<NftElement>& items, bool add) {
  if (items.empty()) return;
  if (add)
    batch.addElements(kFamily, table, set, items);
  else
    batch.deleteElements(kFamily, table, set, items);
}

void chainElements(NftBatch& batch, const WriterConfig& config, size_t d, uint32_t identity,
                   const ChainSets& sets, bool add) {
  for (size_t k = 0; k < kSetKinds; ++k) {
    SetKind kind = static_cast<SetKind>(k);
    std::vector<NftElement> items;
    items.reserve(sets.sets[k].size());
    for (const auto& e : sets.sets[k]) items.push_back(setElement(kind, e));
    addElements(batch, config.table, setName(d, identity, kind), items, add);
  }
}

void dispatchElements(NftBatch& batch, const WriterConfig& config, size_t d,
                      const std::map<uint32_t, uint32_t>& entries, bool add) {
  std::vector<NftElement> items;
  for (const auto& [ip, id] : entries) items.push_back(dispatchElement(d, ip, id));
  addElements(batch, config.table, dispatchMapName(d), items, add);
}

void selfElements(NftBatch& batch, const WriterConfig& config, const std::set<uint32_t>& ips,
                  bool add) {
  std::vector<NftElement> items;
  for (uint32_t ip : ips) items.push_back(selfElement(ip));
  addElements(batch, config.table, kSelfSet, items, add);
}

}  // namespace

NftBatch encodeProgram(const WriterConfig& config, const Program& program) {
  NftBatch batch;
  addBase(batch, config);
  selfElements(batch, config, program.localPods, true);
  for (const auto& [group, addresses] : program.groups)
    addGroupSet(batch, config, group, addresses);
  for (size_t d = 0; d < kDirections; ++d) {
    for (const auto& [id, sets] : program.chains[d]) {
      addChain(batch, config, d, id, sets.sets[static_cast<size_t>(SetKind::groupPorts)]);
      chainElements(batch, config, d, id, sets, true);
    }
    dispatchElements(batch, config, d, program.dispatch[d], true);
  }
  return batch;
}

NftBatch encodeDelta(const WriterConfig& config, const Delta& delta) {
  NftBatch batch;
  constexpr size_t kGroups = static_cast<size_t>(SetKind::groupPorts);
  static const std::set<Element> kNone;
  // What goes: dispatch entries (they reference chains), elements, chains.
  selfElements(batch, config, delta.localPodsRemoved, false);
  for (size_t d = 0; d < kDirections; ++d) {
    dispatchElements(batch, config, d, delta.dispatchRemoved[d], false);
    for (const auto& [id, sets] : delta.removed[d])
      if (!delta.chainsRemoved[d].count(id)) chainElements(batch, config, d, id, sets, false);
    for (uint32_t id : delta.chainsRemoved[d]) {
      auto removed = delta.removed[d].find(id);
      removeChain(batch, config, d, id,
                  removed == delta.removed[d].end() ? kNone : removed->second.sets[kGroups]);
    }
  }
  // Groups: new ones before the rules that use them.
  for (const auto& [group, addresses] : delta.groupsAdded)
    addGroupSet(batch, config, group, addresses);
  for (const auto& [group, addresses] : delta.groupAddressesRemoved) {
    std::vector<NftElement> items;
    for (uint32_t ip : addresses) items.push_back(NftElement{be32(ip)});
    addElements(batch, config.table, groupSetName(group), items, false);
  }
  for (const auto& [group, addresses] : delta.groupAddressesAdded) {
    std::vector<NftElement> items;
    for (uint32_t ip : addresses) items.push_back(NftElement{be32(ip)});
    addElements(batch, config.table, groupSetName(group), items, true);
  }
  // What comes: chains, group rules, elements, then the dispatch entries
  // that use them.
  selfElements(batch, config, delta.localPodsAdded, true);
  for (size_t d = 0; d < kDirections; ++d) {
    for (uint32_t id : delta.chainsAdded[d]) {
      auto added = delta.added[d].find(id);
      addChain(batch, config, d, id,
               added == delta.added[d].end() ? kNone : added->second.sets[kGroups]);
    }
    for (const auto& [id, refs] : delta.groupRefsChanged[d])
      rewriteGroups(batch, config, d, id, refs);
    for (const auto& [id, sets] : delta.added[d]) chainElements(batch, config, d, id, sets, true);
    dispatchElements(batch, config, d, delta.dispatchAdded[d], true);
  }
  // Groups no rule uses any more.
  for (uint32_t group : delta.groupsRemoved)
    batch.deleteSet(kFamily, config.table, groupSetName(group));
  return batch;
}

core::Result<NetlinkWriter> NetlinkWriter::open(WriterConfig config) {
  auto socket = net::NftSocket::open();
  if (!socket) return socket.takeError();
  return NetlinkWriter(std::move(config), std::move(*socket));
}

core::Status NetlinkWriter::replace(const Program& program) {
  return socket_.commit(encodeProgram(config_, program));
}

core::Status NetlinkWriter::apply(const Delta& delta) {
  NftBatch batch = encodeDelta(config_, delta);
  if (batch.empty()) return core::Ok{};
  return socket_.commit(batch);
}

core::Status NetlinkWriter::remove() {
  NftBatch batch;
  batch.addTable(kFamily, config_.table);
  batch.deleteTable(kFamily, config_.table);
  return socket_.commit(batch);
}

}  // namespace podnet::policy
