#include "api/resource.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>

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
  std::vector<ResourceInfo> table = {
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
      r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, {"pvc"}, true, false,
        "persistentvolumeclaims"),
      r("", "v1", "PersistentVolume", "persistentvolumes", false, {"pv"}, true, false,
        "persistentvolumes"),
      r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, {}, false, false,
        "endpointslices"),
      r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, {"netpol"}, false,
        false, "networkpolicies"),
      r("networking.k8s.io", "v1", "Ingress", "ingresses", true, {"ing"}, true, false, "ingress"),
      r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, {}, false, false,
        "ingressclasses"),
      r("coordination.k8s.io", "v1", "Lease", "leases", true, {}, false, false, "leases"),
      r("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, {"sc"}, false, false,
        "storageclasses"),
      r("apps", "v1", "Deployment", "deployments", true, {"deploy"}, true, true, "deployments"),
      r("apps", "v1", "ReplicaSet", "replicasets", true, {"rs"}, true, true, "replicasets"),
      r("batch", "v1", "Job", "jobs", true, {}, true, false, "jobs"),
      r("batch", "v1", "CronJob", "cronjobs", true, {"cj"}, true, false, "cronjobs"),
      r("apps", "v1", "StatefulSet", "statefulsets", true, {"sts"}, true, true, "statefulsets"),
      r("apps", "v1", "DaemonSet", "daemonsets", true, {"ds"}, true, false, "daemonsets"),
      r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
        false, {"crd", "crds"}, true, false, "apiextensions.k8s.io/customresourcedefinitions"),
      // Stored, not enforced: bundles such as the Gateway API's carry them.
      r("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies", false, {}, true, false, "validatingadmissionpolicies"),
      r("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings", false, {}, false, false,
        "validatingadmissionpolicybindings"),
  };
  // `kubectl get all`: upstream puts the workload kinds and services there.
  for (auto& info : table)
    if (info.kind == "Pod" || info.kind == "Service" || info.kind == "Deployment" ||
        info.kind == "ReplicaSet" || info.kind == "StatefulSet" || info.kind == "DaemonSet" ||
        info.kind == "Job" || info.kind == "CronJob")
      info.categories = {"all"};
  return table;
}

const std::vector<ResourceInfo>& builtinResources() {
  static const std::vector<ResourceInfo> table = makeTable();
  return table;
}

namespace {

// The custom resources. Every ResourceInfo ever registered is kept in
// `owned` (a deque: its elements never move), so pointers handed out stay
// valid after a CRD changes or goes; `served` lists the current ones.
struct CustomCatalog {
  std::shared_mutex mutex;
  std::deque<ResourceInfo> owned;
  std::vector<std::pair<std::string, std::vector<const ResourceInfo*>>> served;  // by CRD
  std::atomic<uint64_t> generation{1};
};

CustomCatalog& customCatalog() {
  static CustomCatalog catalog;
  return catalog;
}

bool sameServing(const ResourceInfo& a, const ResourceInfo& b) {
  return a.group == b.group && a.version == b.version && a.kind == b.kind && a.plural == b.plural &&
         a.singular == b.singular && a.namespaced == b.namespaced && a.shortNames == b.shortNames &&
         a.categories == b.categories && a.hasStatus == b.hasStatus && a.hasScale == b.hasScale &&
         a.storagePrefix == b.storagePrefix && a.custom == b.custom;
}

}  // namespace

std::vector<const ResourceInfo*> allResources() {
  std::vector<const ResourceInfo*> out;
  for (const auto& info : builtinResources()) out.push_back(&info);
  auto& catalog = customCatalog();
  std::shared_lock lock(catalog.mutex);
  for (const auto& [crd, versions] : catalog.served)
    out.insert(out.end(), versions.begin(), versions.end());
  return out;
}

bool setCustomResources(const std::string& crdName, std::vector<ResourceInfo> versions) {
  auto& catalog = customCatalog();
  std::unique_lock lock(catalog.mutex);
  auto collides = [&](const ResourceInfo& info) {
    for (const auto& builtin : builtinResources())
      if (builtin.group == info.group && builtin.version == info.version &&
          builtin.plural == info.plural)
        return true;
    for (const auto& [crd, served] : catalog.served) {
      if (crd == crdName) continue;
      for (const ResourceInfo* other : served)
        if (other->group == info.group && other->version == info.version &&
            other->plural == info.plural)
          return true;
    }
    return false;
  };
  for (const auto& info : versions)
    if (collides(info)) return false;

  auto current = std::find_if(catalog.served.begin(), catalog.served.end(),
                              [&](const auto& entry) { return entry.first == crdName; });
  if (versions.empty()) {
    if (current != catalog.served.end()) {
      catalog.served.erase(current);
      ++catalog.generation;
    }
    return true;
  }
  if (current != catalog.served.end() && current->second.size() == versions.size()) {
    bool same = true;
    for (size_t i = 0; i < versions.size() && same; ++i)
      same = sameServing(*current->second[i], versions[i]);
    if (same) return true;  // re-applied unchanged: keep the registered ones
  }
  std::vector<const ResourceInfo*> registered;
  for (auto& info : versions) registered.push_back(&catalog.owned.emplace_back(std::move(info)));
  if (current != catalog.served.end())
    current->second = std::move(registered);
  else
    catalog.served.emplace_back(crdName, std::move(registered));
  ++catalog.generation;
  return true;
}

std::vector<const ResourceInfo*> customResources(const std::string& crdName) {
  auto& catalog = customCatalog();
  std::shared_lock lock(catalog.mutex);
  for (const auto& [crd, served] : catalog.served)
    if (crd == crdName) return served;
  return {};
}

uint64_t catalogGeneration() { return customCatalog().generation.load(); }

const ResourceInfo* findResource(std::string_view group, std::string_view version,
                                 std::string_view plural) {
  for (const auto& info : builtinResources())
    if (info.group == group && info.version == version && info.plural == plural) return &info;
  auto& catalog = customCatalog();
  std::shared_lock lock(catalog.mutex);
  for (const auto& [crd, served] : catalog.served)
    for (const ResourceInfo* info : served)
      if (info->group == group && info->version == version && info->plural == plural) return info;
  return nullptr;
}

const ResourceInfo* findKind(std::string_view apiVersion, std::string_view kind) {
  for (const auto& info : builtinResources())
    if (info.kind == kind && info.apiVersion() == apiVersion) return &info;
  auto& catalog = customCatalog();
  std::shared_lock lock(catalog.mutex);
  for (const auto& [crd, served] : catalog.served)
    for (const ResourceInfo* info : served)
      if (info->kind == kind && info->apiVersion() == apiVersion) return info;
  return nullptr;
}

const ResourceInfo& resource(std::string_view kind) {
  for (const auto& info : builtinResources())
    if (info.kind == kind) return info;
  std::abort();  // a programming error: every caller names a built-in kind
}

}  // namespace podnet::api
