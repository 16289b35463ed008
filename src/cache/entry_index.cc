#include "cache/entry_index.h"

#include <algorithm>
#include <cassert>

namespace permcache::internal {
namespace {

// Grow before the load factor passes 0.8: linear probing stays at a few probes per lookup.
constexpr size_t kMinCapacity = 16;
bool OverLoaded(size_t size, size_t capacity) { return size * 5 > capacity * 4; }

}  // namespace

EntryIndex::EntryIndex(size_t max_entries)
    : max_capacity_(std::max(kMinCapacity, max_entries + max_entries / 4 + 1)) {}

EntryIndex::~EntryIndex() = default;

void EntryIndex::Reset() {
  groups_.reset();
  capacity_ = 0;
  size_ = 0;
  Publish();
}

void EntryIndex::Rehash(size_t new_capacity) {
  std::unique_ptr<Group[]> old = std::move(groups_);
  const size_t old_capacity = capacity_;
  // Value-initialized: all tags 0 (empty).
  groups_ = std::make_unique<Group[]>(NumGroups(new_capacity));
  capacity_ = new_capacity;
  Publish();
  for (size_t i = 0; i < old_capacity; ++i) {
    const Group& g = old[i >> 2];
    if (g.tags[i & 3] != 0) Place(g.entries[i & 3]->Hash(), g.entries[i & 3]);
  }
}

void EntryIndex::Place(uint64_t hash, CacheEntry* e) {
  size_t i = Home(hash);
  while (TagAt(i) != 0) {
    if (++i == capacity_) i = 0;
  }
  TagAt(i) = TagOf(hash);
  EntryAt(i) = e;
}

void EntryIndex::Insert(uint64_t hash, CacheEntry* e) {
  if (capacity_ == 0 || OverLoaded(size_ + 1, capacity_)) {
    // Doubling keeps rehash cost amortized O(1); the last step is clamped so a full shard
    // wastes at most 20% of its slots instead of up to 60% with powers of two.
    const size_t want = std::max(kMinCapacity, capacity_ * 2);
    const size_t next = std::min(want, max_capacity_);
    if (next > capacity_) Rehash(next);
  }
  assert(size_ < capacity_);
  Place(hash, e);
  ++size_;
}

bool EntryIndex::Erase(uint64_t hash, const CacheEntry* e) {
  if (size_ == 0) return false;
  size_t i = Home(hash);
  for (;;) {
    if (TagAt(i) == 0) return false;
    if (EntryAt(i) == e) break;
    if (++i == capacity_) i = 0;
  }
  // Backward-shift deletion: pull later members of the probe run into the hole when their home
  // is not cyclically inside (hole, j], so every remaining key stays reachable from its home.
  size_t hole = i;
  size_t j = i;
  for (;;) {
    if (++j == capacity_) j = 0;
    if (TagAt(j) == 0) break;
    const size_t home = Home(EntryAt(j)->Hash());
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    TagAt(hole) = TagAt(j);
    EntryAt(hole) = EntryAt(j);
    hole = j;
  }
  TagAt(hole) = 0;
  EntryAt(hole) = nullptr;
  --size_;
  return true;
}

}  // namespace permcache::internal
