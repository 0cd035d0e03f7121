#include "agent/agent_main.h"

#include <cstdio>

namespace podnet::agent {
int runAgentMain(const std::vector<std::string>&) {
  std::fputs("podnet agent: not built yet\n", stderr);
  return 1;
}
}  // namespace podnet::agent
