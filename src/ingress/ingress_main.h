// `podnet ingress`: the Ingress controller and its proxy (flags, signals).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "ingress/routes.h"

namespace podnet::ingress {

int runIngressMain(const std::vector<std::string>& args);

// The objects of a JSON/YAML file (a List, several documents) sorted into
// route inputs by kind; other kinds are ignored.
core::Result<RouteInputs> loadRouteInputs(const std::string& path);

}  // namespace podnet::ingress
