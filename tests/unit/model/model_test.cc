#include <gtest/gtest.h>

#include "permcache/model.h"

namespace permcache {
namespace {

TEST(ModelNamesTest, RoundTrip) {
  for (int k = 0; k <= static_cast<int>(OpKind::kDeleteUserPolicy); ++k) {
    auto kind = static_cast<OpKind>(k);
    EXPECT_EQ(ParseOpKind(OpKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseOpKind("drop_everything").has_value());
  EXPECT_EQ(ParseEffect("deny"), Effect::kDeny);
  EXPECT_FALSE(ParseEffect("Deny").has_value());
  EXPECT_EQ(ParseMembershipStatus("suspended"), MembershipStatus::kSuspended);
  EXPECT_FALSE(ParseMembershipStatus("banned").has_value());
}

TEST(ModelToOpsTest, DependencyOrderAndInheritsAfterAllRoles) {
  Model m;
  m.tenants = {{"t"}};
  m.roles = {{"t", "senior", {"nurse"}}, {"t", "nurse", {}}};
  m.policies = {{"t", "p", Effect::kAllow, 0, {"a:b"}, ""}};
  m.role_policies = {{"t", "nurse", "p"}};
  m.user_roles = {{"t", "jane", "senior", ""}};
  m.memberships = {{"t", "jane", MembershipStatus::kActive}};
  std::vector<WriteOp> ops = ModelToOps(m);
  ASSERT_EQ(ops.size(), 8u);
  EXPECT_EQ(ops[0].kind, OpKind::kPutTenant);
  EXPECT_EQ(ops[1].kind, OpKind::kPutMembership);
  // Both roles exist (without inherits) before "senior" gets its inherits.
  EXPECT_EQ(ops[2].role, "senior");
  EXPECT_TRUE(ops[2].inherits.empty());
  EXPECT_EQ(ops[3].role, "nurse");
  EXPECT_EQ(ops[4].role, "senior");
  EXPECT_EQ(ops[4].inherits, std::vector<std::string>{"nurse"});
  EXPECT_EQ(ops[5].kind, OpKind::kPutPolicy);
  EXPECT_EQ(ops[6].kind, OpKind::kPutRolePolicy);
  EXPECT_EQ(ops[7].kind, OpKind::kPutUserRole);
  EXPECT_TRUE(ValidateOps(ops).ok());
}

}  // namespace
}  // namespace permcache
