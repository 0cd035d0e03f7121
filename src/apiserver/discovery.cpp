#include "apiserver/discovery.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "api/resource.h"
#include "apiserver/tables.h"
#include "core/version.h"

namespace podnet::apiserver {

namespace {

const std::vector<std::string> kObjectVerbs = {"create", "delete", "deletecollection", "get",
                                               "list",   "patch",  "update",           "watch"};
const std::vector<std::string> kSubresourceVerbs = {"get", "patch", "update"};

// Kubernetes' version priority (apimachinery's CompareKubeAwareVersionStrings):
// GA before beta before alpha, higher numbers first, then other names
// alphabetically. The first is a group's preferred version.
bool versionBefore(const std::string& a, const std::string& b) {
  struct Parsed {
    bool kube = false;
    int major = 0, stage = 3, minor = 0;  // stage: 3 GA, 2 beta, 1 alpha
  };
  auto parse = [](const std::string& v) {
    Parsed p;
    size_t i = 1;
    if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1]))) return p;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])))
      p.major = p.major * 10 + (v[i++] - '0');
    if (i == v.size()) {
      p.kube = true;
      return p;
    }
    std::string rest = v.substr(i);
    size_t digits;
    if (rest.rfind("beta", 0) == 0) {
      p.stage = 2;
      digits = 4;
    } else if (rest.rfind("alpha", 0) == 0) {
      p.stage = 1;
      digits = 5;
    } else {
      return p;
    }
    if (digits == rest.size()) return p;
    for (size_t j = digits; j < rest.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(rest[j]))) return p;
      p.minor = p.minor * 10 + (rest[j] - '0');
    }
    p.kube = true;
    return p;
  };
  Parsed x = parse(a), y = parse(b);
  if (x.kube != y.kube) return x.kube;
  if (!x.kube) return a < b;
  if (x.stage != y.stage) return x.stage > y.stage;
  if (x.major != y.major) return x.major > y.major;
  return x.minor > y.minor;
}

// A subresource the REST handler serves, and what it answers with.
struct Subresource {
  std::string name;  // status, scale, binding
  std::string group;
  std::string version;
  std::string kind;
  std::vector<std::string> verbs;
};

std::vector<Subresource> subresourcesOf(const api::ResourceInfo& info) {
  std::vector<Subresource> subresources;
  // pods/binding: how a scheduler assigns a pod (POST of a v1 Binding).
  if (info.kind == "Pod" && info.group.empty())
    subresources.push_back({"binding", "", "v1", "Binding", {"create"}});
  // serviceaccounts/token: kubectl create token (POST of a TokenRequest).
  if (info.kind == "ServiceAccount" && info.group.empty())
    subresources.push_back({"token", "authentication.k8s.io", "v1", "TokenRequest", {"create"}});
  if (info.hasScale)
    subresources.push_back({"scale", "autoscaling", "v1", "Scale", kSubresourceVerbs});
  if (info.hasStatus)
    subresources.push_back({"status", info.group, info.version, info.kind, kSubresourceVerbs});
  return subresources;
}

std::vector<std::string> groupVersions(std::string_view groupName) {
  std::vector<std::string> versions;
  for (const api::ResourceInfo* info : api::allResources()) {
    if (info->group != groupName) continue;
    bool seen = false;
    for (const auto& v : versions) seen = seen || v == info->version;
    if (!seen) versions.push_back(info->version);
  }
  std::stable_sort(versions.begin(), versions.end(), versionBefore);
  return versions;
}

api::Json groupJson(const std::string& groupName) {
  api::Json versions = api::Json::array();
  for (const auto& version : groupVersions(groupName))
    versions.push_back({{"groupVersion", groupName + "/" + version}, {"version", version}});
  api::Json out = {{"name", groupName}, {"versions", versions}};
  if (!versions.empty()) out["preferredVersion"] = versions[0];
  return out;
}

}  // namespace

api::Json versionInfo() {
  return {{"major", "1"},
          {"minor", core::kKubernetesMinor},
          {"gitVersion", core::kKubernetesVersion},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-01-01T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

api::Json coreVersions(std::string_view serverAddress) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs",
           {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", std::string(serverAddress)}}}}};
}

api::Json groupList() {
  api::Json groups = api::Json::array();
  std::vector<std::string> names;
  for (const api::ResourceInfo* info : api::allResources()) {
    if (info->group.empty()) continue;
    bool seen = false;
    for (const auto& n : names) seen = seen || n == info->group;
    if (!seen) names.push_back(info->group);
  }
  for (const auto& name : names) groups.push_back(groupJson(name));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

api::Json group(std::string_view groupName) {
  if (groupName.empty() || groupVersions(groupName).empty()) return nullptr;
  api::Json out = groupJson(std::string(groupName));
  out["kind"] = "APIGroup";
  out["apiVersion"] = "v1";
  return out;
}

api::Json resourceList(std::string_view groupName, std::string_view version) {
  api::Json resources = api::Json::array();
  for (const api::ResourceInfo* info : api::allResources()) {
    if (info->group != groupName || info->version != version) continue;
    api::Json entry = {{"name", info->plural},
                       {"singularName", info->singular},
                       {"namespaced", info->namespaced},
                       {"kind", info->kind},
                       {"verbs", kObjectVerbs}};
    if (!info->shortNames.empty()) entry["shortNames"] = info->shortNames;
    if (!info->categories.empty()) entry["categories"] = info->categories;
    resources.push_back(std::move(entry));
    for (const auto& sub : subresourcesOf(*info)) {
      api::Json subEntry = {{"name", info->plural + "/" + sub.name},
                            {"singularName", ""},
                            {"namespaced", info->namespaced},
                            {"kind", sub.kind},
                            {"verbs", sub.verbs}};
      // group and version are given only where they differ from the list's
      if (sub.group != info->group || sub.version != info->version) {
        subEntry["group"] = sub.group;
        subEntry["version"] = sub.version;
      }
      resources.push_back(std::move(subEntry));
    }
  }
  if (resources.empty()) return nullptr;
  std::string groupVersion = groupName.empty()
                                 ? std::string(version)
                                 : std::string(groupName) + "/" + std::string(version);
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", groupVersion},
          {"resources", resources}};
}

// ------------------------------------------------- aggregated discovery

std::optional<std::string> aggregatedDiscoveryVersionFor(std::string_view accept) {
  for (const MediaRange& range : parseAccept(accept)) {
    auto param = [&range](const char* key) {
      auto it = range.params.find(key);
      return it == range.params.end() ? std::string() : it->second;
    };
    std::string as = param("as");
    if (range.type == "application/json" && as == "APIGroupDiscoveryList" &&
        param("g") == "apidiscovery.k8s.io" && (param("v") == "v2" || param("v") == "v2beta1"))
      return param("v");
    if (!as.empty()) continue;  // another representation, not served
    if (range.type == "application/json" || range.type == "application/yaml" ||
        range.type == "application/*" || range.type == "*/*")
      return std::nullopt;  // the plain document comes first
  }
  return std::nullopt;
}

std::string aggregatedDiscoveryContentType(const std::string& version) {
  return "application/json;g=apidiscovery.k8s.io;v=" + version + ";as=APIGroupDiscoveryList";
}

api::Json aggregatedDiscovery(bool coreGroup, const std::string& version) {
  auto responseKind = [](const std::string& group, const std::string& groupVersion,
                         const std::string& kind) {
    return api::Json{{"group", group}, {"version", groupVersion}, {"kind", kind}};
  };
  auto resourceEntry = [&](const api::ResourceInfo& info) {
    api::Json entry = {{"resource", info.plural},
                       {"responseKind", responseKind(info.group, info.version, info.kind)},
                       {"scope", info.namespaced ? "Namespaced" : "Cluster"},
                       {"singularResource", info.singular},
                       {"verbs", kObjectVerbs}};
    if (!info.shortNames.empty()) entry["shortNames"] = info.shortNames;
    if (!info.categories.empty()) entry["categories"] = info.categories;
    api::Json subresources = api::Json::array();
    for (const auto& sub : subresourcesOf(info))
      subresources.push_back({{"subresource", sub.name},
                              {"responseKind", responseKind(sub.group, sub.version, sub.kind)},
                              {"verbs", sub.verbs}});
    if (!subresources.empty()) entry["subresources"] = std::move(subresources);
    return entry;
  };

  // Groups in the order first served, versions in preference order.
  std::vector<std::string> groupNames;
  for (const api::ResourceInfo* info : api::allResources()) {
    if (info->group.empty() != coreGroup) continue;
    bool seen = false;
    for (const auto& name : groupNames) seen = seen || name == info->group;
    if (!seen) groupNames.push_back(info->group);
  }
  api::Json groups = api::Json::array();
  for (const auto& groupName : groupNames) {
    api::Json versions = api::Json::array();
    for (const auto& groupVersion : groupVersions(groupName)) {
      api::Json resources = api::Json::array();
      for (const api::ResourceInfo* info : api::allResources())
        if (info->group == groupName && info->version == groupVersion)
          resources.push_back(resourceEntry(*info));
      versions.push_back(
          {{"version", groupVersion}, {"resources", resources}, {"freshness", "Current"}});
    }
    api::Json metadata = api::Json::object();
    if (!groupName.empty()) metadata["name"] = groupName;
    groups.push_back({{"metadata", metadata}, {"versions", versions}});
  }
  return {{"kind", "APIGroupDiscoveryList"},
          {"apiVersion", "apidiscovery.k8s.io/" + version},
          {"metadata", api::Json::object()},
          {"items", groups}};
}

}  // namespace podnet::apiserver
