// Conntrack entries through ctnetlink (libmnl): the service proxy deletes the
// UDP flows that still point at an endpoint which stopped serving, or
// clients keep sending into the void (kubernetes#19029, #125467).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/result.h"

namespace podnet::net {

// A UDP flow to delete: original destination `frontendIp` (empty: any
// address, for NodePorts) and port, now translated to `endpointIp`.
struct UdpFlowFilter {
  std::string frontendIp;
  int frontendPort = 0;
  std::string endpointIp;
};

// Deletes the matching UDP entries of the calling thread's network namespace
// (IPv4 and IPv6). Returns how many were deleted.
core::Result<int> deleteUdpFlows(const std::vector<UdpFlowFilter>& filters);

struct ConntrackTuple {
  core::IpAddress source, destination;
  uint8_t protocol = 0;
  uint16_t sourcePort = 0, destinationPort = 0;
};

// One connection as conntrack holds it: the tuple of the first packet and
// the one its replies carry (the endpoint behind a DNAT, the masquerade
// address behind a SNAT).
struct ConntrackEntry {
  ConntrackTuple original, reply;
  uint32_t status = 0;  // IPS_* bits (IPS_SRC_NAT, IPS_DST_NAT, IPS_SEEN_REPLY, ...)
};

// The calling thread's network namespace's entries whose first packet had
// `protocol` and source port `sourcePort` (the port `podnet trace` pins).
core::Result<std::vector<ConntrackEntry>> findConntrackEntries(uint8_t protocol,
                                                               uint16_t sourcePort);

}  // namespace podnet::net
