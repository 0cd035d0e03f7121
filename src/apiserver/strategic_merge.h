// Strategic merge patch (application/strategic-merge-patch+json), with the
// semantics of k8s.io/apimachinery/pkg/util/strategicpatch, driven by the
// type table (api/schema.h):
//   - maps merge recursively; a null value deletes the key;
//   - lists whose field has patchStrategy "merge" merge: lists of objects by
//     their patchMergeKey, lists of primitives as sets; other lists replace;
//   - directives: {"$patch": "replace"|"delete"|"merge"} in maps and list
//     items, "$deleteFromPrimitiveList/<field>", "$setElementOrder/<field>"
//     (the order of the result) and "$retainKeys" (keys not listed are
//     cleared);
//   - fields the table does not know fall back to merge-patch behaviour
//     (maps merge, lists replace).
#pragma once

#include <string_view>

#include "api/codec.h"
#include "api/schema.h"
#include "core/result.h"

namespace podnet::apiserver {

// Returns `original` with `patch` applied. `type` describes `original` (the
// top-level message of its kind); nullptr treats every field as unknown. A
// malformed patch (a bad directive, a list item without its merge key) is a
// BadRequest.
core::Result<api::Json> strategicMerge(const api::Json& original, const api::Json& patch,
                                       const api::schema::Message* type);

// The field of `message` named `json`, or nullptr (also for a null message).
// A linear scan: messages have a few dozen fields at most.
const api::schema::Field* findField(const api::schema::Message* message, std::string_view json);

// Walking a JSON document alongside the type table (also used by apply.h).
// What describes the keys of a JSON object: the fields of a message or, for
// a map-shaped field (labels, annotations, data), the one type of every value.
struct ObjectType {
  const api::schema::Message* message = nullptr;
  const api::schema::Field* mapValues = nullptr;
};
// What describes one JSON value: a field, seen whole (its list or map) or as
// one element of it. A null field is a field the table does not know.
struct ValueType {
  const api::schema::Field* field = nullptr;
  bool element = false;
};
ValueType childOf(ObjectType parent, std::string_view key);
ObjectType objectTypeOf(ValueType value);
// A list-shaped field seen whole.
bool isListField(ValueType value);

// Whether `field` lists `strategy` ("merge", "retainKeys", "replace") in its
// comma-separated patchStrategy.
bool hasPatchStrategy(const api::schema::Field* field, std::string_view strategy);

}  // namespace podnet::apiserver
