// nftables through netlink batches built with libnftnl: the objects, rules and
// set elements of a change are encoded here and sent as one nfnetlink batch,
// which the kernel applies atomically (all of it or nothing).
//
// Unlike libnftables (net/nftables.h), nothing is read from the kernel first.
// libnftables fetches every chain of every table into its cache before it
// evaluates an `add rule` or `add element`; with 10k Services (~50k chains)
// that fetch alone costs tens of milliseconds per change. The caller here
// already knows what the kernel holds (it remembers what it applied).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

struct mnl_socket;

namespace podnet::net {

// nfnetlink address families (NFPROTO_*).
enum class NftFamily : uint8_t { ip = 2, ip6 = 10 };

using Bytes = std::vector<uint8_t>;

// nft's datatype numbers (src/datatype.h of nftables), which `nft list`
// reads from a set's key type; a concatenation packs its parts 6 bits each.
namespace nft_type {
inline constexpr uint32_t ipv4Address = 7;
inline constexpr uint32_t ipv6Address = 8;
inline constexpr uint32_t inetProtocol = 12;
inline constexpr uint32_t inetService = 13;
inline constexpr uint32_t mark = 19;
constexpr uint32_t concat(std::initializer_list<uint32_t> parts) {
  uint32_t type = 0;
  for (uint32_t part : parts) type = (type << 6) | part;
  return type;
}
}  // namespace nft_type

// The expressions of one rule, in the kernel's register machine. Registers are
// numbered as `nft --debug=netlink` prints them: 0 holds the verdict, 1-4 are
// the 16-byte registers and 8-23 the 32-bit ones (8-11 alias register 1).
class NftRule {
 public:
  enum class Header : uint32_t { network = 1, transport = 2 };  // NFT_PAYLOAD_*_HEADER

  // Loads `length` bytes at `offset` of the header into `reg`.
  NftRule& payload(Header header, uint32_t offset, uint32_t length, uint32_t reg = 1);
  // Compares `reg` with `data` (equal, or not equal).
  NftRule& equal(Bytes data, uint32_t reg = 1);
  NftRule& notEqual(Bytes data, uint32_t reg = 1);
  // reg = reg & mask (a CIDR's prefix).
  NftRule& mask(Bytes mask, uint32_t reg = 1);
  // Whether `reg` is in set `set` (or not, `inverted`); `setId` names a set
  // created in the same batch (anonymous sets).
  NftRule& lookup(std::string set, uint32_t reg = 1, bool inverted = false, uint32_t setId = 0);
  // reg = a random number modulo `modulus`.
  NftRule& randomNumber(uint32_t modulus, uint32_t reg = 1);
  // reg = meta key (NFT_META_*), e.g. NFT_META_L4PROTO.
  NftRule& meta(uint32_t key, uint32_t reg = 1);
  // reg = the routing type (RTN_*) of the source or destination address
  // (NFTA_FIB_F_SADDR / _DADDR in `flags`).
  NftRule& fibAddressType(uint32_t flags, uint32_t reg = 1);
  // reg = data.
  NftRule& immediate(Bytes data, uint32_t reg);
  // The rule's verdict: NF_DROP, NF_ACCEPT, NFT_RETURN, or NFT_JUMP/NFT_GOTO
  // with a chain.
  NftRule& verdict(int32_t code, std::string chain = {});
  // Destination NAT to the address in `addressReg` and, when `portReg` is not
  // 0, the port in `portReg`.
  NftRule& dnat(NftFamily family, uint32_t addressReg, uint32_t portReg);
  // Adds the key in `reg` to set `set` or refreshes its timeout.
  NftRule& updateSet(std::string set, uint32_t reg = 1);
  // reject with ICMP(v6) `type`/`code` (NFT_REJECT_*).
  NftRule& reject(uint32_t type, uint8_t code);
  // reg = conntrack key (NFT_CT_STATE, NFT_CT_STATUS, ...).
  NftRule& ct(uint32_t key, uint32_t reg = 1);
  // The same for one direction of the connection (IP_CT_DIR_ORIGINAL = 0,
  // IP_CT_DIR_REPLY = 1): keys such as NFT_CT_PROTO_SRC need one.
  NftRule& ct(uint32_t key, uint32_t reg, uint8_t direction);
  // reg = (reg & mask) ^ xor, over 4 bytes.
  NftRule& maskXor(uint32_t mask, uint32_t xorValue, uint32_t reg = 1);
  // meta key (NFT_META_MARK, ...) = reg.
  NftRule& metaSet(uint32_t key, uint32_t reg = 1);
  // Masquerade, with NF_NAT_RANGE_* flags.
  NftRule& masquerade(uint32_t flags);
  // The verdict of verdict map `map` for the key in `reg`.
  NftRule& verdictMap(std::string map, uint32_t reg = 1);
  // dreg = the value data map `map` holds for the key in `sreg` (the rule
  // stops here when the key is absent). sreg may be dreg.
  NftRule& mapLookup(std::string map, uint32_t sreg, uint32_t dreg);
  // Sends the packet to nflog group `group` (a netlink listener of
  // nfnetlink_log), with `prefix` and at most `snaplen` bytes of it.
  NftRule& log(uint16_t group, std::string prefix, uint32_t snaplen);
  // Matches while under `rate` packets per `unitSeconds` (bursts of `burst`).
  NftRule& limit(uint64_t rate, uint64_t unitSeconds, uint32_t burst);

  struct Expression {
    std::string name;  // the kernel's expression type: "payload", "cmp", ...
    std::vector<std::pair<uint16_t, uint32_t>> numbers;
    std::vector<std::pair<uint16_t, uint16_t>> shorts;  // 16-bit attributes
    std::vector<std::pair<uint16_t, uint64_t>> longs;   // 64-bit attributes
    std::vector<std::pair<uint16_t, uint8_t>> octets;   // 8-bit attributes
    std::vector<std::pair<uint16_t, Bytes>> blobs;
    std::vector<std::pair<uint16_t, std::string>> strings;
  };
  const std::vector<Expression>& expressions() const { return expressions_; }

 private:
  Expression& add(std::string name);
  std::vector<Expression> expressions_;
};

struct NftSetSpec {
  std::string name;
  uint32_t keyType = 0;  // nft's datatype number (7 ipv4_addr, 8 ipv6_addr); concatenations
                         // combine them 6 bits each
  uint32_t keyLength = 0;
  uint32_t flags = 0;     // NFT_SET_* (NFT_SET_MAP for a map)
  uint32_t dataType = 0;  // a map's: NFT_DATA_VERDICT for a verdict map
  uint32_t dataLength = 0;
  uint64_t timeoutMs = 0;
  Bytes userData;  // nft's notes for printing the set (byte orders)
  // A concatenation's field lengths in bytes (each field takes a multiple of
  // 4 bytes of the key): needed by interval sets of concatenations, whose
  // elements carry a key and a key end (NFT_SET_INTERVAL | NFT_SET_CONCAT).
  std::vector<uint8_t> fieldLengths;
};

enum class NftHook : uint32_t {
  prerouting = 0,
  input = 1,
  forward = 2,
  output = 3,
  postrouting = 4
};

struct NftElement {
  Bytes key;
  uint32_t flags = 0;  // NFT_SET_ELEM_INTERVAL_END
  // A verdict map's value: the verdict (with its chain) ...
  bool hasVerdict = false;
  int32_t verdict = 0;
  std::string chain;
  // ... or a data map's value.
  Bytes data;
  Bytes keyEnd;  // the last key of the element's range (interval sets of concatenations)
};

// The messages of one transaction, in order.
class NftBatch {
 public:
  NftBatch();
  ~NftBatch();
  NftBatch(NftBatch&&) noexcept;
  NftBatch& operator=(NftBatch&&) noexcept;

  // A table that exists afterwards whatever it held; then deleted: the pair
  // removes a table whether or not it existed.
  void addTable(NftFamily family, const std::string& table);
  void deleteTable(NftFamily family, const std::string& table);
  void addChain(NftFamily family, const std::string& table, const std::string& chain);
  // A base chain on `hook` ("filter" or "nat" `type`), policy accept.
  void addBaseChain(NftFamily family, const std::string& table, const std::string& chain,
                    NftHook hook, int32_t priority, const std::string& type);
  // Removes every rule of the chain.
  void flushChain(NftFamily family, const std::string& table, const std::string& chain);
  void deleteChain(NftFamily family, const std::string& table, const std::string& chain);
  void addSet(NftFamily family, const std::string& table, const NftSetSpec& set);
  void deleteSet(NftFamily family, const std::string& table, const std::string& set);
  void addElements(NftFamily family, const std::string& table, const std::string& set,
                   const std::vector<NftElement>& elements);
  void deleteElements(NftFamily family, const std::string& table, const std::string& set,
                      const std::vector<NftElement>& elements);
  // A constant anonymous set of address ranges [first, last] (inclusive,
  // network byte order, sorted and not overlapping) for one rule's lookup.
  // Returns the set's name and id for NftRule::lookup.
  std::pair<std::string, uint32_t> addAnonymousRanges(
      NftFamily family, const std::string& table, uint32_t keyType,
      const std::vector<std::pair<Bytes, Bytes>>& ranges);
  void addRule(NftFamily family, const std::string& table, const std::string& chain,
               const NftRule& rule);

  bool empty() const;
  size_t messages() const;

 private:
  friend class NftSocket;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A netlink socket to nf_tables in the network namespace of the thread that
// opened it. Not thread-safe.
class NftSocket {
 public:
  static core::Result<NftSocket> open();
  NftSocket(NftSocket&&) noexcept;
  NftSocket& operator=(NftSocket&&) noexcept;
  ~NftSocket();

  // Sends the batch as one transaction. On failure nothing changed, and the
  // error names the first message the kernel refused and why.
  core::Status commit(const NftBatch& batch);

  // Every rule of `table` as the kernel holds it, one line each in libnftnl's
  // notation ("ip t c [ payload load 4b @ network header + 16 => reg 1 ] ..."),
  // rule handles left out. For tests that compare encodings: the proxy never
  // reads kernel state.
  core::Result<std::string> dumpRules(NftFamily family, const std::string& table);

 private:
  explicit NftSocket(mnl_socket* socket) : socket_(socket) {}
  mnl_socket* socket_ = nullptr;
};

}  // namespace podnet::net
