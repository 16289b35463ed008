// Apply: every op kind, references, cycles, atomicity, revisions, changelog and affected keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store/op_applier.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class ApplyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
  }

  // Users of t1 listed by a one-op batch.
  UserKeys AffectedBy(const WriteOp& op) { return MustApply({op}).users; }
};

// --- every op kind ------------------------------------------------------------------------------

TEST_P(ApplyTest, HospitalModelIsStored) {
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.tenants, ElementsAre(Tenant{"t1"}));
  EXPECT_THAT(m.business_units, ElementsAre(BusinessUnit{"t1", "er"}, BusinessUnit{"t1", "icu"}));
  EXPECT_EQ(m.memberships.size(), 8u);
  EXPECT_THAT(m.roles,
              ElementsAre(Role{"t1", "chief", {"senior_nurse", "doctor"}}, Role{"t1", "doctor", {}},
                          Role{"t1", "nurse", {}}, Role{"t1", "senior_nurse", {"nurse"}}));
  ASSERT_EQ(m.policies.size(), 4u);
  EXPECT_EQ(m.policies[0], (Policy{"t1", "block", Effect::kDeny, 10, {"assets:*"}, ""}));
  EXPECT_EQ(m.policies[3], (Policy{"t1", "write", Effect::kAllow, 0, {"assets:write"}, "icu"}));
  EXPECT_THAT(m.role_policies,
              ElementsAre(RolePolicy{"t1", "doctor", "write"}, RolePolicy{"t1", "nurse", "read"}));
  EXPECT_EQ(m.user_roles.size(), 6u);
  EXPECT_THAT(m.user_policies, ElementsAre(UserPolicy{"t1", "erin", "block"}));
}

TEST_P(ApplyTest, EveryDeleteOpKindRemovesItsRow) {
  MustApply({DeleteUserPolicy("t1", "erin", "block"), DeleteUserRole("t1", "alice", "nurse"),
             DeleteRolePolicy("t1", "doctor", "write"), DeleteMember("t1", "frank"),
             DeletePolicy("t1", "extra"), DeleteRole("t1", "chief"), DeleteBu("t1", "er")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.user_policies, IsEmpty());
  EXPECT_THAT(m.role_policies, ElementsAre(RolePolicy{"t1", "nurse", "read"}));
  EXPECT_THAT(m.business_units, ElementsAre(BusinessUnit{"t1", "icu"}));
  for (const auto& ur : m.user_roles) EXPECT_NE(ur.user, "alice");
  for (const auto& mb : m.memberships) EXPECT_NE(mb.user, "frank");
  for (const auto& p : m.policies) EXPECT_NE(p.policy, "extra");
  for (const auto& r : m.roles) EXPECT_NE(r.role, "chief");
}

TEST_P(ApplyTest, PutsUpdateInPlace) {
  MustApply({PutMember("t1", "alice", MembershipStatus::kSuspended),
             PutPolicy("t1", "read", {"assets:read", "assets:list"}, Effect::kDeny, 5, "er"),
             PutRole("t1", "chief", {"doctor"})});
  Model m = ExportOf(*store_, "t1");
  EXPECT_EQ(m.memberships[0], (Membership{"t1", "alice", MembershipStatus::kSuspended}));
  auto read = std::find_if(m.policies.begin(), m.policies.end(),
                           [](const Policy& p) { return p.policy == "read"; });
  ASSERT_NE(read, m.policies.end());
  EXPECT_EQ(*read, (Policy{"t1", "read", Effect::kDeny, 5, {"assets:read", "assets:list"}, "er"}));
  EXPECT_EQ(m.roles[0], (Role{"t1", "chief", {"doctor"}}));
  // The policy kept its links: an upsert must not delete and re-insert (that would cascade).
  EXPECT_THAT(m.role_policies,
              ElementsAre(RolePolicy{"t1", "doctor", "write"}, RolePolicy{"t1", "nurse", "read"}));
}

TEST_P(ApplyTest, PutRoleReplacesInherits) {
  MustApply({PutRole("t1", "chief")});
  EXPECT_EQ(ExportOf(*store_, "t1").roles[0], (Role{"t1", "chief", {}}));
}

TEST_P(ApplyTest, PermissionOrderIsPreserved) {
  MustApply({PutPolicy("t1", "mixed", {"z:read", "a:*", "m:write"})});
  for (const auto& p : ExportOf(*store_, "t1").policies) {
    if (p.policy == "mixed") {
      EXPECT_THAT(p.permissions, ElementsAre("z:read", "a:*", "m:write"));
    }
  }
}

// --- idempotence and deleting what is missing ----------------------------------------------------

TEST_P(ApplyTest, ReapplyingPutsIsIdempotentAndAffectsNobody) {
  Model before = ExportAll();
  ChangeSet cs = MustApply(HospitalOps());
  EXPECT_EQ(ExportAll(), before);
  EXPECT_THAT(cs.users, IsEmpty());
  EXPECT_THAT(cs.tenants, IsEmpty());
}

TEST_P(ApplyTest, DeletingMissingThingsIsNotAnError) {
  uint64_t rev = Revision();
  Model before = ExportAll();
  ChangeSet cs = MustApply(
      {DeleteTenant("nope"), DeleteBu("t1", "nope"), DeleteMember("t1", "nobody"),
       DeleteRole("t1", "nope"), DeletePolicy("t1", "nope"),
       DeleteRolePolicy("t1", "nurse", "write"), DeleteUserRole("t1", "alice", "doctor"),
       DeleteUserRole("t1", "alice", "nurse", "icu"), DeleteUserPolicy("t1", "alice", "block")});
  EXPECT_EQ(ExportAll(), before);
  // A batch that changed nothing still commits a revision (simplest; documented).
  EXPECT_EQ(cs.revision, rev + 1);
  EXPECT_THAT(cs.users, IsEmpty());
  EXPECT_THAT(cs.tenants, IsEmpty());
}

// --- cascades ------------------------------------------------------------------------------------

TEST_P(ApplyTest, DeleteRoleRemovesItsLinks) {
  MustApply({DeleteRole("t1", "nurse")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.role_policies, ElementsAre(RolePolicy{"t1", "doctor", "write"}));
  for (const auto& ur : m.user_roles) EXPECT_NE(ur.role, "nurse");
  // senior_nurse inherited nurse: that edge is gone; chief's edges are untouched.
  EXPECT_THAT(m.roles, ElementsAre(Role{"t1", "chief", {"senior_nurse", "doctor"}},
                                   Role{"t1", "doctor", {}}, Role{"t1", "senior_nurse", {}}));
  // t2 has its own nurse.
  EXPECT_THAT(ExportOf(*store_, "t2").roles, ElementsAre(Role{"t2", "nurse", {}}));
}

TEST_P(ApplyTest, DeleteParentRoleRemovesEdgesFromChildren) {
  MustApply({DeleteRole("t1", "senior_nurse")});
  EXPECT_EQ(ExportOf(*store_, "t1").roles[0], (Role{"t1", "chief", {"doctor"}}));
}

TEST_P(ApplyTest, DeletePolicyRemovesItsLinks) {
  MustApply({PutRolePolicy("t1", "nurse", "block"), DeletePolicy("t1", "block")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.user_policies, IsEmpty());
  EXPECT_THAT(m.role_policies,
              ElementsAre(RolePolicy{"t1", "doctor", "write"}, RolePolicy{"t1", "nurse", "read"}));
}

TEST_P(ApplyTest, DeleteTenantRemovesEverythingOfItOnly) {
  MustApply({DeleteTenant("t1")});
  Model all = ExportAll();
  EXPECT_THAT(all.tenants, ElementsAre(Tenant{"t2"}));
  auto only_t2 = [](const auto& rows) {
    return std::all_of(rows.begin(), rows.end(), [](const auto& r) { return r.tenant == "t2"; });
  };
  EXPECT_TRUE(only_t2(all.business_units));
  EXPECT_TRUE(only_t2(all.memberships));
  EXPECT_TRUE(only_t2(all.roles));
  EXPECT_TRUE(only_t2(all.policies));
  EXPECT_TRUE(only_t2(all.role_policies));
  EXPECT_TRUE(only_t2(all.user_roles));
  EXPECT_TRUE(only_t2(all.user_policies));
  EXPECT_EQ(all.user_roles.size(), 1u);
  EXPECT_EQ(store_->Export("t1").status().code(), StatusCode::kNotFound);
  // The tenant can be created afresh.
  MustApply({PutTenant("t1")});
  EXPECT_THAT(ExportOf(*store_, "t1").roles, IsEmpty());
}

TEST_P(ApplyTest, DeleteBusinessUnitRemovesScopedAssignmentsAndPolicies) {
  MustApply({PutRolePolicy("t1", "nurse", "write"), PutUserPolicy("t1", "frank", "write"),
             PutUserRole("t1", "frank", "doctor", "icu")});
  MustApply({DeleteBu("t1", "icu")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_THAT(m.business_units, ElementsAre(BusinessUnit{"t1", "er"}));
  for (const auto& p : m.policies) EXPECT_NE(p.policy, "write");
  EXPECT_THAT(m.role_policies, ElementsAre(RolePolicy{"t1", "nurse", "read"}));
  EXPECT_THAT(m.user_policies, ElementsAre(UserPolicy{"t1", "erin", "block"}));
  for (const auto& ur : m.user_roles) EXPECT_NE(ur.business_unit, "icu");
  // Unscoped assignment of the same role stays; the er-scoped one too.
  EXPECT_EQ(m.user_roles.size(), 6u);
}

TEST_P(ApplyTest, DeleteUserRoleMatchesTheBusinessUnitExactly) {
  MustApply({PutUserRole("t1", "alice", "nurse", "icu")});
  MustApply({DeleteUserRole("t1", "alice", "nurse")});  // the unscoped one only
  Model m = ExportOf(*store_, "t1");
  EXPECT_EQ(
      std::count(m.user_roles.begin(), m.user_roles.end(), UserRole{"t1", "alice", "nurse", "icu"}),
      1);
  EXPECT_EQ(
      std::count(m.user_roles.begin(), m.user_roles.end(), UserRole{"t1", "alice", "nurse", ""}),
      0);
}

// --- reference errors ----------------------------------------------------------------------------

struct RefCase {
  const char* name;
  WriteOp op;
  const char* message;
};

TEST_P(ApplyTest, EveryReferenceErrorNamesTheOpIndexAndAppliesNothing) {
  const RefCase cases[] = {
        RefCase{"BuTenant", PutBu("nope", "x"), "tenant 'nope' does not exist"},
        RefCase{"MembershipTenant", PutMember("nope", "u"), "tenant 'nope' does not exist"},
        RefCase{"RoleTenant", PutRole("nope", "r"), "tenant 'nope' does not exist"},
        RefCase{"RoleInherits", PutRole("t1", "r", {"nurse", "ghost"}),
                "role 'ghost' does not exist in tenant 't1'"},
        RefCase{"PolicyTenant", PutPolicy("nope", "p", {"a:b"}), "tenant 'nope' does not exist"},
        RefCase{"PolicyScope", PutPolicy("t1", "p", {"a:b"}, Effect::kAllow, 0, "lab"),
                "business unit 'lab' does not exist in tenant 't1'"},
        RefCase{"RolePolicyRole", PutRolePolicy("t1", "ghost", "read"),
                "role 'ghost' does not exist in tenant 't1'"},
        RefCase{"RolePolicyPolicy", PutRolePolicy("t1", "nurse", "ghost"),
                "policy 'ghost' does not exist in tenant 't1'"},
        RefCase{"UserRoleRole", PutUserRole("t1", "u", "ghost"),
                "role 'ghost' does not exist in tenant 't1'"},
        RefCase{"UserRoleOtherTenantsRole", PutUserRole("t2", "u", "doctor"),
                "role 'doctor' does not exist in tenant 't2'"},
        RefCase{"UserRoleBu", PutUserRole("t1", "u", "nurse", "lab"),
                "business unit 'lab' does not exist in tenant 't1'"},
        RefCase{"UserRoleTenant", PutUserRole("nope", "u", "nurse"),
                "tenant 'nope' does not exist"},
        RefCase{"UserPolicyPolicy", PutUserPolicy("t1", "u", "ghost"),
                "policy 'ghost' does not exist in tenant 't1'"},
        RefCase{"BuOfRoleCreatedEarlierInBatch", PutUserRole("t1", "u", "fresh", "nope"),
                "business unit 'nope' does not exist in tenant 't1'"}};
  for (const RefCase& c : cases) {
    SCOPED_TRACE(c.name);
    uint64_t rev = Revision();
    Model before = ExportAll();
    // Two good ops first, so the failing op has index 2.
    Status s = ApplyError({PutMember("t1", "zed"), PutRole("t1", "fresh"), c.op});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("op 2: ") + c.message);
    EXPECT_EQ(Revision(), rev);
    EXPECT_EQ(ExportAll(), before);
  }
}

TEST_P(ApplyTest, ReferenceToSomethingDeletedEarlierInTheBatchFails) {
  Status s = ApplyError({DeleteRole("t1", "nurse"), PutUserRole("t1", "zed", "nurse")});
  EXPECT_EQ(s.message(), "op 1: role 'nurse' does not exist in tenant 't1'");
}

TEST_P(ApplyTest, ReferenceToSomethingCreatedEarlierInTheBatchWorks) {
  MustApply({PutTenant("t3"), PutBu("t3", "b"), PutRole("t3", "r"),
             PutPolicy("t3", "p", {"x:y"}, Effect::kAllow, 0, "b"), PutRolePolicy("t3", "r", "p"),
             PutUserRole("t3", "u", "r", "b"), PutUserPolicy("t3", "u", "p")});
  EXPECT_EQ(ExportOf(*store_, "t3").user_roles.size(), 1u);
}

TEST_P(ApplyTest, FieldValidationRunsFirst) {
  WriteOp bad = PutTenant("bad:id");
  Status s = ApplyError({PutTenant("ok"), bad});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("op 1"));
  EXPECT_EQ(store_->Export("ok").status().code(), StatusCode::kNotFound);
}

// --- cycles --------------------------------------------------------------------------------------

TEST_P(ApplyTest, SelfInheritanceIsRejected) {
  Status s = ApplyError({PutRole("t1", "nurse", {"nurse"})});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("op 0"));
  EXPECT_THAT(s.message(), HasSubstr("cycle"));
}

TEST_P(ApplyTest, TwoCycleIsRejected) {
  Status s = ApplyError({PutRole("t1", "nurse", {"senior_nurse"})});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "op 0: role inheritance cycle: nurse>senior_nurse>nurse");
}

TEST_P(ApplyTest, LongCycleIsRejectedWithItsPath) {
  MustApply({PutRole("t1", "a"), PutRole("t1", "b", {"a"}), PutRole("t1", "c", {"b"}),
             PutRole("t1", "d", {"c", "nurse"})});
  Status s = ApplyError({PutRole("t1", "a", {"nurse", "d"})});
  EXPECT_EQ(s.message(), "op 0: role inheritance cycle: a>d>c>b>a");
}

TEST_P(ApplyTest, CycleIntroducedLaterInTheSameBatchIsRejected) {
  uint64_t rev = Revision();
  Status s = ApplyError({PutRole("t1", "x"), PutRole("t1", "y", {"x"}), PutRole("t1", "z", {"y"}),
                         PutRole("t1", "x", {"z"})});
  EXPECT_EQ(s.message(), "op 3: role inheritance cycle: x>z>y>x");
  EXPECT_EQ(Revision(), rev);
  for (const auto& r : ExportOf(*store_, "t1").roles) EXPECT_NE(r.role, "x");
}

TEST_P(ApplyTest, DiamondIsNotACycle) {
  MustApply(
      {PutRole("t1", "both", {"senior_nurse", "nurse"}), PutRole("t1", "top", {"both", "chief"})});
}

// --- atomicity -----------------------------------------------------------------------------------

TEST_P(ApplyTest, FailingOpLeavesNothingApplied) {
  uint64_t rev = Revision();
  Model before = ExportAll();
  Status s = ApplyError(
      {PutTenant("t3"), PutRole("t3", "r"), DeleteTenant("t2"), PutUserRole("t3", "u", "ghost")});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("op 3: "));
  EXPECT_EQ(Revision(), rev);
  EXPECT_EQ(ExportAll(), before);
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(rev, 10);
  ASSERT_TRUE(changes.ok());
  EXPECT_THAT(*changes, IsEmpty());
  // The store is still writable after the rollback.
  EXPECT_EQ(MustApply({PutTenant("t3")}).revision, rev + 1);
}

// --- revisions and the changelog -----------------------------------------------------------------

TEST_P(StoreTest, RevisionStartsAtZeroAndIncrementsByOne) {
  EXPECT_EQ(Revision(), 0u);
  for (uint64_t i = 1; i <= 5; ++i) {
    EXPECT_EQ(MustApply({PutTenant("t" + std::to_string(i))}).revision, i);
    EXPECT_EQ(Revision(), i);
  }
}

TEST_P(ApplyTest, ChangesSinceReturnsWhatApplyReturned) {
  uint64_t base = Revision();
  std::vector<ChangeSet> written;
  written.push_back(MustApply({PutUserRole("t1", "frank", "nurse")}));
  written.push_back(MustApply({DeleteRole("t1", "ghost")}));  // changes nothing
  written.push_back(MustApply({PutRolePolicy("t1", "nurse", "extra"), PutMember("t2", "zoe")}));
  written.push_back(MustApply({DeleteTenant("t2")}));
  StatusOr<std::vector<ChangeSet>> all = store_->ChangesSince(base, 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ((*all)[i].revision, base + 1 + i);
    EXPECT_EQ((*all)[i].revision, written[i].revision);
    EXPECT_EQ((*all)[i].users, written[i].users) << i;
    EXPECT_EQ((*all)[i].tenants, written[i].tenants) << i;
    EXPECT_EQ((*all)[i].committed_at_ms, written[i].committed_at_ms) << i;
    EXPECT_GT(written[i].committed_at_ms, 1'600'000'000'000) << i;  // a plausible epoch time
  }
  EXPECT_THAT((*all)[1].users, IsEmpty());
  EXPECT_THAT((*all)[3].tenants, ElementsAre("t2"));

  StatusOr<std::vector<ChangeSet>> page = store_->ChangesSince(base + 1, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].revision, base + 2);
  EXPECT_EQ((*page)[1].revision, base + 3);
  EXPECT_THAT(*store_->ChangesSince(base + 4, 10), IsEmpty());
  EXPECT_THAT(*store_->ChangesSince(base, 0), IsEmpty());
  EXPECT_THAT(*store_->ChangesSince(~uint64_t{0}, 10), IsEmpty());
}

TEST_P(ApplyTest, FirstRevisionsRecordTheHospitalImport) {
  StatusOr<std::vector<ChangeSet>> all = store_->ChangesSince(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].revision, 1u);
  EXPECT_THAT((*all)[0].tenants, ElementsAre("t1", "t2"));  // new tenants: tenant-wide
  EXPECT_THAT((*all)[0].users, IsEmpty());
}

// --- affected keys -------------------------------------------------------------------------------

TEST_P(ApplyTest, RolePolicyChangeAffectsHoldersOfTheRoleAndInheritingRoles) {
  UserKeys expected = {
      {"t1", "alice"}, {"t1", "bob"}, {"t1", "dave"}, {"t1", "gina"}, {"t1", "sam"}};
  EXPECT_EQ(AffectedBy(PutRolePolicy("t1", "nurse", "extra")), expected);
  EXPECT_EQ(AffectedBy(DeleteRolePolicy("t1", "nurse", "extra")), expected);
  EXPECT_EQ(AffectedBy(PutRolePolicy("t1", "doctor", "extra")),
            (UserKeys{{"t1", "carol"}, {"t1", "dave"}}));
  EXPECT_EQ(AffectedBy(PutRolePolicy("t1", "chief", "extra")), (UserKeys{{"t1", "dave"}}));
}

TEST_P(ApplyTest, PolicyChangeAffectsEveryoneReachingIt) {
  MustApply({PutUserPolicy("t1", "frank", "write")});
  ChangeSet cs =
      MustApply({PutPolicy("t1", "write", {"assets:write", "x:y"}, Effect::kAllow, 0, "icu")});
  EXPECT_EQ(cs.users, (UserKeys{{"t1", "carol"}, {"t1", "dave"}, {"t1", "frank"}}));
  EXPECT_THAT(cs.tenants, IsEmpty());
  // Unchanged re-put affects nobody.
  EXPECT_THAT(
      AffectedBy(PutPolicy("t1", "write", {"assets:write", "x:y"}, Effect::kAllow, 0, "icu")),
      IsEmpty());
  EXPECT_EQ(AffectedBy(DeletePolicy("t1", "write")),
            (UserKeys{{"t1", "carol"}, {"t1", "dave"}, {"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(DeletePolicy("t1", "block")), (UserKeys{{"t1", "erin"}}));
}

TEST_P(ApplyTest, InheritanceChangeAffectsHoldersOfTheChangedRole) {
  // Removing senior_nurse -> nurse changes what senior_nurse and chief grant.
  EXPECT_EQ(AffectedBy(PutRole("t1", "senior_nurse")), (UserKeys{{"t1", "bob"}, {"t1", "dave"}}));
  EXPECT_EQ(AffectedBy(PutRole("t1", "senior_nurse", {"nurse"})),
            (UserKeys{{"t1", "bob"}, {"t1", "dave"}}));
  // Same inherits again: nothing changed.
  EXPECT_THAT(AffectedBy(PutRole("t1", "senior_nurse", {"nurse"})), IsEmpty());
  // A brand-new role affects nobody yet.
  EXPECT_THAT(AffectedBy(PutRole("t1", "intern", {"nurse"})), IsEmpty());
}

TEST_P(ApplyTest, DeleteRoleAffectsItsHoldersAndHoldersOfInheritingRoles) {
  EXPECT_EQ(AffectedBy(DeleteRole("t1", "senior_nurse")),
            (UserKeys{{"t1", "bob"}, {"t1", "dave"}}));
}

TEST_P(ApplyTest, UserLevelOpsAffectThatUser) {
  EXPECT_EQ(AffectedBy(PutMember("t1", "frank", MembershipStatus::kSuspended)),
            (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(DeleteMember("t1", "frank")), (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(PutUserRole("t1", "frank", "nurse", "icu")), (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(DeleteUserRole("t1", "frank", "nurse", "icu")), (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(PutUserPolicy("t1", "frank", "extra")), (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(DeleteUserPolicy("t1", "frank", "extra")), (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(AffectedBy(PutMember("t2", "alice", MembershipStatus::kSuspended)),
            (UserKeys{{"t2", "alice"}}));
}

TEST_P(ApplyTest, TenantLevelOpsAreTenantWide) {
  ChangeSet cs = MustApply({PutBu("t1", "lab")});
  EXPECT_THAT(cs.tenants, ElementsAre("t1"));
  EXPECT_THAT(cs.users, IsEmpty());
  EXPECT_THAT(MustApply({DeleteBu("t1", "lab")}).tenants, ElementsAre("t1"));
  EXPECT_THAT(MustApply({PutTenant("t9")}).tenants, ElementsAre("t9"));
  EXPECT_THAT(MustApply({DeleteTenant("t2")}).tenants, ElementsAre("t2"));
}

TEST_P(ApplyTest, TenantWideSwallowsUserKeysOfThatTenantOnly) {
  ChangeSet cs =
      MustApply({PutUserRole("t1", "frank", "nurse"), PutMember("t2", "zoe"), PutBu("t1", "lab")});
  EXPECT_THAT(cs.tenants, ElementsAre("t1"));
  EXPECT_EQ(cs.users, (UserKeys{{"t2", "zoe"}}));
}

TEST_P(ApplyTest, ChangesInOneTenantNeverListAnotherTenantsUsers) {
  // alice holds "nurse" in both tenants.
  ChangeSet cs = MustApply({PutRolePolicy("t2", "nurse", "read"), DeleteRole("t2", "nurse")});
  EXPECT_EQ(cs.users, (UserKeys{{"t2", "alice"}}));
  cs = MustApply({DeleteRole("t1", "nurse")});
  for (const auto& [tenant, user] : cs.users) EXPECT_EQ(tenant, "t1");
}

TEST_P(ApplyTest, BatchDeduplicatesKeys) {
  ChangeSet cs =
      MustApply({PutUserRole("t1", "frank", "nurse"), PutUserPolicy("t1", "frank", "extra"),
                 PutRolePolicy("t1", "nurse", "extra")});
  EXPECT_EQ(cs.users, (UserKeys{{"t1", "alice"},
                                {"t1", "bob"},
                                {"t1", "dave"},
                                {"t1", "frank"},
                                {"t1", "gina"},
                                {"t1", "sam"}}));
}

TEST_P(ApplyTest, MoreThanTheLimitOfUsersRecordsTheTenant) {
  const size_t n = store::kMaxAffectedUsersPerOp + 1;
  std::vector<WriteOp> ops;
  for (size_t i = 0; i < n; ++i) {
    ops.push_back(PutUserRole("t1", "u" + std::to_string(i), "nurse"));
    if (ops.size() == kMaxOpsPerWrite) {
      MustApply(ops);
      ops.clear();
    }
  }
  MustApply(ops);
  ChangeSet cs = MustApply({PutRolePolicy("t1", "senior_nurse", "extra"),  // bob, dave: precise
                            PutRolePolicy("t1", "nurse", "extra"), PutMember("t2", "zoe")});
  EXPECT_THAT(cs.tenants, ElementsAre("t1"));
  EXPECT_EQ(cs.users, (UserKeys{{"t2", "zoe"}}));
}

PERMCACHE_INSTANTIATE_STORE_TEST(StoreTest);
PERMCACHE_INSTANTIATE_STORE_TEST(ApplyTest);

}  // namespace
}  // namespace permcache::store_test
