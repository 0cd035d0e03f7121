// DaemonSets -> one Pod per eligible node, as kube-controller-manager's
// daemon controller: a node is eligible when the pod template's nodeSelector
// and required node affinity match it and it tolerates its taints (with the
// tolerations upstream adds to every daemon pod). Each pod is bound to its
// node through required node affinity on `metadata.name` (matchFields), and
// the scheduler places it, as upstream. Pods on nodes no longer eligible, a
// second pod on a node, and failed pods are deleted. A RollingUpdate
// replaces pods of an older template (label controller-revision-hash) at
// most maxUnavailable at a time.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "api/object.h"
#include "client/events.h"
#include "controllers/rollout.h"
#include "controllers/runtime.h"
#include "controllers/scheduling.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRevisionLabel = "controller-revision-hash";

// The tolerations every daemon pod gets (pkg/controller/daemon/util).
void addDaemonTolerations(Json& podSpec) {
  Json& tolerations = podSpec["tolerations"];
  if (!tolerations.is_array()) tolerations = Json::array();
  auto add = [&](const char* key, const char* effect) {
    for (const auto& t : tolerations)
      if (t.is_object() && t.value("key", "") == key && t.value("effect", "") == effect) return;
    tolerations.push_back({{"key", key}, {"operator", "Exists"}, {"effect", effect}});
  };
  add("node.kubernetes.io/not-ready", "NoExecute");
  add("node.kubernetes.io/unreachable", "NoExecute");
  add("node.kubernetes.io/disk-pressure", "NoSchedule");
  add("node.kubernetes.io/memory-pressure", "NoSchedule");
  add("node.kubernetes.io/pid-pressure", "NoSchedule");
  add("node.kubernetes.io/unschedulable", "NoSchedule");
  if (boolAt(podSpec, {"hostNetwork"}, false))
    add("node.kubernetes.io/network-unavailable", "NoSchedule");
}

// Requires `node` by name, replacing the template's required node affinity
// terms with their copies plus the name (upstream ReplaceDaemonSetPodNodeNameNodeAffinity).
void bindToNode(Json& podSpec, const std::string& node) {
  Json field = {{"key", "metadata.name"}, {"operator", "In"}, {"values", {node}}};
  Json& required =
      podSpec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
  Json terms = Json::array();
  if (required.is_object() && required.contains("nodeSelectorTerms") &&
      required["nodeSelectorTerms"].is_array())
    terms = required["nodeSelectorTerms"];
  if (terms.empty()) terms.push_back(Json::object());
  for (auto& term : terms) {
    if (!term.is_object()) term = Json::object();
    term["matchFields"] = Json::array({field});
  }
  required = {{"nodeSelectorTerms", terms}};
}

// The node a daemon pod is for: its nodeName, or the name its affinity requires.
std::string nodeOfPod(const Json& pod) {
  std::string node = stringAt(pod, {"spec", "nodeName"});
  if (!node.empty()) return node;
  const Json* required = at(
      pod, {"spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"});
  if (!required) return "";
  for (const auto& term : arrayAt(*required, {"nodeSelectorTerms"}))
    for (const auto& field : arrayAt(term, {"matchFields"}))
      if (stringAt(field, {"key"}) == "metadata.name")
        for (const auto& value : arrayAt(field, {"values"}))
          if (value.is_string()) return value.get<std::string>();
  return "";
}

class DaemonSetController : public Controller {
 public:
  explicit DaemonSetController(Context& context)
      : Controller("daemonset", context),
        events_(context.registry, "daemonset-controller"),
        sets_(context.informers.forResource(api::resource("DaemonSet"))),
        pods_(context.informers.forResource(api::resource("Pod"))),
        nodes_(context.informers.forResource(api::resource("Node"))) {
    sets_.addHandlers({[this](const Json& ds) { enqueue(ds); },
                       [this](const Json&, const Json& ds) { enqueue(ds); }, nullptr});
    auto onPod = [this](const Json& pod) { enqueueOwner(queue_, pod, "DaemonSet"); };
    pods_.addHandlers({onPod, [onPod](const Json&, const Json& pod) { onPod(pod); }, onPod});
    // A node that comes, goes or changes labels or taints: every set looks again.
    auto onNode = [this](const Json&) {
      for (const auto& ds : sets_.list()) enqueue(*ds);
    };
    nodes_.addHandlers({onNode, [onNode](const Json&, const Json& node) { onNode(node); }, onNode});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto set = sets_.get(ns, name);
    if (!set || api::isBeingDeleted(*set)) return core::Ok{};
    const Json& ds = *set;
    std::string revision = podTemplateHash(objectAt(ds, {"spec", "template"}));

    // What a daemon pod of this set looks like, for the eligibility test.
    Json probe = podFromTemplate(ds, "apps/v1", "DaemonSet");
    addDaemonTolerations(probe["spec"]);
    std::set<std::string> eligible;
    for (const auto& node : nodes_.list())
      if (!api::isBeingDeleted(*node) && daemonFitsNode(probe, *node))
        eligible.insert(api::name(*node));

    std::map<std::string, std::vector<client::ObjectPtr>> podsByNode;
    for (const auto& pod : pods_.list(ns))
      if (ownedBy(*pod, ds) && !api::isBeingDeleted(*pod))
        podsByNode[nodeOfPod(*pod)].push_back(pod);

    int64_t lastWrite = 0;
    core::Status result = core::Ok{};
    auto remove = [&](const Json& pod) {
      if (result.ok()) result = deletePod(ds, pod, lastWrite);
    };
    for (auto& [node, pods] : podsByNode) {
      if (!eligible.count(node)) {
        for (const auto& pod : pods) remove(*pod);  // misscheduled
        continue;
      }
      // Failed pods go (and come back); a second pod on a node goes.
      std::sort(pods.begin(), pods.end(), [](const auto& a, const auto& b) {
        return stringAt(*a, {"metadata", "creationTimestamp"}) <
               stringAt(*b, {"metadata", "creationTimestamp"});
      });
      bool kept = false;
      for (const auto& pod : pods) {
        if (isPodTerminal(*pod) || kept) {
          remove(*pod);
          continue;
        }
        kept = true;
      }
    }
    for (const auto& node : eligible) {
      bool running = false;
      for (const auto& pod : podsByNode[node]) running = running || !isPodTerminal(*pod);
      if (!running && result.ok()) result = createPod(ds, node, revision, lastWrite);
    }

    // Rolling update: old-template pods go while fewer than maxUnavailable
    // daemon pods are unavailable.
    if (result.ok() && stringAt(ds, {"spec", "updateStrategy", "type"}) != "OnDelete") {
      int64_t desired = int64_t(eligible.size());
      int64_t maxUnavailable = scaledValue(
          at(ds, {"spec", "updateStrategy", "rollingUpdate", "maxUnavailable"}), desired, true, 1);
      if (maxUnavailable < 1) maxUnavailable = 1;
      int64_t unavailable = 0;
      std::vector<client::ObjectPtr> old;
      for (const auto& node : eligible) {
        const auto& pods = podsByNode[node];
        bool available = false;
        for (const auto& pod : pods)
          available = available || (isPodReady(*pod) && !isPodTerminal(*pod));
        if (!available) ++unavailable;
        for (const auto& pod : pods)
          if (!isPodTerminal(*pod) &&
              stringAt(*pod, {"metadata", "labels", kRevisionLabel}) != revision)
            old.push_back(pod);
      }
      // Unavailable old pods first: replacing them costs nothing.
      std::stable_sort(old.begin(), old.end(), [](const auto& a, const auto& b) {
        return !isPodReady(*a) && isPodReady(*b);
      });
      for (const auto& pod : old) {
        bool ready = isPodReady(*pod);
        if (ready && unavailable >= maxUnavailable) break;
        remove(*pod);
        if (ready) ++unavailable;
      }
    }

    if (lastWrite) pods_.waitForRevision(lastWrite, 2s);
    auto status = updateStatus(ds, eligible, revision);
    if (!result.ok()) return result;
    return status;
  }

 private:
  // Scheduling predicates without the readiness of the node (upstream
  // creates daemon pods for NotReady nodes too; the scheduler waits).
  static bool daemonFitsNode(const Json& pod, const Json& node) {
    Json readyNode = node;
    Json& conditions = readyNode["status"]["conditions"];
    conditions = Json::array({{{"type", "Ready"}, {"status", "True"}}});
    return podFitsNode(pod, readyNode);
  }

  core::Status createPod(const Json& ds, const std::string& node, const std::string& revision,
                         int64_t& lastWrite) {
    Json pod = podFromTemplate(ds, "apps/v1", "DaemonSet");
    pod["metadata"]["generateName"] = api::name(ds) + "-";
    Json& labels = pod["metadata"]["labels"];
    if (!labels.is_object()) labels = Json::object();
    labels[kRevisionLabel] = revision;
    addDaemonTolerations(pod["spec"]);
    bindToNode(pod["spec"], node);
    auto created = context_.registry.create(api::resource("Pod"), api::namespaceOf(ds), pod);
    if (!created.ok()) {
      events_.warning(ds, "FailedCreate", "Error creating: " + created.error().message);
      return created.takeError();
    }
    lastWrite = std::max(lastWrite, revisionOf(*created));
    events_.normal(ds, "SuccessfulCreate", "Created pod: " + api::name(*created));
    return core::Ok{};
  }

  core::Status deletePod(const Json& ds, const Json& pod, int64_t& lastWrite) {
    client::DeleteOptions options;
    options.preconditionUid = api::uid(pod);
    auto removed = context_.registry.remove(api::resource("Pod"), api::namespaceOf(pod),
                                            api::name(pod), options);
    if (!removed.ok() && removed.error().code != 404) {
      events_.warning(ds, "FailedDelete", "Error deleting: " + removed.error().message);
      return removed.takeError();
    }
    if (removed.ok()) lastWrite = std::max(lastWrite, revisionOf(*removed));
    events_.normal(ds, "SuccessfulDelete", "Deleted pod: " + api::name(pod));
    return core::Ok{};
  }

  core::Status updateStatus(const Json& ds, const std::set<std::string>& eligible,
                            const std::string& revision) {
    int64_t minReady = intAt(ds, {"spec", "minReadySeconds"}, 0);
    long long now = nowSeconds();
    std::set<std::string> scheduled, ready, available, updated;
    int64_t misscheduled = 0;
    for (const auto& pod : pods_.list(api::namespaceOf(ds))) {
      if (!ownedBy(*pod, ds) || api::isBeingDeleted(*pod) || isPodTerminal(*pod)) continue;
      std::string node = stringAt(*pod, {"spec", "nodeName"});
      if (node.empty()) continue;  // not scheduled yet
      if (!eligible.count(node)) {
        ++misscheduled;
        continue;
      }
      scheduled.insert(node);
      if (stringAt(*pod, {"metadata", "labels", kRevisionLabel}) == revision) updated.insert(node);
      if (!isPodReady(*pod)) continue;
      ready.insert(node);
      if (isPodAvailable(*pod, minReady, now)) available.insert(node);
    }
    if (minReady > 0 && ready.size() > available.size()) queue_.addAfter(client::objectKey(ds), 1s);
    Json status = objectAt(ds, {"status"});
    Json next = status.is_object() ? status : Json::object();
    int64_t desired = int64_t(eligible.size());
    next["desiredNumberScheduled"] = desired;
    next["currentNumberScheduled"] = int64_t(scheduled.size());
    next["numberMisscheduled"] = misscheduled;
    next["numberReady"] = int64_t(ready.size());
    next["updatedNumberScheduled"] = int64_t(updated.size());
    next["numberAvailable"] = int64_t(available.size());
    if (desired > int64_t(available.size()))
      next["numberUnavailable"] = desired - int64_t(available.size());
    else
      next.erase("numberUnavailable");
    next["observedGeneration"] = intAt(ds, {"metadata", "generation"}, 1);
    return writeStatus(api::resource("DaemonSet"), ds, next, sets_);
  }

  client::EventRecorder events_;
  client::Informer& sets_;
  client::Informer& pods_;
  client::Informer& nodes_;
};

}  // namespace

std::unique_ptr<Controller> makeDaemonSetController(Context& context) {
  return std::make_unique<DaemonSetController>(context);
}

}  // namespace podnet::controllers
