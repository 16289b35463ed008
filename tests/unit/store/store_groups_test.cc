// Groups in the stores (DESIGN §8, seed 004's organisations), on every backend: what LoadGrants
// reads for a member (the groups with status and interval, group policies and group roles of
// active groups with their "group:G" role paths and the group's interval), membership through a
// group, the keys each group op records (exactly the group's members), holders through groups,
// cascades, export/import, and the reference errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr int64_t kStart = 1'796'126'400'000;  // 2026-12-01T12:00:00Z
constexpr int64_t kEnd = 1'796'212'800'000;    // 2026-12-02T12:00:00Z

// Tenant t1 of the hospital model plus: group "school" (active) holding role nurse and policy
// extra, with members alice (own membership), zoe and yann (none of their own); group "club"
// (suspended) holding policy extra, with member zoe and sam (own suspended membership).
class GroupsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
    MustApply({PutGroup("t1", "school"), PutGroupRole("t1", "school", "nurse"),
               PutGroupPolicy("t1", "school", "extra"), PutGroupMember("t1", "school", "alice"),
               PutGroupMember("t1", "school", "zoe"), PutGroupMember("t1", "school", "yann"),
               PutGroup("t1", "club", MembershipStatus::kSuspended),
               PutGroupPolicy("t1", "club", "extra"), PutGroupMember("t1", "club", "zoe"),
               PutGroupMember("t1", "school", "sam")});
  }
  UserKeys AffectedBy(const WriteOp& op) { return MustApply({op}).users; }

  static const Grant* Find(const UserGrants& g, std::string_view role_path) {
    for (const Grant& x : g.grants) {
      if (x.role_path == role_path) return &x;
    }
    return nullptr;
  }
};

TEST_P(GroupsTest, AMemberWithoutOwnMembershipGetsTheGroupsRolesAndPolicies) {
  UserGrants g = Grants("t1", "yann");
  EXPECT_EQ(g.membership, MembershipState::kNone);
  EXPECT_THAT(g.groups, ElementsAre(GroupRow{"school", true, {}}));
  ASSERT_NE(Find(g, "group:school>nurse"), nullptr);
  EXPECT_EQ(Find(g, "group:school>nurse")->policy, "read");
  ASSERT_NE(Find(g, "group:school"), nullptr);
  EXPECT_EQ(Find(g, "group:school")->policy, "extra");
  EXPECT_EQ(g.grants.size(), 2u);
  EXPECT_THAT(g.roles, ElementsAre("nurse"));
  const EffectiveMembership m = EffectiveMembershipAt(g, kStart);
  EXPECT_EQ(m.state, MembershipState::kActive);
  EXPECT_EQ(m.via, "school");
}

TEST_P(GroupsTest, ASuspendedGroupGivesNothingAndTwoGroupsAreBothListed) {
  UserGrants g = Grants("t1", "zoe");
  EXPECT_THAT(g.groups, ElementsAre(GroupRow{"club", false, {}}, GroupRow{"school", true, {}}));
  for (const Grant& x : g.grants) EXPECT_NE(x.role_path, "group:club");
  EXPECT_NE(Find(g, "group:school"), nullptr);
}

TEST_P(GroupsTest, AnOwnMembershipDecidesOverTheGroup) {
  // alice: own active membership and the school's grants on top of her own.
  UserGrants alice = Grants("t1", "alice");
  EXPECT_EQ(alice.membership, MembershipState::kActive);
  EXPECT_NE(Find(alice, "nurse"), nullptr);
  EXPECT_NE(Find(alice, "group:school>nurse"), nullptr);
  EXPECT_EQ(EffectiveMembershipAt(alice, kStart).via, "");
  // sam: own suspended membership wins over the active group: nothing is read.
  UserGrants sam = Grants("t1", "sam");
  EXPECT_EQ(sam.membership, MembershipState::kSuspended);
  EXPECT_THAT(sam.grants, IsEmpty());
  EXPECT_EQ(EffectiveMembershipAt(sam, kStart).state, MembershipState::kSuspended);
}

TEST_P(GroupsTest, AGroupsIntervalIsOnItsRowAndOnEveryGrantThroughIt) {
  WriteOp timed = PutGroup("t1", "school");
  timed.starts_at_ms = kStart;
  timed.expires_at_ms = kEnd;
  MustApply({timed});
  UserGrants g = Grants("t1", "yann");
  EXPECT_THAT(g.groups, ElementsAre(GroupRow{"school", true, {kStart, kEnd}}));
  ASSERT_EQ(g.grants.size(), 2u);
  for (const Grant& x : g.grants) EXPECT_EQ(x.valid, (Interval{kStart, kEnd})) << x.role_path;
  // A bounded group's unscoped role is held only inside the interval.
  EXPECT_THAT(g.roles, IsEmpty());
  EXPECT_THAT(g.bounded_roles,
              ElementsAre(std::pair<std::string, Interval>{"nurse", {kStart, kEnd}}));
  EXPECT_EQ(EffectiveMembershipAt(g, kStart - 1).state, MembershipState::kNotStarted);
  EXPECT_EQ(EffectiveMembershipAt(g, kStart).state, MembershipState::kActive);
  EXPECT_EQ(EffectiveMembershipAt(g, kEnd).state, MembershipState::kExpired);
  EXPECT_EQ(NextTransitionAfter(g, kStart), kEnd);
}

TEST_P(GroupsTest, AScopedGroupRoleCarriesItsBusinessUnitAndDeleteNeedsTheExactKey) {
  MustApply({PutGroupRole("t1", "school", "doctor", "icu")});
  UserGrants g = Grants("t1", "yann");
  const Grant* write = Find(g, "group:school>doctor");
  ASSERT_NE(write, nullptr);
  EXPECT_EQ(write->assignment_scope, "icu");
  EXPECT_THAT(g.roles, ElementsAre("nurse")) << "a scoped assignment holds no role for the UI";
  MustApply({DeleteGroupRole("t1", "school", "doctor")});  // the unscoped key: nothing
  EXPECT_NE(Find(Grants("t1", "yann"), "group:school>doctor"), nullptr);
  MustApply({DeleteGroupRole("t1", "school", "doctor", "icu")});
  EXPECT_EQ(Find(Grants("t1", "yann"), "group:school>doctor"), nullptr);
}

TEST_P(GroupsTest, InheritedRolesOfAGroupRoleCarryTheFullPath) {
  MustApply({PutGroupRole("t1", "school", "senior_nurse")});
  UserGrants g = Grants("t1", "yann");
  EXPECT_NE(Find(g, "group:school>senior_nurse>nurse"), nullptr);
  EXPECT_THAT(g.roles, ElementsAre("nurse", "senior_nurse"));
}

TEST_P(GroupsTest, GroupChangesRecordExactlyTheMembers) {
  const UserKeys school = {{"t1", "alice"}, {"t1", "sam"}, {"t1", "yann"}, {"t1", "zoe"}};
  EXPECT_EQ(AffectedBy(PutGroup("t1", "school", MembershipStatus::kSuspended)), school);
  EXPECT_EQ(AffectedBy(PutGroup("t1", "school", MembershipStatus::kSuspended)), UserKeys{})
      << "an unchanged put records nobody";
  WriteOp expiring = PutGroup("t1", "school");
  expiring.expires_at_ms = kEnd;
  EXPECT_EQ(AffectedBy(expiring), school);
  EXPECT_EQ(AffectedBy(PutGroupRole("t1", "school", "doctor")), school);
  EXPECT_EQ(AffectedBy(PutGroupRole("t1", "school", "doctor")), UserKeys{});
  EXPECT_EQ(AffectedBy(DeleteGroupRole("t1", "school", "doctor")), school);
  EXPECT_EQ(AffectedBy(DeleteGroupPolicy("t1", "school", "extra")), school);
  EXPECT_EQ(AffectedBy(PutGroupPolicy("t1", "school", "extra")), school);
  EXPECT_EQ(AffectedBy(PutGroupMember("t1", "school", "walt")), (UserKeys{{"t1", "walt"}}));
  EXPECT_EQ(AffectedBy(DeleteGroupMember("t1", "school", "walt")), (UserKeys{{"t1", "walt"}}));
  EXPECT_EQ(AffectedBy(DeleteGroupMember("t1", "school", "walt")), UserKeys{});
  EXPECT_EQ(AffectedBy(DeleteGroup("t1", "club")), (UserKeys{{"t1", "zoe"}}));
  EXPECT_EQ(AffectedBy(DeleteGroup("t1", "club")), UserKeys{});
}

TEST_P(GroupsTest, RoleAndPolicyHoldersIncludeMembersOfGroupsHoldingThem) {
  // nurse is held by alice, gina, sam (own), bob and dave (inheriting), and the school's members.
  EXPECT_EQ(AffectedBy(PutRolePolicy("t1", "nurse", "extra")),
            (UserKeys{{"t1", "alice"},
                      {"t1", "bob"},
                      {"t1", "dave"},
                      {"t1", "gina"},
                      {"t1", "sam"},
                      {"t1", "yann"},
                      {"t1", "zoe"}}));
  // extra reaches the school's and the club's members directly (and now nurse's holders).
  EXPECT_EQ(AffectedBy(PutPolicy("t1", "extra", {"extra:use", "extra:more"})),
            (UserKeys{{"t1", "alice"},
                      {"t1", "bob"},
                      {"t1", "dave"},
                      {"t1", "gina"},
                      {"t1", "sam"},
                      {"t1", "yann"},
                      {"t1", "zoe"}}));
  MustApply({DeleteRolePolicy("t1", "nurse", "extra")});
  EXPECT_EQ(AffectedBy(PutPolicy("t1", "extra", {"extra:use"})),
            (UserKeys{{"t1", "alice"}, {"t1", "sam"}, {"t1", "yann"}, {"t1", "zoe"}}));
  // A group holding a role that inherits the changed role.
  MustApply({PutGroup("t1", "seniors"), PutGroupRole("t1", "seniors", "senior_nurse"),
             PutGroupMember("t1", "seniors", "walt")});
  const UserKeys nurse_change = MustApply({PutRole("t1", "nurse", {"doctor"})}).users;
  EXPECT_NE(std::find(nurse_change.begin(), nurse_change.end(),
                      std::pair<std::string, std::string>{"t1", "walt"}),
            nurse_change.end());
}

TEST_P(GroupsTest, DeletingARolePolicyOrGroupCascadesOutOfTheLinks) {
  const UserKeys deleted_role = MustApply({DeleteRole("t1", "nurse")}).users;
  EXPECT_NE(std::find(deleted_role.begin(), deleted_role.end(),
                      std::pair<std::string, std::string>{"t1", "yann"}),
            deleted_role.end());
  EXPECT_EQ(Find(Grants("t1", "yann"), "group:school>nurse"), nullptr);
  MustApply({DeletePolicy("t1", "extra")});
  EXPECT_THAT(Grants("t1", "yann").grants, IsEmpty());
  MustApply({DeleteGroup("t1", "school")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.groups, ElementsAre(Group{"t1", "club", MembershipStatus::kSuspended, {}, {}}));
  EXPECT_THAT(m.group_members, ElementsAre(GroupMember{"t1", "club", "zoe"}));
  EXPECT_THAT(m.group_roles, IsEmpty());
  EXPECT_THAT(m.group_policies, IsEmpty());
  EXPECT_EQ(Grants("t1", "yann").membership, MembershipState::kNone);
  EXPECT_THAT(Grants("t1", "yann").groups, IsEmpty());
}

TEST_P(GroupsTest, DeletingABusinessUnitOrTenantRemovesItsGroupRows) {
  MustApply({PutGroupRole("t1", "school", "doctor", "icu"), DeleteBu("t1", "icu")});
  EXPECT_THAT(ExportOf(*store_, "t1").group_roles,
              ElementsAre(GroupRole{"t1", "school", "nurse", ""}));
  MustApply({DeleteTenant("t1")});
  EXPECT_THAT(ExportAll().groups, IsEmpty());
  EXPECT_THAT(ExportAll().group_members, IsEmpty());
}

TEST_P(GroupsTest, ExportAndImportRoundTrip) {
  WriteOp timed = PutGroup("t1", "school");
  timed.starts_at_ms = kStart;
  MustApply({timed, PutGroupRole("t1", "school", "doctor", "icu")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.groups,
              ElementsAre(Group{"t1", "club", MembershipStatus::kSuspended, {}, {}},
                          Group{"t1", "school", MembershipStatus::kActive, kStart, {}}));
  EXPECT_THAT(m.group_members,
              ElementsAre(GroupMember{"t1", "club", "zoe"}, GroupMember{"t1", "school", "alice"},
                          GroupMember{"t1", "school", "sam"}, GroupMember{"t1", "school", "yann"},
                          GroupMember{"t1", "school", "zoe"}));
  EXPECT_THAT(m.group_roles, ElementsAre(GroupRole{"t1", "school", "doctor", "icu"},
                                         GroupRole{"t1", "school", "nurse", ""}));
  EXPECT_THAT(m.group_policies, ElementsAre(GroupPolicy{"t1", "club", "extra"},
                                            GroupPolicy{"t1", "school", "extra"}));
  std::unique_ptr<Store> copy = FreshStore();
  ASSERT_NE(copy, nullptr);
  MustApply(*copy, ModelToOps(m));
  EXPECT_EQ(ExportOf(*copy, "t1"), m);
}

TEST_P(GroupsTest, ReferenceErrorsNameWhatIsMissingAndApplyNothing) {
  const uint64_t before = Revision();
  Status s = ApplyError({PutGroupMember("t1", "nope", "zoe")});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("op 0: group 'nope' does not exist in tenant 't1'"));
  s = ApplyError({PutGroupRole("t1", "school", "ghost")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("op 0: role 'ghost' does not exist in tenant 't1'"));
  s = ApplyError({PutGroupRole("t1", "school", "nurse", "ward9")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("business unit 'ward9' does not exist"));
  s = ApplyError({PutGroupPolicy("t1", "nope", "extra")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("group 'nope' does not exist"));
  s = ApplyError({PutGroupPolicy("t1", "school", "ghost")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("policy 'ghost' does not exist"));
  s = ApplyError({PutGroup("t9", "school")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("tenant 't9' does not exist"));
  s = ApplyError({PutGroup("t1", "new"), DeleteGroup("t1", "new"), PutGroupMember("t1", "new", "x")});
  EXPECT_THAT(s.message(), ::testing::HasSubstr("op 2: group 'new' does not exist"));
  EXPECT_EQ(Revision(), before);
}

PERMCACHE_INSTANTIATE_STORE_TEST(GroupsTest);

}  // namespace
}  // namespace permcache::store_test
