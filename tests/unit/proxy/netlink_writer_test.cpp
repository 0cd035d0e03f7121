// The netlink encoding of transactions, without a kernel: what it refuses.
// (tests/unit/proxy/kernel_test.cpp checks what it sends against nft, rule by
// rule, in throwaway namespaces.)
#include "proxy/netlink_writer.h"

#include <gtest/gtest.h>

namespace podnet::proxy {
namespace {

Transaction withElement(const std::string& set, const std::string& key, const std::string& value) {
  Transaction tx;
  tx.table = "podnet-proxy";
  tx.noteElement(set, key, std::nullopt, value);
  return tx;
}

TEST(ProxyNetlinkEncoding, EveryKindOfKeyAndVerdictEncodes) {
  std::vector<Transaction> txs = {
      withElement(kServiceIps, "10.96.0.5 . tcp . 80", "goto service-x"),
      withElement(kNoEndpointServices, "10.96.0.5 . udp . 53", "drop"),
      withElement(kServiceNodePorts, "sctp . 30080", "goto external-x"),
      withElement(kHairpin, "10.244.1.2 . 10.244.1.2", "")};
  Transaction v6 = withElement(kServiceIps, "fd00:10:96::5 . tcp . 443", "goto service-y");
  v6.family = Family::v6;
  txs.push_back(v6);
  auto batch = encodeTransactions(txs);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  EXPECT_EQ(batch->messages(), txs.size());
}

TEST(ProxyNetlinkEncoding, WhatTheCompilerCannotProduceIsAnErrorNotACrash) {
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"10.96.0.5 . tcp . 99999", "drop"},
                                                        {"10.96.0.5 . icmp . 80", "drop"},
                                                        {"300.1.1.1 . tcp . 80", "drop"},
                                                        {"fd00::1 . tcp . 80", "drop"},
                                                        {"", "drop"},
                                                        {"10.96.0.5 . tcp . 80", "accept-ish"}}) {
    auto batch = encodeTransactions({withElement(kServiceIps, key, value)});
    EXPECT_FALSE(batch.ok()) << key << " : " << value;
  }
  Transaction tx;
  tx.table = "podnet-proxy";
  Rule rule;
  rule.action = Action::dnat;
  rule.protocol = "tcp";
  rule.targets = {{"not-an-ip", 80}};
  tx.rules.emplace_back("c", rule);
  EXPECT_FALSE(encodeTransactions({tx}).ok());
  rule.targets = {{"10.0.0.1", 80}, {"10.0.0.2", 80}};  // a whole choice: kernelRules splits it
  tx.rules = {{"c", rule}};
  EXPECT_FALSE(encodeTransactions({tx}).ok());
}

}  // namespace
}  // namespace podnet::proxy
