// What `podnet trace` is asked to reach, and how a pod's resolver turns a
// name into the queries it sends: pure, shared by the CLI and the agent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::trace {

struct Target {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  uint16_t port = 0;
  std::string protocol = "tcp";  // "tcp" or "udp"
  bool http = false;             // an http:// URL: one GET of `path`
  std::string path = "/";
  std::string text;  // as the user wrote it
};

// "http://my-service[:80][/path]", "my-service:80", "10.96.0.10:53" (with
// --udp), "[fd00::1]:80". https:// is refused: a trace shows one plain
// request (the TLS handshake would hide the answer).
core::Result<Target> parseTarget(std::string_view text, bool udp);

// The parts of resolv.conf a pod's resolver uses.
struct ResolvConf {
  std::vector<std::string> nameservers;
  std::vector<std::string> search;
  int ndots = 1;
};
ResolvConf parseResolvConf(std::string_view text);

// The names the resolver asks, in order (glibc's and musl's rule): with
// fewer dots than ndots, each search domain first and the name as is last;
// otherwise the name first. A name with a trailing dot is asked as is only.
std::vector<std::string> queryNames(const std::string& name, const ResolvConf& conf);

bool isIpLiteral(const std::string& host);

}  // namespace podnet::trace
