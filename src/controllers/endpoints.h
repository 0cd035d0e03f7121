// What the EndpointSlice and Endpoints controllers compute, as pure
// functions of a Service and its pods (no I/O, unit-tested without a store):
// which pods belong, their conditions, the ports they serve (named
// targetPorts resolved per pod), and how to turn the existing slices into the
// desired ones with as few writes as possible.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/codec.h"

namespace podnet::controllers {

using api::Json;

inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
inline constexpr const char* kManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr const char* kSliceControllerName = "endpointslice-controller.k8s.io";
inline constexpr const char* kHeadlessLabel = "service.kubernetes.io/headless";
inline constexpr size_t kMaxEndpointsPerSlice = 100;
inline constexpr size_t kMaxEndpointsAddresses = 1000;

// The pod's IPv4 address ("" when it has none yet).
std::string podIpv4(const Json& pod);

// The ports `pod` serves for `svc`, one per Service port whose targetPort
// resolves (a named targetPort the pod does not declare is left out), as
// EndpointSlice ports: {name, port, protocol[, appProtocol]}.
Json resolveEndpointPorts(const Json& svc, const Json& pod);

// One EndpointSlice endpoint for `pod`; `nodeZones` maps node names to their
// topology.kubernetes.io/zone label.
Json endpointForPod(const Json& svc, const Json& pod,
                    const std::map<std::string, std::string>& nodeZones);

// Pods that appear in EndpointSlices: an IPv4 address, not Succeeded/Failed
// (terminating pods stay, with terminating: true).
bool podBelongsInSlices(const Json& pod);

struct SlicePlan {
  std::vector<Json> create;         // complete new slices (named <service>-<random>)
  std::vector<Json> update;         // existing slices with new content (resourceVersion kept)
  std::vector<std::string> remove;  // names of slices to delete
  bool empty() const { return create.empty() && update.empty() && remove.empty(); }
};

// Plans the slices of `svc` from the pods it selects and the slices this
// controller manages for it now. Endpoints stay in the slice they are in,
// new ones fill slices with room first, and a slice whose content would not
// change is not written (no write storms).
SlicePlan planEndpointSlices(const Json& svc, const std::vector<const Json*>& selectedPods,
                             const std::vector<const Json*>& existingSlices,
                             const std::map<std::string, std::string>& nodeZones,
                             size_t maxEndpointsPerSlice = kMaxEndpointsPerSlice);

// The legacy Endpoints object of `svc` (subsets of addresses /
// notReadyAddresses grouped by identical ports), as the endpoints controller
// writes it.
Json buildEndpoints(const Json& svc, const std::vector<const Json*>& selectedPods);
// Whether the stored Endpoints already say what `desired` says.
bool endpointsUpToDate(const Json& current, const Json& desired);

}  // namespace podnet::controllers
