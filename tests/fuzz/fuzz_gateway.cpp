// Fuzzes the Gateway API objects the ingress controller reads (users write
// them): any JSON through the four parsers, hostname intersection and match
// ordering must never crash, and the order must be a strict weak one; the
// object compiled as a Gateway and as an HTTPRoute (on a fixed Gateway and
// class) into a routing table, and requests matched against it.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "ingress/gateway_model.h"
#include "ingress/routes.h"

using namespace podnet::ingress::gateway;

namespace {

// The compiler and the matcher on `obj` as the only Gateway or HTTPRoute.
void compileAndMatch(const Json& obj) {
  using namespace podnet::ingress;
  auto ptr = [](Json j) { return std::make_shared<const Json>(std::move(j)); };
  RouteInputs in;
  in.gatewayClasses = {
      ptr({{"metadata", {{"name", "podnet"}}}, {"spec", {{"controllerName", kControllerName}}}})};
  Json gateway = {{"metadata", {{"name", "gw"}, {"namespace", "default"}}},
                  {"spec",
                   {{"gatewayClassName", "podnet"},
                    {"listeners", {{{"name", "http"}, {"port", 80}, {"protocol", "HTTP"}}}}}}};
  in.services = {ptr({{"metadata",
                       {{"name", "g"},
                        {"namespace", "kube-system"},
                        {"annotations", {{"podnet.io/gateway", "default/gw"}}}}},
                      {"spec", {{"ports", {{{"port", 80}, {"targetPort", 10300}}}}}},
                      {"status", {{"loadBalancer", {{"ingress", {{{"ip", "10.0.0.1"}}}}}}}}}),
                 ptr({{"metadata", {{"name", "web"}, {"namespace", "default"}}},
                      {"spec", {{"ports", {{{"port", 80}}}}}}})};
  for (int asGateway = 0; asGateway < 2; ++asGateway) {
    in.gateways = {ptr(asGateway ? obj : gateway)};
    in.httpRoutes = {ptr(obj)};
    auto compiled = compileRoutes(in);
    std::vector<podnet::http::Header> headers{{"version", "one"}};
    for (const char* path : {"/", "/a/b", "/one"})
      for (const auto& port : compiled.table->gatewayPorts())
        (void)compiled.table->matchGateway(port.bindPort,
                                           {"a.example.com", path, "GET", &headers, "q=1&x"});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto obj = Json::parse(text, nullptr, false);
  if (obj.is_discarded()) return 0;
  compileAndMatch(obj);
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
