#include "net/nft_batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace podnet::net {

// ---------------------------------------------------------------------------
// Rules

NftRule::Expression& NftRule::add(std::string name) {
  expressions_.push_back(Expression{std::move(name), {}, {}, {}, {}, {}});
  return expressions_.back();
}

NftRule& NftRule::payload(Header header, uint32_t offset, uint32_t length, uint32_t reg) {
  auto& e = add("payload");
  e.numbers = {{NFTNL_EXPR_PAYLOAD_DREG, reg},
               {NFTNL_EXPR_PAYLOAD_BASE, static_cast<uint32_t>(header)},
               {NFTNL_EXPR_PAYLOAD_OFFSET, offset},
               {NFTNL_EXPR_PAYLOAD_LEN, length}};
  return *this;
}

NftRule& NftRule::equal(Bytes data, uint32_t reg) {
  auto& e = add("cmp");
  e.numbers = {{NFTNL_EXPR_CMP_SREG, reg}, {NFTNL_EXPR_CMP_OP, NFT_CMP_EQ}};
  e.blobs = {{NFTNL_EXPR_CMP_DATA, std::move(data)}};
  return *this;
}

NftRule& NftRule::notEqual(Bytes data, uint32_t reg) {
  auto& e = add("cmp");
  e.numbers = {{NFTNL_EXPR_CMP_SREG, reg}, {NFTNL_EXPR_CMP_OP, NFT_CMP_NEQ}};
  e.blobs = {{NFTNL_EXPR_CMP_DATA, std::move(data)}};
  return *this;
}

NftRule& NftRule::mask(Bytes mask, uint32_t reg) {
  auto& e = add("bitwise");
  Bytes zeros(mask.size(), 0);
  e.numbers = {{NFTNL_EXPR_BITWISE_SREG, reg},
               {NFTNL_EXPR_BITWISE_DREG, reg},
               {NFTNL_EXPR_BITWISE_LEN, static_cast<uint32_t>(mask.size())}};
  e.blobs = {{NFTNL_EXPR_BITWISE_MASK, std::move(mask)},
             {NFTNL_EXPR_BITWISE_XOR, std::move(zeros)}};
  return *this;
}

NftRule& NftRule::lookup(std::string set, uint32_t reg, bool inverted, uint32_t setId) {
  auto& e = add("lookup");
  e.numbers = {{NFTNL_EXPR_LOOKUP_SREG, reg}};
  if (inverted) e.numbers.emplace_back(NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  if (setId) e.numbers.emplace_back(NFTNL_EXPR_LOOKUP_SET_ID, setId);
  e.strings = {{NFTNL_EXPR_LOOKUP_SET, std::move(set)}};
  return *this;
}

NftRule& NftRule::randomNumber(uint32_t modulus, uint32_t reg) {
  auto& e = add("numgen");
  e.numbers = {{NFTNL_EXPR_NG_DREG, reg},
               {NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM},
               {NFTNL_EXPR_NG_MODULUS, modulus}};
  return *this;
}

NftRule& NftRule::meta(uint32_t key, uint32_t reg) {
  auto& e = add("meta");
  e.numbers = {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_DREG, reg}};
  return *this;
}

NftRule& NftRule::fibAddressType(uint32_t flags, uint32_t reg) {
  auto& e = add("fib");
  e.numbers = {{NFTNL_EXPR_FIB_DREG, reg},
               {NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE},
               {NFTNL_EXPR_FIB_FLAGS, flags}};
  return *this;
}

NftRule& NftRule::immediate(Bytes data, uint32_t reg) {
  auto& e = add("immediate");
  e.numbers = {{NFTNL_EXPR_IMM_DREG, reg}};
  e.blobs = {{NFTNL_EXPR_IMM_DATA, std::move(data)}};
  return *this;
}

NftRule& NftRule::verdict(int32_t code, std::string chain) {
  auto& e = add("immediate");
  e.numbers = {{NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT},
               {NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code)}};
  if (!chain.empty()) e.strings = {{NFTNL_EXPR_IMM_CHAIN, std::move(chain)}};
  return *this;
}

NftRule& NftRule::dnat(NftFamily family, uint32_t addressReg, uint32_t portReg) {
  auto& e = add("nat");
  e.numbers = {{NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT},
               {NFTNL_EXPR_NAT_FAMILY, static_cast<uint32_t>(family)},
               {NFTNL_EXPR_NAT_REG_ADDR_MIN, addressReg}};
  if (portReg) {
    e.numbers.emplace_back(NFTNL_EXPR_NAT_REG_PROTO_MIN, portReg);
    // What nft sends for "to address:port" (NF_NAT_RANGE_PROTO_SPECIFIED).
    e.numbers.emplace_back(NFTNL_EXPR_NAT_FLAGS, 0x2);
  }
  return *this;
}

NftRule& NftRule::updateSet(std::string set, uint32_t reg) {
  auto& e = add("dynset");
  e.numbers = {{NFTNL_EXPR_DYNSET_SREG_KEY, reg}, {NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE}};
  e.strings = {{NFTNL_EXPR_DYNSET_SET_NAME, std::move(set)}};
  return *this;
}

NftRule& NftRule::reject(uint32_t type, uint8_t code) {
  auto& e = add("reject");
  e.numbers = {{NFTNL_EXPR_REJECT_TYPE, type}};
  e.blobs = {{NFTNL_EXPR_REJECT_CODE, Bytes{code}}};
  return *this;
}

NftRule& NftRule::ct(uint32_t key, uint32_t reg) {
  auto& e = add("ct");
  e.numbers = {{NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_DREG, reg}};
  return *this;
}

NftRule& NftRule::ct(uint32_t key, uint32_t reg, uint8_t direction) {
  auto& e = add("ct");
  e.numbers = {{NFTNL_EXPR_CT_KEY, key}, {NFTNL_EXPR_CT_DREG, reg}};
  e.octets = {{NFTNL_EXPR_CT_DIR, direction}};
  return *this;
}

NftRule& NftRule::maskXor(uint32_t mask, uint32_t xorValue, uint32_t reg) {
  auto& e = add("bitwise");
  Bytes maskBytes(4), xorBytes(4);
  std::memcpy(maskBytes.data(), &mask, 4);  // host order, as the register holds it
  std::memcpy(xorBytes.data(), &xorValue, 4);
  e.numbers = {
      {NFTNL_EXPR_BITWISE_SREG, reg}, {NFTNL_EXPR_BITWISE_DREG, reg}, {NFTNL_EXPR_BITWISE_LEN, 4}};
  e.blobs = {{NFTNL_EXPR_BITWISE_MASK, std::move(maskBytes)},
             {NFTNL_EXPR_BITWISE_XOR, std::move(xorBytes)}};
  return *this;
}

NftRule& NftRule::metaSet(uint32_t key, uint32_t reg) {
  auto& e = add("meta");
  e.numbers = {{NFTNL_EXPR_META_KEY, key}, {NFTNL_EXPR_META_SREG, reg}};
  return *this;
}

NftRule& NftRule::masquerade(uint32_t flags) {
  auto& e = add("masq");
  if (flags) e.numbers = {{NFTNL_EXPR_MASQ_FLAGS, flags}};
  return *this;
}

NftRule& NftRule::verdictMap(std::string map, uint32_t reg) {
  auto& e = add("lookup");
  e.numbers = {{NFTNL_EXPR_LOOKUP_SREG, reg}, {NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT}};
  e.strings = {{NFTNL_EXPR_LOOKUP_SET, std::move(map)}};
  return *this;
}

NftRule& NftRule::mapLookup(std::string map, uint32_t sreg, uint32_t dreg) {
  auto& e = add("lookup");
  e.numbers = {{NFTNL_EXPR_LOOKUP_SREG, sreg}, {NFTNL_EXPR_LOOKUP_DREG, dreg}};
  e.strings = {{NFTNL_EXPR_LOOKUP_SET, std::move(map)}};
  return *this;
}

NftRule& NftRule::log(uint16_t group, std::string prefix, uint32_t snaplen) {
  auto& e = add("log");
  e.shorts = {{NFTNL_EXPR_LOG_GROUP, group}};
  e.numbers = {{NFTNL_EXPR_LOG_SNAPLEN, snaplen}};
  e.strings = {{NFTNL_EXPR_LOG_PREFIX, std::move(prefix)}};
  return *this;
}

NftRule& NftRule::limit(uint64_t rate, uint64_t unitSeconds, uint32_t burst) {
  auto& e = add("limit");
  e.longs = {{NFTNL_EXPR_LIMIT_RATE, rate}, {NFTNL_EXPR_LIMIT_UNIT, unitSeconds}};
  e.numbers = {{NFTNL_EXPR_LIMIT_BURST, burst}, {NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS}};
  return *this;
}

// ---------------------------------------------------------------------------
// Batches

namespace {

// Room a message may take before it is built: libnftnl writes attributes
// without bounds checks. Element lists are cut into messages that fit.
constexpr size_t kMessageRoom = 64 * 1024;
constexpr size_t kElementsPerMessage = 128;

template <typename T, void (*Free)(T*)>
struct Owned {
  T* ptr;
  explicit Owned(T* p) : ptr(p) {}
  ~Owned() { Free(ptr); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};

void freeChain(nftnl_chain* c) { nftnl_chain_free(c); }
void freeRule(nftnl_rule* r) { nftnl_rule_free(r); }
void freeSet(nftnl_set* s) { nftnl_set_free(s); }
void freeTable(nftnl_table* t) { nftnl_table_free(t); }

const char* familyName(NftFamily family) { return family == NftFamily::ip ? "ip" : "ip6"; }

}  // namespace

struct NftBatch::Impl {
  std::vector<char> buffer;
  size_t used = 0;
  std::vector<std::string> descriptions;  // message i has sequence number i + 1
  uint32_t nextSetId = 1;

  // A message header at the end of the buffer, with kMessageRoom bytes free.
  nlmsghdr* begin(uint16_t type, NftFamily family, uint16_t flags, std::string description) {
    if (buffer.size() - used < kMessageRoom) buffer.resize(buffer.size() * 2 + kMessageRoom);
    descriptions.push_back(std::move(description));
    return nftnl_nlmsg_build_hdr(buffer.data() + used, type, static_cast<uint16_t>(family), flags,
                                 static_cast<uint32_t>(descriptions.size()));
  }
  void end(nlmsghdr* header) { used += MNL_ALIGN(header->nlmsg_len); }

  void chainMessage(uint16_t type, uint16_t flags, NftFamily family, const std::string& table,
                    const std::string& chain, const char* verb) {
    Owned<nftnl_chain, freeChain> c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.ptr, NFTNL_CHAIN_TABLE, table.c_str());
    nftnl_chain_set_str(c.ptr, NFTNL_CHAIN_NAME, chain.c_str());
    nlmsghdr* h =
        begin(type, family, flags,
              std::string(verb) + " chain " + familyName(family) + " " + table + " " + chain);
    nftnl_chain_nlmsg_build_payload(h, c.ptr);
    end(h);
  }

  void elementMessages(uint16_t type, uint16_t flags, NftFamily family, const std::string& table,
                       const std::string& set, uint32_t setId,
                       const std::vector<NftElement>& elements, const char* verb) {
    for (size_t first = 0; first < elements.size(); first += kElementsPerMessage) {
      Owned<nftnl_set, freeSet> s(nftnl_set_alloc());
      nftnl_set_set_str(s.ptr, NFTNL_SET_TABLE, table.c_str());
      nftnl_set_set_str(s.ptr, NFTNL_SET_NAME, set.c_str());
      if (setId) nftnl_set_set_u32(s.ptr, NFTNL_SET_ID, setId);
      size_t last = std::min(elements.size(), first + kElementsPerMessage);
      for (size_t i = first; i < last; ++i) {
        const NftElement& element = elements[i];
        nftnl_set_elem* e = nftnl_set_elem_alloc();
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, element.key.data(), element.key.size());
        if (!element.keyEnd.empty())
          nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, element.keyEnd.data(),
                             element.keyEnd.size());
        if (element.flags) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, element.flags);
        if (element.hasVerdict) {
          nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(element.verdict));
          if (!element.chain.empty())
            nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, element.chain.c_str());
        } else if (!element.data.empty()) {
          nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, element.data.data(), element.data.size());
        }
        nftnl_set_elem_add(s.ptr, e);
      }
      nlmsghdr* h =
          begin(type, family, flags,
                std::string(verb) + " element " + familyName(family) + " " + table + " " + set);
      nftnl_set_elems_nlmsg_build_payload(h, s.ptr);
      end(h);
    }
  }
};

NftBatch::NftBatch() : impl_(std::make_unique<Impl>()) {}
NftBatch::~NftBatch() = default;
NftBatch::NftBatch(NftBatch&&) noexcept = default;
NftBatch& NftBatch::operator=(NftBatch&&) noexcept = default;

bool NftBatch::empty() const { return impl_->descriptions.empty(); }
size_t NftBatch::messages() const { return impl_->descriptions.size(); }

void NftBatch::addTable(NftFamily family, const std::string& table) {
  Owned<nftnl_table, freeTable> t(nftnl_table_alloc());
  nftnl_table_set_str(t.ptr, NFTNL_TABLE_NAME, table.c_str());
  nlmsghdr* h = impl_->begin(NFT_MSG_NEWTABLE, family, NLM_F_CREATE,
                             std::string("add table ") + familyName(family) + " " + table);
  nftnl_table_nlmsg_build_payload(h, t.ptr);
  impl_->end(h);
}

void NftBatch::deleteTable(NftFamily family, const std::string& table) {
  Owned<nftnl_table, freeTable> t(nftnl_table_alloc());
  nftnl_table_set_str(t.ptr, NFTNL_TABLE_NAME, table.c_str());
  nlmsghdr* h = impl_->begin(NFT_MSG_DELTABLE, family, 0,
                             std::string("delete table ") + familyName(family) + " " + table);
  nftnl_table_nlmsg_build_payload(h, t.ptr);
  impl_->end(h);
}

void NftBatch::addBaseChain(NftFamily family, const std::string& table, const std::string& chain,
                            NftHook hook, int32_t priority, const std::string& type) {
  Owned<nftnl_chain, freeChain> c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.ptr, NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(c.ptr, NFTNL_CHAIN_NAME, chain.c_str());
  nftnl_chain_set_u32(c.ptr, NFTNL_CHAIN_HOOKNUM, static_cast<uint32_t>(hook));
  nftnl_chain_set_s32(c.ptr, NFTNL_CHAIN_PRIO, priority);
  nftnl_chain_set_str(c.ptr, NFTNL_CHAIN_TYPE, type.c_str());
  nftnl_chain_set_u32(c.ptr, NFTNL_CHAIN_POLICY, NF_ACCEPT);
  nlmsghdr* h =
      impl_->begin(NFT_MSG_NEWCHAIN, family, NLM_F_CREATE,
                   std::string("add chain ") + familyName(family) + " " + table + " " + chain);
  nftnl_chain_nlmsg_build_payload(h, c.ptr);
  impl_->end(h);
}

void NftBatch::addChain(NftFamily family, const std::string& table, const std::string& chain) {
  impl_->chainMessage(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, table, chain, "add");
}

void NftBatch::flushChain(NftFamily family, const std::string& table, const std::string& chain) {
  // A rule deletion naming a chain and no rule handle removes all its rules.
  Owned<nftnl_rule, freeRule> r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.ptr, NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.ptr, NFTNL_RULE_CHAIN, chain.c_str());
  nlmsghdr* h =
      impl_->begin(NFT_MSG_DELRULE, family, 0,
                   std::string("flush chain ") + familyName(family) + " " + table + " " + chain);
  nftnl_rule_nlmsg_build_payload(h, r.ptr);
  impl_->end(h);
}

void NftBatch::deleteChain(NftFamily family, const std::string& table, const std::string& chain) {
  impl_->chainMessage(NFT_MSG_DELCHAIN, 0, family, table, chain, "delete");
}

void NftBatch::addSet(NftFamily family, const std::string& table, const NftSetSpec& spec) {
  Owned<nftnl_set, freeSet> s(nftnl_set_alloc());
  nftnl_set_set_str(s.ptr, NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.ptr, NFTNL_SET_NAME, spec.name.c_str());
  nftnl_set_set_u32(s.ptr, NFTNL_SET_FAMILY, static_cast<uint32_t>(family));
  nftnl_set_set_u32(s.ptr, NFTNL_SET_FLAGS, spec.flags);
  nftnl_set_set_u32(s.ptr, NFTNL_SET_KEY_TYPE, spec.keyType);
  nftnl_set_set_u32(s.ptr, NFTNL_SET_KEY_LEN, spec.keyLength);
  nftnl_set_set_u32(s.ptr, NFTNL_SET_ID, impl_->nextSetId++);
  if (spec.timeoutMs) nftnl_set_set_u64(s.ptr, NFTNL_SET_TIMEOUT, spec.timeoutMs);
  if (spec.flags & NFT_SET_MAP) {
    nftnl_set_set_u32(s.ptr, NFTNL_SET_DATA_TYPE, spec.dataType);
    nftnl_set_set_u32(s.ptr, NFTNL_SET_DATA_LEN, spec.dataLength);
  }
  if (!spec.userData.empty())
    nftnl_set_set_data(s.ptr, NFTNL_SET_USERDATA, spec.userData.data(),
                       static_cast<uint32_t>(spec.userData.size()));
  if (!spec.fieldLengths.empty() && spec.fieldLengths.size() < 16) {
    // libnftnl counts the fields up to the first zero length.
    uint8_t lengths[16] = {};
    std::copy(spec.fieldLengths.begin(), spec.fieldLengths.end(), lengths);
    nftnl_set_set_data(s.ptr, NFTNL_SET_DESC_CONCAT, lengths,
                       static_cast<uint32_t>(spec.fieldLengths.size()));
  }
  nlmsghdr* h =
      impl_->begin(NFT_MSG_NEWSET, family, NLM_F_CREATE,
                   std::string("add set ") + familyName(family) + " " + table + " " + spec.name);
  nftnl_set_nlmsg_build_payload(h, s.ptr);
  impl_->end(h);
}

void NftBatch::deleteSet(NftFamily family, const std::string& table, const std::string& set) {
  Owned<nftnl_set, freeSet> s(nftnl_set_alloc());
  nftnl_set_set_str(s.ptr, NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.ptr, NFTNL_SET_NAME, set.c_str());
  nlmsghdr* h =
      impl_->begin(NFT_MSG_DELSET, family, 0,
                   std::string("delete set ") + familyName(family) + " " + table + " " + set);
  nftnl_set_nlmsg_build_payload(h, s.ptr);
  impl_->end(h);
}

void NftBatch::addElements(NftFamily family, const std::string& table, const std::string& set,
                           const std::vector<NftElement>& elements) {
  impl_->elementMessages(NFT_MSG_NEWSETELEM, NLM_F_CREATE, family, table, set, 0, elements, "add");
}

void NftBatch::deleteElements(NftFamily family, const std::string& table, const std::string& set,
                              const std::vector<NftElement>& elements) {
  impl_->elementMessages(NFT_MSG_DELSETELEM, 0, family, table, set, 0, elements, "delete");
}

std::pair<std::string, uint32_t> NftBatch::addAnonymousRanges(
    NftFamily family, const std::string& table, uint32_t keyType,
    const std::vector<std::pair<Bytes, Bytes>>& ranges) {
  const std::string name = "__set%d";  // the kernel picks the number
  uint32_t keyLength = ranges.empty() ? (family == NftFamily::ip ? 4 : 16)
                                      : static_cast<uint32_t>(ranges.front().first.size());
  uint32_t id = impl_->nextSetId++;
  {
    Owned<nftnl_set, freeSet> s(nftnl_set_alloc());
    nftnl_set_set_str(s.ptr, NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.ptr, NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s.ptr, NFTNL_SET_FAMILY, static_cast<uint32_t>(family));
    nftnl_set_set_u32(s.ptr, NFTNL_SET_FLAGS,
                      NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL);
    nftnl_set_set_u32(s.ptr, NFTNL_SET_KEY_TYPE, keyType);
    nftnl_set_set_u32(s.ptr, NFTNL_SET_KEY_LEN, keyLength);
    nftnl_set_set_u32(s.ptr, NFTNL_SET_ID, id);
    nlmsghdr* h =
        impl_->begin(NFT_MSG_NEWSET, family, NLM_F_CREATE,
                     std::string("add anonymous set ") + familyName(family) + " " + table);
    nftnl_set_nlmsg_build_payload(h, s.ptr);
    impl_->end(h);
  }
  // An interval set holds each range as its first key and, flagged as an
  // interval end, the key after its last (none when the range runs to the
  // end of the address space).
  std::vector<NftElement> elements;
  for (const auto& [first, last] : ranges) {
    elements.push_back(NftElement{first, 0, false, 0, {}, {}});
    Bytes after = last;
    int i = static_cast<int>(after.size()) - 1;
    for (; i >= 0; --i) {
      if (++after[i] != 0) break;
    }
    if (i >= 0) elements.push_back(NftElement{after, NFT_SET_ELEM_INTERVAL_END, false, 0, {}, {}});
  }
  impl_->elementMessages(NFT_MSG_NEWSETELEM, NLM_F_CREATE, family, table, name, id, elements,
                         "add anonymous");
  return {name, id};
}

void NftBatch::addRule(NftFamily family, const std::string& table, const std::string& chain,
                       const NftRule& rule) {
  Owned<nftnl_rule, freeRule> r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.ptr, NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.ptr, NFTNL_RULE_CHAIN, chain.c_str());
  for (const auto& expression : rule.expressions()) {
    nftnl_expr* e = nftnl_expr_alloc(expression.name.c_str());
    for (const auto& [attr, value] : expression.numbers) nftnl_expr_set_u32(e, attr, value);
    for (const auto& [attr, value] : expression.shorts) nftnl_expr_set_u16(e, attr, value);
    for (const auto& [attr, value] : expression.longs) nftnl_expr_set_u64(e, attr, value);
    for (const auto& [attr, value] : expression.octets) nftnl_expr_set_u8(e, attr, value);
    for (const auto& [attr, data] : expression.blobs)
      nftnl_expr_set(e, attr, data.data(), static_cast<uint32_t>(data.size()));
    for (const auto& [attr, text] : expression.strings) nftnl_expr_set_str(e, attr, text.c_str());
    nftnl_rule_add_expr(r.ptr, e);  // the rule owns it now
  }
  nlmsghdr* h =
      impl_->begin(NFT_MSG_NEWRULE, family, NLM_F_CREATE | NLM_F_APPEND,
                   std::string("add rule ") + familyName(family) + " " + table + " " + chain);
  nftnl_rule_nlmsg_build_payload(h, r.ptr);
  impl_->end(h);
}

// ---------------------------------------------------------------------------
// The socket

NftSocket::NftSocket(NftSocket&& o) noexcept : socket_(std::exchange(o.socket_, nullptr)) {}
NftSocket& NftSocket::operator=(NftSocket&& o) noexcept {
  std::swap(socket_, o.socket_);
  return *this;
}
NftSocket::~NftSocket() {
  if (socket_) mnl_socket_close(socket_);
}

core::Result<NftSocket> NftSocket::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!s) return core::internal(std::string("nftables: netlink socket: ") + strerror(errno));
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(s);
    return core::internal(std::string("nftables: bind: ") + strerror(e));
  }
  return NftSocket(s);
}

core::Status NftSocket::commit(const NftBatch& batch) {
  const auto& impl = *batch.impl_;
  if (impl.descriptions.empty()) return core::Ok{};
  // The batch's own messages carry sequence numbers 1..n; begin and end
  // frame them (0 and n + 1).
  char begin[NLMSG_HDRLEN + 64];
  char end[NLMSG_HDRLEN + 64];
  nlmsghdr* b = nftnl_batch_begin(begin, 0);
  nlmsghdr* e = nftnl_batch_end(end, static_cast<uint32_t>(impl.descriptions.size() + 1));
  iovec parts[3] = {{begin, b->nlmsg_len},
                    {const_cast<char*>(impl.buffer.data()), impl.used},
                    {end, e->nlmsg_len}};
  size_t total = b->nlmsg_len + impl.used + e->nlmsg_len;
  int fd = mnl_socket_get_fd(socket_);
  // The kernel refuses a message larger than the socket's send buffer.
  int sndbuf = 0;
  socklen_t length = sizeof sndbuf;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &length) == 0 &&
      static_cast<size_t>(sndbuf) < total + 4096) {
    int wanted = static_cast<int>(total + 65536);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &wanted, sizeof wanted);
  }
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr message{};
  message.msg_name = &kernel;
  message.msg_namelen = sizeof kernel;
  message.msg_iov = parts;
  message.msg_iovlen = 3;
  if (sendmsg(fd, &message, 0) < 0)
    return core::internal(std::string("nftables: send batch: ") + strerror(errno));

  // The kernel handles a batch inside sendmsg(): by now it has queued an
  // error for each message it refused (success is silent, no NLM_F_ACK).
  std::string failure;
  std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE);
  while (true) {
    ssize_t n = recv(fd, reply.data(), reply.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (failure.empty()) failure = std::string("receive: ") + strerror(errno);
      break;
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply.data()); mnl_nlmsg_ok(h, left);
         h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
      if (err->error == 0 || !failure.empty()) continue;
      uint32_t seq = err->msg.nlmsg_seq;
      std::string what = seq >= 1 && seq <= impl.descriptions.size()
                             ? impl.descriptions[seq - 1]
                             : std::string("the transaction");
      failure = what + ": " + strerror(-err->error);
    }
  }
  if (!failure.empty()) return core::internal("nftables: " + failure);
  return core::Ok{};
}

core::Result<std::string> NftSocket::dumpRules(NftFamily family, const std::string& table) {
  std::vector<char> request(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* h = nftnl_nlmsg_build_hdr(request.data(), NFT_MSG_GETRULE,
                                      static_cast<uint16_t>(family), NLM_F_DUMP, 1);
  Owned<nftnl_rule, freeRule> filter(nftnl_rule_alloc());
  nftnl_rule_set_str(filter.ptr, NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_nlmsg_build_payload(h, filter.ptr);
  if (mnl_socket_sendto(socket_, h, h->nlmsg_len) < 0)
    return core::internal(std::string("nftables: dump: ") + strerror(errno));
  std::string out;
  std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE * 4);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_, reply.data(), reply.size());
    if (n < 0) return core::internal(std::string("nftables: dump: ") + strerror(errno));
    int left = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(reply.data()); mnl_nlmsg_ok(m, left);
         m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_type == NLMSG_DONE) return out;
      if (m->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
        if (err->error != 0)
          return core::internal(std::string("nftables: dump: ") + strerror(-err->error));
        continue;
      }
      Owned<nftnl_rule, freeRule> rule(nftnl_rule_alloc());
      if (nftnl_rule_nlmsg_parse(m, rule.ptr) < 0)
        return core::internal("nftables: bad rule in dump");
      nftnl_rule_unset(rule.ptr, NFTNL_RULE_HANDLE);
      nftnl_rule_unset(rule.ptr, NFTNL_RULE_POSITION);
      char line[8192];
      nftnl_rule_snprintf(line, sizeof line, rule.ptr, NFTNL_OUTPUT_DEFAULT, 0);
      // libnftnl puts each expression on a line of its own: one line a rule.
      std::string text = line;
      for (char& c : text)
        if (c == '\n') c = ' ';
      out += text + "\n";
    }
  }
}

}  // namespace podnet::net
