// A CustomResourceDefinition version's openAPIV3Schema, compiled once: the
// structural-schema checks kube-apiserver runs on the CRD, and what it does
// with each custom resource written through it (apiextensions-apiserver's
// pruning, defaulting and OpenAPI value validation, KEP-575 and KEP-598).
//
// Pure code; the regular expressions of `pattern` are RE2 (Go's syntax and
// linear time, as upstream), so no input can make validation blow up.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/codec.h"
#include "core/error.h"

namespace podnet::api::schema {
struct Message;
}

namespace podnet::apiextensions {

using api::Json;

struct SchemaNode;

class StructuralSchema {
 public:
  // Compiles `props` (a JSONSchemaProps document). Problems are appended to
  // `causes` with paths under `fieldPath` (e.g.
  // "spec.validation.openAPIV3Schema.properties[spec].type: Required value:
  // must not be empty for specified object fields"); nullptr when any.
  static std::shared_ptr<const StructuralSchema> compile(const Json& props,
                                                         const std::string& fieldPath,
                                                         std::vector<core::Cause>& causes);
  ~StructuralSchema();

  // Drops the fields of `obj` the schema does not describe (apiVersion, kind
  // and metadata are always kept) and returns their paths ("spec.foo",
  // "spec.rules[0].bar"), for fieldValidation=Strict and Warn.
  std::vector<std::string> prune(Json& obj) const;
  // Sets the schema's defaults on absent fields (and on nulls where the field
  // is not nullable), top down, so a defaulted object gets its own defaults.
  void applyDefaults(Json& obj) const;
  // OpenAPI value validation and list uniqueness, with upstream's messages.
  std::vector<core::Cause> validate(const Json& obj) const;

  // The shape of the kind as the type table describes built-ins: strict
  // field validation and server-side apply (list types and keys) use it.
  const api::schema::Message& message() const;

  StructuralSchema(const StructuralSchema&) = delete;
  StructuralSchema& operator=(const StructuralSchema&) = delete;

  struct Impl;  // the compiled tree (structural_schema.cpp)

 private:
  StructuralSchema();
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::apiextensions
