// Every decision rule of DESIGN §2, through the compiler (as the checker uses it).
#include <gtest/gtest.h>

#include "engine/compiler.h"

namespace permcache {
namespace {

Grant G(std::string policy, Effect effect, int32_t priority, std::vector<std::string> perms,
        std::string role_path = "", std::string policy_scope = "",
        std::string assignment_scope = "") {
  return Grant{std::move(policy), effect,  priority, std::move(perms), std::move(policy_scope),
               std::move(assignment_scope), std::move(role_path)};
}

PermissionSet Compile(std::vector<Grant> grants, MembershipState m = MembershipState::kActive) {
  UserGrants ug;
  ug.membership = m;
  ug.grants = std::move(grants);
  ug.revision = 7;
  return CompilePermissionSet(ug, 0);
}

TEST(DecideTest, NoMembershipDenies) {
  UserGrants ug;  // unknown tenant or user: no membership, no grants
  PermissionSet set = CompilePermissionSet(ug, 0);
  EXPECT_FALSE(set.Allowed("assets:read", ""));
  EXPECT_EQ(set.Explain("assets:read", "").kind, "no_membership");
}

TEST(DecideTest, SuspendedMembershipDeniesEvenWithGrants) {
  PermissionSet set =
      Compile({G("p", Effect::kAllow, 0, {"*"}, "admin")}, MembershipState::kSuspended);
  EXPECT_FALSE(set.Allowed("assets:read", ""));
  EXPECT_EQ(set.Explain("assets:read", "").kind, "membership_suspended");
  EXPECT_TRUE(set.rules().empty());
}

TEST(DecideTest, NoCandidateDenies) {
  PermissionSet set = Compile({G("p", Effect::kAllow, 0, {"assets:read"}, "r")});
  EXPECT_TRUE(set.Allowed("assets:read", ""));
  EXPECT_FALSE(set.Allowed("assets:write", ""));
  EXPECT_EQ(set.Explain("assets:write", "").kind, "no_match");
}

TEST(DecideTest, HigherPriorityWins) {
  PermissionSet set = Compile({G("allow_all", Effect::kAllow, 10, {"assets:*"}, "admin"),
                               G("deny_delete", Effect::kDeny, 5, {"assets:delete"}, "r")});
  EXPECT_TRUE(set.Allowed("assets:delete", ""));  // allow at 10 beats deny at 5
  PermissionSet set2 = Compile({G("allow_all", Effect::kAllow, 0, {"assets:*"}, "admin"),
                                G("deny_delete", Effect::kDeny, 5, {"assets:delete"}, "r")});
  EXPECT_FALSE(set2.Allowed("assets:delete", ""));
  EXPECT_TRUE(set2.Allowed("assets:read", ""));
  Reason why = set2.Explain("assets:delete", "");
  EXPECT_EQ(why.policy, "deny_delete");
  EXPECT_EQ(why.effect, Effect::kDeny);
  EXPECT_EQ(why.priority, 5);
}

TEST(DecideTest, DenyBeatsAllowAtEqualPriority) {
  for (auto order : {0, 1}) {
    std::vector<Grant> g = {G("a", Effect::kAllow, 3, {"x:y"}), G("d", Effect::kDeny, 3, {"x:*"})};
    if (order) std::swap(g[0], g[1]);
    PermissionSet set = Compile(g);
    EXPECT_FALSE(set.Allowed("x:y", ""));
    EXPECT_EQ(set.Explain("x:y", "").policy, "d");
  }
}

TEST(DecideTest, NegativePrioritiesOrder) {
  PermissionSet set = Compile({G("a", Effect::kAllow, -1, {"x:y"}), G("d", Effect::kDeny, -5, {"x:y"})});
  EXPECT_TRUE(set.Allowed("x:y", ""));
}

TEST(DecideTest, ScopedPolicyOnlyWhenCheckNamesThatUnit) {
  PermissionSet set = Compile({G("ward", Effect::kAllow, 0, {"beds:assign"}, "nurse", "ward_a")});
  EXPECT_FALSE(set.Allowed("beds:assign", ""));
  EXPECT_FALSE(set.Allowed("beds:assign", "ward_b"));
  EXPECT_TRUE(set.Allowed("beds:assign", "ward_a"));
  EXPECT_EQ(set.Explain("beds:assign", "ward_a").business_unit, "ward_a");
}

TEST(DecideTest, UnscopedPolicyAppliesInEveryUnit) {
  PermissionSet set = Compile({G("p", Effect::kAllow, 0, {"a:b"})});
  EXPECT_TRUE(set.Allowed("a:b", "any_unit"));
}

TEST(DecideTest, BuScopedRoleAssignment) {
  // Role assigned only in unit "east": its policies count only for checks naming "east".
  PermissionSet set = Compile({G("p", Effect::kAllow, 0, {"a:b"}, "manager", "", "east")});
  EXPECT_TRUE(set.Allowed("a:b", "east"));
  EXPECT_FALSE(set.Allowed("a:b", "west"));
  EXPECT_FALSE(set.Allowed("a:b", ""));
}

TEST(DecideTest, ScopedPolicyThroughRoleOfOtherUnitNeverApplies) {
  PermissionSet set = Compile({G("p", Effect::kAllow, 0, {"a:b"}, "m", "west", "east")});
  EXPECT_FALSE(set.Allowed("a:b", "east"));
  EXPECT_FALSE(set.Allowed("a:b", "west"));
  EXPECT_TRUE(set.rules().empty());
}

TEST(DecideTest, ScopedDenyOverridesOnlyInItsUnit) {
  PermissionSet set = Compile({G("allow", Effect::kAllow, 0, {"a:*"}),
                               G("deny_east", Effect::kDeny, 0, {"a:b"}, "", "east")});
  EXPECT_FALSE(set.Allowed("a:b", "east"));
  EXPECT_TRUE(set.Allowed("a:b", "west"));
  EXPECT_TRUE(set.Allowed("a:b", ""));
}

TEST(DecideTest, InheritanceChainExplainedWithRolePath) {
  // The store resolves inheritance; the engine keeps the path for explain.
  PermissionSet set =
      Compile({G("menu_pharmacy", Effect::kAllow, 0, {"ui:menu_pharmacy"}, "senior_nurse>nurse")});
  Reason r = set.Explain("ui:menu_pharmacy", "");
  EXPECT_EQ(r.kind, "policy");
  EXPECT_EQ(r.policy, "menu_pharmacy");
  EXPECT_EQ(r.role_path, "senior_nurse>nurse");
  EXPECT_EQ(r.matched_pattern, "ui:menu_pharmacy");
}

TEST(DecideTest, SamePolicyThroughTwoRolesKeepsShortestPath) {
  PermissionSet set = Compile({G("p", Effect::kAllow, 0, {"a:b"}, "x>y>z"),
                               G("p", Effect::kAllow, 0, {"a:b"}, "z")});
  EXPECT_EQ(set.rules().size(), 1u);
  EXPECT_EQ(set.Explain("a:b", "").role_path, "z");
}

TEST(DecideTest, DirectAssignmentHasEmptyRolePath) {
  PermissionSet set = Compile({G("direct", Effect::kAllow, 0, {"a:b"})});
  EXPECT_EQ(set.Explain("a:b", "").role_path, "");
}

TEST(DecideTest, GrantOrderDoesNotChangeTheSet) {
  std::vector<Grant> g = {G("a", Effect::kAllow, 1, {"x:y", "z:*"}, "r1"),
                          G("b", Effect::kDeny, 1, {"x:q"}, "r2"), G("c", Effect::kAllow, 0, {"*"})};
  PermissionSet s1 = Compile(g);
  std::reverse(g.begin(), g.end());
  PermissionSet s2 = Compile(g);
  EXPECT_TRUE(s1 == s2);
  EXPECT_EQ(s1.ContentHash(), s2.ContentHash());
}

}  // namespace
}  // namespace permcache
