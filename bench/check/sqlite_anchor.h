// The G5 anchor: a plain prepared SQLite primary-key lookup through the sqlite3 C API, on a
// 100k-row table in a WAL file, timed per lookup exactly as the permcache cold miss is.
//
// Thread safety: single-threaded; one call at a time per path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "permcache/status.h"

namespace permcache::bench {

struct SqliteAnchorResult {
  std::vector<int64_t> samples_ns;  // one per measured lookup, timer overhead included
  size_t rows_found = 0;            // sanity: must equal samples_ns.size()
};

// Creates `path` (WAL) with `rows` rows (pk "perms:u{i}:t{i%10}", status "active"), reopens it
// on a fresh connection, looks up keys order[0, warm) untimed, then times order[warm, warm+n).
StatusOr<SqliteAnchorResult> RunSqliteAnchor(const std::string& path, size_t rows,
                                             const std::vector<uint32_t>& order, size_t warm,
                                             size_t n);

}  // namespace permcache::bench
