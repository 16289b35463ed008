// L1Cache: the in-process cache of compiled PermissionSets keyed by (tenant, user).
//
// CONTRACT (the implementation must keep it; see docs/invalidation.md):
//  - Sharded by HashKey(tenant, user); each shard has its own lock. Hits take the shard lock in
//    shared mode only and do not allocate.
//  - Bounded by max_entries and max_bytes (accounted: entry + key + index slot); eviction is
//    S3-FIFO (small FIFO 10%, main FIFO, ghost FIFO of hashes), which beats LRU under skew and
//    needs no list moves on hit (a hit only bumps a 2-bit frequency with a relaxed atomic).
//  - TTL: an entry older than ttl is never returned; it is dropped lazily and counted as an
//    expiration.
//  - Single-flight: concurrent Load() calls for one key run the loader once; the others wait and
//    share its result.
//  - Race-free invalidation: Load() registers its flight before calling the loader. Any
//    invalidation that covers the key while the flight runs "poisons" it: the result is still
//    returned to the callers already waiting (their checks began before the invalidating write
//    returned) but is NOT installed, and the flight is unlinked so callers arriving after the
//    invalidation start a fresh load. Counted in stale_installs_refused.
//  - Invalidate*() removes matching entries before returning.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "common/clock.h"
#include "engine/permission_set.h"
#include "permcache/options.h"
#include "permcache/status.h"

namespace permcache {

class L1Cache {
 public:
  using SetPtr = std::shared_ptr<const PermissionSet>;

  // What a hit exposes; valid only inside the Visit callback.
  struct EntryView {
    const PermissionSet& set;
    uint64_t revision;     // store revision the set was read at
    int64_t filled_at_ms;  // clock time of the fill
  };
  // What a loader produces.
  struct Loaded {
    SetPtr set;
    uint64_t revision = 0;
  };
  using Loader = std::function<StatusOr<Loaded>()>;

  struct Stats {
    uint64_t entries = 0, hits = 0, misses = 0, evictions = 0, expirations = 0,
             invalidations = 0, stale_installs_refused = 0, fills = 0, single_flight_waits = 0,
             memory_bytes = 0;
  };

  L1Cache(const CacheOptions& options, const Clock* clock);
  ~L1Cache();
  L1Cache(const L1Cache&) = delete;
  L1Cache& operator=(const L1Cache&) = delete;

  // On a live entry for (tenant, user) calls fn(const EntryView&) under the shard's shared lock
  // and returns true (a hit). Otherwise returns false (a miss). `hash` = HashKey(tenant, user).
  // fn must be short and must not call back into the cache.
  template <typename Fn>
  bool Visit(uint64_t hash, std::string_view tenant, std::string_view user, Fn&& fn);

  // Miss path: single-flight load and (unless poisoned) install. Returns the loader's result
  // (or its error; errors are never cached). `hash` = HashKey(tenant, user).
  StatusOr<Loaded> Load(uint64_t hash, std::string_view tenant, std::string_view user,
                        const Loader& loader);

  // Each returns the number of entries removed and poisons matching in-flight loads.
  uint64_t InvalidateKey(std::string_view tenant, std::string_view user);
  uint64_t InvalidateUser(std::string_view user);      // every tenant
  uint64_t InvalidateTenant(std::string_view tenant);  // every user
  // Glob (`*` any run, `?` one char) over the key "perms:{user}:{tenant}".
  uint64_t InvalidatePattern(std::string_view glob);
  uint64_t InvalidateAll();

  Stats GetStats() const;

  // private: implementation-defined (shards, S3-FIFO queues, flights).
};

}  // namespace permcache

