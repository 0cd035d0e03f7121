// Thin RAII wrappers over the SQLite C API, just enough for the store:
// connections, reusable prepared statements and scoped transactions.
// Every failure becomes a core::Error (500) so nothing throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace podnet::store::sqlite {

inline core::Error errorOf(sqlite3* db, std::string_view what) {
  return core::internal("sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// An open database connection; closes on destruction.
class Connection {
 public:
  Connection() = default;
  explicit Connection(sqlite3* db) : db_(db) {}
  Connection(Connection&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Connection& operator=(Connection&& other) noexcept {
    std::swap(db_, other.db_);
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { sqlite3_close_v2(db_); }

  static core::Result<Connection> open(const std::string& path) {
    sqlite3* db = nullptr;
    // NOMUTEX: every connection is guarded by a mutex of its owner, so
    // SQLite's own per-call locking would only cost time.
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Connection connection(db);
    if (rc != SQLITE_OK) return errorOf(db, "open " + path);
    return connection;
  }

  // Runs one or more statements that return no rows we need.
  core::Status exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      return core::internal("sqlite: " + std::string(sql) + ": " + text);
    }
    return core::Ok{};
  }

  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement, reused across calls: bind, step, then reset() (the
// Use guard below resets automatically).
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  static core::Result<Statement> prepare(sqlite3* db, std::string_view sql) {
    Statement statement;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &statement.stmt_, nullptr) != SQLITE_OK)
      return errorOf(db, "prepare " + std::string(sql));
    return statement;
  }

  // Binding indexes are 1-based, as in SQLite.
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  // Blobs, not text: keys compare byte-wise (memcmp) exactly like std::string.
  // The caller keeps `value` alive until the statement is reset.
  void bindBlob(int index, std::string_view value) {
    // A null pointer would bind SQL NULL; an empty blob must stay a blob.
    sqlite3_bind_blob(stmt_, index, value.empty() ? "" : value.data(),
                      static_cast<int>(value.size()), SQLITE_STATIC);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t columnInt(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string columnBlob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    return data ? std::string(static_cast<const char*>(data), static_cast<size_t>(size))
                : std::string();
  }

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a reused statement on scope exit, whatever path the caller takes.
class Use {
 public:
  explicit Use(Statement& statement) : statement_(statement) {}
  ~Use() { statement_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement* operator->() { return &statement_; }

 private:
  Statement& statement_;
};

// A transaction that rolls back unless committed. Read transactions give the
// history readers a snapshot that compaction cannot change under them.
class Transaction {
 public:
  Transaction(Connection& connection, const char* beginSql)
      : connection_(connection), began_(connection.exec(beginSql)) {}
  ~Transaction() {
    if (began_.ok() && !finished_) (void)connection_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const core::Status& began() const { return began_; }
  core::Status commit() {
    finished_ = true;
    auto status = connection_.exec("COMMIT");
    if (!status.ok()) (void)connection_.exec("ROLLBACK");
    return status;
  }

 private:
  Connection& connection_;
  core::Status began_;
  bool finished_ = false;
};

}  // namespace podnet::store::sqlite
