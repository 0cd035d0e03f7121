// Fuzzes encryption at rest's two inputs: the EncryptionConfiguration an
// operator writes (parse must never crash; a parsed one must resolve and
// round-trip a value through its transformers), and stored values read back
// from SQLite or etcd (open must refuse what it cannot read, never crash,
// whatever the prefix, key name or length).
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "core/base64.h"
#include "encryption/encrypting_store.h"

namespace {

using namespace podnet::encryption;

const std::shared_ptr<const Transformer>& everyProvider() {
  static const auto transformer = [] {
    std::vector<Provider> providers = {
        {Cipher::AesGcm, {{"key1", std::string(32, 'g')}, {"k16", std::string(16, 'h')}}},
        {Cipher::AesCbc, {{"key1", std::string(24, 'c')}}},
        {Cipher::Secretbox, {{"key1", std::string(32, 's')}}},
        {Cipher::Identity, {}}};
    return *Transformer::make(providers);
  }();
  return transformer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kKey = "/registry/secrets/default/db";
  (void)everyProvider()->open(text, kKey);
  (void)describeSealed(text);

  auto config = parseConfig(text);
  if (!config) return 0;
  std::vector<StoredResource> builtins = {{"", "secrets", "/registry/secrets/"},
                                          {"apps", "deployments", "/registry/deployments/"}};
  auto rules = resolvePrefixes(*config, builtins);
  if (!rules) return 0;
  for (const PrefixRule& rule : *rules) {
    auto sealed = rule.transformer->seal(text, kKey);
    auto opened = sealed ? rule.transformer->open(*sealed, kKey) : sealed.takeError();
    if (!opened || opened->value != text) {
      std::fprintf(stderr, "a value sealed under %s did not open to itself\n", rule.prefix.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
