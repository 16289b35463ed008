// Concurrent behaviour of L1Cache: single-flight loads and race-free invalidation
// (docs/invalidation.md). Threads start together on a latch; waits are on cache state (bounded
// by a deadline only so that a bug fails the test instead of hanging it), never on sleeps.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "cache/l1_cache.h"
#include "cache_test_util.h"
#include "common/clock.h"
#include "common/hash.h"

namespace permcache {
namespace {

using testing::CountingLoader;
using testing::VersionedSet;
using testing::VersionOf;

CacheOptions Options() {
  CacheOptions o;
  o.max_entries = 10000;
  o.shards = 16;
  return o;
}

// Spins (yielding) until pred() or a generous deadline; returns pred().
bool WaitFor(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  return pred();
}

// N threads miss one key at once; the loader holds its flight open until all others joined it.
void RunSingleFlight(int threads) {
  L1Cache c(Options(), SystemClock::Get());
  const uint64_t h = HashKey("t", "hot");
  std::atomic<int> store_reads{0};
  const auto set = VersionedSet(1);
  L1Cache::Loader loader = [&]() -> StatusOr<L1Cache::Loaded> {
    store_reads.fetch_add(1);
    EXPECT_TRUE(WaitFor([&] {
      return c.GetStats().single_flight_waits == static_cast<uint64_t>(threads - 1);
    }));
    return L1Cache::Loaded{set, 9};
  };
  std::latch start(threads);
  std::vector<const PermissionSet*> got(threads, nullptr);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      start.arrive_and_wait();
      if (c.Visit(h, "t", "hot", [&](const L1Cache::EntryView& e) { got[i] = &e.set; })) return;
      auto r = c.Load(h, "t", "hot", loader);
      if (r.ok()) got[i] = r->set.get();
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(store_reads.load(), 1);
  for (int i = 0; i < threads; ++i) EXPECT_EQ(got[i], set.get()) << i;
  L1Cache::Stats st = c.GetStats();
  EXPECT_EQ(st.single_flight_waits, static_cast<uint64_t>(threads - 1));
  EXPECT_EQ(st.fills, 1u);
  EXPECT_EQ(st.entries, 1u);
}

TEST(L1CacheConcurrencyTest, SingleFlight200Threads) { RunSingleFlight(200); }

TEST(L1CacheConcurrencyTest, SingleFlight1000ConcurrentLoads) {
  // G11: 1000 concurrent misses on one key read the store once.
  RunSingleFlight(1000);
}

TEST(L1CacheConcurrencyTest, ErrorIsSharedWithWaitersAndNotCached) {
  constexpr int kThreads = 64;
  L1Cache c(Options(), SystemClock::Get());
  const uint64_t h = HashKey("t", "u");
  std::atomic<int> calls{0};
  L1Cache::Loader failing = [&]() -> StatusOr<L1Cache::Loaded> {
    calls.fetch_add(1);
    EXPECT_TRUE(WaitFor([&] {
      return c.GetStats().single_flight_waits == static_cast<uint64_t>(kThreads - 1);
    }));
    return UnavailableError("store down");
  };
  std::latch start(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < kThreads; ++i) {
    pool.emplace_back([&] {
      start.arrive_and_wait();
      auto r = c.Load(h, "t", "u", failing);
      if (!r.ok() && r.status().code() == StatusCode::kUnavailable) errors.fetch_add(1);
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(errors.load(), kThreads);
  EXPECT_EQ(c.GetStats().entries, 0u);
  // The next caller loads again.
  std::atomic<int> ok_calls{0};
  auto r = c.Load(h, "t", "u", CountingLoader(VersionedSet(2), &ok_calls));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ok_calls.load(), 1);
}

// A flight that an invalidation covers while its loader runs: callers already joined get its
// result, it is not installed, and a caller arriving after the invalidation loads afresh.
struct PoisonCase {
  const char* name;
  std::function<uint64_t(L1Cache&)> invalidate;
};

class PoisonTest : public ::testing::TestWithParam<PoisonCase> {};

TEST_P(PoisonTest, PoisonedFlightIsNotInstalledNorJoined) {
  L1Cache c(Options(), SystemClock::Get());
  const uint64_t h = HashKey("T", "U");
  std::latch a_started(1), release_a(1);
  L1Cache::Loader old_loader = [&]() -> StatusOr<L1Cache::Loaded> {
    a_started.count_down();
    release_a.wait();
    return L1Cache::Loaded{VersionedSet(1), 1};
  };
  StatusOr<L1Cache::Loaded> a_result = InternalError("unset"), b_result = InternalError("unset");
  std::thread a([&] { a_result = c.Load(h, "T", "U", old_loader); });
  a_started.wait();
  // B joins A's flight before the invalidation.
  std::thread b([&] {
    b_result = c.Load(h, "T", "U", []() -> StatusOr<L1Cache::Loaded> {
      ADD_FAILURE() << "B should have joined A's flight";
      return InternalError("B loaded");
    });
  });
  ASSERT_TRUE(WaitFor([&] { return c.GetStats().single_flight_waits == 1; }));

  EXPECT_EQ(GetParam().invalidate(c), 0u);  // nothing cached yet; the flight is poisoned

  // C arrives after the invalidation returned: it must not join A's (stale) flight.
  std::atomic<int> c_calls{0};
  auto c_result = c.Load(h, "T", "U", CountingLoader(VersionedSet(2), &c_calls, 2));
  ASSERT_TRUE(c_result.ok());
  EXPECT_EQ(c_calls.load(), 1);
  EXPECT_EQ(VersionOf(*c_result->set), 2);

  release_a.count_down();
  a.join();
  b.join();
  ASSERT_TRUE(a_result.ok());
  ASSERT_TRUE(b_result.ok());
  EXPECT_EQ(VersionOf(*a_result->set), 1);  // their checks began before the invalidation
  EXPECT_EQ(VersionOf(*b_result->set), 1);

  int cached = -1;
  EXPECT_TRUE(c.Visit(h, "T", "U", [&](const L1Cache::EntryView& e) { cached = VersionOf(e.set); }));
  EXPECT_EQ(cached, 2);  // A's stale result did not overwrite C's fresh one
  L1Cache::Stats st = c.GetStats();
  EXPECT_EQ(st.stale_installs_refused, 1u);
  EXPECT_EQ(st.fills, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    AllForms, PoisonTest,
    ::testing::Values(
        PoisonCase{"Key", [](L1Cache& c) { return c.InvalidateKey("T", "U"); }},
        PoisonCase{"User", [](L1Cache& c) { return c.InvalidateUser("U"); }},
        PoisonCase{"Tenant", [](L1Cache& c) { return c.InvalidateTenant("T"); }},
        PoisonCase{"Pattern", [](L1Cache& c) { return c.InvalidatePattern("perms:U:*"); }},
        PoisonCase{"All", [](L1Cache& c) { return c.InvalidateAll(); }}),
    [](const ::testing::TestParamInfo<PoisonCase>& info) { return info.param.name; });

TEST(L1CacheConcurrencyTest, NonMatchingInvalidationDoesNotPoison) {
  L1Cache c(Options(), SystemClock::Get());
  std::latch started(1), release(1);
  std::thread a([&] {
    auto r = c.Load(HashKey("T", "U"), "T", "U", [&]() -> StatusOr<L1Cache::Loaded> {
      started.count_down();
      release.wait();
      return L1Cache::Loaded{VersionedSet(1), 1};
    });
    EXPECT_TRUE(r.ok());
  });
  started.wait();
  c.InvalidateKey("T", "other");
  c.InvalidateTenant("T2");
  c.InvalidatePattern("perms:V:*");
  release.count_down();
  a.join();
  EXPECT_EQ(c.GetStats().stale_installs_refused, 0u);
  EXPECT_EQ(c.GetStats().entries, 1u);
}

// The race the design exists for. A "store" holds a version per key; writers bump a version,
// call InvalidateKey, then publish the version as that key's floor. Readers read the floor,
// then check the key (Visit, else Load with a loader that reads the store and yields before
// returning, widening the read-to-install window). Invariant: a check that starts after
// InvalidateKey returned never sees a set built from an older version.
TEST(L1CacheConcurrencyTest, NoStaleReadAfterInvalidateReturns) {
  constexpr int kKeys = 4;
  constexpr int kReaders = 6;
  constexpr int kWriters = 2;
  const auto kDuration = std::chrono::milliseconds(1500);

  CacheOptions o = Options();
  o.shards = 2;
  L1Cache c(o, SystemClock::Get());
  std::atomic<int32_t> store[kKeys];
  std::atomic<int32_t> floor[kKeys];
  for (int k = 0; k < kKeys; ++k) {
    store[k].store(0);
    floor[k].store(0);
  }
  auto user = [](int k) { return "u" + std::to_string(k); };
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0}, violations{0}, writes{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const int k = static_cast<int>((n++ * 7 + w) % kKeys);
        // seq_cst: the store write commits before the invalidation starts (as a store commit
        // returns before the writer invalidates).
        const int32_t v = store[k].fetch_add(1) + 1;
        c.InvalidateKey("t", user(k));
        // Publish "invalidation for v returned"; keep the floor monotonic across writers.
        int32_t cur = floor[k].load();
        while (cur < v && !floor[k].compare_exchange_weak(cur, v)) {
        }
        writes.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      uint64_t n = r;
      while (!stop.load(std::memory_order_relaxed)) {
        const int k = static_cast<int>(n++ % kKeys);
        const std::string u = user(k);
        const uint64_t h = HashKey("t", u);
        const int32_t min_version = floor[k].load();  // acquire (seq_cst)
        int32_t seen = -1;
        if (!c.Visit(h, "t", u, [&](const L1Cache::EntryView& e) { seen = VersionOf(e.set); })) {
          auto res = c.Load(h, "t", u, [&, k]() -> StatusOr<L1Cache::Loaded> {
            const int32_t v = store[k].load();
            for (int y = 0; y < 3; ++y) std::this_thread::yield();  // a slow store read
            return L1Cache::Loaded{VersionedSet(v), static_cast<uint64_t>(v)};
          });
          if (!res.ok()) {
            ADD_FAILURE() << res.status().ToString();
            continue;
          }
          seen = VersionOf(*res->set);
        }
        if (seen < min_version) violations.fetch_add(1);
        checks.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(kDuration);  // run length only, not synchronization
  stop.store(true);
  for (auto& t : threads) t.join();

  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(checks.load(), 1000u);
  EXPECT_GT(writes.load(), 100u);
  L1Cache::Stats st = c.GetStats();
  RecordProperty("checks", std::to_string(checks.load()));
  RecordProperty("stale_installs_refused", std::to_string(st.stale_installs_refused));
  std::printf("checks=%llu writes=%llu hits=%llu fills=%llu stale_refused=%llu waits=%llu\n",
              static_cast<unsigned long long>(checks.load()),
              static_cast<unsigned long long>(writes.load()),
              static_cast<unsigned long long>(st.hits), static_cast<unsigned long long>(st.fills),
              static_cast<unsigned long long>(st.stale_installs_refused),
              static_cast<unsigned long long>(st.single_flight_waits));
}

// Mixed load on many keys with every operation running concurrently; for sanitizers (data
// races, use-after-free of entries and flights) and for the bounds.
TEST(L1CacheConcurrencyTest, MixedOperationsStress) {
  CacheOptions o;
  o.max_entries = 512;
  o.shards = 4;
  L1Cache c(o, SystemClock::Get());
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto set = VersionedSet(1);
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&, r] {
      uint64_t x = 88172645463325252ull + r;
      while (!stop.load(std::memory_order_relaxed)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const std::string t = "t" + std::to_string(x % 5), u = "u" + std::to_string(x % 2000);
        const uint64_t h = HashKey(t, u);
        if (c.Visit(h, t, u, [](const L1Cache::EntryView& e) { (void)e.set.rules().size(); })) {
          continue;
        }
        auto res = c.Load(h, t, u, [&]() -> StatusOr<L1Cache::Loaded> {
          if (x % 97 == 0) return UnavailableError("flaky");
          return L1Cache::Loaded{set, 1};
        });
        (void)res;
      }
    });
  }
  threads.emplace_back([&] {
    uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      switch (n++ % 6) {
        case 0: c.InvalidateKey("t1", "u" + std::to_string(n % 2000)); break;
        case 1: c.InvalidateUser("u" + std::to_string(n % 2000)); break;
        case 2: c.InvalidateTenant("t" + std::to_string(n % 5)); break;
        case 3: c.InvalidatePattern("perms:u1?:*"); break;
        case 4: (void)c.GetStats(); break;
        case 5: if (n % 60 == 5) c.InvalidateAll(); break;
      }
      EXPECT_LE(c.GetStats().entries, 512u);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // run length only
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_LE(c.GetStats().entries, 512u);
}

}  // namespace
}  // namespace permcache
