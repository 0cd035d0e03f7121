// Fuzzes what the ingress controller does with objects users write: the
// input is a YAML/JSON stream of Ingresses (and whatever else), compiled
// next to a fixed Service, EndpointSlice and TLS Secret into a routing
// table; then the input's lines are matched as hosts and paths. Nothing may
// crash or loop, whatever the annotations, regular expressions or paths: a
// bad value is a diagnostic, never a fault (ingress-nginx's CVE-2025-1974
// came from annotation values).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "api/object.h"
#include "ingress/routes.h"

namespace {

using podnet::ingress::Json;
namespace ingress = podnet::ingress;

std::shared_ptr<const Json> shared(Json j) { return std::make_shared<const Json>(std::move(j)); }

const ingress::RouteInputs& fixedInputs() {
  static const ingress::RouteInputs inputs = [] {
    ingress::RouteInputs in;
    in.services.push_back(
        shared(Json::parse(R"({"kind":"Service","metadata":{"name":"web","namespace":"default"},
      "spec":{"ports":[{"name":"http","port":80,"protocol":"TCP"}]}})")));
    in.endpointSlices.push_back(shared(Json::parse(R"({"kind":"EndpointSlice",
      "metadata":{"name":"web-1","namespace":"default","labels":{"kubernetes.io/service-name":"web"}},
      "addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],
      "endpoints":[{"addresses":["10.244.1.5"],"conditions":{"ready":true}}]})")));
    in.secrets.push_back(shared(Json::parse(R"({"kind":"Secret","type":"kubernetes.io/tls",
      "metadata":{"name":"tls","namespace":"default"},"data":{"tls.crt":"Zm9v","tls.key":"YmFy"}})")));
    return in;
  }();
  return inputs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ingress::RouteInputs inputs = fixedInputs();
  if (auto objects = podnet::api::decodeObjects(input)) {
    for (auto& object : *objects) {
      if (!object.is_object()) continue;
      std::string kind = podnet::api::kindOf(object);
      if (kind.empty()) kind = "Ingress";
      auto ptr = shared(std::move(object));
      if (kind == "IngressClass")
        inputs.ingressClasses.push_back(ptr);
      else if (kind == "Service")
        inputs.services.push_back(ptr);
      else
        inputs.ingresses.push_back(ptr);
    }
  }
  ingress::CompiledRoutes compiled = ingress::compileRoutes(inputs);
  if (!compiled.table) {
    std::fprintf(stderr, "no table\n");
    __builtin_trap();
  }
  // Each line of the input as a host and as a path.
  size_t start = 0;
  for (int i = 0; i < 32 && start <= input.size(); ++i) {
    size_t end = input.find('\n', start);
    std::string_view line =
        input.substr(start, end == std::string_view::npos ? input.npos : end - start);
    std::string host = ingress::hostName(line);
    (void)compiled.table->certificateFor(host);
    if (auto path = ingress::normalizePath(line)) {
      auto match = compiled.table->match(host, *path);
      if (match.route && match.upstreamPath.empty()) {
        std::fprintf(stderr, "empty upstream path\n");
        __builtin_trap();
      }
      (void)compiled.table->match("", *path);
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return 0;
}
