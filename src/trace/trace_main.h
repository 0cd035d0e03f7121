// `podnet trace`: one real request, from a pod (or the host), explained in
// the seed's five steps (journey.h) from what each node's tracer saw.
#pragma once

#include <string>
#include <vector>

namespace podnet::trace {

int runTraceMain(const std::vector<std::string>& args);

}  // namespace podnet::trace
