// Key-value semantics of every Store backend (SQLite, and etcd when
// /usr/bin/etcd is installed): revisions, CAS errors, lists. A fresh etcd
// is at revision 1, not 0, so revisions count from the store's first one.
#include "store/store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "backend_fixture.h"

namespace podnet::store {
namespace {

using testing::openOrDie;
using testing::TempDir;

using StoreTest = testing::BackendTest;

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, testing::kBackends, testing::backendName);

void expectError(const core::Error& error, int code, const std::string& reason) {
  EXPECT_EQ(error.code, code) << error.message;
  EXPECT_EQ(error.reason, reason) << error.message;
}

TEST_P(StoreTest, EmptyStoreIsAtItsFirstRevision) {
  EXPECT_EQ(store_->revision(), rev(0));
  if (GetParam() == testing::Backend::sqlite) EXPECT_EQ(store_->revision(), 0);
  EXPECT_EQ(store_->compactedRevision(), 0);
  auto missing = store_->get("/a");
  ASSERT_FALSE(missing.ok());
  expectError(missing.error(), 404, "NotFound");
  auto listed = store_->list("", "", 0, 0);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->items.empty());
  EXPECT_EQ(listed->revision, rev(0));
}

TEST_P(StoreTest, CreateAssignsIncreasingRevisions) {
  auto first = store_->create("/a", "one");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->key, "/a");
  EXPECT_EQ(first->value, "one");
  EXPECT_EQ(first->createRevision, rev(1));
  EXPECT_EQ(first->modRevision, rev(1));
  auto second = store_->create("/b", "two");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->modRevision, rev(2));
  EXPECT_EQ(store_->revision(), rev(2));

  auto got = store_->get("/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, "one");
  EXPECT_EQ(got->modRevision, rev(1));
}

TEST_P(StoreTest, CreateOfExistingKeyIsAlreadyExists) {
  ASSERT_TRUE(store_->create("/a", "one").ok());
  auto again = store_->create("/a", "two");
  ASSERT_FALSE(again.ok());
  expectError(again.error(), 409, "AlreadyExists");
  EXPECT_EQ(store_->revision(), rev(1));  // a failed write takes no revision
  EXPECT_EQ(store_->get("/a")->value, "one");
}

TEST_P(StoreTest, UpdateComparesModRevision) {
  auto created = store_->create("/a", "v1");
  ASSERT_TRUE(created.ok());

  auto stale = store_->update("/a", "v2", created->modRevision + 7);
  ASSERT_FALSE(stale.ok());
  expectError(stale.error(), 409, "Conflict");

  auto guarded = store_->update("/a", "v2", created->modRevision);
  ASSERT_TRUE(guarded.ok());
  EXPECT_EQ(guarded->modRevision, rev(2));
  EXPECT_EQ(guarded->createRevision, rev(1));

  // The first writer's revision is now stale too.
  auto lost = store_->update("/a", "v3", created->modRevision);
  ASSERT_FALSE(lost.ok());
  expectError(lost.error(), 409, "Conflict");

  auto unconditional = store_->update("/a", "v3", 0);
  ASSERT_TRUE(unconditional.ok());
  EXPECT_EQ(unconditional->modRevision, rev(3));
  EXPECT_EQ(unconditional->createRevision, rev(1));
  EXPECT_EQ(store_->get("/a")->value, "v3");
}

TEST_P(StoreTest, UpdateOrRemoveOfMissingKeyIsNotFound) {
  auto update = store_->update("/nope", "x", 0);
  ASSERT_FALSE(update.ok());
  expectError(update.error(), 404, "NotFound");
  auto remove = store_->remove("/nope", 0);
  ASSERT_FALSE(remove.ok());
  expectError(remove.error(), 404, "NotFound");
  // NotFound wins over a revision mismatch.
  auto guarded = store_->update("/nope", "x", rev(5));
  ASSERT_FALSE(guarded.ok());
  expectError(guarded.error(), 404, "NotFound");
}

TEST_P(StoreTest, RemoveReturnsLastValueAtDeleteRevision) {
  ASSERT_TRUE(store_->create("/a", "v1").ok());
  ASSERT_TRUE(store_->update("/a", "v2", 0).ok());

  auto stale = store_->remove("/a", rev(1));
  ASSERT_FALSE(stale.ok());
  expectError(stale.error(), 409, "Conflict");

  auto removed = store_->remove("/a", rev(2));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed->value, "v2");
  EXPECT_EQ(removed->modRevision, rev(3));
  EXPECT_EQ(removed->createRevision, rev(1));
  EXPECT_EQ(store_->revision(), rev(3));
  EXPECT_FALSE(store_->get("/a").ok());

  // Re-creating starts a new lifetime.
  auto again = store_->create("/a", "v3");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->createRevision, rev(4));
  EXPECT_EQ(again->modRevision, rev(4));
}

TEST_P(StoreTest, ValuesAreBinarySafe) {
  std::string value("\0\x01\xff binary\n", 11);
  ASSERT_TRUE(store_->create("/bin", value).ok());
  ASSERT_TRUE(store_->create("/empty", "").ok());
  EXPECT_EQ(store_->get("/bin")->value, value);
  EXPECT_EQ(store_->get("/empty")->value, "");
  // And survive a reopen (read back from the table, or etcd).
  reopen();
  EXPECT_EQ(store_->get("/bin")->value, value);
  EXPECT_EQ(store_->get("/empty")->value, "");
}

TEST_P(StoreTest, ListContainingFindsCurrentValuesHoldingANeedle) {
  ASSERT_TRUE(store_->create("/s/a", R"({"owner":"uid-1"})").ok());
  ASSERT_TRUE(store_->create("/s/b", R"({"owner":"uid-2"})").ok());
  ASSERT_TRUE(store_->create("/s/c", R"({"owner":"uid-1","n":1})").ok());
  ASSERT_TRUE(store_->create("/t/d", R"({"owner":"uid-1"})").ok());
  ASSERT_TRUE(store_->update("/s/b", R"({"owner":"uid-1"})", 0).ok());
  ASSERT_TRUE(store_->remove("/s/c", 0).ok());
  auto found = store_->listContaining("/s/", "uid-1");
  ASSERT_TRUE(found.ok());
  std::vector<std::string> keys;
  for (const auto& kv : *found) keys.push_back(kv.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"/s/a", "/s/b"}));
  EXPECT_EQ((*found)[1].value, R"({"owner":"uid-1"})");
  EXPECT_TRUE(store_->listContaining("/s/", "uid-3")->empty());
}

TEST_P(StoreTest, ListPagesInKeyOrderWithinPrefix) {
  for (int i = 24; i >= 0; --i) {
    char name[32];
    snprintf(name, sizeof name, "/pods/p%02d", i);
    ASSERT_TRUE(store_->create(name, std::to_string(i)).ok());
  }
  ASSERT_TRUE(store_->create("/pod", "outside").ok());
  ASSERT_TRUE(store_->create("/podsX", "outside").ok());
  ASSERT_TRUE(store_->create("/services/s", "outside").ok());

  std::vector<std::string> seen;
  std::string startAfter;
  int pages = 0;
  for (;;) {
    auto page = store_->list("/pods/", startAfter, 10, 0);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->revision, store_->revision());
    ++pages;
    for (const auto& kv : page->items) seen.push_back(kv.key);
    if (!page->more) break;
    ASSERT_EQ(page->items.size(), 10u);
    startAfter = page->items.back().key;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) {
    char name[32];
    snprintf(name, sizeof name, "/pods/p%02d", i);
    EXPECT_EQ(seen[i], name);
  }

  auto all = store_->list("/pods/", "", 0, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 25u);
  EXPECT_FALSE(all->more);

  // A limit equal to the remaining count leaves nothing more.
  auto exact = store_->list("/pods/", "/pods/p19", 5, 0);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->items.size(), 5u);
  EXPECT_FALSE(exact->more);

  auto everything = store_->list("", "", 0, 0);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->items.size(), 28u);
}

TEST_P(StoreTest, ListAtOldRevisionShowsThePast) {
  ASSERT_TRUE(store_->create("/r/a", "a1").ok());
  ASSERT_TRUE(store_->create("/r/b", "b1").ok());
  ASSERT_TRUE(store_->create("/other", "x").ok());
  const int64_t before = store_->revision();
  ASSERT_TRUE(store_->update("/r/a", "a2", 0).ok());
  ASSERT_TRUE(store_->remove("/r/b", 0).ok());
  ASSERT_TRUE(store_->create("/r/c", "c1").ok());

  auto past = store_->list("/r/", "", 0, before);
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->revision, before);
  ASSERT_EQ(past->items.size(), 2u);
  EXPECT_EQ(past->items[0].key, "/r/a");
  EXPECT_EQ(past->items[0].value, "a1");
  EXPECT_EQ(past->items[0].modRevision, rev(1));
  EXPECT_EQ(past->items[1].key, "/r/b");
  EXPECT_EQ(past->items[1].value, "b1");

  auto pastPage = store_->list("/r/", "", 1, before);
  ASSERT_TRUE(pastPage.ok());
  ASSERT_EQ(pastPage->items.size(), 1u);
  EXPECT_TRUE(pastPage->more);
  auto pastRest = store_->list("/r/", "/r/a", 1, before);
  ASSERT_TRUE(pastRest.ok());
  ASSERT_EQ(pastRest->items.size(), 1u);
  EXPECT_EQ(pastRest->items[0].key, "/r/b");
  EXPECT_FALSE(pastRest->more);

  auto now = store_->list("/r/", "", 0, store_->revision());
  ASSERT_TRUE(now.ok());
  ASSERT_EQ(now->items.size(), 2u);
  EXPECT_EQ(now->items[0].value, "a2");
  EXPECT_EQ(now->items[1].key, "/r/c");

  auto future = store_->list("/r/", "", 0, store_->revision() + 1);
  ASSERT_FALSE(future.ok());
  expectError(future.error(), 400, "BadRequest");
}

// The history table against a model of every past state, including after
// compaction and with keys deleted and re-created.
TEST(SqliteStoreModelTest, HistoryListsMatchAModel) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 150});
  std::mt19937 random(42);
  std::map<std::string, std::string> state;
  std::vector<std::map<std::string, std::string>> snapshots(1);  // index = revision
  for (int step = 0; step < 600; ++step) {
    std::string key = "/k/" + std::to_string(random() % 40);
    std::string value = "v" + std::to_string(step);
    bool exists = state.count(key) > 0;
    int op = random() % 3;
    if (!exists) {
      ASSERT_TRUE(store->create(key, value).ok());
      state[key] = value;
    } else if (op == 0) {
      ASSERT_TRUE(store->remove(key, 0).ok());
      state.erase(key);
    } else {
      ASSERT_TRUE(store->update(key, value, 0).ok());
      state[key] = value;
    }
    snapshots.push_back(state);
    ASSERT_EQ(store->revision(), static_cast<int64_t>(snapshots.size() - 1));
  }
  ASSERT_GT(store->compactedRevision(), 0);
  ASSERT_GE(store->compactedRevision(), store->revision() - 150 - 15);

  for (int pass = 0; pass < 2; ++pass) {  // before and after a reopen
    for (int64_t revision = store->compactedRevision(); revision <= store->revision();
         revision += 7) {
      auto listed = store->list("/k/", "", 0, revision);
      ASSERT_TRUE(listed.ok()) << listed.error().message;
      std::map<std::string, std::string> got;
      for (const auto& kv : listed->items) {
        got[kv.key] = kv.value;
        EXPECT_LE(kv.modRevision, revision);
      }
      EXPECT_EQ(got, snapshots[revision]) << "at revision " << revision;
    }
    auto expired = store->list("/k/", "", 0, store->compactedRevision() - 1);
    ASSERT_FALSE(expired.ok());
    expectError(expired.error(), 410, "Expired");
    store.reset();
    store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 150});
  }
}

}  // namespace
}  // namespace podnet::store
