// LoadGrants, Export and reopening, on every backend.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class GrantsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
  }
};

// --- LoadGrants ----------------------------------------------------------------------------------

TEST_P(GrantsTest, DirectRoleGrant) {
  UserGrants g = Grants("t1", "alice");
  EXPECT_EQ(g.membership, MembershipState::kActive);
  EXPECT_EQ(g.revision, Revision());
  EXPECT_THAT(g.grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "nurse"}));
}

TEST_P(GrantsTest, InheritedGrantCarriesTheRolePath) {
  EXPECT_THAT(
      Grants("t1", "bob").grants,
      ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "senior_nurse>nurse"}));
  EXPECT_THAT(
      Grants("t1", "dave").grants,
      UnorderedElementsAre(
          Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "chief>senior_nurse>nurse"},
          Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "chief>doctor"}));
}

TEST_P(GrantsTest, PolicyAndAssignmentScopes) {
  EXPECT_THAT(
      Grants("t1", "carol").grants,
      ElementsAre(Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "doctor"}));
  EXPECT_THAT(Grants("t1", "gina").grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "er", "nurse"}));
}

TEST_P(GrantsTest, DirectUserPolicyHasAnEmptyRolePath) {
  EXPECT_THAT(Grants("t1", "erin").grants,
              ElementsAre(Grant{"block", Effect::kDeny, 10, {"assets:*"}, "", "", ""}));
}

TEST_P(GrantsTest, DirectAndRoleGrantsTogether) {
  MustApply({PutUserPolicy("t1", "bob", "extra"), PutUserRole("t1", "bob", "doctor", "er")});
  EXPECT_THAT(
      Grants("t1", "bob").grants,
      ElementsAre(Grant{"extra", Effect::kAllow, 0, {"extra:use"}, "", "", ""},
                  Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "er", "doctor"},
                  Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "senior_nurse>nurse"}));
}

TEST_P(GrantsTest, SamePolicyThroughTwoPathsOfOneAssignmentIsListedOnceWithTheShortestPath) {
  MustApply({PutRolePolicy("t1", "senior_nurse", "read")});
  EXPECT_THAT(Grants("t1", "dave").grants,
              UnorderedElementsAre(
                  Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "chief>senior_nurse"},
                  Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "chief>doctor"}));
}

TEST_P(GrantsTest, DeepDiamondGraphLoadsQuickly) {
  // 30 layers of diamonds: 2^30 paths, 60 roles. A path-enumerating walk would never finish.
  std::vector<WriteOp> ops = {PutRole("t1", "l0a"), PutRole("t1", "l0b")};
  for (int i = 1; i <= 30; ++i) {
    std::vector<std::string> below = {"l" + std::to_string(i - 1) + "a",
                                      "l" + std::to_string(i - 1) + "b"};
    ops.push_back(PutRole("t1", "l" + std::to_string(i) + "a", below));
    ops.push_back(PutRole("t1", "l" + std::to_string(i) + "b", below));
  }
  ops.push_back(PutRolePolicy("t1", "l0a", "read"));
  ops.push_back(PutUserRole("t1", "frank", "l30a"));
  MustApply(ops);
  UserGrants g = Grants("t1", "frank");
  ASSERT_EQ(g.grants.size(), 1u);
  std::string shortest = "l30a";
  for (int i = 29; i >= 0; --i) shortest += ">l" + std::to_string(i) + "a";
  EXPECT_EQ(g.grants[0].role_path, shortest);
  // The affected-users query on the same graph is also fine.
  EXPECT_EQ(MustApply({PutRolePolicy("t1", "l0b", "extra")}).users, (UserKeys{{"t1", "frank"}}));
}

TEST_P(GrantsTest, SuspendedMembershipHasNoGrants) {
  UserGrants g = Grants("t1", "sam");
  EXPECT_EQ(g.membership, MembershipState::kSuspended);
  EXPECT_THAT(g.grants, IsEmpty());
}

TEST_P(GrantsTest, UnknownUserOrTenantIsNoMembership) {
  UserGrants g = Grants("t1", "nobody");
  EXPECT_EQ(g.membership, MembershipState::kNone);
  EXPECT_THAT(g.grants, IsEmpty());
  EXPECT_EQ(g.revision, Revision());
  EXPECT_EQ(Grants("nope", "alice").membership, MembershipState::kNone);
  // Roles without a membership grant nothing.
  MustApply({PutUserRole("t1", "ghost", "nurse")});
  EXPECT_EQ(Grants("t1", "ghost").membership, MembershipState::kNone);
  EXPECT_THAT(Grants("t1", "ghost").grants, IsEmpty());
}

TEST_P(GrantsTest, TenantsAreIsolated) {
  EXPECT_THAT(Grants("t2", "alice").grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "nurse"}));
  MustApply({PutRolePolicy("t1", "nurse", "extra")});
  EXPECT_EQ(Grants("t2", "alice").grants.size(), 1u);
  EXPECT_EQ(Grants("t1", "alice").grants.size(), 2u);
}

TEST_P(GrantsTest, RevisionFollowsWrites) {
  uint64_t before = Grants("t1", "alice").revision;
  ChangeSet cs = MustApply({PutRolePolicy("t1", "nurse", "extra")});
  UserGrants g = Grants("t1", "alice");
  EXPECT_EQ(g.revision, cs.revision);
  EXPECT_EQ(g.revision, before + 1);
}

// --- Export --------------------------------------------------------------------------------------

TEST_P(GrantsTest, ExportRoundTripsThroughModelToOps) {
  MustApply({PutPolicy("t1", "ordered", {"z:*", "a:read", "m:x"}, Effect::kDeny, -3),
             PutRole("t1", "multi", {"doctor", "nurse", "chief"})});
  Model exported = ExportAll();
  std::unique_ptr<Store> fresh = FreshStore();
  ASSERT_NE(fresh, nullptr);
  MustApply(*fresh, ModelToOps(exported));
  EXPECT_EQ(ExportOf(*fresh, ""), exported);
  // Importing again into the same store changes nothing.
  MustApply(*fresh, ModelToOps(exported));
  EXPECT_EQ(ExportOf(*fresh, ""), exported);
}

TEST_P(GrantsTest, ExportOfOneTenant) {
  Model t2 = ExportOf(*store_, "t2");
  EXPECT_THAT(t2.tenants, ElementsAre(Tenant{"t2"}));
  EXPECT_THAT(t2.roles, ElementsAre(Role{"t2", "nurse", {}}));
  EXPECT_THAT(t2.user_roles, ElementsAre(UserRole{"t2", "alice", "nurse", ""}));
  EXPECT_THAT(t2.business_units, IsEmpty());
}

TEST_P(GrantsTest, ExportOfUnknownTenantIsNotFound) {
  StatusOr<Model> m = store_->Export("nope");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("nope"));
}

// Regression: a default-constructed string_view has a null data(), which was bound as SQL NULL,
// so "every tenant" exported nothing (found by the e2e test of GET /v1/model).
TEST_P(GrantsTest, ExportWithDefaultConstructedTenantListsEveryTenant) {
  StatusOr<Model> m = store_->Export(std::string_view());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, ExportAll());
  EXPECT_GE(m->tenants.size(), 2u);
}

TEST_P(StoreTest, ExportOfEmptyStoreIsEmpty) { EXPECT_EQ(ExportAll(), Model{}); }

// --- reopen and migrations -----------------------------------------------------------------------

TEST_P(GrantsTest, ReopenSeesDataAndRevision) {
  Model before = ExportAll();
  uint64_t rev = Revision();
  store_.reset();
  store_ = OpenUrl(url());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(ExportAll(), before);
  EXPECT_EQ(Revision(), rev);
  EXPECT_EQ(MustApply({PutTenant("t3")}).revision, rev + 1);
}

PERMCACHE_INSTANTIATE_STORE_TEST(GrantsTest);

}  // namespace
}  // namespace permcache::store_test
