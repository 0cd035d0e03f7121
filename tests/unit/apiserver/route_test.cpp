#include "apiserver/route.h"

#include <gtest/gtest.h>

#include "apiserver/media.h"

namespace podnet::apiserver {
namespace {

TEST(Route, CoreNamespacedObject) {
  Route route = parseRoute("/api/v1/namespaces/default/pods/web");
  ASSERT_EQ(route.kind, RouteKind::Resource);
  EXPECT_EQ(route.resource->kind, "Pod");
  EXPECT_EQ(route.ns, "default");
  EXPECT_EQ(route.name, "web");
  EXPECT_EQ(route.subresource, "");
  EXPECT_FALSE(route.isCollection());
}

TEST(Route, CollectionAcrossNamespaces) {
  Route route = parseRoute("/api/v1/pods?limit=500&labelSelector=app%3Dweb");
  ASSERT_EQ(route.kind, RouteKind::Resource);
  EXPECT_TRUE(route.isCollection());
  EXPECT_EQ(route.ns, "");
  EXPECT_EQ(route.queryValue("limit"), "500");
  EXPECT_EQ(route.queryValue("labelSelector"), "app=web");
}

TEST(Route, NamespacedObjectNeedsNamespace) {
  EXPECT_EQ(parseRoute("/api/v1/pods/web").kind, RouteKind::NotFound);
}

TEST(Route, NamespaceObjectAndItsStatus) {
  Route ns = parseRoute("/api/v1/namespaces/kube-system");
  ASSERT_EQ(ns.kind, RouteKind::Resource);
  EXPECT_EQ(ns.resource->kind, "Namespace");
  EXPECT_EQ(ns.name, "kube-system");
  EXPECT_EQ(ns.ns, "");
  Route status = parseRoute("/api/v1/namespaces/kube-system/status");
  ASSERT_EQ(status.kind, RouteKind::Resource);
  EXPECT_EQ(status.resource->kind, "Namespace");
  EXPECT_EQ(status.name, "kube-system");
  EXPECT_EQ(status.subresource, "status");
  Route list = parseRoute("/api/v1/namespaces");
  EXPECT_TRUE(list.isCollection());
}

TEST(Route, GroupResourcesAndSubresources) {
  Route scale = parseRoute("/apis/apps/v1/namespaces/ns1/deployments/web/scale");
  ASSERT_EQ(scale.kind, RouteKind::Resource);
  EXPECT_EQ(scale.resource->kind, "Deployment");
  EXPECT_EQ(scale.subresource, "scale");
  Route status = parseRoute("/api/v1/namespaces/a/services/s/status");
  EXPECT_EQ(status.subresource, "status");
  // Services have no scale, ConfigMaps no status.
  EXPECT_EQ(parseRoute("/api/v1/namespaces/a/services/s/scale").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/api/v1/namespaces/a/configmaps/c/status").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/api/v1/namespaces/a/services/s/status/x").kind, RouteKind::NotFound);
}

TEST(Route, ClusterScopedNeverUnderNamespace) {
  Route node = parseRoute("/api/v1/nodes/n1");
  ASSERT_EQ(node.kind, RouteKind::Resource);
  EXPECT_EQ(node.resource->kind, "Node");
  EXPECT_EQ(parseRoute("/api/v1/namespaces/a/nodes/n1").kind, RouteKind::NotFound);
  Route ingressClass = parseRoute("/apis/networking.k8s.io/v1/ingressclasses/nginx");
  ASSERT_EQ(ingressClass.kind, RouteKind::Resource);
  EXPECT_FALSE(ingressClass.resource->namespaced);
}

TEST(Route, WrongGroupOrVersion) {
  EXPECT_EQ(parseRoute("/apis/apps/v1/namespaces/a/pods").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/api/v2/pods").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/apis/nosuch.io/v1").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/apis/apps/v1beta1").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/nothing/here").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("").kind, RouteKind::NotFound);
  EXPECT_EQ(parseRoute("/").kind, RouteKind::NotFound);
}

TEST(Route, Discovery) {
  EXPECT_EQ(parseRoute("/api?timeout=32s").kind, RouteKind::CoreVersions);
  EXPECT_EQ(parseRoute("/apis").kind, RouteKind::GroupList);
  EXPECT_EQ(parseRoute("/apis/apps").kind, RouteKind::Group);
  EXPECT_EQ(parseRoute("/api/v1").kind, RouteKind::ResourceList);
  Route groupVersion = parseRoute("/apis/discovery.k8s.io/v1/");
  EXPECT_EQ(groupVersion.kind, RouteKind::ResourceList);
  EXPECT_EQ(groupVersion.group, "discovery.k8s.io");
  EXPECT_EQ(parseRoute("/version?timeout=5s").kind, RouteKind::Version);
  EXPECT_EQ(parseRoute("/readyz").kind, RouteKind::Health);
  EXPECT_EQ(parseRoute("/livez/ping").kind, RouteKind::Health);
}

TEST(Route, LegacyWatchPrefix) {
  Route route = parseRoute("/api/v1/watch/namespaces/default/pods");
  ASSERT_EQ(route.kind, RouteKind::Resource);
  EXPECT_TRUE(route.watchPrefix);
  EXPECT_TRUE(route.isCollection());
}

TEST(Route, PercentDecoding) {
  EXPECT_EQ(percentDecode("a%2Cb+c", true), "a,b c");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_EQ(percentDecode("%zz%4", true), "%zz%4");
  EXPECT_EQ(percentDecode("%", true), "%");
  auto query = parseQuery("fieldSelector=spec.nodeName%3Dn1&watch&&x=1&x=2");
  EXPECT_EQ(query["fieldSelector"], "spec.nodeName=n1");
  EXPECT_EQ(query.count("watch"), 1u);
  EXPECT_EQ(query["x"], "2");
}

TEST(Route, NeverCrashesOnOddTargets) {
  for (const char* target : {"?", "??", "/api/v1/namespaces//pods", "/%", "/api/v1/namespaces/a/",
                             "/api/v1/watch", "/api/v1/watch/namespaces", "//api//v1//nodes//x",
                             "/apis/apps/v1/namespaces/a/deployments/b/scale/c/d"})
    (void)parseRoute(target);
  Route doubled = parseRoute("//api//v1//nodes//x");
  EXPECT_EQ(doubled.kind, RouteKind::Resource);
}

TEST(Media, BodyAndPatchTypes) {
  EXPECT_EQ(bodyFormatOf(""), BodyFormat::Json);
  EXPECT_EQ(bodyFormatOf("application/json; charset=utf-8"), BodyFormat::Json);
  EXPECT_EQ(bodyFormatOf("Application/YAML"), BodyFormat::Yaml);
  EXPECT_EQ(bodyFormatOf("application/vnd.kubernetes.protobuf"), BodyFormat::Protobuf);
  EXPECT_EQ(bodyFormatOf("text/html"), BodyFormat::Unsupported);
  EXPECT_EQ(patchTypeOf("application/merge-patch+json"), PatchType::Merge);
  EXPECT_EQ(patchTypeOf("application/json-patch+json"), PatchType::JsonPatch);
  EXPECT_EQ(patchTypeOf("application/strategic-merge-patch+json"), PatchType::StrategicMerge);
  EXPECT_EQ(patchTypeOf("application/apply-patch+yaml"), PatchType::Apply);
  EXPECT_EQ(patchTypeOf("application/json"), PatchType::Unsupported);
}

TEST(Media, AcceptNegotiation) {
  EXPECT_EQ(negotiateResponse(""), ResponseFormat::Json);
  EXPECT_EQ(negotiateResponse("application/vnd.kubernetes.protobuf,application/json"),
            ResponseFormat::Json);
  EXPECT_EQ(negotiateResponse("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
            ResponseFormat::Json);
  EXPECT_EQ(negotiateResponse("application/json;g=apidiscovery.k8s.io;v=v2;as="
                              "APIGroupDiscoveryList,application/json"),
            ResponseFormat::Json);
  EXPECT_EQ(negotiateResponse("application/json, */*"), ResponseFormat::Json);
  EXPECT_EQ(negotiateResponse("application/yaml"), ResponseFormat::Yaml);
  EXPECT_EQ(negotiateResponse("application/vnd.kubernetes.protobuf"),
            ResponseFormat::NotAcceptable);
  EXPECT_EQ(negotiateResponse("application/json;as=Table;v=v1;g=meta.k8s.io"),
            ResponseFormat::NotAcceptable);
}

}  // namespace
}  // namespace podnet::apiserver
