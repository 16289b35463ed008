#include "engine/interner.h"

namespace permcache {

Interner::Interner() : state_(std::make_shared<State>()) {}
Interner::~Interner() = default;

std::shared_ptr<const PermissionSet> Interner::Intern(PermissionSet set) {
  const uint64_t hash = set.ContentHash();
  std::lock_guard<std::mutex> lock(mu_);
  auto& bucket = by_hash_[hash];
  for (const auto& weak : bucket) {
    if (auto live = weak.lock(); live && *live == set) return live;
  }
  const uint64_t bytes = set.MemoryBytes();
  state_->live_sets.fetch_add(1, std::memory_order_relaxed);
  state_->live_bytes.fetch_add(bytes, std::memory_order_relaxed);
  // The deleter keeps the counters' State alive, so sets may outlive the Interner.
  std::shared_ptr<const PermissionSet> shared(
      new PermissionSet(std::move(set)), [state = state_, bytes](const PermissionSet* p) {
        state->live_sets.fetch_sub(1, std::memory_order_relaxed);
        state->live_bytes.fetch_sub(bytes, std::memory_order_relaxed);
        delete p;
      });
  bucket.push_back(shared);
  // Drop dead weak pointers once the table has doubled, so it stays proportional to live sets.
  if (by_hash_.size() >= sweep_at_) {
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
      std::erase_if(it->second, [](const auto& w) { return w.expired(); });
      it = it->second.empty() ? by_hash_.erase(it) : std::next(it);
    }
    sweep_at_ = std::max<size_t>(1024, by_hash_.size() * 2);
  }
  return shared;
}

}  // namespace permcache
