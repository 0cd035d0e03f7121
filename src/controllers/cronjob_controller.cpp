// CronJobs -> Jobs, as kube-controller-manager's cronjob controller (v2):
// the schedule is evaluated in spec.timeZone (UTC when unset), each run is a
// Job named <cronjob>-<scheduled Unix minutes>, concurrencyPolicy
// Allow/Forbid/Replace, suspend, startingDeadlineSeconds, status.active /
// lastScheduleTime / lastSuccessfulTime, and finished Jobs beyond the
// history limits are deleted.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "api/object.h"
#include "controllers/runtime.h"
#include "controllers/util.h"
#include "core/cron.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

// Missed runs looked at before giving up on catching up (upstream warns at 100).
constexpr int kMaxMissedStarts = 100;

bool jobFinished(const Json& job, std::string* type = nullptr) {
  for (const auto& c : arrayAt(job, {"status", "conditions"})) {
    std::string t = stringAt(c, {"type"});
    if ((t == "Complete" || t == "Failed") && stringAt(c, {"status"}) == "True") {
      if (type) *type = t;
      return true;
    }
  }
  return false;
}

// RFC 3339 in the schedule's zone, as the scheduled-timestamp annotation.
std::string formatInZone(long long unix, const core::TimeZone& zone) {
  int32_t offset = zone.lookup(unix).offset;
  std::string text = api::formatRfc3339(unix + offset);
  if (offset == 0) return text;
  text.pop_back();  // the Z
  int32_t minutes = std::abs(offset) / 60;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%c%02d:%02d", offset < 0 ? '-' : '+', minutes / 60,
                minutes % 60);
  return text + suffix;
}

class CronJobController : public Controller {
 public:
  explicit CronJobController(Context& context)
      : Controller("cronjob", context),
        events_(context.registry, "cronjob-controller"),
        cronJobs_(context.informers.forResource(api::resource("CronJob"))),
        jobs_(context.informers.forResource(api::resource("Job"))) {
    cronJobs_.addHandlers({[this](const Json& cj) { enqueue(cj); },
                           [this](const Json&, const Json& cj) { enqueue(cj); }, nullptr});
    auto onJob = [this](const Json& job) { enqueueOwner(queue_, job, "CronJob"); };
    jobs_.addHandlers({onJob, [onJob](const Json&, const Json& job) { onJob(job); }, onJob});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto found = cronJobs_.get(ns, name);
    if (!found || api::isBeingDeleted(*found)) return core::Ok{};
    const Json& cj = *found;
    long long now = nowSeconds();

    std::vector<client::ObjectPtr> owned;
    for (const auto& job : jobs_.list(ns)) {
      auto owner = controllerOf(*job);
      if (owner && owner->uid == api::uid(cj)) owned.push_back(job);
    }

    Json status = objectAt(cj, {"status"});
    if (!status.is_object()) status = Json::object();
    // status.active: the owned Jobs still running.
    Json active = Json::array();
    long long lastSuccess = api::parseRfc3339(stringAt(status, {"lastSuccessfulTime"}));
    for (const auto& job : owned) {
      std::string type;
      if (jobFinished(*job, &type)) {
        bool wasActive = false;
        for (const auto& ref : arrayAt(cj, {"status", "active"}))
          wasActive = wasActive || stringAt(ref, {"uid"}) == api::uid(*job);
        if (wasActive)
          events_.normal(cj, "SawCompletedJob",
                         "Saw completed job: " + api::name(*job) + ", condition: " + type);
        if (type == "Complete") {
          long long done = api::parseRfc3339(stringAt(*job, {"status", "completionTime"}));
          if (done > lastSuccess) lastSuccess = done;
        }
        continue;
      }
      if (api::isBeingDeleted(*job)) continue;
      active.push_back({{"kind", "Job"},
                        {"namespace", ns},
                        {"name", api::name(*job)},
                        {"uid", api::uid(*job)},
                        {"apiVersion", "batch/v1"},
                        {"resourceVersion", api::resourceVersion(*job)}});
    }
    status["active"] = active;
    if (active.empty()) status.erase("active");
    if (lastSuccess > 0) status["lastSuccessfulTime"] = api::formatRfc3339(lastSuccess);

    auto st = runIfDue(cj, owned, status, now);
    if (auto cleaned = cleanupHistory(cj, owned); !cleaned.ok() && st.ok()) st = cleaned;
    auto written = writeStatus(api::resource("CronJob"), cj, status, cronJobs_);
    if (!st.ok()) return st;
    return written;
  }

 private:
  // Creates the Job of the most recent schedule time that has come, if any.
  core::Status runIfDue(const Json& cj, const std::vector<client::ObjectPtr>& owned, Json& status,
                        long long now) {
    const Json& spec = objectAt(cj, {"spec"});
    std::string key = client::objectKey(cj);
    auto schedule = core::parseCron(stringAt(spec, {"schedule"}));
    if (!schedule.ok()) {
      events_.warning(
          cj, "InvalidSchedule",
          "invalid schedule: " + stringAt(spec, {"schedule"}) + " : " + schedule.error().message);
      return core::Ok{};
    }
    std::string zoneName = stringAt(spec, {"timeZone"});
    if (zoneName.empty()) zoneName = schedule->timeZone;
    auto zone = core::TimeZone::load(zoneName);
    if (!zone.ok()) {
      events_.warning(cj, "UnknownTimeZone",
                      "invalid timeZone: \"" + zoneName + "\": " + zone.error().message);
      return core::Ok{};
    }
    if (boolAt(spec, {"suspend"}, false)) return core::Ok{};

    long long earliest = api::parseRfc3339(stringAt(status, {"lastScheduleTime"}));
    if (earliest < 0)
      earliest = api::parseRfc3339(stringAt(cj, {"metadata", "creationTimestamp"})) -
                 context_.config.cronJobBackdateSeconds;
    const Json* deadline = at(spec, {"startingDeadlineSeconds"});
    bool hasDeadline = deadline && deadline->is_number_integer();
    if (hasDeadline) earliest = std::max<long long>(earliest, now - deadline->get<int64_t>());

    // The most recent schedule time in (earliest, now].
    long long scheduled = -1;
    int missed = 0;
    for (long long t = schedule->next(earliest, **zone); t >= 0 && t <= now;
         t = schedule->next(t, **zone)) {
      scheduled = t;
      if (++missed > kMaxMissedStarts) {
        // Too far behind: jump to the last hour and keep only its latest run.
        events_.warning(
            cj, "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
            "or check clock skew");
        long long from = std::max(t, now - 3600);
        for (long long u = schedule->next(from, **zone); u >= 0 && u <= now;
             u = schedule->next(u, **zone))
          scheduled = u;
        break;
      }
    }
    long long next = schedule->next(now, **zone);
    if (next >= 0) queue_.addAfter(key, std::chrono::seconds(std::max(1LL, next - now)));
    if (scheduled < 0) return core::Ok{};

    std::string jobName = api::name(cj) + "-" + std::to_string(scheduled / 60);
    for (const auto& job : owned)
      if (api::name(*job) == jobName) {
        status["lastScheduleTime"] = api::formatRfc3339(scheduled);
        return core::Ok{};  // this run exists already
      }

    std::string policy = stringAt(spec, {"concurrencyPolicy"});
    const Json& active = arrayAt(status, {"active"});
    if (policy == "Forbid" && !active.empty()) {
      events_.normal(cj, "JobAlreadyActive",
                     "Not starting job because prior execution is running and concurrency "
                     "policy is Forbid");
      return core::Ok{};
    }
    if (policy == "Replace") {
      for (const auto& ref : active) {
        client::DeleteOptions options;
        options.propagationPolicy = "Background";
        auto removed = context_.registry.remove(api::resource("Job"), api::namespaceOf(cj),
                                                stringAt(ref, {"name"}), options);
        if (!removed.ok() && removed.error().code != 404) return removed.takeError();
        events_.normal(cj, "SuccessfulDelete", "Deleted job " + stringAt(ref, {"name"}));
      }
      status.erase("active");
    }

    const Json& jobTemplate = objectAt(spec, {"jobTemplate"});
    Json metadata = {
        {"name", jobName},
        {"namespace", api::namespaceOf(cj)},
        {"ownerReferences", Json::array({ownerReference(cj, "batch/v1", "CronJob", true)})}};
    Json labels = objectAt(jobTemplate, {"metadata", "labels"});
    Json annotations = objectAt(jobTemplate, {"metadata", "annotations"});
    annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        formatInZone(scheduled, **zone);
    if (!labels.empty()) metadata["labels"] = labels;
    metadata["annotations"] = annotations;
    Json job = {{"apiVersion", "batch/v1"},
                {"kind", "Job"},
                {"metadata", metadata},
                {"spec", objectAt(jobTemplate, {"spec"})}};
    auto created = context_.registry.create(api::resource("Job"), api::namespaceOf(cj), job);
    if (!created.ok() && created.error().reason != "AlreadyExists") {
      events_.warning(cj, "FailedCreate", "Error creating job: " + created.error().message);
      return created.takeError();
    }
    status["lastScheduleTime"] = api::formatRfc3339(scheduled);
    if (created.ok()) {
      events_.normal(cj, "SuccessfulCreate", "Created job " + jobName);
      if (!status.contains("active") || !status["active"].is_array())
        status["active"] = Json::array();
      status["active"].push_back({{"kind", "Job"},
                                  {"namespace", api::namespaceOf(cj)},
                                  {"name", jobName},
                                  {"uid", api::uid(*created)},
                                  {"apiVersion", "batch/v1"},
                                  {"resourceVersion", api::resourceVersion(*created)}});
      jobs_.waitForRevision(client::parseResourceVersion(api::resourceVersion(*created)), 2s);
    }
    return core::Ok{};
  }

  // Keeps the newest successfulJobsHistoryLimit complete and
  // failedJobsHistoryLimit failed Jobs.
  core::Status cleanupHistory(const Json& cj, const std::vector<client::ObjectPtr>& owned) {
    for (const char* which : {"Complete", "Failed"}) {
      int64_t limit =
          intAt(cj,
                {"spec", std::string_view(which) == "Complete" ? "successfulJobsHistoryLimit"
                                                               : "failedJobsHistoryLimit"},
                std::string_view(which) == "Complete" ? 3 : 1);
      std::vector<const Json*> finished;
      for (const auto& job : owned) {
        std::string type;
        if (jobFinished(*job, &type) && type == which && !api::isBeingDeleted(*job))
          finished.push_back(job.get());
      }
      if (int64_t(finished.size()) <= limit) continue;
      std::sort(finished.begin(), finished.end(), [](const Json* a, const Json* b) {
        auto started = [](const Json* job) {
          std::string t = stringAt(*job, {"status", "startTime"});
          return t.empty() ? stringAt(*job, {"metadata", "creationTimestamp"}) : t;
        };
        return std::make_pair(started(a), api::name(*a)) <
               std::make_pair(started(b), api::name(*b));
      });
      for (size_t i = 0; i + size_t(std::max<int64_t>(0, limit)) < finished.size(); ++i) {
        client::DeleteOptions options;
        options.propagationPolicy = "Background";
        auto removed = context_.registry.remove(api::resource("Job"), api::namespaceOf(cj),
                                                api::name(*finished[i]), options);
        if (!removed.ok() && removed.error().code != 404) return removed.takeError();
        events_.normal(cj, "SuccessfulDelete", "Deleted job " + api::name(*finished[i]));
      }
    }
    return core::Ok{};
  }

  EventRecorder events_;
  client::Informer& cronJobs_;
  client::Informer& jobs_;
};

}  // namespace

std::unique_ptr<Controller> makeCronJobController(Context& context) {
  return std::make_unique<CronJobController>(context);
}

}  // namespace podnet::controllers
