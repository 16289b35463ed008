// CheckerImpl: the Checker behind include/permcache/checker.h. Wires the store, the engine
// (compile + intern) and the L1 cache, and keeps this node's applied revision.
//
// Thread safety: all public methods are thread-safe. Writes are serialized by write_mu_;
// changelog catch-up by catch_up_mu_ (lock order: write_mu_ before catch_up_mu_).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/l1_cache.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "engine/interner.h"
#include "permcache/checker.h"

namespace permcache {

class CheckerImpl final : public Checker {
 public:
  CheckerImpl(const Options& options, std::unique_ptr<Store> store, uint64_t start_revision);
  ~CheckerImpl() override;

  StatusOr<Decision> Check(const CheckRequest& request) override;
  StatusOr<uint64_t> Write(std::span<const WriteOp> ops) override;
  StatusOr<EffectivePermissions> Permissions(std::string_view tenant,
                                             std::string_view user) override;
  StatusOr<MembershipInfo> Membership(std::string_view tenant, std::string_view user) override;
  StatusOr<Model> ExportModel(std::string_view tenant) override;
  StatusOr<uint64_t> ImportModel(const Model& model) override;
  StatusOr<uint64_t> Invalidate(const InvalidateRequest& request) override;
  void ApplyExternalChange(const ChangeSet& change) override;
  CacheStats Stats() const override;
  uint64_t AppliedRevision() const override {
    return applied_revision_.load(std::memory_order_acquire);
  }
  Status StoreHealth() override { return store_->Ping(); }
  std::string StoreDescription() const override { return store_->Describe(); }
  void AddChangeListener(ChangeListener listener) override {
    listeners_.push_back(std::move(listener));
  }

 private:
  // A compiled set and where it came from, for the non-hot-path readers.
  struct SetRef {
    L1Cache::SetPtr set;
    uint64_t revision = 0;
  };

  // Makes sure this node has applied `revision` (catching up from the changelog, waiting up to
  // the consistency timeout for the store to reach it). kUnavailable when it cannot.
  Status EnsureRevision(uint64_t revision);
  // Applies every changelog entry newer than the applied revision. Returns the store revision.
  Status CatchUp();
  // Drops the L1 entries `change` affects.
  void InvalidateLocal(const ChangeSet& change);
  // Reads (tenant, user) from the store and compiles it (the cache loader).
  StatusOr<L1Cache::Loaded> LoadFromStore(std::string_view tenant, std::string_view user);
  // The current set of (tenant, user), from L1 or the store.
  StatusOr<SetRef> GetSet(std::string_view tenant, std::string_view user);
  void PollLoop();

  const Options options_;
  const std::unique_ptr<Store> store_;
  const Clock* clock_;
  Interner interner_;
  L1Cache cache_;
  // Highest revision whose invalidations are applied to L1. Release on store (after the
  // invalidation), acquire on load: a reader that sees r also sees L1 without pre-r entries.
  std::atomic<uint64_t> applied_revision_;
  // Relaxed: a statistic.
  std::atomic<uint64_t> store_errors_{0};

  std::mutex write_mu_;
  std::mutex catch_up_mu_;
  std::vector<ChangeListener> listeners_;

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stopping_ PERMCACHE_GUARDED_BY(poll_mu_) = false;
  std::thread poll_thread_;
};

}  // namespace permcache
