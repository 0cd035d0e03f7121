// Who may do what, through the real Handler over a Registry on SQLite: node
// credentials (NodeRestriction), bootstrap tokens, anonymous reads of
// kube-public/cluster-info.
#include "apiserver/access.h"

#include <gtest/gtest.h>

#include "api/bootstrap_token.h"
#include "api/resource.h"
#include "apiserver/handler.h"
#include "registry/registry.h"
#include "store_test_util.h"

namespace podnet::apiserver {
namespace {

using api::Json;

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::testing::openOrDie({.path = dir_.file("db.sqlite")});
    ASSERT_NE(store_, nullptr);
    registry_ = std::make_unique<registry::Registry>(*store_);
    handler_ = std::make_unique<Handler>(
        *registry_,
        [this](const api::ResourceInfo& r, std::string_view ns, std::string_view name,
               const std::function<core::Status(Json&)>& mutate,
               const client::WriteOptions& options) {
          return registry_->guaranteedUpdate(r, ns, name, mutate, options);
        },
        HandlerOptions{.adminToken = "admin-token"});
    for (const char* ns : {"default", "kube-system", "kube-public"})
      ASSERT_EQ(call("admin-token", "POST", "/api/v1/namespaces",
                     Json{{"metadata", {{"name", ns}}}}.dump())
                    .status,
                201);
  }

  HttpResponse call(const std::string& token, std::string method, std::string target,
                    std::string body = "") {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    request.contentType = "application/json";
    if (!token.empty()) request.authorization = "Bearer " + token;
    return handler_->handle(request);
  }
  std::string nodeToken(const std::string& node) {
    auto answer = call("admin-token", "POST", "/api/v1/nodes/" + node + "/token", "{}");
    EXPECT_EQ(answer.status, 201) << answer.body;
    return Json::parse(answer.body)["status"]["token"];
  }
  void adminCreate(const std::string& path, Json obj) {
    auto created = call("admin-token", "POST", path, obj.dump());
    ASSERT_EQ(created.status, 201) << created.body;
  }
  static Json pod(const std::string& name, const std::string& node, const std::string& secret) {
    return {{"metadata", {{"name", name}}},
            {"spec",
             {{"nodeName", node},
              {"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})},
              {"volumes", Json::array({{{"name", "v"}, {"secret", {{"secretName", secret}}}}})}}}};
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<Handler> handler_;
};

TEST_F(AccessTest, ANodeWritesOnlyItsOwnNodeAndPodsAndReadsOnlyItsPodsSecrets) {
  std::string a = nodeToken("node-a");
  EXPECT_EQ(a.rfind("pnode.node-a.", 0), 0u) << a;
  EXPECT_EQ(call(a, "POST", "/api/v1/nodes", R"({"metadata":{"name":"node-a"}})").status, 201);
  auto other = call(a, "POST", "/api/v1/nodes", R"({"metadata":{"name":"node-b"}})");
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(Json::parse(other.body)["message"],
            "node \"node-a\" is not allowed to modify node \"node-b\"");
  adminCreate("/api/v1/nodes", {{"metadata", {{"name", "node-b"}}}});
  EXPECT_EQ(
      call(a, "PUT", "/api/v1/nodes/node-b", R"({"metadata":{"name":"node-b","labels":{"x":"y"}}})")
          .status,
      403);
  EXPECT_EQ(call(a, "DELETE", "/api/v1/nodes/node-a").status, 403);
  EXPECT_EQ(call(a, "GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(call(a, "POST", "/api/v1/nodes/node-b/token", "{}").status, 403);

  for (const char* name : {"s-a", "s-b"})
    adminCreate("/api/v1/namespaces/default/secrets",
                {{"metadata", {{"name", name}}}, {"stringData", {{"k", "v"}}}});
  adminCreate("/api/v1/namespaces/default/pods", pod("p-a", "node-a", "s-a"));
  adminCreate("/api/v1/namespaces/default/pods", pod("p-b", "node-b", "s-b"));
  EXPECT_EQ(call(a, "GET", "/api/v1/namespaces/default/secrets/s-a").status, 200);
  auto foreign = call(a, "GET", "/api/v1/namespaces/default/secrets/s-b");
  EXPECT_EQ(foreign.status, 403);
  EXPECT_NE(foreign.body.find("no relationship found"), std::string::npos) << foreign.body;
  EXPECT_EQ(call(a, "GET", "/api/v1/secrets").status, 403);
  EXPECT_EQ(call(a, "GET", "/api/v1/namespaces/default/secrets").status, 403);
  EXPECT_EQ(call(a, "GET", "/api/v1/pods").status, 200);
  for (const char* sub : {"exec?command=sh", "attach", "portforward", "log"})
    EXPECT_EQ(call(a, "POST", std::string("/api/v1/namespaces/default/pods/p-b/") + sub).status,
              403)
        << sub;
  EXPECT_EQ(call(a, "GET", "/api/v1/namespaces/default/pods/p-b/log").status, 403);
  EXPECT_EQ(call(a, "GET", "/api/v1/nodes/node-b/proxy/healthz").status, 403);

  auto mine = Json::parse(call("admin-token", "GET", "/api/v1/namespaces/default/pods/p-a").body);
  mine["status"] = {{"phase", "Running"}};
  EXPECT_EQ(call(a, "PUT", "/api/v1/namespaces/default/pods/p-a/status", mine.dump()).status, 200);
  auto theirs = Json::parse(call("admin-token", "GET", "/api/v1/namespaces/default/pods/p-b").body);
  theirs["status"] = {{"phase", "Running"}};
  EXPECT_EQ(call(a, "PUT", "/api/v1/namespaces/default/pods/p-b/status", theirs.dump()).status,
            403);
  EXPECT_EQ(call(a, "PUT", "/api/v1/namespaces/default/pods/p-a", mine.dump()).status, 403)
      << "a node does not change a pod's spec";
  EXPECT_EQ(call(a, "DELETE", "/api/v1/namespaces/default/pods/p-b").status, 403);
  EXPECT_EQ(
      call(a, "POST", "/api/v1/namespaces/default/pods", pod("p-c", "node-a", "s-a").dump()).status,
      403);
  EXPECT_EQ(call(a, "DELETE", "/api/v1/namespaces/default/pods/p-a").status, 200);
  EXPECT_EQ(call(a, "POST", "/api/v1/namespaces/default/configmaps", R"({"metadata":{"name":"c"}})")
                .status,
            403);

  // Tokens only for the account a pod of this node runs as.
  for (const char* account : {"default", "powerful"})
    adminCreate("/api/v1/namespaces/default/serviceaccounts", {{"metadata", {{"name", account}}}});
  auto tokenFor = [&](const std::string& account, const std::string& pod) {
    Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                    {"kind", "TokenRequest"},
                    {"spec",
                     {{"audiences", Json::array()},
                      {"boundObjectRef", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod}}}}}};
    return call(a, "POST", "/api/v1/namespaces/default/serviceaccounts/" + account + "/token",
                request.dump())
        .status;
  };
  EXPECT_NE(tokenFor("default", "p-a"), 403);
  EXPECT_EQ(tokenFor("powerful", "p-a"), 403) << "p-a does not run as powerful";
  EXPECT_EQ(tokenFor("default", "p-b"), 403) << "p-b is not on node-a";
  // No collection writes.
  EXPECT_EQ(call(a, "DELETE", "/api/v1/namespaces/default/persistentvolumeclaims").status, 403);
  EXPECT_EQ(call(a, "DELETE", "/api/v1/namespaces/default/events").status, 403);
  EXPECT_EQ(call(a, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                 R"({"metadata":{"name":"node-b"}})")
                .status,
            403);

  // Joining again replaces the credentials: the old token stops working.
  std::string renewed = nodeToken("node-a");
  EXPECT_NE(renewed, a);
  EXPECT_EQ(call(a, "GET", "/api/v1/nodes").status, 401);
  EXPECT_EQ(call(renewed, "GET", "/api/v1/nodes").status, 200);
  EXPECT_EQ(call("pnode.node-a.wrong", "GET", "/api/v1/nodes").status, 401);
  EXPECT_EQ(call("pnode.node-z.whatever", "GET", "/api/v1/nodes").status, 401);
}

TEST_F(AccessTest, BootstrapTokensOnlyGetNodeCredentialsAndExpire) {
  api::BootstrapToken live{"abcdef", "0123456789abcdef"};
  api::BootstrapToken expired{"zyxwvu", "0123456789abcdef"};
  adminCreate("/api/v1/namespaces/kube-system/secrets",
              api::bootstrapTokenSecret(live, std::time(nullptr) + 3600, "test"));
  adminCreate("/api/v1/namespaces/kube-system/secrets",
              api::bootstrapTokenSecret(expired, std::time(nullptr) - 10, "old"));
  auto credentials = call(live.text(), "POST", "/api/v1/nodes/node-c/token", "{}");
  ASSERT_EQ(credentials.status, 201) << credentials.body;
  std::string token = Json::parse(credentials.body)["status"]["token"];
  EXPECT_EQ(call(token, "POST", "/api/v1/nodes", R"({"metadata":{"name":"node-c"}})").status, 201);
  EXPECT_EQ(call(live.text(), "GET", "/api/v1/pods").status, 403);
  // A bootstrap token does not take over a node that exists or has joined.
  EXPECT_EQ(call(live.text(), "POST", "/api/v1/nodes/node-c/token", "{}").status, 403);
  adminCreate("/api/v1/nodes", {{"metadata", {{"name", "node-x"}}}});
  auto takeover = call(live.text(), "POST", "/api/v1/nodes/node-x/token", "{}");
  EXPECT_EQ(takeover.status, 403);
  EXPECT_NE(takeover.body.find("exists or has joined already"), std::string::npos) << takeover.body;
  EXPECT_EQ(call(live.text(), "GET", "/api/v1/namespaces/kube-system/secrets").status, 403);
  EXPECT_EQ(call(expired.text(), "POST", "/api/v1/nodes/node-d/token", "{}").status, 401);
  EXPECT_EQ(call("abcdef.0123456789abcdeX", "GET", "/version").status, 401);
  EXPECT_EQ(call("abcdef.aaaaaaaaaaaaaaaa", "POST", "/api/v1/nodes/node-e/token", "{}").status,
            401);
}

TEST_F(AccessTest, AnonymousReadsOnlyClusterInfo) {
  adminCreate("/api/v1/namespaces/kube-public/configmaps",
              {{"metadata", {{"name", "cluster-info"}}}, {"data", {{"kubeconfig", "x"}}}});
  adminCreate("/api/v1/namespaces/kube-public/configmaps",
              {{"metadata", {{"name", "other"}}}, {"data", {{"k", "v"}}}});
  EXPECT_EQ(call("", "GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info").status, 200);
  EXPECT_EQ(call("", "GET", "/api/v1/namespaces/kube-public/configmaps/other").status, 401);
  EXPECT_EQ(call("", "GET", "/api/v1/namespaces/kube-public/configmaps").status, 401);
  EXPECT_EQ(call("", "PUT", "/api/v1/namespaces/kube-public/configmaps/cluster-info", "{}").status,
            401);
  EXPECT_EQ(call("", "GET", "/api/v1/pods").status, 401);
}

}  // namespace
}  // namespace podnet::apiserver
