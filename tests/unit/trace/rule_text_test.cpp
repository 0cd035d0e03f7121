#include "trace/rule_text.h"

#include <gtest/gtest.h>

namespace podnet::trace {
namespace {

// `nft -a -t list ruleset` as nft 1.0.6 prints it.
constexpr const char* kListing = R"(table ip podnet-proxy { # handle 5
	map service-ips { # handle 3
		type ipv4_addr . inet_proto . inet_service : verdict
	}
	chain services { # handle 10
		ip daddr . meta l4proto . th dport vmap @service-ips # handle 11
	}
	chain service-XCJPUPRO-default/app-service/tcp/ { # handle 64
		ip daddr 10.106.252.154 ip saddr != 10.244.0.0/16 jump mark-for-masquerade # handle 95
		numgen random mod 3 0 meta l4proto tcp dnat to 10.244.0.3:3000 # handle 96
	}
	chain nat-prerouting { # handle 12
		type nat hook prerouting priority dstnat; policy accept;
		jump services # handle 13
	}
}
table inet filter { # handle 7
	set allowed { # handle 2
		type ipv4_addr
		elements = { 10.0.0.1 }
	}
	chain input { # handle 1
		type filter hook input priority filter; policy drop;
		ip saddr { 10.0.0.2, 10.0.0.3 } accept # handle 4
	}
}
)";

TEST(RuleTexts, RulesByFamilyTableChainAndHandle) {
  RuleTexts rules = parseRuleTexts(kListing);
  EXPECT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules.find("ip", "podnet-proxy", "services", 11),
            "ip daddr . meta l4proto . th dport vmap @service-ips");
  EXPECT_EQ(rules.find("ip", "podnet-proxy", "service-XCJPUPRO-default/app-service/tcp/", 96),
            "numgen random mod 3 0 meta l4proto tcp dnat to 10.244.0.3:3000");
  EXPECT_EQ(rules.find("ip", "podnet-proxy", "nat-prerouting", 13), "jump services");
  EXPECT_EQ(rules.find("inet", "filter", "input", 4), "ip saddr { 10.0.0.2, 10.0.0.3 } accept");
  // Sets, chains and tables have handles too, but are not rules.
  EXPECT_EQ(rules.find("ip", "podnet-proxy", "services", 10), "");
  EXPECT_EQ(rules.find("inet", "filter", "allowed", 2), "");
  EXPECT_EQ(rules.find("ip6", "podnet-proxy", "services", 11), "");
}

TEST(RuleTexts, MergeKeepsTheNewerText) {
  RuleTexts a = parseRuleTexts(kListing);
  RuleTexts b;
  b.add("ip", "podnet-proxy", "services", 99, "meta l4proto tcp accept");
  a.merge(b);
  EXPECT_EQ(a.find("ip", "podnet-proxy", "services", 99), "meta l4proto tcp accept");
  EXPECT_EQ(familyName(2), "ip");
  EXPECT_EQ(familyName(10), "ip6");
  EXPECT_EQ(familyName(1), "inet");
}

TEST(RuleTexts, GarbageIsNoRules) {
  EXPECT_EQ(parseRuleTexts("}}}\n{ # handle x\nchain c {\n  accept # handle 3\n").size(), 0u);
}

}  // namespace
}  // namespace podnet::trace
