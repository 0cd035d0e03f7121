// What survives a restart or a crash of the SQLite store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "store/store.h"
#include "store_test_util.h"

namespace podnet::store {
namespace {

using testing::openOrDie;
using testing::TempDir;

TEST(SqliteDurabilityTest, RevisionsStayMonotonicAcrossReopen) {
  TempDir dir;
  SqliteOptions options{.path = dir.file("db.sqlite"), .historyRevisions = 2};
  int64_t lastRevision = 0;
  {
    auto store = openOrDie(options);
    ASSERT_TRUE(store->create("/a", "1").ok());
    ASSERT_TRUE(store->create("/b", "2").ok());
    ASSERT_TRUE(store->update("/a", "3", 0).ok());
    ASSERT_TRUE(store->remove("/b", 0).ok());
    ASSERT_TRUE(store->create("/gone", "x").ok());
    ASSERT_TRUE(store->remove("/gone", 0).ok());
    lastRevision = store->revision();
    ASSERT_EQ(lastRevision, 6);
  }
  {
    // WAL mode is recorded in the database file itself.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("db.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* mode = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &mode, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(mode), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(mode, 0)), "wal");
    sqlite3_finalize(mode);
    sqlite3_close(db);
  }
  {
    auto store = openOrDie(options);
    EXPECT_EQ(store->revision(), lastRevision);
    auto a = store->get("/a");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->value, "3");
    EXPECT_EQ(a->createRevision, 1);
    EXPECT_EQ(a->modRevision, 3);
    EXPECT_FALSE(store->get("/b").ok());
    EXPECT_FALSE(store->get("/gone").ok());
    auto next = store->create("/gone", "again");
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(next->modRevision, lastRevision + 1);
    // A CAS with a revision from before the restart still works.
    ASSERT_TRUE(store->update("/a", "4", 3).ok());
    lastRevision = store->revision();
  }
  auto store = openOrDie(options);
  EXPECT_EQ(store->revision(), lastRevision);
  auto listed = store->list("", "", 0, 0);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].key, "/a");
  EXPECT_EQ(listed->items[1].key, "/gone");
}

// Checkpoints run in the background; under a steady stream of writes the
// WAL must still restart rather than grow with every write.
TEST(SqliteDurabilityTest, WalStaysBoundedUnderSteadyWrites) {
  TempDir dir;
  auto store = openOrDie({.path = dir.file("db.sqlite"), .historyRevisions = 5000});
  const std::string value(1000, 'v');
  uintmax_t largestWal = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string key = "/wal/" + std::to_string(i % 2000);
    auto written = i < 2000 ? store->create(key, value) : store->update(key, value, 0);
    ASSERT_TRUE(written.ok());
    if (i % 1000 == 999) {
      largestWal = std::max(largestWal, std::filesystem::file_size(dir.file("db.sqlite-wal")));
    }
  }
  // 30k writes of 1 KB are ~60k pages of WAL without restarts (240 MB).
  EXPECT_LT(largestWal, uintmax_t{40} << 20);
  EXPECT_GE(store->compactedRevision(), 30000 - 5000 - 500);
}

TEST(SqliteDurabilityTest, OneProcessAtATime) {
  TempDir dir;
  auto first = openOrDie({.path = dir.file("db.sqlite")});
  auto second = openSqlite({.path = dir.file("db.sqlite")});
  EXPECT_FALSE(second.ok());
  first.reset();
  EXPECT_TRUE(openSqlite({.path = dir.file("db.sqlite")}).ok());
}

TEST(SqliteDurabilityTest, UnwritableLocationIsAnError) {
  auto store = openSqlite({.path = "/nonexistent-dir/podnet/db.sqlite"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, 500);
}

// A child process writes as fast as it can, reporting each acknowledged
// revision over a pipe, and is killed with SIGKILL mid-stream. Every
// acknowledged write must be there after reopening.
TEST(SqliteDurabilityTest, AcknowledgedWritesSurviveKill9) {
  TempDir dir;
  const std::string path = dir.file("db.sqlite");
  int pipeFds[2];
  ASSERT_EQ(pipe(pipeFds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipeFds[0]);
    auto store = openSqlite({.path = path, .historyRevisions = 1000});
    if (!store.ok()) _exit(2);
    for (int i = 0;; ++i) {
      // Creates, plus an update of the previous key now and then, so
      // compaction runs too.
      auto written = (i % 5 == 4) ? (*store)->update("/crash/" + std::to_string(i - 1), "u", 0)
                                  : (*store)->create("/crash/" + std::to_string(i), "v");
      if (!written.ok()) _exit(3);
      int64_t record[2] = {written->modRevision, i % 5 == 4 ? i - 1 : i};
      if (write(pipeFds[1], record, sizeof record) != sizeof record) _exit(4);
    }
  }
  close(pipeFds[1]);
  std::vector<std::pair<int64_t, int64_t>> acknowledged;  // revision, key index
  int64_t record[2];
  size_t got = 0;
  bool killed = false;
  for (;;) {
    ssize_t n = read(pipeFds[0], reinterpret_cast<char*>(record) + got, sizeof record - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got < sizeof record) continue;
    got = 0;
    acknowledged.emplace_back(record[0], record[1]);
    if (!killed && acknowledged.size() == 3000) {
      kill(child, SIGKILL);
      killed = true;
    }
  }
  close(pipeFds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(acknowledged.size(), 3000u);

  auto store = openOrDie({.path = path, .historyRevisions = 1000});
  EXPECT_GE(store->revision(), acknowledged.back().first);
  std::map<int64_t, int64_t> newestRevisionOfKey;
  for (const auto& [revision, key] : acknowledged) newestRevisionOfKey[key] = revision;
  for (const auto& [key, revision] : newestRevisionOfKey) {
    auto kv = store->get("/crash/" + std::to_string(key));
    ASSERT_TRUE(kv.ok()) << "lost /crash/" << key;
    // A later, unacknowledged update may have landed too, never an older state.
    EXPECT_GE(kv->modRevision, revision);
  }
  // The store keeps working after recovery.
  auto next = store->create("/after-crash", "v");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->modRevision, store->revision());
  EXPECT_GT(next->modRevision, acknowledged.back().first);
}

}  // namespace
}  // namespace podnet::store
