// Gateway API objects as the controller reads them, and the specification's
// hostname intersection and match precedence (apis/v1/httproute_types.go,
// gateway_types.go).
#include "ingress/gateway_model.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace podnet::ingress::gateway {
namespace {

TEST(GatewayHostnames, WildcardsMatchAnyNumberOfLabelsButNotTheBareDomain) {
  EXPECT_TRUE(hostnameMatches("*.example.com", "foo.example.com"));
  EXPECT_TRUE(hostnameMatches("*.example.com", "foo.test.example.com"));
  EXPECT_FALSE(hostnameMatches("*.example.com", "example.com"));
  EXPECT_FALSE(hostnameMatches("*.example.com", "fooexample.com"));
  EXPECT_TRUE(hostnameMatches("", "anything.test"));
  EXPECT_TRUE(hostnameMatches("foo.example.com", "foo.example.com"));
  EXPECT_FALSE(hostnameMatches("foo.example.com", "bar.example.com"));
}

TEST(GatewayHostnames, IntersectionAsTheSpecificationDefinesIt) {
  using V = std::vector<std::string>;
  EXPECT_EQ(intersectHostnames("", {}), V{""});
  EXPECT_EQ(intersectHostnames("", {"a.example.com"}), V{"a.example.com"});
  EXPECT_EQ(intersectHostnames("*.example.com", {}), V{"*.example.com"});
  EXPECT_EQ(intersectHostnames("foo.example.com", {"foo.example.com", "bar.example.com"}),
            V{"foo.example.com"});
  EXPECT_EQ(intersectHostnames("foo.example.com", {"*.example.com"}), V{"foo.example.com"});
  EXPECT_EQ(intersectHostnames("*.example.com",
                               {"foo.example.com", "a.b.example.com", "example.com", "other.org"}),
            (V{"foo.example.com", "a.b.example.com"}));
  EXPECT_EQ(intersectHostnames("*.example.com", {"*.foo.example.com"}), V{"*.foo.example.com"});
  EXPECT_EQ(intersectHostnames("*.example.com", {"*.com"}), V{"*.example.com"});
  EXPECT_TRUE(intersectHostnames("foo.example.com", {"bar.example.com", "*.other.com"}).empty())
      << "NoMatchingListenerHostname";
}

Json route(const std::string& name, const std::string& created, Json rules) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "HTTPRoute"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"creationTimestamp", created}}},
          {"spec", {{"parentRefs", Json::array({{{"name", "gw"}}})}, {"rules", std::move(rules)}}}};
}

TEST(GatewayModel, HttpRouteDefaultsAndFilters) {
  auto parsed = parseHttpRoute(route(
      "r", "2026-01-01T00:00:00Z",
      Json::array(
          {{{"backendRefs", Json::array({{{"name", "web"}, {"port", 8080}, {"weight", 70}}})}},
           {{"matches",
             Json::array({{{"path", {{"type", "Exact"}, {"value", "/exact"}}},
                           {"method", "POST"},
                           {"headers", Json::array({{{"name", "x"}, {"value", "1"}}})}}})},
            {"filters",
             Json::array({{{"type", "RequestRedirect"},
                           {"requestRedirect", {{"scheme", "https"}, {"statusCode", 301}}}},
                          {{"type", "RequestHeaderModifier"},
                           {"requestHeaderModifier",
                            {{"set", Json::array({{{"name", "a"}, {"value", "b"}}})},
                             {"remove", Json::array({"c"})}}}}})}}})));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const HttpRoute& r = *parsed;
  ASSERT_EQ(r.parentRefs.size(), 1u);
  EXPECT_EQ(r.parentRefs[0].kind, "Gateway");
  EXPECT_EQ(r.parentRefs[0].group, kGroup);
  ASSERT_EQ(r.rules.size(), 2u);
  ASSERT_EQ(r.rules[0].matches.size(), 1u) << "no matches: one PathPrefix /";
  EXPECT_EQ(r.rules[0].matches[0].path.type, PathMatchType::PathPrefix);
  EXPECT_EQ(r.rules[0].matches[0].path.value, "/");
  EXPECT_EQ(r.rules[0].backendRefs[0].weight, 70);
  EXPECT_EQ(r.rules[0].backendRefs[0].port, 8080);
  EXPECT_EQ(r.rules[1].matches[0].path.type, PathMatchType::Exact);
  EXPECT_EQ(r.rules[1].matches[0].method, "POST");
  ASSERT_EQ(r.rules[1].filters.size(), 2u);
  EXPECT_EQ(r.rules[1].filters[0].scheme, "https");
  EXPECT_EQ(r.rules[1].filters[0].statusCode, 301);
  EXPECT_EQ(r.rules[1].filters[1].headers.set[0], (std::pair<std::string, std::string>{"a", "b"}));
  EXPECT_EQ(r.rules[1].filters[1].headers.remove, std::vector<std::string>{"c"});

  // Wrong shapes are defaults or errors, never crashes.
  EXPECT_TRUE(parseHttpRoute(Json::array()).ok());
  EXPECT_TRUE(parseHttpRoute({{"spec", {{"rules", 5}, {"parentRefs", "x"}}}}).ok());
  EXPECT_FALSE(
      parseHttpRoute(
          route("bad", "",
                Json::array({{{"matches", Json::array({{{"path", {{"type", "Glob"}}}}})}}})))
          .ok());
}

TEST(GatewayModel, GatewayListeners) {
  Json gw = {{"metadata", {{"name", "gw"}, {"namespace", "infra"}}},
             {"spec",
              {{"gatewayClassName", "podnet"},
               {"listeners",
                Json::array({{{"name", "http"}, {"port", 80}, {"protocol", "HTTP"}},
                             {{"name", "https"},
                              {"port", 443},
                              {"protocol", "HTTPS"},
                              {"hostname", "*.example.com"},
                              {"tls", {{"certificateRefs", Json::array({{{"name", "cert"}}})}}},
                              {"allowedRoutes", {{"namespaces", {{"from", "All"}}}}}}})}}}};
  auto parsed = parseGateway(gw);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->listeners.size(), 2u);
  EXPECT_EQ(parsed->listeners[0].routesFrom, "Same");
  EXPECT_EQ(parsed->listeners[1].tlsMode, "Terminate");
  EXPECT_EQ(parsed->listeners[1].certificateRefs[0].kind, "Secret");
  EXPECT_EQ(parsed->listeners[1].routesFrom, "All");
  gw["spec"]["listeners"][0]["port"] = 0;
  EXPECT_FALSE(parseGateway(gw).ok());
}

TEST(GatewayModel, PrecedenceAcrossRulesAndRoutes) {
  auto older = parseHttpRoute(route(
      "b-older", "2026-01-01T00:00:00Z",
      Json::array(
          {{{"matches", Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/a"}}}}})}},
           {{"matches",
             Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/a"}}},
                           {"headers", Json::array({{{"name", "h"}, {"value", "1"}}})}}})}}})));
  auto newer = parseHttpRoute(route(
      "a-newer", "2026-02-01T00:00:00Z",
      Json::array(
          {{{"matches", Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/a"}}}}})}},
           {{"matches", Json::array({{{"path", {{"type", "Exact"}, {"value", "/"}}}}})}},
           {{"matches", Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/a/b"}}}}})}},
           {{"matches", Json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/a"}}},
                                      {"method", "GET"}}})}}})));
  ASSERT_TRUE(older.ok() && newer.ok());
  std::vector<MatchKey> keys;
  for (const HttpRoute* r : {&*older, &*newer})
    for (size_t rule = 0; rule < r->rules.size(); ++rule) keys.push_back({r, rule, 0});
  std::sort(keys.begin(), keys.end(), precedes);
  std::vector<std::string> order;
  for (const auto& k : keys) order.push_back(k.route->name + "#" + std::to_string(k.rule));
  EXPECT_EQ(order, (std::vector<std::string>{
                       "a-newer#1",  // Exact
                       "a-newer#2",  // longest prefix
                       "a-newer#3",  // a method
                       "b-older#1",  // a header
                       "b-older#0",  // then the older route
                       "a-newer#0",
                   }));
}

}  // namespace
}  // namespace podnet::ingress::gateway
