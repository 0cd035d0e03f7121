// The trace event parser against messages laid out as the kernel sends them
// (nf_tables_trace.c): nfgenmsg, then attributes in network byte order.
#include "net/nftrace.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>
#include <vector>

namespace podnet::net {
namespace {

class Message {
 public:
  Message() {
    bytes_.resize(sizeof(nlmsghdr) + sizeof(nfgenmsg));
    nfgenmsg g{};
    g.nfgen_family = NFPROTO_IPV4;
    std::memcpy(bytes_.data() + sizeof(nlmsghdr), &g, sizeof g);
  }
  Message& attr(uint16_t type, const void* data, size_t size) {
    nlattr a{uint16_t(sizeof(nlattr) + size), type};
    size_t at = bytes_.size();
    bytes_.resize(at + NLA_ALIGN(a.nla_len));
    std::memcpy(bytes_.data() + at, &a, sizeof a);
    std::memcpy(bytes_.data() + at + sizeof a, data, size);
    return *this;
  }
  Message& str(uint16_t type, const std::string& s) { return attr(type, s.c_str(), s.size() + 1); }
  Message& u32(uint16_t type, uint32_t v) {
    v = htonl(v);
    return attr(type, &v, 4);
  }
  Message& nested(uint16_t type, const Message& inner) {
    size_t skip = sizeof(nlmsghdr) + sizeof(nfgenmsg);
    return attr(type | NLA_F_NESTED, inner.bytes_.data() + skip, inner.bytes_.size() - skip);
  }
  std::vector<uint8_t> finish() {
    nlmsghdr h{};
    h.nlmsg_len = uint32_t(bytes_.size());
    h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE;
    std::memcpy(bytes_.data(), &h, sizeof h);
    return bytes_;
  }

 private:
  std::vector<uint8_t> bytes_;
};

TEST(NftTrace, ARuleEventWithThePacket) {
  uint64_t handle = 0;
  uint8_t handleBytes[8] = {0, 0, 0, 0, 0, 0, 0, 42};
  std::memcpy(&handle, handleBytes, 8);
  uint8_t ip[20] = {0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 244, 0, 5, 10, 96, 0, 50};
  uint8_t tcp[20] = {0x5d, 0xc0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02};
  Message verdict;
  verdict.u32(NFTA_VERDICT_CODE, uint32_t(NFT_GOTO)).str(NFTA_VERDICT_CHAIN, "service-X");
  auto bytes = Message()
                   .str(NFTA_TRACE_TABLE, "podnet-proxy")
                   .str(NFTA_TRACE_CHAIN, "services")
                   .attr(NFTA_TRACE_RULE_HANDLE, handleBytes, 8)
                   .u32(NFTA_TRACE_TYPE, NFT_TRACETYPE_RULE)
                   .u32(NFTA_TRACE_ID, 0xdeadbeef)
                   .nested(NFTA_TRACE_VERDICT, verdict)
                   .u32(NFTA_TRACE_IIF, 3)
                   .attr(NFTA_TRACE_NETWORK_HEADER, ip, sizeof ip)
                   .attr(NFTA_TRACE_TRANSPORT_HEADER, tcp, sizeof tcp)
                   .finish();
  auto event = parseNftTraceMessage(bytes.data(), bytes.size());
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->table, "podnet-proxy");
  EXPECT_EQ(event->chain, "services");
  EXPECT_EQ(event->ruleHandle, 42u);
  EXPECT_EQ(event->type, TraceType::rule);
  EXPECT_EQ(event->id, 0xdeadbeefu);
  EXPECT_EQ(verdictName(event->verdict), "goto");
  EXPECT_EQ(event->jumpTarget, "service-X");
  EXPECT_EQ(event->inputInterface, 3u);
  ASSERT_TRUE(event->hasPacket);
  EXPECT_EQ(event->source.toString(), "10.244.0.5");
  EXPECT_EQ(event->destination.toString(), "10.96.0.50");
  EXPECT_EQ(event->sourcePort, 24000);
  EXPECT_EQ(event->destinationPort, 80);
  EXPECT_EQ(event->tcpFlags, 0x02);
  // Every truncation is refused or parsed, never read past the end.
  for (size_t n = 0; n < bytes.size(); ++n) (void)parseNftTraceMessage(bytes.data(), n);
}

TEST(NftTrace, APolicyEventAndWhatIsNotOne) {
  auto policy = Message()
                    .str(NFTA_TRACE_TABLE, "podnet-policy")
                    .str(NFTA_TRACE_CHAIN, "forward")
                    .u32(NFTA_TRACE_TYPE, NFT_TRACETYPE_POLICY)
                    .u32(NFTA_TRACE_ID, 7)
                    .u32(NFTA_TRACE_POLICY, NF_DROP)
                    .finish();
  auto event = parseNftTraceMessage(policy.data(), policy.size());
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->type, TraceType::policy);
  EXPECT_EQ(verdictName(event->verdict), "drop");
  EXPECT_FALSE(event->hasPacket);
  // No type, no table: not an event.
  auto bare = Message().u32(NFTA_TRACE_ID, 7).finish();
  EXPECT_FALSE(parseNftTraceMessage(bare.data(), bare.size()).has_value());
  auto other =
      Message().str(NFTA_TRACE_TABLE, "t").u32(NFTA_TRACE_TYPE, 3).u32(NFTA_TRACE_ID, 1).finish();
  other[4] = 0;  // another message type
  EXPECT_FALSE(parseNftTraceMessage(other.data(), other.size()).has_value());
}

}  // namespace
}  // namespace podnet::net
