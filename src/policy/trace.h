// Test helper: follows one packet through a node's policy Program as the
// kernel's chains would (program.h has them), so the compiler's output is
// checked without root, and against the evaluator, on any input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/program.h"

namespace podnet::policy {

struct TracePacket {
  uint32_t saddr = 0, daddr = 0;  // IPv4, host order
  uint8_t protocol = 6;
  uint16_t dport = 0;
  bool established = false;  // conntrack state established or related
};

// forward: routed or bridged through the node; input: to the node itself.
// (Traffic the node sends crosses neither.)
enum class TraceHook { forward, input };

struct TraceResult {
  bool accepted = true;
  std::vector<std::string> steps;  // what matched, in order
};

TraceResult tracePacket(const Program& program, const TracePacket& packet, TraceHook hook);

}  // namespace podnet::policy
