// PATCH bodies applied to a stored object: JSON merge patch (RFC 7386), JSON
// patch (RFC 6902) and strategic merge patch (strategic_merge.h, driven by
// the type table). Server-side apply is apply.h.
#pragma once

#include <string_view>

#include "api/codec.h"
#include "api/resource.h"
#include "api/schema.h"
#include "apiserver/media.h"
#include "core/result.h"

namespace podnet::apiserver {

// Returns the patched copy of `original`. A malformed patch is a BadRequest;
// a well-formed one that cannot apply (a missing path, a failed "test") is
// 422 as upstream reports it. `schema` (the top-level message of the
// object's kind) gives strategic merge its merge keys and strategies;
// without it every list replaces, as in a merge patch.
core::Result<api::Json> applyPatch(PatchType type, const api::Json& original,
                                   std::string_view patchBody,
                                   const api::schema::Message* schema = nullptr);

// The type table's message for a served resource (nullptr when the table
// does not describe it).
const api::schema::Message* schemaOf(const api::ResourceInfo& resource);

// Strips strategic-merge directives ($setElementOrder/..., $retainKeys,
// $deleteFromPrimitiveList/..., list items {"$patch": "delete"}) and turns
// {"$patch": "replace"|"delete"} maps into what a merge patch means. Kept
// for callers that hold no schema; applyPatch no longer uses it.
api::Json strategicToMergePatch(const api::Json& patch);

}  // namespace podnet::apiserver
