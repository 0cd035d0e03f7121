// `podnet ingress`: the Ingress controller and its proxy (flags, signals).
#pragma once

#include <string>
#include <vector>

namespace podnet::ingress {

int runIngressMain(const std::vector<std::string>& args);

}  // namespace podnet::ingress
