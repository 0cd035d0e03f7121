#include "controllers/scheduling.h"

#include <cstdlib>
#include <map>
#include <optional>
#include <tuple>

#include "api/object.h"
#include "controllers/util.h"

namespace podnet::controllers {

bool nodeIsReady(const Json& node) {
  for (const auto& c : arrayAt(node, {"status", "conditions"}))
    if (stringAt(c, {"type"}) == "Ready") return stringAt(c, {"status"}) == "True";
  return false;
}

static bool tolerates(const Json& pod, const Json& taint) {
  std::string key = stringAt(taint, {"key"});
  std::string value = stringAt(taint, {"value"});
  std::string effect = stringAt(taint, {"effect"});
  for (const auto& t : arrayAt(pod, {"spec", "tolerations"})) {
    std::string tEffect = stringAt(t, {"effect"});
    if (!tEffect.empty() && tEffect != effect) continue;
    std::string op = stringAt(t, {"operator"});
    std::string tKey = stringAt(t, {"key"});
    if (op == "Exists") {
      if (tKey.empty() || tKey == key) return true;
    } else if (tKey == key && stringAt(t, {"value"}) == value) {
      return true;
    }
  }
  return false;
}

static bool untoleratedTaint(const Json& pod, const Json& node) {
  for (const auto& taint : arrayAt(node, {"spec", "taints"})) {
    std::string effect = stringAt(taint, {"effect"});
    if ((effect == "NoSchedule" || effect == "NoExecute") && !tolerates(pod, taint)) return true;
  }
  return false;
}

static bool selectorMatches(const Json& pod, const Json& node) {
  auto selector = api::stringMap(objectAt(pod, {"spec", "nodeSelector"}));
  return mapSelectorMatches(selector, api::labels(node));
}

// One NodeSelectorRequirement against a value (a label, or a field).
static bool requirementMatches(const Json& requirement, const std::optional<std::string>& value) {
  std::string op = stringAt(requirement, {"operator"});
  const Json& values = arrayAt(requirement, {"values"});
  auto listed = [&] {
    for (const auto& v : values)
      if (value && v.is_string() && v.get<std::string>() == *value) return true;
    return false;
  };
  if (op == "In") return listed();
  if (op == "NotIn") return !listed();
  if (op == "Exists") return value.has_value();
  if (op == "DoesNotExist") return !value.has_value();
  if ((op == "Gt" || op == "Lt") && value && values.size() == 1 && values[0].is_string()) {
    char* end = nullptr;
    long long have = std::strtoll(value->c_str(), &end, 10);
    if (*end != '\0' || value->empty()) return false;
    long long want = std::strtoll(values[0].get<std::string>().c_str(), &end, 10);
    if (*end != '\0') return false;
    return op == "Gt" ? have > want : have < want;
  }
  return false;
}

// spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution:
// any term whose label expressions and field expressions (metadata.name,
// which DaemonSet pods are bound with) all hold.
static bool nodeAffinityMatches(const Json& pod, const Json& node) {
  const Json* required = at(
      pod, {"spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"});
  if (!required) return true;
  return nodeSelectorMatches(*required, node);
}

bool nodeSelectorMatches(const Json& selector, const Json& node) {
  const Json* required = &selector;
  auto labels = api::labels(node);
  for (const auto& term : arrayAt(*required, {"nodeSelectorTerms"})) {
    const Json& expressions = arrayAt(term, {"matchExpressions"});
    const Json& fields = arrayAt(term, {"matchFields"});
    if (expressions.empty() && fields.empty()) continue;  // matches nothing
    bool all = true;
    for (const auto& requirement : expressions) {
      auto it = labels.find(stringAt(requirement, {"key"}));
      std::optional<std::string> value;
      if (it != labels.end()) value = it->second;
      all = all && requirementMatches(requirement, value);
    }
    for (const auto& requirement : fields) {
      std::optional<std::string> value;
      if (stringAt(requirement, {"key"}) == "metadata.name") value = api::name(node);
      all = all && value && requirementMatches(requirement, value);
    }
    if (all) return true;
  }
  return false;
}

static bool toleratesUnschedulable(const Json& pod) {
  return tolerates(pod,
                   Json{{"key", "node.kubernetes.io/unschedulable"}, {"effect", "NoSchedule"}});
}

bool podFitsNode(const Json& pod, const Json& node) {
  return nodeIsReady(node) &&
         (!boolAt(node, {"spec", "unschedulable"}, false) || toleratesUnschedulable(pod)) &&
         !untoleratedTaint(pod, node) && selectorMatches(pod, node) &&
         nodeAffinityMatches(pod, node);
}

static std::string siblingKey(const Json& pod) {
  if (auto owner = controllerOf(pod)) return "owner/" + owner->uid;
  return "labels/" + api::namespaceOf(pod) + "/" + objectAt(pod, {"metadata", "labels"}).dump();
}

SchedulingResult chooseNode(const Json& pod, const std::vector<const Json*>& nodes,
                            const std::vector<const Json*>& pods,
                            const VolumeConstraints& volumes) {
  if (!volumes.error.empty()) {
    SchedulingResult none;
    none.reason =
        "0/" + std::to_string(nodes.size()) + " nodes are available: " + volumes.error + ".";
    return none;
  }
  std::string mine = siblingKey(pod);
  std::map<std::string, std::pair<int, int>> load;  // node -> (siblings, all pods)
  for (const Json* other : pods) {
    std::string node = stringAt(*other, {"spec", "nodeName"});
    if (node.empty() || isPodTerminal(*other)) continue;
    if (api::uid(*other) == api::uid(pod) && !api::uid(pod).empty()) continue;
    auto& entry = load[node];
    if (siblingKey(*other) == mine) ++entry.first;
    ++entry.second;
  }
  SchedulingResult result;
  std::tuple<int, int, std::string> best;
  int notReady = 0, unschedulable = 0, tainted = 0, selector = 0, volumeConflict = 0;
  for (const Json* node : nodes) {
    if (!nodeIsReady(*node)) {
      ++notReady;
      continue;
    }
    if (boolAt(*node, {"spec", "unschedulable"}, false) && !toleratesUnschedulable(pod)) {
      ++unschedulable;
      continue;
    }
    if (untoleratedTaint(pod, *node)) {
      ++tainted;
      continue;
    }
    if (!selectorMatches(pod, *node) || !nodeAffinityMatches(pod, *node)) {
      ++selector;
      continue;
    }
    std::string name = api::name(*node);
    bool volumesFit = !volumes.node || *volumes.node == name;
    for (const Json& affinity : volumes.nodeAffinities)
      volumesFit = volumesFit && nodeSelectorMatches(affinity, *node);
    if (!volumesFit) {
      ++volumeConflict;
      continue;
    }
    auto [siblings, all] = load[name];
    std::tuple<int, int, std::string> score{siblings, all, name};
    if (!result.node || score < best) {
      best = score;
      result.node = name;
    }
  }
  if (!result.node) {
    std::string reason = "0/" + std::to_string(nodes.size()) + " nodes are available";
    std::vector<std::string> parts;
    if (notReady) parts.push_back(std::to_string(notReady) + " node(s) were not ready");
    if (unschedulable)
      parts.push_back(std::to_string(unschedulable) + " node(s) were unschedulable");
    if (tainted) parts.push_back(std::to_string(tainted) + " node(s) had untolerated taint");
    if (selector)
      parts.push_back(std::to_string(selector) +
                      " node(s) didn't match Pod's node affinity/selector");
    if (volumeConflict)
      parts.push_back(std::to_string(volumeConflict) +
                      " node(s) had volume node affinity conflict");
    for (size_t i = 0; i < parts.size(); ++i) reason += (i ? ", " : ": ") + parts[i];
    result.reason = reason + ".";
  }
  return result;
}

}  // namespace podnet::controllers
