// Fuzzes the protobuf body decoder: any byte string must decode or fail with
// a 400/415 Status, never crash; a decoded object must be a JSON object that
// dumps without invalid UTF-8. Two ways in: the whole body (magic, envelope,
// kind lookup), and the bytes after the first as the raw message of the kind
// the first byte picks, which reaches deep messages (PodSpec) sooner.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "apiserver/protobuf.h"

namespace {

void check(const podnet::core::Result<podnet::apiserver::DecodedProtobuf>& decoded) {
  if (!decoded.ok()) {
    if (decoded.error().code != 400 && decoded.error().code != 415) std::abort();
    return;
  }
  if (!decoded->object.is_object()) std::abort();
  try {
    (void)decoded->object.dump();  // throws on invalid UTF-8
  } catch (const std::exception&) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(podnet::apiserver::decodeProtobufBody(bytes, podnet::api::schema::forKind));
  if (!bytes.empty()) {
    const auto& kinds = podnet::api::schema::allKinds();
    const auto& kind = kinds[static_cast<uint8_t>(bytes[0]) % kinds.size()];
    if (kind.message != nullptr)
      check(podnet::apiserver::decodeProtobufMessage(bytes.substr(1), *kind.message));
  }
  return 0;
}
