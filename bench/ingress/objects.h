// The Kubernetes objects podnet ingress serves in the benchmark: a Service
// whose one EndpointSlice holds the backend (127.0.0.1 and the backend's
// port, ready), the TLS Secret, and an Ingress of class podnet for
// bench.local with TLS and path / Prefix.
//
// ssl-redirect is off: an Ingress with TLS answers plain HTTP with a 308 by
// default, and the plain-HTTP cells must reach the backend as they do
// through nginx and HAProxy. The TLS hosts include "127.0.0.1" because wrk
// sends the URL's host as SNI (it has no option for it): without it podnet
// would answer with its default certificate, not the one nginx and HAProxy
// use.
#pragma once

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ingressbench {

using nlohmann::json;

inline std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

inline json ingressPath(const std::string& path) {
  return {{"path", path},
          {"pathType", "Prefix"},
          {"backend", {{"service", {{"name", "backend"}, {"port", {{"number", 80}}}}}}}};
}

inline json benchIngress() {
  return {
      {"apiVersion", "networking.k8s.io/v1"},
      {"kind", "Ingress"},
      {"metadata",
       {{"name", "bench"},
        {"namespace", "default"},
        {"uid", "00000000-0000-0000-0000-00000000be0c"},
        {"generation", 1},
        {"creationTimestamp", "2026-01-01T00:00:00Z"},
        {"annotations", {{"nginx.ingress.kubernetes.io/ssl-redirect", "false"}}}}},
      {"spec",
       {{"ingressClassName", "podnet"},
        {"tls", {{{"hosts", {"bench.local", "127.0.0.1"}}, {"secretName", "bench-tls"}}}},
        {"rules",
         {{{"host", "bench.local"}, {"http", {{"paths", json::array({ingressPath("/")})}}}}}}}}};
}

// All four objects as one List (what `podnet ingress --objects` reads).
inline json benchObjects(int backendPort, const std::string& certPem, const std::string& keyPem) {
  json service = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"name", "backend"}, {"namespace", "default"}}},
      {"spec",
       {{"ports",
         {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", backendPort}}}}}}};
  json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata",
                 {{"name", "backend-1"},
                  {"namespace", "default"},
                  {"labels", {{"kubernetes.io/service-name", "backend"}}}}},
                {"addressType", "IPv4"},
                {"ports", {{{"name", "http"}, {"port", backendPort}, {"protocol", "TCP"}}}},
                {"endpoints", {{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}}}}}};
  json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "bench-tls"}, {"namespace", "default"}}},
                 {"type", "kubernetes.io/tls"},
                 {"data", {{"tls.crt", base64(certPem)}, {"tls.key", base64(keyPem)}}}};
  return {
      {"apiVersion", "v1"}, {"kind", "List"}, {"items", {service, slice, secret, benchIngress()}}};
}

// The routes cells: GatewayClass podnet, a Gateway with one HTTP listener,
// the Service podnet's controller would make for it (port 80 to the proxy's
// `bindPort`, with an address), and `routes` HTTPRoutes, route N matching
// PathPrefix /tN and the header x-tenant: tN, sending to the backend.
inline json benchRouteObjects(int bindPort, int routes) {
  json items = json::array();
  items.push_back({{"apiVersion", "gateway.networking.k8s.io/v1"},
                   {"kind", "GatewayClass"},
                   {"metadata", {{"name", "podnet"}, {"generation", 1}}},
                   {"spec", {{"controllerName", "podnet.io/gateway-controller"}}}});
  items.push_back({{"apiVersion", "gateway.networking.k8s.io/v1"},
                   {"kind", "Gateway"},
                   {"metadata", {{"name", "bench"}, {"namespace", "default"}, {"generation", 1}}},
                   {"spec",
                    {{"gatewayClassName", "podnet"},
                     {"listeners", {{{"name", "http"}, {"port", 80}, {"protocol", "HTTP"}}}}}}});
  items.push_back({{"apiVersion", "v1"},
                   {"kind", "Service"},
                   {"metadata",
                    {{"name", "gateway-bench"},
                     {"namespace", "kube-system"},
                     {"annotations", {{"podnet.io/gateway", "default/bench"}}}}},
                   {"spec", {{"ports", {{{"port", 80}, {"targetPort", bindPort}}}}}},
                   {"status", {{"loadBalancer", {{"ingress", {{{"ip", "127.0.0.1"}}}}}}}}});
  for (int i = 0; i < routes; ++i) {
    std::string n = std::to_string(i);
    items.push_back({{"apiVersion", "gateway.networking.k8s.io/v1"},
                     {"kind", "HTTPRoute"},
                     {"metadata",
                      {{"name", "route-" + n},
                       {"namespace", "default"},
                       {"generation", 1},
                       {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
                     {"spec",
                      {{"parentRefs", {{{"name", "bench"}}}},
                       {"hostnames", {"bench.local"}},
                       {"rules",
                        {{{"matches",
                           {{{"path", {{"type", "PathPrefix"}, {"value", "/t" + n}}},
                             {"headers", {{{"name", "x-tenant"}, {"value", "t" + n}}}}}}},
                          {"backendRefs", {{{"name", "backend"}, {"port", 80}}}}}}}}}});
  }
  return items;
}

}  // namespace ingressbench
