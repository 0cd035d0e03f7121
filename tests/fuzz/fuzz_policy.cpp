// Fuzzes what the agent does with a NetworkPolicy (or a List of objects):
// read it (or reduce it to its fail-closed form), compile it into two node
// programs next to a small fixed cluster, encode both as netlink batches,
// evaluate every pair, build the truth table; then remove it again and the
// programs must be back to what they were. Nothing may crash, whatever the
// input: the API server accepts more shapes than anyone writes by hand.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "api/codec.h"
#include "policy/compiler.h"
#include "policy/enforcer.h"
#include "policy/evaluator.h"
#include "policy/matrix.h"
#include "policy/netlink_writer.h"

namespace {

using podnet::policy::Json;
namespace policy = podnet::policy;

policy::Pod pod(const char* ns, const char* name, const char* app, const char* node,
                const char* ip) {
  policy::Pod p;
  p.ns = ns;
  p.name = name;
  p.labels = {{"app", app}};
  p.nodeName = node;
  p.ips = {*podnet::core::IpAddress::parse(ip)};
  p.namedPorts = {{"http", policy::Protocol::tcp, 80}, {"dns", policy::Protocol::udp, 53}};
  p.containerPorts = {{policy::Protocol::tcp, 80}, {policy::Protocol::udp, 53}};
  return p;
}

void trap(const char* why) {
  std::fprintf(stderr, "%s\n", why);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto objects = podnet::api::decodeObjects(text);
  if (!objects) return 0;
  policy::ClusterState state;
  policy::Compiler node1("node-1"), node2("node-2");
  std::vector<policy::Pod> pods = {pod("default", "a", "web", "node-1", "10.244.1.2"),
                                   pod("default", "b", "api", "node-2", "10.244.2.2"),
                                   pod("other", "c", "web", "node-1", "10.244.1.3")};
  for (const char* ns : {"default", "other"}) {
    policy::Namespace n{ns, {{"team", ns}}};
    state.setNamespace(n);
    node1.setNamespace(n);
    node2.setNamespace(n);
  }
  for (auto& p : pods) {
    state.setPod(p);
    node1.setPod(p);
    node2.setPod(p);
  }
  size_t baseline1 = podnet::policy::elementCount(node1.program());
  size_t baseline2 = podnet::policy::elementCount(node2.program());
  std::vector<std::string> keys;
  for (const Json& obj : *objects) {
    if (!obj.is_object()) continue;
    auto kind = obj.find("kind");
    if (kind != obj.end() && *kind == "Pod") {
      policy::Pod p = policy::podFromJson(obj);
      state.setPod(p);
      node1.setPod(p);
      node2.setPod(p);
      continue;
    }
    auto parsed = policy::policyFromJson(obj);
    std::optional<policy::Policy> p;
    if (parsed)
      p = std::move(*parsed);
    else
      p = policy::failClosedPolicy(obj);
    if (!p) continue;
    keys.push_back(p->key());
    state.setPolicy(*p);
    node1.setPolicy(*p);
    node2.setPolicy(*p);
  }
  policy::WriterConfig config;
  (void)policy::encodeProgram(config, node1.program());
  (void)policy::encodeDelta(config, node2.takeDelta());
  std::vector<const policy::Pod*> all;
  for (const auto& [key, p] : state.pods())
    if (!p.ips.empty() && !p.hostNetwork) all.push_back(&p);
  for (const policy::Pod* from : all)
    for (const policy::Pod* to : all)
      for (auto proto : {policy::Protocol::tcp, policy::Protocol::udp})
        (void)policy::evaluate(state, policy::endpointForPod(state, *from),
                               policy::endpointForPod(state, *to), proto, 80);
  auto r = policy::Reachability::compute(state, all, {policy::Protocol::tcp, 80});
  (void)r.allowedPairs();
  for (const auto& key : keys) {
    node1.removePolicy(key);
    node2.removePolicy(key);
  }
  // The extra pods of the input stay; only compare when there were none.
  bool podsOnly = all.size() == pods.size();
  if (podsOnly && (podnet::policy::elementCount(node1.program()) != baseline1 ||
                   podnet::policy::elementCount(node2.program()) != baseline2))
    trap("removing the policies left elements behind");
  return 0;
}
