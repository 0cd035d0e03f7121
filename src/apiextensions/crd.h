// CustomResourceDefinitions (apiextensions.k8s.io/v1): defaulting,
// validation and status as kube-apiserver's apiextensions-apiserver does
// them, and the served versions a CRD turns into. Pure functions of the
// objects; the admission hook (crd_admission.h) applies them.
#pragma once

#include <string>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "core/error.h"

namespace podnet::apiextensions {

using api::Json;

// The finalizer that makes deleting a CRD delete its objects first.
inline constexpr const char* kCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io";

// names.singular and listKind, conversion None, (as SetDefaults_*).
void defaultCrd(Json& crd);

// The CRD's problems, with upstream's paths and messages; `old` for updates.
std::vector<core::Cause> validateCrd(const Json& crd, const Json* old);

// The served resources of a valid CRD, one per served version, with its
// compiled schema (nullptr on a schema problem validateCrd reports).
std::vector<api::ResourceInfo> servedResources(const Json& crd);

// Sets status.acceptedNames, conditions NamesAccepted and Established (and
// Terminating while it is deleted) and storedVersions. `conflict` is why the
// names cannot be served ("" when they can), e.g. `"gateways" is already in
// use`.
void setStatus(Json& crd, const std::string& conflict);

// Why the CRD's names collide with a resource served by something else
// (a built-in or another CRD), or "".
std::string nameConflict(const Json& crd);

}  // namespace podnet::apiextensions
