// CheckerImpl: the Checker behind include/permcache/checker.h. Wires the store, the engine
// (compile + intern), the L1 cache, the optional remote cache (L2 + bus) and this node's
// revision tracking.
//
// Thread safety: all public methods are thread-safe. Writes are serialized by write_mu_.
// Lock order: write_mu_, then the tracker's mutex, then l2_mu_, then cache shard locks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/l1_cache.h"
#include "cache/record_cache.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "common/wall_clock_watch.h"
#include "engine/interner.h"
#include "invalidation/revision_tracker.h"
#include "permcache/checker.h"
#include "permcache/remote_cache.h"
#include "security/attempt_limiter.h"

namespace permcache {

class CheckerImpl final : public Checker {
 public:
  CheckerImpl(const Options& options, std::unique_ptr<Store> store,
              std::unique_ptr<RemoteCache> remote, uint64_t start_revision);
  ~CheckerImpl() override;

  StatusOr<Decision> Check(const CheckRequest& request) override;
  void CheckBatch(std::span<const CheckRequest> requests,
                  std::span<BatchResult> results) override;
  StatusOr<uint64_t> Write(std::span<const WriteOp> ops) override;
  StatusOr<UnlockResult> Unlock(const UnlockRequest& request,
                                int64_t* retry_after_seconds) override;
  StatusOr<UiAnswer> UiElements(std::string_view tenant, std::string_view user,
                                std::span<const std::string> elements) override;
  StatusOr<ResourceList> ListResources(const ResourceListRequest& request) override;
  StatusOr<EffectivePermissions> Permissions(std::string_view tenant,
                                             std::string_view user) override;
  StatusOr<MembershipInfo> Membership(std::string_view tenant, std::string_view user) override;
  StatusOr<Model> ExportModel(std::string_view tenant) override;
  StatusOr<uint64_t> ImportModel(const Model& model) override;
  StatusOr<uint64_t> Invalidate(const InvalidateRequest& request) override;
  CacheStats Stats() const override;
  uint64_t AppliedRevision() const override { return tracker_.applied(); }
  Status StoreHealth() override { return store_->Ping(); }
  std::string StoreDescription() const override { return store_->Describe(); }

 private:
  static constexpr uint64_t kL2Clean = std::numeric_limits<uint64_t>::max();

  // A compiled set and where it came from, for the non-hot-path readers.
  struct SetRef {
    L1Cache::SetPtr set;
    uint64_t revision = 0;
    CacheTier tier = CacheTier::kStore;
  };

  // Drops what `change` affects from L1 (and, for changes learned from the changelog, from L2:
  // their writer may not have reached it).
  void ApplyChange(const ChangeSet& change, RevisionTracker::Origin origin);
  // Drops the local L1 entries an admin invalidation names; returns how many.
  uint64_t InvalidateLocal(const InvalidateRequest& request);
  // One store read: timed for the observer; an error is counted and comes back as kUnavailable
  // ("store read failed: ..."), so no answer is ever made from a failed read.
  template <class Read>
  auto FromStore(Read&& read) -> decltype(read()) {
    const auto start = std::chrono::steady_clock::now();
    auto result = read();
    if (options_.observer) options_.observer->OnStoreRead(SecondsSince(start));
    if (!result.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return UnavailableError("store read failed: " + result.status().message());
    }
    return result;
  }
  // Reads (tenant, user) from L2 or the store and compiles it (the cache loader).
  StatusOr<L1Cache::Loaded> Load(std::string_view tenant, std::string_view user);
  StatusOr<UserGrants> ReadGrants(std::string_view tenant, std::string_view user,
                                  CacheTier* tier);
  // The current set of (tenant, user), from L1 (when usable), L2 or the store.
  StatusOr<SetRef> GetSet(std::string_view tenant, std::string_view user);

  // ---- resources and UI elements (resource_checks.cc) ----
  template <class V>
  struct RecordRef {
    std::shared_ptr<const V> record;
    CacheTier tier = CacheTier::kStore;
  };
  // How one kind of record is read: from the store, from L2, and filled into L2.
  template <class V>
  struct RecordSource {
    StatusOr<V> (Store::*load)(std::string_view, std::string_view);
    StatusOr<std::optional<V>> (RemoteCache::*l2_get)(std::string_view, std::string_view);
    Status (RemoteCache::*l2_put)(std::string_view, std::string_view, const V&,
                                  std::chrono::milliseconds);
  };
  // The record from the record cache (when L1 is usable), L2 (when usable) or the store, each
  // fill race-free (generation in L1, tombstones in L2). Cached copies carry no password hash.
  template <class V>
  StatusOr<RecordRef<V>> GetRecord(RecordCache<V>& cache, const RecordSource<V>& source,
                                   std::string_view tenant, std::string_view id);
  std::chrono::milliseconds RecordTtl(const ResourceRecord& record) const;
  std::chrono::milliseconds RecordTtl(const UiElementRecord& record) const;
  StatusOr<RecordRef<ResourceRecord>> GetResource(std::string_view tenant, std::string_view id);
  StatusOr<RecordRef<UiElementRecord>> GetElement(std::string_view tenant, std::string_view id);
  StatusOr<std::shared_ptr<const std::vector<std::string>>> GetElementList(
      std::string_view tenant);
  // Check() for requests naming a resource or an element.
  StatusOr<Decision> CheckRecord(const CheckRequest& r);
  StatusOr<Decision> CheckResource(const CheckRequest& r, uint64_t applied);
  StatusOr<Decision> CheckElement(const CheckRequest& r, uint64_t applied);
  // Brute-force counting for unlock: through L2 when usable (shared by every node), else this
  // node's limiter. Returns 0 (counted) or the ms to wait.
  int64_t BeginUnlockAttempt(const std::string& attempt, int64_t now_ms, bool* counted_remotely);
  void UnlockAttemptSucceeded(const std::string& attempt, bool counted_remotely);
  // The store's token signing key, read once.
  StatusOr<std::string> SigningKey();
  // Replaces plaintext passwords by their hashes (before the write lock: the KDF is slow).
  StatusOr<std::vector<WriteOp>> HashPasswords(std::span<const WriteOp> ops) const;
  void InvalidateAllRecords();
  // Drops the records a changelog/bus key names; false when `key` names a user.
  bool InvalidateRecordKey(std::string_view tenant, std::string_view key);
  // Waits for at_least_revision; returns the applied revision.
  StatusOr<uint64_t> ReachRevision(uint64_t at_least_revision);

  // L2 consistency: after a failed invalidation L2 may hold entries of revisions > `from`
  // that should be gone; it is not read until every changelog entry since is re-applied.
  void MarkL2Dirty(uint64_t from);
  void MaintenanceLoop();
  Status ReplayIntoL2();
  // Which bus reported: the Redis pub/sub bus or the store's own change feed. L1 is trusted
  // while at least one configured bus is up (either alone delivers every change).
  enum class Bus { kRedis, kStoreFeed };
  void OnBusState(Bus bus, bool up);
  void OnBusChange(const ChangeSet& change);
  // The store's feed announced `revision`: read the changelog up to it.
  void OnFeedRevision(uint64_t revision);
  // The store's identity changed: drop everything and restart the cursor at its head.
  void OnStoreEpochChange();
  // Reports commit -> applied here for a change that carries its commit time.
  void ObserveLag(const ChangeSet& change);

  const Options options_;
  const std::unique_ptr<Store> store_;
  // May be null. Not const: the destructor resets it first to join the bus thread.
  std::unique_ptr<RemoteCache> remote_;
  const Clock* clock_;
  Interner interner_;
  L1Cache cache_;
  RecordCache<ResourceRecord> resources_;
  RecordCache<UiElementRecord> elements_;
  // Per tenant, the ids of its active elements (the sidebar without a list): dropped whenever
  // any element of the tenant changes.
  RecordCache<std::vector<std::string>> element_lists_;
  security::AttemptLimiter unlock_limiter_;
  std::mutex key_mu_;
  std::string signing_key_ PERMCACHE_GUARDED_BY(key_mu_);
  RevisionTracker tracker_;

  // Relaxed: statistics.
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> l2_hits_{0}, l2_misses_{0}, l2_errors_{0};
  std::atomic<uint64_t> record_l2_hits_{0}, record_l2_misses_{0};
  std::atomic<uint64_t> bus_applied_{0};

  // Acquire/release: flipped by the bus and maintenance threads, read on every check; a check
  // that sees `true` also sees the flush / replay that preceded the store.
  std::atomic<bool> l1_usable_{true};
  std::atomic<bool> l2_usable_{false};

  // Orders bus state changes against the maintenance thread re-enabling L1: every change bumps
  // the epoch, and L1 is re-enabled only if no change happened during the catch-up before it.
  std::mutex bus_mu_;
  uint64_t bus_epoch_ PERMCACHE_GUARDED_BY(bus_mu_) = 0;
  // Written under bus_mu_ (which orders them against the epoch); read relaxed by Stats().
  std::atomic<bool> redis_bus_up_{false};
  std::atomic<bool> feed_up_{false};
  bool AnyBusUpLocked() const PERMCACHE_REQUIRES(bus_mu_) {
    return redis_bus_up_.load(std::memory_order_relaxed) ||
           feed_up_.load(std::memory_order_relaxed);
  }

  // The store's push feed (PostgreSQL LISTEN/NOTIFY), or null. Reset first in the destructor
  // (joins its thread, which calls back into this object).
  std::unique_ptr<ChangeFeed> feed_;

  std::mutex l2_mu_;
  uint64_t l2_dirty_from_ PERMCACHE_GUARDED_BY(l2_mu_) = kL2Clean;
  uint64_t l2_dirty_generation_ PERMCACHE_GUARDED_BY(l2_mu_) = 0;
  bool stopping_ PERMCACHE_GUARDED_BY(l2_mu_) = false;
  std::condition_variable l2_cv_;
  std::thread maintenance_;
  // Read by the maintenance thread only (constructed before it starts).
  WallClockWatch wall_watch_;

  std::mutex write_mu_;
};

}  // namespace permcache
