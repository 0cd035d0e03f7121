// Fuzzes defaulting and validation: a decoded JSON document, taken as every
// kind in turn, is defaulted, validated, and validated as an update against
// itself and against the undefaulted original. None of it may crash or throw.
#include <cstdint>
#include <string_view>

#include "api/codec.h"
#include "api/defaults.h"
#include "api/resource.h"
#include "api/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The API server's own decoder: what validation sees in production.
  auto parsed = podnet::api::decodeJson(text);
  if (!parsed) return 0;
  const podnet::api::Json* doc = &*parsed;
  for (const auto& resource : podnet::api::builtinResources()) {
    podnet::api::Json obj = *doc;
    podnet::api::applyDefaults(resource, obj);
    // Defaulting twice must be a no-op.
    podnet::api::Json twice = obj;
    podnet::api::applyDefaults(resource, twice);
    if (twice != obj) __builtin_trap();
    (void)podnet::api::validate(resource, obj);
    (void)podnet::api::validateUpdate(resource, obj, obj);
    (void)podnet::api::validateUpdate(resource, obj, *doc);
  }
  return 0;
}
