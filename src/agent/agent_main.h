// `podnet agent`: the node agent process (registration, pods, node network).
#pragma once

#include <string>
#include <vector>

namespace podnet::agent {

// `args` excludes "podnet agent".
int runAgentMain(const std::vector<std::string>& args);

}  // namespace podnet::agent
