// The PostgreSQL schema migrations (src/store/postgres/sql/NNN_name.sql, embedded at build
// time) and the runner that applies them at start under an advisory lock, so many nodes may
// start at once against one database.
//
// Thread safety: Migrate uses the one connection it is given.
#pragma once

#include <cstddef>
#include <string>

#include "permcache/status.h"

namespace permcache::postgres {

class PgConnection;

struct PgMigration {
  int version;
  const char* name;
  const char* sql;
};
extern const PgMigration kPgMigrations[];
extern const size_t kPgMigrationCount;

// The session-level advisory lock key that serializes migrations across nodes ('permmigr').
inline constexpr long long kMigrationLockKey = 0x7065726d6d696772LL;

// Creates schema `permcache` and applies every migration newer than the database's, each in its
// own transaction, holding kMigrationLockKey meanwhile. kInvalidArgument when the database was
// migrated by a newer permcache; the failing migration's error otherwise.
Status Migrate(PgConnection& conn);

// The newest migration this binary knows.
int LatestPgSchemaVersion();

}  // namespace permcache::postgres
