#include "core/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace podnet::core {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  if (s.find(':') == std::string::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    std::memcpy(ip.bytes.data(), &a, 4);
    return ip;
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return std::nullopt;
  ip.v6 = true;
  std::memcpy(ip.bytes.data(), &a, 16);
  return ip;
}

IpAddress IpAddress::fromV4(uint32_t hostOrder) {
  IpAddress ip;
  ip.bytes[0] = hostOrder >> 24;
  ip.bytes[1] = hostOrder >> 16;
  ip.bytes[2] = hostOrder >> 8;
  ip.bytes[3] = hostOrder;
  return ip;
}

uint32_t IpAddress::v4() const {
  return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) |
         bytes[3];
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

static void clearHostBits(IpAddress& ip, int prefix) {
  int bits = int(ip.bitLength());
  for (int i = prefix; i < bits; ++i) ip.bytes[i / 8] &= uint8_t(~(0x80u >> (i % 8)));
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  auto digits = text.substr(slash + 1);
  int prefix = -1;
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  if (prefix < 0 || prefix > int(ip->bitLength())) return std::nullopt;
  Cidr c{*ip, prefix};
  clearHostBits(c.network, prefix);
  return c;
}

std::string Cidr::toString() const { return network.toString() + "/" + std::to_string(prefix); }

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v6 != network.v6) return false;
  IpAddress masked = ip;
  clearHostBits(masked, prefix);
  return masked == network;
}

bool Cidr::contains(const Cidr& other) const {
  return other.prefix >= prefix && contains(other.network);
}

uint64_t Cidr::size() const {
  int hostBits = int(network.bitLength()) - prefix;
  if (hostBits >= 63) return uint64_t(1) << 63;
  return uint64_t(1) << hostBits;
}

IpAddress Cidr::at(uint64_t offset) const {
  IpAddress ip = network;
  int last = int(network.bitLength() / 8) - 1;
  uint64_t carry = offset;
  for (int i = last; i >= 0 && carry; --i) {
    uint64_t sum = uint64_t(ip.bytes[i]) + (carry & 0xff);
    ip.bytes[i] = uint8_t(sum);
    carry = (carry >> 8) + (sum >> 8);
  }
  return ip;
}

uint64_t Cidr::offsetOf(const IpAddress& ip) const {
  uint64_t offset = 0;
  int len = int(network.bitLength() / 8);
  for (int i = std::max(0, len - 8); i < len; ++i)
    offset = (offset << 8) | uint8_t(ip.bytes[i] - 0);
  uint64_t base = 0;
  for (int i = std::max(0, len - 8); i < len; ++i) base = (base << 8) | network.bytes[i];
  return offset - base;
}

std::optional<Cidr> Cidr::subnet(int subPrefix, uint64_t index) const {
  if (subPrefix < prefix || subPrefix > int(network.bitLength())) return std::nullopt;
  int extra = subPrefix - prefix;
  if (extra < 63 && index >= (uint64_t(1) << extra)) return std::nullopt;
  int hostBits = int(network.bitLength()) - subPrefix;
  if (hostBits >= 64) return std::nullopt;  // not needed for podCIDRs
  Cidr c{at(index << hostBits), subPrefix};
  return c;
}

}  // namespace podnet::core
