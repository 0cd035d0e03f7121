#include "trace/rule_text.h"

#include <charconv>
#include <vector>

namespace podnet::trace {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits "text # handle N" into text and N; false without a handle.
bool splitHandle(std::string_view line, std::string_view& text, uint64_t& handle) {
  size_t at = line.rfind(" # handle ");
  if (at == std::string_view::npos) return false;
  std::string_view number = line.substr(at + 10);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), handle);
  if (ec != std::errc()) return false;
  text = trim(line.substr(0, at));
  return true;
}

std::string_view word(std::string_view s, size_t index) {
  for (size_t i = 0;; ++i) {
    s = trim(s);
    size_t space = s.find(' ');
    std::string_view w = s.substr(0, space);
    if (i == index) return w;
    if (space == std::string_view::npos) return {};
    s.remove_prefix(space);
  }
}

}  // namespace

void RuleTexts::add(std::string family, std::string table, std::string chain, uint64_t handle,
                    std::string text) {
  rules_[{std::move(family), std::move(table), std::move(chain), handle}] = std::move(text);
}

std::string RuleTexts::find(const std::string& family, const std::string& table,
                            const std::string& chain, uint64_t handle) const {
  auto it = rules_.find({family, table, chain, handle});
  return it == rules_.end() ? std::string() : it->second;
}

void RuleTexts::merge(const RuleTexts& other) {
  for (const auto& [key, text] : other.rules_) rules_[key] = text;
}

RuleTexts parseRuleTexts(std::string_view listing) {
  RuleTexts out;
  std::string family, table, chain;
  // What each open block is: 't'able, 'c'hain or 'o'ther (set, map, ...).
  std::vector<char> blocks;
  while (!listing.empty()) {
    size_t newline = listing.find('\n');
    std::string_view line = trim(listing.substr(0, newline));
    listing.remove_prefix(newline == std::string_view::npos ? listing.size() : newline + 1);
    if (line.empty()) continue;
    if (line == "}") {
      if (!blocks.empty()) {
        if (blocks.back() == 'c') chain.clear();
        if (blocks.back() == 't') table.clear();
        blocks.pop_back();
      }
      continue;
    }
    std::string_view text;
    uint64_t handle = 0;
    bool hasHandle = splitHandle(line, text, handle);
    std::string_view body = hasHandle ? text : line;
    bool opens = !body.empty() && body.back() == '{';
    if (opens) {
      std::string_view kind = word(body, 0);
      if (kind == "table" && blocks.empty()) {
        family = std::string(word(body, 1));
        table = std::string(word(body, 2));
        blocks.push_back('t');
      } else if (kind == "chain" && blocks.size() == 1) {
        chain = std::string(word(body, 1));
        blocks.push_back('c');
      } else {
        blocks.push_back('o');
      }
      continue;
    }
    if (hasHandle && !blocks.empty() && blocks.back() == 'c' && !chain.empty())
      out.add(family, table, chain, handle, std::string(text));
  }
  return out;
}

std::string familyName(uint8_t family) {
  switch (family) {
    case 1:
      return "inet";
    case 2:
      return "ip";
    case 3:
      return "arp";
    case 5:
      return "netdev";
    case 7:
      return "bridge";
    case 10:
      return "ip6";
    default:
      return std::to_string(family);
  }
}

}  // namespace podnet::trace
