// IP addresses and CIDRs (IPv4 and IPv6), parsed with inet_pton and held as
// 16 bytes, so allocators and validation share one representation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podnet::core {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress fromV4(uint32_t hostOrder);
  std::string toString() const;
  uint32_t v4() const;  // host order; only for v4
  size_t bitLength() const { return v6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
  auto operator<=>(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress network;  // host bits cleared
  int prefix = 0;

  // Accepts "10.0.0.0/8". With strict, host bits must be zero (as Kubernetes
  // requires for ipBlock.cidr? no: it accepts them; strict is for except).
  static std::optional<Cidr> parse(std::string_view text);
  std::string toString() const;
  bool contains(const IpAddress& ip) const;
  bool contains(const Cidr& other) const;
  // Number of addresses, saturating at 2^63 for huge ranges.
  uint64_t size() const;
  // The address at `offset` from the network address (v4 and v6).
  IpAddress at(uint64_t offset) const;
  // Offset of `ip` inside this CIDR; requires contains(ip).
  uint64_t offsetOf(const IpAddress& ip) const;
  // The index-th subnet of length `subPrefix` inside this CIDR.
  std::optional<Cidr> subnet(int subPrefix, uint64_t index) const;
  bool operator==(const Cidr&) const = default;
};

}  // namespace podnet::core
