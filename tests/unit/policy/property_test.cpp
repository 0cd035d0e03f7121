// The evaluator and the compiled programs agree, on random clusters and
// random policies, after every random change: for every source (pods, nodes,
// outside addresses), every destination pod and a spread of ports and
// protocols, the verdict of `podnet policy` equals what packets traced
// through the node programs get. After each change the incrementally kept
// programs must also hold exactly as many elements as programs compiled from
// scratch (nothing stale left behind), and their deltas must add up.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "fixture.h"
#include "policy/matrix.h"

namespace podnet::policy {
namespace {

using testing::Cluster;

struct Generator {
  std::mt19937 rng;
  explicit Generator(uint32_t seed) : rng(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  bool coin(int percent = 50) { return pick(100) < percent; }
  template <typename T>
  const T& choose(const std::vector<T>& v) {
    return v[pick(int(v.size()))];
  }

  Json labels(const std::vector<std::pair<std::string, std::vector<std::string>>>& vocabulary) {
    Json out = Json::object();
    for (const auto& [key, values] : vocabulary)
      if (coin(60)) out[key] = choose(values);
    return out;
  }

  const std::vector<std::pair<std::string, std::vector<std::string>>> podVocabulary = {
      {"app", {"x", "y", "z"}}, {"tier", {"web", "db"}}};
  const std::vector<std::pair<std::string, std::vector<std::string>>> nsVocabulary = {
      {"team", {"a", "b"}}, {"env", {"prod", "dev"}}};

  Json selector(bool forNamespaces) {
    const auto& vocabulary = forNamespaces ? nsVocabulary : podVocabulary;
    Json s = Json::object();
    int kind = pick(4);
    if (kind == 0) return s;  // everything
    if (kind == 1 || kind == 3) s["matchLabels"] = labels(vocabulary);
    if (kind >= 2) {
      Json exprs = Json::array();
      for (int i = 0, n = 1 + pick(2); i < n; ++i) {
        const auto& [key, values] = choose(vocabulary);
        static const std::vector<std::string> ops = {"In", "NotIn", "Exists", "DoesNotExist"};
        std::string op = choose(ops);
        Json e = {{"key", forNamespaces && coin(20) ? kNamespaceNameLabel : key}, {"operator", op}};
        if (op == "In" || op == "NotIn") {
          Json vals = Json::array();
          if (forNamespaces && e["key"] == kNamespaceNameLabel)
            vals.push_back("ns" + std::to_string(pick(3)));
          else
            vals.push_back(choose(values));
          if (coin()) vals.push_back(choose(values));
          e["values"] = vals;
        }
        exprs.push_back(e);
      }
      s["matchExpressions"] = exprs;
    }
    return s;
  }

  Json peer() {
    switch (pick(5)) {
      case 0:
        return {{"podSelector", selector(false)}};
      case 1:
        return {{"namespaceSelector", selector(true)}};
      case 2:
        return {{"podSelector", selector(false)}, {"namespaceSelector", selector(true)}};
      default: {
        static const std::vector<Json> blocks = {
            {{"cidr", "10.244.0.0/16"}},
            {{"cidr", "10.244.1.0/24"}, {"except", {"10.244.1.0/28"}}},
            {{"cidr", "0.0.0.0/0"}, {"except", {"10.0.0.0/8", "192.168.7.0/24"}}},
            {{"cidr", "192.168.0.0/16"}},
            {{"cidr", "10.244.2.17/32"}},
            {{"cidr", "172.30.0.0/24"}}};
        return {{"ipBlock", choose(blocks)}};
      }
    }
  }

  Json port() {
    static const std::vector<Json> ports = {
        {{"port", 80}},
        {{"port", 80}, {"protocol", "TCP"}},
        {{"port", 53}, {"protocol", "UDP"}},
        {{"protocol", "UDP"}},
        {{"protocol", "SCTP"}},
        {{"port", "http"}},
        {{"port", "dns"}, {"protocol", "UDP"}},
        {{"port", "metrics"}},
        {{"port", 8000}, {"endPort", 8100}},
        {{"port", 8050}, {"endPort", 8050}, {"protocol", "UDP"}},
        {{"port", 1}, {"endPort", 65535}, {"protocol", "TCP"}}};
    return choose(ports);
  }

  Json rules() {
    Json out = Json::array();
    for (int i = 0, n = pick(3); i < n; ++i) {
      Json rule = Json::object();
      if (coin(80)) {
        Json peers = Json::array();
        for (int j = 0, m = pick(3); j < m; ++j) peers.push_back(peer());
        rule["peers"] = peers;
      }
      if (coin(70)) {
        Json ps = Json::array();
        for (int j = 0, m = pick(3); j < m; ++j) ps.push_back(port());
        rule["ports"] = ps;
      }
      out.push_back(rule);
    }
    return out;
  }

  Json policy(const std::string& ns, const std::string& name) {
    Json spec = {{"podSelector", selector(false)}};
    bool ingress = coin(75), egress = coin(45);
    if (ingress) {
      Json rs = rules();
      for (auto& r : rs) {
        if (r.contains("peers")) r["from"] = r["peers"];
        r.erase("peers");
      }
      spec["ingress"] = rs;
    }
    if (egress) {
      Json rs = rules();
      for (auto& r : rs) {
        if (r.contains("peers")) r["to"] = r["peers"];
        r.erase("peers");
      }
      spec["egress"] = rs;
    }
    if (coin(60)) {
      Json types = Json::array();
      if (ingress || coin(30)) types.push_back("Ingress");
      if (egress || coin(20)) types.push_back("Egress");
      if (!types.empty()) spec["policyTypes"] = types;
    }
    return {{"apiVersion", "networking.k8s.io/v1"},
            {"kind", "NetworkPolicy"},
            {"metadata", {{"name", name}, {"namespace", ns}}},
            {"spec", spec}};
  }

  Pod pod(const std::string& ns, const std::string& name, int node, int host) {
    Pod p;
    p.ns = ns;
    p.name = name;
    p.labels = labels(podVocabulary).get<Labels>();
    p.nodeName = "node-" + std::to_string(node);
    p.ips = {testing::ip("10.244." + std::to_string(node) + "." + std::to_string(host))};
    static const std::vector<NamedPort> named = {{"http", Protocol::tcp, 80},
                                                 {"http", Protocol::tcp, 8080},
                                                 {"dns", Protocol::udp, 53},
                                                 {"metrics", Protocol::tcp, 9090},
                                                 {"dns", Protocol::tcp, 53}};
    for (const auto& n : named)
      if (coin(25) && std::none_of(p.namedPorts.begin(), p.namedPorts.end(),
                                   [&](const NamedPort& x) { return x.name == n.name; }))
        p.namedPorts.push_back(n);
    std::sort(p.namedPorts.begin(), p.namedPorts.end());
    p.hostNetwork = coin(5);
    return p;
  }
};

using testing::kProbes;
using testing::Probe;
const std::vector<std::string> kOutside = {"192.168.7.9", "192.168.1.5", "8.8.8.8", "10.244.1.3",
                                           "10.244.2.17"};

// Every address a pod ever held: once the pod is gone it is an outside
// address, which no stale element may still let in or out.
std::set<std::string> everAssigned;

void checkAgreement(Cluster& c, const std::string& context) {
  for (const auto& [key, pod] : c.state.pods())
    for (const auto& ip : pod.ips) everAssigned.insert(ip.toString());
  std::set<std::string> others = everAssigned;
  others.insert(kOutside.begin(), kOutside.end());
  c.checkAgreement(others, context);
}

// The truth tables (matrix.h, by classes and bitsets) say what the
// evaluator says of every pair.
void checkMatrix(Cluster& c, const std::string& context) {
  std::vector<const Pod*> pods;
  for (const auto& [key, pod] : c.state.pods())
    if (!pod.hostNetwork && !pod.ips.empty()) pods.push_back(&pod);
  for (const Probe& probe : kProbes) {
    Reachability r = Reachability::compute(c.state, pods, {probe.protocol, probe.port});
    uint64_t pairs = 0;
    int mismatches = 0;
    for (size_t i = 0; i < pods.size(); ++i)
      for (size_t j = 0; j < pods.size(); ++j) {
        Verdict v = evaluate(c.state, endpointForPod(c.state, *pods[i]),
                             endpointForPod(c.state, *pods[j]), probe.protocol, probe.port);
        if (i != j && v.allowed) ++pairs;
        if (r.allowed(i, j) != v.allowed && ++mismatches <= 3)
          ADD_FAILURE() << context << ": matrix says " << r.allowed(i, j) << " for "
                        << pods[i]->key() << " -> " << pods[j]->key() << " " << probe.port << "/"
                        << protocolName(probe.protocol);
      }
    EXPECT_EQ(r.allowedPairs(), pairs) << context;
  }
}

// Programs compiled from scratch hold as many elements as the incremental
// ones. (With peer groups the representation depends on history, as a rule
// leaves its group only below half the threshold: then the agreement checks,
// which include every address a pod ever held, stand for this one.)
void checkNoStaleElements(Cluster& c, const std::string& context, CompilerOptions options) {
  if (options.groupAtAddresses < 128) return;
  for (const auto& node : c.nodes) {
    Compiler fresh(node, options);
    for (const auto& [name, ns] : c.state.namespaces()) fresh.setNamespace(ns);
    for (const auto& [key, policy] : c.state.policies()) fresh.setPolicy(policy);
    for (const auto& [key, pod] : c.state.pods()) fresh.setPod(pod);
    const Program& incremental = c.compilers.at(node)->program();
    EXPECT_EQ(elementCount(fresh.program()), elementCount(incremental)) << context << " " << node;
    for (size_t d = 0; d < kDirections; ++d) {
      EXPECT_EQ(fresh.program().chains[d].size(), incremental.chains[d].size()) << context;
      EXPECT_EQ(fresh.program().dispatch[d].size(), incremental.dispatch[d].size()) << context;
    }
  }
}

// Parameter: the peer-group threshold. 128 keeps these small clusters'
// rules as pairs; 2 turns most rules into peer groups (and back, as pods
// come and go).
class PolicyProperty : public ::testing::TestWithParam<size_t> {};

TEST_P(PolicyProperty, EvaluatorAndProgramsAgreeThroughRandomChanges) {
  const int kClusters = 80;
  const int kChanges = 8;
  CompilerOptions options;
  options.groupAtAddresses = GetParam();
  for (int seed = 1; seed <= kClusters; ++seed) {
    Generator g(seed);
    everAssigned.clear();
    Cluster c({"node-1", "node-2", "node-3"}, options);
    std::vector<std::string> namespaces = {"ns0", "ns1", "ns2"};
    for (const auto& ns : namespaces) c.setNamespace(ns, g.labels(g.nsVocabulary).get<Labels>());
    int host = 2;
    std::vector<std::string> podKeys;
    for (int i = 0; i < 12; ++i) {
      Pod p = g.pod(g.choose(namespaces), "p" + std::to_string(i), 1 + g.pick(3), host++);
      podKeys.push_back(p.key());
      c.setPod(p);
    }
    for (int i = 0, n = 1 + g.pick(5); i < n; ++i)
      c.setPolicyJson(g.policy(g.choose(namespaces), "np" + std::to_string(i)));
    c.sync();
    std::string context = "seed " + std::to_string(seed);
    checkAgreement(c, context);
    checkMatrix(c, context);
    for (int step = 0; step < kChanges && !HasFailure(); ++step) {
      std::string what;
      switch (g.pick(9)) {
        case 0: {  // relabel a pod
          Pod p = *c.state.findPod(g.choose(podKeys));
          p.labels = g.labels(g.podVocabulary).get<Labels>();
          c.setPod(p);
          what = "relabel pod " + p.key();
          break;
        }
        case 1: {  // relabel a namespace
          std::string ns = g.choose(namespaces);
          c.setNamespace(ns, g.labels(g.nsVocabulary).get<Labels>());
          what = "relabel namespace " + ns;
          break;
        }
        case 2: {  // a new or changed policy
          std::string name = "np" + std::to_string(g.pick(6));
          c.setPolicyJson(g.policy(g.choose(namespaces), name));
          what = "policy " + name;
          break;
        }
        case 3: {  // delete a policy
          if (c.state.policies().empty()) break;
          auto it = c.state.policies().begin();
          std::advance(it, g.pick(int(c.state.policies().size())));
          what = "delete policy " + it->first;
          c.removePolicy(std::string(it->first));
          break;
        }
        case 4: {  // a pod goes, and comes back elsewhere with a new address
          std::string key = g.choose(podKeys);
          Pod p = *c.state.findPod(key);
          c.removePod(key);
          c.sync();
          p.nodeName = "node-" + std::to_string(1 + g.pick(3));
          p.ips = {testing::ip("10.244." + p.nodeName.substr(5) + "." + std::to_string(host++))};
          c.setPod(p);
          what = "move pod " + key;
          break;
        }
        case 5: {  // a pod loses its address (it finished)
          Pod p = *c.state.findPod(g.choose(podKeys));
          p.ips.clear();
          c.setPod(p);
          what = "pod " + p.key() + " finished";
          break;
        }
        case 7: {  // a policy applied again, unchanged (an informer's relist)
          if (c.state.policies().empty()) break;
          auto it = c.state.policies().begin();
          std::advance(it, g.pick(int(c.state.policies().size())));
          what = "reapply policy " + it->first;
          Policy same = it->second;
          c.setPolicy(same);
          break;
        }
        case 8: {  // a pod gets another address on its node (a new sandbox)
          Pod p = *c.state.findPod(g.choose(podKeys));
          if (p.hostNetwork) break;
          p.ips = {testing::ip("10.244." + p.nodeName.substr(5) + "." + std::to_string(host++))};
          c.setPod(p);
          what = "new address for " + p.key();
          break;
        }
        default: {  // new named ports (a new identity for the same labels)
          Pod p = *c.state.findPod(g.choose(podKeys));
          if (p.ips.empty())
            p.ips = {testing::ip("10.244." + p.nodeName.substr(5) + "." + std::to_string(host++))};
          p.namedPorts = g.pod(p.ns, p.name, 1, 1).namedPorts;
          c.setPod(p);
          what = "ports of " + p.key();
          break;
        }
      }
      c.sync();
      std::string stepContext = context + " after " + what;
      checkAgreement(c, stepContext);
      checkMatrix(c, stepContext);
      checkNoStaleElements(c, stepContext, options);
    }
    if (HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(GroupThresholds, PolicyProperty, ::testing::Values(128, 2, 4),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "GroupAt" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace podnet::policy
