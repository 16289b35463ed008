// RwSpinLock: a reader-writer lock for very short critical sections (the L1 cache's shard
// lock). A read lock is one atomic add in the common case, where std::shared_mutex
// (pthread_rwlock) costs a function call and a CAS loop: that was ~15% of an L1 hit.
//
// Writer-preferring: a waiting writer sets kWriter, which turns new readers away, so a stream
// of readers cannot starve fills and invalidations. Waiters spin briefly, then yield the CPU
// (there may be more runnable threads than cores).
//
// Thread safety: the point. Meets the Lockable and SharedLockable requirements, so it works
// with std::unique_lock, std::lock_guard and std::shared_lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace permcache {

class RwSpinLock {
 public:
  void lock_shared() {
    for (int spins = 0;; ++spins) {
      // Acquire: pairs with the writer's release in unlock(), so the reader sees its writes.
      if ((state_.fetch_add(1, std::memory_order_acquire) & kWriter) == 0) return;
      // A writer holds or wants the lock: take our count back and wait for it to finish.
      state_.fetch_sub(1, std::memory_order_relaxed);
      while (state_.load(std::memory_order_relaxed) & kWriter) Pause(spins++);
    }
  }
  void unlock_shared() {
    // Release: the reader's reads happen before a writer that sees the count drop.
    state_.fetch_sub(1, std::memory_order_release);
  }

  void lock() {
    // Claim the writer bit (one writer at a time), then wait for the readers to drain.
    for (int spins = 0;; ++spins) {
      uint32_t s = state_.load(std::memory_order_relaxed);
      if ((s & kWriter) == 0 &&
          state_.compare_exchange_weak(s, s | kWriter, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        break;
      }
      Pause(spins);
    }
    for (int spins = 0; (state_.load(std::memory_order_acquire) & kReaders) != 0; ++spins) {
      Pause(spins);
    }
  }
  bool try_lock() {
    uint32_t expected = 0;
    return state_.compare_exchange_strong(expected, kWriter, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() {
    // Release: publishes the writer's changes to the next acquirer. Only the bit is cleared:
    // readers that were turned away may still be undoing their increment.
    state_.fetch_and(~kWriter, std::memory_order_release);
  }

 private:
  static constexpr uint32_t kWriter = 1u << 31;
  static constexpr uint32_t kReaders = kWriter - 1;

  static void Pause(int spins) {
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }

  std::atomic<uint32_t> state_{0};
};

}  // namespace permcache
