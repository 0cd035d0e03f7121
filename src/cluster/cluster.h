// `podnet up`, `podnet down`, `podnet exec`: a local multi-node cluster on this
// machine, each node a network namespace on a host bridge running its agent.
#pragma once

#include <string>
#include <vector>

namespace podnet::cluster {

// Each takes the arguments after the subcommand name and returns the exit code.
int runUp(const std::vector<std::string>& args);
int runDown(const std::vector<std::string>& args);
int runExec(const std::vector<std::string>& args);

}  // namespace podnet::cluster
