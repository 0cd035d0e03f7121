// Fuzzes strategic merge patch and server-side apply: the input is an
// original object and a patch, two JSON documents separated by a line "--".
// The patch is applied to the original as a strategic merge patch, as an
// applied configuration (over the original and over nothing, forced and
// not) and as an Update, for several kinds of the type table and for none.
// None of it may crash or throw; a successful merge must be an object.
#include <cstdint>
#include <string_view>

#include "api/codec.h"
#include "api/schema.h"
#include "apiserver/apply.h"
#include "apiserver/strategic_merge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using podnet::api::Json;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t separator = text.find("\n--\n");
  if (separator == std::string_view::npos) return 0;
  auto original = podnet::api::decodeJson(text.substr(0, separator));
  auto patch = podnet::api::decodeJson(text.substr(separator + 4));
  if (!original || !patch) return 0;
  const std::pair<const char*, const char*> kinds[] = {
      {"v1", "Service"}, {"apps/v1", "Deployment"}, {"v1", "ConfigMap"}, {"v1", "Pod"}, {"", ""}};
  for (const auto& [apiVersion, kind] : kinds) {
    const podnet::api::schema::Message* type = podnet::api::schema::forKind(apiVersion, kind);
    auto merged = podnet::apiserver::strategicMerge(*original, *patch, type);
    if (merged && !merged->is_object()) __builtin_trap();
    for (bool force : {false, true}) {
      podnet::apiserver::ApplyOptions options{"fuzz", force, apiVersion};
      auto applied = podnet::apiserver::applyConfiguration(*original, *patch, type, options);
      if (applied && !applied->is_object()) __builtin_trap();
      if (applied) {
        // Applying again as another manager, then the first one dropping it all.
        options.manager = "other";
        auto again = podnet::apiserver::applyConfiguration(*applied, *patch, type, options);
        options.manager = "fuzz";
        (void)podnet::apiserver::applyConfiguration(
            again ? *again : *applied, Json{{"apiVersion", apiVersion}, {"kind", kind}}, type,
            options);
      }
      (void)podnet::apiserver::applyConfiguration(Json(), *patch, type, options);
    }
    if (merged) {
      Json updated = *merged;
      podnet::apiserver::recordUpdate(*original, updated, type, "fuzz", apiVersion);
      Json created = *original;
      podnet::apiserver::recordUpdate(Json(), created, type, "fuzz", apiVersion);
    }
  }
  return 0;
}
