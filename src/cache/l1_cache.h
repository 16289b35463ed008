// L1Cache: the in-process cache of compiled PermissionSets keyed by (tenant, user).
//
// CONTRACT (the implementation must keep it; see docs/invalidation.md):
//  - Sharded by HashKey(tenant, user); each shard has its own lock. Hits take the shard lock in
//    shared mode only and do not allocate.
//  - Bounded by max_entries and max_bytes (accounted: entry + key + index slot); eviction is
//    S3-FIFO (small FIFO 5%, main FIFO, ghost FIFO of hashes), which beats LRU under skew and
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
// Thread safety: every method is thread-safe. The destructor requires that no call is running.
//
// Implementation map (see src/cache/README.md): cache_entry.h (entry layout, intrusive FIFO),
// entry_index.h (per-shard open-addressing index), ghost_table.h (S3-FIFO ghost), set_table.h
// (refcounted distinct sets per shard), glob.h,
// l1_cache.cc (S3-FIFO policy, single-flight, invalidation).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

#include "cache/cache_entry.h"
#include "cache/entry_index.h"
#include "cache/ghost_table.h"
#include "cache/set_table.h"
#include "common/clock.h"
#include "common/rw_spin_lock.h"
#include "common/thread_annotations.h"
#include "engine/permission_set.h"
#include "permcache/options.h"
#include "permcache/status.h"

namespace permcache {

class L1Cache {
 public:
  // Room between an unchecked entry's TTL end and its set's transition: covers the coarse
  // monotonic clock lagging behind real time and the wall clock slewing or stepping by less.
  static constexpr int64_t kWallSlackMs = 60'000;

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
    CacheTier tier = CacheTier::kStore;  // where the loader found it (for explain)
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

  // Batch hints (see Checker::CheckBatch): a caller about to Visit many keys calls
  // PrefetchSlot on all of them, then PrefetchEntry on all, then Visit, so that the memory
  // accesses of the whole batch overlap instead of costing two DRAM round trips per key.
  // Neither changes any state or result. PrefetchSlot takes no lock.
  void PrefetchSlot(uint64_t hash) const { ShardFor(hash).index.PrefetchHome(hash); }
  void PrefetchEntry(uint64_t hash) const {
    Shard& s = ShardFor(hash);
    std::shared_lock lock(s.mu);
    s.index.PrefetchEntry(hash);
  }

  // Miss path: single-flight load and (unless poisoned) install. Returns the loader's result
  // (or its error; errors are never cached). `hash` = HashKey(tenant, user).
  // If a live entry appeared since the caller's Visit, returns it (tier kL1) without loading.
  // The loader runs on the calling thread with no cache lock held; REQUIRES: it does not
  // Load() the same key (it would wait for itself). Keys with an id over 255 bytes are never
  // cached (the loader is simply called).
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

  // Implementation-defined details, public only for tests and the bench.
  size_t shard_count() const { return shard_mask_ + 1; }

 private:
  struct Flight;
  struct Shard;
  // Keys of in-flight loads: views into Flight::key (the flight owns the bytes).
  using FlightMap = std::unordered_map<std::string_view, std::shared_ptr<Flight>>;

  // One independently locked slice of the cache. Aligned to a cache line so shards' hot words
  // (lock, hit counters) never share a line.
  struct alignas(64) Shard {
    Shard(size_t max_entries, size_t max_bytes, size_t ghost_capacity, int64_t base_ms);
    ~Shard();

    // Hot: touched by every Visit (mu, hits/misses, base_ms, index, sets).
    mutable RwSpinLock mu;
    // Relaxed: statistics only, read by GetStats; no data is published through them. Per
    // shard (not global) so hits on different shards do not contend on one cache line.
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
    // Entry fill times are stored as 32-bit ms after base_ms (see Rebase in l1_cache.cc).
    int64_t base_ms PERMCACHE_GUARDED_BY(mu);
    internal::EntryIndex index PERMCACHE_GUARDED_BY(mu);
    internal::SetTable sets PERMCACHE_GUARDED_BY(mu);

    // Cold: touched on fills, evictions, invalidations.
    internal::EntryFifo small_fifo PERMCACHE_GUARDED_BY(mu);
    internal::EntryFifo main_fifo PERMCACHE_GUARDED_BY(mu);
    internal::GhostTable ghost PERMCACHE_GUARDED_BY(mu);
    FlightMap flights PERMCACHE_GUARDED_BY(mu);
    size_t live PERMCACHE_GUARDED_BY(mu) = 0;         // entries in the index
    size_t resident PERMCACHE_GUARDED_BY(mu) = 0;     // entries allocated (live + dead linked)
    size_t entry_bytes PERMCACHE_GUARDED_BY(mu) = 0;  // malloc chunks of resident entries
    const size_t max_entries;
    const size_t max_bytes;
    const size_t small_target;  // S3-FIFO small queue size (10% of max_entries)
    // Relaxed statistics, as above (written under mu, but read by GetStats without it).
    std::atomic<uint64_t> evictions{0};
    std::atomic<uint64_t> expirations{0};
    std::atomic<uint64_t> invalidations{0};
    std::atomic<uint64_t> stale_installs_refused{0};
    std::atomic<uint64_t> fills{0};
    std::atomic<uint64_t> single_flight_waits{0};
  };

  Shard& ShardFor(uint64_t hash) const { return shards_[(hash >> 48) & shard_mask_]; }
  // True if `e` is older than the TTL at `now_ms`, or its set's next transition has come (time
  // is a writer, DESIGN §8: tested against the exact wall clock, so an entry is never served
  // past it). The wall clock is read only for entries whose transition was due within the TTL
  // plus kWallSlackMs when they were filled; the TTL retires the others first (a wall-clock
  // step larger than the slack is the Checker's to catch: WallClockWatch).
  // REQUIRES: s.mu held (shared is enough).
  bool Expired(const Shard& s, const internal::CacheEntry& e, int64_t now_ms) const {
    if ((now_ms - s.base_ms) - static_cast<int64_t>(e.filled_rel_ms) >= ttl_ms_) return true;
    return e.wall_checked && OutOfDate(s.sets.Get(e.set_index));
  }
  bool OutOfDate(const PermissionSet& set) const {
    const int64_t until = set.valid_until_ms();
    return until != Interval::kNoExpiry && until <= clock_->WallMs();
  }

  // All below REQUIRE s.mu held exclusively.
  static size_t MemoryBytes(const Shard& s);
  void Install(Shard& s, uint64_t hash, std::string_view tenant, std::string_view user,
               const Loaded& loaded, int64_t started_ms, int64_t now_ms);
  void EvictOne(Shard& s, int64_t now_ms);
  void Rebase(Shard& s, int64_t now_ms);
  static void Kill(Shard& s, internal::CacheEntry* e, uint64_t hash);
  static void Free(Shard& s, internal::CacheEntry* e);
  // Removes the live entries and poisons the flights whose (tenant, user) satisfy `match`.
  uint64_t InvalidateWhere(const std::function<bool(std::string_view, std::string_view)>& match,
                           bool everything);

  const Clock* const clock_;
  int64_t ttl_ms_;
  size_t shard_mask_;
  Shard* shards_;  // shard_mask_ + 1 shards, constructed in place (Shard is not movable)
};

template <typename Fn>
bool L1Cache::Visit(uint64_t hash, std::string_view tenant, std::string_view user, Fn&& fn) {
  Shard& s = ShardFor(hash);
  const int64_t now_ms = clock_->NowMs();
  std::shared_lock lock(s.mu);
  internal::CacheEntry* e = s.index.Find(hash, tenant, user);
  if (e == nullptr || Expired(s, *e, now_ms)) {
    // Expired entries are only skipped here (shared lock); Load or the FIFO drops them.
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  e->BumpFreq();
  s.hits.fetch_add(1, std::memory_order_relaxed);
  // The set is used under the shared lock, so no refcount traffic: the entry keeps it alive.
  fn(EntryView{s.sets.Get(e->set_index), e->revision, s.base_ms + static_cast<int64_t>(e->filled_rel_ms)});
  return true;
}

}  // namespace permcache

