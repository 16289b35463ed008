// The promise permcache exists for: once a revoking write has returned, no check anywhere on
// that Checker answers "allowed" for what it revoked — with fills racing the write, a tiny
// cache forcing constant refills, and several checking threads. Also run under ASan/UBSan.
//
// Write k replaces the policy's pattern with "perm:k", which revokes "perm:(k-1)". A checker
// thread that has seen write k acknowledged (published after Write returned) then checks
// "perm:(k-1)": any "allowed" is a stale answer. Concurrent writes k+1.. only revoke more.
#include <atomic>
#include <random>
#include <thread>

#include "unit/checker/checker_fixture.h"

namespace permcache::testing {
namespace {

TEST(StaleRaceTest, NoRevokedPermissionServedAfterWriteReturns) {
  TempDir dir;
  Options o;
  o.cache.max_entries = 8;  // constant eviction: many fills race the writes
  o.cache.shards = 2;
  o.changelog_poll_interval = std::chrono::milliseconds(0);
  auto checker = OpenChecker(dir.File("race.db"), o);
  ASSERT_NE(checker, nullptr);
  constexpr int kUsers = 16;
  std::vector<WriteOp> setup = {PutTenant("t"), PutRole("t", "r"),
                                PutPolicy("t", "p", {"perm:0"}),
                                PutRolePolicy("t", "r", "p")};
  for (int u = 0; u < kUsers; ++u) {
    setup.push_back(PutMember("t", "u" + std::to_string(u)));
    setup.push_back(PutUserRole("t", "u" + std::to_string(u), "r"));
  }
  ASSERT_TRUE(checker->Write(setup).ok());

  // Acquire/release: a checker that reads k also sees everything Write(k) did before returning.
  std::atomic<int> acknowledged{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0}, stale{0}, errors{0};

  auto check_loop = [&](int seed) {
    std::mt19937 rng(seed);
    while (!done.load(std::memory_order_acquire)) {
      const int k = acknowledged.load(std::memory_order_acquire);
      if (k == 0) continue;
      const std::string user = "u" + std::to_string(rng() % kUsers);
      const std::string revoked = "perm:" + std::to_string(k - 1);
      auto d = checker->Check({.tenant = "t", .user = user, .permission = revoked});
      checks.fetch_add(1, std::memory_order_relaxed);
      if (!d.ok()) {
        errors.fetch_add(1, std::memory_order_relaxed);
      } else if (d->allowed) {
        stale.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  // The same, through CheckBatch (prefetching L1 path): 16 users per batch.
  auto batch_loop = [&]() {
    std::vector<CheckRequest> requests(kUsers);
    std::vector<BatchResult> results(kUsers);
    std::vector<std::string> users(kUsers);
    for (int u = 0; u < kUsers; ++u) users[u] = "u" + std::to_string(u);
    while (!done.load(std::memory_order_acquire)) {
      const int k = acknowledged.load(std::memory_order_acquire);
      if (k == 0) continue;
      const std::string revoked = "perm:" + std::to_string(k - 1);
      for (int u = 0; u < kUsers; ++u) {
        requests[u] = {.tenant = "t", .user = users[u], .permission = revoked};
      }
      checker->CheckBatch(requests, results);
      for (const BatchResult& r : results) {
        checks.fetch_add(1, std::memory_order_relaxed);
        if (!r.status.ok()) {
          errors.fetch_add(1, std::memory_order_relaxed);
        } else if (r.decision.allowed) {
          stale.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(check_loop, i);
  threads.emplace_back(batch_loop);

  constexpr int kWrites = 150;
  for (int k = 1; k <= kWrites; ++k) {
    auto rev = checker->Write(
        std::vector<WriteOp>{PutPolicy("t", "p", {"perm:" + std::to_string(k)})});
    ASSERT_TRUE(rev.ok()) << rev.status().ToString();
    acknowledged.store(k, std::memory_order_release);
    // The grant of write k is visible at once too.
    EXPECT_TRUE(Allowed(*checker, "t", "u0", "perm:" + std::to_string(k)));
  }
  done.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();

  EXPECT_EQ(stale.load(), 0u) << "revoked permission served after the write returned";
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_GT(checks.load(), 1000u);
  CacheStats s = checker->Stats();
  EXPECT_GT(s.fills, static_cast<uint64_t>(kWrites));
  RecordProperty("checks", std::to_string(checks.load()));
  RecordProperty("stale_installs_refused", std::to_string(s.stale_installs_refused));
}

}  // namespace
}  // namespace permcache::testing
