// The registry over a real SQLite store in a temp dir: what a client of the
// API server sees (metadata, errors, concurrency, status, deletion, watch).
#include "registry/registry.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "api/object.h"

namespace podnet::registry {
namespace {

using api::Json;
using namespace std::chrono_literals;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("podnet-registry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::openSqlite({(dir_ / "state.db").string()});
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    registry_ = std::make_unique<Registry>(*store_);
    ASSERT_TRUE(registry_->create(ns_, "", Json{{"metadata", {{"name", "default"}}}}).ok());
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Json service(const std::string& name, Json labels = Json::object()) {
    return Json{{"apiVersion", "v1"},
                {"kind", "Service"},
                {"metadata", {{"name", name}, {"labels", labels}}},
                {"spec", {{"selector", {{"app", name}}}, {"ports", {{{"port", 80}}}}}}};
  }
  Json configMap(const std::string& name, Json labels = Json::object()) {
    return Json{{"metadata", {{"name", name}, {"labels", labels}}}, {"data", {{"k", "v"}}}};
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Registry> registry_;
  const api::ResourceInfo& ns_ = api::resource("Namespace");
  const api::ResourceInfo& svc_ = api::resource("Service");
  const api::ResourceInfo& cm_ = api::resource("ConfigMap");
  const api::ResourceInfo& pod_ = api::resource("Pod");
  const api::ResourceInfo& rs_ = api::resource("ReplicaSet");
};

TEST_F(RegistryTest, CreateFillsMetadataAndDefaults) {
  auto created = registry_->create(svc_, "default", service("web"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(api::uid(*created).empty());
  EXPECT_FALSE(api::resourceVersion(*created).empty());
  EXPECT_EQ((*created)["metadata"]["namespace"], "default");
  EXPECT_TRUE((*created)["metadata"].contains("creationTimestamp"));
  auto got = registry_->get(svc_, "default", "web");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *created);
}

TEST_F(RegistryTest, DuplicateCreateIsAlreadyExists) {
  ASSERT_TRUE(registry_->create(svc_, "default", service("web")).ok());
  auto again = registry_->create(svc_, "default", service("web"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, 409);
  EXPECT_EQ(again.error().reason, "AlreadyExists");
  EXPECT_EQ(again.error().message, "services \"web\" already exists");
}

TEST_F(RegistryTest, MissingAndTerminatingNamespacesRefuseCreates) {
  auto missing = registry_->create(cm_, "nowhere", configMap("a"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, 404);
  EXPECT_EQ(missing.error().message, "namespaces \"nowhere\" not found");

  ASSERT_TRUE(registry_->create(ns_, "", Json{{"metadata", {{"name", "team"}}},
                                              {"spec", {{"finalizers", {"kubernetes"}}}}})
                  .ok());
  auto marked = registry_->remove(ns_, "", "team");
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ((*marked)["status"]["phase"], "Terminating");
  auto refused = registry_->create(cm_, "team", configMap("a"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 403);
}

TEST_F(RegistryTest, NamespaceGoesWhenItsFinalizersAreRemoved) {
  ASSERT_TRUE(registry_->create(ns_, "", Json{{"metadata", {{"name", "team"}}},
                                              {"spec", {{"finalizers", {"kubernetes"}}}}})
                  .ok());
  ASSERT_TRUE(registry_->remove(ns_, "", "team").ok());
  ASSERT_TRUE(registry_->get(ns_, "", "team").ok());
  auto finalized = registry_->guaranteedUpdate(ns_, "", "team", [](Json& obj) {
    obj["spec"]["finalizers"] = Json::array();
    return core::Status(core::Ok{});
  });
  ASSERT_TRUE(finalized.ok()) << finalized.error().message;
  auto gone = registry_->get(ns_, "", "team");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, 404);
  auto builtin = registry_->remove(ns_, "", "default");
  ASSERT_FALSE(builtin.ok());
  EXPECT_EQ(builtin.error().code, 403);
}

TEST_F(RegistryTest, StaleResourceVersionIsConflict) {
  auto created = registry_->create(cm_, "default", configMap("a"));
  ASSERT_TRUE(created.ok());
  Json first = *created;
  first["data"]["k"] = "v2";
  auto updated = registry_->update(cm_, "default", first);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_NE(api::resourceVersion(*updated), api::resourceVersion(*created));

  Json stale = *created;
  stale["data"]["k"] = "v3";
  auto conflict = registry_->update(cm_, "default", stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, 409);
  EXPECT_EQ(conflict.error().reason, "Conflict");
  EXPECT_EQ(conflict.error().message,
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; "
            "please apply your changes to the latest version and try again");
}

TEST_F(RegistryTest, UnchangedUpdateKeepsResourceVersion) {
  auto created = registry_->create(cm_, "default", configMap("a"));
  ASSERT_TRUE(created.ok());
  auto same = registry_->update(cm_, "default", *created);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(api::resourceVersion(*same), api::resourceVersion(*created));
}

TEST_F(RegistryTest, StatusOnlyChangesThroughTheStatusSubresource) {
  auto created = registry_->create(svc_, "default", service("web"));
  ASSERT_TRUE(created.ok());
  Json withStatus = *created;
  withStatus["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "192.0.2.1"}}}}}}};
  auto main = registry_->update(svc_, "default", withStatus);
  ASSERT_TRUE(main.ok());
  EXPECT_FALSE((*main).contains("status") && (*main)["status"].contains("loadBalancer"));

  withStatus["metadata"]["resourceVersion"] = api::resourceVersion(*main);
  withStatus["spec"]["ports"][0]["port"] = 8080;  // ignored by a status write
  auto status = registry_->update(svc_, "default", withStatus, {.subresource = "status"});
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ((*status)["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.1");
  EXPECT_EQ((*status)["spec"]["ports"][0]["port"], 80);
}

TEST_F(RegistryTest, GenerateNameAndGeneration) {
  Json obj = configMap("");
  obj["metadata"].erase("name");
  obj["metadata"]["generateName"] = "web-";
  auto created = registry_->create(cm_, "default", obj);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(api::name(*created).rfind("web-", 0), 0u);
  EXPECT_EQ(api::name(*created).size(), 9u);

  auto svc = registry_->create(svc_, "default", service("web"));
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ((*svc)["metadata"]["generation"], 1);
  Json changed = *svc;
  changed["spec"]["ports"][0]["port"] = 81;
  auto updated = registry_->update(svc_, "default", changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["metadata"]["generation"], 2);
}

TEST_F(RegistryTest, ListFiltersAndPages) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(registry_
                    ->create(cm_, "default",
                             configMap("cm" + std::to_string(i),
                                       {{"parity", i % 2 ? "odd" : "even"}}))
                    .ok());
  auto odd = registry_->list(cm_, "default", {.labelSelector = "parity=odd"});
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)["items"].size(), 5u);
  EXPECT_EQ((*odd)["kind"], "ConfigMapList");

  auto byName = registry_->list(cm_, "", {.fieldSelector = "metadata.name=cm3"});
  ASSERT_TRUE(byName.ok());
  ASSERT_EQ((*byName)["items"].size(), 1u);

  std::vector<std::string> names;
  client::ListOptions page{.limit = 3};
  for (int round = 0; round < 10; ++round) {
    auto result = registry_->list(cm_, "default", page);
    ASSERT_TRUE(result.ok()) << result.error().message;
    for (const auto& item : (*result)["items"]) names.push_back(api::name(item));
    if (!(*result)["metadata"].contains("continue")) break;
    page.continueToken = (*result)["metadata"]["continue"];
  }
  EXPECT_EQ(names.size(), 10u);

  auto bad = registry_->list(cm_, "default", {.labelSelector = "a in (b"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400);
}

TEST_F(RegistryTest, WatchFromRevisionWithSelectorTransitions) {
  auto created = registry_->create(cm_, "default", configMap("a", {{"tier", "web"}}));
  ASSERT_TRUE(created.ok());
  auto watcher = registry_->watch(
      cm_, "default",
      {.labelSelector = "tier=web", .resourceVersion = api::resourceVersion(*created)});
  ASSERT_TRUE(watcher.ok()) << watcher.error().message;

  Json moved = *created;
  moved["metadata"]["labels"]["tier"] = "db";
  ASSERT_TRUE(registry_->update(cm_, "default", moved).ok());
  ASSERT_TRUE(registry_->create(cm_, "default", configMap("b", {{"tier", "web"}})).ok());
  ASSERT_TRUE(registry_->remove(cm_, "default", "b").ok());

  std::vector<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < 50 && seen.size() < 3; ++i) {
    auto events = (*watcher)->next(100ms);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) seen.emplace_back(e.type, api::name(e.object));
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("DELETED"), std::string("a")));
  EXPECT_EQ(seen[1], std::make_pair(std::string("ADDED"), std::string("b")));
  EXPECT_EQ(seen[2], std::make_pair(std::string("DELETED"), std::string("b")));
}

TEST_F(RegistryTest, WatchWithoutRevisionStartsWithTheCurrentState) {
  ASSERT_TRUE(registry_->create(cm_, "default", configMap("a")).ok());
  auto watcher = registry_->watch(cm_, "default", {});
  ASSERT_TRUE(watcher.ok());
  auto events = (*watcher)->next(100ms);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "ADDED");
}

TEST_F(RegistryTest, ScheduledPodsAreDeletedGracefully) {
  Json pod = {{"metadata", {{"name", "p"}}},
              {"spec",
               {{"nodeName", "n1"}, {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  ASSERT_TRUE(registry_->create(pod_, "default", pod).ok());
  auto marked = registry_->remove(pod_, "default", "p");
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE((*marked)["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ((*marked)["metadata"]["deletionGracePeriodSeconds"], 30);
  ASSERT_TRUE(registry_->get(pod_, "default", "p").ok());
  ASSERT_TRUE(registry_->remove(pod_, "default", "p", {.gracePeriodSeconds = 0}).ok());
  EXPECT_FALSE(registry_->get(pod_, "default", "p").ok());

  pod["metadata"]["name"] = "unscheduled";
  pod["spec"].erase("nodeName");
  ASSERT_TRUE(registry_->create(pod_, "default", pod).ok());
  ASSERT_TRUE(registry_->remove(pod_, "default", "unscheduled").ok());
  EXPECT_FALSE(registry_->get(pod_, "default", "unscheduled").ok());
}

TEST_F(RegistryTest, DeletingAnOwnerDeletesItsDependents) {
  Json rs = {{"metadata", {{"name", "web-1"}}},
             {"spec",
              {{"replicas", 1},
               {"selector", {{"matchLabels", {{"app", "web"}}}}},
               {"template",
                {{"metadata", {{"labels", {{"app", "web"}}}}},
                 {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}}}}}};
  auto owner = registry_->create(rs_, "default", rs);
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  Json pod = {{"metadata",
               {{"name", "web-1-abcde"},
                {"labels", {{"app", "web"}}},
                {"ownerReferences",
                 {{{"apiVersion", "apps/v1"},
                   {"kind", "ReplicaSet"},
                   {"name", "web-1"},
                   {"uid", api::uid(*owner)},
                   {"controller", true}}}}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "nginx"}}}}}}};
  ASSERT_TRUE(registry_->create(pod_, "default", pod).ok());
  ASSERT_TRUE(registry_->remove(rs_, "default", "web-1").ok());
  EXPECT_FALSE(registry_->get(pod_, "default", "web-1-abcde").ok());
}

}  // namespace
}  // namespace podnet::registry

namespace podnet::registry {
namespace {

TEST_F(RegistryTest, BindingSetsNodeNameOnce) {
  Json pod = {{"metadata", {{"name", "p"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  ASSERT_TRUE(registry_->create(pod_, "default", pod).ok());
  Json binding = {{"metadata", {{"name", "p"}}}, {"spec", {{"nodeName", "n1"}}}};
  auto bound = registry_->update(pod_, "default", binding, {.subresource = "binding"});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  EXPECT_EQ((*bound)["spec"]["nodeName"], "n1");
  EXPECT_EQ((*bound)["spec"]["containers"][0]["image"], "busybox");

  binding["spec"]["nodeName"] = "n2";
  auto again = registry_->update(pod_, "default", binding, {.subresource = "binding"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, 409);
  EXPECT_NE(again.error().message.find("already assigned to node \"n1\""), std::string::npos);

  // The main resource cannot move a pod (its spec is immutable).
  Json moved = *bound;
  moved["spec"]["nodeName"] = "n2";
  EXPECT_FALSE(registry_->update(pod_, "default", moved).ok());
}

}  // namespace
}  // namespace podnet::registry

namespace podnet::registry {
namespace {

// The PersistentVolume strategies: a new volume is Pending since its
// creation, and status.lastPhaseTransitionTime follows status.phase.
TEST_F(RegistryTest, PersistentVolumePhaseTransitionTime) {
  const auto& pvs = api::resource("PersistentVolume");
  Json pv = {{"apiVersion", "v1"},
             {"kind", "PersistentVolume"},
             {"metadata", {{"name", "pv1"}}},
             {"spec",
              {{"capacity", {{"storage", "1Gi"}}},
               {"accessModes", {"ReadWriteOnce"}},
               {"hostPath", {{"path", "/data"}}}}},
             {"status", {{"phase", "Bound"}}}};  // not the creator's to set
  auto created = registry_->create(pvs, "", pv);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)["status"]["phase"], "Pending");
  EXPECT_EQ((*created)["status"]["lastPhaseTransitionTime"],
            (*created)["metadata"]["creationTimestamp"]);

  // Same phase, no time: the old one stays.
  Json same = *created;
  same["status"] = {{"phase", "Pending"}, {"message", "waiting"}};
  auto kept = registry_->update(pvs, "", same, {.subresource = "status"});
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ((*kept)["status"]["lastPhaseTransitionTime"],
            (*created)["status"]["lastPhaseTransitionTime"]);

  // A new phase with the old time: stamped now.
  Json available = *kept;
  available["status"]["phase"] = "Available";
  auto moved = registry_->update(pvs, "", available, {.subresource = "status"});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ((*moved)["status"]["phase"], "Available");
  EXPECT_TRUE((*moved)["status"]["lastPhaseTransitionTime"].is_string());
  EXPECT_GE((*moved)["status"]["lastPhaseTransitionTime"].get<std::string>(),
            (*created)["status"]["lastPhaseTransitionTime"].get<std::string>());

  // A time the writer sets is kept.
  Json released = *moved;
  released["status"] = {{"phase", "Released"}, {"lastPhaseTransitionTime", "2030-01-01T00:00:00Z"}};
  auto set = registry_->update(pvs, "", released, {.subresource = "status"});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ((*set)["status"]["lastPhaseTransitionTime"], "2030-01-01T00:00:00Z");
}

// A claim reads back Pending, and its spec may change only as upstream allows.
TEST_F(RegistryTest, PersistentVolumeClaimIsPendingAndItsSpecImmutable) {
  const auto& pvcs = api::resource("PersistentVolumeClaim");
  Json pvc = {
      {"metadata", {{"name", "data"}}},
      {"spec",
       {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  auto created = registry_->create(pvcs, "default", pvc);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ((*created)["status"], Json({{"phase", "Pending"}}));
  EXPECT_EQ((*created)["spec"]["volumeMode"], "Filesystem");
  Json changed = *created;
  changed["spec"]["accessModes"] = {"ReadWriteMany"};
  auto refused = registry_->update(pvcs, "default", changed);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 422);
  EXPECT_NE(refused.error().message.find("spec is immutable after creation"), std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace podnet::registry
