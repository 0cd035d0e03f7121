// Strict field validation: which fields of an object the schema table does
// not know, named as upstream's strict decoder names them, for the
// fieldValidation=Strict|Warn|Ignore query parameter of POST, PUT and PATCH.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/schema.h"
#include "core/result.h"

namespace podnet::api::strict {

// The JSON paths of the fields of `value` that `message` does not describe,
// in document order of the parsed JSON: "spec.prots", "spec.ports[0].nme",
// "metadata.lables". Free-form subtrees (Type::Any) accept anything, and a
// value of the wrong JSON type is left to decoding and validation.
std::vector<std::string> unknownFields(const Json& value, const schema::Message& message);

// The same for a whole object, by its own apiVersion and kind; nothing for a
// kind the table does not know.
std::vector<std::string> unknownFields(const Json& object);

// `unknown field "spec.prots"`: how upstream names one unknown field, in
// error messages and in Warning headers alike.
std::string unknownFieldText(std::string_view path);

// The message of the 400 BadRequest a strict request gets:
// `Service in version "v1" cannot be handled as a Service: strict decoding
// error: unknown field "spec.prots", unknown field "spec.x"`.
std::string strictDecodingError(std::string_view kind, std::string_view apiVersion,
                                const std::vector<std::string>& paths);

// The value of a `Warning` HTTP header for one unknown field (RFC 7234
// warn-code 299, agent "-", quoted text with `"` and `\` escaped):
// `299 - "unknown field \"spec.prots\""`.
std::string warningHeader(std::string_view path);

// The fieldValidation query parameter applied to an object that carries its
// apiVersion and kind: "Strict" refuses unknown fields with a BadRequest
// (strictDecodingError); "Warn", and "" (upstream's default), append one
// Warning header value per unknown field to `warnings`; "Ignore" does neither.
// `patched`: the object is the result of a PATCH, which upstream converts
// from unstructured rather than decodes, so its message lacks the
// "<Kind> in version ..." prefix: `strict decoding error: unknown field "x"`.
core::Status checkFields(std::string_view fieldValidation, const Json& object,
                         std::vector<std::string>& warnings, bool patched = false);

}  // namespace podnet::api::strict
