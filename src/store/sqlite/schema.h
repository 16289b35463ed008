// The SQLite schema as an ordered list of migrations, and the code that applies them at open.
//
// Thread safety: Migrate() uses the given connection only; callers serialize access to it.
// Several processes may migrate one file at once: BEGIN IMMEDIATE makes them take turns, and
// the later ones find nothing left to do.
#pragma once

#include <span>

#include "permcache/status.h"

namespace permcache::sqlite {

class Connection;

struct Migration {
  int version;      // 1, 2, 3, ... in order, never reused or edited once released
  const char* sql;  // one or more statements, run inside the migration transaction
};

// Every migration this binary knows, oldest first.
std::span<const Migration> Migrations();

// The newest schema version this binary knows (the last migration's version).
int LatestSchemaVersion();

// Brings the file behind `conn` to LatestSchemaVersion() in one BEGIN IMMEDIATE transaction,
// recording each applied version in `schema_migrations`. Idempotent. kInvalidArgument when the
// file was written by a newer binary (schema version above LatestSchemaVersion()): opening it
// could misread or corrupt data, so the caller must refuse to open it.
Status Migrate(Connection& conn, std::string_view describe);

}  // namespace permcache::sqlite
