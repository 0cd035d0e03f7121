// /openapi/v3: the index, the per-group-version documents kubectl's
// --validate=strict and `kubectl explain` read, and their caching.
#include "apiserver/openapi.h"

#include <gtest/gtest.h>

#include <set>

#include "api/resource.h"

namespace podnet::apiserver {
namespace {

using api::Json;

Json parse(const std::string& text) {
  Json value = Json::parse(text, nullptr, false);
  EXPECT_FALSE(value.is_discarded());
  return value;
}

std::string header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers)
    if (key == name) return value;
  return "";
}

TEST(OpenApiTest, IndexListsEveryServedGroupVersion) {
  Json index = openApiV3Index();
  std::set<std::string> expected = {"api/v1",
                                    "apis/apps/v1",
                                    "apis/batch/v1",
                                    "apis/networking.k8s.io/v1",
                                    "apis/discovery.k8s.io/v1",
                                    "apis/coordination.k8s.io/v1",
                                    "apis/storage.k8s.io/v1",
                                    "apis/apiextensions.k8s.io/v1",
                                    "apis/admissionregistration.k8s.io/v1"};
  std::set<std::string> listed;
  for (auto it = index["paths"].begin(); it != index["paths"].end(); ++it) {
    listed.insert(it.key());
    auto document = openApiV3Document(it.key());
    ASSERT_NE(document, nullptr);
    EXPECT_EQ(it.value()["serverRelativeURL"],
              "/openapi/v3/" + it.key() + "?hash=" + document->hash);
    EXPECT_EQ(document->hash.size(), 128u);  // SHA-512 in hex
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(openApiV3Document("apis/autoscaling/v1"), nullptr);
}

// What kubectl's query-param verifier looks for: the PATCH operation of the
// GVK with a fieldValidation query parameter.
bool patchSupportsFieldValidation(const Json& document, const std::string& group,
                                  const std::string& version, const std::string& kind) {
  bool found = false;
  for (const auto& [path, item] : document["paths"].items()) {
    if (!item.contains("patch")) continue;
    const Json& gvk = item["patch"]["x-kubernetes-group-version-kind"];
    if (gvk["group"] != group || gvk["version"] != version || gvk["kind"] != kind) continue;
    bool has = false;
    for (const auto& parameter : item["patch"]["parameters"])
      has = has || (parameter["name"] == "fieldValidation" && parameter["in"] == "query");
    if (!has) return false;  // kubectl stops at the first patch of the GVK
    found = true;
  }
  return found;
}

TEST(OpenApiTest, EveryServedKindsPatchTakesFieldValidation) {
  for (const auto& resource : api::builtinResources()) {
    std::string path = resource.group.empty() ? "api/" + resource.version
                                              : "apis/" + resource.group + "/" + resource.version;
    auto document = openApiV3Document(path);
    ASSERT_NE(document, nullptr) << path;
    Json doc = parse(document->body);
    EXPECT_EQ(doc["openapi"], "3.0.0");
    EXPECT_TRUE(patchSupportsFieldValidation(doc, resource.group, resource.version, resource.kind))
        << resource.kind;
  }
}

TEST(OpenApiTest, ComponentSchemasCarryGvkAndPatchMetadata) {
  Json doc = parse(openApiV3Document("api/v1")->body);
  const Json& schemas = doc["components"]["schemas"];
  const Json& service = schemas["io.k8s.api.core.v1.Service"];
  ASSERT_TRUE(service.is_object());
  EXPECT_EQ(service["x-kubernetes-group-version-kind"],
            Json::parse(R"([{"group":"","version":"v1","kind":"Service"}])"));
  EXPECT_NE(service["description"].get<std::string>().find("Service is a named abstraction"),
            std::string::npos);  // what kubectl explain prints
  EXPECT_EQ(service["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.ServiceSpec");
  const Json& ports = schemas["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"];
  EXPECT_EQ(ports["type"], "array");
  EXPECT_EQ(ports["x-kubernetes-patch-merge-key"], "port");
  EXPECT_EQ(ports["x-kubernetes-patch-strategy"], "merge");
  EXPECT_EQ(ports["x-kubernetes-list-type"], "map");
  EXPECT_EQ(ports["x-kubernetes-list-map-keys"], Json::parse(R"(["port","protocol"])"));
  // Inlined members are flattened: a ConfigMapKeySelector has "name".
  EXPECT_TRUE(schemas["io.k8s.api.core.v1.ConfigMapKeySelector"]["properties"].contains("name"));
  EXPECT_EQ(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"], "int-or-string");
  EXPECT_TRUE(schemas.contains("io.k8s.api.core.v1.ServiceList"));

  // Every $ref resolves.
  std::function<void(const Json&)> check = [&](const Json& value) {
    if (value.is_object()) {
      if (auto it = value.find("$ref"); it != value.end()) {
        std::string target = it->get<std::string>();
        ASSERT_EQ(target.rfind("#/components/schemas/", 0), 0u) << target;
        EXPECT_TRUE(schemas.contains(target.substr(21))) << target;
      }
      for (const auto& child : value) check(child);
    } else if (value.is_array()) {
      for (const auto& child : value) check(child);
    }
  };
  for (const char* path :
       {"api/v1", "apis/apps/v1", "apis/networking.k8s.io/v1", "apis/discovery.k8s.io/v1"}) {
    Json document = parse(openApiV3Document(path)->body);
    const Json& own = document["components"]["schemas"];
    std::function<void(const Json&)> local = [&](const Json& value) {
      if (value.is_object()) {
        if (auto it = value.find("$ref"); it != value.end())
          EXPECT_TRUE(own.contains(it->get<std::string>().substr(21))) << path << " " << *it;
        for (const auto& child : value) local(child);
      } else if (value.is_array()) {
        for (const auto& child : value) local(child);
      }
    };
    local(document);
  }
  check(doc);

  Json apps = parse(openApiV3Document("apis/apps/v1")->body);
  EXPECT_TRUE(
      apps["paths"].contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"));
  EXPECT_EQ(apps["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"]
                ["x-kubernetes-group-version-kind"][0]["kind"],
            "Scale");
}

TEST(OpenApiTest, ServeIndexAndDocuments) {
  HttpResponse index = serveOpenApi(parseRoute("/openapi/v3"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.contentType, "application/json");
  Json parsed = parse(index.body);
  std::string url = parsed["paths"]["api/v1"]["serverRelativeURL"];

  HttpResponse pinned = serveOpenApi(parseRoute(url));
  EXPECT_EQ(pinned.status, 200);
  EXPECT_EQ(header(pinned, "Cache-Control"), "public, immutable");
  EXPECT_FALSE(header(pinned, "Expires").empty());
  auto document = openApiV3Document("api/v1");
  EXPECT_EQ(header(pinned, "Etag"), "\"" + document->hash + "\"");
  EXPECT_EQ(pinned.body, document->body);

  HttpResponse unpinned = serveOpenApi(parseRoute("/openapi/v3/api/v1"));
  EXPECT_EQ(unpinned.status, 200);
  EXPECT_EQ(header(unpinned, "Cache-Control"), "");
  EXPECT_FALSE(header(unpinned, "Etag").empty());

  HttpResponse stale = serveOpenApi(parseRoute("/openapi/v3/api/v1?hash=ABC"));
  EXPECT_EQ(stale.status, 301);
  EXPECT_EQ(header(stale, "Location"), url);

  EXPECT_EQ(serveOpenApi(parseRoute("/openapi/v3/apis/autoscaling/v1")).status, 404);
  EXPECT_EQ(serveOpenApi(parseRoute("/openapi/v3/api")).status, 404);
}

TEST(OpenApiTest, Routing) {
  EXPECT_EQ(parseRoute("/openapi/v3").kind, RouteKind::OpenApi);
  EXPECT_EQ(parseRoute("/openapi/v3/apis/apps/v1?hash=X").kind, RouteKind::OpenApi);
  // /openapi/v2 (no definitions) is for kubectl's check of a `kind: List`.
  EXPECT_EQ(parseRoute("/openapi/v2").kind, RouteKind::OpenApi);
  EXPECT_EQ(parseRoute("/openapi/v2/x").kind, RouteKind::NotFound);
  HttpResponse v2 = serveOpenApi(parseRoute("/openapi/v2"),
                                 "application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
  EXPECT_EQ(v2.contentType, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
  EXPECT_EQ(v2.body.substr(0, 5), std::string("\x0a\x03") + "2.0");
}

TEST(OpenApiTest, DocumentsStaySmall) {
  // Covered end to end in tests/integration/openapi_test.cpp; here only the
  // document sizes stay sane.
  for (const char* path : {"api/v1", "apis/apps/v1"})
    EXPECT_LT(openApiV3Document(path)->body.size(), 2u * 1024 * 1024) << path;
}

}  // namespace
}  // namespace podnet::apiserver
