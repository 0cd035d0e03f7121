// kubectl get jobs / cronjobs / serviceaccounts: the columns and cells of
// upstream printers.go (1.32).
#include <gtest/gtest.h>

#include "api/object.h"
#include "apiserver/tables.h"

namespace podnet::apiserver {
namespace {

using api::Json;

const long long kNow = api::parseRfc3339("2026-01-01T00:05:00Z");

std::vector<std::string> columnNames(const char* kind, int maxPriority) {
  std::vector<std::string> names;
  for (const auto& column : tableColumns(api::resource(kind)))
    if (column["priority"].get<int>() <= maxPriority) names.push_back(column["name"]);
  return names;
}

Json cells(const char* kind, const Json& obj) { return tableCells(api::resource(kind), obj, kNow); }

using Names = std::vector<std::string>;

TEST(BatchTables, Columns) {
  EXPECT_EQ(columnNames("Job", 0), (Names{"Name", "Status", "Completions", "Duration", "Age"}));
  EXPECT_EQ(columnNames("Job", 1), (Names{"Name", "Status", "Completions", "Duration", "Age",
                                          "Containers", "Images", "Selector"}));
  EXPECT_EQ(columnNames("CronJob", 0),
            (Names{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"}));
  EXPECT_EQ(columnNames("ServiceAccount", 0), (Names{"Name", "Secrets", "Age"}));
}

TEST(BatchTables, JobCells) {
  Json job = {{"metadata", {{"name", "pi"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
              {"spec",
               {{"completions", 3},
                {"parallelism", 1},
                {"selector", {{"matchLabels", {{"batch.kubernetes.io/controller-uid", "u"}}}}},
                {"template", {{"spec", {{"containers", {{{"name", "pi"}, {"image", "perl"}}}}}}}}}},
              {"status", {{"succeeded", 1}, {"startTime", "2026-01-01T00:00:10Z"}}}};
  EXPECT_EQ(cells("Job", job), Json::array({"pi", "Running", "1/3", "4m50s", "5m", "pi", "perl",
                                            "batch.kubernetes.io/controller-uid=u"}));
  job["status"]["completionTime"] = "2026-01-01T00:00:40Z";
  job["status"]["conditions"] = {{{"type", "SuccessCriteriaMet"}, {"status", "True"}},
                                 {{"type", "Complete"}, {"status", "True"}}};
  EXPECT_EQ(cells("Job", job)[1], "Complete");
  EXPECT_EQ(cells("Job", job)[3], "30s");
  job["status"]["conditions"] = {{{"type", "FailureTarget"}, {"status", "True"}},
                                 {{"type", "Failed"}, {"status", "True"}}};
  EXPECT_EQ(cells("Job", job)[1], "Failed");
  job["spec"].erase("completions");
  job["spec"]["parallelism"] = 4;
  EXPECT_EQ(cells("Job", job)[2], "1/1 of 4");
}

TEST(BatchTables, CronJobAndServiceAccountCells) {
  Json cj = {{"metadata", {{"name", "hello"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
             {"spec", {{"schedule", "*/1 * * * *"}, {"suspend", false}}},
             {"status",
              {{"active", {{{"name", "hello-1"}}}}, {"lastScheduleTime", "2026-01-01T00:04:00Z"}}}};
  Json row = cells("CronJob", cj);
  EXPECT_EQ(row[0], "hello");
  EXPECT_EQ(row[1], "*/1 * * * *");
  EXPECT_EQ(row[2], "<none>");
  EXPECT_EQ(row[3], "False");
  EXPECT_EQ(row[4], 1);
  EXPECT_EQ(row[5], "60s");
  cj["spec"]["timeZone"] = "Europe/Berlin";
  cj["spec"].erase("suspend");
  cj.erase("status");
  row = cells("CronJob", cj);
  EXPECT_EQ(row[2], "Europe/Berlin");
  EXPECT_EQ(row[3], "<unset>");
  EXPECT_EQ(row[4], 0);
  EXPECT_EQ(row[5], "<none>");
  Json sa = {{"metadata", {{"name", "default"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}}};
  EXPECT_EQ(cells("ServiceAccount", sa), Json::array({"default", 0, "5m"}));
}

}  // namespace
}  // namespace podnet::apiserver
