// Defaulting as kube-apiserver does it (pkg/apis/*/v1/defaults.go): fills the
// fields a user may leave out, so stored objects read back as on a real
// cluster (Service type ClusterIP, port protocol TCP, targetPort = port, ...).
#pragma once

#include "api/codec.h"
#include "api/resource.h"

namespace podnet::api {

// Fills defaults in place. Never fails: fields of the wrong type are left for
// validation to report.
void applyDefaults(const ResourceInfo& resource, Json& obj);

}  // namespace podnet::api
