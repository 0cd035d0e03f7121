// The server process over its life: restarts that keep credentials and
// data, kill -9 losing no acknowledged write, compaction (410 for a watch
// too far back), clean shutdown, and the real kubectl against it.
#include <gtest/gtest.h>

#include <set>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

TEST(Lifecycle, KillNineLosesNoAcknowledgedWrite) {
  ServerProcess server;
  ASSERT_TRUE(server.start()) << server.log();
  std::string token = server.token;
  std::string ca = server.caPem;
  constexpr int kObjects = 200;
  {
    auto api = server.client();
    for (int i = 0; i < kObjects; ++i) {
      auto created = api->post("/api/v1/namespaces/default/configmaps",
                               {{"metadata", {{"name", "durable-" + std::to_string(i)}}},
                                {"data", {{"i", std::to_string(i)}}}});
      ASSERT_EQ(created.status, 201) << created.body;
    }
  }
  server.kill(SIGKILL);
  ASSERT_TRUE(server.start()) << server.log();
  // Credentials are reused, so existing kubeconfigs keep working.
  EXPECT_EQ(server.token, token);
  EXPECT_EQ(server.caPem, ca);
  auto api = server.client();
  auto list = api->get("/api/v1/namespaces/default/configmaps");
  ASSERT_EQ(list.status, 200);
  std::set<std::string> names;
  Json items = list.json()["items"];
  for (const auto& item : items) names.insert(item["metadata"]["name"].get<std::string>());
  for (int i = 0; i < kObjects; ++i) EXPECT_TRUE(names.count("durable-" + std::to_string(i))) << i;
  // And writes go on after the restart.
  EXPECT_EQ(api->post("/api/v1/namespaces/default/configmaps", {{"metadata", {{"name", "after"}}}})
                .status,
            201);
}

TEST(Lifecycle, SigtermShutsDownCleanlyWithAWatchOpen) {
  ServerProcess server;
  ASSERT_TRUE(server.start()) << server.log();
  auto watch = server.watch("/api/v1/namespaces/default/configmaps?watch=true");
  ASSERT_EQ(watch->status(), 200);
  int status = server.kill(SIGTERM, std::chrono::seconds(10));
  EXPECT_TRUE(WIFEXITED(status)) << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();
  EXPECT_TRUE(watch->waitEnded(std::chrono::seconds(5)));
}

TEST(Lifecycle, WatchTooFarBackGetsExpired) {
  ServerProcess server({"--history-revisions", "20"});
  ASSERT_TRUE(server.start()) << server.log();
  auto api = server.client();
  for (int i = 0; i < 60; ++i)
    ASSERT_EQ(api->post("/api/v1/namespaces/default/configmaps",
                        {{"metadata", {{"name", "c" + std::to_string(i)}}}})
                  .status,
              201);
  // Compaction may run in the background: wait until revision 2 is gone.
  std::optional<WatchReader::Event> event;
  ASSERT_TRUE(eventually([&] {
    auto watch = server.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2");
    if (watch->status() != 200) return false;
    event = watch->next(std::chrono::seconds(2));
    return event && event->json["type"] == "ERROR";
  }));
  EXPECT_EQ(event->json["object"]["code"], 410);
  EXPECT_EQ(event->json["object"]["kind"], "Status");
  // A recent resourceVersion still resumes.
  auto latest = api->get("/api/v1/namespaces/default/configmaps/c59").json();
  auto watch = server.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=" +
                            latest["metadata"]["resourceVersion"].get<std::string>());
  ASSERT_EQ(
      api->post("/api/v1/namespaces/default/configmaps", {{"metadata", {{"name", "new"}}}}).status,
      201);
  auto added = watch->next();
  ASSERT_TRUE(added);
  EXPECT_EQ(added->json["type"], "ADDED");
  EXPECT_EQ(added->json["object"]["metadata"]["name"], "new");
}

TEST(Lifecycle, RealKubectlWorks) {
  const char* kubectl = "/usr/bin/kubectl";
  if (!std::filesystem::exists(kubectl)) GTEST_SKIP() << "no kubectl";
  ServerProcess server;
  ASSERT_TRUE(server.start()) << server.log();
  // kubectl keeps a discovery cache under HOME: give it the temp dir.
  std::string prefix = "HOME=" + server.dataDir + " timeout 60 " + kubectl + " --kubeconfig " +
                       server.kubeconfig() + " ";
  auto [versionCode, version] = runCommand(prefix + "version");
  EXPECT_EQ(versionCode, 0) << version;
  EXPECT_NE(version.find("v1.32.0-podnet"), std::string::npos) << version;
  auto [nsCode, namespaces] = runCommand(prefix + "get ns");
  EXPECT_EQ(nsCode, 0) << namespaces;
  EXPECT_NE(namespaces.find("kube-system"), std::string::npos) << namespaces;
  auto [podsCode, pods] = runCommand(prefix + "get pods -A");
  EXPECT_EQ(podsCode, 0) << pods;
  auto [svcCode, services] = runCommand(prefix + "get svc kubernetes");
  EXPECT_EQ(svcCode, 0) << services;
  std::string manifest = server.dataDir + "/cm.yaml";
  std::ofstream(manifest) << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-kubectl\n"
                             "data:\n  a: b\n";
  auto [applyCode, applied] = runCommand(prefix + "apply --validate=false -f " + manifest);
  EXPECT_EQ(applyCode, 0) << applied;
  auto [labelCode, labelled] = runCommand(prefix + "label cm from-kubectl x=y");
  EXPECT_EQ(labelCode, 0) << labelled;
  auto got = server.client()->get("/api/v1/namespaces/default/configmaps/from-kubectl").json();
  EXPECT_EQ(got["metadata"]["labels"]["x"], "y");
  auto [deleteCode, deleted] = runCommand(prefix + "delete cm from-kubectl");
  EXPECT_EQ(deleteCode, 0) << deleted;
}

}  // namespace
}  // namespace podnet::testing
