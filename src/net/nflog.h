// nfnetlink_log: the packets nftables rules send to an nflog group (`log
// group N`), read from a netlink socket bound to that group, in the network
// namespace of the thread that opened it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/result.h"

struct mnl_socket;

namespace podnet::net {

struct LoggedPacket {
  std::string prefix;  // the rule's log prefix
  core::IpAddress source, destination;
  uint8_t protocol = 0;                          // IP protocol number
  uint16_t sourcePort = 0, destinationPort = 0;  // TCP, UDP, SCTP; 0 otherwise
  std::chrono::system_clock::time_point time;    // the kernel's timestamp, else when read
};

// One NFULNL_MSG_PACKET message (netlink header included) -> the packet, or
// nullopt when it is not one or is malformed. Every length is checked: the
// bytes come from the kernel, but a fuzzer feeds this too.
std::optional<LoggedPacket> parseNflogMessage(const uint8_t* data, size_t length);
// The IPv4/IPv6 header and ports of a packet's first bytes.
bool parsePacketHeaders(const uint8_t* data, size_t length, LoggedPacket& out);

class NflogReader {
 public:
  // Binds `group` (copying at most `copyBytes` of each packet), delivering
  // each packet at once rather than in batches.
  static core::Result<NflogReader> open(uint16_t group, uint32_t copyBytes = 128);
  NflogReader(NflogReader&&) noexcept;
  NflogReader& operator=(NflogReader&&) noexcept;
  ~NflogReader();

  // Waits up to `timeout` for packets and returns what arrived (possibly
  // nothing). Packets the socket had no room for are lost, not an error.
  core::Result<std::vector<LoggedPacket>> read(std::chrono::milliseconds timeout);

 private:
  explicit NflogReader(mnl_socket* socket) : socket_(socket) {}
  mnl_socket* socket_ = nullptr;
};

}  // namespace podnet::net
