// The Gateway API half of the routing compiler (pure): GatewayClasses,
// Gateways, HTTPRoutes and ReferenceGrants, with the Services,
// EndpointSlices and Secrets the Ingress half reads, become the Gateway
// ports of the same RoutingTable (routes.h), and the statuses to write.
// compileRoutes calls it; nothing else needs to.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "ingress/backend_catalog.h"
#include "ingress/routes.h"

namespace podnet::ingress {

void compileGateways(const RouteInputs& inputs, BackendCatalog& catalog, RoutingTable& table,
                     CompiledRoutes& out);

// A Gateway API duration ("1h", "10s", "500ms", "1m30s"; "0s" = none) in
// milliseconds; nullopt when it is not one.
std::optional<uint64_t> parseGatewayDuration(std::string_view text);

// The path after a ReplacePrefixMatch of `matchedPrefix` (trailing slash
// dropped) in `path` by `replacement`, as the specification's examples
// have it (/foo + /xyz: /foo/bar -> /xyz/bar; /foo + /: /foo/bar -> /bar).
std::string replacePrefix(std::string_view path, std::string_view matchedPrefix,
                          std::string_view replacement);

}  // namespace podnet::ingress
