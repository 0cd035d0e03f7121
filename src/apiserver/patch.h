// PATCH bodies applied to a stored object: JSON merge patch (RFC 7386), JSON
// patch (RFC 6902) and, for now, strategic merge patch read as a merge patch
// whose lists replace (its $-directives are honoured where a plain merge can
// express them). Server-side apply is not here yet.
#pragma once

#include <string_view>

#include "api/codec.h"
#include "apiserver/media.h"
#include "core/result.h"

namespace podnet::apiserver {

// Returns the patched copy of `original`. A malformed patch is a BadRequest;
// a well-formed one that cannot apply (a missing path, a failed "test") is
// 422 as upstream reports it.
core::Result<api::Json> applyPatch(PatchType type, const api::Json& original,
                                   std::string_view patchBody);

// Strips strategic-merge directives ($setElementOrder/..., $retainKeys,
// $deleteFromPrimitiveList/..., list items {"$patch": "delete"}) and turns
// {"$patch": "replace"|"delete"} maps into what a merge patch means.
api::Json strategicToMergePatch(const api::Json& patch);

}  // namespace podnet::apiserver
