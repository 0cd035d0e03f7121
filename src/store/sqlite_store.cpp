// The embedded Store: SQLite in WAL mode, laid out like kine (one row per
// revision), with the current state and recent events mirrored in memory.
//
// Table kv: one row per revision. id is the revision; a delete is a row with
// deleted=1 that carries the last value, so a watch can replay it. Reads at
// the current revision are served from `index_`, never from disk; only lists
// at an older revision and watches reaching back past the in-memory event
// cache read the table.
//
// Concurrency: writers are serialized by writeMutex_ and commit to SQLite
// before touching memory, so memory never shows a write that could be lost.
// Readers take stateMutex_ shared. Events go to a bounded cache and to each
// matching watcher's bounded queue under hubMutex_; a watcher that cannot
// keep up is dropped with 410 instead of slowing writers down. WAL
// checkpoints (the fsyncs) mostly run on a background thread.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

#include "store/sqlite_db.h"
#include "store/store.h"

namespace podnet::store {
namespace {

// Compaction deletes at most this many revisions of history per transaction,
// so a writer that happens to trigger it pauses for milliseconds, not seconds.
constexpr int64_t kCompactionBatch = 1000;
// The event cache is also bounded in bytes: objects can be large.
constexpr size_t kEventCacheMaxBytes = size_t{128} << 20;
// Catch-up hands out events in chunks so one next() call stays short.
constexpr size_t kCatchUpScanLimit = 20000;
constexpr int kHistoryReadChunk = 2000;
// WAL checkpoints copy pages back into the database file and fsync it, which
// halves write throughput when done inline. A background thread does them
// once the WAL has this many frames (pages)...
constexpr int kCheckpointFrames = 1000;
// ...but under a steady stream of writes the WAL is never fully copied while
// the writer keeps appending, so it would never restart and grows without
// bound. At this size the writer checkpoints itself: only the frames the
// background pass has not copied yet, after which the WAL restarts (~16 MB).
constexpr int kInlineCheckpointFrames = 4000;

core::Error notFoundKey(std::string_view key) {
  return core::Error{404, "NotFound", "key " + std::string(key) + " not found"};
}
core::Error keyExists(std::string_view key) {
  return core::Error{409, "AlreadyExists", "key " + std::string(key) + " already exists"};
}
core::Error modRevisionConflict(std::string_view key, int64_t expected, int64_t actual) {
  return core::Error{409, "Conflict",
                     "key " + std::string(key) + " has modRevision " + std::to_string(actual) +
                         ", not " + std::to_string(expected)};
}
core::Error compacted(int64_t requested, int64_t compactedRevision) {
  return core::gone("revision " + std::to_string(requested) + " has been compacted (oldest is " +
                    std::to_string(compactedRevision) + ")");
}
core::Error storeClosed() { return core::internal("store is closed"); }

// The smallest key greater than every key starting with `prefix`, or none if
// the prefix is empty or all 0xff bytes.
std::optional<std::string> prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::nullopt;
}

size_t eventBytes(const Event& event) {
  return sizeof(Event) + event.kv.key.size() + event.kv.value.size();
}

// The live half of a watch, shared by the writer (producer) and the Watch
// (consumer).
struct WatchQueue {
  WatchQueue(std::string prefixIn, int64_t liveAfter)
      : prefix(std::move(prefixIn)), liveAfterRevision(liveAfter) {}

  const std::string prefix;
  // Events up to this revision come from catch-up; the queue takes the rest.
  const int64_t liveAfterRevision;

  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::shared_ptr<const Event>> pending;
  bool expired = false;  // fell too far behind: 410
  bool closed = false;   // the store was closed
};

class SqliteEngine;

class SqliteWatch final : public Watch {
 public:
  SqliteWatch(std::weak_ptr<SqliteEngine> engine, std::shared_ptr<WatchQueue> queue,
              int64_t catchUpAfter, int64_t catchUpUntil)
      : engine_(std::move(engine)),
        queue_(std::move(queue)),
        catchUpCursor_(catchUpAfter),
        catchUpUntil_(catchUpUntil) {}
  ~SqliteWatch() override;

  core::Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override;

 private:
  std::weak_ptr<SqliteEngine> engine_;
  std::shared_ptr<WatchQueue> queue_;
  // Catch-up covers revisions (catchUpCursor_, catchUpUntil_]: they were
  // written before the watch was registered and come from the event cache
  // or the table. The cursor is the last revision looked at.
  int64_t catchUpCursor_;
  const int64_t catchUpUntil_;
  std::optional<core::Error> failure_;
};

class SqliteEngine : public std::enable_shared_from_this<SqliteEngine> {
 public:
  explicit SqliteEngine(SqliteOptions options) : options_(std::move(options)) {
    options_.historyRevisions = std::max<int64_t>(options_.historyRevisions, 1);
    options_.eventCacheSize = std::max<size_t>(options_.eventCacheSize, 1);
    options_.maxWatchBacklog = std::max<size_t>(options_.maxWatchBacklog, 1);
  }
  ~SqliteEngine() {
    close();
    stopCheckpointer();
    if (lockFd_ >= 0) ::close(lockFd_);
  }

  core::Status open();
  // Ends every watch; called when the Store handle goes away.
  void close();

  int64_t revision() const { return revision_.load(std::memory_order_acquire); }
  int64_t compactedRevision() const { return compactedRevision_.load(std::memory_order_acquire); }

  core::Result<KeyValue> get(std::string_view key);
  core::Result<KeyValue> create(std::string_view key, std::string_view value);
  core::Result<KeyValue> update(std::string_view key, std::string_view value,
                                int64_t expectedModRevision);
  core::Result<KeyValue> remove(std::string_view key, int64_t expectedModRevision);
  core::Result<ListResult> list(std::string_view prefix, std::string_view startAfter, int64_t limit,
                                int64_t atRevision);
  core::Result<std::unique_ptr<Watch>> watch(std::string_view prefix, int64_t afterRevision);
  std::vector<KeyValue> listContaining(std::string_view prefix, std::string_view needle);

  // For SqliteWatch: appends events under `prefix` with revisions in
  // (cursor, until] to `out`, a chunk at a time, advancing `cursor`.
  core::Status catchUp(std::string_view prefix, int64_t& cursor, int64_t until,
                       std::vector<Event>& out);
  void unregister(const WatchQueue* queue);

 private:
  core::Status openConnection(sqlite::Connection& connection);
  core::Status prepareStatements();
  core::Status loadState();
  // Writes one revision (writeMutex_ held) and makes it visible.
  core::Result<KeyValue> append(std::string_view key, std::string_view value, bool created,
                                bool deleted, int64_t createRevision, int64_t prevRevision);
  void publish(std::shared_ptr<const Event> event);
  // Drops cached events past the count, byte and age bounds (hubMutex_ held).
  void trimEventCacheLocked();
  // After 30 s without a checkpoint: old cached events and idle page caches
  // go (called without checkpointMutex_).
  void releaseWhileQuiet();
  void maybeCompact();
  core::Status compactThrough(int64_t revision);
  core::Result<ListResult> listHistory(std::string_view prefix, std::string_view startAfter,
                                       int64_t limit, int64_t atRevision);
  core::Status readHistoryEvents(std::string_view prefix, int64_t& cursor, int64_t until,
                                 std::vector<Event>& out);
  // The compacted revision as recorded in the table, read inside the
  // caller's read transaction so the rows read next agree with it.
  core::Result<int64_t> readCompactedRevision();
  static int onWalCommit(void* engine, sqlite3* db, const char* name, int frames);
  void runCheckpointer();
  void stopCheckpointer();

  SqliteOptions options_;
  int lockFd_ = -1;

  std::mutex writeMutex_;
  sqlite::Connection writer_;
  sqlite::Statement insertRow_;
  sqlite::Statement deleteSuperseded_;
  sqlite::Statement deleteTombstones_;
  sqlite::Statement saveCompactedRevision_;

  // History reads use their own connection: WAL lets it read a snapshot
  // while the writer carries on.
  std::mutex readerMutex_;
  sqlite::Connection reader_;
  sqlite::Statement readCompacted_;
  sqlite::Statement readEvents_;

  // Background checkpoints, on a connection of their own.
  sqlite::Connection checkpointConnection_;
  std::thread checkpointer_;
  std::mutex checkpointMutex_;
  std::condition_variable checkpointWanted_;
  bool checkpointRequested_ = false;
  bool stopping_ = false;

  mutable std::shared_mutex stateMutex_;
  // The current value of every key: the Put event that wrote it, shared with
  // the event cache and open watches, so each value is held once (issue 21).
  std::map<std::string, std::shared_ptr<const Event>, std::less<>> index_;
  std::atomic<int64_t> revision_{0};
  std::atomic<int64_t> compactedRevision_{0};

  std::mutex hubMutex_;
  std::deque<std::shared_ptr<const Event>> recentEvents_;
  std::deque<std::chrono::steady_clock::time_point> recentEventTimes_;  // one per event
  size_t recentEventBytes_ = 0;
  int64_t cachedFrom_ = 1;  // every event with a revision >= this is in recentEvents_
  int64_t publishedRevision_ = 0;
  std::vector<std::shared_ptr<WatchQueue>> watchers_;
  bool closed_ = false;
};

// ---- opening ---------------------------------------------------------------

core::Status SqliteEngine::openConnection(sqlite::Connection& connection) {
  auto opened = sqlite::Connection::open(options_.path);
  if (!opened.ok()) return opened.takeError();
  connection = std::move(opened.value());
  // WAL + synchronous=NORMAL: a commit is in the WAL file (the OS page
  // cache) when it returns, which survives the process being killed; only
  // a power loss can take the last commits back. busy_timeout covers
  // checkpoints and the short moments the two connections contend.
  if (auto status = connection.exec("PRAGMA busy_timeout=5000;"); !status.ok()) return status;
  if (auto status = connection.exec("PRAGMA journal_mode=WAL;"); !status.ok()) return status;
  return connection.exec(
      "PRAGMA synchronous=NORMAL;"
      "PRAGMA journal_size_limit=67108864;"
      "PRAGMA cache_size=-16000;");
}

core::Status SqliteEngine::open() {
  // One process per database: the in-memory index is only right if nobody
  // else writes. flock is released by the kernel if the process dies.
  std::string lockPath = options_.path + ".lock";
  lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lockFd_ < 0) return core::internal("cannot open " + lockPath);
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0)
    return core::internal("store " + options_.path + " is in use by another process");

  if (auto status = openConnection(writer_); !status.ok()) return status;
  {
    auto mode = sqlite::Statement::prepare(writer_.get(), "PRAGMA journal_mode;");
    if (!mode.ok()) return mode.takeError();
    std::string name = mode->step() == SQLITE_ROW ? mode->columnBlob(0) : "";
    if (name != "wal") return core::internal("sqlite: cannot switch to WAL mode (" + name + ")");
  }
  auto schema = writer_.exec(
      "CREATE TABLE IF NOT EXISTS kv ("
      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  key BLOB NOT NULL,"
      "  created INTEGER NOT NULL,"
      "  deleted INTEGER NOT NULL,"
      "  create_revision INTEGER NOT NULL,"
      "  prev_revision INTEGER NOT NULL,"
      "  value BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS kv_key_id ON kv (key, id);"
      "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);");
  if (!schema.ok()) return schema;
  if (auto status = openConnection(reader_); !status.ok()) return status;
  if (auto status = openConnection(checkpointConnection_); !status.ok()) return status;
  if (auto status = writer_.exec("PRAGMA wal_autocheckpoint=0;"); !status.ok()) return status;
  sqlite3_wal_hook(writer_.get(), &SqliteEngine::onWalCommit, this);
  checkpointer_ = std::thread([this] { runCheckpointer(); });
  if (auto status = prepareStatements(); !status.ok()) return status;
  if (auto status = loadState(); !status.ok()) return status;

  // Catch up on compaction owed from before (e.g. a smaller historyRevisions).
  int64_t target = revision() - options_.historyRevisions;
  while (compactedRevision() < target) {
    auto status = compactThrough(std::min(target, compactedRevision() + kCompactionBatch));
    if (!status.ok()) return status;
  }
  return core::Ok{};
}

core::Status SqliteEngine::prepareStatements() {
  struct Prepared {
    sqlite::Connection& connection;
    sqlite::Statement& statement;
    const char* sql;
  };
  const Prepared all[] = {
      {writer_, insertRow_,
       "INSERT INTO kv (id, key, created, deleted, create_revision, prev_revision, value) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      // Every row in the batch supersedes the row its prev_revision names.
      {writer_, deleteSuperseded_,
       "DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv "
       "WHERE id > ?1 AND id <= ?2 AND prev_revision > 0)"},
      {writer_, deleteTombstones_, "DELETE FROM kv WHERE id > ?1 AND id <= ?2 AND deleted = 1"},
      {writer_, saveCompactedRevision_,
       "INSERT INTO meta (name, value) VALUES ('compact_revision', ?1) "
       "ON CONFLICT (name) DO UPDATE SET value = excluded.value"},
      {reader_, readCompacted_, "SELECT value FROM meta WHERE name = 'compact_revision'"},
      {reader_, readEvents_,
       "SELECT id, key, value, create_revision, created, deleted FROM kv "
       "WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3"},
  };
  for (const auto& entry : all) {
    auto statement = sqlite::Statement::prepare(entry.connection.get(), entry.sql);
    if (!statement.ok()) return statement.takeError();
    entry.statement = std::move(statement.value());
  }
  return core::Ok{};
}

core::Status SqliteEngine::loadState() {
  // sqlite_sequence remembers the highest id ever used, even when compaction
  // has deleted that row, so revisions are never reused after a restart.
  auto newest = sqlite::Statement::prepare(
      writer_.get(),
      "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'kv'), 0), "
      "           coalesce((SELECT max(id) FROM kv), 0))");
  if (!newest.ok()) return newest.takeError();
  if (newest->step() != SQLITE_ROW) return sqlite::errorOf(writer_.get(), "read revision");
  int64_t revision = newest->columnInt(0);

  auto compactedRow = sqlite::Statement::prepare(
      writer_.get(), "SELECT value FROM meta WHERE name = 'compact_revision'");
  if (!compactedRow.ok()) return compactedRow.takeError();
  int64_t compactedRevision = compactedRow->step() == SQLITE_ROW ? compactedRow->columnInt(0) : 0;

  auto current = sqlite::Statement::prepare(
      writer_.get(),
      "SELECT kv.key, kv.value, kv.create_revision, kv.id FROM kv "
      "JOIN (SELECT max(id) AS latest FROM kv GROUP BY key) AS newest ON kv.id = newest.latest "
      "WHERE kv.deleted = 0");
  if (!current.ok()) return current.takeError();
  int rc;
  while ((rc = current->step()) == SQLITE_ROW) {
    auto event = std::make_shared<Event>();
    event->kv = KeyValue{current->columnBlob(0), current->columnBlob(1), current->columnInt(2),
                         current->columnInt(3)};
    std::string key = event->kv.key;
    index_.emplace_hint(index_.end(), std::move(key), std::move(event));
  }
  if (rc != SQLITE_DONE) return sqlite::errorOf(writer_.get(), "load current state");

  revision_ = revision;
  compactedRevision_ = compactedRevision;
  publishedRevision_ = revision;
  cachedFrom_ = revision + 1;  // the cache starts empty: older events are on disk
  return core::Ok{};
}

int SqliteEngine::onWalCommit(void* self, sqlite3* db, const char* name, int frames) {
  auto* engine = static_cast<SqliteEngine*>(self);
  if (frames >= kInlineCheckpointFrames) {
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (frames >= kCheckpointFrames) {
    std::lock_guard lock(engine->checkpointMutex_);
    if (!engine->checkpointRequested_) {
      engine->checkpointRequested_ = true;
      engine->checkpointWanted_.notify_one();
    }
  }
  return SQLITE_OK;
}

void SqliteEngine::trimEventCacheLocked() {
  const auto oldest = std::chrono::steady_clock::now() - options_.eventCacheMaxAge;
  while (!recentEvents_.empty() &&
         (recentEvents_.size() > options_.eventCacheSize ||
          (recentEventBytes_ > kEventCacheMaxBytes && recentEvents_.size() > 1) ||
          (recentEventTimes_.front() < oldest &&
           recentEvents_.size() > options_.eventCacheKeptWhenOld))) {
    cachedFrom_ = recentEvents_.front()->kv.modRevision + 1;
    recentEventBytes_ -= eventBytes(*recentEvents_.front());
    recentEvents_.pop_front();
    recentEventTimes_.pop_front();
  }
}

void SqliteEngine::releaseWhileQuiet() {
  {
    std::lock_guard hub(hubMutex_);
    trimEventCacheLocked();
  }
  // A burst fills each connection's page cache (up to cache_size); the reads
  // it served come from the in-memory index anyway, so a quiet store gives
  // those pages back.
  {
    std::lock_guard writing(writeMutex_);
    sqlite3_db_release_memory(writer_.get());
  }
  {
    std::lock_guard reading(readerMutex_);
    sqlite3_db_release_memory(reader_.get());
  }
  sqlite3_db_release_memory(checkpointConnection_.get());
}

void SqliteEngine::runCheckpointer() {
  std::unique_lock lock(checkpointMutex_);
  for (;;) {
    // Woken for checkpoints, and every 30 s to age out cached events when
    // no writes come to do it.
    if (!checkpointWanted_.wait_for(lock, std::chrono::seconds(30),
                                    [&] { return checkpointRequested_ || stopping_; })) {
      lock.unlock();
      releaseWhileQuiet();
      lock.lock();
      continue;
    }
    if (stopping_) return;
    lock.unlock();
    // PASSIVE: never waits for the writer or readers; what it cannot copy
    // now is copied next time. The writer restarts the WAL from the start
    // once everything in it has been copied.
    sqlite3_wal_checkpoint_v2(checkpointConnection_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                              nullptr, nullptr);
    lock.lock();
    checkpointRequested_ = false;
  }
}

void SqliteEngine::stopCheckpointer() {
  {
    std::lock_guard lock(checkpointMutex_);
    stopping_ = true;
    checkpointWanted_.notify_one();
  }
  if (checkpointer_.joinable()) checkpointer_.join();
}

void SqliteEngine::close() {
  std::lock_guard hub(hubMutex_);
  closed_ = true;
  for (auto& watcher : watchers_) {
    std::lock_guard lock(watcher->mutex);
    watcher->closed = true;
    watcher->ready.notify_all();
  }
  watchers_.clear();
}

// ---- reads at the current revision ----------------------------------------

core::Result<KeyValue> SqliteEngine::get(std::string_view key) {
  std::shared_lock lock(stateMutex_);
  auto found = index_.find(key);
  if (found == index_.end()) return notFoundKey(key);
  return found->second->kv;
}

core::Result<ListResult> SqliteEngine::list(std::string_view prefix, std::string_view startAfter,
                                            int64_t limit, int64_t atRevision) {
  if (limit < 0) return core::badRequest("limit must not be negative");
  if (atRevision < 0) return core::badRequest("revision must not be negative");
  {
    std::shared_lock lock(stateMutex_);
    int64_t current = revision_.load(std::memory_order_relaxed);
    if (atRevision > current) return core::badRequest("too large resource version");
    if (atRevision == 0 || atRevision == current) {
      ListResult result;
      result.revision = current;
      auto it = startAfter.empty() || startAfter < prefix ? index_.lower_bound(prefix)
                                                          : index_.upper_bound(startAfter);
      for (; it != index_.end() && it->first.starts_with(prefix); ++it) {
        if (limit > 0 && static_cast<int64_t>(result.items.size()) == limit) {
          result.more = true;
          break;
        }
        result.items.push_back(it->second->kv);
      }
      return result;
    }
  }
  if (atRevision < compactedRevision()) return compacted(atRevision, compactedRevision());
  return listHistory(prefix, startAfter, limit, atRevision);
}

std::vector<KeyValue> SqliteEngine::listContaining(std::string_view prefix,
                                                   std::string_view needle) {
  std::vector<KeyValue> found;
  if (needle.empty()) return found;
  // Boyer-Moore-Horspool: a uid (36 random characters) is skipped past in
  // steps of up to its length; find() stopped at every occurrence of its
  // first character (a perf profile of 30,000 deletes spent 60% there).
  const std::boyer_moore_horspool_searcher searcher(needle.begin(), needle.end());
  std::shared_lock lock(stateMutex_);
  for (auto it = index_.lower_bound(prefix); it != index_.end() && it->first.starts_with(prefix);
       ++it) {
    const std::string& value = it->second->kv.value;
    if (std::search(value.begin(), value.end(), searcher) != value.end())
      found.push_back(it->second->kv);
  }
  return found;
}

// ---- writes ----------------------------------------------------------------

core::Result<KeyValue> SqliteEngine::create(std::string_view key, std::string_view value) {
  std::lock_guard lock(writeMutex_);
  // Only writers change index_, and they hold writeMutex_: no shared lock needed.
  if (index_.find(key) != index_.end()) return keyExists(key);
  return append(key, value, /*created=*/true, /*deleted=*/false, 0, 0);
}

core::Result<KeyValue> SqliteEngine::update(std::string_view key, std::string_view value,
                                            int64_t expectedModRevision) {
  std::lock_guard lock(writeMutex_);
  auto found = index_.find(key);
  if (found == index_.end()) return notFoundKey(key);
  const KeyValue& current = found->second->kv;
  if (expectedModRevision != 0 && expectedModRevision != current.modRevision)
    return modRevisionConflict(key, expectedModRevision, current.modRevision);
  return append(key, value, false, false, current.createRevision, current.modRevision);
}

core::Result<KeyValue> SqliteEngine::remove(std::string_view key, int64_t expectedModRevision) {
  std::lock_guard lock(writeMutex_);
  auto found = index_.find(key);
  if (found == index_.end()) return notFoundKey(key);
  if (expectedModRevision != 0 && expectedModRevision != found->second->kv.modRevision)
    return modRevisionConflict(key, expectedModRevision, found->second->kv.modRevision);
  auto last = found->second;  // append() erases the entry
  return append(key, last->kv.value, false, /*deleted=*/true, last->kv.createRevision,
                last->kv.modRevision);
}

core::Result<KeyValue> SqliteEngine::append(std::string_view key, std::string_view value,
                                            bool created, bool deleted, int64_t createRevision,
                                            int64_t prevRevision) {
  {
    std::lock_guard hub(hubMutex_);
    if (closed_) return storeClosed();
  }
  const int64_t revision = revision_.load(std::memory_order_relaxed) + 1;
  if (created) createRevision = revision;
  {
    // One statement in autocommit mode is one transaction.
    sqlite::Use insert(insertRow_);
    insert->bind(1, revision);
    insert->bindBlob(2, key);
    insert->bind(3, created ? 1 : 0);
    insert->bind(4, deleted ? 1 : 0);
    insert->bind(5, createRevision);
    insert->bind(6, prevRevision);
    insert->bindBlob(7, value);
    if (insert->step() != SQLITE_DONE) return sqlite::errorOf(writer_.get(), "write");
  }

  auto event = std::make_shared<Event>();
  event->type = deleted ? Event::Type::Delete : Event::Type::Put;
  event->kv = KeyValue{std::string(key), std::string(value), createRevision, revision};
  event->created = created;
  KeyValue written = event->kv;
  {
    std::unique_lock lock(stateMutex_);
    if (deleted) {
      index_.erase(index_.find(key));
    } else {
      index_.insert_or_assign(written.key, event);
    }
    revision_.store(revision, std::memory_order_release);
  }
  publish(std::move(event));
  maybeCompact();
  return written;
}

void SqliteEngine::publish(std::shared_ptr<const Event> event) {
  std::lock_guard hub(hubMutex_);
  const int64_t revision = event->kv.modRevision;
  publishedRevision_ = revision;

  recentEventBytes_ += eventBytes(*event);
  recentEvents_.push_back(event);
  recentEventTimes_.push_back(std::chrono::steady_clock::now());
  trimEventCacheLocked();

  std::erase_if(watchers_, [&](const std::shared_ptr<WatchQueue>& watcher) {
    if (revision <= watcher->liveAfterRevision || !event->kv.key.starts_with(watcher->prefix))
      return false;
    std::lock_guard lock(watcher->mutex);
    if (watcher->pending.size() >= options_.maxWatchBacklog) {
      watcher->expired = true;
      watcher->pending.clear();
      watcher->ready.notify_all();
      return true;  // dropped: the writer never waits for a reader
    }
    // A consumer only waits on an empty queue, so only then is a wake-up due.
    bool wasEmpty = watcher->pending.empty();
    watcher->pending.push_back(event);
    if (wasEmpty) watcher->ready.notify_all();
    return false;
  });
}

// ---- compaction ------------------------------------------------------------

void SqliteEngine::maybeCompact() {
  // Compact in batches once enough history has piled up, not on every write.
  const int64_t target = revision() - options_.historyRevisions;
  const int64_t slack = std::clamp<int64_t>(options_.historyRevisions / 10, 1, kCompactionBatch);
  const int64_t done = compactedRevision();
  if (target - done >= slack) {
    // A failure (disk full, I/O error) is retried on a later write; the
    // write that triggered it has already succeeded.
    (void)compactThrough(std::min(target, done + kCompactionBatch));
  }
}

core::Status SqliteEngine::compactThrough(int64_t revision) {
  const int64_t from = compactedRevision();
  if (revision <= from) return core::Ok{};
  sqlite::Transaction transaction(writer_, "BEGIN IMMEDIATE");
  if (!transaction.began().ok()) return transaction.began();
  // Rows in (from, revision] that were superseded by a later row within the
  // range, and tombstones: neither is visible at `revision` or later. Rows
  // superseded earlier were removed by the previous batches.
  for (sqlite::Statement* statement : {&deleteSuperseded_, &deleteTombstones_}) {
    sqlite::Use use(*statement);
    use->bind(1, from);
    use->bind(2, revision);
    if (use->step() != SQLITE_DONE) return sqlite::errorOf(writer_.get(), "compact");
  }
  {
    sqlite::Use save(saveCompactedRevision_);
    save->bind(1, revision);
    if (save->step() != SQLITE_DONE) return sqlite::errorOf(writer_.get(), "compact");
  }
  if (auto status = transaction.commit(); !status.ok()) return status;
  compactedRevision_.store(revision, std::memory_order_release);
  return core::Ok{};
}

// ---- history reads ---------------------------------------------------------

core::Result<int64_t> SqliteEngine::readCompactedRevision() {
  sqlite::Use read(readCompacted_);
  int rc = read->step();
  if (rc == SQLITE_ROW) return read->columnInt(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return sqlite::errorOf(reader_.get(), "read compacted revision");
}

core::Result<ListResult> SqliteEngine::listHistory(std::string_view prefix,
                                                   std::string_view startAfter, int64_t limit,
                                                   int64_t atRevision) {
  // The newest row of each key as of atRevision, unless it is a tombstone.
  auto end = prefixEnd(prefix);
  std::string sql =
      "SELECT kv.key, kv.value, kv.create_revision, kv.id FROM kv "
      "JOIN (SELECT max(id) AS latest FROM kv WHERE key >= ?1 AND key > ?2 AND id <= ?3";
  if (end) sql += " AND key < ?5";
  sql +=
      " GROUP BY key) AS newest ON kv.id = newest.latest "
      "WHERE kv.deleted = 0 ORDER BY kv.key LIMIT ?4";

  std::lock_guard lock(readerMutex_);
  auto query = sqlite::Statement::prepare(reader_.get(), sql);
  if (!query.ok()) return query.takeError();
  sqlite::Transaction snapshot(reader_, "BEGIN");
  if (!snapshot.began().ok()) return snapshot.began().error();
  auto compactedRevision = readCompactedRevision();
  if (!compactedRevision.ok()) return compactedRevision.takeError();
  if (atRevision < *compactedRevision) return compacted(atRevision, *compactedRevision);

  query->bindBlob(1, prefix);
  query->bindBlob(2, startAfter);
  query->bind(3, atRevision);
  query->bind(4, limit > 0 ? limit + 1 : -1);  // one extra row tells whether there is more
  if (end) query->bindBlob(5, *end);
  ListResult result;
  result.revision = atRevision;
  int rc;
  while ((rc = query->step()) == SQLITE_ROW) {
    if (limit > 0 && static_cast<int64_t>(result.items.size()) == limit) {
      result.more = true;
      break;
    }
    result.items.push_back(KeyValue{query->columnBlob(0), query->columnBlob(1), query->columnInt(2),
                                    query->columnInt(3)});
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::errorOf(reader_.get(), "list");
  query.value() = sqlite::Statement();  // finalize before the snapshot ends
  if (auto status = snapshot.commit(); !status.ok()) return status.error();
  return result;
}

core::Status SqliteEngine::readHistoryEvents(std::string_view prefix, int64_t& cursor,
                                             int64_t until, std::vector<Event>& out) {
  std::lock_guard lock(readerMutex_);
  sqlite::Transaction snapshot(reader_, "BEGIN");
  if (!snapshot.began().ok()) return snapshot.began();
  auto compactedRevision = readCompactedRevision();
  if (!compactedRevision.ok()) return compactedRevision.takeError();
  if (cursor < *compactedRevision) return compacted(cursor, *compactedRevision);
  {
    sqlite::Use read(readEvents_);
    read->bind(1, cursor);
    read->bind(2, until);
    read->bind(3, kHistoryReadChunk);
    int rows = 0;
    int rc;
    while ((rc = read->step()) == SQLITE_ROW) {
      ++rows;
      cursor = read->columnInt(0);
      std::string key = read->columnBlob(1);
      if (!key.starts_with(prefix)) continue;
      Event event;
      event.type = read->columnInt(5) ? Event::Type::Delete : Event::Type::Put;
      event.created = read->columnInt(4) != 0;
      event.kv = KeyValue{std::move(key), read->columnBlob(2), read->columnInt(3), cursor};
      out.push_back(std::move(event));
    }
    if (rc != SQLITE_DONE) return sqlite::errorOf(reader_.get(), "read events");
    // Fewer rows than asked for: nothing else is stored up to `until`.
    if (rows < kHistoryReadChunk) cursor = until;
  }
  return snapshot.commit();
}

// ---- watches ---------------------------------------------------------------

core::Result<std::unique_ptr<Watch>> SqliteEngine::watch(std::string_view prefix,
                                                         int64_t afterRevision) {
  if (afterRevision < 0) return core::badRequest("revision must not be negative");
  if (afterRevision < compactedRevision()) return compacted(afterRevision, compactedRevision());
  std::lock_guard hub(hubMutex_);
  if (closed_) return storeClosed();
  // Everything published so far is caught up on by the watch itself; the
  // writer queues only what comes after, so nothing is seen twice or missed.
  const int64_t published = publishedRevision_;
  auto queue =
      std::make_shared<WatchQueue>(std::string(prefix), std::max(afterRevision, published));
  watchers_.push_back(queue);
  return std::unique_ptr<Watch>(
      new SqliteWatch(weak_from_this(), std::move(queue), afterRevision, published));
}

core::Status SqliteEngine::catchUp(std::string_view prefix, int64_t& cursor, int64_t until,
                                   std::vector<Event>& out) {
  int64_t diskUntil;
  {
    std::lock_guard hub(hubMutex_);
    if (closed_) return storeClosed();
    if (cursor + 1 >= cachedFrom_) {
      auto it = std::upper_bound(recentEvents_.begin(), recentEvents_.end(), cursor,
                                 [](int64_t revision, const std::shared_ptr<const Event>& event) {
                                   return revision < event->kv.modRevision;
                                 });
      size_t scanned = 0;
      for (; it != recentEvents_.end() && (*it)->kv.modRevision <= until; ++it) {
        if (++scanned > kCatchUpScanLimit) return core::Ok{};
        cursor = (*it)->kv.modRevision;
        if ((*it)->kv.key.starts_with(prefix)) out.push_back(**it);
      }
      cursor = until;
      return core::Ok{};
    }
    diskUntil = std::min(until, cachedFrom_ - 1);
  }
  return readHistoryEvents(prefix, cursor, diskUntil, out);
}

void SqliteEngine::unregister(const WatchQueue* queue) {
  std::lock_guard hub(hubMutex_);
  std::erase_if(watchers_, [&](const auto& watcher) { return watcher.get() == queue; });
}

SqliteWatch::~SqliteWatch() {
  if (auto engine = engine_.lock()) engine->unregister(queue_.get());
}

core::Result<std::vector<Event>> SqliteWatch::next(std::chrono::milliseconds timeout) {
  if (failure_) return *failure_;
  while (catchUpCursor_ < catchUpUntil_) {
    auto engine = engine_.lock();
    if (!engine) return *(failure_ = storeClosed());
    std::vector<Event> events;
    auto status = engine->catchUp(queue_->prefix, catchUpCursor_, catchUpUntil_, events);
    if (!status.ok()) {
      engine->unregister(queue_.get());
      return *(failure_ = status.error());
    }
    if (!events.empty()) return events;
  }

  std::unique_lock lock(queue_->mutex);
  queue_->ready.wait_for(
      lock, timeout, [&] { return !queue_->pending.empty() || queue_->expired || queue_->closed; });
  if (queue_->expired) {
    return *(failure_ = core::gone("watch fell too far behind and was dropped"));
  }
  if (queue_->closed) return *(failure_ = storeClosed());
  std::vector<Event> events;
  events.reserve(queue_->pending.size());
  for (const auto& event : queue_->pending) events.push_back(*event);
  queue_->pending.clear();
  return events;
}

// The handle callers own; destroying it ends all watches.
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<SqliteEngine> engine) : engine_(std::move(engine)) {}
  ~SqliteStore() override { engine_->close(); }

  int64_t revision() const override { return engine_->revision(); }
  int64_t compactedRevision() const override { return engine_->compactedRevision(); }
  core::Result<KeyValue> get(std::string_view key) override { return engine_->get(key); }
  core::Result<KeyValue> create(std::string_view key, std::string_view value) override {
    return engine_->create(key, value);
  }
  core::Result<KeyValue> update(std::string_view key, std::string_view value,
                                int64_t expectedModRevision) override {
    return engine_->update(key, value, expectedModRevision);
  }
  core::Result<KeyValue> remove(std::string_view key, int64_t expectedModRevision) override {
    return engine_->remove(key, expectedModRevision);
  }
  core::Result<ListResult> list(std::string_view prefix, std::string_view startAfter, int64_t limit,
                                int64_t atRevision) override {
    return engine_->list(prefix, startAfter, limit, atRevision);
  }
  core::Result<std::unique_ptr<Watch>> watch(std::string_view prefix,
                                             int64_t afterRevision) override {
    return engine_->watch(prefix, afterRevision);
  }
  core::Result<std::vector<KeyValue>> listContaining(std::string_view prefix,
                                                     std::string_view needle) override {
    return engine_->listContaining(prefix, needle);
  }

 private:
  std::shared_ptr<SqliteEngine> engine_;
};

}  // namespace

core::Result<std::vector<KeyValue>> Store::listContaining(std::string_view prefix,
                                                          std::string_view needle) {
  auto listed = list(prefix, "", 0, 0);
  if (!listed) return listed.takeError();
  std::vector<KeyValue> found;
  for (auto& kv : listed->items)
    if (kv.value.find(needle) != std::string::npos) found.push_back(std::move(kv));
  return found;
}

core::Result<std::unique_ptr<Store>> openSqlite(const SqliteOptions& options) {
  if (options.path.empty()) return core::badRequest("store path is empty");
  auto engine = std::make_shared<SqliteEngine>(options);
  if (auto status = engine->open(); !status.ok()) return status.takeError();
  return std::unique_ptr<Store>(new SqliteStore(std::move(engine)));
}

}  // namespace podnet::store
