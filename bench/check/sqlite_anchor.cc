#include "sqlite_anchor.h"

#include <sqlite3.h>

#include <cstdio>
#include <memory>

#include "latency.h"

namespace permcache::bench {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status Error(sqlite3* db, const char* what) {
  return InternalError(std::string("sqlite anchor: ") + what + ": " + sqlite3_errmsg(db));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string("sqlite anchor: ") + sql + ": " + (err ? err : "?");
    sqlite3_free(err);
    return InternalError(msg);
  }
  return Status::Ok();
}

StatusOr<Db> OpenDb(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return Error(raw, "open");
  return db;
}

std::string Key(size_t i) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "perms:u%zu:t%zu", i, i % 10);
  return std::string(buf, static_cast<size_t>(n));
}

Status Populate(const std::string& path, size_t rows) {
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  PERMCACHE_ASSIGN_OR_RETURN(Db db, OpenDb(path));
  PERMCACHE_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA journal_mode=WAL"));
  PERMCACHE_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA synchronous=NORMAL"));
  PERMCACHE_RETURN_IF_ERROR(
      Exec(db.get(), "CREATE TABLE t(pk TEXT PRIMARY KEY, status TEXT NOT NULL)"));
  PERMCACHE_RETURN_IF_ERROR(Exec(db.get(), "BEGIN"));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), "INSERT INTO t(pk, status) VALUES(?, 'active')", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return Error(db.get(), "prepare insert");
  }
  Stmt insert(raw);
  for (size_t i = 0; i < rows; ++i) {
    std::string k = Key(i);
    sqlite3_bind_text(insert.get(), 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    if (sqlite3_step(insert.get()) != SQLITE_DONE) return Error(db.get(), "insert");
    sqlite3_reset(insert.get());
  }
  return Exec(db.get(), "COMMIT");
}

}  // namespace

StatusOr<SqliteAnchorResult> RunSqliteAnchor(const std::string& path, size_t rows,
                                             const std::vector<uint32_t>& order, size_t warm,
                                             size_t n) {
  PERMCACHE_RETURN_IF_ERROR(Populate(path, rows));
  // A fresh connection, as a store would have: nothing of the table in its page cache yet.
  PERMCACHE_ASSIGN_OR_RETURN(Db db, OpenDb(path));
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), "SELECT status FROM t WHERE pk=?", -1, &raw, nullptr) !=
      SQLITE_OK) {
    return Error(db.get(), "prepare select");
  }
  Stmt select(raw);
  // Keys are formatted before timing; the permcache side also gets its ids ready-made.
  std::vector<std::string> keys;
  keys.reserve(warm + n);
  for (size_t i = 0; i < warm + n && i < order.size(); ++i) keys.push_back(Key(order[i]));

  SqliteAnchorResult result;
  result.samples_ns.reserve(n);
  std::string status;  // copy the column out, as any caller would
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    int64_t start = NowNs();
    sqlite3_bind_text(select.get(), 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    bool found = false;
    if (sqlite3_step(select.get()) == SQLITE_ROW) {
      status.assign(reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)));
      found = true;
    }
    sqlite3_reset(select.get());
    int64_t end = NowNs();
    if (i >= warm) {
      result.samples_ns.push_back(end - start);
      if (found) ++result.rows_found;
    }
  }
  return result;
}

}  // namespace permcache::bench
