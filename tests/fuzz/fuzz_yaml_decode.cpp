// Fuzzes api::decodeYamlDocuments and the encodeYaml round trip: every
// document that decodes must encode to YAML that decodes back to itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "api/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = podnet::api::decodeYamlDocuments(text);
  if (!docs) {
    if (docs.error().code != 400) std::abort();
    return 0;
  }
  for (const auto& doc : *docs) {
    std::string yaml = podnet::api::encodeYaml(doc);
    auto back = podnet::api::decodeYaml(yaml);
    if (!back) {
      std::fprintf(stderr, "re-decoding failed: %s\n%s\n", back.error().message.c_str(),
                   yaml.c_str());
      std::abort();
    }
    if (*back != doc) {
      std::fprintf(stderr, "round trip changed the document:\n%s\n", yaml.c_str());
      std::abort();
    }
  }
  return 0;
}
