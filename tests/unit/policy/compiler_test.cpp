// The compiler's representation choices, checked by meaning (packets traced
// through the node programs agree with the evaluator after every step) and
// by what each change costs: peer groups appear and go with a rule's size,
// kinds of pods that policies treat alike share a chain, and a change moves
// only what it must.
#include <gtest/gtest.h>

#include "fixture.h"

namespace podnet::policy {
namespace {

using testing::Cluster;

Pod pod(const std::string& ns, const std::string& name, Labels labels, int node, int host,
        std::vector<NamedPort> ports = {}) {
  Pod p;
  p.ns = ns;
  p.name = name;
  p.labels = std::move(labels);
  p.nodeName = "node-" + std::to_string(node);
  p.ips = {testing::ip("10.244." + std::to_string(node) + "." + std::to_string(host))};
  p.namedPorts = std::move(ports);
  return p;
}

Json policyJson(const std::string& ns, const std::string& name, Json spec) {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

struct GroupsFixture : ::testing::Test {
  CompilerOptions options{4};  // a rule with 4 peer addresses is a group, with 1 pairs again
  Cluster c{{"node-1", "node-2"}, options};
  std::set<std::string> former;  // every address a pod held

  void setPod(const Pod& p) {
    for (const auto& a : p.ips) former.insert(a.toString());
    c.setPod(p);
  }
  void check(const std::string& step) {
    c.sync();
    c.checkAgreement(former, step);
  }
  CompilerStats stats() { return c.compilers.at("node-1")->stats(); }
};

TEST_F(GroupsFixture, ARuleBecomesAGroupAndBackWithItsPeers) {
  c.setNamespace("web", {{"team", "blue"}});
  c.setNamespace("db", {{"team", "red"}});
  setPod(pod("db", "server", {{"app", "db"}}, 1, 2));
  // Ingress from every pod of blue namespaces on 5432 and 9000-9002.
  c.setPolicyJson(policyJson("db", "from-blue", Json::parse(R"({
    "podSelector": {"matchLabels": {"app": "db"}},
    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}],
                 "ports": [{"port": 5432}, {"port": 9000, "endPort": 9002}]}]})")));
  for (int i = 0; i < 3; ++i)
    setPod(pod("web", "w" + std::to_string(i), {{"app", "web"}}, 2, 10 + i));
  check("3 peers: pairs");
  EXPECT_EQ(stats().groups, 0U);
  setPod(pod("web", "w3", {{"app", "web"}}, 2, 13));
  check("4 peers: a group");
  EXPECT_EQ(stats().groups, 1U);
  // A new peer joins the group: one address, nothing else.
  c.compilers.at("node-1")->takeDelta();
  setPod(pod("web", "w4", {{"app", "web"}}, 2, 14));
  Delta delta = c.compilers.at("node-1")->takeDelta();
  EXPECT_EQ(delta.size(), 1U) << "one address into the group";
  applyDelta(c.kernels.at("node-1"), delta);
  check("5 peers");
  // A peer namespace turns red: its pods leave the group, and are refused,
  // while another blue namespace's pods keep the group.
  c.setNamespace("api", {{"team", "blue"}});
  for (int i = 0; i < 3; ++i)
    setPod(pod("api", "a" + std::to_string(i), {{"app", "api"}}, 2, 20 + i));
  check("api joins");
  c.setNamespace("web", {{"team", "red"}});
  check("web is red");
  EXPECT_EQ(stats().groups, 1U) << "api's pods keep the group";
  c.setNamespace("api", {{"team", "red"}});
  check("api is red");
  EXPECT_EQ(stats().groups, 0U) << "no peers, no group";
  c.setNamespace("web", {{"team", "blue"}});
  check("web is blue again");
  EXPECT_EQ(stats().groups, 1U);
  // Pods go until one is left: pairs again (below half the threshold).
  for (int i = 0; i < 4; ++i) c.removePod("web/w" + std::to_string(i));
  check("1 peer left");
  EXPECT_EQ(stats().groups, 0U);
  // A pod relabelled out of the rule's reach; and a policy gone.
  Pod last = *c.state.findPod("web/w4");
  last.labels = {{"app", "other"}};
  setPod(last);
  check("relabelled");
  c.removePolicy("db/from-blue");
  check("policy gone");
  EXPECT_EQ(stats().chains, 0U);
}

TEST_F(GroupsFixture, RulesWithTheSamePeersShareOneGroup) {
  c.setNamespace("mon", {{"purpose", "monitoring"}});
  c.setNamespace("a", {});
  c.setNamespace("b", {});
  for (int i = 0; i < 5; ++i)
    setPod(pod("mon", "m" + std::to_string(i), {{"app", "prom"}}, 2, 10 + i));
  setPod(pod("a", "api", {{"app", "api"}}, 1, 2));
  setPod(pod("b", "db", {{"app", "db"}}, 1, 3));
  // The same peers in two namespaces' policies, with other ports.
  for (const auto& [ns, port] : {std::pair{"a", 9090}, std::pair{"b", 9187}})
    c.setPolicyJson(policyJson(ns, "scrape", Json{
        {"podSelector", Json::object()},
        {"ingress", {{{"from", {{{"namespaceSelector", {{"matchLabels", {{"purpose", "monitoring"}}}}}}}},
                      {"ports", {{{"port", port}}}}}}}}));
  check("two policies, one group");
  EXPECT_EQ(stats().groups, 1U);
  EXPECT_EQ(c.compilers.at("node-1")->program().groups.begin()->second.size(), 5U);
  c.removePolicy("a/scrape");
  check("one policy left");
  EXPECT_EQ(stats().groups, 1U);
  c.removePod("mon/m0");
  check("a peer gone");
  c.removePolicy("b/scrape");
  check("none left");
  EXPECT_EQ(stats().groups, 0U);
}

TEST_F(GroupsFixture, EgressNamedPortsResolveOnEachPeerOfAGroup) {
  c.setNamespace("app", {});
  setPod(pod("app", "client", {{"role", "client"}}, 1, 2));
  for (int i = 0; i < 6; ++i)
    setPod(pod("app", "s" + std::to_string(i), {{"role", "server"}}, 2, 10 + i,
               {{"http", Protocol::tcp, uint16_t(8080 + i % 2)}}));
  c.setPolicyJson(policyJson("app", "client-out", Json::parse(R"({
    "podSelector": {"matchLabels": {"role": "client"}},
    "policyTypes": ["Egress"],
    "egress": [{"to": [{"podSelector": {"matchLabels": {"role": "server"}}}],
                "ports": [{"port": "http"}, {"port": 53, "protocol": "UDP"}]}]})")));
  check("named ports on a group's peers");
  EXPECT_EQ(stats().groups, 1U);
}

TEST_F(GroupsFixture, KindsThatPoliciesTreatAlikeShareAChain) {
  c.setNamespace("shop", {});
  c.setPolicyJson(policyJson("shop", "web-in", Json::parse(R"({
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}]}]})")));
  setPod(pod("shop", "lb", {{"app", "lb"}}, 2, 2));
  // Two ReplicaSets of one Deployment: two kinds, one chain.
  setPod(pod("shop", "web-a", {{"app", "web"}, {"pod-template-hash", "a"}}, 1, 2));
  setPod(pod("shop", "web-b", {{"app", "web"}, {"pod-template-hash", "b"}}, 1, 3));
  check("a rollout");
  EXPECT_EQ(stats().chains, 1U);
  // The new ReplicaSet's next pod: a dispatch entry and the self set, no elements.
  c.compilers.at("node-1")->takeDelta();
  setPod(pod("shop", "web-c", {{"app", "web"}, {"pod-template-hash", "b"}}, 1, 4));
  Delta delta = c.compilers.at("node-1")->takeDelta();
  EXPECT_EQ(delta.size(), 2U);
  applyDelta(c.kernels.at("node-1"), delta);
  check("another pod of the rollout");
  // A policy for one of them only: its kind leaves the shared chain.
  c.setPolicyJson(policyJson("shop", "canary", Json::parse(R"({
    "podSelector": {"matchLabels": {"pod-template-hash": "b"}},
    "ingress": [{"ports": [{"port": 9090}]}]})")));
  check("a canary policy");
  EXPECT_EQ(stats().chains, 2U);
  c.removePolicy("shop/canary");
  check("the canary policy gone");
  EXPECT_EQ(stats().chains, 1U);
}

}  // namespace
}  // namespace podnet::policy
