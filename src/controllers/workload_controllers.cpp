// Deployments -> ReplicaSets -> Pods, as kube-controller-manager's
// deployment and replicaset controllers: a ReplicaSet keeps `replicas`
// active pods; a Deployment owns one ReplicaSet per pod template (named by
// its pod-template-hash) and moves replicas from the old ones to the new one
// within maxSurge/maxUnavailable.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <tuple>

#include "api/object.h"
#include "controllers/rollout.h"
#include "controllers/runtime.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxPodWritesPerSync = 500;

int64_t replicasOf(const Json& obj) { return intAt(obj, {"spec", "replicas"}, 1); }

// Conditions keep their lastTransitionTime while their status stays.
Json mergeCondition(const Json& conditions, const std::string& type, const std::string& status,
                    const std::string& reason, const std::string& message, bool withUpdateTime) {
  Json previous;
  for (const auto& c : conditions)
    if (stringAt(c, {"type"}) == type) previous = c;
  std::string now = api::nowRfc3339();
  Json condition = {{"type", type}, {"status", status}, {"reason", reason}, {"message", message}};
  bool same = previous.is_object() && stringAt(previous, {"status"}) == status;
  bool unchanged = same && stringAt(previous, {"reason"}) == reason &&
                   stringAt(previous, {"message"}) == message;
  condition["lastTransitionTime"] = same ? stringAt(previous, {"lastTransitionTime"}) : now;
  if (withUpdateTime)
    condition["lastUpdateTime"] = unchanged ? stringAt(previous, {"lastUpdateTime"}) : now;
  return condition;
}

class ReplicaSetController : public Controller {
 public:
  explicit ReplicaSetController(Context& context)
      : Controller("replicaset", context),
        events_(context.registry, "replicaset-controller"),
        replicaSets_(context.informers.forResource(api::resource("ReplicaSet"))),
        pods_(context.informers.forResource(api::resource("Pod"))) {
    replicaSets_.addHandlers({[this](const Json& rs) { enqueue(rs); },
                              [this](const Json&, const Json& rs) { enqueue(rs); },
                              [this](const Json& rs) { enqueue(rs); }});
    auto onPod = [this](const Json& pod) { enqueueOwner(queue_, pod, "ReplicaSet"); };
    pods_.addHandlers({onPod, [onPod](const Json&, const Json& pod) { onPod(pod); }, onPod});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto rs = replicaSets_.get(ns, name);
    // A deleted ReplicaSet's pods go by the registry's garbage collection.
    if (!rs || api::isBeingDeleted(*rs)) return core::Ok{};

    auto active = activePods(*rs);
    int64_t desired = std::max<int64_t>(0, replicasOf(*rs));
    int64_t diff = int64_t(active.size()) - desired;
    int64_t lastWrite = 0;
    core::Status result = core::Ok{};
    if (diff < 0) {
      result = createPods(*rs, size_t(std::min<int64_t>(-diff, kMaxPodWritesPerSync)), lastWrite);
    } else if (diff > 0) {
      result = deletePods(*rs, active, size_t(diff), lastWrite);
    }
    if (lastWrite) pods_.waitForRevision(lastWrite, 2s);
    auto status = updateStatus(*rs);
    if (!result.ok()) return result;
    return status;
  }

 private:
  std::vector<client::ObjectPtr> activePods(const Json& rs) {
    std::vector<client::ObjectPtr> out;
    for (const auto& pod : pods_.list(api::namespaceOf(rs)))
      if (ownedBy(*pod, rs) && isPodActive(*pod)) out.push_back(pod);
    return out;
  }

  core::Status createPods(const Json& rs, size_t count, int64_t& lastWrite) {
    const auto& podResource = api::resource("Pod");
    std::string ns = api::namespaceOf(rs);
    for (size_t i = 0; i < count; ++i) {
      Json pod = podFromTemplate(rs, "apps/v1", "ReplicaSet");
      core::Result<Json> created = core::internal("unset");
      // A random name may collide; a few tries make that vanishingly rare.
      for (int attempt = 0; attempt < 3; ++attempt) {
        pod["metadata"]["name"] = api::name(rs) + "-" + randomSuffix();
        created = context_.registry.create(podResource, ns, pod);
        if (created.ok() || created.error().reason != "AlreadyExists") break;
      }
      if (!created.ok()) {
        events_.warning(rs, "FailedCreate", "Error creating: " + created.error().message);
        return created.takeError();
      }
      lastWrite = std::max(lastWrite, revisionOf(*created));
      events_.normal(rs, "SuccessfulCreate", "Created pod: " + api::name(*created));
    }
    return core::Ok{};
  }

  // Upstream's ActivePodsWithRanks order: the pods least worth keeping
  // first. `onNode` counts the set's active pods per node, so a node that
  // runs more of them gives one up first and replicas stay spread.
  static bool deleteBefore(const Json& a, const Json& b, const std::map<std::string, int>& onNode) {
    auto rank = [&](const Json& pod) {
      std::string node = stringAt(pod, {"spec", "nodeName"});
      bool assigned = !node.empty();
      std::string phase = stringAt(pod, {"status", "phase"});
      int phaseRank = phase == "Pending" ? 0 : phase == "Unknown" ? 1 : phase == "Running" ? 2 : 0;
      bool ready = isPodReady(pod);
      long long cost = 0;
      std::string costText =
          stringAt(pod, {"metadata", "annotations", "controller.kubernetes.io/pod-deletion-cost"});
      if (!costText.empty()) cost = std::strtoll(costText.c_str(), nullptr, 10);
      auto sharing = onNode.find(node);
      int doubledUp = assigned && sharing != onNode.end() ? sharing->second : 0;
      long long readySince = podReadySince(pod);
      int64_t restarts = 0;
      for (const auto& status : arrayAt(pod, {"status", "containerStatuses"}))
        restarts += intAt(status, {"restartCount"}, 0);
      long long created = api::parseRfc3339(stringAt(pod, {"metadata", "creationTimestamp"}));
      // Smaller tuples go first: unassigned, pending, not ready, lowest
      // deletion cost, most doubled up, ready most recently, most restarts,
      // newest.
      return std::make_tuple(assigned, phaseRank, ready, cost, -doubledUp, -readySince, -restarts,
                             -created);
    };
    return rank(a) < rank(b);
  }

  core::Status deletePods(const Json& rs, std::vector<client::ObjectPtr> active, size_t count,
                          int64_t& lastWrite) {
    std::map<std::string, int> onNode;
    for (const auto& pod : active) ++onNode[stringAt(*pod, {"spec", "nodeName"})];
    std::sort(active.begin(), active.end(),
              [&](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                return deleteBefore(*a, *b, onNode);
              });
    const auto& podResource = api::resource("Pod");
    count = std::min({count, active.size(), kMaxPodWritesPerSync});
    for (size_t i = 0; i < count; ++i) {
      const Json& pod = *active[i];
      client::DeleteOptions options;
      options.preconditionUid = api::uid(pod);
      auto removed =
          context_.registry.remove(podResource, api::namespaceOf(pod), api::name(pod), options);
      if (!removed.ok() && removed.error().code != 404) {
        events_.warning(rs, "FailedDelete", "Error deleting: " + removed.error().message);
        return removed.takeError();
      }
      if (removed.ok()) lastWrite = std::max(lastWrite, revisionOf(*removed));
      events_.normal(rs, "SuccessfulDelete", "Deleted pod: " + api::name(pod));
    }
    return core::Ok{};
  }

  core::Status updateStatus(const Json& rs) {
    int64_t minReady = intAt(rs, {"spec", "minReadySeconds"}, 0);
    auto templateLabels = api::stringMap(objectAt(rs, {"spec", "template", "metadata", "labels"}));
    long long now = nowSeconds();
    int64_t replicas = 0, labeled = 0, ready = 0, available = 0;
    long long recheckIn = -1;
    for (const auto& pod : activePods(rs)) {
      ++replicas;
      if (mapSelectorMatches(templateLabels, api::labels(*pod))) ++labeled;
      if (!isPodReady(*pod)) continue;
      ++ready;
      if (isPodAvailable(*pod, minReady, now)) {
        ++available;
      } else {
        long long since = podReadySince(*pod);
        long long wait = since < 0 ? 1 : since + minReady - now;
        if (recheckIn < 0 || wait < recheckIn) recheckIn = wait;
      }
    }
    // Pods turn available by the clock, not by an event: look again then.
    if (recheckIn >= 0)
      queue_.addAfter(client::objectKey(rs), std::chrono::seconds(std::max(1LL, recheckIn)));

    Json status = objectAt(rs, {"status"});
    Json next = status;
    next["replicas"] = replicas;
    next["fullyLabeledReplicas"] = labeled;
    next["readyReplicas"] = ready;
    next["availableReplicas"] = available;
    next["observedGeneration"] = intAt(rs, {"metadata", "generation"}, 1);
    if (next == status) return core::Ok{};
    Json updated = rs;
    updated["status"] = next;
    client::WriteOptions options;
    options.subresource = "status";
    auto written = context_.registry.update(api::resource("ReplicaSet"), api::namespaceOf(rs),
                                            std::move(updated), options);
    if (!written.ok()) return written.takeError();
    replicaSets_.waitForRevision(revisionOf(*written), 2s);
    return core::Ok{};
  }

  EventRecorder events_;
  client::Informer& replicaSets_;
  client::Informer& pods_;
};

class DeploymentController : public Controller {
 public:
  explicit DeploymentController(Context& context)
      : Controller("deployment", context),
        events_(context.registry, "deployment-controller"),
        deployments_(context.informers.forResource(api::resource("Deployment"))),
        replicaSets_(context.informers.forResource(api::resource("ReplicaSet"))) {
    deployments_.addHandlers({[this](const Json& d) { enqueue(d); },
                              [this](const Json&, const Json& d) { enqueue(d); },
                              [this](const Json& d) { enqueue(d); }});
    auto onReplicaSet = [this](const Json& rs) { enqueueOwner(queue_, rs, "Deployment"); };
    replicaSets_.addHandlers({onReplicaSet,
                              [onReplicaSet](const Json&, const Json& rs) { onReplicaSet(rs); },
                              onReplicaSet});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto found = deployments_.get(ns, name);
    if (!found || api::isBeingDeleted(*found)) return core::Ok{};
    const Json& d = *found;
    lastWrite_ = 0;

    std::vector<Json> owned;
    for (const auto& rs : replicaSets_.list(ns))
      if (ownedBy(*rs, d)) owned.push_back(*rs);
    std::sort(owned.begin(), owned.end(), [](const Json& a, const Json& b) {
      return std::make_pair(stringAt(a, {"metadata", "creationTimestamp"}), api::name(a)) <
             std::make_pair(stringAt(b, {"metadata", "creationTimestamp"}), api::name(b));
    });
    const Json& podTemplate = objectAt(d, {"spec", "template"});
    Json* newRs = nullptr;
    std::vector<Json*> oldRss;
    int64_t maxOldRevision = 0;
    for (auto& rs : owned) {
      if (!newRs && templatesEqualIgnoringHash(objectAt(rs, {"spec", "template"}), podTemplate)) {
        newRs = &rs;
      } else {
        oldRss.push_back(&rs);
        maxOldRevision = std::max(maxOldRevision, revisionAnnotation(rs));
      }
    }

    int64_t desired = std::max<int64_t>(0, replicasOf(d));
    RollingParams params = rollingParams(d);
    bool recreate = stringAt(d, {"spec", "strategy", "type"}) == "Recreate";
    bool paused = boolAt(d, {"spec", "paused"}, false);
    Json created;
    if (!newRs && !paused) {
      int64_t oldReplicas = 0;
      for (auto* rs : oldRss) oldReplicas += replicasOf(*rs);
      int64_t initial = recreate ? (oldReplicas == 0 ? desired : 0)
                                 : newReplicaSetReplicas(desired, params.maxSurge, oldReplicas, 0);
      auto rs = createReplicaSet(d, initial, maxOldRevision + 1, params);
      if (!rs.ok()) return rs.takeError();
      created = std::move(rs.value());
      newRs = &created;
    }

    core::Status st = core::Ok{};
    if (newRs && !paused) {
      if (revisionAnnotation(*newRs) <= maxOldRevision)  // a rollback to an old template
        st = scale(d, *newRs, replicasOf(*newRs), maxOldRevision + 1, params);
      if (st.ok())
        st = recreate ? rolloutRecreate(d, *newRs, oldRss, desired, params)
                      : rolloutRolling(d, *newRs, oldRss, desired, params);
    } else if (newRs) {
      // Paused: scaling still applies to the current ReplicaSet.
      if (oldRss.empty() && replicasOf(*newRs) != desired)
        st = scale(d, *newRs, desired, revisionAnnotation(*newRs), params);
    }
    if (st.ok()) st = cleanupOldReplicaSets(d, oldRss);
    if (lastWrite_) replicaSets_.waitForRevision(lastWrite_, 2s);
    auto statusResult = updateStatus(d, newRs, oldRss, desired, params);
    if (!st.ok()) return st;
    return statusResult;
  }

 private:
  static int64_t revisionAnnotation(const Json& rs) {
    return client::parseResourceVersion(
        stringAt(rs, {"metadata", "annotations", kRevisionAnnotation}));
  }

  core::Result<Json> createReplicaSet(const Json& d, int64_t replicas, int64_t revision,
                                      const RollingParams& params) {
    Json podTemplate = objectAt(d, {"spec", "template"});
    std::string hash = podTemplateHash(podTemplate);
    if (!podTemplate.contains("metadata") || !podTemplate["metadata"].is_object())
      podTemplate["metadata"] = Json::object();
    if (!podTemplate["metadata"].contains("labels") ||
        !podTemplate["metadata"]["labels"].is_object())
      podTemplate["metadata"]["labels"] = Json::object();
    podTemplate["metadata"]["labels"][kPodTemplateHashLabel] = hash;

    Json selector = objectAt(d, {"spec", "selector"});
    if (!selector.contains("matchLabels") || !selector["matchLabels"].is_object())
      selector["matchLabels"] = Json::object();
    selector["matchLabels"][kPodTemplateHashLabel] = hash;

    std::string name = api::name(d) + "-" + hash;
    Json rs = {
        {"apiVersion", "apps/v1"},
        {"kind", "ReplicaSet"},
        {"metadata",
         {{"name", name},
          {"namespace", api::namespaceOf(d)},
          {"labels", podTemplate["metadata"]["labels"]},
          {"annotations",
           {{kRevisionAnnotation, std::to_string(revision)},
            {kDesiredReplicasAnnotation, std::to_string(replicasOf(d))},
            {kMaxReplicasAnnotation, std::to_string(replicasOf(d) + params.maxSurge)}}},
          {"ownerReferences", Json::array({ownerReference(d, "apps/v1", "Deployment", true)})}}},
        {"spec",
         {{"replicas", replicas},
          {"minReadySeconds", intAt(d, {"spec", "minReadySeconds"}, 0)},
          {"selector", selector},
          {"template", podTemplate}}}};
    auto created = context_.registry.create(api::resource("ReplicaSet"), api::namespaceOf(d), rs);
    if (!created.ok()) return created.takeError();
    lastWrite_ = std::max(lastWrite_, revisionOf(*created));
    if (replicas > 0)
      events_.normal(d, "ScalingReplicaSet",
                     "Scaled up replica set " + name + " from 0 to " + std::to_string(replicas));
    return created;
  }

  // Sets a ReplicaSet's replicas (and the annotations upstream keeps on it).
  core::Status scale(const Json& d, Json& rs, int64_t replicas, int64_t revision,
                     const RollingParams& params) {
    int64_t from = replicasOf(rs);
    auto updated = context_.registry.guaranteedUpdate(
        api::resource("ReplicaSet"), api::namespaceOf(rs), api::name(rs),
        [&](Json& current) -> core::Status {
          if (api::uid(current) != api::uid(rs))
            return core::conflict("apps", "replicasets", api::name(rs), "replaced");
          current["spec"]["replicas"] = replicas;
          auto& annotations = current["metadata"]["annotations"];
          if (!annotations.is_object()) annotations = Json::object();
          annotations[kRevisionAnnotation] = std::to_string(revision);
          annotations[kDesiredReplicasAnnotation] = std::to_string(replicasOf(d));
          annotations[kMaxReplicasAnnotation] = std::to_string(replicasOf(d) + params.maxSurge);
          return core::Ok{};
        });
    if (!updated.ok()) return updated.takeError();
    lastWrite_ = std::max(lastWrite_, revisionOf(*updated));
    rs = std::move(updated.value());
    if (from != replicas)
      events_.normal(d, "ScalingReplicaSet",
                     std::string("Scaled ") + (replicas > from ? "up" : "down") + " replica set " +
                         api::name(rs) + " from " + std::to_string(from) + " to " +
                         std::to_string(replicas));
    return core::Ok{};
  }

  core::Status setReplicas(const Json& d, Json& rs, int64_t replicas, const RollingParams& params) {
    if (replicasOf(rs) == replicas) return core::Ok{};
    return scale(d, rs, replicas, revisionAnnotation(rs), params);
  }

  core::Status rolloutRecreate(const Json& d, Json& newRs, std::vector<Json*>& oldRss,
                               int64_t desired, const RollingParams& params) {
    bool oldPodsLeft = false;
    for (auto* rs : oldRss) {
      if (auto st = setReplicas(d, *rs, 0, params); !st.ok()) return st;
      if (intAt(*rs, {"status", "replicas"}, 0) > 0) oldPodsLeft = true;
    }
    // New pods start only once every old one is gone.
    if (oldPodsLeft) return core::Ok{};
    return setReplicas(d, newRs, desired, params);
  }

  core::Status rolloutRolling(const Json& d, Json& newRs, std::vector<Json*>& oldRss,
                              int64_t desired, const RollingParams& params) {
    int64_t oldReplicas = 0;
    for (auto* rs : oldRss) oldReplicas += replicasOf(*rs);
    if (oldReplicas == 0) return setReplicas(d, newRs, desired, params);  // plain scaling

    int64_t all = oldReplicas + replicasOf(newRs);
    int64_t target = newReplicaSetReplicas(desired, params.maxSurge, all, replicasOf(newRs));
    if (target != replicasOf(newRs)) {
      // As upstream: one step per sync; the ReplicaSet's change brings us back.
      return setReplicas(d, newRs, target, params);
    }

    int64_t budget =
        oldReplicasScaleDownBudget(desired, params.maxUnavailable, all, replicasOf(newRs),
                                   intAt(newRs, {"status", "availableReplicas"}, 0));
    if (budget <= 0) return core::Ok{};
    // Unhealthy old pods go first: removing them costs no availability.
    for (auto* rs : oldRss) {
      if (budget <= 0) break;
      int64_t unhealthy = replicasOf(*rs) - intAt(*rs, {"status", "availableReplicas"}, 0);
      int64_t cut = std::min(budget, std::max<int64_t>(0, unhealthy));
      if (cut == 0) continue;
      if (auto st = setReplicas(d, *rs, replicasOf(*rs) - cut, params); !st.ok()) return st;
      budget -= cut;
    }
    // Then available ones, down to desired - maxUnavailable available.
    int64_t available = intAt(newRs, {"status", "availableReplicas"}, 0);
    for (auto* rs : oldRss) available += intAt(*rs, {"status", "availableReplicas"}, 0);
    int64_t canRemove = std::min(budget, available - (desired - params.maxUnavailable));
    for (auto* rs : oldRss) {
      if (canRemove <= 0) break;
      int64_t cut = std::min(canRemove, replicasOf(*rs));
      if (cut == 0) continue;
      if (auto st = setReplicas(d, *rs, replicasOf(*rs) - cut, params); !st.ok()) return st;
      canRemove -= cut;
    }
    return core::Ok{};
  }

  // Keeps revisionHistoryLimit scaled-down old ReplicaSets (for rollbacks).
  core::Status cleanupOldReplicaSets(const Json& d, std::vector<Json*>& oldRss) {
    int64_t limit = intAt(d, {"spec", "revisionHistoryLimit"}, 10);
    std::vector<Json*> idle;
    for (auto* rs : oldRss)
      if (replicasOf(*rs) == 0 && intAt(*rs, {"status", "replicas"}, 0) == 0) idle.push_back(rs);
    std::sort(idle.begin(), idle.end(), [](const Json* a, const Json* b) {
      return revisionAnnotation(*a) < revisionAnnotation(*b);
    });
    int64_t excess = int64_t(idle.size()) - std::max<int64_t>(0, limit);
    for (int64_t i = 0; i < excess; ++i) {
      auto removed = context_.registry.remove(api::resource("ReplicaSet"), api::namespaceOf(d),
                                              api::name(*idle[i]));
      if (!removed.ok() && removed.error().code != 404) return removed.takeError();
    }
    return core::Ok{};
  }

  core::Status updateStatus(const Json& d, const Json* newRs, const std::vector<Json*>& oldRss,
                            int64_t desired, const RollingParams& params) {
    int64_t replicas = 0, ready = 0, available = 0, specTotal = 0;
    auto add = [&](const Json& rs) {
      replicas += intAt(rs, {"status", "replicas"}, 0);
      ready += intAt(rs, {"status", "readyReplicas"}, 0);
      available += intAt(rs, {"status", "availableReplicas"}, 0);
      specTotal += replicasOf(rs);
    };
    if (newRs) add(*newRs);
    for (auto* rs : oldRss) add(*rs);
    int64_t updated = newRs ? intAt(*newRs, {"status", "replicas"}, 0) : 0;

    Json status = objectAt(d, {"status"});
    Json next = status;
    next["observedGeneration"] = intAt(d, {"metadata", "generation"}, 1);
    next["replicas"] = replicas;
    next["updatedReplicas"] = updated;
    next["readyReplicas"] = ready;
    next["availableReplicas"] = available;
    next["unavailableReplicas"] = std::max<int64_t>(0, specTotal - available);
    const Json& conditions = arrayAt(d, {"status", "conditions"});
    bool minimumAvailable = available >= desired - params.maxUnavailable;
    Json availableCondition =
        minimumAvailable
            ? mergeCondition(conditions, "Available", "True", "MinimumReplicasAvailable",
                             "Deployment has minimum availability.", true)
            : mergeCondition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                             "Deployment does not have minimum availability.", true);
    Json progressing;
    if (newRs) {
      std::string rsName = api::name(*newRs);
      bool complete = updated == desired && replicas == desired && available == desired;
      bool justCreated = intAt(*newRs, {"status", "observedGeneration"}, 0) == 0 &&
                         !at(*newRs, {"status", "replicas"});
      if (complete)
        progressing =
            mergeCondition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                           "ReplicaSet \"" + rsName + "\" has successfully progressed.", true);
      else if (justCreated)
        progressing = mergeCondition(conditions, "Progressing", "True", "NewReplicaSetCreated",
                                     "Created new replica set \"" + rsName + "\"", true);
      else
        progressing = mergeCondition(conditions, "Progressing", "True", "ReplicaSetUpdated",
                                     "ReplicaSet \"" + rsName + "\" is progressing.", true);
    }
    Json merged = Json::array({availableCondition});
    if (progressing.is_object()) merged.push_back(progressing);
    next["conditions"] = merged;
    if (next != status) {
      Json withStatus = d;
      withStatus["status"] = next;
      client::WriteOptions options;
      options.subresource = "status";
      auto written = context_.registry.update(api::resource("Deployment"), api::namespaceOf(d),
                                              std::move(withStatus), options);
      if (!written.ok()) return written.takeError();
    }
    // kubectl rollout history reads the revision off the Deployment itself.
    if (newRs) {
      std::string revision = stringAt(*newRs, {"metadata", "annotations", kRevisionAnnotation});
      if (!revision.empty() &&
          stringAt(d, {"metadata", "annotations", kRevisionAnnotation}) != revision) {
        auto written = context_.registry.guaranteedUpdate(
            api::resource("Deployment"), api::namespaceOf(d), api::name(d),
            [&](Json& current) -> core::Status {
              auto& annotations = current["metadata"]["annotations"];
              if (!annotations.is_object()) annotations = Json::object();
              annotations[kRevisionAnnotation] = revision;
              return core::Ok{};
            });
        if (!written.ok()) return written.takeError();
      }
    }
    return core::Ok{};
  }

  EventRecorder events_;
  client::Informer& deployments_;
  client::Informer& replicaSets_;
  int64_t lastWrite_ = 0;
};

}  // namespace

std::unique_ptr<Controller> makeDeploymentController(Context& context) {
  return std::make_unique<DeploymentController>(context);
}

std::unique_ptr<Controller> makeReplicaSetController(Context& context) {
  return std::make_unique<ReplicaSetController>(context);
}

}  // namespace podnet::controllers
