// SetTable: one shard's refcounted table of the distinct PermissionSets its entries point to.
//
// Why: sets are interned (DESIGN §3: many users share a role mix), so a shard holds far fewer
// distinct sets than entries. An entry stores a 4-byte index here instead of a 16-byte
// shared_ptr, which (with the inline key) moves a typical entry from a 64-byte to a 48-byte
// malloc chunk. The table holds the one shared_ptr per distinct set, and hits read the set
// through it without touching any refcount. Worst case (every entry a distinct set) it costs
// ~60 bytes per set; memory_bytes accounts for it honestly.
//
// Thread safety: none of its own; Get under the shard's shared or exclusive lock, the rest
// under the exclusive lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/permission_set.h"

namespace permcache::internal {

class SetTable {
 public:
  using SetPtr = std::shared_ptr<const PermissionSet>;
  static constexpr uint32_t kNone = UINT32_MAX;

  // Returns the index of `set` (REQUIRES non-null), taking one reference.
  uint32_t Acquire(const SetPtr& set);
  // Drops one reference taken by Acquire; the set is released with its last reference.
  void Release(uint32_t index);

  const PermissionSet& Get(uint32_t index) const { return *slots_[index].set; }
  const SetPtr& GetPtr(uint32_t index) const { return slots_[index].set; }
  size_t distinct() const { return by_ptr_.size(); }
  // Slot vector + hash map nodes and buckets (glibc chunk sizes).
  size_t MemoryBytes() const;

 private:
  struct Slot {
    SetPtr set;          // null when free
    uint32_t refs = 0;
    uint32_t next_free = kNone;
  };
  std::vector<Slot> slots_;
  uint32_t free_head_ = kNone;
  std::unordered_map<const PermissionSet*, uint32_t> by_ptr_;
};

}  // namespace permcache::internal
