// The DefaultStorageClass admission plugin: a PersistentVolumeClaim created
// without spec.storageClassName (and without the beta
// volume.beta.kubernetes.io/storage-class annotation) gets the name of the
// default StorageClass, the one annotated
// storageclass.kubernetes.io/is-default-class: "true" (the newest when several
// are, then the first by name). An explicit "" asks for no class and stays "".
#pragma once

#include "registry/registry.h"

namespace podnet::controllers {

class DefaultStorageClass : public registry::AdmissionHook {
 public:
  explicit DefaultStorageClass(client::Client& api) : api_(api) {}
  core::Status admitCreate(const api::ResourceInfo& resource, api::Json& obj) override;

 private:
  client::Client& api_;
};

// The StorageClass `standard` every podnet cluster has, as kind's: the default
// class, provisioned by podnet.io/local-path once a pod uses the claim.
api::Json standardStorageClass();

}  // namespace podnet::controllers
