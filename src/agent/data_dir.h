// The agent's data dir is private to root: IPAM records, pod sandboxes,
// container logs, the node's key. What pods see through it keeps the modes
// the pod asked for: its volumes (the ConfigMap, Secret and token files a
// non-root container reads, emptyDirs open to every user), local
// PersistentVolumes, and the hosts and resolv.conf mounted over /etc.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace podnet::agent {

// Whether `relative` (a path under the data dir) is the pods' own: it and
// everything under it keep their modes.
bool isPodFacing(std::string_view relative);

// Creates the data dir 0700 whatever the umask and takes group and other
// permissions from what the agent keeps there; the line to log about what
// changed ("" when nothing did).
core::Result<std::string> makeDataDirPrivate(const std::string& dataDir);

}  // namespace podnet::agent
