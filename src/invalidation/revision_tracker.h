// RevisionTracker: which store revisions this node has applied to its caches, and catching up
// on the ones it has not (writes by other nodes or processes) from the store's changelog.
//
// The changelog is the truth; a bus (Redis pub/sub, LISTEN/NOTIFY) only delivers the same
// ChangeSets sooner. Gaps — a missed message, a reconnect, another process writing the same
// SQLite file — are healed by reading the changelog from the applied revision on.
//
// A cursor older than the store's retained changelog (Store::PrunedThrough) cannot be caught up:
// the tracker then drops every cached answer (ChangeSet::everything) and moves to the head.
//
// Thread safety: all methods are thread-safe. `apply` is called with the catch-up mutex held,
// from the calling thread or the poll thread; it must not call back into the tracker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "common/thread_annotations.h"
#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache {

class RevisionTracker {
 public:
  // How a change reached this node: directly (its own write, a bus message) or from the
  // changelog (its writer's own notifications may have failed).
  enum class Origin { kDirect, kChangelog };
  using ApplyFn = std::function<void(const ChangeSet&, Origin)>;

  // `store` must outlive the tracker. `start` is the revision the caches already reflect.
  RevisionTracker(Store* store, uint64_t start, ApplyFn apply);
  ~RevisionTracker();  // stops polling (joins the thread)
  RevisionTracker(const RevisionTracker&) = delete;
  RevisionTracker& operator=(const RevisionTracker&) = delete;

  // The highest revision whose invalidations are applied. Acquire: whoever reads r also sees
  // the caches without the entries that revisions <= r invalidated.
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  // The newest revision this node has heard of (own writes, bus messages, changelog).
  uint64_t newest_seen() const { return newest_seen_.load(std::memory_order_relaxed); }
  uint64_t catch_ups() const { return catch_ups_.load(std::memory_order_relaxed); }

  // Applies `change` (made here or received from a bus): invalidates, then advances the
  // applied revision if it is the next one, else catches up on the gap from the changelog.
  Status OnChange(const ChangeSet& change);

  // Applies every changelog entry newer than applied().
  Status CatchUp();

  // Returns once applied() >= revision, catching up and polling the store until `timeout`.
  // kUnavailable when the store has not reached `revision` by then.
  Status WaitFor(uint64_t revision, std::chrono::milliseconds timeout);

  // Drops every cached answer (apply_ with ChangeSet::everything) and restarts the cursor at
  // the store's current revision, even when that is lower than applied(): for a store whose
  // revisions may have been reused (restored backup, promoted replica). kUnavailable when the
  // store cannot be read (everything is dropped anyway).
  Status Rebase();

  // Calls CatchUp() every `interval` on a thread of its own until StopPolling / destruction.
  void StartPolling(std::chrono::milliseconds interval);
  // Stops and joins the polling thread (idempotent).
  void StopPolling();

 private:
  Status CatchUpLocked() PERMCACHE_REQUIRES(mu_);
  void Advance(uint64_t revision) PERMCACHE_REQUIRES(mu_);
  // Applies ChangeSet::everything: drops every cached answer.
  void FlushAllLocked() PERMCACHE_REQUIRES(mu_);
  void NoteSeen(uint64_t revision);

  Store* const store_;
  const ApplyFn apply_;
  std::mutex mu_;  // serializes apply + advance so applied_ only moves forward contiguously
  std::atomic<uint64_t> applied_;
  // Relaxed: statistics (bus lag = newest_seen - applied).
  std::atomic<uint64_t> newest_seen_;
  std::atomic<uint64_t> catch_ups_{0};

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stopping_ PERMCACHE_GUARDED_BY(poll_mu_) = false;
  std::thread poll_thread_;
};

}  // namespace permcache
