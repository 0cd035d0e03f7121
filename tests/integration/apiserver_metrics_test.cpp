// The API server's /metrics: kube-apiserver's request metrics under its
// names and labels, read by the real kubectl (`kubectl get --raw /metrics`,
// as Prometheus scrapes it with the admin's credentials) and the strict
// exposition reader; a request raises its own series by exactly one.
#include <gtest/gtest.h>

#include "podnet_harness.h"
#include "prometheus_text.h"

namespace podnet::testing {
namespace {

class ApiServerMetrics : public KubectlNamespaceSuite<ApiServerMetrics> {
 protected:
  PromText scrape() {
    return parsePromText(runCommand(kubectlCommand() + "get --raw /metrics").second);
  }
};

TEST_F(ApiServerMetrics, RequestsAreCountedByVerbResourceAndCode) {
  PromText before = scrape();
  ASSERT_EQ(before.error, "");
  ASSERT_EQ(before.families["apiserver_request_total"].type, "counter");
  ASSERT_EQ(before.families["apiserver_request_duration_seconds"].type, "histogram");
  const std::map<std::string, std::string> listPods = {
      {"verb", "LIST"},  {"resource", "pods"}, {"scope", "namespace"},    {"code", "200"},
      {"version", "v1"}, {"group", ""},        {"component", "apiserver"}};
  ASSERT_EQ(kubectl("get pods").first, 0);
  ASSERT_EQ(kubectl("create configmap m1 --from-literal=a=b").first, 0);
  ASSERT_NE(kubectl("get configmap nope").first, 0);
  PromText after = scrape();
  ASSERT_EQ(after.error, "");
  EXPECT_EQ(after.sum("apiserver_request_total", listPods) -
                before.sum("apiserver_request_total", listPods),
            1);
  EXPECT_EQ(after.sum("apiserver_request_total",
                      {{"verb", "POST"}, {"resource", "configmaps"}, {"code", "201"}}) -
                before.sum("apiserver_request_total",
                           {{"verb", "POST"}, {"resource", "configmaps"}, {"code", "201"}}),
            1);
  EXPECT_EQ(
      after.sum(
          "apiserver_request_total",
          {{"verb", "GET"}, {"resource", "configmaps"}, {"scope", "resource"}, {"code", "404"}}) -
          before.sum("apiserver_request_total",
                     {{"verb", "GET"}, {"resource", "configmaps"}, {"code", "404"}}),
      1);
  EXPECT_EQ(after.sum("apiserver_request_duration_seconds_count",
                      {{"verb", "LIST"}, {"resource", "pods"}}) -
                before.sum("apiserver_request_duration_seconds_count",
                           {{"verb", "LIST"}, {"resource", "pods"}}),
            1);
  EXPECT_TRUE(after.families.count("apiserver_longrunning_requests"));
  // The store under it: the create timed, the database's size.
  EXPECT_GE(after.sum("etcd_request_duration_seconds_count",
                      {{"operation", "create"}, {"type", "configmaps"}}) -
                before.sum("etcd_request_duration_seconds_count",
                           {{"operation", "create"}, {"type", "configmaps"}}),
            1);
  EXPECT_GT(after.sum("apiserver_storage_size_bytes"), 0);
  // The controllers' work queues, as client-go names them.
  EXPECT_EQ(after.families["workqueue_depth"].type, "gauge");
  // (a ServiceAccount per new namespace: the test's own made one)
  EXPECT_GE(*after.value("workqueue_adds_total", {{"name", "serviceaccount"}}), 1);
  EXPECT_TRUE(after.value("workqueue_depth", {{"name", "deployment"}}).has_value());
  EXPECT_GT(after.sum("workqueue_work_duration_seconds_count"), 0);
}

TEST_F(ApiServerMetrics, OnlyAuthenticatedCallersMayScrape) {
  // Anonymous: 403, as kube-apiserver answers system:anonymous.
  std::string anonymous =
      runCommand(std::string("curl -sk -o /dev/null -w '%{http_code}' ") +
                 "https://127.0.0.1:" + std::to_string(server_->port) + "/metrics")
          .second;
  EXPECT_EQ(anonymous, "403");
}

}  // namespace
}  // namespace podnet::testing
