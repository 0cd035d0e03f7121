// nftables trace events (NFT_MSG_TRACE on the NFNLGRP_NFTRACE group): what
// the kernel reports for every base chain, rule and verdict a packet with
// `meta nftrace set 1` passes, read in the network namespace of the thread
// that opened the reader. `podnet trace` sets the flag on one connection's
// packets only (a temporary table, see trace/) and reads these events.
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

// NFT_TRACETYPE_*: a rule that matched, the end of a chain (implicit
// return), or a base chain's policy.
enum class TraceType : uint8_t { rule, chainEnd, policy };

struct NftTraceEvent {
  uint32_t id = 0;     // the kernel's id of this packet's pass (not of the connection)
  uint8_t family = 0;  // of the table: NFPROTO_IPV4 (2), NFPROTO_INET (1), ...
  std::string table, chain;
  uint64_t ruleHandle = 0;  // 0: no rule (policy, implicit return)
  TraceType type = TraceType::rule;
  int32_t verdict = 0;     // NF_ACCEPT, NF_DROP, NFT_JUMP, NFT_GOTO, NFT_RETURN, NFT_CONTINUE
  std::string jumpTarget;  // for jump and goto
  uint32_t inputInterface = 0, outputInterface = 0;
  uint32_t mark = 0;
  // The packet's headers, sent with the first event of each base chain.
  bool hasPacket = false;
  core::IpAddress source, destination;
  uint8_t protocol = 0;
  uint16_t sourcePort = 0, destinationPort = 0;
  uint8_t tcpFlags = 0;
};

// "accept", "drop", "jump", "goto", "return", "continue", "break", "queue",
// "stolen", or the number.
std::string verdictName(int32_t verdict);

// One NFT_MSG_TRACE message (netlink header included) -> the event, or
// nullopt when it is not one or is malformed (every length checked; a
// fuzzer feeds this).
std::optional<NftTraceEvent> parseNftTraceMessage(const uint8_t* data, size_t length);

class NftTraceReader {
 public:
  // Joins NFNLGRP_NFTRACE with a large receive buffer.
  static core::Result<NftTraceReader> open();
  NftTraceReader(NftTraceReader&&) noexcept;
  NftTraceReader& operator=(NftTraceReader&&) noexcept;
  ~NftTraceReader();

  // Waits up to `timeout` for events and returns what arrived (possibly
  // nothing).
  core::Result<std::vector<NftTraceEvent>> read(std::chrono::milliseconds timeout);
  // Whether the kernel dropped events for want of room (ENOBUFS) since open.
  bool lostEvents() const { return lost_; }

 private:
  explicit NftTraceReader(mnl_socket* socket) : socket_(socket) {}
  mnl_socket* socket_ = nullptr;
  bool lost_ = false;
};

}  // namespace podnet::net
