// Small accessors over API objects held as JSON: metadata fields, labels,
// annotations. Every accessor tolerates a missing or mistyped field.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/codec.h"

namespace podnet::api {

// The member at `key` of an object, or nullptr when the object is not one,
// the key is absent or the value is null (Go decodes null as unset).
const Json* member(const Json& obj, std::string_view key);
// The string at `key`, or "" when it is absent or not a string.
std::string stringAt(const Json& obj, std::string_view key);
// obj.kind when it is a string, else "" (decoded files hold anything).
std::string kindOf(const Json& obj);
std::string getString(const Json& obj, const Json::json_pointer& path);
std::string name(const Json& obj);
std::string namespaceOf(const Json& obj);
std::string uid(const Json& obj);
std::string resourceVersion(const Json& obj);
std::map<std::string, std::string> labels(const Json& obj);
std::map<std::string, std::string> stringMap(const Json& value);  // a JSON object of strings
bool isBeingDeleted(const Json& obj);

// A new random UID in the canonical 8-4-4-4-12 form.
std::string newUid();
// The current time as RFC 3339 in UTC, e.g. 2026-11-23T07:14:15Z.
std::string nowRfc3339();
std::string formatRfc3339(long long seconds);  // Unix seconds -> RFC 3339 in UTC
// Seconds since the epoch of an RFC 3339 time, or -1.
long long parseRfc3339(const std::string& text);

}  // namespace podnet::api
