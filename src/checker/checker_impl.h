// CheckerImpl: the Checker behind include/permcache/checker.h. Wires the store, the engine
// (compile + intern) and the L1 cache, and keeps this node's applied revision.
//
// Thread safety: all public methods are thread-safe. Writes are serialized by write_mu_
// (lock order: write_mu_, then the tracker's mutex, then cache shard locks).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "cache/l1_cache.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "engine/interner.h"
#include "invalidation/revision_tracker.h"
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
  uint64_t AppliedRevision() const override { return tracker_.applied(); }
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

  // Drops the L1 entries `change` affects.
  void InvalidateLocal(const ChangeSet& change);
  // Reads (tenant, user) from the store and compiles it (the cache loader).
  StatusOr<L1Cache::Loaded> LoadFromStore(std::string_view tenant, std::string_view user);
  // The current set of (tenant, user), from L1 or the store.
  StatusOr<SetRef> GetSet(std::string_view tenant, std::string_view user);

  const Options options_;
  const std::unique_ptr<Store> store_;
  const Clock* clock_;
  Interner interner_;
  L1Cache cache_;
  RevisionTracker tracker_;
  // Relaxed: a statistic.
  std::atomic<uint64_t> store_errors_{0};

  std::mutex write_mu_;
  std::vector<ChangeListener> listeners_;
};

}  // namespace permcache
