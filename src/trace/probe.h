// The traced request itself, made from the calling thread's network
// namespace (the agent runs it inside the pod's; `--from-host` in the
// host's): the name resolved as the pod's resolver would, then one TCP
// connect (and HTTP GET) or UDP datagram from a pinned source port, so the
// kernel's trace rule knows the connection before its first packet.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace podnet::trace {

// {"name", "literal"} for an IP, else {"name", "nameserver", "search",
// "ndots", "queries": [{"name", "type", "rcode", "answers", "aliases", "ms"}],
// "answer", "answeredName"} or {"error"}; `address` gets the answer.
nlohmann::json resolveLikeAPod(const std::string& host, const std::string& resolvConfText,
                               std::string& address);

struct Probe {
  std::string address;  // IPv4
  uint16_t port = 0;
  std::string protocol = "tcp";
  bool http = false;
  std::string host;  // for the Host header
  std::string path = "/";
  uint16_t sourcePort = 0;
  std::chrono::milliseconds timeout{3000};
};

// {"ok", "ms", "connectMs", "status", "statusLine", "bodyStart", ...} or
// {"error", "failure": "refused"|"timeout"|"unreachable"|"other"}.
nlohmann::json connectAndRequest(const Probe& probe);

}  // namespace podnet::trace
