// Follows one packet (the first of a connection) through the program of a
// ProgramState, as the kernel would: the no-endpoint check before NAT, the
// service dispatch, the Service's chains, and masquerading on the way out.
// A test helper (kube-proxy's nftablesTracer does the same in Go): the
// compiler's output is checked for meaning, not for text, without root.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "proxy/program_state.h"

namespace podnet::proxy {

struct Packet {
  std::string saddr;
  std::string daddr;
  std::string protocol = "tcp";
  int dport = 0;
  // The addresses of the node handling the packet (fib ... type local).
  std::set<std::string> localAddresses;
};

enum class Verdict { accept, drop, reject };

struct Trace {
  Verdict verdict = Verdict::accept;
  bool dnat = false;
  DnatTarget destination;              // where the connection went, if dnat
  std::vector<DnatTarget> candidates;  // every endpoint the random choice had
  bool masquerade = false;             // source rewritten to the node's address
  std::vector<std::string> chains;     // chains visited, in order
};

// Dynamic state of affinity sets across traces: set -> client addresses.
using AffinityState = std::map<std::string, std::set<std::string>>;

// `pick(n)` chooses among n random alternatives (default: the first).
Trace tracePacket(const ProgramState& program, const Packet& packet,
                  AffinityState* affinity = nullptr,
                  const std::function<size_t(size_t)>& pick = {});

}  // namespace podnet::proxy
