// The Gateway API statuses the controller writes, with the specification's
// condition types and reasons.
#include "ingress/gateway_status.h"

#include <gtest/gtest.h>

namespace podnet::ingress::gateway {
namespace {

// The condition `type` of a conditions array: "True/Reason".
std::string cond(const Json& conditions, const std::string& type) {
  for (const auto& c : conditions)
    if (c["type"] == type)
      return c["status"].get<std::string>() + "/" + c["reason"].get<std::string>();
  return "<none>";
}

class GatewayStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    in_.classes = {{"podnet", kControllerName, 1}, {"other", "example.com/other", 1}};
    Gateway gw;
    gw.ns = "infra";
    gw.name = "gw";
    gw.gatewayClassName = "podnet";
    gw.generation = 2;
    Listener http;
    http.name = "http";
    http.port = 80;
    http.protocol = "HTTP";
    http.hostname = "*.example.com";
    http.routesFrom = "All";
    Listener https;
    https.name = "https";
    https.port = 443;
    https.protocol = "HTTPS";
    https.tlsMode = "Terminate";
    https.certificateRefs = {{"", "Secret", "certs", "wildcard"}};
    Listener same;
    same.name = "same";
    same.port = 8080;
    same.protocol = "HTTP";
    gw.listeners = {http, https, same};
    in_.gateways = {gw};
    Gateway foreign = gw;
    foreign.name = "foreign";
    foreign.gatewayClassName = "other";
    in_.gateways.push_back(foreign);
    in_.addresses["infra/gw"] = {"172.30.0.200"};
    in_.serviceExists = [](const std::string& ns, const std::string& name) {
      return (ns == "app" && name == "web") || (ns == "backend" && name == "api");
    };
    in_.tlsSecretValid = [](const std::string& ns, const std::string& name) {
      return ns == "certs" && name == "wildcard";
    };
    in_.namespaceLabels = [](const std::string& ns) {
      return ns == "app" ? std::map<std::string, std::string>{{"team", "a"}}
                         : std::map<std::string, std::string>{};
    };
    in_.now = "2026-12-07T00:00:00Z";
  }

  HttpRoute route(const std::string& name, std::vector<std::string> hostnames,
                  std::string section = "", std::string backendNs = "") {
    HttpRoute r;
    r.ns = "app";
    r.name = name;
    r.generation = 3;
    ParentRef parent;
    parent.ns = "infra";
    parent.name = "gw";
    parent.sectionName = section;
    r.parentRefs = {parent};
    r.hostnames = std::move(hostnames);
    Rule rule;
    rule.matches.emplace_back();
    BackendRef backend;
    backend.name = backendNs == "backend" ? "api" : "web";
    backend.ns = backendNs;
    rule.backendRefs = {backend};
    r.rules = {rule};
    return r;
  }

  StatusInputs in_;
};

TEST_F(GatewayStatusTest, OurClassAndGatewayAreAcceptedAndProgrammed) {
  auto out = computeStatus(in_);
  ASSERT_TRUE(out.classStatus.count("podnet"));
  EXPECT_FALSE(out.classStatus.count("other"));
  EXPECT_EQ(cond(out.classStatus["podnet"]["conditions"], "Accepted"), "True/Accepted");
  EXPECT_EQ(cond(out.classStatus["podnet"]["conditions"], "SupportedVersion"),
            "True/SupportedVersion");
  ASSERT_TRUE(out.gatewayStatus.count("infra/gw"));
  EXPECT_FALSE(out.gatewayStatus.count("infra/foreign"));
  const Json& gw = out.gatewayStatus["infra/gw"];
  EXPECT_EQ(gw["addresses"][0]["value"], "172.30.0.200");
  EXPECT_EQ(cond(gw["conditions"], "Accepted"), "True/Accepted");
  EXPECT_EQ(cond(gw["conditions"], "Programmed"), "True/Programmed");
  EXPECT_EQ(gw["conditions"][0]["observedGeneration"], 2);
  // The HTTPS listener's Secret is in another namespace, with no grant.
  EXPECT_EQ(cond(gw["listeners"][1]["conditions"], "ResolvedRefs"), "False/RefNotPermitted");
  EXPECT_EQ(cond(gw["listeners"][1]["conditions"], "Programmed"), "False/Invalid");
  in_.grants = {{"certs", {{kGroup, "Gateway", "infra"}}, {{"", "Secret", ""}}}};
  out = computeStatus(in_);
  EXPECT_EQ(cond(out.gatewayStatus["infra/gw"]["listeners"][1]["conditions"], "ResolvedRefs"),
            "True/ResolvedRefs");
  EXPECT_EQ(out.gatewayStatus["infra/gw"]["listeners"][0]["supportedKinds"][0]["kind"],
            "HTTPRoute");

  in_.addresses.clear();
  out = computeStatus(in_);
  EXPECT_EQ(cond(out.gatewayStatus["infra/gw"]["conditions"], "Programmed"),
            "False/AddressNotAssigned");
}

TEST_F(GatewayStatusTest, ConflictsAndUnsupportedProtocols) {
  Listener tcp;
  tcp.name = "tcp";
  tcp.port = 80;
  tcp.protocol = "TCP";
  Listener twin = in_.gateways[0].listeners[0];
  twin.name = "twin";
  in_.gateways[0].listeners.push_back(tcp);
  in_.gateways[0].listeners.push_back(twin);
  auto out = computeStatus(in_);
  const Json& listeners = out.gatewayStatus["infra/gw"]["listeners"];
  EXPECT_EQ(cond(listeners[3]["conditions"], "Accepted"), "False/UnsupportedProtocol");
  EXPECT_EQ(cond(listeners[0]["conditions"], "Conflicted"), "True/ProtocolConflict");
  EXPECT_EQ(cond(listeners[4]["conditions"], "Conflicted"), "True/ProtocolConflict");
  EXPECT_EQ(cond(listeners[2]["conditions"], "Conflicted"), "False/NoConflicts");
}

TEST_F(GatewayStatusTest, RoutesAttachByNamespaceHostnameAndSection) {
  in_.routes = {route("ok", {"shop.example.com"}, "http"),
                route("wrong-host", {"shop.other.org"}, "http"), route("not-same-ns", {}, "same"),
                route("no-section", {}, "nope"), route("everywhere", {})};
  auto out = computeStatus(in_);
  auto accepted = [&](const std::string& name) {
    return cond(out.routeParents["app/" + name][0]["conditions"], "Accepted");
  };
  EXPECT_EQ(accepted("ok"), "True/Accepted");
  EXPECT_EQ(accepted("wrong-host"), "False/NoMatchingListenerHostname");
  EXPECT_EQ(accepted("not-same-ns"), "False/NotAllowedByListeners");
  EXPECT_EQ(accepted("no-section"), "False/NoMatchingParent");
  EXPECT_EQ(accepted("everywhere"), "True/Accepted") << "attaches to the http listener (All)";
  EXPECT_EQ(out.routeParents["app/ok"][0]["controllerName"], kControllerName);
  EXPECT_EQ(out.routeParents["app/ok"][0]["parentRef"]["sectionName"], "http");
  EXPECT_EQ(out.gatewayStatus["infra/gw"]["listeners"][0]["attachedRoutes"], 2);
  EXPECT_EQ(out.gatewayStatus["infra/gw"]["listeners"][2]["attachedRoutes"], 0);
  ASSERT_EQ(out.attachments.size(), 2u);
  EXPECT_EQ(out.attachments[0].hostnames, std::vector<std::string>{"shop.example.com"});
  EXPECT_EQ(out.attachments[1].hostnames, std::vector<std::string>{"*.example.com"});

  // Selector: namespaces labelled team=a.
  in_.gateways[0].listeners[2].routesFrom = "Selector";
  in_.gateways[0].listeners[2].routesSelector = {{"matchLabels", {{"team", "a"}}}};
  out = computeStatus(in_);
  EXPECT_EQ(accepted("not-same-ns"), "True/Accepted");
}

TEST_F(GatewayStatusTest, BackendRefsResolvedOrWhyNot) {
  auto missing = route("missing", {});
  missing.rules[0].backendRefs[0].name = "nope";
  auto other = route("cross", {}, "", "backend");
  auto kind = route("kind", {});
  kind.rules[0].backendRefs[0].kind = "ConfigMap";
  in_.routes = {route("fine", {}), missing, other, kind};
  auto out = computeStatus(in_);
  auto resolved = [&](const std::string& name) {
    return cond(out.routeParents["app/" + name][0]["conditions"], "ResolvedRefs");
  };
  EXPECT_EQ(resolved("fine"), "True/ResolvedRefs");
  EXPECT_EQ(resolved("missing"), "False/BackendNotFound");
  EXPECT_EQ(resolved("cross"), "False/RefNotPermitted");
  EXPECT_EQ(resolved("kind"), "False/InvalidKind");
  in_.grants = {{"backend", {{kGroup, "HTTPRoute", "app"}}, {{"", "Service", "api"}}}};
  out = computeStatus(in_);
  EXPECT_EQ(resolved("cross"), "True/ResolvedRefs");
}

TEST(GatewayStatusWriter, KeepsTransitionTimesOfUnchangedConditionsAndOthersParents) {
  Json written = Json::parse(R"({
    "conditions":[{"type":"Accepted","status":"True","reason":"Accepted","lastTransitionTime":"T0"},
                  {"type":"Programmed","status":"False","reason":"Pending","lastTransitionTime":"T0"}],
    "listeners":[{"name":"b","conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T0"}]},
                 {"name":"a","conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T0"}]}]})");
  Json fresh = Json::parse(R"({
    "conditions":[{"type":"Accepted","status":"True","reason":"Accepted","lastTransitionTime":"T1"},
                  {"type":"Programmed","status":"True","reason":"Programmed","lastTransitionTime":"T1"}],
    "listeners":[{"name":"a","conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T1"}]},
                 {"name":"c","conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T1"}]}]})");
  Json carried = carryTransitionTimes(written, fresh);
  EXPECT_EQ(carried["conditions"][0]["lastTransitionTime"], "T0");                  // unchanged
  EXPECT_EQ(carried["conditions"][1]["lastTransitionTime"], "T1");                  // False -> True
  EXPECT_EQ(carried["listeners"][0]["conditions"][0]["lastTransitionTime"], "T0");  // by name
  EXPECT_EQ(carried["listeners"][1]["conditions"][0]["lastTransitionTime"], "T1");  // new
  // Written again unchanged: nothing to write.
  EXPECT_EQ(carryTransitionTimes(carried, fresh), carried);

  Json parents = Json::parse(R"([
    {"parentRef":{"name":"gw"},"controllerName":"example.com/other","conditions":[]},
    {"parentRef":{"name":"ours"},"controllerName":"podnet.io/gateway-controller",
     "conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T0"}]},
    {"parentRef":{"name":"gone"},"controllerName":"podnet.io/gateway-controller","conditions":[]}])");
  Json ours =
      Json::parse(R"([{"parentRef":{"name":"ours"},"controllerName":"podnet.io/gateway-controller",
     "conditions":[{"type":"Accepted","status":"True","lastTransitionTime":"T1"}]}])");
  Json merged = mergeRouteParents(parents, ours);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0]["controllerName"], "example.com/other");
  EXPECT_EQ(merged[1]["parentRef"]["name"], "ours");
  EXPECT_EQ(merged[1]["conditions"][0]["lastTransitionTime"], "T0");
  EXPECT_EQ(mergeRouteParents(merged, ours), merged);
}

}  // namespace
}  // namespace podnet::ingress::gateway
