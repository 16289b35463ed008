#include "cache/set_table.h"

#include <cassert>

namespace permcache::internal {

uint32_t SetTable::Acquire(const SetPtr& set) {
  auto [it, inserted] = by_ptr_.try_emplace(set.get(), kNone);
  if (!inserted) {
    ++slots_[it->second].refs;
    return it->second;
  }
  uint32_t index;
  if (free_head_ != kNone) {
    index = free_head_;
    free_head_ = slots_[index].next_free;
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[index].set = set;
  slots_[index].refs = 1;
  slots_[index].next_free = kNone;
  it->second = index;
  return index;
}

void SetTable::Release(uint32_t index) {
  Slot& slot = slots_[index];
  assert(slot.refs > 0);
  if (--slot.refs > 0) return;
  by_ptr_.erase(slot.set.get());
  slot.set.reset();
  slot.next_free = free_head_;
  free_head_ = index;
}

size_t SetTable::MemoryBytes() const {
  // A node of unordered_map<pointer, uint32_t> (no cached hash): next + key + value = 24 bytes,
  // a 32-byte malloc chunk; plus one pointer per bucket.
  constexpr size_t kNodeChunk = 32;
  return slots_.capacity() * sizeof(Slot) + by_ptr_.size() * kNodeChunk +
         by_ptr_.bucket_count() * sizeof(void*);
}

}  // namespace permcache::internal
