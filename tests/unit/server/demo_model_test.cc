#include "server/demo_model.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace permcache {
namespace {

TEST(DemoModelTest, IsValidAndHasTheSeeds) {
  const Model m = DemoModel();
  EXPECT_TRUE(ValidateOps(ModelToOps(m)).ok()) << ValidateOps(ModelToOps(m)).ToString();
  auto has_user_role = [&](std::string_view t, std::string_view u, std::string_view r) {
    return std::any_of(m.user_roles.begin(), m.user_roles.end(), [&](const UserRole& x) {
      return x.tenant == t && x.user == u && x.role == r;
    });
  };
  EXPECT_TRUE(has_user_role("hospital", "jane", "nurse"));
  EXPECT_TRUE(has_user_role("hospital", "sam", "senior_nurse"));
  EXPECT_TRUE(has_user_role("hospital", "phil", "pharmacist"));
  EXPECT_TRUE(has_user_role("acme", "alice", "analyst"));
  EXPECT_TRUE(has_user_role("globex", "alice", "admin"));
  // menu_pharmacy is attached to pharmacist only (the README's "add nurse" example).
  int links = 0;
  for (const auto& rp : m.role_policies) {
    if (rp.policy == "menu_pharmacy") {
      ++links;
      EXPECT_EQ(rp.role, "pharmacist");
    }
  }
  EXPECT_EQ(links, 1);
  bool bob_suspended = false;
  for (const auto& ms : m.memberships) {
    if (ms.tenant == "acme" && ms.user == "bob") {
      bob_suspended = ms.status == MembershipStatus::kSuspended;
    }
  }
  EXPECT_TRUE(bob_suspended);
}

}  // namespace
}  // namespace permcache
