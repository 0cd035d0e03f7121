// Conntrack entries through ctnetlink (libmnl): the service proxy deletes the
// UDP flows that still point at an endpoint which stopped serving, or
// clients keep sending into the void (kubernetes#19029, #125467).
#pragma once

#include <string>
#include <vector>

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

}  // namespace podnet::net
