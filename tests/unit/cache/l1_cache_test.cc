// Single-threaded behaviour of L1Cache: hits, TTL, bounds, S3-FIFO, invalidation forms.
#include "cache/l1_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cache_test_util.h"
#include "common/clock.h"
#include "common/hash.h"

namespace permcache {
namespace {

using testing::CountingLoader;
using testing::SetValidUntil;
using testing::VersionedSet;
using testing::VersionOf;

CacheOptions SmallOptions(size_t max_entries, size_t shards = 1) {
  CacheOptions o;
  o.max_entries = max_entries;
  o.shards = shards;
  o.ttl = std::chrono::minutes(15);
  return o;
}

// One set per version, shared by every entry filled with it (as interned sets are).
std::shared_ptr<const PermissionSet> SharedSet(int version) {
  static std::map<int, std::shared_ptr<const PermissionSet>> sets;
  auto& set = sets[version];
  if (set == nullptr) set = VersionedSet(version);
  return set;
}

// Visit returning the cached set's version, or -1 on a miss.
int Peek(L1Cache& c, std::string_view t, std::string_view u) {
  int v = -1;
  c.Visit(HashKey(t, u), t, u, [&](const L1Cache::EntryView& e) { v = VersionOf(e.set); });
  return v;
}

// The check path: Visit, else Load.
int Get(L1Cache& c, std::string_view t, std::string_view u, int version = 1) {
  int v = Peek(c, t, u);
  if (v >= 0) return v;
  std::atomic<int> calls{0};
  auto r = c.Load(HashKey(t, u), t, u, CountingLoader(SharedSet(version), &calls));
  EXPECT_TRUE(r.ok());
  return r.ok() ? VersionOf(*r->set) : -1;
}

void Fill(L1Cache& c, std::string_view t, std::string_view u, int version = 1,
          uint64_t revision = 1) {
  std::atomic<int> calls{0};
  auto r = c.Load(HashKey(t, u), t, u, CountingLoader(SharedSet(version), &calls, revision));
  ASSERT_TRUE(r.ok());
}

TEST(L1CacheTest, MissThenHit) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);
  const uint64_t h = HashKey("t1", "u1");
  EXPECT_FALSE(c.Visit(h, "t1", "u1", [](const L1Cache::EntryView&) { FAIL(); }));

  std::atomic<int> calls{0};
  auto r = c.Load(h, "t1", "u1", CountingLoader(VersionedSet(7), &calls, /*revision=*/42));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(VersionOf(*r->set), 7);
  EXPECT_EQ(r->revision, 42u);
  EXPECT_EQ(calls.load(), 1);

  bool seen = false;
  EXPECT_TRUE(c.Visit(h, "t1", "u1", [&](const L1Cache::EntryView& e) {
    seen = true;
    EXPECT_EQ(VersionOf(e.set), 7);
    EXPECT_EQ(e.revision, 42u);
    EXPECT_EQ(e.filled_at_ms, clock.NowMs());
  }));
  EXPECT_TRUE(seen);
  // Another key, and keys that differ only in where tenant ends and user starts.
  EXPECT_FALSE(c.Visit(HashKey("t1", "u2"), "t1", "u2", [](const L1Cache::EntryView&) {}));
  Fill(c, "ab", "c", 1);
  EXPECT_EQ(Peek(c, "a", "bc"), -1);
  EXPECT_EQ(Peek(c, "ab", "c"), 1);

  // A second Load finds the entry and does not call the loader.
  auto r2 = c.Load(h, "t1", "u1", CountingLoader(VersionedSet(8), &calls));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(VersionOf(*r2->set), 7);
  EXPECT_EQ(r2->tier, CacheTier::kL1);
  EXPECT_EQ(r->tier, CacheTier::kStore);  // what the loader said
  EXPECT_EQ(calls.load(), 1);

  L1Cache::Stats st = c.GetStats();
  EXPECT_EQ(st.entries, 2u);
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 3u);
  EXPECT_EQ(st.fills, 2u);
  EXPECT_GT(st.memory_bytes, 2 * sizeof(internal::CacheEntry));
}

TEST(L1CacheTest, TtlExpiresEntries) {
  FakeClock clock;
  CacheOptions o = SmallOptions(100);
  o.ttl = std::chrono::milliseconds(1000);
  L1Cache c(o, &clock);
  Fill(c, "t", "u", 1);
  clock.AdvanceMs(999);
  EXPECT_EQ(Peek(c, "t", "u"), 1);
  clock.AdvanceMs(1);
  EXPECT_EQ(Peek(c, "t", "u"), -1);  // never returned once ttl old
  // Load drops the expired entry and loads afresh.
  std::atomic<int> calls{0};
  auto r = c.Load(HashKey("t", "u"), "t", "u", CountingLoader(VersionedSet(2), &calls));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(VersionOf(*r->set), 2);
  EXPECT_EQ(Peek(c, "t", "u"), 2);
  L1Cache::Stats st = c.GetStats();
  EXPECT_EQ(st.expirations, 1u);
  EXPECT_EQ(st.entries, 1u);
}

// Time is a writer (DESIGN §8): an entry whose set reaches its next transition is a miss at
// that instant, long before its TTL, and a set already out of date is not installed.
TEST(L1CacheTest, EntriesDieAtTheirSetsNextTransition) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);
  const uint64_t h = HashKey("t1", "u1");
  const int64_t until = clock.WallMs() + 2000;
  std::atomic<int> calls{0};
  ASSERT_TRUE(c.Load(h, "t1", "u1", CountingLoader(SetValidUntil(1, until), &calls)).ok());
  EXPECT_TRUE(c.Visit(h, "t1", "u1", [](const L1Cache::EntryView&) {}));
  clock.AdvanceWallTo(until - 1);
  EXPECT_TRUE(c.Visit(h, "t1", "u1", [](const L1Cache::EntryView&) {})) << "one ms before";
  clock.AdvanceWallTo(until);
  EXPECT_FALSE(c.Visit(h, "t1", "u1", [](const L1Cache::EntryView&) {})) << "exactly at";
  // Load does not hand out the dead entry: it loads again.
  ASSERT_TRUE(c.Load(h, "t1", "u1", CountingLoader(VersionedSet(2), &calls)).ok());
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(Peek(c, "t1", "u1"), 2);
  EXPECT_EQ(c.GetStats().expirations, 1u);

  // Out of date on arrival: served to the caller, never cached.
  const uint64_t h2 = HashKey("t1", "u2");
  auto late = c.Load(h2, "t1", "u2", CountingLoader(SetValidUntil(3, clock.WallMs()), &calls));
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(VersionOf(*late->set), 3);
  EXPECT_FALSE(c.Visit(h2, "t1", "u2", [](const L1Cache::EntryView&) {}));
}

// The wall clock is read on hits only for entries whose transition is due within the TTL plus
// kWallSlackMs; the TTL retires the others first. A wall-clock step does not reach those (the
// Checker's WallClockWatch drops the cache then, checker tests), but it does reach the others.
TEST(L1CacheTest, OnlyEntriesWithATransitionWithinTheTtlReadTheWallClock) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);  // TTL 15 min
  const int64_t ttl = 15 * 60'000;
  const uint64_t near = HashKey("t1", "near"), far = HashKey("t1", "far");
  std::atomic<int> calls{0};
  const int64_t near_until = clock.WallMs() + ttl + L1Cache::kWallSlackMs;
  const int64_t far_until = near_until + 1;
  ASSERT_TRUE(c.Load(near, "t1", "near", CountingLoader(SetValidUntil(1, near_until), &calls)).ok());
  ASSERT_TRUE(c.Load(far, "t1", "far", CountingLoader(SetValidUntil(2, far_until), &calls)).ok());
  clock.StepWallMs(far_until - clock.WallMs());  // the wall clock alone jumps past both
  EXPECT_FALSE(c.Visit(near, "t1", "near", [](const L1Cache::EntryView&) {}))
      << "due within TTL + slack: checked against the wall clock";
  EXPECT_TRUE(c.Visit(far, "t1", "far", [](const L1Cache::EntryView&) {}))
      << "due later: not read on hits";
  clock.AdvanceMs(ttl);
  EXPECT_FALSE(c.Visit(far, "t1", "far", [](const L1Cache::EntryView&) {})) << "the TTL retires it";
}

TEST(L1CacheTest, ExpiredEntriesAreDroppedByTheFifo) {
  FakeClock clock;
  CacheOptions o = SmallOptions(100);
  o.ttl = std::chrono::milliseconds(10);
  L1Cache c(o, &clock);
  for (int i = 0; i < 100; ++i) Fill(c, "t", "old" + std::to_string(i));
  clock.AdvanceMs(10);
  for (int i = 0; i < 100; ++i) Fill(c, "t", "new" + std::to_string(i));
  L1Cache::Stats st = c.GetStats();
  EXPECT_EQ(st.expirations, 100u);
  EXPECT_EQ(st.evictions, 0u);
  EXPECT_EQ(st.entries, 100u);
}

TEST(L1CacheTest, FillTimesSurviveMonthsOfUptime) {
  // Fill times are 32-bit ms offsets; check TTL stays exact across the 2^32 ms rebase.
  FakeClock clock;
  CacheOptions o = SmallOptions(100);
  o.ttl = std::chrono::milliseconds(1000);
  L1Cache c(o, &clock);
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  for (int round = 0; round < 5; ++round) {
    Fill(c, "t", "stale", round);
    clock.AdvanceMs(40 * kDay);
    EXPECT_EQ(Peek(c, "t", "stale"), -1) << round;
    Fill(c, "t", "fresh" + std::to_string(round), round);
    clock.AdvanceMs(500);
    bool ok = c.Visit(HashKey("t", "fresh" + std::to_string(round)), "t",
                      "fresh" + std::to_string(round), [&](const L1Cache::EntryView& e) {
                        EXPECT_EQ(e.filled_at_ms, clock.NowMs() - 500);
                      });
    EXPECT_TRUE(ok) << round;
    clock.AdvanceMs(500);
    EXPECT_EQ(Peek(c, "t", "fresh" + std::to_string(round)), -1) << round;
    c.InvalidateKey("t", "stale");
  }
}

TEST(L1CacheTest, ZeroTtlCachesNothingVisible) {
  FakeClock clock;
  CacheOptions o = SmallOptions(100);
  o.ttl = std::chrono::milliseconds(0);
  L1Cache c(o, &clock);
  Fill(c, "t", "u");
  EXPECT_EQ(Peek(c, "t", "u"), -1);
}

TEST(L1CacheTest, MaxEntriesIsRespected) {
  FakeClock clock;
  for (size_t shards : {1, 4, 64}) {
    L1Cache c(SmallOptions(1000, shards), &clock);
    for (int i = 0; i < 20000; ++i) {
      Get(c, "t" + std::to_string(i % 7), "u" + std::to_string(i));
      if (i % 1000 == 0) {
        ASSERT_LE(c.GetStats().entries, 1000u);
      }
    }
    L1Cache::Stats st = c.GetStats();
    EXPECT_LE(st.entries, 1000u) << shards;
    EXPECT_GE(st.entries, 900u) << shards;  // it does fill up
    EXPECT_EQ(st.evictions + st.entries, 20000u) << shards;
  }
}

TEST(L1CacheTest, MaxBytesIsRespected) {
  FakeClock clock;
  CacheOptions o = SmallOptions(1'000'000, 4);
  o.max_bytes = 64 * 1024;
  L1Cache c(o, &clock);
  for (int i = 0; i < 20000; ++i) {
    Get(c, "tenant-" + std::to_string(i % 3), "user-with-a-longish-id-" + std::to_string(i));
    ASSERT_LE(c.GetStats().memory_bytes, o.max_bytes) << i;
  }
  L1Cache::Stats st = c.GetStats();
  EXPECT_GT(st.entries, 200u);  // most of the budget holds entries
  EXPECT_GT(st.memory_bytes, o.max_bytes / 2);
}

TEST(L1CacheTest, UncacheableLongKeysStillLoad) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);
  const std::string long_user(300, 'x');
  std::atomic<int> calls{0};
  for (int i = 0; i < 2; ++i) {
    auto r = c.Load(HashKey("t", long_user), "t", long_user,
                    CountingLoader(VersionedSet(1), &calls));
    ASSERT_TRUE(r.ok());
  }
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(c.GetStats().entries, 0u);
  EXPECT_EQ(c.InvalidateKey("t", long_user), 0u);
}

TEST(L1CacheTest, ErrorsAreReturnedNotCached) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);
  std::atomic<int> calls{0};
  L1Cache::Loader failing = [&]() -> StatusOr<L1Cache::Loaded> {
    calls.fetch_add(1);
    return UnavailableError("store down");
  };
  for (int i = 0; i < 3; ++i) {
    auto r = c.Load(HashKey("t", "u"), "t", "u", failing);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  }
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(c.GetStats().entries, 0u);
  // Throwing loaders and null sets become errors too.
  auto thrown = c.Load(HashKey("t", "u"), "t", "u", []() -> StatusOr<L1Cache::Loaded> {
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(thrown.status().code(), StatusCode::kInternal);
  auto null_set = c.Load(HashKey("t", "u"), "t", "u",
                         []() -> StatusOr<L1Cache::Loaded> { return L1Cache::Loaded{}; });
  EXPECT_EQ(null_set.status().code(), StatusCode::kInternal);
  EXPECT_EQ(Peek(c, "t", "u"), -1);
}

TEST(L1CacheTest, ScanDoesNotFlushFrequentlyUsedKeys) {
  FakeClock clock;
  L1Cache c(SmallOptions(1000), &clock);
  constexpr int kHot = 300;
  auto hot = [](int i) { return "hot" + std::to_string(i); };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kHot; ++i) Get(c, "t", hot(i));
  }
  // A scan of one-hit wonders, 10x the cache size (under LRU it would evict every hot key).
  for (int i = 0; i < 10000; ++i) Get(c, "t", "scan" + std::to_string(i));
  int hits = 0;
  for (int i = 0; i < kHot; ++i) hits += Peek(c, "t", hot(i)) >= 0 ? 1 : 0;
  EXPECT_EQ(hits, kHot);
}

TEST(L1CacheTest, GhostHitIsAdmittedToMain) {
  FakeClock clock;
  L1Cache c(SmallOptions(100), &clock);  // small queue: 10 entries
  Fill(c, "t", "x");
  for (int i = 0; i < 110; ++i) Fill(c, "t", "fill" + std::to_string(i));
  ASSERT_EQ(Peek(c, "t", "x"), -1);  // evicted from small unused: now a ghost

  Fill(c, "t", "x");  // readmitted: straight to main
  Fill(c, "t", "y");  // a new key: to small
  // Small holds everything but x (~99 entries) and turns over completely during this scan.
  for (int i = 0; i < 150; ++i) Fill(c, "t", "scan" + std::to_string(i));
  EXPECT_EQ(Peek(c, "t", "x"), 1);   // main is untouched while small turns over
  EXPECT_EQ(Peek(c, "t", "y"), -1);  // small's one-hit wonders go first
}

TEST(L1CacheTest, SetsAreSharedAndReleasedWithTheirLastEntry) {
  FakeClock clock;
  L1Cache c(SmallOptions(1000), &clock);
  std::weak_ptr<const PermissionSet> weak;
  {
    auto set = VersionedSet(3);
    weak = set;
    std::atomic<int> calls{0};
    for (const char* u : {"a", "b", "c"}) {
      ASSERT_TRUE(c.Load(HashKey("t", u), "t", u, CountingLoader(set, &calls)).ok());
    }
  }
  EXPECT_EQ(weak.use_count(), 1);  // one table reference for three entries
  c.InvalidateKey("t", "a");
  c.InvalidateUser("b");
  EXPECT_FALSE(weak.expired());
  c.InvalidateKey("t", "c");  // the block stays linked, but the set goes at once
  EXPECT_TRUE(weak.expired());
  Fill(c, "t", "a", 4);
  EXPECT_EQ(Peek(c, "t", "a"), 4);
}

class InvalidationTest : public ::testing::Test {
 protected:
  InvalidationTest() : cache_(SmallOptions(10000, 8), &clock_) {
    for (const char* t : {"A", "B", "C"}) {
      for (const char* u : {"u1", "u2", "u10", "v1"}) Fill(cache_, t, u);
    }
  }
  std::vector<std::string> Cached() {
    std::vector<std::string> out;
    for (const char* t : {"A", "B", "C"}) {
      for (const char* u : {"u1", "u2", "u10", "v1"}) {
        if (Peek(cache_, t, u) >= 0) out.push_back(std::string(t) + "/" + u);
      }
    }
    return out;
  }
  FakeClock clock_;
  L1Cache cache_;
};

using Keys = std::vector<std::string>;

TEST_F(InvalidationTest, Key) {
  EXPECT_EQ(cache_.InvalidateKey("A", "u1"), 1u);
  EXPECT_EQ(cache_.InvalidateKey("A", "u1"), 0u);
  EXPECT_EQ(cache_.InvalidateKey("A", "nobody"), 0u);
  EXPECT_EQ(Cached(), (Keys{"A/u2", "A/u10", "A/v1", "B/u1", "B/u2", "B/u10", "B/v1", "C/u1",
                            "C/u2", "C/u10", "C/v1"}));
  EXPECT_EQ(cache_.GetStats().invalidations, 1u);
  EXPECT_EQ(cache_.GetStats().entries, 11u);
}

TEST_F(InvalidationTest, Tenant) {
  EXPECT_EQ(cache_.InvalidateTenant("A"), 4u);
  EXPECT_EQ(Cached(),
            (Keys{"B/u1", "B/u2", "B/u10", "B/v1", "C/u1", "C/u2", "C/u10", "C/v1"}));
  EXPECT_EQ(cache_.InvalidateTenant("A"), 0u);
}

TEST_F(InvalidationTest, UserAcrossTenants) {
  EXPECT_EQ(cache_.InvalidateUser("u1"), 3u);
  EXPECT_EQ(Cached(), (Keys{"A/u2", "A/u10", "A/v1", "B/u2", "B/u10", "B/v1", "C/u2", "C/u10",
                            "C/v1"}));
}

TEST_F(InvalidationTest, PatternUserAnyTenant) {
  EXPECT_EQ(cache_.InvalidatePattern("perms:u1:*"), 3u);
  EXPECT_EQ(Cached(), (Keys{"A/u2", "A/u10", "A/v1", "B/u2", "B/u10", "B/v1", "C/u2", "C/u10",
                            "C/v1"}));
}

TEST_F(InvalidationTest, PatternTenant) {
  EXPECT_EQ(cache_.InvalidatePattern("perms:*:B"), 4u);
  EXPECT_EQ(Cached(),
            (Keys{"A/u1", "A/u2", "A/u10", "A/v1", "C/u1", "C/u2", "C/u10", "C/v1"}));
}

TEST_F(InvalidationTest, PatternQuestionMark) {
  // "u?" matches u1 and u2 but not u10 or v1.
  EXPECT_EQ(cache_.InvalidatePattern("perms:u?:A"), 2u);
  EXPECT_EQ(Cached(), (Keys{"A/u10", "A/v1", "B/u1", "B/u2", "B/u10", "B/v1", "C/u1", "C/u2",
                            "C/u10", "C/v1"}));
  EXPECT_EQ(cache_.InvalidatePattern("perms:u1*"), 5u);  // u1 and u10 everywhere but A/u1
  EXPECT_EQ(cache_.InvalidatePattern("perms:*"), 5u);
  EXPECT_EQ(cache_.GetStats().entries, 0u);
}

TEST_F(InvalidationTest, All) {
  const uint64_t before = cache_.GetStats().memory_bytes;
  EXPECT_EQ(cache_.InvalidateAll(), 12u);
  EXPECT_TRUE(Cached().empty());
  L1Cache::Stats st = cache_.GetStats();
  EXPECT_EQ(st.entries, 0u);
  EXPECT_LT(st.memory_bytes, before);
  EXPECT_EQ(st.invalidations, 12u);
  // Still usable.
  Fill(cache_, "A", "u1", 5);
  EXPECT_EQ(Peek(cache_, "A", "u1"), 5);
}

TEST_F(InvalidationTest, DeadEntriesAreReclaimed) {
  // InvalidateKey leaves the block linked in its FIFO; the next scan (or eviction) frees it.
  const uint64_t full = cache_.GetStats().memory_bytes;
  cache_.InvalidateKey("A", "u1");
  EXPECT_EQ(cache_.GetStats().memory_bytes, full);  // honest: the block is still allocated
  cache_.InvalidateTenant("nobody");
  EXPECT_LT(cache_.GetStats().memory_bytes, full);
}

}  // namespace
}  // namespace permcache
