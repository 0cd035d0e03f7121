// storage.k8s.io/v1 types (k8s.io/api/storage/v1 types.go and generated.proto,
// v1.32): StorageClass, with the core/v1 TopologySelectorTerm of its
// allowedTopologies (only StorageClass uses it); and coordination.k8s.io/v1
// Lease (k8s.io/api/coordination/v1), the record leader election keeps.
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace {

struct StorageTypes {
  Message storageClass{"io.k8s.api.storage.v1.StorageClass", {}};
  Message topologySelectorTerm{"io.k8s.api.core.v1.TopologySelectorTerm", {}};
  Message topologySelectorLabelRequirement{"io.k8s.api.core.v1.TopologySelectorLabelRequirement",
                                           {}};
  Message lease{"io.k8s.api.coordination.v1.Lease", {}};
  Message leaseSpec{"io.k8s.api.coordination.v1.LeaseSpec", {}};
  StorageTypes();
};

StorageTypes::StorageTypes() {
  const MetaTypes& m = meta();
  storageClass.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("provisioner", 2),
      F("parameters", 3).map(),
      F("reclaimPolicy", 4),
      F("mountOptions", 5).list().atomic(),
      F("allowVolumeExpansion", 6, Type::Bool),
      F("volumeBindingMode", 7),
      F("allowedTopologies", 8, topologySelectorTerm).list().atomic(),
  };
  topologySelectorTerm.fields = {
      F("matchLabelExpressions", 1, topologySelectorLabelRequirement).list().atomic(),
  };
  topologySelectorLabelRequirement.fields = {F("key", 1), F("values", 2).list().atomic()};
  lease.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, leaseSpec),
  };
  leaseSpec.fields = {
      F("holderIdentity", 1),
      F("leaseDurationSeconds", 2, Type::Int32),
      F("acquireTime", 3, Type::MicroTime),
      F("renewTime", 4, Type::MicroTime),
      F("leaseTransitions", 5, Type::Int32),
      F("strategy", 6),
      F("preferredHolder", 7),
  };
}

const StorageTypes& storage() {
  static const StorageTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

}  // namespace

void storageKinds(std::vector<KindSchema>& out) {
  out.push_back({"storage.k8s.io", "v1", "StorageClass", &storage().storageClass, true});
  out.push_back({"coordination.k8s.io", "v1", "Lease", &storage().lease, true});
}

// clang-format on

}  // namespace podnet::api::schema::detail
