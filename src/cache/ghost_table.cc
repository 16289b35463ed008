#include "cache/ghost_table.h"

#include <algorithm>

namespace permcache::internal {

GhostTable::GhostTable(size_t capacity)
    : capacity_(std::min<size_t>(capacity, UINT32_MAX / 2)),
      num_buckets_(capacity_ == 0 ? 0 : (capacity_ + kWays - 1) / kWays),
      buckets_(num_buckets_ == 0 ? nullptr : std::make_unique<Bucket[]>(num_buckets_)) {}

GhostTable::~GhostTable() = default;

uint32_t GhostTable::Fingerprint(uint64_t hash) {
  // Remix: within one shard the hash's top bits are all equal (they chose the shard), so use a
  // multiplicative mix of all 64 bits. Never 0 (0 marks an empty slot).
  const uint32_t fp = static_cast<uint32_t>((hash * 0x9E3779B97F4A7C15ull) >> 32);
  return fp == 0 ? 1 : fp;
}

GhostTable::Bucket& GhostTable::BucketFor(uint64_t hash) {
  const uint64_t lo = static_cast<uint32_t>(hash ^ (hash >> 29));
  return buckets_[static_cast<size_t>((lo * num_buckets_) >> 32)];
}

void GhostTable::Insert(uint64_t hash) {
  if (num_buckets_ == 0) return;
  Bucket& b = BucketFor(hash);
  const uint32_t fp = Fingerprint(hash);
  // Replace the same fingerprint, else a dead slot, else the oldest live one.
  int victim = 0;
  uint32_t oldest_age = 0;
  for (int w = 0; w < kWays; ++w) {
    const uint64_t s = b.slots[w];
    if (s == 0 || !Live(s) || static_cast<uint32_t>(s >> 32) == fp) {
      victim = w;
      break;
    }
    const uint32_t age = seq_ - static_cast<uint32_t>(s);
    if (age >= oldest_age) {
      oldest_age = age;
      victim = w;
    }
  }
  ++seq_;
  // Sequence 0 would read as "empty" only together with fingerprint 0, which never occurs.
  b.slots[victim] = (static_cast<uint64_t>(fp) << 32) | seq_;
}

bool GhostTable::Remove(uint64_t hash) {
  if (num_buckets_ == 0) return false;
  Bucket& b = BucketFor(hash);
  const uint32_t fp = Fingerprint(hash);
  for (uint64_t& s : b.slots) {
    if (static_cast<uint32_t>(s >> 32) == fp && Live(s)) {
      s = 0;
      return true;
    }
  }
  return false;
}

void GhostTable::Clear() {
  for (size_t i = 0; i < num_buckets_; ++i) buckets_[i] = Bucket{};
}

}  // namespace permcache::internal
