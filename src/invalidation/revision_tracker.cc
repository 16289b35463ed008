#include "invalidation/revision_tracker.h"

#include "invalidation/changelog.h"

#include <algorithm>
#include <string>

namespace permcache {

RevisionTracker::RevisionTracker(Store* store, uint64_t start, ApplyFn apply)
    : store_(store), apply_(std::move(apply)), applied_(start), newest_seen_(start) {}

RevisionTracker::~RevisionTracker() { StopPolling(); }

void RevisionTracker::StopPolling() {
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    stopping_ = true;
  }
  poll_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
}

void RevisionTracker::NoteSeen(uint64_t revision) {
  uint64_t seen = newest_seen_.load(std::memory_order_relaxed);
  while (seen < revision &&
         !newest_seen_.compare_exchange_weak(seen, revision, std::memory_order_relaxed)) {
  }
}

void RevisionTracker::Advance(uint64_t revision) {
  if (revision > applied_.load(std::memory_order_relaxed)) {
    // Release: publishes the invalidations applied before this store.
    applied_.store(revision, std::memory_order_release);
  }
  NoteSeen(revision);
}

Status RevisionTracker::OnChange(const ChangeSet& change) {
  NoteSeen(change.revision);
  std::lock_guard<std::mutex> lock(mu_);
  // Invalidating is idempotent, so an old or duplicate change is harmless to apply again.
  apply_(change, Origin::kDirect);
  const uint64_t applied = applied_.load(std::memory_order_relaxed);
  if (change.revision <= applied + 1) {
    Advance(change.revision);
    return Status::Ok();
  }
  // A gap: revisions between were made elsewhere and not seen here yet.
  return CatchUpLocked();
}

Status RevisionTracker::CatchUp() {
  std::lock_guard<std::mutex> lock(mu_);
  return CatchUpLocked();
}

Status RevisionTracker::CatchUpLocked() {
  // Read the revision first: every revision <= it is committed, so the changelog read after it
  // holds all of their rows (a revision without rows changed nothing).
  auto current = store_->CurrentRevision();
  if (!current.ok()) return UnavailableError("store unavailable: " + current.status().message());
  const uint64_t applied = applied_.load(std::memory_order_relaxed);
  if (*current < applied) {
    // The store went backwards (restored without a detectable epoch change): what we applied
    // beyond its head may be reused by other writes. Nothing cached can be trusted.
    FlushAllLocked();
    applied_.store(*current, std::memory_order_release);
    return Status::Ok();
  }
  if (*current == applied) return Status::Ok();
  catch_ups_.fetch_add(1, std::memory_order_relaxed);
  auto pruned = store_->PrunedThrough();
  if (!pruned.ok()) return UnavailableError("store unavailable: " + pruned.status().message());
  if (*pruned > applied) {
    // Our cursor is older than the retained changelog: what changed in between is unknowable.
    FlushAllLocked();
    Advance(*current);
    return Status::Ok();
  }
  PERMCACHE_RETURN_IF_ERROR(ForEachChangeSince(*store_, applied, [&](const ChangeSet& change) {
    apply_(change, Origin::kChangelog);
    Advance(change.revision);
    return Status::Ok();
  }));
  Advance(*current);
  return Status::Ok();
}

Status RevisionTracker::WaitFor(uint64_t revision, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    PERMCACHE_RETURN_IF_ERROR(CatchUp());
    if (applied() >= revision) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return UnavailableError("revision " + std::to_string(revision) +
                              " not reached within the consistency timeout (applied " +
                              std::to_string(applied()) + ")");
    }
    // The store itself is behind (another node's write not committed yet): poll it briefly
    // rather than answer from older state.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void RevisionTracker::FlushAllLocked() {
  ChangeSet everything;
  everything.everything = true;
  apply_(everything, Origin::kChangelog);
}

Status RevisionTracker::Rebase() {
  std::lock_guard<std::mutex> lock(mu_);
  FlushAllLocked();
  auto current = store_->CurrentRevision();
  if (!current.ok()) return UnavailableError("store unavailable: " + current.status().message());
  applied_.store(*current, std::memory_order_release);
  NoteSeen(*current);
  return Status::Ok();
}

void RevisionTracker::StartPolling(std::chrono::milliseconds interval) {
  if (interval.count() <= 0 || poll_thread_.joinable()) return;
  poll_thread_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(poll_mu_);
    while (!poll_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      // Failures are retried on the next tick; the checker counts store errors on its paths.
      CatchUp().IgnoreError();
      lock.lock();
    }
  });
}

}  // namespace permcache
