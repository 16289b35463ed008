#include "store/postgres/pg_connection.h"

#include <cstring>

namespace permcache::postgres {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

PgRows RowsOf(const PGresult* res) {
  PgRows out;
  const int rows = PQntuples(res), cols = PQnfields(res);
  out.rows.resize(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    auto& row = out.rows[static_cast<size_t>(r)];
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, c),
                                     static_cast<size_t>(PQgetlength(res, r, c))));
      }
    }
  }
  return out;
}

// libpq wants parallel arrays of C strings.
struct ParamArrays {
  explicit ParamArrays(const std::vector<std::optional<std::string>>& params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
  int count() const { return static_cast<int>(values.size()); }
  const char* const* data() const { return values.empty() ? nullptr : values.data(); }
  std::vector<const char*> values;
};

std::string TrimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

const std::string& PgRows::Text(size_t row, size_t col) const {
  static const std::string kEmpty;
  const auto& v = rows[row][col];
  return v ? *v : kEmpty;
}

Status StatusFromSqlState(std::string_view sqlstate, std::string message) {
  // Class 22: data exception; 23: integrity constraint violation (CHECK, FK, unique, and the
  // reference/cycle errors permcache's triggers raise with those codes).
  if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    return InvalidArgumentError(std::move(message));
  }
  // 08: connection exception; 57P0x: admin/crash shutdown; 40001/40P01: serialization failure,
  // deadlock; 53: insufficient resources; 55P03: lock not available.
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || sqlstate == "40001" ||
      sqlstate == "40P01" || sqlstate.starts_with("53") || sqlstate == "55P03") {
    return UnavailableError(std::move(message));
  }
  return InternalError(std::move(message));
}

void SilenceNotices(PGconn* conn) {
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
}

std::string RedactConnInfo(const std::string& url_or_conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url_or_conninfo.c_str(), &err);
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    return "postgres://(unparseable URL)";
  }
  std::string user, host, port, db;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view k = o->keyword;
    if (k == "user") user = o->val;
    if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") db = o->val;
  }
  PQconninfoFree(opts);
  std::string out = "postgres://";
  if (!user.empty()) out += user + "@";
  out += host;
  if (!port.empty()) out += ":" + port;
  out += "/" + db;
  return out;
}

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo,
                                                              const std::string& redacted,
                                                              const std::string& application_name) {
  // Keywords given separately override the URL's: a bounded connect, keepalives so a dead peer
  // is noticed, and a name that shows up in pg_stat_activity.
  const char* keys[] = {"dbname",          "application_name", "connect_timeout",
                        "keepalives_idle", "keepalives_interval", "keepalives_count",
                        nullptr};
  const char* vals[] = {conninfo.c_str(), application_name.c_str(), "5", "10", "5", "3", nullptr};
  // expand_dbname=1: the "dbname" value is parsed as a full URI / conninfo string.
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (conn == nullptr) return UnavailableError(redacted + ": out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = TrimNewline(PQerrorMessage(conn));
    PQfinish(conn);
    return UnavailableError("cannot connect to " + redacted + ": " + message);
  }
  SilenceNotices(conn);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, redacted));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

Status PgConnection::ResultError(const PGresult* res) const {
  if (res == nullptr) {
    return UnavailableError(redacted_ + ": " + TrimNewline(PQerrorMessage(conn_)));
  }
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = primary != nullptr ? primary : TrimNewline(PQresultErrorMessage(res));
  if (message.empty()) message = TrimNewline(PQerrorMessage(conn_));
  if (state == nullptr) {
    // No SQLSTATE: a client-side failure (lost connection, protocol error).
    return UnavailableError(redacted_ + ": " + message);
  }
  return StatusFromSqlState(state, std::move(message));
}

StatusOr<PgRows> PgConnection::Query(std::string_view sql,
                                     const std::vector<std::optional<std::string>>& params) {
  ParamArrays p(params);
  std::string text(sql);
  ResultPtr res(PQexecParams(conn_, text.c_str(), p.count(), nullptr, p.data(), nullptr, nullptr,
                             0));
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return ResultError(res.get());
  return RowsOf(res.get());
}

Status PgConnection::Prepare(const std::string& name, const std::string& sql) {
  ResultPtr res(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
    Status s = ResultError(res.get());
    return Status(s.code(), "preparing " + name + ": " + s.message());
  }
  return Status::Ok();
}

Status PgConnection::Exec(std::string_view sql) {
  std::string text(sql);
  ResultPtr res(PQexec(conn_, text.c_str()));
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return ResultError(res.get());
  return Status::Ok();
}

StatusOr<std::vector<PgRows>> PgConnection::Pipeline(const std::vector<PgStatement>& batch,
                                                     PgBatchError* error) {
  if (PQenterPipelineMode(conn_) != 1) {
    return UnavailableError(redacted_ + ": cannot enter pipeline mode: " +
                            TrimNewline(PQerrorMessage(conn_)));
  }
  struct ExitPipeline {
    PGconn* c;
    ~ExitPipeline() { PQexitPipelineMode(c); }
  } exit_pipeline{conn_};
  for (const PgStatement& s : batch) {
    ParamArrays p(s.params);
    const int sent =
        s.prepared
            ? PQsendQueryPrepared(conn_, s.sql.c_str(), p.count(), p.data(), nullptr, nullptr, 0)
            : PQsendQueryParams(conn_, s.sql.c_str(), p.count(), nullptr, p.data(), nullptr,
                                nullptr, 0);
    if (sent != 1) {
      return UnavailableError(redacted_ + ": send failed: " + TrimNewline(PQerrorMessage(conn_)));
    }
  }
  if (PQpipelineSync(conn_) != 1) {
    return UnavailableError(redacted_ + ": sync failed: " + TrimNewline(PQerrorMessage(conn_)));
  }
  std::vector<PgRows> out;
  out.reserve(batch.size());
  std::optional<PgBatchError> first_error;
  // Each statement yields its result, then a NULL; the sync yields PGRES_PIPELINE_SYNC.
  for (size_t i = 0; i < batch.size(); ++i) {
    ResultPtr res(PQgetResult(conn_));
    if (res == nullptr) {
      return UnavailableError(redacted_ + ": connection lost in a pipeline: " +
                              TrimNewline(PQerrorMessage(conn_)));
    }
    ExecStatusType st = PQresultStatus(res.get());
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      out.push_back(RowsOf(res.get()));
    } else if (st == PGRES_PIPELINE_ABORTED) {
      out.emplace_back();
    } else if (!first_error) {
      first_error = PgBatchError{i, ResultError(res.get())};
      out.emplace_back();
    } else {
      out.emplace_back();
    }
    // Drain to the NULL that ends this statement's results.
    while (ResultPtr more{PQgetResult(conn_)}) {
    }
  }
  ResultPtr sync(PQgetResult(conn_));
  if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return UnavailableError(redacted_ + ": pipeline out of step: " +
                            TrimNewline(PQerrorMessage(conn_)));
  }
  if (first_error) {
    if (error != nullptr) *error = *first_error;
    return first_error->status;
  }
  return out;
}

void PgConnection::RollbackIfOpen() {
  PGTransactionStatusType ts = PQtransactionStatus(conn_);
  if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
    ResultPtr res(PQexec(conn_, "ROLLBACK"));
    if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      // Leave the connection to be dropped by the pool: it is in an unknown state.
      PQreset(conn_);
    }
  }
}

}  // namespace permcache::postgres
