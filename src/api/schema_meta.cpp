// meta.k8s.io/v1 types (k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto),
// the envelope kinds (DeleteOptions, Status, autoscaling/v1 Scale) and the
// lookups of schema.h.
#include <mutex>

#include "api/resource.h"
#include "api/schema_tables.h"

namespace podnet::api::schema {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace detail {

MetaTypes::MetaTypes() {
  objectMeta.fields = {
      F("name", 1),
      F("generateName", 2),
      F("namespace", 3),
      F("selfLink", 4),
      F("uid", 5),
      F("resourceVersion", 6),
      F("generation", 7, Type::Int64),
      F("creationTimestamp", 8, Type::Time),
      F("deletionTimestamp", 9, Type::Time),
      F("deletionGracePeriodSeconds", 10, Type::Int64),
      F("labels", 11).map(),
      F("annotations", 12).map(),
      F("ownerReferences", 13, ownerReference).list().merge("uid").mapKeys({"uid"}),
      F("finalizers", 14).list().merge().set(),
      F("managedFields", 17, managedFieldsEntry).list().atomic(),
  };
  listMeta.fields = {
      F("selfLink", 1),
      F("resourceVersion", 2),
      F("continue", 3),
      F("remainingItemCount", 4, Type::Int64),
  };
  ownerReference.fields = {
      F("kind", 1),
      F("name", 3),
      F("uid", 4),
      F("apiVersion", 5),
      F("controller", 6, Type::Bool),
      F("blockOwnerDeletion", 7, Type::Bool),
  };
  managedFieldsEntry.fields = {
      F("manager", 1),
      F("operation", 2),
      F("apiVersion", 3),
      F("time", 4, Type::Time),
      F("fieldsType", 6),
      // FieldsV1 is a JSON document of its own ("f:spec": {...}).
      F("fieldsV1", 7, Type::Any),
      F("subresource", 8),
  };
  labelSelector.fields = {
      F("matchLabels", 1).map(),
      F("matchExpressions", 2, labelSelectorRequirement).list().atomic(),
  };
  labelSelectorRequirement.fields = {
      F("key", 1),
      F("operator", 2),
      F("values", 3).list().atomic(),
  };
  condition.fields = {
      F("type", 1),
      F("status", 2),
      F("observedGeneration", 3, Type::Int64),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };
  preconditions.fields = {
      F("uid", 1),
      F("resourceVersion", 2),
  };
  deleteOptions.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("gracePeriodSeconds", 1, Type::Int64),
      F("preconditions", 2, this->preconditions),
      F("orphanDependents", 3, Type::Bool),
      F("propagationPolicy", 4),
      F("dryRun", 5).list().atomic(),
      F("ignoreStoreReadErrorWithClusterBreakingPotential", 6, Type::Bool),
  };
  status.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, listMeta),
      F("status", 2),
      F("message", 3),
      F("reason", 4),
      F("details", 5, statusDetails),
      F("code", 6, Type::Int32),
  };
  statusDetails.fields = {
      F("name", 1),
      F("group", 2),
      F("kind", 3),
      F("uid", 6),
      F("causes", 4, statusCause).list().atomic(),
      F("retryAfterSeconds", 5, Type::Int32),
  };
  statusCause.fields = {
      F("reason", 1),
      F("message", 2),
      F("field", 3),
  };
}

const MetaTypes& meta() {
  static const MetaTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

namespace {

// autoscaling/v1 Scale: what the scale subresource reads and writes.
struct AutoscalingTypes {
  Message scale{"io.k8s.api.autoscaling.v1.Scale", {}};
  Message scaleSpec{"io.k8s.api.autoscaling.v1.ScaleSpec", {}};
  Message scaleStatus{"io.k8s.api.autoscaling.v1.ScaleStatus", {}};
  AutoscalingTypes() {
    scale.fields = {
        typeMetaKind(),
        typeMetaApiVersion(),
        F("metadata", 1, meta().objectMeta),
        F("spec", 2, scaleSpec),
        F("status", 3, scaleStatus),
    };
    scaleSpec.fields = {F("replicas", 1, Type::Int32)};
    scaleStatus.fields = {F("replicas", 1, Type::Int32), F("selector", 2)};
  }
};

const AutoscalingTypes& autoscaling() {
  static const AutoscalingTypes types;
  return types;
}

}  // namespace

void envelopeKinds(std::vector<KindSchema>& out) {
  out.push_back({"meta.k8s.io", "v1", "DeleteOptions", &meta().deleteOptions, false});
  out.push_back({"meta.k8s.io", "v1", "Status", &meta().status, false});
  out.push_back({"autoscaling", "v1", "Scale", &autoscaling().scale, false});
}

}  // namespace detail

const Field* Message::field(std::string_view json) const {
  for (const Field& candidate : fields) {
    if (candidate.inlined) {
      if (candidate.message)
        if (const Field* found = candidate.message->field(json)) return found;
      continue;
    }
    if (candidate.json == json) return &candidate;
  }
  return nullptr;
}

const Field* Message::fieldByProto(int number) const {
  if (number <= 0) return nullptr;
  for (const Field& candidate : fields)
    if (candidate.proto == number) return &candidate;
  return nullptr;
}

const std::vector<KindSchema>& allKinds() {
  static const std::vector<KindSchema> kinds = [] {
    std::vector<KindSchema> out;
    detail::coreKinds(out);
    detail::networkingKinds(out);
    detail::storageKinds(out);
    detail::appsKinds(out);
    detail::batchKinds(out);
    detail::apiextensionsKinds(out);
    detail::envelopeKinds(out);
    detail::bindingKind(out);
    detail::tokenRequestKind(out);
    return out;
  }();
  return kinds;
}

const Message* forKind(std::string_view apiVersion, std::string_view kind) {
  std::string_view group;
  std::string_view version = apiVersion;
  if (size_t slash = apiVersion.find('/'); slash != std::string_view::npos) {
    group = apiVersion.substr(0, slash);
    version = apiVersion.substr(slash + 1);
  }
  for (const KindSchema& entry : allKinds()) {
    if (entry.kind != kind || entry.version != version) continue;
    if (entry.group == group) return entry.message;
    // DeleteOptions and Status are sent as "v1" as often as "meta.k8s.io/v1".
    if (entry.group == "meta.k8s.io" && group.empty()) return entry.message;
  }
  // A custom resource: the shape compiled from its CRD's schema.
  if (const ResourceInfo* custom = findKind(apiVersion, kind); custom && custom->message)
    return custom->message;
  return nullptr;
}

const Message& objectMeta() { return detail::meta().objectMeta; }
const Message& listMeta() { return detail::meta().listMeta; }

// clang-format on

}  // namespace podnet::api::schema
