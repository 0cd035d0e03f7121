// Fuzzes the bearer tokens the API server tells apart before any lookup
// (Authorization headers are outside input): bootstrap tokens, node tokens,
// and the Secrets they are checked against. Nothing may crash; a parsed
// token must print back to the text it came from.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "api/bootstrap_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto token = podnet::api::parseBootstrapToken(text)) {
    if (token->text() != text) __builtin_trap();
    auto secret = podnet::api::bootstrapTokenSecret(*token, 0, "fuzz");
    if (podnet::api::bootstrapTokenRefusal(secret, *token, 0)) __builtin_trap();
  }
  if (auto node = podnet::api::parseNodeToken(text)) {
    if (node->text() != text) __builtin_trap();
    if (!podnet::api::nodeTokenMatches(podnet::api::nodeTokenSecret(*node), *node))
      __builtin_trap();
  }
  // The same bytes as a stored Secret (JSON), checked against a fixed token.
  auto secret = podnet::api::Json::parse(text, nullptr, false);
  podnet::api::BootstrapToken fixed{"abcdef", "0123456789abcdef"};
  (void)podnet::api::bootstrapTokenRefusal(secret, fixed, 0);
  (void)podnet::api::bootstrapTokenGroups(secret.is_object() ? secret
                                                             : podnet::api::Json::object());
  (void)podnet::api::nodeTokenMatches(secret, {"n", "s"});
  return 0;
}
