// PgConnection: one libpq connection (PGconn) with the few operations PostgresStore needs:
// a pipelined batch of parameterized statements (one network round trip), simple commands,
// and the one mapping from a server error (SQLSTATE) to a Status code.
//
// Thread safety: a PGconn may be used by one thread at a time (libpq); so may a PgConnection.
// The pool in PostgresStore hands out whole connections.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/status.h"

namespace permcache::postgres {

// The rows of one statement's result, as text (NULL is std::nullopt).
struct PgRows {
  std::vector<std::vector<std::optional<std::string>>> rows;
  const std::string& Text(size_t row, size_t col) const;  // "" for NULL
  bool IsNull(size_t row, size_t col) const { return !rows[row][col].has_value(); }
  size_t size() const { return rows.size(); }
};

// One statement of a pipeline: SQL with $1.. placeholders and its text parameters.
struct PgStatement {
  std::string sql;  // the SQL, or the name of a statement prepared with Prepare()
  std::vector<std::optional<std::string>> params;  // nullopt = SQL NULL
  bool prepared = false;                           // `sql` names a prepared statement
};

// The error of a pipeline: which statement failed (index into the batch) and why.
struct PgBatchError {
  size_t statement = 0;
  Status status;
};

class PgConnection {
 public:
  // Connects with `conninfo` (a libpq URI or key=value string; PG* environment variables fill
  // what it leaves out). `redacted` names the server in messages (never a password).
  // kUnavailable when the server cannot be reached or refuses the login.
  static StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                         const std::string& redacted,
                                                         const std::string& application_name);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement (extended protocol when it has params). Rows for a SELECT.
  StatusOr<PgRows> Query(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // Prepares `sql` as the named statement `name` on this connection (PgStatement::prepared).
  Status Prepare(const std::string& name, const std::string& sql);
  // Runs `sql` with the simple protocol (several statements allowed, no params).
  Status Exec(std::string_view sql);

  // Sends every statement in one flight (pipeline mode) and reads all results. On the first
  // failing statement the server skips the rest; the error says which one failed. A caller
  // that opened a transaction with the batch's first statement must roll back on error
  // (RollbackIfOpen). REQUIRES: not inside another pipeline.
  StatusOr<std::vector<PgRows>> Pipeline(const std::vector<PgStatement>& batch,
                                         PgBatchError* error);

  // ROLLBACK when a transaction block is open or aborted; drops the connection's usability
  // (broken() true) when even that fails.
  void RollbackIfOpen();

  // True once the connection is unusable (server gone, protocol error): the pool drops it.
  bool broken() const;

  // The libpq handle, for what this class does not wrap (tests read notifications with it).
  PGconn* raw() { return conn_; }
  const std::string& redacted() const { return redacted_; }

 private:
  PgConnection(PGconn* conn, std::string redacted) : conn_(conn), redacted_(std::move(redacted)) {}
  // Status for a failed result (NULL result = connection-level failure).
  Status ResultError(const PGresult* res) const;

  PGconn* conn_;
  std::string redacted_;
};

// The Status for a server error: integrity and data errors (SQLSTATE classes 22, 23) are the
// caller's fault (kInvalidArgument); connection loss, shutdown, serialization failures and
// deadlocks are retryable (kUnavailable); the rest kInternal. The message is the server's
// primary message (no password can appear in it: libpq never echoes one).
Status StatusFromSqlState(std::string_view sqlstate, std::string message);

// Drops the server's NOTICE messages (e.g. "schema permcache already exists, skipping"), which
// libpq would otherwise print to stderr.
void SilenceNotices(PGconn* conn);

// "postgres://user@host:port/db" for `url_or_conninfo`, without any password; used in every
// message and by Describe(). Unparseable input gives "postgres://(unparseable URL)".
std::string RedactConnInfo(const std::string& url_or_conninfo);

}  // namespace permcache::postgres
