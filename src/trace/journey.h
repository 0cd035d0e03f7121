// A traced request's journey, told in the seed's five steps, from what the
// tracer saw (the agent's DNS queries and request, the kernel's trace events
// and conntrack entries of every node) and the API's objects (Services,
// EndpointSlices, pods, nodes, NetworkPolicies). Pure: the CLI gathers, this
// explains, render() prints.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy/evaluator.h"
#include "trace/target.h"

namespace podnet::trace {

using Json = nlohmann::json;

struct ClusterObjects {
  std::vector<Json> services, slices, pods, nodes;
  policy::ClusterState policies;  // namespaces, pods, nodes and NetworkPolicies
};

// What one node's tracer returned from /trace/collect.
struct NodeCapture {
  std::string node;
  Json collected;  // {"events": [...], "conntrack": [...], "lostEvents"}
};

struct TracedRequest {
  std::string clientNs, clientPod;  // empty with --from-host
  std::string clientIp;             // the pod's IP ("" from the host: any)
  std::string clientNode;           // "" from the host
  Target target;
  uint16_t sourcePort = 0;
  Json run;  // {"dns": {...}, "connection": {...}} from the agent (or the host)
};

// {"request": {...}, "ok": bool, "failedStep": n|null, "steps": [{"step", "title",
// "ok", "summary", "lines": [...], ...}]}: the steps up to the first that
// failed.
Json buildReport(const ClusterObjects& cluster, const TracedRequest& request,
                 const std::vector<NodeCapture>& captures);

// The text form: numbered as the seed numbers them, one indented line per detail.
std::string renderText(const Json& report);

}  // namespace podnet::trace
