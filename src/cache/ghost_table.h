// GhostTable: S3-FIFO's ghost queue - remembers the hashes of the ~capacity keys most recently
// evicted from the small queue without their data, so a key that comes back soon is admitted
// straight to the main queue.
//
// Instead of a FIFO of hashes plus a set for lookups (two structures, ~24 bytes per ghost), it
// is one 4-way set-associative table of 8-byte slots {32-bit fingerprint, 32-bit insertion
// sequence}: a slot is a live ghost while fewer than `capacity` ghosts were inserted after it,
// which is exactly FIFO-of-capacity semantics, except that a full bucket drops its oldest
// ghost early. A fingerprint collision only admits some key to main early - a hit-ratio
// nuance, never a correctness problem (ghosts carry no data).
//
// Thread safety: none of its own; guarded by the owning shard's exclusive lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace permcache::internal {

class GhostTable {
 public:
  explicit GhostTable(size_t capacity);
  ~GhostTable();
  GhostTable(const GhostTable&) = delete;
  GhostTable& operator=(const GhostTable&) = delete;

  void Insert(uint64_t hash);
  // True (and forgets it) if `hash` is a live ghost.
  bool Remove(uint64_t hash);
  void Clear();

  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const { return num_buckets_ * sizeof(Bucket); }

 private:
  static constexpr int kWays = 4;
  struct Bucket {
    uint64_t slots[kWays];  // fingerprint << 32 | sequence; 0 = empty
  };
  static uint32_t Fingerprint(uint64_t hash);
  Bucket& BucketFor(uint64_t hash);
  bool Live(uint64_t slot) const {
    return slot != 0 && seq_ - static_cast<uint32_t>(slot) < capacity_;
  }

  size_t capacity_;
  size_t num_buckets_;
  uint32_t seq_ = 0;  // wraps; ages are computed modulo 2^32
  std::unique_ptr<Bucket[]> buckets_;
};

}  // namespace permcache::internal
