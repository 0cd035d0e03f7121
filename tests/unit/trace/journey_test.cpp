// The report from captures of the shape the agents return, without a
// cluster: what each step concludes from the kernel's events, conntrack and
// the API's objects.
#include "trace/journey.h"

#include <gtest/gtest.h>

namespace podnet::trace {
namespace {

Json pod(const std::string& name, const std::string& node, const std::string& ip,
         Json labels = Json::object()) {
  return {{"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
          {"spec", {{"nodeName", node}, {"containers", Json::array()}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}, {"podIPs", {{{"ip", ip}}}}}}};
}

Json node(const std::string& name, const std::string& ip) {
  return {{"kind", "Node"},
          {"metadata", {{"name", name}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}}}}}};
}

struct Fixture {
  ClusterObjects cluster;
  TracedRequest request;
  std::vector<NodeCapture> captures;

  Fixture() {
    cluster.services.push_back(
        {{"kind", "Service"},
         {"metadata", {{"name", "web"}, {"namespace", "default"}}},
         {"spec",
          {{"type", "ClusterIP"},
           {"clusterIP", "10.96.0.50"},
           {"clusterIPs", {"10.96.0.50"}},
           {"selector", {{"app", "web"}}},
           {"ports", {{{"port", 80}, {"targetPort", 3000}, {"protocol", "TCP"}}}}}}});
    cluster.slices.push_back({{"kind", "EndpointSlice"},
                              {"metadata",
                               {{"name", "web-abc"},
                                {"namespace", "default"},
                                {"labels", {{"kubernetes.io/service-name", "web"}}}}},
                              {"addressType", "IPv4"},
                              {"ports", {{{"port", 3000}, {"protocol", "TCP"}, {"name", ""}}}},
                              {"endpoints",
                               {{{"addresses", {"10.244.1.7"}},
                                 {"conditions", {{"ready", true}}},
                                 {"nodeName", "node-2"}},
                                {{"addresses", {"10.244.1.8"}},
                                 {"conditions", {{"ready", false}}},
                                 {"nodeName", "node-2"}}}}});
    for (Json p : {pod("client", "node-1", "10.244.0.5"),
                   pod("web-a", "node-2", "10.244.1.7", {{"app", "web"}}),
                   pod("web-b", "node-2", "10.244.1.8", {{"app", "web"}})}) {
      policy::addToClusterState(cluster.policies, p);
      cluster.pods.push_back(p);
    }
    for (Json n : {node("node-1", "172.30.0.11"), node("node-2", "172.30.0.12")}) {
      policy::addToClusterState(cluster.policies, n);
      cluster.nodes.push_back(n);
    }
    policy::addToClusterState(cluster.policies,
                              {{"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
    request.clientNs = "default";
    request.clientPod = "client";
    request.clientIp = "10.244.0.5";
    request.clientNode = "node-1";
    request.target = *parseTarget("http://web/", false);
    request.sourcePort = 24000;
    request.run = {
        {"dns",
         {{"name", "web"},
          {"nameserver", "10.96.0.10"},
          {"answer", "10.96.0.50"},
          {"answeredName", "web.default.svc.cluster.local"},
          {"queries",
           {{{"name", "web.default.svc.cluster.local"},
             {"rcode", "NOERROR"},
             {"answers", {"10.96.0.50"}},
             {"ms", 0.3}}}}}},
        {"connection",
         {{"ok", true}, {"status", 200}, {"statusLine", "HTTP/1.1 200 OK"}, {"ms", 1.5}}}};
    Json syn = {{"src", "10.244.0.5"}, {"dst", "10.96.0.50"}, {"protocol", 6},
                {"sport", 24000},      {"dport", 80},         {"tcpFlags", 2}};
    Json ack = syn;
    ack["tcpFlags"] = 16;
    captures.push_back(
        {"node-1",
         {{"events",
           {{{"id", 1},
             {"table", "podnet-proxy"},
             {"chain", "nat-prerouting"},
             {"type", "rule"},
             {"verdict", "jump"},
             {"target", "services"},
             {"rule", "jump services"},
             {"packet", syn}},
            {{"id", 1},
             {"table", "podnet-proxy"},
             {"chain", "services"},
             {"type", "rule"},
             {"verdict", "goto"},
             {"rule", "ip daddr . meta l4proto . th dport vmap @service-ips"}},
            {{"id", 1},
             {"table", "podnet-proxy"},
             {"chain", "service-X-default/web/tcp/"},
             {"type", "rule"},
             {"verdict", "accept"},
             {"rule", "meta l4proto tcp dnat to 10.244.1.7:3000"}},
            {{"id", 2},
             {"table", "podnet-policy"},
             {"chain", "forward"},
             {"type", "policy"},
             {"verdict", "accept"},
             {"oif", "eth0"},
             {"packet", syn}},
            // A later packet under a reused id: not the first packet's.
            {{"id", 1},
             {"table", "podnet-proxy"},
             {"chain", "filter-prerouting"},
             {"type", "rule"},
             {"verdict", "drop"},
             {"rule", "drop"},
             {"packet", ack}}}},
          {"conntrack",
           {{{"original",
              {{"src", "10.244.0.5"}, {"dst", "10.96.0.50"}, {"sport", 24000}, {"dport", 80}}},
             {"reply",
              {{"src", "10.244.1.7"},
               {"dst", "10.244.0.5"},
               {"sport", 3000},
               {"dport", 24000}}}}}}}});
  }
  const Json& step(const Json& report, int n) {
    for (const Json& s : report["steps"])
      if (s["step"] == n) return s;
    static const Json none = Json::object();
    return none;
  }
  static std::string lines(const Json& s) {
    std::string out;
    for (const Json& l : s.value("lines", Json::array())) out += l.get<std::string>() + "\n";
    return out;
  }
};

TEST(Journey, AClusterIpRequestInFiveSteps) {
  Fixture f;
  Json report = buildReport(f.cluster, f.request, f.captures);
  ASSERT_TRUE(report["ok"].get<bool>()) << report.dump(2);
  ASSERT_EQ(report["steps"].size(), 5u);
  EXPECT_EQ(f.step(report, 1)["address"], "10.96.0.50");
  const Json& service = f.step(report, 2);
  EXPECT_EQ(service["service"], "default/web");
  EXPECT_EQ(service["kind"], "ClusterIP");
  EXPECT_TRUE(service["endpoints"][0]["eligible"].get<bool>());
  EXPECT_FALSE(service["endpoints"][1]["eligible"].get<bool>());
  EXPECT_EQ(service["endpoints"][1]["reason"], "not ready");
  std::string rules = Fixture::lines(f.step(report, 3));
  EXPECT_NE(rules.find("dnat to 10.244.1.7:3000"), std::string::npos) << rules;
  EXPECT_NE(rules.find("DNAT 10.96.0.50:80 -> 10.244.1.7:3000 (pod default/web-a"),
            std::string::npos)
      << rules;
  EXPECT_NE(rules.find("out through eth0 to node-2 (172.30.0.12)"), std::string::npos) << rules;
  EXPECT_EQ(rules.find("filter-prerouting: drop"), std::string::npos) << "a later packet's event";
  EXPECT_TRUE(f.step(report, 4)["allowed"].get<bool>());
  const Json& answer = f.step(report, 5);
  EXPECT_EQ(answer["pod"]["name"], "web-a");
  EXPECT_EQ(answer["status"], 200);
  EXPECT_NE(Fixture::lines(answer).find("back into 10.96.0.50:80"), std::string::npos);
  std::string text = renderText(report);
  EXPECT_NE(text.find("5. The answer: pod default/web-a (10.244.1.7, node-2) answered HTTP/1.1 "
                      "200 OK"),
            std::string::npos)
      << text;
}

TEST(Journey, AnUnknownNameStopsAtStepOneWithEveryNameTried) {
  Fixture f;
  f.request.run = {{"dns",
                    {{"name", "nope"},
                     {"queries",
                      {{{"name", "nope.default.svc.cluster.local"}, {"rcode", "NXDOMAIN"}},
                       {{"name", "nope"}, {"rcode", "NXDOMAIN"}}}}}}};
  Json report = buildReport(f.cluster, f.request, {});
  EXPECT_FALSE(report["ok"].get<bool>());
  EXPECT_EQ(report["failedStep"], 1);
  EXPECT_EQ(report["steps"].size(), 1u);
  EXPECT_NE(f.step(report, 1)["summary"].get<std::string>().find(
                "tried nope.default.svc.cluster.local, nope"),
            std::string::npos);
}

TEST(Journey, NoReadyEndpointStopsAtTheService) {
  Fixture f;
  f.cluster.slices[0]["endpoints"][0]["conditions"]["ready"] = false;
  Json report = buildReport(f.cluster, f.request, f.captures);
  EXPECT_EQ(report["failedStep"], 2) << report.dump(2);
  EXPECT_NE(f.step(report, 2)["summary"].get<std::string>().find("no ready endpoints"),
            std::string::npos);
}

TEST(Journey, ADenyingPolicyIsNamed) {
  Fixture f;
  Json policy = {
      {"kind", "NetworkPolicy"},
      {"metadata", {{"name", "web-from-frontend"}, {"namespace", "default"}}},
      {"spec",
       {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
        {"policyTypes", {"Ingress"}},
        {"ingress",
         {{{"from", {{{"podSelector", {{"matchLabels", {{"role", "frontend"}}}}}}}}}}}}}};
  ASSERT_TRUE(policy::addToClusterState(f.cluster.policies, policy));
  f.request.run["connection"] = {{"error", "no answer"}, {"failure", "timeout"}};
  Json report = buildReport(f.cluster, f.request, f.captures);
  EXPECT_EQ(report["failedStep"], 4) << report.dump(2);
  EXPECT_EQ(f.step(report, 4)["deniedBy"], Json::array({"default/web-from-frontend"}));
}

TEST(Journey, ATimeoutNamesTheLastRuleCrossed) {
  Fixture f;
  f.request.run["connection"] = {{"error", "no answer to the connection within 1000 ms"},
                                 {"failure", "timeout"}};
  Json report = buildReport(f.cluster, f.request, f.captures);
  EXPECT_EQ(report["failedStep"], 5);
  EXPECT_NE(f.step(report, 5)["summary"].get<std::string>().find(
                "the last rule crossed: node-1: podnet-proxy service-X-default/web/tcp/"),
            std::string::npos)
      << report.dump(2);
}

}  // namespace
}  // namespace podnet::trace
