#include "store/sqlite/connection.h"

#include <limits>
#include <utility>

namespace permcache::sqlite {

Status SqliteError(int rc, std::string_view what, sqlite3* db) {
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the most recent failing call on `db`; when there is no handle (open
  // failed before one existed) fall back to the generic text of the code.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return UnavailableError(std::move(message));
    case SQLITE_CONSTRAINT:
      // The data broke a schema rule: a caller error, not a server fault.
      return InvalidArgumentError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

// ---------------------------------------------------------------------------------------------
// Statement

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  // Reset ends the statement's implicit read of the database (so COMMIT/ROLLBACK are not held
  // up by it) and clearing the bindings drops the copied text.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::NoteBindError(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    NoteBindError(SQLITE_TOOBIG);
    return *this;
  }
  // An empty string_view may have a null data(), which SQLite would bind as SQL NULL (and
  // `?1 = ''` would then never hold): always bind a real, possibly empty, text.
  const char* data = text.data() != nullptr ? text.data() : "";
  NoteBindError(
      sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  NoteBindError(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::BindNull(int index) {
  NoteBindError(sqlite3_bind_null(stmt_, index));
  return *this;
}

StatusOr<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteError(bind_rc_, "binding a parameter", db_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, "executing statement", db_);
}

Status Statement::Run() {
  while (true) {
    PERMCACHE_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---------------------------------------------------------------------------------------------
// Connection

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Mode mode) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kWrite) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteError(rc, "cannot open sqlite:" + path, db);
    sqlite3_close(db);  // a handle is returned even on most failures; closing null is a no-op
    return status;
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // WAL lets readers run alongside the single writer (and other processes on the same file).
  // It is a property of the file, so only the writer sets it; it needs a moment of exclusive
  // access the first time, which the busy timeout covers when several processes start at once.
  if (mode == Mode::kWrite) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement wal, conn->Prepare("PRAGMA journal_mode=WAL"));
    PERMCACHE_ASSIGN_OR_RETURN(bool row, wal.Step());
    if (!row || wal.Text(0) != "wal") {
      return UnavailableError("sqlite:" + path + ": cannot switch to WAL journal mode (got '" +
                              (row ? wal.Text(0) : std::string()) + "')");
    }
  }
  // foreign_keys: the ON DELETE CASCADE links are how deleting a role/policy/tenant removes its
  // links. synchronous=NORMAL: in WAL mode a commit stays atomic and consistent; only the last
  // transactions before a power loss may roll back, which is the usual trade for write speed.
  PERMCACHE_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"));
  if (mode == Mode::kRead) PERMCACHE_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=ON;"));
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // sqlite3_close_v2 defers the close if anything is still outstanding instead of failing.
  sqlite3_close_v2(db_);
}

Status Connection::Exec(const char* sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  sqlite3_free(error);  // the same text is available from sqlite3_errmsg
  std::string what = "executing '";
  what += std::string_view(sql).substr(0, 60);
  what += "'";
  return SqliteError(rc, what, db_);
}

StatusOr<Statement> Connection::Prepare(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(rc, "preparing statement", db_);
    }
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Statement(db_, it->second);
}

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace permcache::sqlite
