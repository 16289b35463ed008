// Validity intervals in the stores (DESIGN §8), on every backend: what put ops write is what
// LoadGrants reads (intervals on the membership, on each grant through its assignment, on held
// roles and on resource grants), pending memberships, changes of only an interval, export and
// import, and the store refusing what validation refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

constexpr int64_t kStart = 1'796'126'400'000;  // 2026-12-01T12:00:00Z
constexpr int64_t kEnd = 1'796'212'800'000;    // 2026-12-02T12:00:00Z

WriteOp Timed(WriteOp op, std::optional<int64_t> starts, std::optional<int64_t> expires) {
  op.starts_at_ms = starts;
  op.expires_at_ms = expires;
  return op;
}

class IntervalsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
  }
};

TEST_P(IntervalsTest, TheMembershipIntervalIsReadBackAndPendingIsNotActive) {
  MustApply({Timed(PutMember("t1", "alice"), kStart, kEnd)});
  UserGrants g = Grants("t1", "alice");
  EXPECT_EQ(g.membership, MembershipState::kActive);
  EXPECT_EQ(g.membership_valid, (Interval{kStart, kEnd}));
  EXPECT_FALSE(g.grants.empty()) << "the engine, not the store, decides the instant";

  MustApply({Timed(PutMember("t1", "bob", MembershipStatus::kPending), std::nullopt, kEnd)});
  UserGrants pending = Grants("t1", "bob");
  EXPECT_EQ(pending.membership, MembershipState::kPending);
  EXPECT_TRUE(pending.grants.empty());
  // Unbounded by default.
  EXPECT_TRUE(Grants("t1", "carol").membership_valid.unbounded());
}

TEST_P(IntervalsTest, EachGrantCarriesItsAssignmentsIntervalThroughTheRoleWalk) {
  MustApply({Timed(PutUserRole("t1", "frank", "senior_nurse"), std::nullopt, kEnd),
             Timed(PutUserPolicy("t1", "frank", "extra"), kStart, std::nullopt)});
  UserGrants g = Grants("t1", "frank");
  ASSERT_EQ(g.grants.size(), 2u);
  for (const Grant& grant : g.grants) {
    if (grant.policy == "read") {
      EXPECT_EQ(grant.role_path, "senior_nurse>nurse");
      EXPECT_EQ(grant.valid, (Interval{Interval::kNoStart, kEnd}));
    } else {
      EXPECT_EQ(grant.policy, "extra");
      EXPECT_EQ(grant.valid, (Interval{kStart, Interval::kNoExpiry}));
    }
  }
  // A bounded unscoped assignment holds its roles only inside the interval.
  EXPECT_THAT(g.roles, ::testing::IsEmpty());
  EXPECT_THAT(g.bounded_roles,
              ::testing::UnorderedElementsAre(
                  std::pair<std::string, Interval>{"senior_nurse", {Interval::kNoStart, kEnd}},
                  std::pair<std::string, Interval>{"nurse", {Interval::kNoStart, kEnd}}));
  // Unbounded assignments are unchanged.
  UserGrants alice = Grants("t1", "alice");
  EXPECT_THAT(alice.roles, ::testing::ElementsAre("nurse"));
  EXPECT_TRUE(alice.bounded_roles.empty());
  ASSERT_EQ(alice.grants.size(), 1u);
  EXPECT_TRUE(alice.grants[0].valid.unbounded());
}

TEST_P(IntervalsTest, ResourceGrantsCarryTheirInterval) {
  MustApply({PutResource("t1", "film", "media"),
             Timed(PutResourceGrant("t1", "film", "alice", {"media:view"}), kStart, kEnd)});
  UserGrants g = Grants("t1", "alice");
  ASSERT_EQ(g.resource_grants.size(), 1u);
  EXPECT_EQ(g.resource_grants[0].valid, (Interval{kStart, kEnd}));
}

TEST_P(IntervalsTest, ChangingOnlyAnIntervalIsAChangeOfThatUser) {
  using Keys = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(MustApply({Timed(PutUserRole("t1", "alice", "nurse"), std::nullopt, kEnd)}).users,
            (Keys{{"t1", "alice"}}));
  EXPECT_TRUE(MustApply({Timed(PutUserRole("t1", "alice", "nurse"), std::nullopt, kEnd)})
                  .users.empty())
      << "the same interval again changes nothing";
  EXPECT_EQ(MustApply({PutUserRole("t1", "alice", "nurse")}).users, (Keys{{"t1", "alice"}}))
      << "dropping the bound is a change";
  EXPECT_EQ(MustApply({Timed(PutMember("t1", "bob"), kStart, std::nullopt)}).users,
            (Keys{{"t1", "bob"}}));
  EXPECT_EQ(MustApply({PutMember("t1", "bob", MembershipStatus::kPending)}).users,
            (Keys{{"t1", "bob"}}));
}

TEST_P(IntervalsTest, ExportCarriesIntervalsAndPendingAndImportRoundTrips) {
  MustApply({Timed(PutMember("t1", "alice", MembershipStatus::kPending), kStart, kEnd),
             Timed(PutUserRole("t1", "frank", "nurse"), kStart, std::nullopt),
             Timed(PutUserPolicy("t1", "frank", "extra"), std::nullopt, kEnd),
             PutResource("t1", "film", "media"),
             Timed(PutResourceGrant("t1", "film", "frank", {"media:view"}), std::nullopt, kEnd)});
  const Model m = ExportOf(*store_, "t1");
  auto member = std::find_if(m.memberships.begin(), m.memberships.end(),
                             [](const Membership& x) { return x.user == "alice"; });
  ASSERT_NE(member, m.memberships.end());
  EXPECT_EQ(member->status, MembershipStatus::kPending);
  EXPECT_EQ(member->starts_at_ms, kStart);
  EXPECT_EQ(member->expires_at_ms, kEnd);
  auto role = std::find_if(m.user_roles.begin(), m.user_roles.end(),
                           [](const UserRole& x) { return x.user == "frank"; });
  ASSERT_NE(role, m.user_roles.end());
  EXPECT_EQ(role->starts_at_ms, kStart);
  EXPECT_FALSE(role->expires_at_ms.has_value());
  ASSERT_EQ(m.user_policies.size(), 2u);
  ASSERT_EQ(m.resource_grants.size(), 1u);
  EXPECT_EQ(m.resource_grants[0].expires_at_ms, kEnd);
  // Imported elsewhere, the same model comes back.
  std::unique_ptr<Store> other = FreshStore();
  ASSERT_NE(other, nullptr);
  MustApply(*other, ModelToOps(m));
  EXPECT_EQ(ExportOf(*other, "t1"), m);
}

TEST_P(IntervalsTest, AnEmptyIntervalIsRefused) {
  const Status s = ApplyError({Timed(PutUserRole("t1", "alice", "nurse"), kEnd, kStart)});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("expires_at"));
  EXPECT_EQ(ApplyError({Timed(PutRole("t1", "x"), std::nullopt, kEnd)}).code(),
            StatusCode::kInvalidArgument)
      << "a bound on an op that has none is refused, not ignored";
}

PERMCACHE_INSTANTIATE_STORE_TEST(IntervalsTest);

}  // namespace
}  // namespace permcache::store_test
