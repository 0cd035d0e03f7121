#include "policy/trace.h"

#include <optional>

namespace podnet::policy {

namespace {

std::optional<uint32_t> identity(const Program& program, uint32_t ip) {
  auto it = program.identities.find(ip);
  if (it == program.identities.end()) return std::nullopt;
  return it->second;
}

bool inSet(const std::set<Element>& set, const Element& probe) { return set.count(probe) > 0; }

// An interval set holds `probe` when some element's ranges cover it.
bool inIntervals(const std::set<Element>& set, const std::array<uint32_t, 4>& key) {
  for (const auto& e : set) {
    bool all = true;
    for (size_t i = 0; i < 4 && all; ++i) all = e.first[i] <= key[i] && key[i] <= e.last[i];
    if (all) return true;
  }
  return false;
}

Element exact(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return Element{{a, b, c, d}, {a, b, c, d}}; }

// The egress or ingress chain: true when some rule returns (allows).
bool check(const Program& program, size_t d, const TracePacket& p, std::vector<std::string>& steps) {
  const char* dir = chainName(d);
  if (p.saddr == p.daddr && program.localPods.count(p.saddr)) {
    steps.push_back(std::string(dir) + ": self");
    return true;
  }
  uint32_t localIp = d == 0 ? p.daddr : p.saddr;
  uint32_t peerIp = d == 0 ? p.saddr : p.daddr;
  auto local = identity(program, localIp);
  auto peer = identity(program, peerIp);
  const auto& sets = program.sets[d];
  if (local && peer) {
    if (inSet(sets[size_t(SetKind::peers)], exact(*local, *peer, 0, 0))) {
      steps.push_back(ruleSetName(d, SetKind::peers));
      return true;
    }
    if (inSet(sets[size_t(SetKind::protocols)], exact(*local, *peer, p.protocol, 0))) {
      steps.push_back(ruleSetName(d, SetKind::protocols));
      return true;
    }
    if (inSet(sets[size_t(SetKind::ports)], exact(*local, *peer, p.protocol, p.dport))) {
      steps.push_back(ruleSetName(d, SetKind::ports));
      return true;
    }
    if (inIntervals(sets[size_t(SetKind::portRanges)], {*local, *peer, p.protocol, p.dport})) {
      steps.push_back(ruleSetName(d, SetKind::portRanges));
      return true;
    }
  }
  if (local && inIntervals(sets[size_t(SetKind::cidrs)], {*local, peerIp, p.protocol, p.dport})) {
    steps.push_back(ruleSetName(d, SetKind::cidrs));
    return true;
  }
  steps.push_back(std::string(dir) + ": drop");
  return false;
}

}  // namespace

TraceResult tracePacket(const Program& program, const TracePacket& packet, TraceHook hook) {
  TraceResult result;
  if (packet.established) {
    result.steps.push_back("established: accept");
    return result;
  }
  if (program.isolated[1].count(packet.saddr) && !check(program, 1, packet, result.steps)) {
    result.accepted = false;
    return result;
  }
  if (hook == TraceHook::forward && program.isolated[0].count(packet.daddr) &&
      !check(program, 0, packet, result.steps)) {
    result.accepted = false;
    return result;
  }
  return result;
}

}  // namespace podnet::policy
