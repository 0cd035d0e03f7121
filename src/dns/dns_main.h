// `podnet dns`: the cluster DNS server (flags, the zone source, signals).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dns/zone.h"

namespace podnet::dns {

int runDnsMain(const std::vector<std::string>& args);

// The objects of a JSON or YAML file: a List (items), several documents, or
// single objects; each sorted by kind into ClusterObjects. Unknown kinds are
// ignored; an unreadable file is an error.
core::Result<ClusterObjects> loadObjectsFile(const std::string& path);
core::Result<ClusterObjects> parseObjects(std::string_view text);

}  // namespace podnet::dns
