#include "apiserver/discovery.h"

#include <set>
#include <vector>

#include "api/resource.h"

namespace podnet::apiserver {

namespace {

const char* const kObjectVerbs[] = {"create", "delete", "deletecollection", "get",
                                    "list",   "patch",  "update",           "watch"};
const char* const kSubresourceVerbs[] = {"get", "patch", "update"};

// `kubectl get all` lists the resources in the "all" category; upstream puts
// the workload kinds and services there.
bool inCategoryAll(const api::ResourceInfo& info) {
  static const std::set<std::string> kinds = {"Pod", "Service", "Deployment", "ReplicaSet"};
  return kinds.count(info.kind) != 0;
}

std::vector<std::string> groupVersions(std::string_view groupName) {
  std::vector<std::string> versions;
  for (const auto& info : api::allResources()) {
    if (info.group != groupName) continue;
    bool seen = false;
    for (const auto& v : versions) seen = seen || v == info.version;
    if (!seen) versions.push_back(info.version);
  }
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
          {"minor", "32"},
          {"gitVersion", "v1.32.0-podnet"},
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
  for (const auto& info : api::allResources()) {
    if (info.group.empty()) continue;
    bool seen = false;
    for (const auto& n : names) seen = seen || n == info.group;
    if (!seen) names.push_back(info.group);
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
  for (const auto& info : api::allResources()) {
    if (info.group != groupName || info.version != version) continue;
    api::Json entry = {{"name", info.plural},
                       {"singularName", info.singular},
                       {"namespaced", info.namespaced},
                       {"kind", info.kind},
                       {"verbs", kObjectVerbs}};
    if (!info.shortNames.empty()) entry["shortNames"] = info.shortNames;
    if (inCategoryAll(info)) entry["categories"] = {"all"};
    resources.push_back(std::move(entry));
    if (info.hasStatus)
      resources.push_back({{"name", info.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", info.namespaced},
                           {"kind", info.kind},
                           {"verbs", kSubresourceVerbs}});
    if (info.hasScale)
      resources.push_back({{"name", info.plural + "/scale"},
                           {"singularName", ""},
                           {"namespaced", info.namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", kSubresourceVerbs}});
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

}  // namespace podnet::apiserver
