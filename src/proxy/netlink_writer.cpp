#include "proxy/netlink_writer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

#include "core/ip.h"

namespace podnet::proxy {

namespace {

using net::Bytes;
using net::NftRule;

constexpr uint32_t kTypeIpv4Address = net::nft_type::ipv4Address;
constexpr uint32_t kTypeIpv6Address = net::nft_type::ipv6Address;
// Reject codes: ICMP_PORT_UNREACH and ICMPV6_PORT_UNREACH.
constexpr uint8_t kIcmpPortUnreachable = 3;
constexpr uint8_t kIcmpv6PortUnreachable = 4;
constexpr uint32_t kNatRangeProtoSpecified = 0x2;

net::NftFamily nftFamily(Family family) {
  return family == Family::v4 ? net::NftFamily::ip : net::NftFamily::ip6;
}

// Offsets of the addresses in the IPv4 / IPv6 header.
uint32_t saddrOffset(Family family) { return family == Family::v4 ? 12 : 8; }
uint32_t daddrOffset(Family family) { return family == Family::v4 ? 16 : 24; }
uint32_t addressLength(Family family) { return family == Family::v4 ? 4 : 16; }

core::Error bad(const std::string& what) { return core::internal("nftables encoding: " + what); }

core::Result<Bytes> addressBytes(Family family, const std::string& text) {
  auto ip = core::IpAddress::parse(text);
  if (!ip || ip->v6 != (family == Family::v6)) return bad("not an address of the family: " + text);
  return Bytes(ip->bytes.begin(), ip->bytes.begin() + addressLength(family));
}

// A CIDR ("10.244.0.0/16") or a single address, as a prefix.
core::Result<core::Cidr> prefixOf(Family family, const std::string& text) {
  auto cidr = text.find('/') == std::string::npos ? std::nullopt : core::Cidr::parse(text);
  if (!cidr) {
    auto ip = core::IpAddress::parse(text);
    if (!ip) return bad("not an address or CIDR: " + text);
    cidr = core::Cidr{*ip, static_cast<int>(ip->bitLength())};
  }
  if (cidr->network.v6 != (family == Family::v6)) return bad("wrong family: " + text);
  return *cidr;
}

// The first and last address of each prefix, merged where they overlap or
// touch, in order: what an interval set holds.
std::vector<std::pair<Bytes, Bytes>> ranges(Family family,
                                            const std::vector<core::Cidr>& prefixes) {
  const uint32_t length = addressLength(family);
  std::vector<std::pair<Bytes, Bytes>> out;
  for (const auto& p : prefixes) {
    Bytes first(p.network.bytes.begin(), p.network.bytes.begin() + length);
    Bytes last = first;
    for (uint32_t bit = p.prefix; bit < length * 8; ++bit) last[bit / 8] |= 0x80 >> (bit % 8);
    out.emplace_back(std::move(first), std::move(last));
  }
  std::sort(out.begin(), out.end());
  std::vector<std::pair<Bytes, Bytes>> merged;
  for (auto& range : out) {
    if (!merged.empty()) {
      // Touching: the previous range's last address + 1 == this first.
      Bytes next = merged.back().second;
      int i = static_cast<int>(next.size()) - 1;
      for (; i >= 0; --i)
        if (++next[i] != 0) break;
      bool overflowed = i < 0;
      if (overflowed || range.first <= next) {
        if (range.second > merged.back().second) merged.back().second = range.second;
        continue;
      }
    }
    merged.push_back(std::move(range));
  }
  return merged;
}

// Appends "address field in/not in values" to `rule`.
core::Status matchAddress(net::NftBatch& batch, const Transaction& tx, NftRule& rule,
                          uint32_t offset, const std::vector<std::string>& values, bool in) {
  std::vector<core::Cidr> prefixes;
  for (const auto& v : values) {
    auto p = prefixOf(tx.family, v);
    if (!p) return p.takeError();
    prefixes.push_back(*p);
  }
  const uint32_t length = addressLength(tx.family);
  if (prefixes.size() == 1) {
    // As nft does: a prefix on a byte boundary loads only its bytes; any
    // other prefix is masked.
    const core::Cidr& p = prefixes.front();
    bool aligned = p.prefix % 8 == 0 && p.prefix > 0;
    uint32_t bytes = aligned ? static_cast<uint32_t>(p.prefix) / 8 : length;
    Bytes network(p.network.bytes.begin(), p.network.bytes.begin() + bytes);
    rule.payload(NftRule::Header::network, offset, bytes);
    if (!aligned) {
      Bytes mask(length, 0);
      for (int bit = 0; bit < p.prefix; ++bit) mask[bit / 8] |= 0x80 >> (bit % 8);
      rule.mask(std::move(mask));
    }
    if (in)
      rule.equal(std::move(network));
    else
      rule.notEqual(std::move(network));
    return core::Ok{};
  }
  auto [name, id] = batch.addAnonymousRanges(
      nftFamily(tx.family), tx.table, tx.family == Family::v4 ? kTypeIpv4Address : kTypeIpv6Address,
      ranges(tx.family, prefixes));
  rule.payload(NftRule::Header::network, offset, length);
  rule.lookup(name, 1, !in, id);
  return core::Ok{};
}

Bytes u32Host(uint32_t value) {
  Bytes out(4);
  std::memcpy(out.data(), &value, 4);
  return out;
}

core::Result<uint8_t> protocolNumber(const std::string& name) {
  if (name == "tcp") return uint8_t{6};
  if (name == "udp") return uint8_t{17};
  if (name == "sctp") return uint8_t{132};
  return bad("unknown protocol " + name);
}

core::Status encodeRule(net::NftBatch& batch, const Transaction& tx, const std::string& chain,
                        const Rule& rule) {
  NftRule r;
  const Family f = tx.family;
  for (const auto& c : rule.conditions) {
    core::Status done = core::Ok{};
    switch (c.match) {
      case Match::saddrIn:
      case Match::saddrNotIn:
        done = matchAddress(batch, tx, r, saddrOffset(f), c.values, c.match == Match::saddrIn);
        break;
      case Match::daddrIs: {
        auto address = addressBytes(f, c.values.at(0));
        if (!address) return address.takeError();
        r.payload(NftRule::Header::network, daddrOffset(f), addressLength(f)).equal(*address);
        break;
      }
      case Match::saddrLocal:
        r.fibAddressType(NFTA_FIB_F_SADDR).equal(u32Host(RTN_LOCAL));
        break;
      case Match::inAffinity:
        r.payload(NftRule::Header::network, saddrOffset(f), addressLength(f))
            .lookup(c.values.at(0));
        break;
      case Match::oneIn: {
        uint32_t n = static_cast<uint32_t>(std::stoul(c.values.at(0)));
        r.randomNumber(n).equal(u32Host(0));
        break;
      }
    }
    if (!done) return done;
  }
  switch (rule.action) {
    case Action::jump:
      r.verdict(NFT_JUMP, rule.target);
      break;
    case Action::gotoChain:
      r.verdict(NFT_GOTO, rule.target);
      break;
    case Action::randomGoto:  // not a kernel rule (kernelRules splits it)
      return bad("a random choice reached the encoder");
    case Action::drop:
      r.verdict(NF_DROP);
      break;
    case Action::reject:
      r.reject(NFT_REJECT_ICMP_UNREACH,
               f == Family::v4 ? kIcmpPortUnreachable : kIcmpv6PortUnreachable);
      break;
    case Action::markMasquerade:
      r.verdict(NFT_JUMP, kMarkForMasquerade);
      break;
    case Action::updateAffinity:
      r.payload(NftRule::Header::network, saddrOffset(f), addressLength(f)).updateSet(rule.target);
      break;
    case Action::dnat: {
      if (rule.targets.size() != 1) return bad("a random choice reached the encoder");
      auto protocol = protocolNumber(rule.protocol);
      if (!protocol) return protocol.takeError();
      auto address = addressBytes(f, rule.targets[0].ip);
      if (!address) return address.takeError();
      uint16_t port = static_cast<uint16_t>(rule.targets[0].port);
      r.meta(NFT_META_L4PROTO).equal(Bytes{*protocol});
      r.immediate(*address, 1);
      r.immediate(Bytes{static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)}, 2);
      r.dnat(nftFamily(f), 1, 2);
      break;
    }
  }
  batch.addRule(nftFamily(f), tx.table, chain, r);
  return core::Ok{};
}

// A map or set key in the compiler's text ("10.96.0.5 . tcp . 80",
// "tcp . 30080", "10.244.1.2 . 10.244.1.2"): each part padded to 4 bytes, as
// the kernel lays out concatenations.
core::Result<Bytes> keyBytes(Family family, const std::string& key) {
  Bytes out;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find(" . ", start);
    std::string part =
        key.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.find_first_of(".:") != std::string::npos) {
      auto address = addressBytes(family, part);
      if (!address) return address.takeError();
      out.insert(out.end(), address->begin(), address->end());
    } else if (auto protocol = protocolNumber(part)) {
      out.insert(out.end(), {*protocol, 0, 0, 0});
    } else {
      if (part.empty() || part.size() > 5 ||
          part.find_first_not_of("0123456789") != std::string::npos)
        return bad("bad key part '" + part + "' in " + key);
      unsigned long port = std::stoul(part);
      if (port > 65535) return bad("bad port in " + key);
      out.insert(out.end(), {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port), 0, 0});
    }
    if (end == std::string::npos) break;
    start = end + 3;
  }
  return out;
}

// A verdict map's value: "goto <chain>", "jump <chain>" or "drop".
core::Status setVerdict(net::NftElement& element, const std::string& value) {
  element.hasVerdict = true;
  if (value == "drop") {
    element.verdict = NF_DROP;
  } else if (value.rfind("goto ", 0) == 0) {
    element.verdict = NFT_GOTO;
    element.chain = value.substr(5);
  } else if (value.rfind("jump ", 0) == 0) {
    element.verdict = NFT_JUMP;
    element.chain = value.substr(5);
  } else {
    return bad("bad verdict '" + value + "'");
  }
  return core::Ok{};
}

core::Status encode(net::NftBatch& batch, const Transaction& tx) {
  const net::NftFamily family = nftFamily(tx.family);
  for (const auto& [name, set] : tx.newSets) {
    net::NftSetSpec spec;
    spec.name = name;
    spec.keyType = tx.family == Family::v4 ? kTypeIpv4Address : kTypeIpv6Address;
    spec.keyLength = addressLength(tx.family);
    spec.flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;  // nft's "flags dynamic,timeout"
    spec.timeoutMs = static_cast<uint64_t>(set.timeoutSeconds) * 1000;
    batch.addSet(family, tx.table, spec);
  }
  for (const auto& name : tx.newChains) batch.addChain(family, tx.table, name);
  for (const auto& name : tx.flushedChains) batch.flushChain(family, tx.table, name);
  for (const auto& [chain, rule] : tx.rules) {
    core::Status done = encodeRule(batch, tx, chain, rule);
    if (!done) return done;
  }
  for (const auto& [set, keys] : tx.elementsToDelete()) {
    std::vector<net::NftElement> elements;
    for (const auto& key : keys) {
      auto bytes = keyBytes(tx.family, key);
      if (!bytes) return bytes.takeError();
      elements.push_back(net::NftElement{*bytes, 0, false, 0, {}, {}});
    }
    batch.deleteElements(family, tx.table, set, elements);
  }
  for (const auto& [set, entries] : tx.elementsToAdd()) {
    std::vector<net::NftElement> elements;
    for (const auto& [key, value] : entries) {
      auto bytes = keyBytes(tx.family, key);
      if (!bytes) return bytes.takeError();
      net::NftElement element{*bytes, 0, false, 0, {}, {}};
      if (!value.empty()) {
        core::Status verdict = setVerdict(element, value);
        if (!verdict) return verdict;
      }
      elements.push_back(std::move(element));
    }
    batch.addElements(family, tx.table, set, elements);
  }
  for (const auto& name : tx.deletedChains) batch.deleteChain(family, tx.table, name);
  for (const auto& name : tx.deletedSets) batch.deleteSet(family, tx.table, name);
  return core::Ok{};
}

constexpr uint32_t kTypeInetProto = net::nft_type::inetProtocol;
constexpr uint32_t kTypeInetService = net::nft_type::inetService;
using net::nft_type::concat;
// The first 32-bit register after a value of `bytes` in register 1 (nft
// numbers them 8..23; register 1 is 8..11).
uint32_t registerAfter(uint32_t bytes) { return NFT_REG32_00 + (bytes + 3) / 4; }

// The base program of a table (renderBase in program_state.cpp is the same in
// nft text; the kernel tests compare the two rule by rule).
void encodeBase(net::NftBatch& batch, const TableConfig& config) {
  const Family f = config.family;
  const net::NftFamily family = nftFamily(f);
  const std::string& table = config.table;
  const uint32_t address = f == Family::v4 ? kTypeIpv4Address : kTypeIpv6Address;
  const uint32_t length = addressLength(f);
  const uint32_t mark = config.masqueradeMark;

  auto verdictMap = [&](const char* name, uint32_t keyType, uint32_t keyLength) {
    net::NftSetSpec spec;
    spec.name = name;
    spec.keyType = keyType;
    spec.keyLength = keyLength;
    spec.flags = NFT_SET_MAP;
    spec.dataType = NFT_DATA_VERDICT;
    spec.dataLength = 16;  // a verdict is one 16-byte register
    batch.addSet(family, table, spec);
  };
  const uint32_t serviceKey = concat({address, kTypeInetProto, kTypeInetService});
  const uint32_t portKey = concat({kTypeInetProto, kTypeInetService});
  verdictMap(kServiceIps, serviceKey, length + 8);
  verdictMap(kNoEndpointServices, serviceKey, length + 8);
  verdictMap(kServiceNodePorts, portKey, 8);
  verdictMap(kNoEndpointNodePorts, portKey, 8);
  net::NftSetSpec hairpin;
  hairpin.name = kHairpin;
  hairpin.keyType = concat({address, address});
  hairpin.keyLength = 2 * length;
  batch.addSet(family, table, hairpin);

  auto rule = [&](const std::string& chain, const NftRule& r) {
    batch.addRule(family, table, chain, r);
  };
  const auto network = NftRule::Header::network;
  const auto transport = NftRule::Header::transport;

  batch.addChain(family, table, kMarkForMasquerade);
  rule(kMarkForMasquerade,
       NftRule().meta(NFT_META_MARK).maskXor(~mark, mark).metaSet(NFT_META_MARK));
  batch.addChain(family, table, kRejectChain);
  rule(kRejectChain,
       NftRule().reject(NFT_REJECT_ICMP_UNREACH,
                        f == Family::v4 ? kIcmpPortUnreachable : kIcmpv6PortUnreachable));
  const uint32_t randomFully = 0x10;  // NF_NAT_RANGE_PROTO_RANDOM_FULLY
  batch.addChain(family, table, "masquerading");
  rule("masquerading", NftRule()
                           .ct(NFT_CT_STATUS)
                           .maskXor(0x20, 0)  // IPS_DST_NAT
                           .notEqual(u32Host(0))
                           .payload(network, saddrOffset(f), length)
                           .payload(network, daddrOffset(f), length, registerAfter(length))
                           .lookup(kHairpin)
                           .masquerade(randomFully));
  rule("masquerading",
       NftRule().meta(NFT_META_MARK).maskXor(mark, 0).equal(u32Host(0)).verdict(NFT_RETURN));
  rule("masquerading",
       NftRule().meta(NFT_META_MARK).maskXor(0xffffffff, mark).metaSet(NFT_META_MARK));
  rule("masquerading", NftRule().masquerade(randomFully));

  // services / no-endpoints: the address, protocol and port in one verdict
  // map; NodePorts on this node's own addresses but loopback in another.
  auto dispatch = [&](const std::string& chain, const char* byAddress, const char* byPort) {
    batch.addChain(family, table, chain);
    rule(chain, NftRule()
                    .payload(network, daddrOffset(f), length)
                    .meta(NFT_META_L4PROTO, registerAfter(length))
                    .payload(transport, 2, 2, registerAfter(length) + 1)
                    .verdictMap(byAddress));
    NftRule local;
    local.fibAddressType(NFTA_FIB_F_DADDR).equal(u32Host(RTN_LOCAL));
    if (f == Family::v4) {
      local.payload(network, daddrOffset(f), 1).notEqual(Bytes{127});  // 127.0.0.0/8
    } else {
      Bytes loopback(16, 0);
      loopback[15] = 1;
      local.payload(network, daddrOffset(f), 16).notEqual(loopback);  // ::1
    }
    local.meta(NFT_META_L4PROTO).payload(transport, 2, 2, registerAfter(4)).verdictMap(byPort);
    rule(chain, local);
  };
  dispatch("services", kServiceIps, kServiceNodePorts);
  dispatch("no-endpoints", kNoEndpointServices, kNoEndpointNodePorts);

  // Rejects come before NAT (dstnat - 10), for new connections only.
  auto newConnections = [] {
    return NftRule().ct(NFT_CT_STATE).maskXor(8, 0).notEqual(u32Host(0));  // IP_CT_NEW's bit
  };
  batch.addBaseChain(family, table, "filter-prerouting", net::NftHook::prerouting, -110, "filter");
  rule("filter-prerouting", newConnections().verdict(NFT_JUMP, "no-endpoints"));
  batch.addBaseChain(family, table, "filter-output", net::NftHook::output, -110, "filter");
  rule("filter-output", newConnections().verdict(NFT_JUMP, "no-endpoints"));
  batch.addBaseChain(family, table, "nat-prerouting", net::NftHook::prerouting, -100, "nat");
  rule("nat-prerouting", NftRule().verdict(NFT_JUMP, "services"));
  batch.addBaseChain(family, table, "nat-output", net::NftHook::output, -100, "nat");
  rule("nat-output", NftRule().verdict(NFT_JUMP, "services"));
  batch.addBaseChain(family, table, "nat-postrouting", net::NftHook::postrouting, 100, "nat");
  rule("nat-postrouting", NftRule().verdict(NFT_JUMP, "masquerading"));
}

}  // namespace

core::Result<net::NftBatch> encodeReplacement(const Replacement& replacement) {
  net::NftBatch batch;
  for (const auto& [family, table] : replacement.staleTables) {
    batch.addTable(nftFamily(family), table);
    batch.deleteTable(nftFamily(family), table);
  }
  for (const auto& table : replacement.tables) {
    // Added, deleted and added again: whatever the table held is replaced.
    const net::NftFamily family = nftFamily(table.config.family);
    batch.addTable(family, table.config.table);
    batch.deleteTable(family, table.config.table);
    batch.addTable(family, table.config.table);
    encodeBase(batch, table.config);
    core::Status done = encode(batch, table.contents);
    if (!done) return done.takeError();
  }
  return batch;
}

core::Result<net::NftBatch> encodeTransactions(const std::vector<Transaction>& changes) {
  net::NftBatch batch;
  for (const auto& tx : changes) {
    core::Status done = encode(batch, tx);
    if (!done) return done.takeError();
  }
  return batch;
}

core::Result<NetlinkWriter> NetlinkWriter::open() {
  auto socket = net::NftSocket::open();
  if (!socket) return socket.takeError();
  return NetlinkWriter(std::move(*socket));
}

core::Status NetlinkWriter::replace(const Replacement& replacement) {
  auto batch = encodeReplacement(replacement);
  if (!batch) return batch.takeError();
  return socket_.commit(*batch);
}

core::Status NetlinkWriter::apply(const std::vector<Transaction>& changes) {
  auto batch = encodeTransactions(changes);
  if (!batch) return batch.takeError();
  return socket_.commit(*batch);
}

}  // namespace podnet::proxy
