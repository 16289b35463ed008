// EntryIndex: one shard's hash index from (tenant, user) to its live CacheEntry.
//
// Open addressing with linear probing and backward-shift deletion (no tombstones, so churn at
// steady state - one eviction per fill - never degrades probes). Slots are grouped by four:
// four 16-bit tags then four pointers (40 bytes), so a probe usually touches one cache line and
// dereferences an entry only when its tag (15 bits of the hash) matches. Capacity grows by
// doubling up to ceil(max_entries / 0.8) - not a power of two; the home slot is a
// multiply-shift "fast range" of the hash's low 32 bits - so a full shard costs ~12.5 bytes of
// index per entry and a load factor of at most 0.8.
//
// Bits of the key hash: low 32 = home slot, 32..46 = tag, 48..63 = shard (l1_cache.h).
//
// Thread safety: none of its own; the owning shard's lock guards it (Find under shared or
// exclusive, the rest exclusive).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "cache/cache_entry.h"

namespace permcache::internal {

class EntryIndex {
 public:
  // `max_entries`: the most entries the shard will ever hold; bounds the capacity.
  explicit EntryIndex(size_t max_entries);
  ~EntryIndex();
  EntryIndex(const EntryIndex&) = delete;
  EntryIndex& operator=(const EntryIndex&) = delete;

  // The live entry for the key, or null. Allocation-free.
  CacheEntry* Find(uint64_t hash, std::string_view tenant, std::string_view user) const {
    if (size_ == 0) return nullptr;
    const uint16_t tag = TagOf(hash);
    size_t i = Home(hash);
    for (;;) {
      const Group& g = groups_[i >> 2];
      const uint16_t t = g.tags[i & 3];
      if (t == 0) return nullptr;
      if (t == tag) {
        CacheEntry* e = g.entries[i & 3];
        if (e->KeyEquals(tenant, user)) return e;
      }
      if (++i == capacity_) i = 0;
    }
  }

  // Prefetch hint for the home slot group of `hash`. May be called WITHOUT the shard lock: it
  // reads only the published (table, capacity) pair, with relaxed atomics; a torn or stale pair
  // just prefetches a useless address (prefetches never fault). Touches no slot contents.
  void PrefetchHome(uint64_t hash) const {
    const Group* g = published_groups_.load(std::memory_order_relaxed);
    const size_t capacity = published_capacity_.load(std::memory_order_relaxed);
    if (g == nullptr || capacity == 0) return;
    __builtin_prefetch(&g[HomeIn(hash, capacity) >> 2]);
  }

  // Prefetch hint for the entry Find(hash, ...) will most likely compare: the first slot on the
  // probe path whose tag matches. REQUIRES: the shard lock (shared is enough).
  void PrefetchEntry(uint64_t hash) const {
    if (size_ == 0) return;
    const uint16_t tag = TagOf(hash);
    size_t i = Home(hash);
    for (;;) {
      const Group& g = groups_[i >> 2];
      const uint16_t t = g.tags[i & 3];
      if (t == 0) return;
      if (t == tag) {
        __builtin_prefetch(g.entries[i & 3]);
        return;
      }
      if (++i == capacity_) i = 0;
    }
  }

  // Adds `e` (whose key hashes to `hash`). REQUIRES: no entry with the same key is present and
  // size() < the constructor's max_entries. May grow (allocates).
  void Insert(uint64_t hash, CacheEntry* e);
  // Removes exactly `e` (found by hash, compared by pointer). Returns false if absent.
  bool Erase(uint64_t hash, const CacheEntry* e);
  // Drops every slot and releases the table (entries are not freed: the FIFOs own them).
  void Reset();

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Bytes of the slot table (capacity rounded to groups).
  size_t MemoryBytes() const { return NumGroups(capacity_) * sizeof(Group); }

 private:
  struct Group {
    uint16_t tags[4];  // 0 = empty slot, else 0x8000 | 15 bits of the hash
    CacheEntry* entries[4];
  };
  static size_t NumGroups(size_t capacity) { return (capacity + 3) / 4; }
  static uint16_t TagOf(uint64_t hash) {
    return static_cast<uint16_t>(0x8000u | ((hash >> 32) & 0x7fffu));
  }
  static size_t HomeIn(uint64_t hash, size_t capacity) {
    return static_cast<size_t>((static_cast<uint64_t>(static_cast<uint32_t>(hash)) * capacity) >>
                               32);
  }
  size_t Home(uint64_t hash) const { return HomeIn(hash, capacity_); }
  // Publishes (groups_, capacity_) for PrefetchHome. REQUIRES: exclusive lock.
  void Publish() {
    published_groups_.store(groups_.get(), std::memory_order_relaxed);
    published_capacity_.store(capacity_, std::memory_order_relaxed);
  }
  uint16_t& TagAt(size_t i) { return groups_[i >> 2].tags[i & 3]; }
  CacheEntry*& EntryAt(size_t i) { return groups_[i >> 2].entries[i & 3]; }
  void Rehash(size_t new_capacity);
  void Place(uint64_t hash, CacheEntry* e);

  size_t max_capacity_;
  size_t capacity_ = 0;
  size_t size_ = 0;
  std::unique_ptr<Group[]> groups_;
  // Copies of groups_.get() and capacity_ for the lock-free PrefetchHome. Relaxed: only used to
  // compute a prefetch address; nothing is read through them.
  std::atomic<const Group*> published_groups_{nullptr};
  std::atomic<size_t> published_capacity_{0};
};

}  // namespace permcache::internal
