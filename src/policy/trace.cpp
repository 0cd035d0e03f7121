#include "policy/trace.h"

namespace podnet::policy {

namespace {

// A set holds `key` when some element's ranges cover it (exact elements
// have first == last).
bool covers(const std::set<Element>& set, const std::array<uint32_t, 3>& key) {
  for (const auto& e : set) {
    bool all = true;
    for (size_t i = 0; i < 3 && all; ++i) all = e.first[i] <= key[i] && key[i] <= e.last[i];
    if (all) return true;
  }
  return false;
}

// A chain ingress-<id> / egress-<id>: true when some rule returns (allows).
bool check(const Program& program, size_t d, uint32_t id, const TracePacket& p,
           std::vector<std::string>& steps) {
  std::string chain = chainName(d, id);
  if (p.saddr == p.daddr && program.localPods.count(p.saddr)) {
    steps.push_back(chain + ": self");
    return true;
  }
  auto it = program.chains[d].find(id);
  if (it == program.chains[d].end()) {
    steps.push_back(chain + ": no such chain");
    return false;
  }
  const ChainSets& sets = it->second;
  uint32_t peer = d == 0 ? p.saddr : p.daddr;
  struct Probe {
    SetKind kind;
    std::array<uint32_t, 3> key;
  };
  for (const Probe& probe :
       {Probe{SetKind::peers, {peer, 0, 0}}, Probe{SetKind::protocols, {peer, p.protocol, 0}},
        Probe{SetKind::ports, {peer, p.protocol, p.dport}},
        Probe{SetKind::portRanges, {peer, p.protocol, p.dport}},
        Probe{SetKind::cidrs, {peer, p.protocol, p.dport}}}) {
    if (covers(sets.sets[static_cast<size_t>(probe.kind)], probe.key)) {
      steps.push_back(setName(d, id, probe.kind));
      return true;
    }
  }
  // The peer groups the chain uses, each with the ports it allows.
  for (const auto& e : sets.sets[static_cast<size_t>(SetKind::groupPorts)]) {
    uint32_t group = e.first[0];
    auto members = program.groups.find(group);
    if (members == program.groups.end() || !members->second.count(peer)) continue;
    if (e.first[1] <= p.protocol && p.protocol <= e.last[1] && e.first[2] <= p.dport &&
        p.dport <= e.last[2]) {
      steps.push_back(chain + ": " + groupSetName(group));
      return true;
    }
  }
  steps.push_back(chain + ": drop");
  return false;
}

}  // namespace

TraceResult tracePacket(const Program& program, const TracePacket& packet, TraceHook hook) {
  TraceResult result;
  if (packet.established) {
    result.steps.push_back("established: accept");
    return result;
  }
  auto egress = program.dispatch[1].find(packet.saddr);
  if (egress != program.dispatch[1].end() &&
      !check(program, 1, egress->second, packet, result.steps)) {
    result.accepted = false;
    return result;
  }
  if (hook == TraceHook::forward) {
    auto ingress = program.dispatch[0].find(packet.daddr);
    if (ingress != program.dispatch[0].end() &&
        !check(program, 0, ingress->second, packet, result.steps)) {
      result.accepted = false;
      return result;
    }
  }
  return result;
}

}  // namespace podnet::policy
