// The informer over a scripted in-memory Client: initial list, watch events,
// and a relist after 410 Expired that reports what changed meanwhile.
#include "client/informer.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <set>

namespace podnet::client {
namespace {

using namespace std::chrono_literals;

// Objects by name plus a queue of watch results the test feeds.
class FakeClient : public Client {
 public:
  struct Feed {
    std::mutex mutex;
    std::deque<core::Result<std::vector<WatchEvent>>> pending;
  };

  class FakeWatcher : public Watcher {
   public:
    explicit FakeWatcher(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {}
    core::Result<std::vector<WatchEvent>> next(std::chrono::milliseconds timeout) override {
      {
        std::lock_guard lock(feed_->mutex);
        if (!feed_->pending.empty()) {
          auto front = std::move(feed_->pending.front());
          feed_->pending.pop_front();
          return front;
        }
      }
      std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(5)));
      return std::vector<WatchEvent>{};
    }

   private:
    std::shared_ptr<Feed> feed_;
  };

  core::Result<Json> create(const ResourceInfo&, std::string_view, Json,
                            const WriteOptions&) override {
    return core::internal("unused");
  }
  core::Result<Json> get(const ResourceInfo&, std::string_view, std::string_view) override {
    return core::internal("unused");
  }
  core::Result<Json> update(const ResourceInfo&, std::string_view, Json,
                            const WriteOptions&) override {
    return core::internal("unused");
  }
  core::Result<Json> remove(const ResourceInfo&, std::string_view, std::string_view,
                            const DeleteOptions&) override {
    return core::internal("unused");
  }
  core::Result<Json> list(const ResourceInfo&, std::string_view, const ListOptions&) override {
    std::lock_guard lock(mutex_);
    ++lists;
    Json items = Json::array();
    for (const auto& [name, obj] : objects) items.push_back(obj);
    return Json{{"kind", "PodList"},
                {"metadata", {{"resourceVersion", std::to_string(revision)}}},
                {"items", items}};
  }
  core::Result<std::unique_ptr<Watcher>> watch(const ResourceInfo&, std::string_view,
                                               const ListOptions& options) override {
    std::lock_guard lock(mutex_);
    watchedFrom.push_back(options.resourceVersion);
    return std::unique_ptr<Watcher>(new FakeWatcher(feed));
  }

  void put(const std::string& name, int rv) {
    std::lock_guard lock(mutex_);
    objects[name] = pod(name, rv);
    revision = std::max(revision, rv);
  }
  void erase(const std::string& name) {
    std::lock_guard lock(mutex_);
    objects.erase(name);
  }
  void send(core::Result<std::vector<WatchEvent>> events) {
    std::lock_guard lock(feed->mutex);
    feed->pending.push_back(std::move(events));
  }
  static Json pod(const std::string& name, int rv) {
    return {{"metadata",
             {{"name", name}, {"namespace", "default"}, {"resourceVersion", std::to_string(rv)}}}};
  }

  std::mutex mutex_;
  std::map<std::string, Json> objects;
  int revision = 0;
  int lists = 0;
  std::vector<std::string> watchedFrom;
  std::shared_ptr<Feed> feed = std::make_shared<Feed>();
};

const ResourceInfo& pods() {
  static ResourceInfo info = [] {
    ResourceInfo r;
    r.version = "v1";
    r.kind = "Pod";
    r.plural = "pods";
    r.namespaced = true;
    return r;
  }();
  return info;
}

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> log;
  EventHandlers handlers() {
    return {[this](const Json& o) { add("add " + o["metadata"]["name"].get<std::string>()); },
            [this](const Json&, const Json& o) {
              add("update " + o["metadata"]["name"].get<std::string>());
            },
            [this](const Json& o) { add("delete " + o["metadata"]["name"].get<std::string>()); }};
  }
  void add(std::string entry) {
    std::lock_guard lock(mutex);
    log.push_back(std::move(entry));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return log;
  }
};

TEST(Informer, ListsWatchesAndRelistsAfterExpiry) {
  FakeClient client;
  client.put("a", 1);
  client.put("b", 2);
  Informer informer(client, pods(), {.pollInterval = 10ms});
  Recorder recorder;
  informer.addHandlers(recorder.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(2s));
  EXPECT_EQ(informer.size(), 2u);
  EXPECT_TRUE(informer.get("default", "a"));
  EXPECT_EQ(informer.list("default").size(), 2u);
  EXPECT_TRUE(informer.list("other").empty());

  client.send(std::vector<WatchEvent>{{"ADDED", FakeClient::pod("c", 3)},
                                      {"MODIFIED", FakeClient::pod("a", 4)},
                                      {"DELETED", FakeClient::pod("b", 5)}});
  ASSERT_TRUE(informer.waitForRevision(5, 2s));
  EXPECT_FALSE(informer.get("default", "b"));
  EXPECT_EQ(informer.get("default", "a")->at("metadata").at("resourceVersion"), "4");

  // The watch expires; meanwhile c went away and d came: a relist reports it.
  client.erase("b");
  client.put("a", 4);
  client.put("c", 3);
  client.erase("c");
  client.put("d", 7);
  client.send(core::gone("too old resource version"));
  ASSERT_TRUE(informer.waitUntil([&] { return informer.get("default", "d") != nullptr; }, 2s));
  EXPECT_FALSE(informer.get("default", "c"));
  informer.stop();

  std::vector<std::string> expected = {"add a",    "add b", "add c",   "update a",
                                       "delete b", "add d", "delete c"};
  EXPECT_EQ(recorder.snapshot(), expected);
  EXPECT_GE(client.lists, 2);
  EXPECT_EQ(client.watchedFrom.front(), "2");
}

TEST(Informer, LateHandlersGetTheCacheReplayed) {
  FakeClient client;
  client.put("a", 1);
  SharedInformers informers(client);
  Informer& informer = informers.forResource(pods());
  EXPECT_EQ(&informer, &informers.forResource(pods()));
  informers.start();
  ASSERT_TRUE(informers.waitForSync(2s));
  Recorder recorder;
  informer.addHandlers(recorder.handlers());
  EXPECT_EQ(recorder.snapshot(), std::vector<std::string>{"add a"});
}

TEST(Informer, KeysAndRevisions) {
  EXPECT_EQ(objectKey("ns", "n"), "ns/n");
  EXPECT_EQ(objectKey("", "n"), "n");
  EXPECT_EQ(parseResourceVersion("42"), 42);
  EXPECT_EQ(parseResourceVersion("x"), 0);
}

Json labelled(const std::string& name, int rv, const std::string& app) {
  Json pod = FakeClient::pod(name, rv);
  pod["metadata"]["labels"] = {{"app", app}};
  return pod;
}

std::vector<std::string> namesOf(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> names;
  for (const auto& o : objects) names.push_back((*o)["metadata"]["name"].get<std::string>());
  return names;
}

// An index follows adds, label changes, deletes and relists, encoded or not.
TEST(Informer, IndexesFollowEveryChange) {
  for (bool encoded : {false, true}) {
    SCOPED_TRACE(encoded ? "encoded" : "parsed");
    FakeClient client;
    client.objects["a"] = labelled("a", 1, "web");
    client.objects["b"] = labelled("b", 2, "db");
    client.revision = 2;
    Informer informer(client, pods(), {.pollInterval = 10ms, .encodedCache = encoded});
    informer.addIndex("app", [](const Json& pod) {
      std::vector<std::string> values;
      if (pod["metadata"].contains("labels"))
        values.push_back(pod["metadata"]["labels"].value("app", ""));
      return values;
    });
    informer.start();
    ASSERT_TRUE(informer.waitForSync(2s));
    EXPECT_EQ(namesOf(informer.byIndex("app", "web")), std::vector<std::string>{"a"});
    EXPECT_TRUE(informer.byIndex("app", "cache").empty());
    EXPECT_TRUE(informer.byIndex("no-such-index", "web").empty());

    client.send(std::vector<WatchEvent>{{"ADDED", labelled("c", 3, "web")},
                                        {"MODIFIED", labelled("a", 4, "db")},
                                        {"DELETED", labelled("b", 5, "db")}});
    ASSERT_TRUE(informer.waitForRevision(5, 2s));
    EXPECT_EQ(namesOf(informer.byIndex("app", "web")), std::vector<std::string>{"c"});
    EXPECT_EQ(namesOf(informer.byIndex("app", "db")), std::vector<std::string>{"a"});
    EXPECT_EQ(*informer.byIndex("app", "db")[0], labelled("a", 4, "db"));

    // A relist rebuilds it from what the list returns.
    client.objects.clear();
    client.objects["d"] = labelled("d", 6, "web");
    client.revision = 6;
    client.send(core::gone("too old resource version"));
    ASSERT_TRUE(informer.waitUntil([&] { return informer.get("default", "d") != nullptr; }, 2s));
    EXPECT_EQ(namesOf(informer.byIndex("app", "web")), std::vector<std::string>{"d"});
    EXPECT_TRUE(informer.byIndex("app", "db").empty());
    informer.stop();
  }
}

}  // namespace
}  // namespace podnet::client

namespace podnet::client {
namespace {

// A transform shapes what is cached and handed out, from the list and from
// watch events alike; the first creator of a shared informer sets it.
TEST(Informer, TransformsEveryObjectBeforeCachingIt) {
  FakeClient client;
  client.put("a", 1);
  auto mark = [](Json& object) {
    object["metadata"]["labels"]["seen"] = "yes";
    object.erase("spec");
  };
  SharedInformers informers(client, {.pollInterval = 10ms});
  Informer& informer = informers.forResource(pods(), mark);
  EXPECT_EQ(&informer, &informers.forResource(pods()));  // shared, transform kept
  std::vector<std::string> seen;
  std::mutex mutex;
  informer.addHandlers({[&](const Json& o) {
                          std::lock_guard lock(mutex);
                          seen.push_back(o["metadata"]["labels"].value("seen", "no"));
                        },
                        nullptr, nullptr});
  informers.start();
  ASSERT_TRUE(informers.waitForSync(2s));
  client.send(std::vector<WatchEvent>{{"ADDED", FakeClient::pod("b", 2)}});
  ASSERT_TRUE(informer.waitForRevision(2, 2s));
  for (const char* name : {"a", "b"}) {
    auto cached = informer.get("default", name);
    ASSERT_TRUE(cached) << name;
    EXPECT_EQ((*cached)["metadata"]["labels"]["seen"], "yes");
    EXPECT_FALSE(cached->contains("spec"));
  }
  informers.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen, (std::vector<std::string>{"yes", "yes"}));
}

}  // namespace
}  // namespace podnet::client

namespace podnet::client {
namespace {

// An encoded cache answers get and list with the same objects, and
// handlers (updates, deletes, a relist's difference) see them whole.
TEST(Informer, AnEncodedCacheServesTheSameObjects) {
  FakeClient client;
  client.put("a", 1);
  client.put("b", 2);
  Informer informer(client, pods(), {.pollInterval = 10ms, .encodedCache = true});
  Recorder recorder;
  informer.addHandlers(recorder.handlers());
  std::vector<std::string> deletedVersions;
  std::mutex mutex;
  informer.addHandlers({nullptr, nullptr, [&](const Json& o) {
                          std::lock_guard lock(mutex);
                          deletedVersions.push_back(o["metadata"].value("resourceVersion", ""));
                        }});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(2s));
  ASSERT_TRUE(informer.get("default", "a"));
  EXPECT_EQ(*informer.get("default", "a"), FakeClient::pod("a", 1));
  EXPECT_EQ(informer.list().size(), 2u);
  client.send(std::vector<WatchEvent>{{"MODIFIED", FakeClient::pod("a", 3)},
                                      {"DELETED", FakeClient::pod("b", 4)}});
  ASSERT_TRUE(informer.waitForRevision(4, 2s));
  EXPECT_EQ((*informer.get("default", "a"))["metadata"]["resourceVersion"], "3");
  EXPECT_FALSE(informer.get("default", "b"));
  // A relist after expiry: a changed, c new, a's old version compared.
  client.erase("b");
  client.put("a", 5);
  client.put("c", 6);
  client.send(core::gone("too old resource version"));
  ASSERT_TRUE(informer.waitUntil([&] { return informer.get("default", "c") != nullptr; }, 2s));
  informer.stop();
  EXPECT_EQ(recorder.snapshot(), (std::vector<std::string>{"add a", "add b", "update a", "delete b",
                                                           "update a", "add c"}));
  std::lock_guard lock(mutex);
  EXPECT_EQ(deletedVersions, std::vector<std::string>{"2"});
}

}  // namespace
}  // namespace podnet::client
