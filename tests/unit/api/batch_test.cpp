// Job, CronJob and ServiceAccount defaults and validation, with upstream's
// messages (pkg/apis/batch/v1/defaults.go, pkg/apis/batch/validation).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/defaults.h"
#include "api/validation.h"
#include "test_util.h"

namespace podnet::api {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::IsEmpty;
using testing::printed;
using testing::yaml;

const char* const kJob = R"(
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: default, uid: 11111111-2222-3333-4444-555555555555}
spec:
  template:
    spec:
      containers: [{name: pi, image: busybox, command: [echo, hi]}]
      restartPolicy: Never
)";

Json defaulted(std::string_view kind, std::string_view text) {
  Json obj = yaml(text);
  applyDefaults(resource(kind), obj);
  return obj;
}

TEST(JobDefaults, AsUpstream) {
  Json job = defaulted("Job", kJob);
  const Json& spec = job["spec"];
  EXPECT_EQ(spec["completions"], 1);
  EXPECT_EQ(spec["parallelism"], 1);
  EXPECT_EQ(spec["backoffLimit"], 6);
  EXPECT_EQ(spec["completionMode"], "NonIndexed");
  EXPECT_EQ(spec["suspend"], false);
  EXPECT_EQ(spec["manualSelector"], false);
  EXPECT_EQ(spec["podReplacementPolicy"], "TerminatingOrFailed");
  const std::string uid = "11111111-2222-3333-4444-555555555555";
  EXPECT_EQ(spec["selector"],
            Json({{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}}));
  Json labels = {{"batch.kubernetes.io/controller-uid", uid},
                 {"batch.kubernetes.io/job-name", "pi"},
                 {"controller-uid", uid},
                 {"job-name", "pi"}};
  EXPECT_EQ(spec["template"]["metadata"]["labels"], labels);
  EXPECT_EQ(job["metadata"]["labels"], labels);  // from the template
  EXPECT_THAT(printed(validate(resource("Job"), job)), IsEmpty());
}

TEST(JobDefaults, ParallelismWithoutCompletions) {
  Json job = yaml(kJob);
  job["spec"]["parallelism"] = 3;
  applyDefaults(resource("Job"), job);
  EXPECT_FALSE(job["spec"].contains("completions"));
  job = yaml(kJob);
  job["spec"]["completions"] = 4;
  applyDefaults(resource("Job"), job);
  EXPECT_EQ(job["spec"]["parallelism"], 1);
}

TEST(JobValidation, RestartPolicy) {
  Json job = yaml(kJob);
  job["spec"]["template"]["spec"]["restartPolicy"] = "Always";
  EXPECT_THAT(errorsOf("Job", job),
              ElementsAre("spec.template.spec.restartPolicy: Required value: valid values: "
                          "\"OnFailure\", \"Never\""));
  job["spec"]["template"]["spec"].erase("restartPolicy");  // defaults to Always
  EXPECT_THAT(errorsOf("Job", job),
              ElementsAre("spec.template.spec.restartPolicy: Required value: valid values: "
                          "\"OnFailure\", \"Never\""));
  job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure";
  EXPECT_THAT(errorsOf("Job", job), IsEmpty());
}

TEST(JobValidation, FieldsAndSelector) {
  Json job = yaml(kJob);
  job["spec"]["completions"] = -1;
  job["spec"]["completionMode"] = "Sometimes";
  job["spec"]["backoffLimit"] = -2;
  auto errors = errorsOf("Job", job);
  EXPECT_THAT(errors, Contains("spec.completions: Invalid value: -1: must be greater than or "
                               "equal to 0"));
  EXPECT_THAT(errors, Contains("spec.backoffLimit: Invalid value: -2: must be greater than or "
                               "equal to 0"));
  EXPECT_THAT(errors, Contains("spec.completionMode: Unsupported value: \"Sometimes\": supported "
                               "values: \"NonIndexed\", \"Indexed\""));

  job = yaml(kJob);
  job["spec"]["selector"] = {{"matchLabels", {{"app", "other"}}}};
  errors = errorsOf("Job", job);
  EXPECT_THAT(errors, Contains(::testing::HasSubstr("spec.selector: Invalid value: "
                                                    "v1.LabelSelector{")));
  EXPECT_THAT(errors, Contains(::testing::HasSubstr("`selector` not auto-generated")));

  job = yaml(kJob);
  job["spec"]["completionMode"] = "Indexed";
  job["spec"]["parallelism"] = 2;
  EXPECT_THAT(errorsOf("Job", job),
              ElementsAre("spec.completions: Required value: when completion mode is Indexed"));
}

TEST(JobValidation, UpdatesKeepTheTemplate) {
  Json old = defaulted("Job", kJob);
  Json changed = old;
  changed["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2";
  EXPECT_THAT(printed(validateUpdate(resource("Job"), changed, old)),
              ElementsAre("spec.template: Invalid value: core.PodTemplateSpec{...}: field is "
                          "immutable"));
  changed = old;
  changed["spec"]["completions"] = 3;
  EXPECT_THAT(printed(validateUpdate(resource("Job"), changed, old)),
              ElementsAre("spec.completions: Invalid value: 3: field is immutable"));
  changed = old;
  changed["spec"]["parallelism"] = 3;  // may change
  EXPECT_THAT(printed(validateUpdate(resource("Job"), changed, old)), IsEmpty());
}

const char* const kCronJob = R"(
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: default}
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: hello, image: busybox}]
          restartPolicy: OnFailure
)";

TEST(CronJobDefaults, AsUpstream) {
  Json cj = defaulted("CronJob", kCronJob);
  EXPECT_EQ(cj["spec"]["concurrencyPolicy"], "Allow");
  EXPECT_EQ(cj["spec"]["suspend"], false);
  EXPECT_EQ(cj["spec"]["successfulJobsHistoryLimit"], 3);
  EXPECT_EQ(cj["spec"]["failedJobsHistoryLimit"], 1);
  EXPECT_FALSE(cj["spec"]["jobTemplate"]["spec"].contains("backoffLimit"));
  EXPECT_THAT(printed(validate(resource("CronJob"), cj)), IsEmpty());
}

TEST(CronJobValidation, ScheduleTimeZoneAndPolicy) {
  Json cj = yaml(kCronJob);
  cj["spec"]["schedule"] = "61 * * * *";
  cj["spec"]["concurrencyPolicy"] = "Sometimes";
  cj["spec"]["timeZone"] = "Mars/Olympus_Mons";
  auto errors = errorsOf("CronJob", cj);
  EXPECT_THAT(errors, Contains("spec.schedule: Invalid value: \"61 * * * *\": end of range (61) "
                               "above maximum (59): 61"));
  EXPECT_THAT(errors, Contains("spec.timeZone: Invalid value: \"Mars/Olympus_Mons\": unknown "
                               "time zone Mars/Olympus_Mons"));
  EXPECT_THAT(errors, Contains("spec.concurrencyPolicy: Unsupported value: \"Sometimes\": "
                               "supported values: \"Allow\", \"Forbid\", \"Replace\""));

  cj = yaml(kCronJob);
  cj["spec"]["schedule"] = "TZ=UTC * * * * *";
  EXPECT_THAT(errorsOf("CronJob", cj),
              ElementsAre("spec.schedule: Invalid value: \"TZ=UTC * * * * *\": cannot use TZ or "
                          "CRON_TZ in schedule, use timeZone field instead"));
  cj = yaml(kCronJob);
  cj["spec"]["timeZone"] = "Local";
  EXPECT_THAT(errorsOf("CronJob", cj),
              Contains("spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit "
                       "time zone as defined in https://www.iana.org/time-zones"));
  cj = yaml(kCronJob);
  cj["spec"]["timeZone"] = "../../etc/passwd";
  EXPECT_THAT(errorsOf("CronJob", cj),
              ElementsAre("spec.timeZone: Invalid value: \"../../etc/passwd\": unknown time zone "
                          "../../etc/passwd"));
  cj = yaml(kCronJob);
  cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "Always";
  EXPECT_THAT(errorsOf("CronJob", cj),
              ElementsAre("spec.jobTemplate.spec.template.spec.restartPolicy: Required value: "
                          "valid values: \"OnFailure\", \"Never\""));
  cj = yaml(kCronJob);
  cj["metadata"]["name"] = std::string(53, 'a');
  EXPECT_THAT(errorsOf("CronJob", cj),
              ElementsAre("metadata.name: Invalid value: \"" + std::string(53, 'a') +
                          "\": must be no more than 52 characters"));
}

TEST(PodDefaults, ServiceAccountName) {
  Json pod = defaulted("Pod", R"(
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
)");
  EXPECT_EQ(pod["spec"]["serviceAccountName"], "default");
  EXPECT_EQ(pod["spec"]["serviceAccount"], "default");
  Json legacy = defaulted("Pod", R"(
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec: {serviceAccount: builder, containers: [{name: c, image: busybox}]}
)");
  EXPECT_EQ(legacy["spec"]["serviceAccountName"], "builder");
}

}  // namespace
}  // namespace podnet::api
