#include "common/rw_spin_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace permcache {
namespace {

TEST(RwSpinLockTest, WritersAreExclusiveAndReadersNeverSeeATornPair) {
  RwSpinLock lock;
  uint64_t a = 0, b = 0;  // writers keep a == b; readers must never see them differ
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::shared_lock l(lock);
        if (a != b) torn.fetch_add(1, std::memory_order_relaxed);
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        std::unique_lock l(lock);
        ++a;
        ++b;
      }
    });
  }
  threads[3].join();
  threads[4].join();
  stop.store(true);
  for (int r = 0; r < 3; ++r) threads[r].join();
  EXPECT_EQ(a, 40000u);  // no lost update: writers excluded each other
  EXPECT_EQ(b, 40000u);
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

TEST(RwSpinLockTest, ReadersShareAndTryLockFailsWhileHeld) {
  RwSpinLock lock;
  lock.lock_shared();
  lock.lock_shared();  // a second reader gets in
  EXPECT_FALSE(lock.try_lock());
  lock.unlock_shared();
  lock.unlock_shared();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

}  // namespace
}  // namespace permcache
