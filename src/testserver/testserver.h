// The built-in test server: what a container whose image has no host program
// runs (like Kubernetes' agnhost netexec / serve-hostname).
#pragma once

#include <string>
#include <vector>

namespace podnet::testserver {

// `podnet testserver ARGS...`; `args` excludes "podnet testserver".
int runMain(const std::vector<std::string>& args);

}  // namespace podnet::testserver
