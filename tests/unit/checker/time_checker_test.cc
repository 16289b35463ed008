// Time is a writer (DESIGN §8) through the Checker, with a fake clock: an answer cached before
// an interval ends changes at that instant with no write and no store read before it, and the
// membership answer says how the membership stands. The store here adds intervals to what a
// real SQLite store reads (TimedStore), so this tests the engine and cache path on their own.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "common/clock.h"
#include "permcache/checker.h"
#include "permcache/forwarding_store.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"
#include "unit/checker/checker_fixture.h"

namespace permcache::testing {
namespace {

// Puts fixed intervals on every grant and on the membership it reads, and counts reads.
class TimedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  void Set(Interval membership, Interval grants) {
    std::lock_guard lock(mu_);
    membership_ = membership;
    grants_ = grants;
  }
  int reads() const { return reads_.load(); }
  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override {
    ++reads_;
    StatusOr<UserGrants> g = ForwardingStore::LoadGrants(tenant, user);
    if (!g.ok()) return g;
    std::lock_guard lock(mu_);
    g->membership_valid = membership_;
    for (Grant& grant : g->grants) grant.valid = grants_;
    return g;
  }

 private:
  std::mutex mu_;
  Interval membership_, grants_;
  std::atomic<int> reads_{0};
};

class TimeCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.File("time.db");
    auto seed = OpenChecker(db);
    ASSERT_NE(seed, nullptr);
    ASSERT_TRUE(seed->Write(std::vector<WriteOp>{PutTenant("t"), PutRole("t", "r"),
                                                 PutPolicy("t", "p", {"docs:read"}),
                                                 PutRolePolicy("t", "r", "p"), PutMember("t", "u"),
                                                 PutUserRole("t", "u", "r")})
                    .ok());
    auto store = OpenStore("sqlite:" + db);
    ASSERT_TRUE(store.ok());
    auto timed = std::make_unique<TimedStore>(std::move(*store));
    store_ = timed.get();
    Options o;
    o.clock = &clock_;
    auto c = Checker::Open(o, std::move(timed));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    checker_ = std::move(*c);
  }

  Decision Check() {
    auto d = checker_->Check({.tenant = "t", .user = "u", .permission = "docs:read",
                              .explain = true});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Decision{};
  }
  bool Allowed() {
    auto d = checker_->Check({.tenant = "t", .user = "u", .permission = "docs:read"});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() && d->allowed;
  }

  TempDir dir_;
  FakeClock clock_;
  TimedStore* store_ = nullptr;
  std::unique_ptr<Checker> checker_;
};

TEST_F(TimeCheckerTest, AGrantExpiringWhileCachedIsDeniedAtThatInstantWithoutAWrite) {
  const int64_t expiry = clock_.WallMs() + 2000;
  store_->Set({}, {Interval::kNoStart, expiry});
  Decision first = Check();
  EXPECT_TRUE(first.allowed);
  ASSERT_TRUE(first.reason.has_value());
  EXPECT_EQ(first.reason->expires_at_ms, expiry);
  const int reads = store_->reads();
  clock_.AdvanceWallTo(expiry - 1);
  EXPECT_TRUE(Allowed()) << "one ms before";
  EXPECT_EQ(store_->reads(), reads) << "answered from L1 until the transition";
  clock_.AdvanceWallTo(expiry);
  EXPECT_FALSE(Allowed()) << "exactly at expires_at";
  EXPECT_EQ(store_->reads(), reads + 1) << "one recompile, no write";
  EXPECT_EQ(Check().reason->kind, "no_match");
  EXPECT_FALSE(Allowed());
  EXPECT_EQ(store_->reads(), reads + 1) << "the recompiled set is cached again";
}

// A transition beyond the TTL is not tested on hits (the TTL retires the entry first), so a
// wall-clock step past it must not leave the cached allow in place: the maintenance thread
// notices the step (WallClockWatch) and drops the cache.
TEST_F(TimeCheckerTest, AWallClockStepPastAFarExpiryDropsTheCachedAllow) {
  const int64_t expiry = clock_.WallMs() + 86'400'000;  // a day: far beyond the 15 min TTL
  store_->Set({}, {Interval::kNoStart, expiry});
  ASSERT_TRUE(Allowed());
  const int reads = store_->reads();
  EXPECT_TRUE(Allowed());
  EXPECT_EQ(store_->reads(), reads) << "cached";
  clock_.StepWallMs(expiry - clock_.WallMs());  // the wall clock alone jumps to the expiry
  EXPECT_TRUE(WaitUntil([&] { return !Allowed(); })) << "the step is noticed within a tick";
  EXPECT_EQ(Check().reason->kind, "no_match");
}

TEST_F(TimeCheckerTest, AMembershipStartingLaterIsAllowedFromThatInstant) {
  const int64_t start = clock_.WallMs() + 5000;
  store_->Set({start, Interval::kNoExpiry}, {});
  Decision before = Check();
  EXPECT_FALSE(before.allowed);
  EXPECT_EQ(before.reason->kind, "membership_not_started");
  EXPECT_EQ(before.reason->expires_at_ms, start);
  auto info = checker_->Membership("t", "u");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->active);
  EXPECT_EQ(info->status, "not_started");
  EXPECT_EQ(info->expires_at_ms, start);
  clock_.AdvanceWallTo(start - 1);
  EXPECT_FALSE(Allowed());
  clock_.AdvanceWallTo(start);
  EXPECT_TRUE(Allowed()) << "exactly at starts_at";
  info = checker_->Membership("t", "u");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->active);
  EXPECT_EQ(info->status, "active");
  EXPECT_FALSE(info->expires_at_ms.has_value());
}

TEST_F(TimeCheckerTest, AnExpiredMembershipSaysSo) {
  const int64_t expiry = clock_.WallMs() + 100;
  store_->Set({Interval::kNoStart, expiry}, {});
  EXPECT_TRUE(Allowed());
  auto info = checker_->Membership("t", "u");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->expires_at_ms, expiry);
  clock_.AdvanceWallTo(expiry + 1);
  Decision after = Check();
  EXPECT_FALSE(after.allowed);
  EXPECT_EQ(after.reason->kind, "membership_expired");
  info = checker_->Membership("t", "u");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, "expired");
}

}  // namespace
}  // namespace permcache::testing
