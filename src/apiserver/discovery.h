// Discovery documents built from api::allResources(): /version, /api,
// /apis, /apis/GROUP and the APIResourceLists of /api/v1 and
// /apis/GROUP/VERSION (with shortNames, categories and subresources, which
// kubectl needs for "svc", "get all" and "kubectl scale"), and the
// aggregated form of /api and /apis (apidiscovery.k8s.io/v2
// APIGroupDiscoveryList) that spares kubectl one request per group version.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/codec.h"

namespace podnet::apiserver {

// kubectl's dispatcher picks its client version from "minor".
api::Json versionInfo();
// APIVersions; `serverAddress` is the host:port clients reach us at.
api::Json coreVersions(std::string_view serverAddress);
api::Json groupList();
api::Json group(std::string_view groupName);  // null when not served
// APIResourceList for one group version (group "" is the core group);
// null when not served.
api::Json resourceList(std::string_view groupName, std::string_view version);

// The aggregated discovery version ("v2" or "v2beta1") when Accept prefers
// an APIGroupDiscoveryList to the plain documents; nullopt otherwise.
std::optional<std::string> aggregatedDiscoveryVersionFor(std::string_view accept);
// "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList":
// client-go recognises the aggregated form by these parameters.
std::string aggregatedDiscoveryContentType(const std::string& version);
// The APIGroupDiscoveryList of /api (`coreGroup`: the core group only) or of
// /apis (every named group), in apidiscovery.k8s.io/`version`.
api::Json aggregatedDiscovery(bool coreGroup, const std::string& version);

}  // namespace podnet::apiserver
