// The real kubectl drives Jobs, CronJobs, ServiceAccounts and their tokens
// against podnet server: kubectl create job / cronjob / serviceaccount /
// token (protobuf bodies), get's columns, wait for a Job's conditions,
// deletion of a Job's pods, and a ServiceAccount token as the credential.
// Pods are finished as a node agent would, through pods/status. CronJobs
// come due at once through the hidden --test-cronjob-backdate flag.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

class KubectlBatch : public KubectlNamespaceSuite<KubectlBatch> {
 public:
  static std::vector<std::string> serverArgs() { return {"--test-cronjob-backdate", "120"}; }

 protected:
  std::vector<std::string> podsOf(const std::string& job) {
    auto [code, out] = kubectl("get pods -l batch.kubernetes.io/job-name=" + job + " -o name");
    std::vector<std::string> pods;
    std::istringstream lines(out);
    std::string line;
    while (code == 0 && std::getline(lines, line))
      if (line.rfind("pod/", 0) == 0) pods.push_back(line);
    return pods;
  }
  // What a node agent reports when the pod's containers exit.
  void finishPods(const std::string& job, const std::string& phase) {
    std::vector<std::string> pods;
    ASSERT_TRUE(eventually([&] { return !(pods = podsOf(job)).empty(); }))
        << kubectl("get pods").second;
    for (const auto& pod : pods) {
      auto [code, out] = kubectl("patch " + pod +
                                 " --subresource=status --type=merge -p "
                                 "'{\"status\":{\"phase\":\"" +
                                 phase + "\"}}'");
      ASSERT_EQ(code, 0) << out;
    }
  }
};

constexpr const char* kJobYaml = R"(apiVersion: batch/v1
kind: Job
metadata:
  name: %NAME%
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: %POLICY%
      containers:
      - name: main
        image: busybox
        command: ["false"]
)";

std::string jobYaml(const std::string& name, const std::string& policy) {
  std::string text = kJobYaml;
  text.replace(text.find("%NAME%"), 6, name);
  text.replace(text.find("%POLICY%"), 8, policy);
  return text;
}

TEST_F(KubectlBatch, CreateJobRunsItsPodToCompletion) {
  auto [code, out] = kubectl("create job hello --image=busybox -- echo hi");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "job.batch/hello created\n");

  auto [getCode, table] = kubectl("get jobs");
  ASSERT_EQ(getCode, 0) << table;
  EXPECT_EQ(squeeze(table).rfind("NAME STATUS COMPLETIONS DURATION AGE\nhello ", 0), 0u) << table;
  EXPECT_NE(squeeze(table).find("hello Running 0/1"), std::string::npos) << table;

  ASSERT_TRUE(eventually([&] { return podsOf("hello").size() == 1; }))
      << kubectl("get pods --show-labels").second;
  std::string pod = podsOf("hello")[0];
  EXPECT_EQ(pod.rfind("pod/hello-", 0), 0u) << pod;
  EXPECT_EQ(jsonpath(pod,
                     "{.spec.serviceAccountName} {.spec.restartPolicy} "
                     "{.spec.containers[0].command} {.metadata.ownerReferences[0].kind}"),
            "default Never [\"echo\",\"hi\"] Job");
  EXPECT_EQ(jsonpath("job hello", "{.spec.selector.matchLabels}"),
            "{\"batch.kubernetes.io/controller-uid\":\"" +
                jsonpath("job hello", "{.metadata.uid}") + "\"}");

  finishPods("hello", "Succeeded");
  auto [waited, waitOut] = kubectl("wait --for=condition=complete job/hello --timeout=30s");
  EXPECT_EQ(waited, 0) << waitOut;
  EXPECT_EQ(waitOut, "job.batch/hello condition met\n");
  EXPECT_EQ(jsonpath("job hello", "{.status.conditions[*].type}"), "SuccessCriteriaMet Complete");
  EXPECT_EQ(jsonpath("job hello", "{.status.succeeded}"), "1");
  auto [after, done] = kubectl("get job hello --no-headers");
  EXPECT_NE(squeeze(done).find("hello Complete 1/1 "), std::string::npos) << done;
  auto [wideCode, wide] = kubectl("get job hello -o wide");
  EXPECT_NE(wide.find("CONTAINERS"), std::string::npos) << wide;
  EXPECT_NE(wide.find("batch.kubernetes.io/controller-uid="), std::string::npos) << wide;
}

TEST_F(KubectlBatch, BackoffLimitFailsTheJob) {
  auto [code, out] = kubectl("create -f " + file("job.yaml", jobYaml("flaky", "Never")));
  ASSERT_EQ(code, 0) << out;
  finishPods("flaky", "Failed");
  auto [waited, waitOut] = kubectl("wait --for=condition=failed job/flaky --timeout=30s");
  EXPECT_EQ(waited, 0) << waitOut;
  EXPECT_EQ(jsonpath("job flaky", "{.status.conditions[*].type}"), "FailureTarget Failed");
  EXPECT_EQ(jsonpath("job flaky", "{.status.conditions[?(@.type==\"Failed\")].reason}"),
            "BackoffLimitExceeded");
  auto [getCode, row] = kubectl("get job flaky --no-headers");
  EXPECT_NE(squeeze(row).find("flaky Failed 0/1 "), std::string::npos) << row;
  // No replacement pod after the Job failed.
  EXPECT_EQ(podsOf("flaky").size(), 1u);
}

TEST_F(KubectlBatch, RestartPolicyAlwaysIsRefused) {
  auto [code, out] = kubectl("create -f " + file("job.yaml", jobYaml("always", "Always")));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("The Job \"always\" is invalid: spec.template.spec.restartPolicy: Required "
                     "value: valid values: \"OnFailure\", \"Never\""),
            std::string::npos)
      << out;
}

TEST_F(KubectlBatch, DeletingAJobDeletesItsPods) {
  auto [code, out] = kubectl("create job doomed --image=busybox -- sleep 100");
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(eventually([&] { return podsOf("doomed").size() == 1; }));
  auto [deleted, deleteOut] = kubectl("delete job doomed");
  EXPECT_EQ(deleted, 0) << deleteOut;
  EXPECT_EQ(deleteOut, "job.batch \"doomed\" deleted\n");
  EXPECT_TRUE(eventually([&] { return podsOf("doomed").empty(); })) << kubectl("get pods").second;
}

TEST_F(KubectlBatch, CronJobCreatesJobsAndJobsFromIt) {
  auto [code, out] =
      kubectl("create cronjob tick --image=busybox --schedule='* * * * *' -- echo tick");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "cronjob.batch/tick created\n");
  auto [getCode, table] = kubectl("get cronjobs");
  ASSERT_EQ(getCode, 0) << table;
  EXPECT_EQ(table.substr(0, table.find('\n')).find("NAME"), 0u);
  EXPECT_NE(squeeze(table).find("NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE"),
            std::string::npos)
      << table;
  EXPECT_NE(squeeze(table).find("tick * * * * * <none> False "), std::string::npos) << table;

  // Backdated by 120 s, the schedule has come due: one Job, named after the
  // scheduled minute.
  std::string jobs;
  ASSERT_TRUE(eventually([&] {
    jobs = kubectl("get jobs -o name").second;
    return jobs.find("job.batch/tick-") != std::string::npos;
  })) << jobs
      << kubectl("get events").second;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(jobs, match, std::regex("job.batch/tick-([0-9]+)"))) << jobs;
  long long minutes = std::stoll(match[1]);
  long long now = std::time(nullptr);
  EXPECT_LE(minutes * 60, now);
  EXPECT_GT(minutes * 60, now - 180);
  std::string jobName = "tick-" + match[1].str();
  EXPECT_EQ(jsonpath("job " + jobName, "{.metadata.ownerReferences[0].kind}"), "CronJob");
  EXPECT_TRUE(eventually([&] {
    return jsonpath("cronjob tick", "{.status.active[0].name}") == jobName &&
           !jsonpath("cronjob tick", "{.status.lastScheduleTime}").empty();
  })) << kubectl("get cronjob tick -o yaml").second;

  auto [fromCode, fromOut] = kubectl("create job by-hand --from=cronjob/tick");
  ASSERT_EQ(fromCode, 0) << fromOut;
  EXPECT_EQ(fromOut, "job.batch/by-hand created\n");
  EXPECT_EQ(jsonpath("job by-hand",
                     "{.metadata.annotations.cronjob\\.kubernetes\\.io/instantiate} "
                     "{.spec.template.spec.containers[0].command}"),
            "manual [\"echo\",\"tick\"]");
  EXPECT_TRUE(eventually([&] { return podsOf("by-hand").size() == 1; }));
}

TEST_F(KubectlBatch, CronJobScheduleIsValidated) {
  auto [code, out] = kubectl("create cronjob bad --image=busybox --schedule='61 * * * *'");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above "
                     "maximum (59): 61"),
            std::string::npos)
      << out;
}

TEST_F(KubectlBatch, ServiceAccountsInEveryNamespace) {
  ASSERT_TRUE(eventually([&] { return kubectl("get sa default").first == 0; }))
      << kubectl("get sa").second;
  auto [code, table] = kubectl("get serviceaccounts");
  EXPECT_EQ(squeeze(table).substr(0, 24), "NAME SECRETS AGE\ndefault") << table;
  EXPECT_NE(squeeze(table).find("default 0 "), std::string::npos) << table;
  ASSERT_TRUE(eventually([&] { return kubectl("get configmap kube-root-ca.crt").first == 0; }));
  EXPECT_EQ(jsonpath("configmap kube-root-ca.crt", "{.data.ca\\.crt}"), server_->caPem);

  auto [created, createOut] = kubectl("create serviceaccount builder");
  EXPECT_EQ(created, 0) << createOut;
  EXPECT_EQ(createOut, "serviceaccount/builder created\n");
  EXPECT_EQ(kubectl("get sa builder --no-headers").first, 0);

  // A pod naming a ServiceAccount that does not exist is refused.
  auto [refused, refusedOut] = kubectl(
      "run ghostly --image=busybox --overrides='{\"spec\":{\"serviceAccountName\":"
      "\"ghost\"}}'");
  EXPECT_EQ(refused, 1) << refusedOut;
  EXPECT_NE(refusedOut.find("pods \"ghostly\" is forbidden: error looking up service account " +
                            ns_ + "/ghost: serviceaccount \"ghost\" not found"),
            std::string::npos)
      << refusedOut;
  auto [ran, ranOut] = kubectl(
      "run builds --image=busybox --overrides='{\"spec\":{\"serviceAccountName\":\"builder\"}}'");
  EXPECT_EQ(ran, 0) << ranOut;
}

TEST_F(KubectlBatch, TokenOfAServiceAccountIsACredential) {
  ASSERT_TRUE(eventually([&] { return kubectl("get sa default").first == 0; }));
  auto [code, token] = kubectl("create token default");
  ASSERT_EQ(code, 0) << token;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  EXPECT_TRUE(
      std::regex_match(token, std::regex("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+")))
      << token;

  auto [listed, listOut] = kubectl("--token=" + token + " get pods");
  EXPECT_EQ(listed, 0) << listOut;
  EXPECT_EQ(listOut, "No resources found in " + ns_ + " namespace.\n");

  std::string tampered = token;
  size_t at = tampered.find('.') + 3;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  auto [denied, deniedOut] = kubectl("--token=" + tampered + " get pods");
  EXPECT_EQ(denied, 1) << deniedOut;
  EXPECT_NE(deniedOut.find("Unauthorized"), std::string::npos) << deniedOut;

  auto [shortCode, shortOut] = kubectl("create token default --duration=5m");
  EXPECT_EQ(shortCode, 1) << shortOut;
  EXPECT_NE(shortOut.find("may not specify a duration less than 10 minutes"), std::string::npos)
      << shortOut;
  auto [missing, missingOut] = kubectl("create token nobody");
  EXPECT_EQ(missing, 1) << missingOut;
  EXPECT_NE(missingOut.find("serviceaccounts \"nobody\" not found"), std::string::npos)
      << missingOut;

  // Deleting the ServiceAccount ends its tokens.
  EXPECT_EQ(kubectl("delete sa default").first, 0);
  auto [after, afterOut] = kubectl("--token=" + token + " get pods");
  EXPECT_EQ(after, 1) << afterOut;
}

TEST_F(KubectlBatch, DiscoveryAndExplain) {
  auto [code, out] = kubectl("api-resources --api-group=batch");
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(squeeze(out).find("cronjobs cj batch/v1 true CronJob"), std::string::npos) << out;
  EXPECT_NE(squeeze(out).find("jobs batch/v1 true Job"), std::string::npos) << out;
  auto [saCode, sa] = kubectl("api-resources --api-group=''");
  EXPECT_NE(squeeze(sa).find("serviceaccounts sa v1 true ServiceAccount"), std::string::npos) << sa;
  auto [explained, explainOut] = kubectl("explain cronjob.spec.schedule");
  EXPECT_EQ(explained, 0) << explainOut;
  EXPECT_NE(explainOut.find("FIELD: schedule <string>"), std::string::npos) << explainOut;
}

}  // namespace
}  // namespace podnet::testing
