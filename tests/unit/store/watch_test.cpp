// Watches of every Store backend (the first tests, on SQLite and etcd), then
// what only the SQLite store does: its event cache, compaction by history
// length, slow watchers and closing.
#include <gtest/gtest.h>

#include <thread>

#include "backend_fixture.h"
#include "store/store.h"

namespace podnet::store {
namespace {

using namespace std::chrono_literals;
using testing::collect;
using testing::openOrDie;
using testing::TempDir;

std::vector<int64_t> revisionsOf(const std::vector<Event>& events) {
  std::vector<int64_t> revisions;
  for (const auto& event : events) revisions.push_back(event.kv.modRevision);
  return revisions;
}

std::vector<int64_t> range(int64_t first, int64_t last) {
  std::vector<int64_t> revisions;
  for (int64_t r = first; r <= last; ++r) revisions.push_back(r);
  return revisions;
}

using WatchTest = testing::BackendTest;
INSTANTIATE_TEST_SUITE_P(Backends, WatchTest, testing::kBackends, testing::backendName);

TEST_P(WatchTest, CatchesUpThenDeliversLive) {
  auto& store = store_;
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store->create("/w/" + std::to_string(i), "v").ok());

  auto watch = store->watch("/w/", rev(2));
  ASSERT_TRUE(watch.ok());
  auto caughtUp = collect(**watch, 3);
  EXPECT_EQ(revisionsOf(caughtUp), range(rev(3), rev(5)));
  EXPECT_TRUE(caughtUp[0].created);
  EXPECT_EQ(caughtUp[0].type, Event::Type::Put);
  EXPECT_EQ(caughtUp[0].kv.key, "/w/3");

  // Nothing more: next() returns empty after its timeout.
  auto quiet = (*watch)->next(20ms);
  ASSERT_TRUE(quiet.ok());
  EXPECT_TRUE(quiet->empty());

  std::thread writer([&] {
    std::this_thread::sleep_for(30ms);
    ASSERT_TRUE(store->update("/w/1", "v2", 0).ok());
  });
  auto live = (*watch)->next(5s);  // blocks until the write arrives
  writer.join();
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].kv.modRevision, rev(6));
  EXPECT_EQ((*live)[0].kv.value, "v2");
  EXPECT_EQ((*live)[0].kv.createRevision, rev(1));
  EXPECT_FALSE((*live)[0].created);
}

TEST_P(WatchTest, WatchFromCurrentRevisionSeesOnlyNewEvents) {
  auto& store = store_;
  ASSERT_TRUE(store->create("/a", "1").ok());
  auto watch = store->watch("", store->revision());
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store->create("/b", "2").ok());
  auto events = collect(**watch, 1);
  EXPECT_EQ(revisionsOf(events), std::vector<int64_t>{rev(2)});
  // A watch may also start in the future: it sees revisions after that.
  auto future = store->watch("", rev(3));
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(store->create("/c", "3").ok());
  ASSERT_TRUE(store->create("/d", "4").ok());
  EXPECT_EQ(revisionsOf(collect(**future, 1)), std::vector<int64_t>{rev(4)});
}

TEST_P(WatchTest, OnlyKeysUnderThePrefix) {
  auto& store = store_;
  auto watch = store->watch("/registry/pods/", rev(0));
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store->create("/registry/pods/default/a", "a").ok());
  ASSERT_TRUE(store->create("/registry/podsecurity/x", "no").ok());
  ASSERT_TRUE(store->create("/registry/services/specs/default/s", "no").ok());
  ASSERT_TRUE(store->create("/registry/pods/kube-system/b", "b").ok());
  auto events = collect(**watch, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "/registry/pods/default/a");
  EXPECT_EQ(events[1].kv.key, "/registry/pods/kube-system/b");
  auto extra = (*watch)->next(20ms);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->empty());

  // Catch-up filters the same way.
  auto replay = store->watch("/registry/pods/", rev(0));
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(revisionsOf(collect(**replay, 2)), (std::vector<int64_t>{rev(1), rev(4)}));
}

TEST_P(WatchTest, DeletesCarryTheLastValue) {
  auto& store = store_;
  auto watch = store->watch("/d/", rev(0));
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(store->create("/d/x", "first").ok());
  ASSERT_TRUE(store->update("/d/x", "last", 0).ok());
  ASSERT_TRUE(store->remove("/d/x", 0).ok());

  for (int pass = 0; pass < 2; ++pass) {  // live, then replayed from the start
    auto events = collect(**watch, 3);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[2].type, Event::Type::Delete);
    EXPECT_EQ(events[2].kv.key, "/d/x");
    EXPECT_EQ(events[2].kv.value, "last");
    EXPECT_EQ(events[2].kv.modRevision, rev(3));
    EXPECT_EQ(events[2].kv.createRevision, rev(1));
    EXPECT_FALSE(events[2].created);
    watch = store->watch("/d/", rev(0));
    ASSERT_TRUE(watch.ok());
  }
}

// With a tiny event cache the start of a watch has to come from the table.
TEST(SqliteWatchTest, CatchesUpFromDiskBeyondTheEventCache) {
  TempDir dir;
  SqliteOptions options{.path = dir.file("db.sqlite"), .eventCacheSize = 10};
  auto store = openOrDie(options);
  for (int i = 1; i <= 3000; ++i) {
    std::string key = (i % 2 ? "/odd/" : "/even/") + std::to_string(i);
    ASSERT_TRUE(store->create(key, "v").ok());
  }
  auto all = store->watch("", 5);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(revisionsOf(collect(**all, 2995)), range(6, 3000));

  auto odd = store->watch("/odd/", 0);
  ASSERT_TRUE(odd.ok());
  auto events = collect(**odd, 1500);
  ASSERT_EQ(events.size(), 1500u);
  for (size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].kv.modRevision, static_cast<int64_t>(2 * i + 1));

  // After a restart the cache is empty: everything comes from disk, then live.
  store.reset();
  store = openOrDie(options);
  auto replay = store->watch("/even/", 2990);
  ASSERT_TRUE(replay.ok());
  ASSERT_TRUE(store->create("/even/new", "v").ok());
  EXPECT_EQ(revisionsOf(collect(**replay, 6)),
            (std::vector<int64_t>{2992, 2994, 2996, 2998, 3000, 3001}));
}

// Cached events past their age are dropped (which a test cannot see through
// the Store): watches from before them read the table and still see every
// event once, in order, and a watch from the kept ones still works.
TEST(SqliteWatchTest, CatchesUpFromDiskOnceCachedEventsAgeOut) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"),
                          .eventCacheMaxAge = std::chrono::milliseconds(1),
                          .eventCacheKeptWhenOld = 5});
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(store->create("/a/" + std::to_string(i), "v").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(store->create("/a/51", "v").ok());  // trims all but the newest 5
  auto fromStart = store->watch("/a/", 0);
  ASSERT_TRUE(fromStart.ok());
  EXPECT_EQ(revisionsOf(collect(**fromStart, 51)), range(1, 51));
  auto fromCache = store->watch("/a/", 48);
  ASSERT_TRUE(fromCache.ok());
  ASSERT_TRUE(store->update("/a/1", "w", 0).ok());
  EXPECT_EQ(revisionsOf(collect(**fromCache, 4)), (std::vector<int64_t>{49, 50, 51, 52}));
}

TEST(SqliteWatchTest, CompactedRevisionsAreExpired) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 10});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store->create("/c/" + std::to_string(i), "v").ok());
  const int64_t compactedRevision = store->compactedRevision();
  EXPECT_GE(compactedRevision, 89);
  EXPECT_LE(compactedRevision, 90);

  auto tooOld = store->watch("/c/", 1);
  ASSERT_FALSE(tooOld.ok());
  EXPECT_EQ(tooOld.error().code, 410);
  EXPECT_EQ(tooOld.error().reason, "Expired");
  auto oldList = store->list("/c/", "", 0, 1);
  ASSERT_FALSE(oldList.ok());
  EXPECT_EQ(oldList.error().code, 410);
  EXPECT_EQ(oldList.error().reason, "Expired");

  // The compacted revision itself is still reachable.
  auto watch = store->watch("/c/", compactedRevision);
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(revisionsOf(collect(**watch, 100 - compactedRevision)),
            range(compactedRevision + 1, 100));
  auto listed = store->list("/c/", "", 0, compactedRevision);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->items.size(), static_cast<size_t>(compactedRevision));

  // Compaction keeps every live key, also across a reopen.
  store.reset();
  store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 10});
  EXPECT_EQ(store->compactedRevision(), compactedRevision);
  auto current = store->list("/c/", "", 0, 0);
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->items.size(), 100u);
}

TEST(SqliteWatchTest, SlowWatcherIsDroppedWith410) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"), .maxWatchBacklog = 20});
  auto slow = store->watch("", 0);
  ASSERT_TRUE(slow.ok());
  auto fast = store->watch("", 0);
  ASSERT_TRUE(fast.ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store->create("/k" + std::to_string(i), "v").ok());
    if (i % 10 == 9) {
      ASSERT_EQ(collect(**fast, 10).size(), 10u);
    }
  }
  auto dropped = (*slow)->next(10ms);
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.error().code, 410);
  // And stays over.
  EXPECT_FALSE((*slow)->next(10ms).ok());
  auto fine = (*fast)->next(10ms);
  EXPECT_TRUE(fine.ok());
}

TEST(SqliteWatchTest, WatchesEndWhenTheStoreCloses) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite")});
  auto watch = store->watch("", 0);
  ASSERT_TRUE(watch.ok());
  auto discarded = store->watch("", 0);  // destroyed first: unregisters
  ASSERT_TRUE(discarded.ok());
  discarded.value().reset();
  ASSERT_TRUE(store->create("/a", "v").ok());

  std::thread closer([&] {
    std::this_thread::sleep_for(30ms);
    store.reset();
  });
  auto first = (*watch)->next(1s);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 1u);
  auto ended = (*watch)->next(5s);
  closer.join();
  EXPECT_FALSE(ended.ok());
}

// Writers on several threads; one watcher sees every revision once, in order.
TEST(SqliteWatchTest, ConcurrentWritersAreSeenExactlyOnceInOrder) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 500});
  constexpr int kThreads = 4;
  constexpr int kKeysPerThread = 100;
  constexpr int kUpdatesPerKey = 4;
  constexpr int64_t kTotal = kThreads * kKeysPerThread * (1 + kUpdatesPerKey + 1);

  auto watch = store->watch("/conc/", 0);
  ASSERT_TRUE(watch.ok());
  std::vector<Event> seen;
  std::thread watcher([&] { seen = collect(**watch, kTotal, 60s); });

  std::atomic<int> conflicts{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int k = 0; k < kKeysPerThread; ++k) {
        std::string key = "/conc/" + std::to_string(k) + "/" + std::to_string(t);
        auto created = store->create(key, "0");
        ASSERT_TRUE(created.ok());
        int64_t modRevision = created->modRevision;
        for (int u = 1; u <= kUpdatesPerKey; ++u) {
          auto updated = store->update(key, std::to_string(u), modRevision);
          ASSERT_TRUE(updated.ok());
          modRevision = updated->modRevision;
        }
        auto stale = store->update(key, "stale", created->modRevision);
        if (!stale.ok() && stale.error().reason == "Conflict") conflicts++;
        ASSERT_TRUE(store->remove(key, modRevision).ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  watcher.join();

  EXPECT_EQ(conflicts.load(), kThreads * kKeysPerThread);
  EXPECT_EQ(store->revision(), kTotal);
  ASSERT_EQ(static_cast<int64_t>(seen.size()), kTotal);
  EXPECT_EQ(revisionsOf(seen), range(1, kTotal));
  // Per key the events tell the key's story in order.
  std::map<std::string, int> versions;
  for (const auto& event : seen) {
    int& version = versions[event.kv.key];
    if (event.type == Event::Type::Delete) {
      EXPECT_EQ(version, kUpdatesPerKey + 1);
    } else {
      EXPECT_EQ(event.created, version == 0);
      EXPECT_EQ(event.kv.value, std::to_string(version));
    }
    ++version;
  }
}

}  // namespace
}  // namespace podnet::store
