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

// nft's datatype numbers (src/datatype.h of nftables), for `nft list`; a
// concatenation's type packs its fields' types 6 bits each.
constexpr uint32_t kTypeIpv4 = 7;
constexpr uint32_t kTypeProtocol = 12;
constexpr uint32_t kTypeService = 13;
constexpr uint32_t kTypeMark = 19;  // identities print as marks
constexpr uint32_t concat(std::initializer_list<uint32_t> types) {
  uint32_t out = 0;
  for (uint32_t t : types) out = (out << 6) | t;
  return out;
}

// The 32-bit registers (NFT_REG32_00 and up) that hold a concatenated key.
constexpr uint32_t kReg0 = 8, kReg1 = 9, kReg2 = 10, kReg3 = 11;
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

// Field lengths of each rule set's key, in order.
std::vector<size_t> fieldLengths(SetKind kind) {
  switch (kind) {
    case SetKind::peers:
      return {4, 4};
    case SetKind::protocols:
      return {4, 4, 1};
    case SetKind::ports:
    case SetKind::portRanges:
    case SetKind::cidrs:
      return {4, 4, 1, 2};
  }
  return {};
}

bool isInterval(SetKind kind) { return kind == SetKind::portRanges || kind == SetKind::cidrs; }

NftElement ruleElement(SetKind kind, const Element& e) {
  NftElement out;
  auto lengths = fieldLengths(kind);
  for (size_t i = 0; i < lengths.size(); ++i) putField(out.key, e.first[i], lengths[i]);
  if (isInterval(kind))
    for (size_t i = 0; i < lengths.size(); ++i) putField(out.keyEnd, e.last[i], lengths[i]);
  return out;
}

net::NftSetSpec ruleSetSpec(size_t direction, SetKind kind) {
  net::NftSetSpec spec;
  spec.name = ruleSetName(direction, kind);
  auto lengths = fieldLengths(kind);
  spec.keyLength = static_cast<uint32_t>(4 * lengths.size());
  switch (kind) {
    case SetKind::peers:
      spec.keyType = concat({kTypeMark, kTypeMark});
      break;
    case SetKind::protocols:
      spec.keyType = concat({kTypeMark, kTypeMark, kTypeProtocol});
      break;
    case SetKind::ports:
    case SetKind::portRanges:
      spec.keyType = concat({kTypeMark, kTypeMark, kTypeProtocol, kTypeService});
      break;
    case SetKind::cidrs:
      spec.keyType = concat({kTypeMark, kTypeIpv4, kTypeProtocol, kTypeService});
      break;
  }
  if (isInterval(kind)) {
    spec.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT;
    for (size_t l : lengths) spec.fieldLengths.push_back(static_cast<uint8_t>(l));
  }
  return spec;
}

NftElement identityElement(uint32_t ip, uint32_t id) {
  NftElement e;
  e.key = be32(ip);
  e.data = be32(id);
  return e;
}

NftElement addressElement(uint32_t ip) {
  NftElement e;
  e.key = be32(ip);
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

NftRule dispatch(uint32_t offset, const std::string& set, const std::string& chain) {
  return NftRule()
      .payload(NftRule::Header::network, offset, 4)
      .lookup(set)
      .verdict(NFT_JUMP, chain);
}

// Loads id(local) into reg 0 and id(peer), or the peer's address, into reg 1;
// with `ports`, the protocol and the destination port into regs 2 and 3.
NftRule keyLoads(size_t direction, bool peerIdentity, int fields) {
  uint32_t local = direction == 0 ? kDaddr : kSaddr;
  uint32_t peer = direction == 0 ? kSaddr : kDaddr;
  NftRule r;
  r.payload(NftRule::Header::network, local, 4, kReg0).mapLookup(kIdentitiesMap, kReg0, kReg0);
  r.payload(NftRule::Header::network, peer, 4, kReg1);
  if (peerIdentity) r.mapLookup(kIdentitiesMap, kReg1, kReg1);
  if (fields >= 3) r.meta(NFT_META_L4PROTO, kReg2);
  if (fields >= 4) r.payload(NftRule::Header::transport, 2, 2, kReg3);
  return r;
}

void addBase(NftBatch& batch, const WriterConfig& config) {
  const std::string& t = config.table;
  batch.addTable(kFamily, t);
  batch.deleteTable(kFamily, t);
  batch.addTable(kFamily, t);
  net::NftSetSpec identities;
  identities.name = kIdentitiesMap;
  identities.keyType = kTypeIpv4;
  identities.keyLength = 4;
  identities.flags = NFT_SET_MAP;
  identities.dataType = kTypeMark;
  identities.dataLength = 4;
  batch.addSet(kFamily, t, identities);
  for (size_t d = 0; d < kDirections; ++d) {
    net::NftSetSpec isolated;
    isolated.name = isolatedSetName(d);
    isolated.keyType = kTypeIpv4;
    isolated.keyLength = 4;
    batch.addSet(kFamily, t, isolated);
  }
  net::NftSetSpec self;
  self.name = kSelfSet;
  self.keyType = concat({kTypeIpv4, kTypeIpv4});
  self.keyLength = 8;
  batch.addSet(kFamily, t, self);
  for (size_t d = 0; d < kDirections; ++d)
    for (size_t k = 0; k < kSetKinds; ++k)
      batch.addSet(kFamily, t, ruleSetSpec(d, static_cast<SetKind>(k)));

  batch.addBaseChain(kFamily, t, "forward", net::NftHook::forward, 0, "filter");
  batch.addBaseChain(kFamily, t, "input", net::NftHook::input, 0, "filter");
  for (size_t d = 0; d < kDirections; ++d) batch.addChain(kFamily, t, chainName(d));

  batch.addRule(kFamily, t, "forward", establishedAccept());
  batch.addRule(kFamily, t, "forward", dispatch(kSaddr, isolatedSetName(1), chainName(1)));
  batch.addRule(kFamily, t, "forward", dispatch(kDaddr, isolatedSetName(0), chainName(0)));
  batch.addRule(kFamily, t, "input", establishedAccept());
  batch.addRule(kFamily, t, "input", dispatch(kSaddr, isolatedSetName(1), chainName(1)));

  for (size_t d = 0; d < kDirections; ++d) {
    const char* chain = chainName(d);
    batch.addRule(kFamily, t, chain,
                  NftRule()
                      .payload(NftRule::Header::network, kSaddr, 4, kReg0)
                      .payload(NftRule::Header::network, kDaddr, 4, kReg1)
                      .lookup(kSelfSet, kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  keyLoads(d, true, 2)
                      .lookup(ruleSetName(d, SetKind::peers), kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  keyLoads(d, true, 3)
                      .lookup(ruleSetName(d, SetKind::protocols), kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  keyLoads(d, true, 4)
                      .lookup(ruleSetName(d, SetKind::ports), kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  keyLoads(d, true, 4)
                      .lookup(ruleSetName(d, SetKind::portRanges), kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  keyLoads(d, false, 4)
                      .lookup(ruleSetName(d, SetKind::cidrs), kReg0)
                      .verdict(NFT_RETURN));
    batch.addRule(kFamily, t, chain,
                  NftRule()
                      .ct(NFT_CT_STATE)
                      .maskXor(kCtNew, 0)
                      .notEqual(u32Host(0))
                      .limit(config.logRatePerSecond, 1, config.logBurst)
                      .log(config.nflogGroup, std::string(kLogPrefix) + chain, kLogSnaplen));
    batch.addRule(kFamily, t, chain, NftRule().verdict(NF_DROP));
  }
}

template <typename Set, typename Make>
std::vector<NftElement> elements(const Set& set, Make make) {
  std::vector<NftElement> out;
  out.reserve(set.size());
  for (const auto& item : set) out.push_back(make(item));
  return out;
}

void addElements(NftBatch& batch, const std::string& table, const std::string& set,
                 std::vector<NftElement> items, bool add) {
  if (items.empty()) return;
  if (add)
    batch.addElements(kFamily, table, set, items);
  else
    batch.deleteElements(kFamily, table, set, items);
}

}  // namespace

NftBatch encodeProgram(const WriterConfig& config, const Program& program) {
  NftBatch batch;
  addBase(batch, config);
  const std::string& t = config.table;
  std::vector<NftElement> ids;
  for (const auto& [ip, id] : program.identities) ids.push_back(identityElement(ip, id));
  addElements(batch, t, kIdentitiesMap, std::move(ids), true);
  addElements(batch, t, kSelfSet, elements(program.localPods, selfElement), true);
  for (size_t d = 0; d < kDirections; ++d) {
    addElements(batch, t, isolatedSetName(d), elements(program.isolated[d], addressElement), true);
    for (size_t k = 0; k < kSetKinds; ++k) {
      SetKind kind = static_cast<SetKind>(k);
      addElements(batch, t, ruleSetName(d, kind),
                  elements(program.sets[d][k], [kind](const Element& e) { return ruleElement(kind, e); }),
                  true);
    }
  }
  return batch;
}

NftBatch encodeDelta(const WriterConfig& config, const Delta& delta) {
  NftBatch batch;
  const std::string& t = config.table;
  // Removals first: an identity whose value changed is deleted, then added.
  for (bool add : {false, true}) {
    std::vector<NftElement> ids;
    for (const auto& [ip, id] : add ? delta.identitiesAdded : delta.identitiesRemoved)
      ids.push_back(identityElement(ip, id));
    addElements(batch, t, kIdentitiesMap, std::move(ids), add);
    addElements(batch, t, kSelfSet,
                elements(add ? delta.localPodsAdded : delta.localPodsRemoved, selfElement), add);
    for (size_t d = 0; d < kDirections; ++d) {
      addElements(batch, t, isolatedSetName(d),
                  elements(add ? delta.isolatedAdded[d] : delta.isolatedRemoved[d], addressElement),
                  add);
      for (size_t k = 0; k < kSetKinds; ++k) {
        SetKind kind = static_cast<SetKind>(k);
        addElements(batch, t, ruleSetName(d, kind),
                    elements(add ? delta.added[d][k] : delta.removed[d][k],
                             [kind](const Element& e) { return ruleElement(kind, e); }),
                    add);
      }
    }
  }
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
