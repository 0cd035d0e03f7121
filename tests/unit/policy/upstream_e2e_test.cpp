// Every case of the upstream NetworkPolicy e2e suite (kubernetes
// test/e2e/network/netpol, transcribed in data/upstream_e2e.yaml): the
// 3x3 model of namespaces x, y, z and pods a, b, c, its policies applied
// step by step, and each expected truth table checked twice: by the
// evaluator (what `podnet policy` says) and by packets traced through the
// programs the node compilers built incrementally (what the kernel does).
// As upstream, a pod probing itself is left out of the comparison.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "fixture.h"

namespace podnet::policy {
namespace {

using testing::Cluster;
namespace fs = std::filesystem;

const std::vector<std::string> kNamespaces = {"x", "y", "z"};
const std::vector<std::string> kPods = {"a", "b", "c"};

std::vector<Json> loadCases() {
  fs::path file = fs::path(__FILE__).parent_path() / "data" / "upstream_e2e.yaml";
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  auto docs = api::decodeYamlDocuments(text.str());
  if (!docs) ADD_FAILURE() << file << ": " << docs.error().message;
  return docs ? *docs : std::vector<Json>{};
}

// The pods live on three nodes; x/a, y/a, z/a on node-1 and so on, so
// every case has same-node and cross-node pairs.
struct Model {
  Cluster cluster;
  std::map<std::string, std::string> podIps;

  Model(const Json& model, CompilerOptions options)
      : cluster({"node-1", "node-2", "node-3"}, options) {
    for (const auto& ns : kNamespaces) cluster.setNamespace(ns, {});
    std::vector<int> ports;
    std::vector<std::string> protocols;
    for (const auto& p : model.value("ports", Json::array())) ports.push_back(p.get<int>());
    for (const auto& p : model.value("protocols", Json::array()))
      protocols.push_back(p.get<std::string>());
    for (size_t n = 0; n < kNamespaces.size(); ++n)
      for (size_t i = 0; i < kPods.size(); ++i) {
        Pod pod;
        pod.ns = kNamespaces[n];
        pod.name = kPods[i];
        pod.labels = {{"pod", kPods[i]}};
        pod.nodeName = "node-" + std::to_string(i + 1);
        std::string address = "10.244." + std::to_string(i + 1) + "." + std::to_string(10 + n);
        podIps[pod.key()] = address;
        pod.ips = {testing::ip(address)};
        for (int port : ports)
          for (const auto& protoText : protocols) {
            Protocol proto = *parseProtocol(protoText);
            std::string lower = protoText;
            for (char& c : lower) c = char(std::tolower(c));
            pod.namedPorts.push_back(
                {"serve-" + std::to_string(port) + "-" + lower, proto, uint16_t(port)});
            pod.containerPorts.push_back({proto, uint16_t(port)});
          }
        std::sort(pod.namedPorts.begin(), pod.namedPorts.end());
        std::sort(pod.containerPorts.begin(), pod.containerPorts.end());
        cluster.setPod(pod);
      }
  }

  std::string substitute(std::string text) const {
    static const std::regex placeholder(R"(\{(podIP|podHostCIDR) ([a-z])/([a-z])\})");
    std::smatch m;
    while (std::regex_search(text, m, placeholder)) {
      std::string address = podIps.at(m[2].str() + "/" + m[3].str());
      if (m[1] == "podHostCIDR") address += "/32";
      text = m.prefix().str() + address + m.suffix().str();
    }
    return text;
  }

  void relabelPod(const std::string& key, Labels labels) {
    Pod pod = *cluster.state.findPod(key);
    pod.labels = std::move(labels);
    cluster.setPod(pod);
  }
};

std::vector<std::string> gridKeys() {
  std::vector<std::string> keys;
  for (const auto& ns : kNamespaces)
    for (const auto& pod : kPods) keys.push_back(ns + "/" + pod);
  return keys;
}

// Parameter: the peer-group threshold (1: every selector rule is a group).
class UpstreamE2E : public ::testing::TestWithParam<size_t> {};

TEST_P(UpstreamE2E, EveryCase) {
  CompilerOptions options;
  options.groupAtAddresses = GetParam();
  auto cases = loadCases();
  ASSERT_EQ(cases.size(), 48U);
  size_t tables = 0;
  for (const Json& c : cases) {
    std::string name = c.value("name", "") + " [" + c.value("upstream", "") + "]";
    SCOPED_TRACE(name);
    Model model(c.value("model", Json::object()), options);
    size_t stepIndex = 0;
    for (const Json& step : c.value("steps", Json::array())) {
      SCOPED_TRACE("step " + std::to_string(++stepIndex));
      for (const Json& object : step.value("apply", Json::array())) {
        Json policy = Json::parse(model.substitute(object.dump()));
        model.cluster.setPolicyJson(policy);
      }
      for (const Json& key : step.value("delete", Json::array()))
        model.cluster.removePolicy(key.get<std::string>());
      Json namespaceLabels = step.value("namespaceLabels", Json::object());
      for (const auto& [ns, labels] : namespaceLabels.items())
        model.cluster.setNamespace(ns, labels.get<Labels>());
      Json podLabels = step.value("podLabels", Json::object());
      for (const auto& [pod, labels] : podLabels.items())
        model.relabelPod(pod, labels.get<Labels>());
      model.cluster.sync();
      for (const Json& expect : step.value("expect", Json::array())) {
        ASSERT_TRUE(expect["port"].is_number()) << expect.dump();
        uint16_t port = expect["port"].get<uint16_t>();
        Protocol protocol = *parseProtocol(expect.value("protocol", "TCP"));
        std::istringstream rows(expect.value("table", ""));
        std::string line;
        auto keys = gridKeys();
        size_t row = 0;
        std::string modelTable, kernelTable;
        bool mismatch = false;
        while (std::getline(rows, line)) {
          if (line.empty()) continue;
          std::istringstream cells(line);
          std::string from;
          cells >> from;
          ASSERT_EQ(from, keys[row]);
          modelTable += from;
          kernelTable += from;
          for (size_t col = 0; col < keys.size(); ++col) {
            std::string cell;
            cells >> cell;
            bool expected = cell == ".";
            const Pod* src = model.cluster.state.findPod(from);
            const Pod* dst = model.cluster.state.findPod(keys[col]);
            Verdict v = evaluate(model.cluster.state, endpointForPod(model.cluster.state, *src),
                                 endpointForPod(model.cluster.state, *dst), protocol, port);
            bool kernel = model.cluster.kernelAllows(src->ips[0], dst->ips[0], protocol, port);
            modelTable += v.allowed ? " ." : " X";
            kernelTable += kernel ? " ." : " X";
            if (from == keys[col]) continue;  // upstream ignores a pod probing itself
            mismatch |= v.allowed != expected || kernel != expected;
          }
          modelTable += "\n";
          kernelTable += "\n";
          ++row;
        }
        ASSERT_EQ(row, 9U);
        ++tables;
        EXPECT_FALSE(mismatch) << "port " << port << "/" << protocolName(protocol)
                               << "\nexpected:\n"
                               << expect.value("table", "") << "evaluator:\n"
                               << modelTable << "kernel programs:\n"
                               << kernelTable;
      }
    }
  }
  EXPECT_EQ(tables, 65U);
}

INSTANTIATE_TEST_SUITE_P(GroupThresholds, UpstreamE2E, ::testing::Values(128, 1),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "GroupAt" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace podnet::policy
