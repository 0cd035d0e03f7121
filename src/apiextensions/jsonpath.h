// The JSONPath subset of CRD printer columns (client-go's util/jsonpath as
// kubectl and apiextensions-apiserver use it): `.a.b`, `['a.b']`, `[0]`,
// `[-1]`, `[*]`, `[1:3]`, `[?(@.type=="Ready")]` with == != < <= > >=, and `\.`
// inside a field name. Parsed once per column, evaluated per row.
#pragma once

#include <string>
#include <vector>

#include "api/codec.h"

namespace podnet::apiextensions {

class JsonPath {
 public:
  struct Step;
  // `error` is "" when `text` parsed.
  struct Parsed;
  static Parsed parse(const std::string& text);

  // Every value the path selects in `obj`, in document order.
  std::vector<const api::Json*> find(const api::Json& obj) const;

  JsonPath();
  ~JsonPath();
  JsonPath(JsonPath&&) noexcept;
  JsonPath& operator=(JsonPath&&) noexcept;

 private:
  std::vector<Step> steps_;
};

struct JsonPath::Parsed {
  JsonPath path;
  std::string error;
};

}  // namespace podnet::apiextensions
