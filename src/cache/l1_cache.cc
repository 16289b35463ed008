#include "cache/l1_cache.h"

#include <algorithm>
#include <condition_variable>
#include <new>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "cache/glob.h"

namespace permcache {

using internal::CacheEntry;
using internal::CacheQueue;

namespace {

// Fewer, larger shards when the cache is small: S3-FIFO needs a few dozen entries per shard for
// its 10% small queue to mean anything, and exact bounds matter more than lock spreading there.
constexpr size_t kMinEntriesPerShard = 64;
constexpr size_t kMaxShards = size_t{1} << 16;  // the shard index uses hash bits 48..63
// Fill times are 32-bit ms offsets; TTLs are clamped below 2^31 ms (~24.8 days) so an offset
// can always be rebased (see Rebase).
constexpr int64_t kMaxTtlMs = (int64_t{1} << 31) - 1;
constexpr int64_t kRebaseAfterMs = int64_t{UINT32_MAX} - 1;
// The ghost may use at most 1/8 of a shard's byte budget.
constexpr size_t kGhostBudgetDivisor = 8;

// The flight-map key: tenant length, tenant, user. Length-prefixed so ("ab","c") and ("a","bc")
// differ. REQUIRES: CacheEntry::KeyFits(tenant, user).
std::string FlightKey(std::string_view tenant, std::string_view user) {
  std::string key;
  key.reserve(1 + tenant.size() + user.size());
  key.push_back(static_cast<char>(static_cast<uint8_t>(tenant.size())));
  key.append(tenant);
  key.append(user);
  return key;
}
std::string_view FlightTenant(std::string_view key) {
  return key.substr(1, static_cast<uint8_t>(key[0]));
}
std::string_view FlightUser(std::string_view key) {
  return key.substr(1 + static_cast<uint8_t>(key[0]));
}

// Loaders are user code: an exception must not escape into the cache (waiters would hang), so
// it becomes an error like any other failed load (DESIGN §5: catch throws at the boundary).
StatusOr<L1Cache::Loaded> CallLoader(const L1Cache::Loader& loader) {
  try {
    StatusOr<L1Cache::Loaded> r = loader();
    if (r.ok() && r->set == nullptr) return InternalError("L1Cache loader returned a null set");
    return r;
  } catch (const std::exception& e) {
    return InternalError(std::string("L1Cache loader threw: ") + e.what());
  } catch (...) {
    return InternalError("L1Cache loader threw a non-standard exception");
  }
}

}  // namespace

// One single-flight load. The leader creates it (under the shard lock, before calling the
// loader), waiters share it through shared_ptr, and the leader publishes the result under mu.
struct L1Cache::Flight {
  explicit Flight(std::string k) : key(std::move(k)) {}
  const std::string key;  // FlightKey(); the FlightMap's key views it
  // Set (under the shard's exclusive lock) by an invalidation covering the key; the flight is
  // unlinked from the map at the same time. The leader reads it under that lock at install.
  bool poisoned = false;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;                        // guarded by mu
  std::optional<StatusOr<Loaded>> result;  // guarded by mu; set once, before done
};

L1Cache::Shard::Shard(size_t max_entries_in, size_t max_bytes_in, size_t ghost_capacity,
                      int64_t base)
    : base_ms(base),
      index(max_entries_in),
      ghost(ghost_capacity),
      max_entries(max_entries_in),
      max_bytes(max_bytes_in),
      small_target(std::max<size_t>(1, max_entries_in / 20)) {}

L1Cache::Shard::~Shard() {
  for (internal::EntryFifo* q : {&small_fifo, &main_fifo}) {
    while (!q->empty()) CacheEntry::Destroy(q->Pop());
  }
}

L1Cache::L1Cache(const CacheOptions& options, const Clock* clock) : clock_(clock) {
  ttl_ms_ = std::clamp<int64_t>(options.ttl.count(), 0, kMaxTtlMs);
  const size_t max_entries = std::max<size_t>(1, options.max_entries);
  size_t n = 1;
  while (n < options.shards && n < kMaxShards) n <<= 1;
  while (n > 1 && max_entries / n < kMinEntriesPerShard) n >>= 1;
  shard_mask_ = n - 1;

  const int64_t now = clock_->NowMs();
  std::allocator<Shard> alloc;
  shards_ = alloc.allocate(n);
  for (size_t i = 0; i < n; ++i) {
    // Spread remainders so the shards' bounds sum exactly to the options' bounds.
    const size_t entries = max_entries / n + (i < max_entries % n ? 1 : 0);
    const size_t bytes = options.max_bytes / n + (i < options.max_bytes % n ? 1 : 0);
    // 5 % probation queue (the paper uses 10 %): +0.3 points on the Zipf traces of
    // bench/hit_ratio, which are already within ~1.5 points of the best possible hit ratio.
    const size_t small_target = std::max<size_t>(1, entries / 20);
    // S3-FIFO sizes the ghost like the main queue; cap it by its byte share.
    const size_t ghost = std::min(entries - std::min(entries, small_target),
                                  bytes / kGhostBudgetDivisor / sizeof(uint64_t));
    std::construct_at(shards_ + i, entries, bytes, ghost, now);
  }
}

L1Cache::~L1Cache() {
  const size_t n = shard_mask_ + 1;
  for (size_t i = 0; i < n; ++i) std::destroy_at(shards_ + i);
  std::allocator<Shard>().deallocate(shards_, n);
}

size_t L1Cache::MemoryBytes(const Shard& s) {
  return s.entry_bytes + s.index.MemoryBytes() + s.ghost.MemoryBytes() + s.sets.MemoryBytes();
}

void L1Cache::Kill(Shard& s, CacheEntry* e, uint64_t hash) {
  s.index.Erase(hash, e);
  // Release the set now; the block stays linked until its FIFO pops it.
  s.sets.Release(e->set_index);
  e->set_index = CacheEntry::kNoSet;
  --s.live;
}

void L1Cache::Free(Shard& s, CacheEntry* e) {
  s.entry_bytes -= e->AllocBytes();
  --s.resident;
  CacheEntry::Destroy(e);
}

// One S3-FIFO eviction step (Yang et al., SOSP'23). It may only move an entry (small -> main,
// or main tail reinsertion) without freeing anything; callers loop, and the loop terminates
// because each entry moves small -> main once and is reinserted in main at most kMaxFreq times
// before its frequency reaches 0.
void L1Cache::EvictOne(Shard& s, int64_t now_ms) {
  const bool from_small =
      !s.small_fifo.empty() && (s.small_fifo.size() >= s.small_target || s.main_fifo.empty());
  internal::EntryFifo& q = from_small ? s.small_fifo : s.main_fifo;
  if (q.empty()) return;
  CacheEntry* e = q.Pop();
  if (e->dead()) {  // invalidated or found expired earlier: just reclaim the block
    Free(s, e);
    return;
  }
  const uint64_t hash = e->Hash();
  if (Expired(s, *e, now_ms)) {
    Kill(s, e, hash);
    Free(s, e);
    s.expirations.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Relaxed: we hold the exclusive lock, which orders every earlier bump before this read.
  const uint8_t freq = e->freq.load(std::memory_order_relaxed);
  if (from_small) {
    if (freq > 1) {
      // Accessed at least twice while on probation: promote to main (keeping its frequency).
      // A threshold of 2 (libCacheSim's default) keeps more one-off revisits out of main.
      e->queue = CacheQueue::kMain;
      s.main_fifo.Push(e);
      return;
    }
    // A one-hit wonder: evict, but remember the hash so a quick return goes straight to main.
    s.ghost.Insert(hash);
  } else if (freq > 0) {
    e->freq.store(static_cast<uint8_t>(freq - 1), std::memory_order_relaxed);
    s.main_fifo.Push(e);
    return;
  }
  Kill(s, e, hash);
  Free(s, e);
  s.evictions.fetch_add(1, std::memory_order_relaxed);
}

// Fill times are 32-bit ms offsets from base_ms (4 bytes per entry instead of 8). When the clock
// runs 2^32 ms (~49.7 days) past base_ms, move base_ms to now - ttl: entries older than that are
// expired anyway and are clamped to offset 0 (still expired: age >= ttl), the others keep their
// exact fill time. Visit needs no rebase: it computes ages in 64 bits.
void L1Cache::Rebase(Shard& s, int64_t now_ms) {
  const int64_t new_base = now_ms - ttl_ms_;
  for (internal::EntryFifo* q : {&s.small_fifo, &s.main_fifo}) {
    for (CacheEntry* e = q->head(); e != nullptr; e = e->next) {
      const int64_t filled = s.base_ms + static_cast<int64_t>(e->filled_rel_ms);
      e->filled_rel_ms = static_cast<uint32_t>(std::max<int64_t>(0, filled - new_base));
    }
  }
  s.base_ms = new_base;
}

void L1Cache::Install(Shard& s, uint64_t hash, std::string_view tenant, std::string_view user,
                      const Loaded& loaded, int64_t started_ms, int64_t now_ms) {
  // Only one flight per key can install, so a live entry here is unexpected; replace it.
  if (CacheEntry* old = s.index.Find(hash, tenant, user)) Kill(s, old, hash);
  // Out of date on arrival (its transition came while it was loaded): serve it to this caller
  // only; the next check reads again, and compiles past the transition.
  if (OutOfDate(*loaded.set)) return;
  if (now_ms - s.base_ms > kRebaseAfterMs) Rebase(s, now_ms);

  const size_t bytes = CacheEntry::ChunkBytes(CacheEntry::RequestBytes(tenant.size() + user.size()));
  while (s.resident > 0 &&
         (s.resident >= s.max_entries || MemoryBytes(s) + bytes > s.max_bytes)) {
    EvictOne(s, now_ms);
  }
  if (MemoryBytes(s) + bytes > s.max_bytes) return;  // cannot fit even in an empty shard

  CacheEntry* e = CacheEntry::Create(tenant, user);
  try {
    e->set_index = s.sets.Acquire(loaded.set);
  } catch (...) {
    CacheEntry::Destroy(e);
    throw;
  }
  e->revision = loaded.revision;
  const int64_t until = loaded.set->valid_until_ms();
  e->wall_checked =
      until != Interval::kNoExpiry && until - clock_->WallMs() <= ttl_ms_ + kWallSlackMs;
  // The fill time is when the load started (its data can be no newer), so the TTL is never
  // extended by a slow loader. A load older than base_ms (rebased meanwhile) is clamped to 0,
  // i.e. already expired.
  e->filled_rel_ms = static_cast<uint32_t>(
      std::clamp<int64_t>(started_ms - s.base_ms, 0, int64_t{UINT32_MAX}));
  // S3-FIFO admission: a key evicted from small recently (a ghost) goes straight to main.
  // Index first: its growth is the last step that can throw, and a throw must leave the entry
  // in no structure (undone here) rather than in a FIFO but not in the index.
  try {
    s.index.Insert(hash, e);
  } catch (...) {
    s.sets.Release(e->set_index);
    CacheEntry::Destroy(e);
    throw;
  }
  const bool to_main = s.ghost.Remove(hash);
  e->queue = to_main ? CacheQueue::kMain : CacheQueue::kSmall;
  (to_main ? s.main_fifo : s.small_fifo).Push(e);
  ++s.live;
  ++s.resident;
  s.entry_bytes += bytes;
  s.fills.fetch_add(1, std::memory_order_relaxed);
  // Index growth may have pushed the shard over its byte budget.
  while (s.resident > 0 && MemoryBytes(s) > s.max_bytes) EvictOne(s, now_ms);
}

StatusOr<L1Cache::Loaded> L1Cache::Load(uint64_t hash, std::string_view tenant,
                                        std::string_view user, const Loader& loader) {
  if (!CacheEntry::KeyFits(tenant, user)) return CallLoader(loader);  // never cached
  Shard& s = ShardFor(hash);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  int64_t started_ms = 0;
  {
    std::unique_lock lock(s.mu);
    started_ms = clock_->NowMs();
    // A flight may have filled the key since the caller's Visit missed.
    if (CacheEntry* e = s.index.Find(hash, tenant, user)) {
      if (!Expired(s, *e, started_ms)) {
        e->BumpFreq();
        return Loaded{s.sets.GetPtr(e->set_index), e->revision, CacheTier::kL1};
      }
      Kill(s, e, hash);
      s.expirations.fetch_add(1, std::memory_order_relaxed);
    }
    std::string key = FlightKey(tenant, user);
    if (auto it = s.flights.find(key); it != s.flights.end()) {
      flight = it->second;
      s.single_flight_waits.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Registered BEFORE the loader runs (under the lock): an invalidation from now on finds
      // and poisons it. This ordering is what makes invalidation race-free.
      flight = std::make_shared<Flight>(std::move(key));
      s.flights.emplace(std::string_view(flight->key), flight);
      leader = true;
    }
  }

  if (!leader) {
    std::unique_lock fl(flight->mu);
    flight->cv.wait(fl, [&] { return flight->done; });
    return *flight->result;
  }

  StatusOr<Loaded> result = CallLoader(loader);
  {
    std::unique_lock lock(s.mu);
    if (flight->poisoned) {
      // An invalidation covered this key while the loader ran: its read may predate the write,
      // so it must not outlive this call. (A poisoned flight is already unlinked, and the map
      // may now hold a newer flight for the key: do not touch it.)
      if (result.ok()) s.stale_installs_refused.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.flights.erase(std::string_view(flight->key));
      if (result.ok()) {
        try {
          Install(s, hash, tenant, user, *result, started_ms, clock_->NowMs());
        } catch (const std::bad_alloc&) {
          // Out of memory: serve the result uncached; the waiters below must still be woken.
        }
      }
    }
  }
  {
    std::lock_guard fl(flight->mu);
    flight->result.emplace(result);
    flight->done = true;
  }
  flight->cv.notify_all();
  return result;
}

uint64_t L1Cache::InvalidateKey(std::string_view tenant, std::string_view user) {
  if (!CacheEntry::KeyFits(tenant, user)) return 0;  // never cached, never in flight
  const uint64_t hash = HashKey(tenant, user);
  Shard& s = ShardFor(hash);
  std::unique_lock lock(s.mu);
  uint64_t removed = 0;
  if (CacheEntry* e = s.index.Find(hash, tenant, user)) {
    Kill(s, e, hash);  // unlinked from the index now; the FIFO reclaims the block lazily
    removed = 1;
  }
  if (auto it = s.flights.find(FlightKey(tenant, user)); it != s.flights.end()) {
    it->second->poisoned = true;
    s.flights.erase(it);
  }
  s.invalidations.fetch_add(removed, std::memory_order_relaxed);
  return removed;
}

uint64_t L1Cache::InvalidateWhere(
    const std::function<bool(std::string_view, std::string_view)>& match, bool everything) {
  uint64_t total = 0;
  for (size_t i = 0; i <= shard_mask_; ++i) {
    Shard& s = shards_[i];
    std::unique_lock lock(s.mu);
    uint64_t removed = 0;
    if (everything) {
      removed = s.live;
      for (internal::EntryFifo* q : {&s.small_fifo, &s.main_fifo}) {
        while (!q->empty()) {
          CacheEntry* e = q->Pop();
          if (!e->dead()) s.sets.Release(e->set_index);
          Free(s, e);
        }
      }
      s.live = 0;
      s.index.Reset();  // gives the table's memory back too
    } else {
      // One pass per queue, rebuilding it in order without the matching and the dead entries
      // (we are scanning anyway, so dead blocks are reclaimed here instead of lazily).
      for (internal::EntryFifo* q : {&s.small_fifo, &s.main_fifo}) {
        CacheEntry* chain = q->TakeAll();
        while (chain != nullptr) {
          CacheEntry* e = chain;
          chain = e->next;
          if (!e->dead() && !match(e->tenant(), e->user())) {
            q->Push(e);
            continue;
          }
          if (!e->dead()) {
            Kill(s, e, e->Hash());
            ++removed;
          }
          Free(s, e);
        }
      }
    }
    for (auto it = s.flights.begin(); it != s.flights.end();) {
      if (everything || match(FlightTenant(it->first), FlightUser(it->first))) {
        it->second->poisoned = true;
        it = s.flights.erase(it);
      } else {
        ++it;
      }
    }
    s.invalidations.fetch_add(removed, std::memory_order_relaxed);
    total += removed;
  }
  return total;
}

uint64_t L1Cache::InvalidateUser(std::string_view user) {
  return InvalidateWhere([user](std::string_view, std::string_view u) { return u == user; },
                         false);
}

uint64_t L1Cache::InvalidateTenant(std::string_view tenant) {
  return InvalidateWhere([tenant](std::string_view t, std::string_view) { return t == tenant; },
                         false);
}

uint64_t L1Cache::InvalidatePattern(std::string_view glob) {
  std::string key;  // "perms:{user}:{tenant}", reused across entries
  return InvalidateWhere(
      [glob, &key](std::string_view t, std::string_view u) {
        key.assign("perms:");
        key.append(u);
        key.push_back(':');
        key.append(t);
        return internal::GlobMatch(glob, key);
      },
      false);
}

uint64_t L1Cache::InvalidateAll() {
  return InvalidateWhere([](std::string_view, std::string_view) { return true; }, true);
}

L1Cache::Stats L1Cache::GetStats() const {
  Stats st;
  for (size_t i = 0; i <= shard_mask_; ++i) {
    const Shard& s = shards_[i];
    // Relaxed loads: a statistics snapshot need not be consistent across counters.
    st.hits += s.hits.load(std::memory_order_relaxed);
    st.misses += s.misses.load(std::memory_order_relaxed);
    st.evictions += s.evictions.load(std::memory_order_relaxed);
    st.expirations += s.expirations.load(std::memory_order_relaxed);
    st.invalidations += s.invalidations.load(std::memory_order_relaxed);
    st.stale_installs_refused += s.stale_installs_refused.load(std::memory_order_relaxed);
    st.fills += s.fills.load(std::memory_order_relaxed);
    st.single_flight_waits += s.single_flight_waits.load(std::memory_order_relaxed);
    std::shared_lock lock(s.mu);
    st.entries += s.live;
    st.memory_bytes += MemoryBytes(s);
  }
  return st;
}

}  // namespace permcache
