// Helpers shared by the api unit tests: objects written as YAML, and causes
// compared as kubectl prints them ("field: message").
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/codec.h"
#include "api/defaults.h"
#include "api/resource.h"
#include "api/validation.h"

namespace podnet::api::testing {

inline Json yaml(std::string_view text) {
  auto doc = decodeYaml(text);
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().message);
  return doc.ok() ? *doc : Json();
}

inline std::vector<std::string> printed(const std::vector<core::Cause>& causes) {
  std::vector<std::string> out;
  for (const auto& c : causes) out.push_back(c.field + ": " + c.message);
  return out;
}

// Defaults then validates an object of `kind`, as the registry does on create.
inline std::vector<std::string> errorsOf(std::string_view kind, Json obj) {
  const auto& r = resource(kind);
  applyDefaults(r, obj);
  return printed(validate(r, obj));
}

}  // namespace podnet::api::testing
