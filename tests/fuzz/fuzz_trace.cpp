// Fuzzes what `podnet trace` reads from outside: the kernel's trace event
// messages, the user's target, a pod's resolv.conf, nft's listing, and the
// agents' JSON replies the report is built from.
#include <cstdint>
#include <string>

#include "net/nftrace.h"
#include "trace/journey.h"
#include "trace/rule_text.h"
#include "trace/target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)podnet::net::parseNftTraceMessage(data, size);
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)podnet::trace::parseTarget(text, false);
  (void)podnet::trace::parseTarget(text, true);
  auto conf = podnet::trace::parseResolvConf(text);
  (void)podnet::trace::queryNames("web", conf);
  (void)podnet::trace::parseRuleTexts(text);
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return 0;
  podnet::trace::ClusterObjects cluster;
  podnet::trace::TracedRequest request;
  request.clientIp = "10.244.0.5";
  request.clientNode = "node-1";
  request.target.host = "web";
  request.target.port = 80;
  request.sourcePort = 24000;
  if (json.is_object()) {
    request.run = json.value("run", nlohmann::json::object());
    if (json.contains("cluster") && json["cluster"].is_array())
      for (const auto& object : json["cluster"]) {
        if (!object.is_object()) continue;
        podnet::policy::addToClusterState(cluster.policies, object);
        std::string kind = object.value("kind", "");
        if (kind == "Service") cluster.services.push_back(object);
        if (kind == "EndpointSlice") cluster.slices.push_back(object);
        if (kind == "Pod") cluster.pods.push_back(object);
        if (kind == "Node") cluster.nodes.push_back(object);
      }
  }
  auto report = podnet::trace::buildReport(cluster, request, {{"node-1", json}});
  (void)podnet::trace::renderText(report);
  return 0;
}
