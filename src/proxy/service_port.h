// The proxy's typed view of the API: one ServicePort per port of a Service,
// with the endpoints its EndpointSlices list for that port. Built from the
// JSON objects the informers cache; everything after this works on these.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/codec.h"

namespace podnet::proxy {

using api::Json;

struct Endpoint {
  std::string ip;
  int port = 0;
  // EndpointSlice conditions; an absent condition counts as true (ready,
  // serving) or false (terminating), as the API says.
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  std::string nodeName;
  bool operator==(const Endpoint&) const = default;
};

struct ServicePort {
  std::string ns;
  std::string name;
  std::string portName;  // "" for a Service's single unnamed port
  std::string protocol;  // "tcp", "udp" or "sctp" (nft's spelling)
  int port = 0;
  int nodePort = 0;  // 0: none
  int healthCheckNodePort = 0;
  std::vector<std::string> clusterIps;  // every family
  std::vector<std::string> externalIps;
  std::vector<std::string> loadBalancerIps;  // status.loadBalancer.ingress[].ip
  std::vector<std::string> loadBalancerSourceRanges;
  bool externalPolicyLocal = false;
  bool internalPolicyLocal = false;
  int affinityTimeoutSeconds = 0;  // 0: no session affinity
  std::vector<Endpoint> endpoints;

  // "ns/name/proto/portName": names the port's chains, as kube-proxy does.
  std::string id() const;
  bool operator==(const ServicePort&) const = default;
};

// One EndpointSlice as the proxy keeps it (a few hundred bytes, where the
// parsed object takes kilobytes): its ports and its endpoints, each address
// once, the endpoints' port left 0.
struct SliceEndpoints {
  struct Port {
    std::string name;
    std::string protocol;  // nft's spelling
    int port = 0;
    bool operator==(const Port&) const = default;
  };
  std::vector<Port> ports;
  std::vector<Endpoint> endpoints;
  bool operator==(const SliceEndpoints&) const = default;
};
SliceEndpoints sliceEndpointsOf(const Json& slice);

// The ports a Service needs rules for, without endpoints. ExternalName and
// headless Services, which DNS alone serves, have none. Malformed fields are
// skipped, never fatal.
std::vector<ServicePort> servicePortsOf(const Json& service);

// `ports` with the endpoints `slices` (the Service's EndpointSlices, any
// order) list for each of them.
std::vector<ServicePort> withEndpoints(std::vector<ServicePort> ports,
                                       const std::vector<const SliceEndpoints*>& slices);

// Both steps at once, from the API objects.
std::vector<ServicePort> servicePortsOf(const Json& service,
                                        const std::vector<std::shared_ptr<const Json>>& slices);

// The Service an EndpointSlice belongs to ("ns/name"), from its
// kubernetes.io/service-name label; "" when it has none.
std::string serviceKeyOfSlice(const Json& slice);

}  // namespace podnet::proxy
