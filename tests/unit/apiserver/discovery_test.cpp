#include "apiserver/discovery.h"

#include <gtest/gtest.h>

#include "apiserver/handler.h"

namespace podnet::apiserver {
namespace {

using api::Json;

const Json* findResource(const Json& list, const std::string& group, const std::string& plural) {
  for (const auto& item : list["items"]) {
    std::string name = item["metadata"].value("name", "");
    if (name != group) continue;
    for (const auto& version : item["versions"])
      for (const auto& resource : version["resources"])
        if (resource["resource"] == plural) return &resource;
  }
  return nullptr;
}

TEST(AggregatedDiscovery, NegotiatedFromKubectlsAccept) {
  const char* kubectl =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
      "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
  EXPECT_EQ(aggregatedDiscoveryVersionFor(kubectl), "v2");
  EXPECT_EQ(aggregatedDiscoveryVersionFor(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"),
            "v2beta1");
  EXPECT_EQ(aggregatedDiscoveryVersionFor("application/json, */*"), std::nullopt);
  EXPECT_EQ(aggregatedDiscoveryVersionFor(""), std::nullopt);
  EXPECT_EQ(aggregatedDiscoveryVersionFor(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"),
            std::nullopt);
  EXPECT_EQ(aggregatedDiscoveryContentType("v2"),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
}

TEST(AggregatedDiscovery, CoreGroup) {
  Json core = aggregatedDiscovery(true, "v2");
  EXPECT_EQ(core["kind"], "APIGroupDiscoveryList");
  EXPECT_EQ(core["apiVersion"], "apidiscovery.k8s.io/v2");
  ASSERT_EQ(core["items"].size(), 1u);
  EXPECT_EQ(core["items"][0]["versions"][0]["version"], "v1");
  EXPECT_EQ(core["items"][0]["versions"][0]["freshness"], "Current");

  const Json* pods = findResource(core, "", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["responseKind"], Json({{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}));
  EXPECT_EQ((*pods)["scope"], "Namespaced");
  EXPECT_EQ((*pods)["singularResource"], "pod");
  EXPECT_EQ((*pods)["shortNames"], Json({"po"}));
  EXPECT_EQ((*pods)["categories"], Json({"all"}));
  EXPECT_NE(std::find((*pods)["verbs"].begin(), (*pods)["verbs"].end(), "watch"),
            (*pods)["verbs"].end());
  std::set<std::string> subresources;
  for (const auto& sub : (*pods)["subresources"]) subresources.insert(sub["subresource"]);
  EXPECT_EQ(subresources, (std::set<std::string>{"binding", "status"}));

  const Json* nodes = findResource(core, "", "nodes");
  ASSERT_NE(nodes, nullptr);
  EXPECT_EQ((*nodes)["scope"], "Cluster");
  EXPECT_EQ((*nodes)["shortNames"], Json({"no"}));
  for (const char* plural : {"services", "endpoints", "namespaces", "configmaps", "secrets",
                             "persistentvolumeclaims", "persistentvolumes"})
    EXPECT_NE(findResource(core, "", plural), nullptr) << plural;
  EXPECT_EQ((*findResource(core, "", "persistentvolumes"))["scope"], "Cluster");
  EXPECT_EQ((*findResource(core, "", "persistentvolumeclaims"))["shortNames"], Json({"pvc"}));
  EXPECT_EQ(findResource(core, "apps", "deployments"), nullptr);
}

TEST(AggregatedDiscovery, NamedGroupsWithScaleSubresources) {
  Json groups = aggregatedDiscovery(false, "v2beta1");
  EXPECT_EQ(groups["apiVersion"], "apidiscovery.k8s.io/v2beta1");
  std::set<std::string> names;
  for (const auto& item : groups["items"]) names.insert(item["metadata"]["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"apps", "batch", "networking.k8s.io", "discovery.k8s.io",
                                          "storage.k8s.io", "apiextensions.k8s.io",
                                          "admissionregistration.k8s.io", "coordination.k8s.io"}));

  const Json* deployments = findResource(groups, "apps", "deployments");
  ASSERT_NE(deployments, nullptr);
  EXPECT_EQ((*deployments)["shortNames"], Json({"deploy"}));
  EXPECT_EQ((*deployments)["categories"], Json({"all"}));
  bool scale = false;
  for (const auto& sub : (*deployments)["subresources"])
    if (sub["subresource"] == "scale")
      scale = sub["responseKind"] ==
                  Json({{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}) &&
              sub["verbs"] == Json({"get", "patch", "update"});
  EXPECT_TRUE(scale);
  const Json* netpol = findResource(groups, "networking.k8s.io", "networkpolicies");
  ASSERT_NE(netpol, nullptr);
  EXPECT_EQ((*netpol)["shortNames"], Json({"netpol"}));
  EXPECT_FALSE(netpol->contains("categories"));
  const Json* ingressClasses = findResource(groups, "networking.k8s.io", "ingressclasses");
  ASSERT_NE(ingressClasses, nullptr);
  EXPECT_EQ((*ingressClasses)["scope"], "Cluster");
  EXPECT_NE(findResource(groups, "discovery.k8s.io", "endpointslices"), nullptr);
  const Json* storageClasses = findResource(groups, "storage.k8s.io", "storageclasses");
  ASSERT_NE(storageClasses, nullptr);
  EXPECT_EQ((*storageClasses)["scope"], "Cluster");
  EXPECT_EQ((*storageClasses)["shortNames"], Json({"sc"}));
}

TEST(Discovery, PlainResourceListKeepsSubresources) {
  Json core = resourceList("", "v1");
  std::set<std::string> names;
  for (const auto& r : core["resources"]) names.insert(r["name"]);
  EXPECT_TRUE(names.count("pods/status"));
  EXPECT_TRUE(names.count("pods/binding"));
  EXPECT_TRUE(names.count("serviceaccounts/token"));
  for (const auto& r : core["resources"])
    if (r["name"] == "serviceaccounts/token") {
      EXPECT_EQ(r["group"], "authentication.k8s.io");
      EXPECT_EQ(r["kind"], "TokenRequest");
      EXPECT_EQ(r["verbs"], Json::array({"create"}));
    }
  std::set<std::string> batch;
  Json batchList = resourceList("batch", "v1");
  for (const auto& r : batchList["resources"]) batch.insert(r["name"]);
  EXPECT_EQ(batch, (std::set<std::string>{"jobs", "jobs/status", "cronjobs", "cronjobs/status"}));
  Json apps = resourceList("apps", "v1");
  for (const auto& r : apps["resources"]) {
    if (r["name"] == "deployments/scale") {
      EXPECT_EQ(r["group"], "autoscaling");
      EXPECT_EQ(r["kind"], "Scale");
    }
    if (r["name"] == "deployments/status") {
      EXPECT_FALSE(r.contains("group"));
    }
  }
}

class NoClient : public client::Client {
 public:
  core::Result<Json> create(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("none");
  }
  core::Result<Json> get(const api::ResourceInfo&, std::string_view, std::string_view) override {
    return core::internal("none");
  }
  core::Result<Json> update(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("none");
  }
  core::Result<Json> remove(const api::ResourceInfo&, std::string_view, std::string_view,
                            const client::DeleteOptions&) override {
    return core::internal("none");
  }
  core::Result<Json> list(const api::ResourceInfo&, std::string_view,
                          const client::ListOptions&) override {
    return core::internal("none");
  }
  core::Result<std::unique_ptr<client::Watcher>> watch(const api::ResourceInfo&, std::string_view,
                                                       const client::ListOptions&) override {
    return core::internal("none");
  }
};

TEST(AggregatedDiscovery, ServedOnApiAndApisOnlyWhenAsked) {
  NoClient client;
  Handler handler(client, nullptr, HandlerOptions{});
  auto get = [&](const char* target, const char* accept) {
    HttpRequest request;
    request.method = "GET";
    request.target = target;
    request.accept = accept;
    return handler.handle(request);
  };
  const char* aggregated =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
  for (const char* path : {"/api", "/apis"}) {
    auto response = get(path, aggregated);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.contentType,
              "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    EXPECT_EQ(Json::parse(response.body)["kind"], "APIGroupDiscoveryList");
  }
  EXPECT_EQ(Json::parse(get("/api", "application/json").body)["kind"], "APIVersions");
  EXPECT_EQ(Json::parse(get("/apis", "application/json, */*").body)["kind"], "APIGroupList");
  // Group versions keep their APIResourceList whatever the Accept.
  EXPECT_EQ(Json::parse(get("/apis/apps/v1", aggregated).body)["kind"], "APIResourceList");
}

}  // namespace
}  // namespace podnet::apiserver
