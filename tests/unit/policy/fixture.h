// A small cluster for the policy tests: nodes, namespaces, pods and
// policies kept in a ClusterState (for the evaluator) and fed to one
// Compiler per node (for the programs), with the kernel's copy of each
// program rebuilt from the compilers' deltas, so every check also covers
// incremental updates.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/codec.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/trace.h"

namespace podnet::policy::testing {

inline core::IpAddress ip(const std::string& text) { return *core::IpAddress::parse(text); }

struct Probe {
  Protocol protocol;
  uint16_t port;
};
inline const std::vector<Probe> kProbes = {
    {Protocol::tcp, 80},   {Protocol::tcp, 81},   {Protocol::tcp, 8080}, {Protocol::tcp, 8050},
    {Protocol::tcp, 9090}, {Protocol::udp, 53},   {Protocol::udp, 8050}, {Protocol::sctp, 80},
    {Protocol::tcp, 53},   {Protocol::tcp, 5432}, {Protocol::tcp, 9001}};

struct Cluster {
  std::vector<std::string> nodes;
  std::map<std::string, std::string> nodeIps;  // node -> address
  ClusterState state;
  std::map<std::string, std::unique_ptr<Compiler>> compilers;
  std::map<std::string, Program> kernels;  // what each node's kernel would hold

  explicit Cluster(std::vector<std::string> nodeNames, CompilerOptions options = {})
      : nodes(std::move(nodeNames)) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      nodeIps[nodes[i]] = "172.30.0." + std::to_string(11 + i);
      state.setNodeAddresses(nodes[i], {ip(nodeIps[nodes[i]])});
      compilers[nodes[i]] = std::make_unique<Compiler>(nodes[i], options);
      kernels[nodes[i]];
    }
  }

  void sync() {
    for (auto& [node, compiler] : compilers) {
      applyDelta(kernels[node], compiler->takeDelta());
      ASSERT_EQ(kernels[node], compiler->program())
          << "the deltas of " << node << " do not add up to its program";
    }
  }

  void setNamespace(const std::string& name, Labels labels) {
    Namespace ns{name, std::move(labels)};
    ns.labels[kNamespaceNameLabel] = name;
    state.setNamespace(ns);
    for (auto& [node, c] : compilers) c->setNamespace(ns);
  }
  void removeNamespace(const std::string& name) {
    state.removeNamespace(name);
    for (auto& [node, c] : compilers) c->removeNamespace(name);
  }
  void setPod(const Pod& pod) {
    state.setPod(pod);
    for (auto& [node, c] : compilers) c->setPod(pod);
  }
  void removePod(const std::string& key) {
    state.removePod(key);
    for (auto& [node, c] : compilers) c->removePod(key);
  }
  void setPolicy(const Policy& policy) {
    state.setPolicy(policy);
    for (auto& [node, c] : compilers) c->setPolicy(policy);
  }
  void setPolicyJson(const Json& object) {
    auto parsed = policyFromJson(object);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << object.dump();
    setPolicy(*parsed);
  }
  void removePolicy(const std::string& key) {
    state.removePolicy(key);
    for (auto& [node, c] : compilers) c->removePolicy(key);
  }

  // What the kernels do with a new connection from one address to another:
  // the source's node judges its egress (forward, or input when the
  // destination is that node), the destination's node its ingress.
  bool kernelAllows(const core::IpAddress& from, const core::IpAddress& to, Protocol protocol,
                    uint16_t port, std::string* why = nullptr) {
    TracePacket p{from.v4(), to.v4(), static_cast<uint8_t>(protocol), port, false};
    std::string fromNode = nodeOf(from), toNode = nodeOf(to);
    auto run = [&](const std::string& node, TraceHook hook) {
      TraceResult r = tracePacket(kernels.at(node), p, hook);
      if (why)
        for (const auto& s : r.steps) *why += node + ": " + s + "; ";
      return r.accepted;
    };
    // Sent by a node itself: leaves through output, never judged there.
    bool fromIsNode = isNodeIp(from);
    if (!fromIsNode && !fromNode.empty()) {
      bool toItself = isNodeIp(to) && nodeIps.at(fromNode) == to.toString();
      if (!run(fromNode, toItself ? TraceHook::input : TraceHook::forward)) return false;
      if (toItself) return true;
      if (toNode == fromNode) return true;  // one traversal of forward did both checks
    }
    if (!toNode.empty() && !isNodeIp(to)) {
      if (fromIsNode && nodeIps.at(toNode) == from.toString()) return true;  // output path
      return run(toNode, TraceHook::forward);
    }
    return true;
  }

  // Every source x every destination x every probe: what the evaluator says
  // equals what the node programs do. The addresses are the pods', the
  // nodes' and `others` (outside addresses: former pods' above all).
  void checkAgreement(const std::set<std::string>& others, const std::string& context) {
    std::set<core::IpAddress> unique;
    for (const auto& [key, pod] : state.pods())
      if (!pod.hostNetwork)
        for (const auto& a : pod.ips) unique.insert(a);
    for (const auto& text : others) unique.insert(ip(text));
    std::vector<core::IpAddress> all(unique.begin(), unique.end());
    for (const auto& [node, text] : nodeIps) all.push_back(ip(text));
    int mismatches = 0;
    for (const auto& dst : all) {
      Endpoint to = endpointForIp(state, dst);
      for (const auto& src : all) {
        Endpoint from = endpointForIp(state, src);
        if (!from.pod && !to.pod) continue;  // no policy between two outside addresses
        for (const Probe& probe : kProbes) {
          Verdict v = evaluate(state, from, to, probe.protocol, probe.port);
          std::string why;
          bool kernel = kernelAllows(src, dst, probe.protocol, probe.port, &why);
          if (v.allowed != kernel && ++mismatches <= 5)
            ADD_FAILURE() << context << ": " << from.describe() << " -> " << to.describe() << " "
                          << probe.port << "/" << protocolName(probe.protocol) << ": evaluator "
                          << (v.allowed ? "allows" : "denies") << " (egress: " << v.egress.reason
                          << "; ingress: " << v.ingress.reason << "), kernel "
                          << (kernel ? "allows" : "denies") << " (" << why << ")";
        }
      }
    }
    EXPECT_EQ(mismatches, 0) << context;
  }

  bool isNodeIp(const core::IpAddress& address) const {
    for (const auto& [node, text] : nodeIps)
      if (text == address.toString()) return true;
    return false;
  }
  // The node an address lives on: a pod's node, or the node itself.
  std::string nodeOf(const core::IpAddress& address) const {
    for (const auto& [node, text] : nodeIps)
      if (text == address.toString()) return node;
    for (const auto& [key, pod] : state.pods())
      for (const auto& podIp : pod.ips)
        if (podIp == address && !pod.hostNetwork) return pod.nodeName;
    return "";
  }
};

}  // namespace podnet::policy::testing
