// The resource types podnet serves: group, version, kind, plural, scope and
// subresources. One catalog drives routing, discovery, storage keys and
// codecs: the built-in kinds (a fixed table) and the custom resources of the
// CustomResourceDefinitions in the store (added and removed at run time).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace podnet::api {

namespace schema {
struct Message;
}

// What a served version of a custom resource adds to its ResourceInfo: the
// CRD's schema and columns (defined by the apiextensions component).
struct CustomResource;

struct ResourceInfo {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;  // "all" puts it in `kubectl get all`
  bool hasStatus = false;               // a status subresource
  bool hasScale = false;                // a scale subresource (autoscaling/v1 Scale)
  // etcd-compatible key prefix, e.g. "/registry/services/specs/"
  std::string storagePrefix;
  // Custom resources only: the CRD's schema, columns and storage version.
  // Objects of every served version of a CRD share one storagePrefix.
  std::shared_ptr<const CustomResource> custom;
  // The shape of the kind for strict validation and server-side apply
  // (custom resources: compiled from the CRD's schema; built-ins: nullptr,
  // see schema::forKind).
  const schema::Message* message = nullptr;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string listKind() const { return kind + "List"; }
  // "services" or "deployments.apps": how errors and kubectl name the resource.
  std::string qualifiedPlural() const { return group.empty() ? plural : plural + "." + group; }
  // Storage key of one object: prefix + [ns/] + name.
  std::string key(std::string_view ns, std::string_view name) const;
  // Storage prefix of a namespace ("" = every namespace).
  std::string prefix(std::string_view ns) const;
};

// The built-in kinds, in a fixed order.
const std::vector<ResourceInfo>& builtinResources();

// Everything served now: the built-ins, then custom resources in the order
// their CRDs were registered. Pointers stay valid for the life of the process
// (a replaced or removed custom resource is retired, never freed), so callers
// may keep them across a CRD change.
std::vector<const ResourceInfo*> allResources();

// Replaces the served versions of one CRD (by its name, "plural.group") with
// `versions` (an empty list removes them). Returns false, changing nothing,
// when a version collides with a resource served by something else.
bool setCustomResources(const std::string& crdName, std::vector<ResourceInfo> versions);
// The versions currently registered for that CRD.
std::vector<const ResourceInfo*> customResources(const std::string& crdName);
// Changes on every setCustomResources that changes what is served (discovery
// and /openapi/v3 hashes follow it).
uint64_t catalogGeneration();

const ResourceInfo* findResource(std::string_view group, std::string_view version,
                                 std::string_view plural);
const ResourceInfo* findKind(std::string_view apiVersion, std::string_view kind);
const ResourceInfo& resource(std::string_view kind);  // a built-in by Kind; aborts if unknown

}  // namespace podnet::api
