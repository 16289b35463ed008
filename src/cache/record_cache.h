// RecordCache<V>: the in-process cache of one small record per resource or UI element, keyed by
// (tenant, id). A resource or element answer is computed from the user's compiled set (L1) and
// this record, so nothing is ever cached per (user, resource).
//
// CONTRACT:
//  - Hits take one shard's lock in shared mode and do not allocate.
//  - Each entry carries its own TTL (restricted resources get a shorter one, as seed 001).
//  - Race-free fills (DESIGN §3): Fill() takes a generation before the store read and installs
//    only if no invalidation of that key (or of its tenant, or all) happened since. A fill that
//    raced a change never installs the old record (counted in stale_installs_refused).
//  - Bounded by max_entries: a full shard drops an expired entry, else an arbitrary one.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/hash.h"
#include "common/rw_spin_lock.h"
#include "permcache/model.h"

namespace permcache {

template <class V>
class RecordCache {
 public:
  using Ptr = std::shared_ptr<const V>;
  struct Stats {
    uint64_t entries = 0, hits = 0, misses = 0, invalidations = 0, stale_installs_refused = 0;
  };

  explicit RecordCache(size_t max_entries) : per_shard_max_(max_entries / kShards + 1) {}

  // The live record of (tenant, id) at `now_ms`, or null.
  Ptr Get(std::string_view tenant, std::string_view id, int64_t now_ms) const {
    KeyBuf key(tenant, id);
    const Shard& s = ShardFor(key);
    std::shared_lock lock(s.mu);
    const auto it = s.map.find(key.hashed());
    if (it == s.map.end() || now_ms >= it->second.expires_ms) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    s.hits.fetch_add(1, std::memory_order_relaxed);
    return it->second.value;
  }

  // On a live record calls fn(const V&) under the shard's shared lock and returns true; the
  // hot path (no refcount traffic). fn must be short and must not call back into this cache.
  // A miss is not counted: the caller falls back to Get, which counts it.
  template <class Fn>
  bool Visit(std::string_view tenant, std::string_view id, int64_t now_ms, Fn&& fn) const {
    KeyBuf key(tenant, id);
    const Shard& s = ShardFor(key);
    std::shared_lock lock(s.mu);
    const auto it = s.map.find(key.hashed());
    if (it == s.map.end() || now_ms >= it->second.expires_ms) return false;
    s.hits.fetch_add(1, std::memory_order_relaxed);
    fn(*it->second.value);
    return true;
  }

  // A generation to pass to Install; take it before reading the store.
  uint64_t Generation(std::string_view tenant, std::string_view id) const {
    KeyBuf key(tenant, id);
    const Shard& s = ShardFor(key);
    std::shared_lock lock(s.mu);
    return s.generation;
  }

  // Installs `value` unless (tenant, id) was invalidated since `generation` was taken.
  void Install(std::string_view tenant, std::string_view id, uint64_t generation, Ptr value,
               int64_t expires_ms) {
    KeyBuf key(tenant, id);
    Shard& s = ShardFor(key);
    std::unique_lock lock(s.mu);
    if (s.generation != generation) {
      stale_installs_refused_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (s.map.size() >= per_shard_max_ && s.map.find(key.hashed()) == s.map.end()) {
      s.map.erase(s.map.begin());  // arbitrary victim: records are cheap to reload
    }
    Entry& e = s.map[std::string(key.view())];
    e.value = std::move(value);
    e.expires_ms = expires_ms;
  }

  uint64_t Invalidate(std::string_view tenant, std::string_view id) {
    KeyBuf key(tenant, id);
    Shard& s = ShardFor(key);
    std::unique_lock lock(s.mu);
    ++s.generation;
    const auto it = s.map.find(key.hashed());
    if (it == s.map.end()) return 0;
    s.map.erase(it);
    invalidations_.fetch_add(1, std::memory_order_relaxed);
    return 1;
  }

  // Every record of `tenant` (empty = every tenant).
  uint64_t InvalidateTenant(std::string_view tenant) {
    uint64_t n = 0;
    for (Shard& s : shards_) {
      std::unique_lock lock(s.mu);
      ++s.generation;
      n += std::erase_if(s.map, [&](const auto& kv) {
        return tenant.empty() || TenantOf(kv.first) == tenant;
      });
    }
    invalidations_.fetch_add(n, std::memory_order_relaxed);
    return n;
  }
  uint64_t InvalidateAll() { return InvalidateTenant({}); }

  Stats GetStats() const {
    Stats st;
    for (const Shard& s : shards_) {
      std::shared_lock lock(s.mu);
      st.entries += s.map.size();
      st.hits += s.hits.load(std::memory_order_relaxed);
      st.misses += s.misses.load(std::memory_order_relaxed);
    }
    st.invalidations = invalidations_.load(std::memory_order_relaxed);
    st.stale_installs_refused = stale_installs_refused_.load(std::memory_order_relaxed);
    return st;
  }

 private:
  static constexpr size_t kShards = 16;  // = 1 << (64 - 60): ShardFor takes the top 4 bits
  struct Hashed {
    std::string_view key;
    uint64_t hash;
  };
  // "tenant\x1fid" built on the stack (ids are at most kMaxIdLength chars; longer input is cut,
  // which can only make two over-long keys share an entry — validation refuses them earlier).
  class KeyBuf {
   public:
    KeyBuf(std::string_view tenant, std::string_view id) {
      tenant = tenant.substr(0, kMaxIdLength);
      id = id.substr(0, kMaxIdLength);
      // An empty view may have a null data(): memcpy must not see it (even for 0 bytes).
      if (!tenant.empty()) std::memcpy(buf_.data(), tenant.data(), tenant.size());
      buf_[tenant.size()] = '\x1f';
      if (!id.empty()) std::memcpy(buf_.data() + tenant.size() + 1, id.data(), id.size());
      size_ = tenant.size() + 1 + id.size();
      hash_ = HashBytes(view());
    }
    std::string_view view() const { return {buf_.data(), size_}; }
    // The key with its hash: shard choice and map lookup share one HashBytes.
    Hashed hashed() const { return {view(), hash_}; }

   private:
    std::array<char, 2 * kMaxIdLength + 1> buf_;
    size_t size_;
    uint64_t hash_;
  };
  static std::string_view TenantOf(std::string_view key) { return key.substr(0, key.find('\x1f')); }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return HashBytes(s); }
    size_t operator()(const Hashed& k) const { return k.hash; }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
    bool operator()(const Hashed& a, std::string_view b) const { return a.key == b; }
    bool operator()(std::string_view a, const Hashed& b) const { return a == b.key; }
  };
  struct Entry {
    Ptr value;
    int64_t expires_ms = 0;
  };
  struct alignas(64) Shard {
    mutable RwSpinLock mu;  // as L1: hits are a few ns of shared locking
    std::unordered_map<std::string, Entry, Hash, Eq> map;
    uint64_t generation = 0;  // bumped by every invalidation touching this shard (under mu)
    mutable std::atomic<uint64_t> hits{0}, misses{0};
  };
  // The top bits pick the shard; the map's buckets use the rest (hash % a prime).
  const Shard& ShardFor(const KeyBuf& key) const { return shards_[key.hashed().hash >> 60]; }
  Shard& ShardFor(const KeyBuf& key) { return shards_[key.hashed().hash >> 60]; }

  const size_t per_shard_max_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> invalidations_{0}, stale_installs_refused_{0};
};

}  // namespace permcache
