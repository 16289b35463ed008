// Connection: one sqlite3 handle with its cache of prepared statements, and Statement, an RAII
// lease of one cached statement. Internal to SqliteStore; nothing outside src/store/sqlite
// includes this header (it pulls in sqlite3.h).
//
// Thread safety: NOT thread-safe. A Connection is used by one thread at a time; SqliteStore
// guarantees that (the write connection behind a mutex, read connections leased from a pool).
// Handles are opened with SQLITE_OPEN_NOMUTEX for that reason: SQLite's own per-connection
// mutex would only add cost.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "permcache/status.h"

namespace permcache::sqlite {

// Busy wait for locks held by other connections/processes before SQLITE_BUSY is returned.
// 5 s: long enough for 2-3 servers sharing one file under write bursts, short enough that a
// stuck peer surfaces as kUnavailable instead of hanging a request.
inline constexpr int kBusyTimeoutMs = 5000;

// Maps an SQLite result code to a Status. Busy/locked, I/O errors, cannot-open, disk full and
// read-only are kUnavailable (the dependency is unhealthy, retrying may help); a constraint
// violation is kInvalidArgument; everything else is kInternal. `what` says what was being done; the
// message also carries sqlite3_errmsg(db).
Status SqliteError(int rc, std::string_view what, sqlite3* db);

class Connection;

// A prepared statement leased from a Connection's cache. Reset and unbound when destroyed so
// the cached statement is ready for the next lease and holds no read snapshot open.
// Bind*() never fails on its own: the first bind error is remembered and returned by Step().
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindNull(int index);

  // Advances to the next row: true = a row is available, false = done.
  StatusOr<bool> Step();
  // Steps until done, ignoring rows (for INSERT/UPDATE/DELETE).
  Status Run();

  // Column accessors for the current row (0-based). REQUIRES: the last Step() returned true.
  int64_t Int(int column) const;
  std::string Text(int column) const;
  bool IsNull(int column) const;

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void NoteBindError(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;  // owned by the Connection's cache, not by the lease
  int bind_rc_ = SQLITE_OK;
};

class Connection {
 public:
  enum class Mode {
    kWrite,  // read-write, creates the file if missing, switches the file to WAL
    kRead,   // read-write handle with query_only=ON (a read-only handle could not create -shm)
  };

  // Opens `path` and applies the per-connection pragmas (busy_timeout, foreign_keys=ON,
  // synchronous=NORMAL; journal_mode=WAL for kWrite, query_only for kRead).
  static StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode);

  ~Connection();  // finalizes every cached statement and closes the handle
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more SQL statements that return no rows we need (DDL, BEGIN, COMMIT, ...).
  Status Exec(const char* sql);

  // Returns the cached prepared statement for `sql`, preparing it on first use.
  // REQUIRES: no other live Statement lease for the same `sql` on this connection.
  StatusOr<Statement> Prepare(std::string_view sql);

  // True while a transaction is open (BEGIN without COMMIT/ROLLBACK yet).
  bool InTransaction() const;

  sqlite3* db() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace permcache::sqlite
