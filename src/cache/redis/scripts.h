// The Lua scripts that make L2 fills race-free (DESIGN §3 "No stale fill"). Each runs
// atomically inside Redis, so "check the tombstones, then write" cannot interleave with an
// invalidation from another node. Run them with RunScript (connection.h): EVALSHA, falling
// back to EVAL when the server answers NOSCRIPT (after a restart or SCRIPT FLUSH).
//
// Thread safety: immutable globals.
#pragma once

#include <string>
#include <string_view>

namespace permcache::redis {

struct LuaScript {
  std::string_view source;
  std::string sha1;  // lowercase hex SHA-1 of `source`, as EVALSHA expects
};

// Put. KEYS: entry, user tombstone, tenant tombstone, global tombstone.
// ARGV: revision, value JSON, ttl_ms.
// Returns 1 = stored, 0 = refused (a tombstone is newer than revision),
//        -1 = refused (the entry already holds a newer revision).
const LuaScript& PutScript();

// Invalidate keys. KEYS: entry1, tombstone1, entry2, tombstone2, ...
// ARGV: revision, tombstone_ttl_ms. Raises each tombstone to `revision` (never lowers it; not
// written when revision is 0) and deletes each entry. Returns the number of entries deleted.
const LuaScript& InvalidateScript();

// Raise one tombstone. KEYS: tombstone. ARGV: revision, tombstone_ttl_ms. Returns 1 if raised.
const LuaScript& TombstoneScript();

// Begin an unlock attempt. KEYS: attempt counter. ARGV: max_failures, window_ms. Returns 0 and
// counts the attempt (the first count starts the window: PEXPIRE), or, at the limit, the ms left
// in the window (nothing counted).
const LuaScript& BeginAttemptScript();

// The attempt succeeded. KEYS: attempt counter. Uncounts it (DECR keeps the expiry; never
// below 0). Returns the remaining count.
const LuaScript& AttemptSucceededScript();

}  // namespace permcache::redis
