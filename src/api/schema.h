// The shape of every served API type, field by field: JSON name, protobuf
// field number, value type, and strategic-merge-patch metadata. One table
// drives strict field validation (unknown fields), protobuf decoding of the
// bodies kubectl sends, the /openapi/v3 documents, and strategic merge patch.
//
// Field numbers, names and patch metadata are those of Kubernetes'
// generated.proto and types.go (k8s.io/api, apimachinery) for v1.32.
#pragma once

#include <string_view>
#include <vector>

namespace podnet::api::schema {

enum class Type {
  String,
  Bool,
  Int32,
  Int64,
  Double,
  Bytes,        // base64 in JSON (Secret.data values)
  IntOrString,  // JSON number or string; protobuf message {type=1, intVal=2, strVal=3}
  Quantity,     // JSON string ("100m"); protobuf message {string=1}
  Time,         // RFC 3339 string, seconds precision; protobuf {seconds=1, nanos=2}
  MicroTime,    // RFC 3339 with microseconds; protobuf {seconds=1, nanos=2}
  Duration,     // Go duration string ("10s"); protobuf {duration=1 (int64 ns)}
  Message,      // a nested object described by `message`
  Any,          // free-form JSON (RawExtension, FieldsV1, JSON-schema-less maps);
                // protobuf: bytes holding JSON
};

enum class Shape {
  Single,
  List,  // JSON array; protobuf repeated
  Map,   // JSON object with string keys; protobuf map<string, T>
};

struct Message;

struct Field {
  std::string_view json;  // the JSON name, e.g. "containerPort"
  int proto = 0;          // protobuf field number (0: none)
  Type type = Type::String;
  Shape shape = Shape::Single;
  const Message* message = nullptr;  // for Type::Message (the element type for lists/maps)
  // Strategic merge patch: "merge", "replace", "retainKeys", "merge,retainKeys" or empty
  // (lists are replaced, maps merged), and the merge key of merged lists of objects.
  std::string_view patchStrategy;
  std::string_view patchMergeKey;
  // List semantics for server-side apply (x-kubernetes-list-type): "atomic", "set", "map"
  // (then listMapKeys name the keys); empty = atomic.
  std::string_view listType;
  std::vector<std::string_view> listMapKeys;
  // A Go embedded struct (`json:",inline"`): its fields appear in this
  // object's JSON, while protobuf carries them in the sub-message `proto`.
  // `json` is empty and `message` describes the embedded struct.
  bool inlined = false;
};

struct Message {
  std::string_view name;  // e.g. "io.k8s.api.core.v1.ServicePort"
  std::vector<Field> fields;

  // The field of that JSON name, looking through inlined members (so
  // "name" of a ConfigMapKeySelector is found in its LocalObjectReference).
  const Field* field(std::string_view json) const;
  // The field of that protobuf number among this message's own fields (an
  // inlined member is one field here, as on the wire).
  const Field* fieldByProto(int number) const;
};

// The top-level message of a served kind ("v1", "Service"), or of the
// envelope types kubectl and clients send (meta.k8s.io/v1 DeleteOptions,
// autoscaling/v1 Scale, v1 Binding, authentication.k8s.io/v1 TokenRequest).
// nullptr when unknown.
const Message* forKind(std::string_view apiVersion, std::string_view kind);

// Every kind forKind knows: the served built-in kinds first (in api::builtinResources()
// order), then the envelope types.
struct KindSchema {
  std::string_view group;  // "" for the core group
  std::string_view version;
  std::string_view kind;
  const Message* message = nullptr;
  bool served = false;  // one of api::allResources(), not an envelope type
};
const std::vector<KindSchema>& allKinds();

// Shared leaf messages, for callers that name them directly.
const Message& objectMeta();
const Message& listMeta();

}  // namespace podnet::api::schema
