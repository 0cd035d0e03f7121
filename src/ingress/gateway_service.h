// How a Gateway gets its address: a LoadBalancer Service per Gateway, in
// the proxy's namespace and selecting the proxy's pods (Services select
// pods of their own namespace only), whose ports are the listeners' ports
// and whose targetPorts are ports of the proxy's own, one per Gateway and
// listener port: many Gateways may all listen on 80, and the proxy tells
// them apart by the port the connection arrives on. The Service is the
// record of that mapping (the compiler reads it back), and the pool's
// address in its status is the Gateway's address. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ingress/gateway_model.h"

namespace podnet::ingress::gateway {

// On the Service: the Gateway it serves ("ns/name").
inline constexpr const char* kGatewayAnnotation = "podnet.io/gateway";
inline constexpr const char* kGatewayServiceLabel = "podnet.io/gateway-service";

struct GatewayServiceOptions {
  std::string ns = "kube-system";
  std::map<std::string, std::string> selector = {{"app.kubernetes.io/name", "podnet-ingress"}};
  uint16_t firstBindPort = 10300, lastBindPort = 10999;
};

// A DNS-1035 name for the Gateway's Service, unique per Gateway.
std::string gatewayServiceName(const std::string& ns, const std::string& name);

struct GatewayServiceInfo {
  std::string gateway;                     // "ns/name"
  std::map<uint16_t, uint16_t> bindPorts;  // listener port -> the proxy's port
  std::vector<std::string> addresses;      // status.loadBalancer.ingress[].ip
};
// What a Service made by desiredGatewayService says (nullopt for any other Service).
std::optional<GatewayServiceInfo> readGatewayService(const Json& service);

// The Service the Gateway needs: `existing`'s bind ports kept for listener
// ports it already has, new ones from the range not in `taken` (every
// other Gateway Service's). Empty Json when the range is exhausted.
Json desiredGatewayService(const Gateway& gateway, const Json* existing,
                           const std::set<uint16_t>& taken, const GatewayServiceOptions& options);

// Whether `existing` already is what `desired` asks (the fields we own).
bool gatewayServiceUpToDate(const Json& existing, const Json& desired);

}  // namespace podnet::ingress::gateway
