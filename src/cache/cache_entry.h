// CacheEntry: one cached (tenant, user) -> PermissionSet binding, allocated as a single block
// with its key bytes inline (header, then tenant bytes, then user bytes).
//
// Why this layout: at a million entries the per-entry overhead dominates the cache's memory
// (DESIGN §3 wants "a key and a pointer"), so there is no std::string, no separate key
// allocation, no stored hash (it is recomputed on the rare paths that need it: eviction, index
// deletion, rehash) and the set is a 4-byte index into the shard's SetTable (set_table.h). The
// FIFO link lives in the entry (intrusive queues, no queue slots). 28-byte header + key.
// (queue and wall_checked are bit-fields of one byte.)
//
// Thread safety: every field except `freq` is written only under the owning shard's exclusive
// lock and read under its shared or exclusive lock. `freq` is bumped by readers holding the
// shared lock (relaxed atomic, see BumpFreq).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include "common/hash.h"

namespace permcache::internal {

// Which S3-FIFO queue holds an entry.
enum class CacheQueue : uint8_t { kSmall = 0, kMain = 1 };

struct CacheEntry {
  // Keys longer than this (per component) are not cached; ids are at most 128 chars (DESIGN §2).
  static constexpr size_t kMaxKeyPart = 255;
  static constexpr uint8_t kMaxFreq = 3;
  static constexpr uint32_t kNoSet = UINT32_MAX;

  CacheEntry* next = nullptr;  // FIFO successor (intrusive singly linked queue)
  uint64_t revision = 0;
  uint32_t filled_rel_ms = 0;  // fill time, ms after the shard's base_ms
  // Index of the cached set in the shard's SetTable; kNoSet once the entry is dead
  // (invalidated or expired but still linked in a FIFO, which frees it when it reaches the
  // head). The set reference is released as soon as the entry dies.
  uint32_t set_index = kNoSet;
  std::atomic<uint8_t> freq{0};  // S3-FIFO 2-bit frequency, capped at kMaxFreq
  CacheQueue queue : 1 = CacheQueue::kSmall;
  // Hits read the wall clock: the set's next transition may come before the TTL retires the
  // entry (L1Cache::Install). Shares queue's byte, so it costs no space.
  bool wall_checked : 1 = false;
  uint8_t tenant_len = 0;
  uint8_t user_len = 0;
  // The key (tenant bytes, then user bytes) starts here and runs past the end of the struct:
  // starting at offset 28 instead of sizeof (32) saves a malloc size class for short ids.
  char key_head[4] = {};

  static constexpr size_t kKeyOffset = 28;
  const char* key_bytes() const { return reinterpret_cast<const char*>(this) + kKeyOffset; }
  std::string_view tenant() const { return {key_bytes(), tenant_len}; }
  std::string_view user() const { return {key_bytes() + tenant_len, user_len}; }
  bool dead() const { return set_index == kNoSet; }

  bool KeyEquals(std::string_view t, std::string_view u) const {
    return t.size() == tenant_len && u.size() == user_len &&
           BytesEqual(key_bytes(), t.data(), t.size()) &&
           BytesEqual(key_bytes() + tenant_len, u.data(), u.size());
  }
  // Inline compare for short ids: word loads with an overlapping tail instead of two libc
  // memcmp calls (which were ~17% of a hit in profiles).
  static bool BytesEqual(const char* a, const char* b, size_t n) {
    if (n >= 8) {
      size_t i = 0;
      for (; i + 8 <= n; i += 8) {
        if (Load64(a + i) != Load64(b + i)) return false;
      }
      return i == n || Load64(a + n - 8) == Load64(b + n - 8);
    }
    if (n >= 4) return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  static uint64_t Load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static uint32_t Load32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  uint64_t Hash() const { return HashKey(tenant(), user()); }

  // Relaxed load + store, not fetch_add: the frequency is an approximate recency/frequency
  // signal, a lost concurrent bump is harmless, and skipping the store at the cap keeps hot
  // entries' cache lines clean (no locked RMW on the hit path). No other data is published
  // through it; the eviction path reads it under the exclusive lock, which orders it.
  void BumpFreq() {
    const uint8_t f = freq.load(std::memory_order_relaxed);
    if (f < kMaxFreq) freq.store(static_cast<uint8_t>(f + 1), std::memory_order_relaxed);
  }

  static bool KeyFits(std::string_view t, std::string_view u) {
    return t.size() <= kMaxKeyPart && u.size() <= kMaxKeyPart;
  }
  static size_t RequestBytes(size_t key_len) {
    return kKeyOffset + key_len < sizeof(CacheEntry) ? sizeof(CacheEntry) : kKeyOffset + key_len;
  }
  // Bytes the allocator really uses for a block of `request` bytes: glibc malloc adds an 8-byte
  // header and rounds chunks to 16 bytes (minimum 32). Used for honest memory accounting.
  static size_t ChunkBytes(size_t request) {
    const size_t chunk = (request + sizeof(size_t) + 15) & ~size_t{15};
    return chunk < 32 ? 32 : chunk;
  }
  size_t AllocBytes() const { return ChunkBytes(RequestBytes(size_t{tenant_len} + user_len)); }

  // REQUIRES: KeyFits(t, u).
  static CacheEntry* Create(std::string_view t, std::string_view u) {
    void* mem = ::operator new(RequestBytes(t.size() + u.size()));
    auto* e = new (mem) CacheEntry();
    e->tenant_len = static_cast<uint8_t>(t.size());
    e->user_len = static_cast<uint8_t>(u.size());
    char* key = static_cast<char*>(mem) + kKeyOffset;
    if (!t.empty()) std::memcpy(key, t.data(), t.size());
    if (!u.empty()) std::memcpy(key + t.size(), u.data(), u.size());
    return e;
  }
  static void Destroy(CacheEntry* e) {
    e->~CacheEntry();
    ::operator delete(static_cast<void*>(e));
  }
};

// An intrusive FIFO of entries (S3-FIFO's small and main queues). Push at the tail, pop at the
// head; O(1), no allocation. Dead entries stay linked until popped (lazy removal).
class EntryFifo {
 public:
  void Push(CacheEntry* e) {
    e->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = e;
    } else {
      head_ = e;
    }
    tail_ = e;
    ++size_;
  }
  // REQUIRES: !empty().
  CacheEntry* Pop() {
    CacheEntry* e = head_;
    head_ = e->next;
    if (head_ == nullptr) tail_ = nullptr;
    e->next = nullptr;
    --size_;
    return e;
  }
  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }  // includes dead entries still linked
  CacheEntry* head() const { return head_; }

  // Unlinks every entry and returns them as a chain (for scans that rebuild the queue).
  CacheEntry* TakeAll() {
    CacheEntry* h = head_;
    head_ = tail_ = nullptr;
    size_ = 0;
    return h;
  }

 private:
  CacheEntry* head_ = nullptr;
  CacheEntry* tail_ = nullptr;
  size_t size_ = 0;
};

static_assert(offsetof(CacheEntry, key_head) == CacheEntry::kKeyOffset);
static_assert(sizeof(CacheEntry) == 32);

}  // namespace permcache::internal
