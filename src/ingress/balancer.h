// Which backend a request goes to: a canary Ingress or the main one (by
// header, then cookie, then weight, as ingress-nginx decides), then an
// endpoint (the affinity cookie's, else round robin), skipping endpoints a
// failed attempt already tried.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1.h"
#include "ingress/routes.h"

namespace podnet::ingress {

// The route serving a request: one of `main`'s canaries or `main` itself.
// `random` is uniform in [0, 2^32) (tests pass fixed values).
const Route& chooseCanary(const Route& main, const std::vector<http::Header>& headers,
                          uint32_t random);

// The value of cookie `name` in the request's Cookie headers ("" if none).
std::string_view cookieValue(const std::vector<http::Header>& headers, std::string_view name);

// The affinity cookie's value for an endpoint (a hash of its address).
std::string affinityValue(const Endpoint& endpoint);

struct EndpointChoice {
  const Endpoint* endpoint = nullptr;  // null: every endpoint was tried
  std::string setCookie;               // a Set-Cookie line to send (with CRLF), or ""
};

// An endpoint of `target` for a request to `route`, not among `tried`.
EndpointChoice chooseEndpoint(const Route& route, const BackendTarget& target,
                              const std::vector<http::Header>& headers,
                              const std::vector<Endpoint>& tried);

}  // namespace podnet::ingress
