// client::RestClient against the real server: built from the kubeconfig
// `podnet server` writes, it must do everything the in-process Registry
// does (CRUD, subresources, errors, list paging, watch, informers) over
// verified TLS.
#include "client/rest_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "apiserver/pki.h"
#include "client/informer.h"
#include "client/kubeconfig.h"
#include "podnet_harness.h"

namespace podnet::client {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::ServerProcess;

const ResourceInfo& configMaps() { return api::resource("ConfigMap"); }
const ResourceInfo& pods() { return api::resource("Pod"); }

Json configMap(const std::string& name, Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"key", "value"}}}};
}

Json pod(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}}},
          {"spec", {{"containers", {{{"name", "main"}, {"image", "busybox"}}}}}}};
}

// One server for the whole suite: starting it is the slow part.
class RestClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    ASSERT_TRUE(server_->start()) << server_->log();
    // The kubeconfig may be written just after the server reports ready.
    ASSERT_TRUE(eventually([] { return loadKubeconfig(server_->kubeconfig()).ok(); }));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto config = loadKubeconfig(server_->kubeconfig());
    ASSERT_TRUE(config.ok()) << config.error().message;
    config->userAgent = "podnet/rest-client-test";
    auto made = RestClient::make(*config);
    ASSERT_TRUE(made.ok()) << made.error().message;
    client_ = std::move(*made);
  }

  // A namespace of its own per test, so tests do not see each other's objects.
  std::string makeNamespace(const std::string& name) {
    auto created = client_->create(
        api::resource("Namespace"), "",
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
    EXPECT_TRUE(created.ok()) << created.error().message;
    // Every namespace gets the ConfigMap kube-root-ca.crt: tests start after it.
    EXPECT_TRUE(
        eventually([&] { return client_->get(configMaps(), name, "kube-root-ca.crt").ok(); }));
    return name;
  }

  static ServerProcess* server_;
  std::unique_ptr<RestClient> client_;
};

ServerProcess* RestClientTest::server_ = nullptr;

TEST_F(RestClientTest, ConfigMapCrud) {
  std::string ns = makeNamespace("crud");
  auto created = client_->create(configMaps(), ns, configMap("settings"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)["metadata"]["namespace"], ns);
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto fetched = client_->get(configMaps(), ns, "settings");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ((*fetched)["data"]["key"], "value");

  Json changed = *fetched;
  changed["data"]["key"] = "other";
  auto updated = client_->update(configMaps(), ns, changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["data"]["key"], "other");
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], (*fetched)["metadata"]["resourceVersion"]);

  // The stale resourceVersion of `fetched` makes it a failed compare-and-swap.
  auto stale = client_->update(configMaps(), ns, *fetched);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, 409);
  EXPECT_EQ(stale.error().reason, "Conflict");

  auto removed = client_->remove(configMaps(), ns, "settings");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  auto gone = client_->get(configMaps(), ns, "settings");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, 404);
  EXPECT_EQ(gone.error().reason, "NotFound");
  EXPECT_EQ(gone.error().name, "settings");
  EXPECT_EQ(gone.error().kind, "configmaps");
}

TEST_F(RestClientTest, ErrorsDecodeWithCauses) {
  std::string ns = makeNamespace("errors");
  ASSERT_TRUE(client_->create(configMaps(), ns, configMap("once")).ok());
  auto again = client_->create(configMaps(), ns, configMap("once"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, 409);
  EXPECT_EQ(again.error().reason, "AlreadyExists");

  auto invalid = client_->create(configMaps(), ns, configMap("Not_A_Valid_Name"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, 422);
  EXPECT_EQ(invalid.error().reason, "Invalid");
  ASSERT_FALSE(invalid.error().causes.empty());
  EXPECT_EQ(invalid.error().causes[0].field, "metadata.name");

  DeleteOptions wrongUid;
  wrongUid.preconditionUid = "not-the-uid";
  auto precondition = client_->remove(configMaps(), ns, "once", wrongUid);
  ASSERT_FALSE(precondition.ok());
  EXPECT_EQ(precondition.error().code, 409);
  EXPECT_TRUE(client_->get(configMaps(), ns, "once").ok());
}

TEST_F(RestClientTest, PodStatusBindingAndDelete) {
  std::string ns = makeNamespace("pods");
  auto created = client_->create(pods(), ns, pod("web"));
  ASSERT_TRUE(created.ok()) << created.error().message;

  // Controllers may write the pod meanwhile: retry a stale compare-and-swap.
  core::Result<Json> statusUpdated = core::internal("not tried");
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto latest = client_->get(pods(), ns, "web");
    ASSERT_TRUE(latest.ok()) << latest.error().message;
    Json withStatus = *latest;
    withStatus["status"]["phase"] = "Running";
    withStatus["spec"]["containers"][0]["image"] = "ignored-by-status";
    statusUpdated = client_->update(pods(), ns, withStatus, {.subresource = "status"});
    if (statusUpdated.ok() || statusUpdated.error().code != 409) break;
  }
  ASSERT_TRUE(statusUpdated.ok()) << statusUpdated.error().message;
  EXPECT_EQ((*statusUpdated)["status"]["phase"], "Running");
  EXPECT_EQ((*statusUpdated)["spec"]["containers"][0]["image"], "busybox");

  Json toBind = {{"metadata", {{"name", "web"}}}, {"spec", {{"nodeName", "node-1"}}}};
  auto bound = client_->update(pods(), ns, toBind, {.subresource = "binding"});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ((*bound)["spec"]["nodeName"], "node-1");
  EXPECT_EQ((*bound)["kind"], "Pod");
  auto rebound = client_->update(pods(), ns, toBind, {.subresource = "binding"});
  ASSERT_FALSE(rebound.ok());
  EXPECT_EQ(rebound.error().code, 409);

  // DeleteOptions travel in the body: a zero grace period deletes at once.
  DeleteOptions now;
  now.gracePeriodSeconds = 0;
  now.propagationPolicy = "Background";
  auto removed = client_->remove(pods(), ns, "web", now);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(eventually([&] {
    auto got = client_->get(pods(), ns, "web");
    return !got.ok() && got.error().code == 404;
  }));
}

TEST_F(RestClientTest, ListWithSelectorsAndPaging) {
  std::string ns = makeNamespace("listing");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(
        client_
            ->create(configMaps(), ns,
                     configMap("cm-" + std::to_string(i), {{"app", i % 2 == 0 ? "web" : "db"}}))
            .ok());
  auto web = client_->list(configMaps(), ns, {.labelSelector = "app=web"});
  ASSERT_TRUE(web.ok()) << web.error().message;
  EXPECT_EQ((*web)["kind"], "ConfigMapList");
  EXPECT_EQ((*web)["items"].size(), 3u);

  auto byName = client_->list(configMaps(), ns, {.fieldSelector = "metadata.name=cm-3"});
  ASSERT_TRUE(byName.ok()) << byName.error().message;
  ASSERT_EQ((*byName)["items"].size(), 1u);
  EXPECT_EQ((*byName)["items"][0]["metadata"]["name"], "cm-3");

  std::vector<std::string> names;
  ListOptions page{.labelSelector = "app", .limit = 2};
  for (int pages = 0; pages < 10; ++pages) {
    auto list = client_->list(configMaps(), ns, page);
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_LE((*list)["items"].size(), 2u);
    for (const auto& item : (*list)["items"]) names.push_back(item["metadata"]["name"]);
    page.continueToken = (*list)["metadata"].value("continue", "");
    if (page.continueToken.empty()) break;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"cm-0", "cm-1", "cm-2", "cm-3", "cm-4"}));

  auto everywhere = client_->list(configMaps(), "", {.labelSelector = "app=db"});
  ASSERT_TRUE(everywhere.ok());
  EXPECT_EQ((*everywhere)["items"].size(), 2u);
}

// Collects watch events until `count` arrived or time runs out.
std::vector<WatchEvent> collect(Watcher& watcher, size_t count) {
  std::vector<WatchEvent> events;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (events.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = watcher.next(200ms);
    if (!batch.ok()) break;
    for (auto& event : *batch)
      if (event.type != "BOOKMARK") events.push_back(std::move(event));
  }
  return events;
}

TEST_F(RestClientTest, WatchDeliversAddedModifiedDeleted) {
  std::string ns = makeNamespace("watching");
  auto list = client_->list(configMaps(), ns);
  ASSERT_TRUE(list.ok());
  auto watcher = client_->watch(
      configMaps(), ns,
      {.resourceVersion = (*list)["metadata"]["resourceVersion"], .allowWatchBookmarks = true});
  ASSERT_TRUE(watcher.ok()) << watcher.error().message;

  auto created = client_->create(configMaps(), ns, configMap("watched"));
  ASSERT_TRUE(created.ok());
  Json changed = *created;
  changed["data"]["key"] = "changed";
  ASSERT_TRUE(client_->update(configMaps(), ns, changed).ok());
  ASSERT_TRUE(client_->remove(configMaps(), ns, "watched").ok());

  auto events = collect(**watcher, 3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, "ADDED");
  EXPECT_EQ(events[1].type, "MODIFIED");
  EXPECT_EQ(events[1].object["data"]["key"], "changed");
  EXPECT_EQ(events[2].type, "DELETED");
  for (const auto& event : events) EXPECT_EQ(event.object["metadata"]["name"], "watched");

  // Destroying the watcher closes its connection without waiting for the
  // server's watch timeout.
  auto before = std::chrono::steady_clock::now();
  watcher->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
}

TEST_F(RestClientTest, WatchEndingByServerTimeoutIsA504) {
  auto config = loadKubeconfig(server_->kubeconfig());
  ASSERT_TRUE(config.ok());
  config->watchTimeout = 1s;
  auto client = RestClient::make(*config);
  ASSERT_TRUE(client.ok());
  auto watcher = (*client)->watch(configMaps(), "default", {});
  ASSERT_TRUE(watcher.ok()) << watcher.error().message;
  core::Result<std::vector<WatchEvent>> result = std::vector<WatchEvent>{};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (result.ok() && std::chrono::steady_clock::now() < deadline)
    result = (*watcher)->next(200ms);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, 504);
  EXPECT_EQ(result.error().message, "watch ended");
}

TEST_F(RestClientTest, InformerOverRestSeesChanges) {
  std::string ns = makeNamespace("informed");
  ASSERT_TRUE(client_->create(configMaps(), ns, configMap("first")).ok());
  Informer informer(*client_, configMaps(), {.ns = ns, .pollInterval = 50ms});
  std::atomic<int> deletes{0};
  informer.addHandlers({.onDelete = [&](const Json&) { ++deletes; }});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(10s));
  EXPECT_EQ(informer.size(), 2u);  // and kube-root-ca.crt

  auto second = client_->create(configMaps(), ns, configMap("second"));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(informer.waitForRevision(
      parseResourceVersion((*second)["metadata"]["resourceVersion"].get<std::string>()), 10s));
  EXPECT_NE(informer.get(ns, "second"), nullptr);
  ASSERT_TRUE(client_->remove(configMaps(), ns, "first").ok());
  EXPECT_TRUE(informer.waitUntil([&] { return informer.get(ns, "first") == nullptr; }, 10s));
  EXPECT_TRUE(eventually([&] { return deletes.load() == 1; }));
  informer.stop();
}

TEST_F(RestClientTest, ConcurrentCallersShareThePool) {
  std::string ns = makeNamespace("concurrent");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!client_->create(configMaps(), ns, configMap(name)).ok()) ++failures;
        auto got = client_->get(configMaps(), ns, name);
        if (!got.ok() || (*got)["metadata"]["name"] != name) ++failures;
        if (!client_->remove(configMaps(), ns, name).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto left = client_->list(configMaps(), ns);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ((*left)["items"].size(), 1u);
  EXPECT_EQ((*left)["items"][0]["metadata"]["name"], "kube-root-ca.crt");
}

TEST_F(RestClientTest, InClusterConfigWorks) {
  auto client =
      RestClient::make(inClusterConfig("localhost", server_->port, server_->caPem, server_->token));
  ASSERT_TRUE(client.ok());
  auto got = (*client)->get(api::resource("Namespace"), "", "default");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ((*got)["metadata"]["name"], "default");

  auto anonymous =
      RestClient::make(inClusterConfig("127.0.0.1", server_->port, server_->caPem, ""));
  ASSERT_TRUE(anonymous.ok());
  auto refused = (*anonymous)->list(configMaps(), "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 401);
}

TEST_F(RestClientTest, WrongCaIsRefused) {
  // Another CA, as made for another server.
  char pattern[] = "/tmp/podnet-other-ca-XXXXXX";
  std::string dir = ::mkdtemp(pattern);
  auto otherPki = apiserver::loadOrCreatePki(dir, "10.96.0.1", {});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(otherPki.ok()) << otherPki.error().message;
  auto client = RestClient::make(
      inClusterConfig("127.0.0.1", server_->port, otherPki->caCertPem, server_->token));
  ASSERT_TRUE(client.ok());
  auto refused = (*client)->get(api::resource("Namespace"), "", "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 503);
  EXPECT_NE(refused.error().message.find("certificate verify failed"), std::string::npos)
      << refused.error().message;
  EXPECT_FALSE((*client)->watch(configMaps(), "default", {}).ok());
}

TEST_F(RestClientTest, NothingListensIsA503) {
  auto client = RestClient::make(
      inClusterConfig("127.0.0.1", testing::freeLoopbackPort(), server_->caPem, server_->token));
  ASSERT_TRUE(client.ok());
  auto refused = (*client)->get(api::resource("Namespace"), "", "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 503);
  EXPECT_NE(refused.error().message.find("cannot connect"), std::string::npos);
}

// Its own server: the history kept is small enough to compact quickly.
TEST(RestClientCompaction, WatchFromACompactedRevisionIsA410) {
  ServerProcess server({"--history-revisions", "20"});
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(eventually([&] { return loadKubeconfig(server.kubeconfig()).ok(); }));
  auto config = loadKubeconfig(server.kubeconfig());
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto client = RestClient::make(*config);
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(
        (*client)->create(configMaps(), "default", configMap("c" + std::to_string(i))).ok());
  core::Error expired;
  ASSERT_TRUE(eventually([&] {
    auto watcher = (*client)->watch(configMaps(), "default", {.resourceVersion = "2"});
    if (!watcher.ok()) {
      expired = watcher.error();
      return expired.code == 410;
    }
    auto events = (*watcher)->next(2s);
    if (events.ok()) events = (*watcher)->next(2s);  // the error follows the events
    if (events.ok()) return false;
    expired = events.error();
    return expired.code == 410;
  }));
  EXPECT_EQ(expired.code, 410);
  EXPECT_EQ(expired.reason, "Expired");
}

}  // namespace
}  // namespace podnet::client

namespace podnet::client {
namespace {

// Pooled keep-alive connections die with a server restart; the next request
// reconnects instead of failing, and a watch reports its end.
TEST(RestClientReconnect, SurvivesAServerRestart) {
  ServerProcess server;
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(eventually([&] { return loadKubeconfig(server.kubeconfig()).ok(); }));
  auto config = loadKubeconfig(server.kubeconfig());
  ASSERT_TRUE(config.ok());
  auto client = RestClient::make(*config);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->create(configMaps(), "default", configMap("before")).ok());
  auto watcher = (*client)->watch(configMaps(), "default", {});
  ASSERT_TRUE(watcher.ok());

  server.stop();
  core::Result<std::vector<WatchEvent>> ended = std::vector<WatchEvent>{};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ended.ok() && std::chrono::steady_clock::now() < deadline) ended = (*watcher)->next(200ms);
  ASSERT_FALSE(ended.ok());
  EXPECT_TRUE(ended.error().code == 503 || ended.error().code == 504) << ended.error().message;

  // The pooled connection is dead now; the get after the restart must not fail on it.
  ASSERT_TRUE(server.start()) << server.log();
  auto after = (*client)->get(configMaps(), "default", "before");
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ((*after)["metadata"]["name"], "before");
}

}  // namespace
}  // namespace podnet::client
