// The Gateway API half of the routing compiler: HTTPRoutes attached to
// Gateway listeners become the table's Gateway ports, matched in the
// specification's precedence (exact path, longest prefix, method, most
// headers, most query parameters, oldest route), with listener hostnames
// chosen before routes, weights, ReferenceGrants and the Gateway's Service.
#include "ingress/gateway_routes.h"

#include <gtest/gtest.h>

#include "ingress/gateway_service.h"

namespace podnet::ingress {
namespace {

std::shared_ptr<const Json> ptr(const std::string& text) {
  return std::make_shared<const Json>(Json::parse(text));
}

Json service(const std::string& ns, const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}}}}};
}

Json slice(const std::string& ns, const std::string& svc, const std::string& ip) {
  return {{"metadata",
           {{"name", svc + "-x"},
            {"namespace", ns},
            {"labels", {{"kubernetes.io/service-name", svc}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", 9000}, {"protocol", "TCP"}}}},
          {"endpoints", {{{"addresses", {ip}}, {"conditions", {{"ready", true}}}}}}};
}

// The Service podnet makes for Gateway infra/gw: 80 -> 10300, 443 -> 10301.
Json gatewayService(const std::string& gateway = "infra/gw", uint16_t http = 10300,
                    uint16_t https = 10301, bool addressed = true) {
  Json svc = {{"metadata",
               {{"name", "gateway-x"},
                {"namespace", "kube-system"},
                {"annotations", {{gateway::kGatewayAnnotation, gateway}}}}},
              {"spec",
               {{"ports",
                 {{{"port", 80}, {"targetPort", http}}, {{"port", 443}, {"targetPort", https}}}}}}};
  if (addressed) svc["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}}}}}}};
  return svc;
}

class GatewayRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_.gatewayClasses = {ptr(R"({"metadata":{"name":"podnet","generation":1},
        "spec":{"controllerName":"podnet.io/gateway-controller"}})")};
    in_.gateways = {ptr(R"({"metadata":{"name":"gw","namespace":"infra","generation":1},
        "spec":{"gatewayClassName":"podnet","listeners":[
          {"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}},
          {"name":"foo","port":80,"protocol":"HTTP","hostname":"foo.example.com",
           "allowedRoutes":{"namespaces":{"from":"All"}}}]}})")};
    in_.namespaces = {ptr(R"({"metadata":{"name":"app"}})")};
    for (const auto& [ns, name, ip] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"app", "a", "10.0.0.1"},
             {"app", "b", "10.0.0.2"},
             {"app", "c", "10.0.0.3"},
             {"other", "d", "10.0.0.4"}}) {
      in_.services.push_back(std::make_shared<const Json>(service(ns, name)));
      in_.endpointSlices.push_back(std::make_shared<const Json>(slice(ns, name, ip)));
    }
    in_.services.push_back(std::make_shared<const Json>(gatewayService()));
    in_.now = "2026-12-07T00:00:00Z";
  }

  // An HTTPRoute in `app` on infra/gw with `rules` (JSON array text).
  void route(const std::string& name, const std::string& rules, const std::string& extraSpec = "",
             const std::string& created = "2026-01-01T00:00:00Z", const std::string& section = "") {
    std::string parent = R"({"name":"gw","namespace":"infra")" +
                         (section.empty() ? "" : R"(,"sectionName":")" + section + "\"") + "}";
    in_.httpRoutes.push_back(ptr(R"({"metadata":{"name":")" + name +
                                 R"(","namespace":"app","generation":1,"creationTimestamp":")" +
                                 created + R"("},"spec":{"parentRefs":[)" + parent + "]," +
                                 extraSpec + R"("rules":)" + rules + "}}"));
  }

  // Which Service a request goes to ("404", "500" for an invalid backend),
  // on the Gateway's port 80.
  std::string get(const std::string& host, const std::string& path,
                  const std::vector<http::Header>& headers = {}, const std::string& method = "GET",
                  const std::string& query = "") {
    if (!compiled_.table) compiled_ = compileRoutes(in_);
    RequestView view{host, path, method, &headers, query};
    RouteMatch m = compiled_.table->matchGateway(10300, view);
    if (!m.route) return "404";
    const auto& rule = *m.route->gateway;
    if (rule.backends.empty()) return "500";
    if (!rule.backends.front().target) return "500";
    return rule.backends.front().target->service;
  }

  RouteInputs in_;
  CompiledRoutes compiled_;
};

TEST_F(GatewayRoutesTest, ExactBeforeTheLongestPrefixThenTheShorterPrefixes) {
  route("r", R"([
    {"matches":[{"path":{"type":"PathPrefix","value":"/"}}],"backendRefs":[{"name":"a","port":8080}]},
    {"matches":[{"path":{"type":"PathPrefix","value":"/one"}}],"backendRefs":[{"name":"b","port":8080}]},
    {"matches":[{"path":{"type":"Exact","value":"/one/two"}}],"backendRefs":[{"name":"c","port":8080}]}])");
  EXPECT_EQ(get("x", "/"), "app/a");
  EXPECT_EQ(get("x", "/one"), "app/b");
  EXPECT_EQ(get("x", "/one/"), "app/b");
  EXPECT_EQ(get("x", "/one/three"), "app/b");
  EXPECT_EQ(get("x", "/onetwo"), "app/a");  // element by element, not by characters
  EXPECT_EQ(get("x", "/one/two"), "app/c");
  EXPECT_EQ(get("x", "/one/two/"), "app/b");  // Exact is exact
  // The Gateway's port table has the routes; another port has nothing.
  RequestView view{"x", "/", "GET", nullptr, ""};
  EXPECT_EQ(compiled_.table->matchGateway(10301, view).route, nullptr);
  ASSERT_EQ(compiled_.table->gatewayPorts().size(), 1u);
  EXPECT_EQ(compiled_.table->gatewayPorts()[0].listenerPort, 80);
  EXPECT_FALSE(compiled_.table->gatewayPorts()[0].tls);
}

TEST_F(GatewayRoutesTest, MethodThenMostHeadersThenMostQueryParametersOnOnePath) {
  route("r", R"([
    {"matches":[{"path":{"value":"/p"}}],"backendRefs":[{"name":"a","port":8080}]},
    {"matches":[{"path":{"value":"/p"},"headers":[{"name":"version","value":"two"}]}],
     "backendRefs":[{"name":"b","port":8080}]},
    {"matches":[{"path":{"value":"/p"},"headers":[{"name":"version","value":"two"},
                 {"name":"color","type":"RegularExpression","value":"or.*"}]}],
     "backendRefs":[{"name":"c","port":8080}]},
    {"matches":[{"path":{"value":"/p"},"method":"POST"}],"backendRefs":[{"name":"d","namespace":"other","port":8080}]},
    {"matches":[{"path":{"value":"/p"},"queryParams":[{"name":"q","value":"a b"}]}],
     "backendRefs":[{"name":"b","port":8080}]}])");
  EXPECT_EQ(get("x", "/p"), "app/a");
  EXPECT_EQ(get("x", "/p", {{"Version", "two"}}), "app/b");
  EXPECT_EQ(get("x", "/p", {{"Version", "two"}, {"COLOR", "orange"}}), "app/c");
  EXPECT_EQ(get("x", "/p", {{"Version", "two"}, {"COLOR", "red"}}), "app/b");
  EXPECT_EQ(get("x", "/p", {{"version", "TWO"}}), "app/a");  // values are case-sensitive
  EXPECT_EQ(get("x", "/p/x", {}, "POST"), "500");  // method first; other ns without a grant
  EXPECT_EQ(get("x", "/p", {}, "GET", "x=1&q=a%20b"), "app/b");
  EXPECT_EQ(get("x", "/p", {}, "GET", "q=ab"), "app/a");
}

TEST_F(GatewayRoutesTest, TheOlderRouteWinsATieAndListenersIsolateTheirHostnames) {
  // Both only on the listener without a hostname.
  route("young", R"([{"backendRefs":[{"name":"b","port":8080}]}])", "", "2026-02-01T00:00:00Z",
        "http");
  route("old", R"([{"backendRefs":[{"name":"a","port":8080}]}])", "", "2026-01-01T00:00:00Z",
        "http");
  route(
      "foo",
      R"([{"matches":[{"path":{"value":"/foo-only"}}],"backendRefs":[{"name":"c","port":8080}]}])",
      R"("hostnames":["foo.example.com"],)");
  EXPECT_EQ(get("bar.example.com", "/"), "app/a");
  // foo.example.com is the listener "foo"'s: the catch-all listener's
  // routes do not serve it.
  EXPECT_EQ(get("foo.example.com", "/foo-only"), "app/c");
  EXPECT_EQ(get("foo.example.com:80", "/foo-only"), "app/c");
  EXPECT_EQ(get("FOO.example.com", "/foo-only"), "app/c");
  EXPECT_EQ(get("foo.example.com", "/"), "404");
  // A route without hostnames or a sectionName attaches to every listener.
  route("everywhere",
        R"([{"matches":[{"path":{"value":"/all"}}],"backendRefs":[{"name":"b","port":8080}]}])");
  compiled_ = {};
  EXPECT_EQ(get("foo.example.com", "/all"), "app/b");
  EXPECT_EQ(get("bar.example.com", "/all"), "app/b");
}

TEST_F(GatewayRoutesTest, RouteHostnamesWithGatewayApiWildcards) {
  route("w", R"([{"backendRefs":[{"name":"a","port":8080}]}])",
        R"("hostnames":["*.example.org"],)");
  route("e", R"([{"backendRefs":[{"name":"b","port":8080}]}])",
        R"("hostnames":["exact.example.org"],)");
  EXPECT_EQ(get("a.example.org", "/"), "app/a");
  EXPECT_EQ(get("a.b.example.org", "/"), "app/a");  // any number of labels
  EXPECT_EQ(get("example.org", "/"), "404");
  EXPECT_EQ(get("exact.example.org", "/"), "app/b");
  EXPECT_EQ(get("other.net", "/"), "404");
}

TEST_F(GatewayRoutesTest, WeightsInvalidReferencesAndReferenceGrants) {
  route(
      "r",
      R"([{"backendRefs":[{"name":"a","port":8080,"weight":70},{"name":"b","port":8080,"weight":30},
                                 {"name":"c","port":8080,"weight":0}]},
                 {"matches":[{"path":{"value":"/x"}}],"backendRefs":[{"name":"d","namespace":"other","port":8080}]},
                 {"matches":[{"path":{"value":"/missing"}}],"backendRefs":[{"name":"nope","port":8080}]},
                 {"matches":[{"path":{"value":"/none"}}]}])");
  compiled_ = compileRoutes(in_);
  std::vector<http::Header> none;
  RequestView view{"x", "/", "GET", &none, ""};
  const Route* r = compiled_.table->matchGateway(10300, view).route;
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->gateway->backends.size(), 2u);  // weight 0 is never chosen
  EXPECT_EQ(r->gateway->totalWeight, 100u);
  EXPECT_EQ(r->gateway->backends[0].weight, 70u);
  EXPECT_EQ(get("x", "/x"), "500");
  EXPECT_EQ(get("x", "/missing"), "500");
  EXPECT_EQ(get("x", "/none"), "500");
  EXPECT_EQ(compiled_.httpRouteParents["app/r"][0]["conditions"][1]["reason"], "RefNotPermitted");

  in_.referenceGrants = {ptr(R"({"metadata":{"name":"g","namespace":"other"},"spec":{
      "from":[{"group":"gateway.networking.k8s.io","kind":"HTTPRoute","namespace":"app"}],
      "to":[{"group":"","kind":"Service"}]}})")};
  compiled_ = {};
  EXPECT_EQ(get("x", "/x"), "other/d");
  const auto& target = *compiled_.table->matchGateway(10300, {"x", "/x", "GET", &none, ""})
                            .route->gateway->backends[0]
                            .target;
  ASSERT_EQ(target.endpoints.size(), 1u);
  EXPECT_EQ(target.endpoints[0].port, 9000);
}

TEST_F(GatewayRoutesTest, NothingIsServedUntilTheGatewayHasAnAddress) {
  in_.services.back() =
      std::make_shared<const Json>(gatewayService("infra/gw", 10300, 10301, false));
  route("r", R"([{"backendRefs":[{"name":"a","port":8080}]}])");
  compiled_ = compileRoutes(in_);
  EXPECT_TRUE(compiled_.table->gatewayPorts().empty());
  const Json& status = compiled_.gatewayStatus["infra/gw"];
  EXPECT_EQ(status["conditions"][1]["reason"], "AddressNotAssigned");
  EXPECT_EQ(compiled_.gatewayClassStatus["podnet"]["conditions"][0]["status"], "True");
}

TEST_F(GatewayRoutesTest, FiltersAndTimeoutsCompiled) {
  route("r", R"([{"filters":[
      {"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"X-A","value":"1"}],
        "add":[{"name":"X-B","value":"2"}],"remove":["X-C"]}},
      {"type":"URLRewrite","urlRewrite":{"hostname":"rewritten.example","path":{"type":"ReplacePrefixMatch","replacePrefixMatch":"/new"}}}],
     "timeouts":{"request":"1m30s","backendRequest":"500ms"},
     "backendRefs":[{"name":"a","port":8080}]},
    {"matches":[{"path":{"value":"/old"}}],"filters":[{"type":"RequestRedirect",
      "requestRedirect":{"scheme":"https","statusCode":301}}]}])");
  compiled_ = compileRoutes(in_);
  std::vector<http::Header> none;
  RouteMatch m = compiled_.table->matchGateway(10300, {"x", "/p/q", "GET", &none, ""});
  ASSERT_NE(m.route, nullptr);
  const GatewayRule& rule = *m.route->gateway;
  EXPECT_EQ(rule.requestHeaders.set.size(), 1u);
  EXPECT_EQ(rule.requestHeaders.remove, std::vector<std::string>{"X-C"});
  ASSERT_TRUE(rule.rewrite && rule.rewrite->path);
  EXPECT_FALSE(rule.rewrite->path->fullPath);
  EXPECT_EQ(rule.rewrite->hostname, "rewritten.example");
  EXPECT_EQ(rule.requestTimeoutMs, 90000u);
  EXPECT_EQ(rule.backendTimeoutMs, 500u);
  EXPECT_EQ(m.matchedPrefix, "/");
  EXPECT_EQ(m.listenerPort, 80);
  RouteMatch r = compiled_.table->matchGateway(10300, {"x", "/old/a", "GET", &none, ""});
  ASSERT_TRUE(r.route && r.route->gateway->redirect);
  EXPECT_EQ(r.route->gateway->redirect->status, 301);
  EXPECT_EQ(r.route->gateway->redirect->scheme, "https");
}

TEST(GatewayRouteHelpers, ReplacePrefixAsTheSpecificationsExamples) {
  EXPECT_EQ(replacePrefix("/foo/bar", "/foo", "/xyz"), "/xyz/bar");
  EXPECT_EQ(replacePrefix("/foo", "/foo", "/xyz"), "/xyz");
  EXPECT_EQ(replacePrefix("/foo/bar", "/foo", "/"), "/bar");
  EXPECT_EQ(replacePrefix("/foo", "/foo", "/"), "/");
  EXPECT_EQ(replacePrefix("/foo/bar", "/foo/", "/xyz/"), "/xyz/bar");
  EXPECT_EQ(replacePrefix("/prefix/one/two", "/prefix/one", "/one"), "/one/two");
  EXPECT_EQ(replacePrefix("/a", "/", "/b"), "/b/a");
}

TEST(GatewayRouteHelpers, Durations) {
  EXPECT_EQ(parseGatewayDuration("10s"), 10000u);
  EXPECT_EQ(parseGatewayDuration("500ms"), 500u);
  EXPECT_EQ(parseGatewayDuration("1h30m"), 5400000u);
  EXPECT_EQ(parseGatewayDuration("0s"), 0u);
  EXPECT_FALSE(parseGatewayDuration(""));
  EXPECT_FALSE(parseGatewayDuration("10"));
  EXPECT_FALSE(parseGatewayDuration("1d"));
  EXPECT_FALSE(parseGatewayDuration("123456s"));
  EXPECT_FALSE(parseGatewayDuration("1s1s1s1s1s"));
}

TEST(GatewayServiceTest, BindPortsKeptAndNewOnesAvoidTakenOnes) {
  gateway::Gateway gw;
  gw.ns = "infra";
  gw.name = "My.Gateway";
  gw.listeners = {{"http", "", 80, "HTTP"}, {"https", "", 443, "HTTPS"}, {"alt", "x", 80, "HTTP"}};
  gateway::GatewayServiceOptions options;
  Json first = gateway::desiredGatewayService(gw, nullptr, {10300}, options);
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["metadata"]["namespace"], "kube-system");
  std::string name = first["metadata"]["name"];
  EXPECT_LE(name.size(), 63u);
  EXPECT_EQ(name.rfind("gateway-my-gateway-", 0), 0u);
  EXPECT_EQ(first["spec"]["type"], "LoadBalancer");
  ASSERT_EQ(first["spec"]["ports"].size(), 2u);  // one per listener port
  EXPECT_EQ(first["spec"]["ports"][0]["port"], 80);
  EXPECT_EQ(first["spec"]["ports"][0]["targetPort"], 10301);
  EXPECT_EQ(first["spec"]["ports"][1]["targetPort"], 10302);
  auto info = gateway::readGatewayService(first);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->gateway, "infra/My.Gateway");
  EXPECT_EQ(info->bindPorts.at(443), 10302);
  // A new listener port: the old ones keep theirs.
  gw.listeners.push_back({"extra", "", 8080, "HTTP"});
  Json second = gateway::desiredGatewayService(gw, &first, {10300, 10303}, options);
  EXPECT_EQ(second["spec"]["ports"][0]["targetPort"], 10301);
  EXPECT_EQ(second["spec"]["ports"][1]["targetPort"], 10302);
  EXPECT_EQ(second["spec"]["ports"][2]["targetPort"], 10304);
  EXPECT_TRUE(gateway::gatewayServiceUpToDate(first, first));
  EXPECT_FALSE(gateway::gatewayServiceUpToDate(first, second));
  EXPECT_NE(gateway::gatewayServiceName("a", "gw"), gateway::gatewayServiceName("b", "gw"));
  // spec.infrastructure's labels and annotations go onto the Service.
  gw.infrastructureLabels = {{"team", "edge"}, {gateway::kGatewayServiceLabel, "no"}};
  gw.infrastructureAnnotations = {{"example.com/owner", "edge-team"}};
  Json third = gateway::desiredGatewayService(gw, &second, {10300, 10303}, options);
  EXPECT_EQ(third["metadata"]["labels"]["team"], "edge");
  EXPECT_EQ(third["metadata"]["labels"][gateway::kGatewayServiceLabel], "true");  // ours win
  EXPECT_EQ(third["metadata"]["annotations"]["example.com/owner"], "edge-team");
  EXPECT_FALSE(gateway::gatewayServiceUpToDate(second, third));
  EXPECT_TRUE(gateway::gatewayServiceUpToDate(third, third));
  options.lastBindPort = 10301;
  EXPECT_TRUE(gateway::desiredGatewayService(gw, nullptr, {10300}, options).is_null());
}

}  // namespace
}  // namespace podnet::ingress
