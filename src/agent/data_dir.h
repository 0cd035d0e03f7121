// The agent's data dir is private to root: IPAM records, pod sandboxes,
// container logs, the node's key. What pods see through it keeps the modes
// the pod asked for: its volumes (the ConfigMap, Secret and token files a
// non-root container reads, emptyDirs open to every user), local
// PersistentVolumes, and the hosts and resolv.conf mounted over /etc.
#pragma once

#include <string>
#include <string_view>

namespace podnet::agent {

// Whether `relative` (a path under the data dir) is the pods' own: it and
// everything under it keep their modes (core::makePrivateDataDir's
// keepAsIs).
bool isPodFacing(std::string_view relative);

}  // namespace podnet::agent
