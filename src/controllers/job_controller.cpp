// Jobs -> Pods, as kube-controller-manager's job controller (and its
// ttl-after-finished controller): pods up to `parallelism` while completions
// remain, succeeded/failed counted from the pods' phase, backoffLimit and
// activeDeadlineSeconds fail the Job, SuccessCriteriaMet/FailureTarget come
// before Complete/Failed (1.31+), Indexed mode gives each pod its index,
// `suspend` removes the active pods, ttlSecondsAfterFinished deletes the
// finished Job (and with it its pods).
#include <algorithm>
#include <chrono>
#include <set>

#include "api/object.h"
#include "controllers/runtime.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIndexKey = "batch.kubernetes.io/job-completion-index";
constexpr size_t kMaxPodWritesPerSync = 500;
// Upstream's pod failure backoff: 10s, doubling per failure, at most 6 min.
constexpr int64_t kFailureBackoffSeconds = 10;
constexpr int64_t kMaxFailureBackoffSeconds = 360;

bool conditionTrue(const Json& job, const std::string& type) {
  for (const auto& c : arrayAt(job, {"status", "conditions"}))
    if (stringAt(c, {"type"}) == type && stringAt(c, {"status"}) == "True") return true;
  return false;
}

// A pod's completion index (Indexed Jobs), or -1.
int64_t podIndex(const Json& pod) {
  std::string text = stringAt(pod, {"metadata", "annotations", kIndexKey});
  if (text.empty()) text = stringAt(pod, {"metadata", "labels", kIndexKey});
  if (text.empty() || text.size() > 9) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "1,3-5,7" as upstream writes completedIndexes.
std::string formatIndexes(const std::set<int64_t>& indexes) {
  std::string out;
  auto it = indexes.begin();
  while (it != indexes.end()) {
    int64_t first = *it, last = *it;
    auto next = std::next(it);
    while (next != indexes.end() && *next == last + 1) last = *next++;
    if (!out.empty()) out += ',';
    out += std::to_string(first);
    if (last > first) out += (last == first + 1 ? "," : "-") + std::to_string(last);
    it = next;
  }
  return out;
}

Json condition(const std::string& type, const std::string& status, const std::string& reason,
               const std::string& message, const std::string& now) {
  return {{"type", type},       {"status", status},     {"reason", reason},
          {"message", message}, {"lastProbeTime", now}, {"lastTransitionTime", now}};
}

// Sets a condition, keeping lastTransitionTime while its status stays.
void setCondition(Json& status, Json wanted) {
  Json& conditions = status["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  for (auto& c : conditions) {
    if (stringAt(c, {"type"}) != wanted["type"]) continue;
    if (stringAt(c, {"status"}) == wanted["status"] && stringAt(c, {"reason"}) == wanted["reason"])
      return;
    if (stringAt(c, {"status"}) == wanted["status"])
      wanted["lastTransitionTime"] = c["lastTransitionTime"];
    c = std::move(wanted);
    return;
  }
  conditions.push_back(std::move(wanted));
}

class JobController : public Controller {
 public:
  explicit JobController(Context& context)
      : Controller("job", context),
        events_(context.registry, "job-controller"),
        jobs_(context.informers.forResource(api::resource("Job"))),
        pods_(context.informers.forResource(api::resource("Pod"))) {
    jobs_.addHandlers({[this](const Json& job) { enqueue(job); },
                       [this](const Json&, const Json& job) { enqueue(job); },
                       [this](const Json& job) { forgetJob(job); }});
    auto onPod = [this](const Json& pod) { enqueueOwner(queue_, pod, "Job"); };
    pods_.addHandlers({onPod, [onPod](const Json&, const Json& pod) { onPod(pod); }, onPod});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto found = jobs_.get(ns, name);
    if (!found || api::isBeingDeleted(*found)) return core::Ok{};
    const Json& job = *found;
    long long now = nowSeconds();
    if (conditionTrue(job, "Complete") || conditionTrue(job, "Failed")) return expire(job, now);

    const Json& spec = objectAt(job, {"spec"});
    bool indexed = stringAt(spec, {"completionMode"}) == "Indexed";
    const Json* completionsField = at(spec, {"completions"});
    bool hasCompletions = completionsField && completionsField->is_number_integer();
    int64_t completions = hasCompletions ? completionsField->get<int64_t>() : 0;
    int64_t backoffLimit = intAt(spec, {"backoffLimit"}, 6);
    bool suspended = boolAt(spec, {"suspend"}, false);

    std::vector<client::ObjectPtr> active;
    int64_t succeeded = 0, failed = 0, terminating = 0, ready = 0, restarts = 0;
    std::set<int64_t> completedIndexes;
    for (const auto& pod : pods_.list(ns)) {
      auto owner = controllerOf(*pod);
      if (!owner || owner->uid != api::uid(job)) continue;
      std::string phase = stringAt(*pod, {"status", "phase"});
      if (phase == "Succeeded") {
        ++succeeded;
        int64_t index = podIndex(*pod);
        if (indexed && index >= 0 && index < completions) completedIndexes.insert(index);
      } else if (phase == "Failed") {
        ++failed;
      } else if (api::isBeingDeleted(*pod)) {
        ++terminating;
      } else {
        active.push_back(pod);
        if (isPodReady(*pod)) ++ready;
        for (const char* list : {"containerStatuses", "initContainerStatuses"})
          for (const auto& status : arrayAt(*pod, {"status", list}))
            restarts += intAt(status, {"restartCount"}, 0);
      }
    }
    // The counters never go back when finished pods are removed.
    const Json& oldStatus = objectAt(job, {"status"});
    succeeded = std::max<int64_t>(succeeded, intAt(oldStatus, {"succeeded"}, 0));
    int64_t previouslyFailed = intAt(oldStatus, {"failed"}, 0);
    failed = std::max(failed, previouslyFailed);
    if (failed > previouslyFailed) noteFailure(job, now);
    if (indexed) succeeded = std::max<int64_t>(succeeded, int64_t(completedIndexes.size()));

    Json status = oldStatus.is_object() ? oldStatus : Json::object();
    std::string nowText = api::formatRfc3339(now);
    int64_t lastWrite = 0;
    core::Status result = core::Ok{};

    if (suspended) {
      result = deletePods(job, active, active.size(), lastWrite);
      if (conditionTrue(job, "Suspended") == false) {
        setCondition(status,
                     condition("Suspended", "True", "JobSuspended", "Job suspended", nowText));
        events_.normal(job, "Suspended", "Job suspended");
      }
      status.erase("startTime");
      active.clear();
      ready = 0;
    } else {
      if (conditionTrue(job, "Suspended")) {
        setCondition(status, condition("Suspended", "False", "JobResumed", "Job resumed", nowText));
        events_.normal(job, "Resumed", "Job resumed");
      }
      if (!status.contains("startTime") || status["startTime"].is_null())
        status["startTime"] = nowText;
    }

    // Failure: too many failed pods (or container restarts under OnFailure),
    // or active for longer than activeDeadlineSeconds.
    std::string failReason, failMessage;
    bool onFailure = stringAt(spec, {"template", "spec", "restartPolicy"}) == "OnFailure";
    if (failed > backoffLimit ||
        (onFailure && (backoffLimit == 0 ? restarts > 0 : restarts >= backoffLimit) &&
         restarts > 0)) {
      failReason = "BackoffLimitExceeded";
      failMessage = "Job has reached the specified backoff limit";
    }
    long long started = api::parseRfc3339(stringAt(status, {"startTime"}));
    const Json* deadline = at(spec, {"activeDeadlineSeconds"});
    if (failReason.empty() && !suspended && deadline && deadline->is_number_integer() &&
        started >= 0) {
      long long left = started + deadline->get<int64_t>() - now;
      if (left <= 0) {
        failReason = "DeadlineExceeded";
        failMessage = "Job was active longer than specified deadline";
      } else {
        queue_.addAfter(key, std::chrono::seconds(left));
      }
    }

    bool complete = false;
    if (failReason.empty() && !suspended) {
      if (indexed)
        complete = int64_t(completedIndexes.size()) >= completions;
      else if (hasCompletions)
        complete = succeeded >= completions;
      else
        complete = succeeded > 0 && active.empty();
    }

    if (!failReason.empty()) {
      result = deletePods(job, active, active.size(), lastWrite);
      setCondition(status, condition("FailureTarget", "True", failReason, failMessage, nowText));
      setCondition(status, condition("Failed", "True", failReason, failMessage, nowText));
      events_.warning(job, failReason, failMessage);
      active.clear();
      ready = 0;
    } else if (complete) {
      result = deletePods(job, active, active.size(), lastWrite);
      const char* message = "Reached expected number of succeeded pods";
      setCondition(status,
                   condition("SuccessCriteriaMet", "True", "CompletionsReached", message, nowText));
      setCondition(status, condition("Complete", "True", "CompletionsReached", message, nowText));
      status["completionTime"] = nowText;
      events_.normal(job, "Completed", "Job completed");
      active.clear();
      ready = 0;
    } else if (!suspended) {
      result = managePods(key, job, active, succeeded, failed, completedIndexes, now, lastWrite);
    }
    if (lastWrite) pods_.waitForRevision(lastWrite, 2s);

    status["active"] = int64_t(active.size());
    status["ready"] = ready;
    status["succeeded"] = succeeded;
    status["failed"] = failed;
    status["terminating"] = terminating;
    status["uncountedTerminatedPods"] = Json::object();
    if (indexed) status["completedIndexes"] = formatIndexes(completedIndexes);
    auto written = writeStatus(api::resource("Job"), job, status, jobs_);
    if (!result.ok()) return result;
    if (!written.ok()) return written;
    // A finished Job may have a TTL to wait for.
    if (!failReason.empty() || complete) queue_.add(key);
    return core::Ok{};
  }

 private:
  void noteFailure(const Json& job, long long now) {
    std::lock_guard lock(failuresMutex_);
    lastFailure_[api::uid(job)] = now;
  }
  void forgetJob(const Json& job) {
    std::lock_guard lock(failuresMutex_);
    lastFailure_.erase(api::uid(job));
  }
  // Seconds to wait before replacing failed pods (0: none).
  long long backoffLeft(const Json& job, int64_t failed, long long now) {
    if (failed <= 0) return 0;
    long long last;
    {
      std::lock_guard lock(failuresMutex_);
      auto it = lastFailure_.find(api::uid(job));
      if (it == lastFailure_.end()) return 0;
      last = it->second;
    }
    int64_t delay = kFailureBackoffSeconds;
    for (int64_t i = 1; i < failed && delay < kMaxFailureBackoffSeconds; ++i) delay *= 2;
    delay = std::min(delay, kMaxFailureBackoffSeconds);
    return std::max<long long>(0, last + delay - now);
  }

  // TTL after finished: the Job (and its pods) go once the TTL has passed.
  core::Status expire(const Json& job, long long now) {
    const Json* ttl = at(job, {"spec", "ttlSecondsAfterFinished"});
    if (!ttl || !ttl->is_number_integer()) return core::Ok{};
    long long finished = api::parseRfc3339(stringAt(job, {"status", "completionTime"}));
    if (finished < 0)
      for (const auto& c : arrayAt(job, {"status", "conditions"}))
        if ((stringAt(c, {"type"}) == "Failed" || stringAt(c, {"type"}) == "Complete") &&
            stringAt(c, {"status"}) == "True")
          finished = api::parseRfc3339(stringAt(c, {"lastTransitionTime"}));
    if (finished < 0) return core::Ok{};
    long long left = finished + ttl->get<int64_t>() - now;
    if (left > 0) {
      queue_.addAfter(client::objectKey(job), std::chrono::seconds(left));
      return core::Ok{};
    }
    client::DeleteOptions options;
    options.preconditionUid = api::uid(job);
    options.propagationPolicy = "Foreground";
    auto removed = context_.registry.remove(api::resource("Job"), api::namespaceOf(job),
                                            api::name(job), options);
    if (!removed.ok() && removed.error().code != 404 && removed.error().code != 409)
      return removed.takeError();
    return core::Ok{};
  }

  core::Status managePods(const std::string& key, const Json& job,
                          std::vector<client::ObjectPtr>& active, int64_t succeeded, int64_t failed,
                          const std::set<int64_t>& completedIndexes, long long now,
                          int64_t& lastWrite) {
    const Json& spec = objectAt(job, {"spec"});
    bool indexed = stringAt(spec, {"completionMode"}) == "Indexed";
    const Json* completionsField = at(spec, {"completions"});
    bool hasCompletions = completionsField && completionsField->is_number_integer();
    int64_t completions = hasCompletions ? completionsField->get<int64_t>() : 0;
    int64_t parallelism = std::max<int64_t>(0, intAt(spec, {"parallelism"}, 1));
    int64_t want = parallelism;
    if (indexed)
      want = std::min<int64_t>(parallelism, completions - int64_t(completedIndexes.size()));
    else if (hasCompletions)
      want = std::min<int64_t>(parallelism, completions - succeeded);
    else if (succeeded > 0)
      want = int64_t(active.size());  // one success: no new pods, the rest finish
    want = std::max<int64_t>(0, want);
    int64_t diff = want - int64_t(active.size());
    if (diff < 0) {
      // The newest pods go first.
      std::sort(active.begin(), active.end(), [](const auto& a, const auto& b) {
        return stringAt(*a, {"metadata", "creationTimestamp"}) >
               stringAt(*b, {"metadata", "creationTimestamp"});
      });
      auto st = deletePods(job, active, size_t(-diff), lastWrite);
      active.erase(active.begin(), active.begin() + std::min<size_t>(active.size(), -diff));
      return st;
    }
    if (diff == 0) return core::Ok{};
    long long wait = backoffLeft(job, failed, now);
    if (wait > 0) {
      queue_.addAfter(key, std::chrono::seconds(wait));
      return core::Ok{};
    }
    // The informer may not have seen the Job go yet: never make pods for a
    // Job that is no longer there.
    auto fresh = context_.registry.get(api::resource("Job"), api::namespaceOf(job), api::name(job));
    if (!fresh.ok() || api::uid(*fresh) != api::uid(job) || api::isBeingDeleted(*fresh))
      return core::Ok{};
    std::vector<int64_t> indexes;
    if (indexed) {
      std::set<int64_t> busy(completedIndexes);
      for (const auto& pod : active) busy.insert(podIndex(*pod));
      for (int64_t i = 0; i < completions && int64_t(indexes.size()) < diff; ++i)
        if (!busy.count(i)) indexes.push_back(i);
    } else {
      indexes.assign(size_t(diff), -1);
    }
    if (indexes.size() > kMaxPodWritesPerSync) indexes.resize(kMaxPodWritesPerSync);
    for (int64_t index : indexes) {
      auto created = createPod(job, index);
      if (!created.ok()) return created.takeError();
      lastWrite = std::max(lastWrite, revisionOf(*created));
      active.push_back(std::make_shared<const Json>(std::move(*created)));
    }
    return core::Ok{};
  }

  core::Result<Json> createPod(const Json& job, int64_t index) {
    std::string ns = api::namespaceOf(job);
    const Json& podTemplate = objectAt(job, {"spec", "template"});
    Json metadata = {
        {"namespace", ns},
        {"ownerReferences", Json::array({ownerReference(job, "batch/v1", "Job", true)})}};
    Json labels = objectAt(podTemplate, {"metadata", "labels"});
    Json annotations = objectAt(podTemplate, {"metadata", "annotations"});
    Json spec = objectAt(podTemplate, {"spec"});
    std::string prefix = api::name(job) + "-";
    if (index >= 0) {
      std::string text = std::to_string(index);
      labels[kIndexKey] = text;
      annotations[kIndexKey] = text;
      prefix += text + "-";
      if (stringAt(spec, {"hostname"}).empty()) spec["hostname"] = api::name(job) + "-" + text;
      // Every container learns its index (upstream's JOB_COMPLETION_INDEX).
      for (const char* list : {"containers", "initContainers"}) {
        if (!spec.contains(list) || !spec[list].is_array()) continue;
        for (auto& container : spec[list]) {
          if (!container.is_object()) continue;
          if (!container.contains("env") || !container["env"].is_array())
            container["env"] = Json::array();
          container["env"].push_back(
              {{"name", "JOB_COMPLETION_INDEX"},
               {"valueFrom",
                {{"fieldRef",
                  {{"apiVersion", "v1"},
                   {"fieldPath", std::string("metadata.labels['") + kIndexKey + "']"}}}}}});
        }
      }
    }
    if (!labels.empty()) metadata["labels"] = labels;
    if (!annotations.empty()) metadata["annotations"] = annotations;
    Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", spec}};
    core::Result<Json> created = core::internal("unset");
    for (int attempt = 0; attempt < 3; ++attempt) {
      pod["metadata"]["name"] = prefix + randomSuffix();
      created = context_.registry.create(api::resource("Pod"), ns, pod);
      if (created.ok() || created.error().reason != "AlreadyExists") break;
    }
    if (!created.ok()) {
      events_.warning(job, "FailedCreate", "Error creating: " + created.error().message);
      return created;
    }
    events_.normal(job, "SuccessfulCreate", "Created pod: " + api::name(*created));
    return created;
  }

  core::Status deletePods(const Json& job, const std::vector<client::ObjectPtr>& pods, size_t count,
                          int64_t& lastWrite) {
    count = std::min({count, pods.size(), kMaxPodWritesPerSync});
    for (size_t i = 0; i < count; ++i) {
      const Json& pod = *pods[i];
      client::DeleteOptions options;
      options.preconditionUid = api::uid(pod);
      auto removed = context_.registry.remove(api::resource("Pod"), api::namespaceOf(pod),
                                              api::name(pod), options);
      if (!removed.ok() && removed.error().code != 404) {
        events_.warning(job, "FailedDelete", "Error deleting: " + removed.error().message);
        return removed.takeError();
      }
      if (removed.ok()) lastWrite = std::max(lastWrite, revisionOf(*removed));
      events_.normal(job, "SuccessfulDelete", "Deleted pod: " + api::name(pod));
    }
    return core::Ok{};
  }

  EventRecorder events_;
  client::Informer& jobs_;
  client::Informer& pods_;
  std::mutex failuresMutex_;
  std::map<std::string, long long> lastFailure_;  // Job uid -> when a pod last failed
};

}  // namespace

std::unique_ptr<Controller> makeJobController(Context& context) {
  return std::make_unique<JobController>(context);
}

}  // namespace podnet::controllers
