// The endpoints of the `kubernetes` Service: where the API server itself
// listens, as kube-apiserver's endpoint reconciler publishes them (an
// Endpoints object and an EndpointSlice, both named "kubernetes").
#pragma once

#include <cstdint>
#include <string>

#include "client/client.h"

namespace podnet::apiserver {

core::Status publishApiServerEndpoints(client::Client& client, const std::string& ip,
                                       uint16_t port);

}  // namespace podnet::apiserver
