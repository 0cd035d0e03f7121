// Media types: what a request body is (Content-Type), how a PATCH is to be
// applied, and which representation a client accepts (Accept).
#pragma once

#include <string>
#include <string_view>

namespace podnet::apiserver {

// The bare media type: lowercased, parameters and spaces removed
// ("application/json; charset=utf-8" -> "application/json").
std::string bareMediaType(std::string_view contentType);

enum class BodyFormat { Json, Yaml, Protobuf, Unsupported };
// A missing Content-Type is read as JSON, as kube-apiserver does.
BodyFormat bodyFormatOf(std::string_view contentType);

enum class PatchType { Merge, JsonPatch, StrategicMerge, Apply, Unsupported };
PatchType patchTypeOf(std::string_view contentType);

enum class ResponseFormat { Json, Yaml, NotAcceptable };
// Picks the first representation in Accept that podnet can serve as a plain
// object. Tables and aggregated discovery are chosen before this (tables.h,
// discovery.h); protobuf responses are not produced, so "protobuf,json" gets
// JSON; an empty Accept gets JSON.
ResponseFormat negotiateResponse(std::string_view accept);

}  // namespace podnet::apiserver
