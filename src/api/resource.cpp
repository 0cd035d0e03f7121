#include "api/resource.h"

#include <cstdlib>

namespace podnet::api {

std::string ResourceInfo::key(std::string_view ns, std::string_view name) const {
  std::string k = storagePrefix;
  if (namespaced) {
    k += ns;
    k += '/';
  }
  k += name;
  return k;
}

std::string ResourceInfo::prefix(std::string_view ns) const {
  if (!namespaced || ns.empty()) return storagePrefix;
  return storagePrefix + std::string(ns) + "/";
}

static std::vector<ResourceInfo> makeTable() {
  auto r = [](std::string group, std::string version, std::string kind, std::string plural,
              bool namespaced, std::vector<std::string> shortNames, bool status, bool scale,
              std::string storage) {
    ResourceInfo info;
    info.group = std::move(group);
    info.version = std::move(version);
    info.kind = std::move(kind);
    info.plural = std::move(plural);
    info.singular = info.kind;
    for (auto& c : info.singular) c = char(std::tolower(static_cast<unsigned char>(c)));
    info.namespaced = namespaced;
    info.shortNames = std::move(shortNames);
    info.hasStatus = status;
    info.hasScale = scale;
    info.storagePrefix = "/registry/" + storage + "/";
    return info;
  };
  return {
      r("", "v1", "Namespace", "namespaces", false, {"ns"}, true, false, "namespaces"),
      r("", "v1", "Node", "nodes", false, {"no"}, true, false, "minions"),
      r("", "v1", "Pod", "pods", true, {"po"}, true, false, "pods"),
      r("", "v1", "Service", "services", true, {"svc"}, true, false, "services/specs"),
      r("", "v1", "Endpoints", "endpoints", true, {"ep"}, false, false, "services/endpoints"),
      r("", "v1", "Secret", "secrets", true, {}, false, false, "secrets"),
      r("", "v1", "ConfigMap", "configmaps", true, {"cm"}, false, false, "configmaps"),
      r("", "v1", "Event", "events", true, {"ev"}, false, false, "events"),
      r("", "v1", "ServiceAccount", "serviceaccounts", true, {"sa"}, false, false,
        "serviceaccounts"),
      r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, {}, false, false,
        "endpointslices"),
      r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, {"netpol"}, false,
        false, "networkpolicies"),
      r("networking.k8s.io", "v1", "Ingress", "ingresses", true, {"ing"}, true, false, "ingress"),
      r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, {}, false, false,
        "ingressclasses"),
      r("apps", "v1", "Deployment", "deployments", true, {"deploy"}, true, true, "deployments"),
      r("apps", "v1", "ReplicaSet", "replicasets", true, {"rs"}, true, true, "replicasets"),
      r("batch", "v1", "Job", "jobs", true, {}, true, false, "jobs"),
      r("batch", "v1", "CronJob", "cronjobs", true, {"cj"}, true, false, "cronjobs"),
  };
}

const std::vector<ResourceInfo>& allResources() {
  static const std::vector<ResourceInfo> table = makeTable();
  return table;
}

const ResourceInfo* findResource(std::string_view group, std::string_view version,
                                 std::string_view plural) {
  for (const auto& info : allResources())
    if (info.group == group && info.version == version && info.plural == plural) return &info;
  return nullptr;
}

const ResourceInfo* findKind(std::string_view apiVersion, std::string_view kind) {
  for (const auto& info : allResources())
    if (info.kind == kind && info.apiVersion() == apiVersion) return &info;
  return nullptr;
}

const ResourceInfo& resource(std::string_view kind) {
  for (const auto& info : allResources())
    if (info.kind == kind) return info;
  std::abort();  // a programming error: every caller names a served kind
}

}  // namespace podnet::api
