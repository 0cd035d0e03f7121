// Fuzzes api::decodeJson: any byte string must decode or fail with a
// BadRequest, never crash; a decoded document must survive dump and re-decode.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = podnet::api::decodeJson(text);
  if (!doc) {
    if (doc.error().code != 400) std::abort();
    return 0;
  }
  // Invalid UTF-8 in strings makes dump() throw unless told to replace it.
  std::string again = doc->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto redecoded = podnet::api::decodeJson(again);
  if (!redecoded) std::abort();
  return 0;
}
