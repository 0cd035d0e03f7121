// Internal to the schema_*.cpp files: the builders the type tables are
// written with, and the accessors one group's table uses to reach another's
// messages (apps/v1 Deployment embeds core/v1 PodTemplateSpec, every kind
// embeds meta/v1 ObjectMeta).
#pragma once

#include <initializer_list>
#include <string_view>

#include "api/schema.h"

namespace podnet::api::schema::detail {

// A Field under construction: the constructors pick the value type and shape,
// the chained modifiers add patch and list metadata.
struct F {
  Field f;

  F(std::string_view json, int proto, Type type = Type::String) {
    f.json = json;
    f.proto = proto;
    f.type = type;
  }
  F(std::string_view json, int proto, const Message& message) {
    f.json = json;
    f.proto = proto;
    f.type = Type::Message;
    f.message = &message;
  }
  // A JSON array (protobuf repeated).
  F& list() {
    f.shape = Shape::List;
    return *this;
  }
  // A JSON object with string keys (protobuf map<string, T>).
  F& map() {
    f.shape = Shape::Map;
    return *this;
  }
  // patchStrategy=merge (with a merge key for lists of objects).
  F& merge(std::string_view key = {}) {
    f.patchStrategy = "merge";
    f.patchMergeKey = key;
    return *this;
  }
  F& strategy(std::string_view patchStrategy, std::string_view key = {}) {
    f.patchStrategy = patchStrategy;
    f.patchMergeKey = key;
    return *this;
  }
  // x-kubernetes-list-type=map with its keys.
  F& mapKeys(std::initializer_list<std::string_view> keys) {
    f.listType = "map";
    f.listMapKeys.assign(keys.begin(), keys.end());
    return *this;
  }
  F& atomic() {
    f.listType = "atomic";
    return *this;
  }
  F& set() {
    f.listType = "set";
    return *this;
  }
  operator Field() const { return f; }  // NOLINT: the tables read best without casts
};

// A Go embedded struct carried as protobuf field `proto`.
inline Field inlined(int proto, const Message& message) {
  Field field;
  field.proto = proto;
  field.type = Type::Message;
  field.message = &message;
  field.inlined = true;
  return field;
}

// "kind" and "apiVersion" of a top-level object: in JSON, but not protobuf
// fields (the runtime.Unknown envelope carries them).
inline Field typeMetaKind() { return F("kind", 0); }
inline Field typeMetaApiVersion() { return F("apiVersion", 0); }

// meta/v1 (schema_meta.cpp).
struct MetaTypes {
  Message objectMeta{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", {}};
  Message listMeta{"io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta", {}};
  Message ownerReference{"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", {}};
  Message managedFieldsEntry{"io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry", {}};
  Message labelSelector{"io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", {}};
  Message labelSelectorRequirement{"io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
                                   {}};
  Message condition{"io.k8s.apimachinery.pkg.apis.meta.v1.Condition", {}};
  Message preconditions{"io.k8s.apimachinery.pkg.apis.meta.v1.Preconditions", {}};
  Message deleteOptions{"io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", {}};
  Message status{"io.k8s.apimachinery.pkg.apis.meta.v1.Status", {}};
  Message statusDetails{"io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", {}};
  Message statusCause{"io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause", {}};
  MetaTypes();
};
const MetaTypes& meta();

// core/v1 (schema_core.cpp): the messages other groups embed.
struct CoreShared {
  const Message* podTemplateSpec = nullptr;
  const Message* objectReference = nullptr;
  const Message* localObjectReference = nullptr;
  const Message* typedLocalObjectReference = nullptr;
  const Message* portStatus = nullptr;
  // For the claim templates of StatefulSets and ephemeral volumes.
  const Message* persistentVolumeClaim = nullptr;
};
const CoreShared& coreShared();

// Every kind of each group's table, for allKinds().
void coreKinds(std::vector<KindSchema>& out);
void bindingKind(std::vector<KindSchema>& out);  // v1 Binding (an envelope type)
void appsKinds(std::vector<KindSchema>& out);
void batchKinds(std::vector<KindSchema>& out);        // batch/v1 Job, CronJob
void tokenRequestKind(std::vector<KindSchema>& out);  // authentication.k8s.io/v1 (envelope)
void networkingKinds(std::vector<KindSchema>& out);   // networking.k8s.io and discovery.k8s.io
void storageKinds(std::vector<KindSchema>& out);      // storage.k8s.io, coordination.k8s.io
void envelopeKinds(std::vector<KindSchema>& out);     // DeleteOptions, Status, Scale, Binding
// apiextensions.k8s.io (CRDs) and admissionregistration.k8s.io (stored only).
void apiextensionsKinds(std::vector<KindSchema>& out);

}  // namespace podnet::api::schema::detail
