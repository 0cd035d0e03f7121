// Fuzzes CustomResourceDefinitions end to end: a JSON document
// {"crd": <CRD>, "objects": [<custom resources>...]} (or a bare CRD) is
// defaulted and validated as a CRD; each served version's schema then
// prunes, defaults and validates every object, and its printer columns are
// evaluated on them. Nothing may crash, and pruning and defaulting must be
// idempotent (a second pass changes nothing), as the server relies on when it
// defaults again on every read.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/codec.h"
#include "api/custom_resource.h"
#include "apiextensions/crd.h"
#include "apiextensions/jsonpath.h"

using podnet::api::Json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = podnet::api::decodeJson(text);
  if (!doc || !doc->is_object()) return 0;
  Json crd = doc->contains("crd") ? (*doc)["crd"] : *doc;
  Json objects =
      doc->contains("objects") && (*doc)["objects"].is_array() ? (*doc)["objects"] : Json::array();
  if (!crd.is_object()) return 0;
  podnet::apiextensions::defaultCrd(crd);
  auto causes = podnet::apiextensions::validateCrd(crd, nullptr);
  for (const auto& cause : causes)
    if (cause.message.empty()) std::abort();
  podnet::apiextensions::setStatus(crd, "");
  for (const auto& info : podnet::apiextensions::servedResources(crd)) {
    for (Json obj : objects) {
      if (!obj.is_object()) continue;
      info.custom->prune(obj);
      if (!info.custom->prune(obj).empty()) std::abort();  // pruning is idempotent
      info.custom->applyDefaults(obj);
      Json once = obj;
      info.custom->applyDefaults(obj);
      if (obj != once) std::abort();  // so is defaulting
      for (const auto& cause : info.custom->validate(obj))
        if (cause.message.empty()) std::abort();
      for (const auto& column : info.custom->columns) {
        auto parsed = podnet::apiextensions::JsonPath::parse(column.jsonPath);
        (void)parsed.path.find(obj);
      }
    }
  }
  return 0;
}
