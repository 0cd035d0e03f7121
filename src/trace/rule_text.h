// Rule texts by handle, from `nft -a -t list ruleset` output: a trace event
// names a rule only by its handle, so the tracer records the ruleset when it
// arms and prints each rule the packet crossed as nft would.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace podnet::trace {

class RuleTexts {
 public:
  void add(std::string family, std::string table, std::string chain, uint64_t handle,
           std::string text);
  // "" when unknown.
  std::string find(const std::string& family, const std::string& table, const std::string& chain,
                   uint64_t handle) const;
  void merge(const RuleTexts& other);
  size_t size() const { return rules_.size(); }

 private:
  std::map<std::tuple<std::string, std::string, std::string, uint64_t>, std::string> rules_;
};

// Parses nft's listing with handles ("... # handle N" after each rule).
RuleTexts parseRuleTexts(std::string_view listing);

// NFPROTO_* as nft spells the family: "ip", "ip6", "inet", "arp", "bridge",
// "netdev".
std::string familyName(uint8_t family);

}  // namespace podnet::trace
