#include "proxy/trace.h"

#include "core/ip.h"

namespace podnet::proxy {

namespace {

bool inAny(const std::string& address, const std::vector<std::string>& values) {
  auto ip = core::IpAddress::parse(address);
  for (const auto& v : values) {
    if (v == address) return true;
    auto cidr = core::Cidr::parse(v);
    if (ip && cidr && cidr->contains(*ip)) return true;
  }
  return false;
}

struct Tracer {
  const ProgramState& program;
  Packet packet;
  AffinityState* affinity;
  std::function<size_t(size_t)> pick;
  Trace result;
  bool done = false;  // a terminal verdict or a dnat ended evaluation

  bool matches(const Condition& c) const {
    switch (c.match) {
      case Match::saddrIn:
        return inAny(packet.saddr, c.values);
      case Match::saddrNotIn:
        return !inAny(packet.saddr, c.values);
      case Match::daddrIs:
        return packet.daddr == c.values.at(0);
      case Match::saddrLocal:
        return packet.localAddresses.count(packet.saddr) > 0;
      case Match::inAffinity:
        return affinity && (*affinity)[c.values.at(0)].count(packet.saddr) > 0;
      case Match::oneIn:  // only in kernel rules; the program has the whole choice
        return true;
    }
    return false;
  }

  // Runs a chain; returns when it ends (end of chain or a terminal verdict).
  void run(const std::string& name, int depth = 0) {
    const Chain* chain = program.chain(name);
    result.chains.push_back(name);
    if (!chain || depth > 16) return;
    for (const auto& rule : *chain) {
      bool all = true;
      for (const auto& c : rule.conditions) all = all && matches(c);
      if (!all) continue;
      switch (rule.action) {
        case Action::jump:
          run(rule.target, depth + 1);
          if (done) return;
          break;
        case Action::gotoChain:
          run(rule.target, depth + 1);
          return;
        case Action::drop:
          result.verdict = Verdict::drop;
          done = true;
          return;
        case Action::reject:
          result.verdict = Verdict::reject;
          done = true;
          return;
        case Action::markMasquerade:
          result.masquerade = true;
          break;
        case Action::updateAffinity:
          if (affinity) (*affinity)[rule.target].insert(packet.saddr);
          break;
        case Action::randomGoto: {
          size_t i = pick ? pick(rule.chains.size()) % rule.chains.size() : 0;
          run(rule.chains[i], depth + 1);
          return;
        }
        case Action::dnat: {
          if (rule.protocol != packet.protocol) break;
          result.candidates = rule.targets;
          size_t i = pick ? pick(rule.targets.size()) % rule.targets.size() : 0;
          result.dnat = true;
          result.destination = rule.targets[i];
          done = true;  // NAT rules end with the translation (accept)
          return;
        }
      }
    }
  }

  // A verdict map entry "goto chain", "drop" or "goto reject-chain".
  void follow(const std::string& verdict) {
    if (verdict == "drop") {
      result.verdict = Verdict::drop;
      done = true;
    } else if (verdict == std::string("goto ") + kRejectChain) {
      result.verdict = Verdict::reject;
      done = true;
    } else if (verdict.rfind("goto ", 0) == 0) {
      run(verdict.substr(5));
    }
  }
};

}  // namespace

Trace tracePacket(const ProgramState& program, const Packet& packet, AffinityState* affinity,
                  const std::function<size_t(size_t)>& pick) {
  Tracer t{program, packet, affinity, pick, {}, false};
  std::string key = packet.daddr + " . " + packet.protocol + " . " + std::to_string(packet.dport);
  std::string portKey = packet.protocol + " . " + std::to_string(packet.dport);
  bool toNode = packet.localAddresses.count(packet.daddr) > 0 &&
                packet.daddr.rfind("127.", 0) != 0 && packet.daddr != "::1";
  // filter, dstnat - 10: new connections to Services without endpoints.
  if (auto v = program.lookup(kNoEndpointServices, key)) {
    t.follow(*v);
  } else if (toNode) {
    if (auto v = program.lookup(kNoEndpointNodePorts, portKey)) t.follow(*v);
  }
  if (t.done) return t.result;
  // nat, dstnat: the service dispatch.
  if (auto v = program.lookup(kServiceIps, key)) {
    t.follow(*v);
  } else if (toNode) {
    if (auto v = program.lookup(kServiceNodePorts, portKey)) t.follow(*v);
  }
  if (t.result.verdict != Verdict::accept) return t.result;
  // nat, srcnat: hairpin connections are masqueraded too.
  if (t.result.dnat && program.contains(kHairpin, packet.saddr + " . " + t.result.destination.ip))
    t.result.masquerade = true;
  return t.result;
}

}  // namespace podnet::proxy
