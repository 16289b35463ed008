#include "store/postgres/pg_migrations.h"

#include <string>

#include "store/postgres/pg_connection.h"

namespace permcache::postgres {

int LatestPgSchemaVersion() { return kPgMigrations[kPgMigrationCount - 1].version; }

namespace {

Status MigrateLocked(PgConnection& conn) {
  PERMCACHE_RETURN_IF_ERROR(conn.Exec(
      "CREATE SCHEMA IF NOT EXISTS permcache;"
      "CREATE TABLE IF NOT EXISTS permcache.schema_migrations ("
      "  version    integer PRIMARY KEY,"
      "  name       text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now())"));
  PERMCACHE_ASSIGN_OR_RETURN(
      PgRows rows, conn.Query("SELECT coalesce(max(version), 0) FROM permcache.schema_migrations"));
  const int current = std::stoi(rows.Text(0, 0));
  if (current > LatestPgSchemaVersion()) {
    return InvalidArgumentError(conn.redacted() + " has permcache schema version " +
                                std::to_string(current) + ", newer than this binary's " +
                                std::to_string(LatestPgSchemaVersion()) +
                                ": upgrade permcache");
  }
  for (size_t i = 0; i < kPgMigrationCount; ++i) {
    const PgMigration& m = kPgMigrations[i];
    if (m.version <= current) continue;
    PERMCACHE_RETURN_IF_ERROR(conn.Exec("BEGIN"));
    Status s = conn.Exec(m.sql);
    if (s.ok()) {
      auto recorded =
          conn.Query("INSERT INTO permcache.schema_migrations (version, name) VALUES ($1, $2)",
                     {std::to_string(m.version), std::string(m.name)});
      s = recorded.status();
    }
    if (s.ok()) s = conn.Exec("COMMIT");
    if (!s.ok()) {
      conn.RollbackIfOpen();
      return Status(s.code(), "applying permcache schema migration " + std::string(m.name) +
                                  " to " + conn.redacted() + ": " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace

Status Migrate(PgConnection& conn) {
  // Session-level lock: held across the per-migration transactions, released below (and by
  // the server if this connection dies).
  PERMCACHE_RETURN_IF_ERROR(
      conn.Query("SELECT pg_advisory_lock($1)", {std::to_string(kMigrationLockKey)}).status());
  Status s = MigrateLocked(conn);
  auto unlocked = conn.Query("SELECT pg_advisory_unlock($1)", {std::to_string(kMigrationLockKey)});
  if (s.ok() && !unlocked.ok()) return unlocked.status();
  return s;
}

}  // namespace permcache::postgres
