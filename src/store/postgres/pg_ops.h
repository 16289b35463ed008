// The SQL each write op becomes on PostgreSQL. permcache's own writes are plain statements on
// the model tables, exactly what another application would send: the database's constraints
// and triggers (sql/001_schema.sql) check references and cycles and record the changed keys,
// so there is one capture path for every writer (docs/postgres.md).
//
// Thread safety: pure.
#pragma once

#include <vector>

#include "permcache/model.h"
#include "store/postgres/pg_connection.h"

namespace permcache::postgres {

// The statements for `op`, in order. REQUIRES: ValidateOp(op) is OK.
std::vector<PgStatement> OpStatements(const WriteOp& op);

// A text[] literal for `values` ({"a","b"}), for patterns and role ids (which never contain a
// quote or backslash; both are escaped anyway).
std::string TextArrayLiteral(const std::vector<std::string>& values);

}  // namespace permcache::postgres
