#include "apiserver/handler.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <tuple>

#include "api/object.h"
#include "apiserver/discovery.h"

namespace podnet::apiserver {
namespace {

using api::Json;

// A small in-memory client::Client: enough storage semantics (resource
// versions, compare-and-swap, not found, already exists) to test the REST
// layer on its own.
class FakeClient : public client::Client {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;

  core::Result<Json> create(const api::ResourceInfo& resource, std::string_view ns, Json obj,
                            const client::WriteOptions& options) override {
    Key key{resource.plural, resource.namespaced ? std::string(ns) : "", api::name(obj)};
    if (objects.count(key))
      return core::alreadyExists(resource.group, resource.plural, api::name(obj));
    if (api::name(obj).empty())
      return core::invalid(resource.group, resource.kind, "",
                           {{"FieldValueRequired",
                             "Required value: name or generateName is required", "metadata.name"}});
    obj["metadata"]["resourceVersion"] = std::to_string(++revision);
    lastWrite = options;
    if (!options.dryRun) objects[key] = obj;
    return obj;
  }
  core::Result<Json> get(const api::ResourceInfo& resource, std::string_view ns,
                         std::string_view name) override {
    auto it = objects.find(
        Key{resource.plural, resource.namespaced ? std::string(ns) : "", std::string(name)});
    if (it == objects.end())
      return core::notFound(resource.group, resource.plural, std::string(name));
    return it->second;
  }
  core::Result<Json> update(const api::ResourceInfo& resource, std::string_view ns, Json obj,
                            const client::WriteOptions& options) override {
    auto current = get(resource, ns, api::name(obj));
    if (!current) return current.takeError();
    std::string wanted = api::resourceVersion(obj);
    if (!wanted.empty() && wanted != api::resourceVersion(*current))
      return core::conflict(resource.group, resource.plural, api::name(obj), "stale");
    obj["metadata"]["resourceVersion"] = std::to_string(++revision);
    lastWrite = options;
    objects[Key{resource.plural, resource.namespaced ? std::string(ns) : "", api::name(obj)}] = obj;
    return obj;
  }
  core::Result<Json> remove(const api::ResourceInfo& resource, std::string_view ns,
                            std::string_view name, const client::DeleteOptions& options) override {
    auto current = get(resource, ns, name);
    if (!current) return current.takeError();
    lastDelete = options;
    objects.erase(
        Key{resource.plural, resource.namespaced ? std::string(ns) : "", std::string(name)});
    return current;
  }
  core::Result<Json> list(const api::ResourceInfo& resource, std::string_view ns,
                          const client::ListOptions& options) override {
    lastList = options;
    Json items = Json::array();
    for (const auto& [key, obj] : objects)
      if (std::get<0>(key) == resource.plural && (ns.empty() || std::get<1>(key) == ns))
        items.push_back(obj);
    return Json{{"kind", resource.listKind()},
                {"metadata", {{"resourceVersion", std::to_string(revision)}}},
                {"items", items}};
  }

  class ScriptedWatcher : public client::Watcher {
   public:
    explicit ScriptedWatcher(std::deque<core::Result<std::vector<client::WatchEvent>>> script)
        : script_(std::move(script)) {}
    core::Result<std::vector<client::WatchEvent>> next(std::chrono::milliseconds) override {
      if (script_.empty()) return std::vector<client::WatchEvent>{};
      auto front = std::move(script_.front());
      script_.pop_front();
      return front;
    }

   private:
    std::deque<core::Result<std::vector<client::WatchEvent>>> script_;
  };

  core::Result<std::unique_ptr<client::Watcher>> watch(
      const api::ResourceInfo& resource, std::string_view ns,
      const client::ListOptions& options) override {
    lastList = options;
    if (options.resourceVersion == "1") return core::gone("too old resource version: 1 (5)");
    if (options.resourceVersion == "bad") return core::badRequest("bad resourceVersion");
    std::deque<core::Result<std::vector<client::WatchEvent>>> script;
    script.push_back(std::vector<client::WatchEvent>{{"ADDED", Json{{"kind", "Pod"}}}});
    script.push_back(core::gone("compacted"));
    return std::unique_ptr<client::Watcher>(new ScriptedWatcher(std::move(script)));
  }

  core::Result<Json> guaranteedUpdate(const api::ResourceInfo& resource, std::string_view ns,
                                      std::string_view name,
                                      const std::function<core::Status(Json&)>& mutate,
                                      const client::WriteOptions& options) {
    auto current = get(resource, ns, name);
    if (!current) return current.takeError();
    if (auto ok = mutate(*current); !ok) return ok.takeError();
    return update(resource, ns, std::move(*current), options);
  }

  std::map<Key, Json> objects;
  int64_t revision = 0;
  client::WriteOptions lastWrite;
  client::DeleteOptions lastDelete;
  client::ListOptions lastList;
};

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest()
      : handler_(
            fake_,
            [this](const api::ResourceInfo& r, std::string_view ns, std::string_view name,
                   const std::function<core::Status(Json&)>& mutate,
                   const client::WriteOptions& options) {
              return fake_.guaranteedUpdate(r, ns, name, mutate, options);
            },
            HandlerOptions{.adminToken = "secret-token"}) {}

  HttpResponse call(std::string method, std::string target, std::string body = "",
                    std::string contentType = "application/json") {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    request.contentType = std::move(contentType);
    request.authorization = "Bearer secret-token";
    return handler_.handle(request);
  }
  static Json json(const HttpResponse& response) { return Json::parse(response.body); }

  FakeClient fake_;
  Handler handler_;
};

TEST_F(HandlerTest, HealthIsOpenEverythingElseNeedsTheToken) {
  HttpRequest request{.method = "GET", .target = "/readyz"};
  EXPECT_EQ(handler_.handle(request).status, 200);
  EXPECT_EQ(handler_.handle(request).body, "ok");
  request.target = "/api/v1/namespaces";
  auto response = handler_.handle(request);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(json(response)["reason"], "Unauthorized");
  request.authorization = "Bearer secret-tokeN";
  EXPECT_EQ(handler_.handle(request).status, 401);
  request.authorization = "Bearer secret-token-longer";
  EXPECT_EQ(handler_.handle(request).status, 401);
  request.authorization = "bearer secret-token";
  EXPECT_EQ(handler_.handle(request).status, 200);
}

TEST_F(HandlerTest, VersionAndDiscovery) {
  auto version = json(call("GET", "/version?timeout=5s"));
  EXPECT_EQ(version["minor"], "32");
  auto groups = json(call("GET", "/apis"));
  EXPECT_EQ(groups["kind"], "APIGroupList");
  auto apps = json(call("GET", "/apis/apps/v1"));
  bool scale = false;
  for (const auto& r : apps["resources"])
    if (r["name"] == "deployments/scale") scale = r["kind"] == "Scale";
  EXPECT_TRUE(scale);
  auto core = json(call("GET", "/api/v1"));
  bool svc = false;
  for (const auto& r : core["resources"])
    if (r["name"] == "services") svc = r["shortNames"][0] == "svc";
  EXPECT_TRUE(svc);
  EXPECT_EQ(call("POST", "/api/v1").status, 405);
  EXPECT_EQ(call("GET", "/nope").status, 404);
}

TEST_F(HandlerTest, CreateFillsNamespaceAndRefusesAMismatch) {
  auto created = call("POST", "/api/v1/namespaces/ns1/configmaps",
                      R"({"metadata":{"name":"c1"},"data":{"a":"b"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json(created)["metadata"]["namespace"], "ns1");
  EXPECT_EQ(json(created)["kind"], "ConfigMap");
  auto mismatch = call("POST", "/api/v1/namespaces/ns1/configmaps",
                       R"({"metadata":{"name":"c2","namespace":"other"}})");
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(json(mismatch)["message"],
            "the namespace of the provided object does not match the namespace sent on the "
            "request");
  auto again = call("POST", "/api/v1/namespaces/ns1/configmaps", R"({"metadata":{"name":"c1"}})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(json(again)["reason"], "AlreadyExists");
}

TEST_F(HandlerTest, BadBodies) {
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps", "{nope").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps", "[]").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps", R"({"kind":"Pod"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps", R"({"metadata":3})").status, 400);
  // Too short to hold the protobuf magic (protobuf_test.cpp has the rest).
  auto protobuf = call("POST", "/api/v1/namespaces/a/configmaps", "k8s\0",
                       "application/vnd.kubernetes.protobuf");
  EXPECT_EQ(protobuf.status, 400);
  EXPECT_EQ(json(protobuf)["reason"], "BadRequest");
  // Creating across all namespaces, or onto a name, is not a thing.
  EXPECT_EQ(call("POST", "/api/v1/configmaps", R"({"metadata":{"name":"x"}})").status, 405);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps/x", "{}").status, 405);
  EXPECT_EQ(call("PUT", "/api/v1/namespaces/a/configmaps", "{}").status, 405);
  EXPECT_EQ(call("OPTIONS", "/api/v1/namespaces/a/configmaps").status, 405);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/configmaps?dryRun=Some", "{}").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/a/configmaps?limit=abc").status, 400);
}

TEST_F(HandlerTest, YamlBodiesAndResponses) {
  auto created = call("POST", "/api/v1/namespaces/a/configmaps",
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: \"1\"\n",
                      "application/yaml");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json(created)["data"]["k"], "1");
  HttpRequest request{.method = "GET",
                      .target = "/api/v1/namespaces/a/configmaps/y",
                      .accept = "application/yaml",
                      .authorization = "Bearer secret-token"};
  auto yaml = handler_.handle(request);
  EXPECT_EQ(yaml.contentType, "application/yaml");
  EXPECT_NE(yaml.body.find("name: y"), std::string::npos);
}

TEST_F(HandlerTest, UpdateChecksTheName) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces/a/configmaps", R"({"metadata":{"name":"c"}})").status,
            201);
  EXPECT_EQ(call("PUT", "/api/v1/namespaces/a/configmaps/c", R"({"metadata":{"name":"d"}})").status,
            400);
  auto stale = call("PUT", "/api/v1/namespaces/a/configmaps/c",
                    R"({"metadata":{"name":"c","resourceVersion":"999"}})");
  EXPECT_EQ(stale.status, 409);
  auto ok = call("PUT", "/api/v1/namespaces/a/configmaps/c",
                 R"({"metadata":{"name":"c"},"data":{"x":"y"}})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(json(ok)["data"]["x"], "y");
}

TEST_F(HandlerTest, PatchKinds) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces/a/configmaps",
                 R"({"metadata":{"name":"c","labels":{"a":"1"}}})")
                .status,
            201);
  auto merged = call("PATCH", "/api/v1/namespaces/a/configmaps/c",
                     R"({"metadata":{"labels":{"b":"2"}}})", "application/merge-patch+json");
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(json(merged)["metadata"]["labels"], Json::parse(R"({"a":"1","b":"2"})"));
  auto jsonPatch =
      call("PATCH", "/api/v1/namespaces/a/configmaps/c",
           R"([{"op":"add","path":"/data","value":{"k":"v"}}])", "application/json-patch+json");
  ASSERT_EQ(jsonPatch.status, 200) << jsonPatch.body;
  EXPECT_EQ(json(jsonPatch)["data"]["k"], "v");
  auto stale = call("PATCH", "/api/v1/namespaces/a/configmaps/c",
                    R"({"metadata":{"resourceVersion":"1"}})", "application/merge-patch+json");
  EXPECT_EQ(stale.status, 409);
  auto rename = call("PATCH", "/api/v1/namespaces/a/configmaps/c", R"({"metadata":{"name":"z"}})",
                     "application/merge-patch+json");
  EXPECT_EQ(rename.status, 400);
  // Server-side apply needs a fieldManager (apply_test.cpp covers the rest).
  EXPECT_EQ(call("PATCH", "/api/v1/namespaces/a/configmaps/c", "{}", "application/apply-patch+yaml")
                .status,
            400);
  EXPECT_EQ(call("PATCH", "/api/v1/namespaces/a/configmaps/c", "{}", "application/json").status,
            415);
  EXPECT_EQ(
      call("PATCH", "/api/v1/namespaces/a/configmaps/missing", "{}", "application/merge-patch+json")
          .status,
      404);
}

TEST_F(HandlerTest, ScaleSubresource) {
  ASSERT_EQ(call("POST", "/apis/apps/v1/namespaces/a/deployments", R"({
    "metadata":{"name":"web"},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"},
            "matchExpressions":[{"key":"tier","operator":"In","values":["b","a"]}]}},
    "status":{"replicas":2}})")
                .status,
            201);
  auto scale = json(call("GET", "/apis/apps/v1/namespaces/a/deployments/web/scale"));
  EXPECT_EQ(scale["kind"], "Scale");
  EXPECT_EQ(scale["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(scale["spec"]["replicas"], 2);
  EXPECT_EQ(scale["status"]["selector"], "app=web,tier in (a,b)");
  auto patched = call("PATCH", "/apis/apps/v1/namespaces/a/deployments/web/scale",
                      R"({"spec":{"replicas":5}})", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(json(patched)["spec"]["replicas"], 5);
  EXPECT_EQ(fake_.lastWrite.subresource, "scale");
  auto put = call("PUT", "/apis/apps/v1/namespaces/a/deployments/web/scale",
                  R"({"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web"},
                      "spec":{"replicas":1}})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto deployment = json(call("GET", "/apis/apps/v1/namespaces/a/deployments/web"));
  EXPECT_EQ(deployment["spec"]["replicas"], 1);
  auto negative = call("PATCH", "/apis/apps/v1/namespaces/a/deployments/web/scale",
                       R"({"spec":{"replicas":-1}})", "application/merge-patch+json");
  EXPECT_EQ(negative.status, 422);
}

TEST_F(HandlerTest, StatusSubresourcePassesTheSubresource) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces/a/pods", R"({"metadata":{"name":"p"}})").status, 201);
  auto put = call("PUT", "/api/v1/namespaces/a/pods/p/status",
                  R"({"metadata":{"name":"p"},"status":{"podIP":"10.244.0.5"}})");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(fake_.lastWrite.subresource, "status");
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/a/pods/p/status").status, 405);
}

TEST_F(HandlerTest, DeleteReadsOptionsAndReturnsTheObject) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces/a/pods", R"({"metadata":{"name":"p"}})").status, 201);
  auto deleted = call("DELETE", "/api/v1/namespaces/a/pods/p?gracePeriodSeconds=0",
                      R"({"propagationPolicy":"Foreground","preconditions":{"uid":"u1"}})");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(json(deleted)["metadata"]["name"], "p");
  EXPECT_EQ(fake_.lastDelete.gracePeriodSeconds, 0);
  EXPECT_EQ(fake_.lastDelete.propagationPolicy, "Foreground");
  EXPECT_EQ(fake_.lastDelete.preconditionUid, "u1");
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/a/pods/p").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/a/pods/p", R"({"propagationPolicy":"Now"})").status,
            400);
}

TEST_F(HandlerTest, DeleteCollection) {
  for (const char* name : {"x", "y", "z"})
    ASSERT_EQ(
        call("POST", "/api/v1/namespaces/a/configmaps", Json{{"metadata", {{"name", name}}}}.dump())
            .status,
        201);
  auto deleted = call("DELETE", "/api/v1/namespaces/a/configmaps?labelSelector=app%3Dweb");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(fake_.lastList.labelSelector, "app=web");
  EXPECT_EQ(json(deleted)["items"].size(), 3u);
  EXPECT_TRUE(fake_.objects.empty());
}

TEST_F(HandlerTest, ListPassesOptions) {
  auto list = call("GET",
                   "/api/v1/pods?labelSelector=a%3Db&fieldSelector=spec.nodeName%3Dn1&"
                   "limit=10&continue=tok&resourceVersion=0");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json(list)["apiVersion"], "v1");
  EXPECT_EQ(fake_.lastList.labelSelector, "a=b");
  EXPECT_EQ(fake_.lastList.fieldSelector, "spec.nodeName=n1");
  EXPECT_EQ(fake_.lastList.limit, 10);
  EXPECT_EQ(fake_.lastList.continueToken, "tok");
  EXPECT_EQ(fake_.lastList.resourceVersion, "0");
}

TEST_F(HandlerTest, WatchStreamsEventsThenTheError) {
  auto response = call("GET", "/api/v1/namespaces/a/pods?watch=true&resourceVersion=5");
  ASSERT_TRUE(response.watch);
  std::string out;
  EXPECT_TRUE(response.watch->next(std::chrono::milliseconds(10), out));
  EXPECT_EQ(out, "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\"}}\n");
  out.clear();
  EXPECT_FALSE(response.watch->next(std::chrono::milliseconds(10), out));
  auto event = Json::parse(out);
  EXPECT_EQ(event["type"], "ERROR");
  EXPECT_EQ(event["object"]["code"], 410);
  EXPECT_FALSE(response.watch->next(std::chrono::milliseconds(10), out));
}

TEST_F(HandlerTest, WatchFromATooOldVersionIsAnErrorEvent) {
  auto response = call("GET", "/api/v1/namespaces/a/pods?watch=1&resourceVersion=1");
  ASSERT_TRUE(response.watch);
  EXPECT_EQ(response.status, 200);
  std::string out;
  EXPECT_FALSE(response.watch->next(std::chrono::milliseconds(10), out));
  auto event = Json::parse(out);
  EXPECT_EQ(event["type"], "ERROR");
  EXPECT_EQ(event["object"]["reason"], "Expired");
  auto bad = call("GET", "/api/v1/namespaces/a/pods?watch=1&resourceVersion=bad");
  EXPECT_FALSE(bad.watch);
  EXPECT_EQ(bad.status, 400);
}

TEST_F(HandlerTest, WatchTimeoutEndsTheStream) {
  auto response = call("GET", "/api/v1/watch/namespaces/a/pods?timeoutSeconds=0");
  ASSERT_TRUE(response.watch);
  auto timed = call("GET", "/api/v1/namespaces/a/pods?watch=true&timeoutSeconds=1");
  ASSERT_TRUE(timed.watch);
  std::string out;
  auto start = std::chrono::steady_clock::now();
  while (timed.watch->next(std::chrono::milliseconds(50), out)) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    out.clear();
  }
}

TEST_F(HandlerTest, WatchOfOneObjectNarrowsByName) {
  auto prefixed = call("GET", "/api/v1/watch/namespaces/a/pods/p1");
  ASSERT_TRUE(prefixed.watch);
  EXPECT_EQ(fake_.lastList.fieldSelector, "metadata.name=p1");
  auto query = call("GET", "/api/v1/namespaces/a/pods/p2?watch=1&fieldSelector=spec.nodeName%3Dn");
  ASSERT_TRUE(query.watch);
  EXPECT_EQ(fake_.lastList.fieldSelector, "spec.nodeName=n,metadata.name=p2");
}

TEST_F(HandlerTest, NeverThrowsOnHostileInput) {
  const char* targets[] = {"/api/v1/namespaces/a/pods", "/api/v1/namespaces/a/pods/x",
                           "/apis/apps/v1/namespaces/a/deployments/x/scale",
                           "/api/v1/namespaces/a/pods/x/status"};
  const char* bodies[] = {"",
                          "{",
                          "null",
                          "[]",
                          "[{}]",
                          "{\"metadata\":null}",
                          "{\"metadata\":{\"name\":5}}",
                          "{\"spec\":{\"replicas\":\"x\"}}",
                          "\xff",
                          "[{\"op\":\"add\",\"path\":\"\",\"value\":1}]"};
  const char* types[] = {"application/json", "application/yaml", "application/merge-patch+json",
                         "application/json-patch+json", "application/strategic-merge-patch+json"};
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"})
    for (const char* target : targets)
      for (const char* body : bodies)
        for (const char* type : types) {
          auto response = call(method, target, body, type);
          EXPECT_GE(response.status, 200);
          EXPECT_LT(response.status, 600);
        }
}

TEST(Selector, StringForm) {
  EXPECT_EQ(selectorString(Json::parse(R"({"matchLabels":{"b":"2","a":"1"}})")), "a=1,b=2");
  EXPECT_EQ(selectorString(Json::parse(R"({"matchExpressions":[
              {"key":"x","operator":"Exists"},{"key":"y","operator":"DoesNotExist"},
              {"key":"z","operator":"NotIn","values":["q"]}]})")),
            "x,!y,z notin (q)");
  EXPECT_EQ(selectorString(nullptr), "");
}

// pods/log, exec, attach, portforward: the checks kube-apiserver makes, then
// where the transport relays (the node's API and kubelet's query names).
TEST_F(HandlerTest, PodStreamsAreCheckedThenProxiedToTheNode) {
  fake_.objects[{"nodes", "", "n1"}] = Json::parse(R"({"metadata":{"name":"n1"},
    "status":{"addresses":[{"type":"Hostname","address":"n1"},{"type":"InternalIP","address":"172.30.0.11"}],
              "daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}})");
  fake_.objects[{"pods", "a", "two"}] = Json::parse(R"({"metadata":{"name":"two","namespace":"a"},
    "spec":{"nodeName":"n1","initContainers":[{"name":"init"}],"containers":[{"name":"web"},{"name":"side car"}]},
    "status":{"phase":"Running"}})");
  fake_.objects[{"pods", "a", "one"}] = Json::parse(R"({"metadata":{"name":"one","namespace":"a"},
    "spec":{"nodeName":"n1","containers":[{"name":"only"}]},"status":{"phase":"Running"}})");
  fake_.objects[{"pods", "a", "pending"}] =
      Json::parse(R"({"metadata":{"name":"pending","namespace":"a"},
    "spec":{"containers":[{"name":"c"}]},"status":{"phase":"Pending"}})");
  fake_.objects[{"pods", "a", "done"}] = Json::parse(R"({"metadata":{"name":"done","namespace":"a"},
    "spec":{"nodeName":"n1","containers":[{"name":"c"}]},"status":{"phase":"Succeeded"}})");

  auto missing = call("GET", "/api/v1/namespaces/a/pods/nope/log");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json(missing)["message"], "pods \"nope\" not found");
  auto unnamed = call("GET", "/api/v1/namespaces/a/pods/two/log");
  EXPECT_EQ(unnamed.status, 400);
  EXPECT_EQ(json(unnamed)["message"],
            "a container name must be specified for pod two, choose one of: [init web side car]");
  auto wrong = call("GET", "/api/v1/namespaces/a/pods/two/exec?container=db&command=ls");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json(wrong)["message"], "container db is not valid for pod two");
  auto unscheduled = call("GET", "/api/v1/namespaces/a/pods/pending/log");
  EXPECT_EQ(unscheduled.status, 400);
  EXPECT_EQ(json(unscheduled)["message"], "pod pending does not have a host assigned");
  auto completed = call("POST", "/api/v1/namespaces/a/pods/done/exec?command=true");
  EXPECT_EQ(completed.status, 400);
  EXPECT_EQ(json(completed)["message"],
            "cannot exec into a container in a completed pod; current phase is Succeeded");
  EXPECT_EQ(call("POST", "/api/v1/namespaces/a/pods/one/log").status, 405);

  auto log = call("GET", "/api/v1/namespaces/a/pods/one/log?follow=true&tailLines=10&pretty=1");
  ASSERT_TRUE(log.nodeProxy.has_value()) << log.body;
  EXPECT_EQ(log.nodeProxy->host, "172.30.0.11");
  EXPECT_EQ(log.nodeProxy->port, 10250);
  EXPECT_EQ(log.nodeProxy->method, "GET");
  EXPECT_EQ(log.nodeProxy->target, "/containerLogs/a/one/only?follow=true&tailLines=10");
  auto exec = call("GET",
                   "/api/v1/namespaces/a/pods/two/exec?command=sh&command=-c&command=echo%20a%26b"
                   "&container=side%20car&stdin=true&stdout=true&tty=true");
  ASSERT_TRUE(exec.nodeProxy.has_value()) << exec.body;
  EXPECT_EQ(
      exec.nodeProxy->target,
      "/exec/a/two/side%20car?command=sh&command=-c&command=echo%20a%26b&input=1&output=1&tty=1");
  auto attach = call("POST", "/api/v1/namespaces/a/pods/one/attach?stdout=true&stderr=true");
  ASSERT_TRUE(attach.nodeProxy.has_value());
  EXPECT_EQ(attach.nodeProxy->method, "POST");
  EXPECT_EQ(attach.nodeProxy->target, "/attach/a/one/only?output=1&error=1");
  auto forward = call("GET", "/api/v1/namespaces/a/pods/two/portforward");
  ASSERT_TRUE(forward.nodeProxy.has_value());
  EXPECT_EQ(forward.nodeProxy->target, "/portForward/a/two");
}

// nodes/NAME/proxy/PATH: any request to the node's API, body included
// (what `podnet trace` and `kubectl get --raw .../proxy/healthz` use).
TEST_F(HandlerTest, NodeProxyRelaysAnyPathToTheNodesApi) {
  fake_.objects[{"nodes", "", "n1"}] = Json::parse(R"({"metadata":{"name":"n1"},
    "status":{"addresses":[{"type":"InternalIP","address":"172.30.0.11"}],
              "daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}})");
  auto health = call("GET", "/api/v1/nodes/n1/proxy/healthz");
  ASSERT_TRUE(health.nodeProxy.has_value()) << health.body;
  EXPECT_EQ(health.nodeProxy->host, "172.30.0.11");
  EXPECT_EQ(health.nodeProxy->target, "/healthz");
  auto post = call("POST", "/api/v1/nodes/n1/proxy/trace/arm?x=1", R"({"id":"a"})");
  ASSERT_TRUE(post.nodeProxy.has_value()) << post.body;
  EXPECT_EQ(post.nodeProxy->method, "POST");
  EXPECT_EQ(post.nodeProxy->target, "/trace/arm?x=1");
  EXPECT_EQ(post.nodeProxy->body, R"({"id":"a"})");
  EXPECT_EQ(post.nodeProxy->contentType, "application/json");
  auto root = call("GET", "/api/v1/nodes/n1/proxy");
  ASSERT_TRUE(root.nodeProxy.has_value());
  EXPECT_EQ(root.nodeProxy->target, "/");
  auto escaped = call("GET", "/api/v1/nodes/n1/proxy/a%20b/c");
  ASSERT_TRUE(escaped.nodeProxy.has_value());
  EXPECT_EQ(escaped.nodeProxy->target, "/a%20b/c");
  EXPECT_EQ(call("GET", "/api/v1/nodes/nope/proxy/healthz").status, 404);
  // Only nodes have this subresource.
  EXPECT_EQ(call("GET", "/api/v1/namespaces/a/pods/one/proxy/x").status, 404);
}

}  // namespace
}  // namespace podnet::apiserver
