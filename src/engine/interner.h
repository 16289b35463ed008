// Interner: identical PermissionSets are stored once and shared (many users hold the same role
// mix), so a cache entry costs a key and a pointer.
//
// Thread safety: Intern() and the stats are thread-safe (one mutex; Intern is only called on
// cache fills, never on the hit path).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/thread_annotations.h"
#include "engine/permission_set.h"

namespace permcache {

class Interner {
 public:
  Interner();
  ~Interner();
  Interner(const Interner&) = delete;
  Interner& operator=(const Interner&) = delete;

  // Returns the shared instance equal to `set`, creating it if none is alive.
  std::shared_ptr<const PermissionSet> Intern(PermissionSet set);

  // Sets currently alive (referenced by someone), and the bytes they hold.
  uint64_t live_sets() const { return state_->live_sets.load(std::memory_order_relaxed); }
  uint64_t live_bytes() const { return state_->live_bytes.load(std::memory_order_relaxed); }

 private:
  // Shared with each set's deleter so a set may outlive the Interner safely.
  struct State {
    // Relaxed: statistics only; no other memory is published through them.
    std::atomic<uint64_t> live_sets{0};
    std::atomic<uint64_t> live_bytes{0};
  };
  std::shared_ptr<State> state_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<std::weak_ptr<const PermissionSet>>> by_hash_
      PERMCACHE_GUARDED_BY(mu_);
  size_t sweep_at_ PERMCACHE_GUARDED_BY(mu_) = 1024;
};

}  // namespace permcache
