// StatefulSets -> Pods with a stable identity, as kube-controller-manager's
// statefulset controller: pod <name>-<ordinal> for each ordinal, with
// hostname = its name and subdomain = spec.serviceName (which gives it the
// DNS name <pod>.<service>.<ns>.svc through the headless Service's
// EndpointSlices); OrderedReady creates ordinals one at a time, each Running
// and Ready before the next, and removes them from the highest down;
// Parallel does all at once. A RollingUpdate replaces pods from the highest
// ordinal down to the partition, one at a time, once all are Ready.
//
// volumeClaimTemplates: each pod gets its claims <template>-<set>-<ordinal>,
// made before the pod (labels: the template's and the set's selector) and
// mounted under the template's name; they outlive the pods unless
// persistentVolumeClaimRetentionPolicy says Delete (whenDeleted: owned by
// the set; whenScaled: owned by the pod being scaled away).
//
// Revisions are the pod template's hash (label controller-revision-hash);
// podnet keeps no ControllerRevision objects, so a pod below the partition
// that is deleted comes back at the new template, not the old one.
#include <algorithm>
#include <chrono>
#include <map>

#include "api/object.h"
#include "client/events.h"
#include "controllers/rollout.h"
#include "controllers/runtime.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

constexpr const char* kRevisionLabel = "controller-revision-hash";
constexpr const char* kPodNameLabel = "statefulset.kubernetes.io/pod-name";
constexpr const char* kPodIndexLabel = "apps.kubernetes.io/pod-index";

// "web-3" of StatefulSet "web" -> 3; -1 when the name is not one of its.
int64_t ordinalOf(const Json& pod, const std::string& setName) {
  std::string name = api::name(pod);
  if (name.size() <= setName.size() + 1 || name.compare(0, setName.size(), setName) != 0 ||
      name[setName.size()] != '-')
    return -1;
  int64_t ordinal = 0;
  for (size_t i = setName.size() + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || ordinal > 100000000) return -1;
    ordinal = ordinal * 10 + (name[i] - '0');
  }
  return ordinal;
}

bool runningAndReady(const Json& pod) {
  return stringAt(pod, {"status", "phase"}) == "Running" && isPodReady(pod) &&
         !api::isBeingDeleted(pod);
}

class StatefulSetController : public Controller {
 public:
  explicit StatefulSetController(Context& context)
      : Controller("statefulset", context),
        events_(context.registry, "statefulset-controller"),
        sets_(context.informers.forResource(api::resource("StatefulSet"))),
        pods_(context.informers.forResource(api::resource("Pod"))) {
    sets_.addHandlers({[this](const Json& set) { enqueue(set); },
                       [this](const Json&, const Json& set) { enqueue(set); }, nullptr});
    auto onPod = [this](const Json& pod) { enqueueOwner(queue_, pod, "StatefulSet"); };
    pods_.addHandlers({onPod, [onPod](const Json&, const Json& pod) { onPod(pod); }, onPod});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto set = sets_.get(ns, name);
    if (!set || api::isBeingDeleted(*set)) return core::Ok{};
    const Json& sts = *set;

    std::string updateRevision = name + "-" + podTemplateHash(objectAt(sts, {"spec", "template"}));
    int64_t replicas = std::max<int64_t>(0, intAt(sts, {"spec", "replicas"}, 1));
    int64_t start = intAt(sts, {"spec", "ordinals", "start"}, 0);
    bool parallel = stringAt(sts, {"spec", "podManagementPolicy"}) == "Parallel";

    // The pods of this set by ordinal; others it owns are condemned.
    std::map<int64_t, client::ObjectPtr> byOrdinal;
    std::vector<client::ObjectPtr> condemned;
    for (const auto& pod : pods_.list(ns)) {
      if (!ownedBy(*pod, sts)) continue;
      int64_t ordinal = ordinalOf(*pod, name);
      if (ordinal >= start && ordinal < start + replicas)
        byOrdinal[ordinal] = pod;
      else
        condemned.push_back(pod);
    }

    int64_t lastWrite = 0;
    core::Status result = core::Ok{};
    // Create the missing ordinals, replace failed pods (in order unless Parallel).
    for (int64_t ordinal = start; ordinal < start + replicas && result.ok(); ++ordinal) {
      auto it = byOrdinal.find(ordinal);
      if (it != byOrdinal.end() && isPodTerminal(*it->second) &&
          !api::isBeingDeleted(*it->second)) {
        result = deletePod(sts, *it->second, lastWrite);
        if (!parallel) break;
        continue;
      }
      if (it == byOrdinal.end()) {
        result = createPod(sts, ordinal, updateRevision, lastWrite);
        if (!parallel) break;  // OrderedReady: one at a time
        continue;
      }
      if (!parallel && !runningAndReady(*it->second)) break;  // wait for it
    }

    // Scale down from the highest ordinal; OrderedReady one at a time once
    // the rest are healthy.
    std::sort(condemned.begin(), condemned.end(), [&](const auto& a, const auto& b) {
      return ordinalOf(*a, name) > ordinalOf(*b, name);
    });
    bool allReady = int64_t(byOrdinal.size()) == replicas &&
                    std::all_of(byOrdinal.begin(), byOrdinal.end(),
                                [](const auto& entry) { return runningAndReady(*entry.second); });
    for (const auto& pod : condemned) {
      if (!result.ok()) break;
      if (api::isBeingDeleted(*pod)) {
        if (!parallel) break;  // wait for it to go
        continue;
      }
      if (!parallel && !allReady) break;
      result = deletePod(sts, *pod, lastWrite, true);
      if (!parallel) break;
    }

    // Rolling update: the highest ordinal not at the update revision, down
    // to the partition, one at a time once every pod is Ready.
    if (result.ok() && stringAt(sts, {"spec", "updateStrategy", "type"}) != "OnDelete" &&
        allReady && condemned.empty()) {
      int64_t partition = intAt(sts, {"spec", "updateStrategy", "rollingUpdate", "partition"}, 0);
      for (auto it = byOrdinal.rbegin(); it != byOrdinal.rend(); ++it) {
        if (it->first < start + partition) break;
        if (stringAt(*it->second, {"metadata", "labels", kRevisionLabel}) == updateRevision)
          continue;
        result = deletePod(sts, *it->second, lastWrite);
        break;
      }
    }

    if (lastWrite) pods_.waitForRevision(lastWrite, 2s);
    auto status = updateStatus(sts, updateRevision);
    if (!result.ok()) return result;
    return status;
  }

 private:
  static std::string claimName(const Json& claimTemplate, const Json& sts, int64_t ordinal) {
    return stringAt(claimTemplate, {"metadata", "name"}) + "-" + api::name(sts) + "-" +
           std::to_string(ordinal);
  }

  // The claims of one ordinal, made when missing (stateful_pod_control's
  // createPersistentVolumeClaims).
  core::Status createClaims(const Json& sts, int64_t ordinal, const std::string& podName) {
    const Json& templates = arrayAt(sts, {"spec", "volumeClaimTemplates"});
    const auto& claims = api::resource("PersistentVolumeClaim");
    std::string ns = api::namespaceOf(sts);
    bool ownedBySet =
        stringAt(sts, {"spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"}) == "Delete";
    for (const Json& claimTemplate : templates) {
      std::string name = claimName(claimTemplate, sts, ordinal);
      if (context_.registry.get(claims, ns, name).ok()) continue;
      Json claim = {{"apiVersion", "v1"},
                    {"kind", "PersistentVolumeClaim"},
                    {"metadata", {{"name", name}, {"namespace", ns}}},
                    {"spec", objectAt(claimTemplate, {"spec"})}};
      Json labels = objectAt(claimTemplate, {"metadata", "labels"});
      if (!labels.is_object()) labels = Json::object();
      const Json& matchLabels = objectAt(sts, {"spec", "selector", "matchLabels"});
      if (matchLabels.is_object())
        for (auto it = matchLabels.begin(); it != matchLabels.end(); ++it) labels[it.key()] = *it;
      if (!labels.empty()) claim["metadata"]["labels"] = labels;
      if (const Json* annotations = at(claimTemplate, {"metadata", "annotations"}))
        claim["metadata"]["annotations"] = *annotations;
      if (ownedBySet)
        claim["metadata"]["ownerReferences"] =
            Json::array({ownerReference(sts, "apps/v1", "StatefulSet")});
      auto created = context_.registry.create(claims, ns, claim);
      if (!created.ok() && created.error().reason != "AlreadyExists") {
        events_.warning(sts, "FailedCreate",
                        "create Claim " + name + " for Pod " + podName + " in StatefulSet " +
                            api::name(sts) + " failed error: " + created.error().message);
        return created.takeError();
      }
      if (created.ok())
        events_.normal(sts, "SuccessfulCreate",
                       "create Claim " + name + " Pod " + podName + " in StatefulSet " +
                           api::name(sts) + " success");
    }
    return core::Ok{};
  }

  // whenScaled: Delete: the claims of a pod scaled away go with it.
  void releaseClaims(const Json& sts, const Json& pod) {
    if (stringAt(sts, {"spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"}) != "Delete")
      return;
    int64_t ordinal = ordinalOf(pod, api::name(sts));
    const auto& claims = api::resource("PersistentVolumeClaim");
    for (const Json& claimTemplate : arrayAt(sts, {"spec", "volumeClaimTemplates"})) {
      auto claim = context_.registry.get(claims, api::namespaceOf(sts),
                                         claimName(claimTemplate, sts, ordinal));
      if (!claim.ok()) continue;
      Json updated = *claim;
      Json owners = arrayAt(updated, {"metadata", "ownerReferences"});
      owners.push_back(ownerReference(pod, "v1", "Pod", false));
      updated["metadata"]["ownerReferences"] = owners;
      auto written = context_.registry.update(claims, api::namespaceOf(sts), updated);
      (void)written;  // a conflict is retried with the next sync
    }
  }

  core::Status createPod(const Json& sts, int64_t ordinal, const std::string& revision,
                         int64_t& lastWrite) {
    std::string podName = api::name(sts) + "-" + std::to_string(ordinal);
    if (auto claims = createClaims(sts, ordinal, podName); !claims.ok()) return claims;
    Json pod = podFromTemplate(sts, "apps/v1", "StatefulSet");
    // Each claim template is the pod's volume of that name.
    Json& volumes = pod["spec"]["volumes"];
    if (!volumes.is_array()) volumes = Json::array();
    for (const Json& claimTemplate : arrayAt(sts, {"spec", "volumeClaimTemplates"})) {
      std::string volumeName = stringAt(claimTemplate, {"metadata", "name"});
      Json kept = Json::array();
      for (const Json& volume : volumes)
        if (stringAt(volume, {"name"}) != volumeName) kept.push_back(volume);
      kept.push_back(
          {{"name", volumeName},
           {"persistentVolumeClaim", {{"claimName", claimName(claimTemplate, sts, ordinal)}}}});
      volumes = kept;
    }
    if (volumes.empty()) pod["spec"].erase("volumes");
    pod["metadata"]["name"] = podName;
    Json& labels = pod["metadata"]["labels"];
    if (!labels.is_object()) labels = Json::object();
    labels[kPodNameLabel] = podName;
    labels[kPodIndexLabel] = std::to_string(ordinal);
    labels[kRevisionLabel] = revision;
    pod["spec"]["hostname"] = podName;
    std::string service = stringAt(sts, {"spec", "serviceName"});
    if (!service.empty()) pod["spec"]["subdomain"] = service;
    auto created = context_.registry.create(api::resource("Pod"), api::namespaceOf(sts), pod);
    if (!created.ok()) {
      if (created.error().reason == "AlreadyExists") return core::Ok{};  // seen soon
      events_.warning(sts, "FailedCreate",
                      "create Pod " + podName + " in StatefulSet " + api::name(sts) +
                          " failed error: " + created.error().message);
      return created.takeError();
    }
    lastWrite = std::max(lastWrite, revisionOf(*created));
    events_.normal(sts, "SuccessfulCreate",
                   "create Pod " + podName + " in StatefulSet " + api::name(sts) + " successful");
    return core::Ok{};
  }

  core::Status deletePod(const Json& sts, const Json& pod, int64_t& lastWrite,
                         bool scaledAway = false) {
    if (scaledAway) releaseClaims(sts, pod);
    client::DeleteOptions options;
    options.preconditionUid = api::uid(pod);
    auto removed = context_.registry.remove(api::resource("Pod"), api::namespaceOf(pod),
                                            api::name(pod), options);
    if (!removed.ok() && removed.error().code != 404) {
      events_.warning(sts, "FailedDelete",
                      "delete Pod " + api::name(pod) + " in StatefulSet " + api::name(sts) +
                          " failed error: " + removed.error().message);
      return removed.takeError();
    }
    if (removed.ok()) lastWrite = std::max(lastWrite, revisionOf(*removed));
    events_.normal(
        sts, "SuccessfulDelete",
        "delete Pod " + api::name(pod) + " in StatefulSet " + api::name(sts) + " successful");
    return core::Ok{};
  }

  core::Status updateStatus(const Json& sts, const std::string& updateRevision) {
    int64_t minReady = intAt(sts, {"spec", "minReadySeconds"}, 0);
    long long now = nowSeconds();
    Json status = objectAt(sts, {"status"});
    std::string currentRevision = stringAt(sts, {"status", "currentRevision"});
    if (currentRevision.empty()) currentRevision = updateRevision;
    int64_t replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
    for (const auto& pod : pods_.list(api::namespaceOf(sts))) {
      if (!ownedBy(*pod, sts) || api::isBeingDeleted(*pod)) continue;
      ++replicas;
      std::string revision = stringAt(*pod, {"metadata", "labels", kRevisionLabel});
      if (revision == currentRevision) ++current;
      if (revision == updateRevision) ++updated;
      if (!isPodReady(*pod)) continue;
      ++ready;
      if (isPodAvailable(*pod, minReady, now)) ++available;
    }
    if (minReady > 0 && ready > available) queue_.addAfter(client::objectKey(sts), 1s);
    int64_t desired = std::max<int64_t>(0, intAt(sts, {"spec", "replicas"}, 1));
    // The rollout is complete once every pod runs the update revision.
    if (updated == desired && replicas == desired) {
      currentRevision = updateRevision;
      current = updated;
    }
    Json next = status.is_object() ? status : Json::object();
    next["observedGeneration"] = intAt(sts, {"metadata", "generation"}, 1);
    next["replicas"] = replicas;
    next["readyReplicas"] = ready;
    next["availableReplicas"] = available;
    next["currentReplicas"] = current;
    next["updatedReplicas"] = updated;
    next["currentRevision"] = currentRevision;
    next["updateRevision"] = updateRevision;
    if (!next.contains("collisionCount")) next["collisionCount"] = 0;
    return writeStatus(api::resource("StatefulSet"), sts, next, sets_);
  }

  client::EventRecorder events_;
  client::Informer& sets_;
  client::Informer& pods_;
};

}  // namespace

std::unique_ptr<Controller> makeStatefulSetController(Context& context) {
  return std::make_unique<StatefulSetController>(context);
}

}  // namespace podnet::controllers
