// Discovery documents built from api::allResources(): /version, /api,
// /apis, /apis/GROUP and the APIResourceLists of /api/v1 and
// /apis/GROUP/VERSION (with shortNames, categories and subresources, which
// kubectl needs for "svc", "get all" and "kubectl scale").
#pragma once

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

}  // namespace podnet::apiserver
