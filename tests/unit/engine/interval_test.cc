// Validity intervals in the compiler (DESIGN §8, "time is a writer"): every edge of an interval
// (one ms before, exactly at, one ms after starts_at and expires_at) for memberships, grants,
// held roles and resource grants, and the set's next transition across all of them.
#include <gtest/gtest.h>

#include "engine/compiler.h"

namespace permcache {
namespace {

constexpr int64_t kT = 1'796'000'000'000;  // an instant in late 2026
constexpr int64_t kNever = Interval::kNoExpiry;

UserGrants Active() {
  UserGrants ug;
  ug.membership = MembershipState::kActive;
  ug.grants.push_back({"base", Effect::kAllow, 0, {"docs:read"}, "", "", "reader"});
  return ug;
}

TEST(IntervalTest, MembershipCountsFromStartsAtUntilJustBeforeExpiresAt) {
  UserGrants ug = Active();
  ug.membership_valid = {kT, kT + 1000};
  struct Edge {
    int64_t at;
    MembershipState state;
    const char* reason;
    int64_t valid_until;
  };
  for (const Edge& e : {Edge{kT - 1, MembershipState::kNotStarted, "membership_not_started", kT},
                        Edge{kT, MembershipState::kActive, "policy", kT + 1000},
                        Edge{kT + 1, MembershipState::kActive, "policy", kT + 1000},
                        Edge{kT + 999, MembershipState::kActive, "policy", kT + 1000},
                        Edge{kT + 1000, MembershipState::kExpired, "membership_expired", kNever},
                        Edge{kT + 1001, MembershipState::kExpired, "membership_expired", kNever}}) {
    SCOPED_TRACE(e.at - kT);
    const PermissionSet set = CompilePermissionSet(ug, e.at);
    EXPECT_EQ(set.membership(), e.state);
    EXPECT_EQ(set.Allowed("docs:read", ""), e.state == MembershipState::kActive);
    EXPECT_EQ(set.Explain("docs:read", "").kind, e.reason);
    EXPECT_EQ(set.valid_until_ms(), e.valid_until);
  }
  // Explain says when: the start before it, the expiry while active.
  EXPECT_EQ(CompilePermissionSet(ug, kT - 1).Explain("docs:read", "").expires_at_ms, kT);
  EXPECT_EQ(CompilePermissionSet(ug, kT).Explain("docs:read", "").expires_at_ms, kT + 1000);
}

TEST(IntervalTest, PendingAndSuspendedNeverCountWhateverTheInterval) {
  UserGrants ug = Active();
  ug.membership = MembershipState::kPending;
  ug.membership_valid = {kT - 10, kT + 10};
  PermissionSet set = CompilePermissionSet(ug, kT);
  EXPECT_FALSE(set.Allowed("docs:read", ""));
  EXPECT_EQ(set.Explain("docs:read", "").kind, "membership_pending");
  EXPECT_EQ(set.valid_until_ms(), kNever) << "nothing time can change: no transition";
  ug.membership = MembershipState::kSuspended;
  EXPECT_EQ(CompilePermissionSet(ug, kT).Explain("docs:read", "").kind, "membership_suspended");
}

TEST(IntervalTest, AnExpiringGrantDropsJustThatGrantAndTheNextTransitionIsTheEarliest) {
  UserGrants ug = Active();
  ug.grants.push_back({"temp", Effect::kAllow, 0, {"docs:write"}, "", "", "editor",
                       {Interval::kNoStart, kT + 500}});
  ug.grants.push_back({"soon", Effect::kAllow, 0, {"docs:admin"}, "", "", "admin",
                       {kT + 200, Interval::kNoExpiry}});
  ug.membership_valid = {Interval::kNoStart, kT + 900};

  PermissionSet before = CompilePermissionSet(ug, kT);
  EXPECT_TRUE(before.Allowed("docs:read", ""));
  EXPECT_TRUE(before.Allowed("docs:write", ""));
  EXPECT_FALSE(before.Allowed("docs:admin", "")) << "starts at +200";
  EXPECT_EQ(before.valid_until_ms(), kT + 200);
  // Explain names the earlier of the grant's and the membership's expiry.
  EXPECT_EQ(before.Explain("docs:write", "").expires_at_ms, kT + 500);
  EXPECT_EQ(before.Explain("docs:read", "").expires_at_ms, kT + 900);

  PermissionSet started = CompilePermissionSet(ug, kT + 200);
  EXPECT_TRUE(started.Allowed("docs:admin", ""));
  EXPECT_EQ(started.valid_until_ms(), kT + 500);
  PermissionSet one_before = CompilePermissionSet(ug, kT + 499);
  EXPECT_TRUE(one_before.Allowed("docs:write", ""));
  PermissionSet expired = CompilePermissionSet(ug, kT + 500);
  EXPECT_FALSE(expired.Allowed("docs:write", ""));
  EXPECT_TRUE(expired.Allowed("docs:read", "")) << "only that grant dropped";
  EXPECT_EQ(expired.valid_until_ms(), kT + 900);
}

TEST(IntervalTest, BoundedRolesAndResourceGrantsCountOnlyInsideTheirIntervals) {
  UserGrants ug = Active();
  ug.roles = {"reader"};
  ug.bounded_roles = {{"nurse", {kT, kT + 100}}};
  ug.resource_grants = {{"film", {"media:view"}, {kT + 50, kT + 300}}};
  PermissionSet at0 = CompilePermissionSet(ug, kT - 1);
  EXPECT_FALSE(at0.HasRole("nurse"));
  EXPECT_TRUE(at0.HasRole("reader"));
  EXPECT_EQ(at0.ResourceGrantMatch("film", "media:view"), nullptr);
  EXPECT_EQ(at0.valid_until_ms(), kT);
  PermissionSet at50 = CompilePermissionSet(ug, kT + 50);
  EXPECT_TRUE(at50.HasRole("nurse"));
  EXPECT_NE(at50.ResourceGrantMatch("film", "media:view"), nullptr);
  EXPECT_EQ(at50.valid_until_ms(), kT + 100);
  PermissionSet at100 = CompilePermissionSet(ug, kT + 100);
  EXPECT_FALSE(at100.HasRole("nurse"));
  EXPECT_NE(at100.ResourceGrantMatch("film", "media:view"), nullptr);
  EXPECT_EQ(at100.valid_until_ms(), kT + 300);
  PermissionSet at300 = CompilePermissionSet(ug, kT + 300);
  EXPECT_EQ(at300.ResourceGrantMatch("film", "media:view"), nullptr);
  EXPECT_EQ(at300.valid_until_ms(), kNever);
  // NextTransitionAfter over the raw grants agrees (what bounds an L2 entry's TTL).
  EXPECT_EQ(NextTransitionAfter(ug, kT - 1), kT);
  EXPECT_EQ(NextTransitionAfter(ug, kT + 50), kT + 100);
  EXPECT_EQ(NextTransitionAfter(ug, kT + 300), kNever);
}

TEST(IntervalTest, SetsDifferingOnlyInTheirNextTransitionAreNotEqual) {
  UserGrants a = Active(), b = Active();
  a.grants[0].valid = {Interval::kNoStart, kT + 10};
  b.grants[0].valid = {Interval::kNoStart, kT + 20};
  const PermissionSet sa = CompilePermissionSet(a, kT), sb = CompilePermissionSet(b, kT);
  EXPECT_TRUE(sa.Allowed("docs:read", "") && sb.Allowed("docs:read", ""));
  EXPECT_FALSE(sa == sb) << "sharing one set would give one of them the wrong expiry";
  EXPECT_NE(sa.ContentHash(), sb.ContentHash());
  EXPECT_TRUE(CompilePermissionSet(a, kT) == sa);
}

// Groups (DESIGN §8): a user with no membership of their own is active through an active group
// while its interval holds; the set's next transition is the group's edge; with two groups the
// membership moves from one to the other at the first one's expiry; an own suspended
// membership wins and time cannot change it.
UserGrants GroupMember(std::vector<GroupRow> groups) {
  UserGrants ug;
  ug.groups = std::move(groups);
  for (const GroupRow& g : ug.groups) {
    if (!g.active) continue;
    ug.grants.push_back({"base", Effect::kAllow, 0, {"docs:read"}, "", "", "group:" + g.group + ">reader",
                         g.valid});
  }
  return ug;
}

TEST(IntervalTest, MembershipThroughAGroupFollowsTheGroupsIntervalEdges) {
  const UserGrants ug = GroupMember({{"school", true, {kT, kT + 1000}}});
  struct Edge {
    int64_t at;
    MembershipState state;
    const char* reason;
    int64_t valid_until;
  };
  for (const Edge& e : {Edge{kT - 1, MembershipState::kNotStarted, "membership_not_started", kT},
                        Edge{kT, MembershipState::kActive, "policy", kT + 1000},
                        Edge{kT + 999, MembershipState::kActive, "policy", kT + 1000},
                        Edge{kT + 1000, MembershipState::kExpired, "membership_expired", kNever}}) {
    SCOPED_TRACE(e.at - kT);
    const PermissionSet set = CompilePermissionSet(ug, e.at);
    EXPECT_EQ(set.membership(), e.state);
    EXPECT_EQ(set.membership_via(), "school");
    EXPECT_EQ(set.Allowed("docs:read", ""), e.state == MembershipState::kActive);
    EXPECT_EQ(set.Explain("docs:read", "").kind, e.reason);
    EXPECT_EQ(set.valid_until_ms(), e.valid_until);
  }
  EXPECT_EQ(CompilePermissionSet(ug, kT).Explain("docs:read", "").role_path, "group:school>reader");
  EXPECT_EQ(CompilePermissionSet(ug, kT).Explain("docs:read", "").expires_at_ms, kT + 1000);
}

TEST(IntervalTest, TwoGroupsHandTheMembershipOverAtTheFirstExpiry) {
  // club: until kT + 1000; school: from kT + 500 on. A suspended group never counts.
  const UserGrants ug = GroupMember({{"attic", false, {}},
                                     {"club", true, {Interval::kNoStart, kT + 1000}},
                                     {"school", true, {kT + 500, Interval::kNoExpiry}}});
  PermissionSet set = CompilePermissionSet(ug, kT);
  EXPECT_EQ(set.membership_via(), "club");
  EXPECT_EQ(set.valid_until_ms(), kT + 500) << "school starts: the set changes";
  set = CompilePermissionSet(ug, kT + 600);
  EXPECT_TRUE(set.Allowed("docs:read", ""));
  EXPECT_EQ(set.membership_via(), "school") << "the one lasting longest";
  EXPECT_EQ(set.valid_until_ms(), kT + 1000);
  set = CompilePermissionSet(ug, kT + 1000);
  EXPECT_TRUE(set.Allowed("docs:read", ""));
  EXPECT_EQ(set.membership_via(), "school");
  EXPECT_EQ(set.valid_until_ms(), kNever);
  // Only the suspended one: suspended through it, and time changes nothing.
  set = CompilePermissionSet(GroupMember({{"attic", false, {kT, kT + 10}}}), kT);
  EXPECT_EQ(set.membership(), MembershipState::kSuspended);
  EXPECT_EQ(set.membership_via(), "attic");
  EXPECT_EQ(set.valid_until_ms(), kNever);
}

TEST(IntervalTest, AnOwnSuspendedMembershipWinsOverAnActiveGroup) {
  UserGrants ug = GroupMember({{"school", true, {kT, kT + 1000}}});
  ug.membership = MembershipState::kSuspended;
  ug.grants.clear();  // the store reads none for a suspended own membership
  const PermissionSet set = CompilePermissionSet(ug, kT + 1);
  EXPECT_EQ(set.membership(), MembershipState::kSuspended);
  EXPECT_EQ(set.membership_via(), "");
  EXPECT_EQ(set.valid_until_ms(), kNever) << "the group's edges cannot change it";
  // An own active membership: the group's grants count on top, and its edges are transitions.
  ug = GroupMember({{"school", true, {kT, kT + 1000}}});
  ug.membership = MembershipState::kActive;
  const PermissionSet own = CompilePermissionSet(ug, kT - 1);
  EXPECT_EQ(own.membership(), MembershipState::kActive);
  EXPECT_FALSE(own.Allowed("docs:read", "")) << "the group's grant has not started";
  EXPECT_EQ(own.valid_until_ms(), kT);
  EXPECT_TRUE(CompilePermissionSet(ug, kT).Allowed("docs:read", ""));
}

}  // namespace
}  // namespace permcache
