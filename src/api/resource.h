// The resource types podnet serves: group, version, kind, plural, scope and
// subresources. One table drives routing, discovery, storage keys and codecs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podnet::api {

struct ResourceInfo {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
  std::string plural;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> shortNames;
  bool hasStatus = false;  // a status subresource
  bool hasScale = false;   // a scale subresource (autoscaling/v1 Scale)
  // etcd-compatible key prefix, e.g. "/registry/services/specs/"
  std::string storagePrefix;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string listKind() const { return kind + "List"; }
  // "services" or "deployments.apps": how errors and kubectl name the resource.
  std::string qualifiedPlural() const { return group.empty() ? plural : plural + "." + group; }
  // Storage key of one object: prefix + [ns/] + name.
  std::string key(std::string_view ns, std::string_view name) const;
  // Storage prefix of a namespace ("" = every namespace).
  std::string prefix(std::string_view ns) const;
};

const std::vector<ResourceInfo>& allResources();
const ResourceInfo* findResource(std::string_view group, std::string_view version,
                                 std::string_view plural);
const ResourceInfo* findKind(std::string_view apiVersion, std::string_view kind);
const ResourceInfo& resource(std::string_view kind);  // by Kind; aborts if unknown

}  // namespace podnet::api
