// Fuzzes the Gateway API objects the ingress controller reads (users write
// them): any JSON through the four parsers, hostname intersection and match
// ordering must never crash, and the order must be a strict weak one.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "ingress/gateway_model.h"

using namespace podnet::ingress::gateway;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto obj = Json::parse(text, nullptr, false);
  if (obj.is_discarded()) return 0;
  (void)parseGatewayClass(obj);
  (void)parseReferenceGrant(obj);
  if (auto gateway = parseGateway(obj))
    for (const auto& listener : gateway->listeners)
      (void)intersectHostnames(listener.hostname, {"a.example.com", "*.example.com"});
  auto route = parseHttpRoute(obj);
  if (!route) return 0;
  (void)intersectHostnames("*.example.com", route->hostnames);
  std::vector<MatchKey> keys;
  for (size_t r = 0; r < route->rules.size(); ++r)
    for (size_t m = 0; m < route->rules[r].matches.size(); ++m) keys.push_back({&*route, r, m});
  for (const auto& key : keys)
    if (precedes(key, key)) __builtin_trap();  // irreflexive
  std::sort(keys.begin(), keys.end(), precedes);
  return 0;
}
