// The node-local provisioner (podnet.io/local-path, the `standard` class):
// a claim the scheduler placed on this node (annotation
// volume.kubernetes.io/selected-node) gets a directory DATA/volumes/<pv> and
// a PersistentVolume pvc-<claim uid> (local.path, node affinity to this
// node, the class's reclaim policy) that it is bound to, as
// rancher's local-path-provisioner and the PV controller do together. A
// volume whose claim is gone is deleted with its directory (reclaim policy
// Delete) or marked Released (Retain).
#pragma once

#include <memory>
#include <string>

#include "api/object.h"
#include "client/client.h"
#include "client/informer.h"

namespace podnet::agent {

using Json = nlohmann::json;

// The PersistentVolume for `claim` on `node` at `path` (pure).
Json localVolumeFor(const Json& claim, const std::string& node, const std::string& path,
                    const std::string& storageClass, const std::string& reclaimPolicy);

class LocalVolumes {
 public:
  LocalVolumes(std::string nodeName, std::string dataDir, client::Client& client,
               client::SharedInformers& informers);
  ~LocalVolumes();
  // Provisions, binds and reclaims what is due; called from the agent's loop.
  void sync();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::agent
