// Probes of the live dataplane for `podnet policy matrix --verify`: a new
// connection from inside a pod's network namespace to an address, as
// upstream's `agnhost connect --timeout=1s` does. A connection accepted or
// refused by the destination (TCP RST, ICMP port unreachable) reached it:
// the policies let it through; silence until the timeout means a drop.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/ip.h"
#include "policy/matrix.h"

namespace podnet::policy {

enum class ProbeOutcome {
  connected,  // answered
  refused,    // reached, nothing listening
  blocked,    // no answer before the timeout
  error,      // could not probe (no such netns, no route, protocol unsupported)
};

struct ProbeTask {
  std::string netnsPath;  // the source pod's network namespace
  core::IpAddress target;
  uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  ProbeOutcome outcome = ProbeOutcome::error;
  std::string detail;  // for error
  bool reached() const {
    return outcome == ProbeOutcome::connected || outcome == ProbeOutcome::refused;
  }
};

// Runs every task, at most `parallel` at a time, each for at most `timeout`.
void runProbes(std::vector<ProbeTask>& tasks, size_t parallel, std::chrono::milliseconds timeout);

}  // namespace podnet::policy
