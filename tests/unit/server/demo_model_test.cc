#include "server/demo_model.h"

#include <gtest/gtest.h>

#include "permcache/checker.h"
#include "support/temp_dir.h"

#include <algorithm>
#include <string>
#include <vector>

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

TEST(DemoModelTest, HospitalUiElementsAsSeed002) {
  const Model m = DemoModel();
  auto has_role = [&](std::string_view t, std::string_view r) {
    return std::any_of(m.roles.begin(), m.roles.end(),
                       [&](const Role& x) { return x.tenant == t && x.role == r; });
  };
  const auto pharmacy = std::find_if(m.ui_elements.begin(), m.ui_elements.end(), [](const auto& e) {
    return e.tenant == "hospital" && e.element == "menu_pharmacy";
  });
  ASSERT_NE(pharmacy, m.ui_elements.end());
  EXPECT_TRUE(pharmacy->active);
  EXPECT_EQ(pharmacy->required_roles, (std::vector<std::string>{"pharmacist", "admin"}));
  EXPECT_EQ(pharmacy->required_permissions,
            (std::vector<std::string>{"pharmacy:prescriptions:view", "pharmacy:inventory:manage"}));
  // Every required role exists in the tenant (the store refuses a missing one).
  for (const auto& e : m.ui_elements) {
    for (const auto& r : e.required_roles) {
      EXPECT_TRUE(has_role(e.tenant, r)) << e.element << " " << r;
    }
  }
  EXPECT_TRUE(std::any_of(m.ui_elements.begin(), m.ui_elements.end(),
                          [](const UiElement& e) { return e.tenant == "hospital" && !e.active; }))
      << "one inactive element (hidden from everyone; seed 002 showed it to everyone)";
}

TEST(DemoModelTest, MediaLibraryAsSeed001) {
  const Model m = DemoModel();
  std::vector<ResourceState> states;
  for (const auto& r : m.resources) {
    if (r.tenant != "cinemata") continue;
    EXPECT_EQ(r.type, "media");
    EXPECT_EQ(r.owner, "maya");
    states.push_back(r.state);
  }
  std::sort(states.begin(), states.end());
  EXPECT_EQ(states, (std::vector<ResourceState>{ResourceState::kPublic, ResourceState::kUnlisted,
                                                ResourceState::kPrivate,
                                                ResourceState::kRestricted}));
  ASSERT_EQ(m.resource_grants.size(), 1u);
  EXPECT_EQ(m.resource_grants[0].user, "gus");
  EXPECT_EQ(m.resource_grants[0].resource, "diary");
  auto has_user_role = [&](std::string_view u, std::string_view r) {
    return std::any_of(m.user_roles.begin(), m.user_roles.end(), [&](const UserRole& x) {
      return x.tenant == "cinemata" && x.user == u && x.role == r;
    });
  };
  EXPECT_TRUE(has_user_role("ed", "editor"));
  EXPECT_TRUE(has_user_role("cora", "curator"));
}

TEST(DemoModelTest, DemoOpsCarryTheRestrictedPasswordOnly) {
  const std::vector<WriteOp> ops = DemoOps();
  EXPECT_TRUE(ValidateOps(ops).ok()) << ValidateOps(ops).ToString();
  EXPECT_EQ(ops.size(), ModelToOps(DemoModel()).size());
  int with_password = 0;
  for (const WriteOp& op : ops) {
    if (!op.password) continue;
    ++with_password;
    EXPECT_EQ(op.kind, OpKind::kPutResource);
    EXPECT_EQ(op.resource, kDemoRestrictedResource);
    EXPECT_EQ(op.state, ResourceState::kRestricted);
    EXPECT_EQ(*op.password, kDemoRestrictedPassword);
  }
  EXPECT_EQ(with_password, 1);
}

// The answers the README / scripts/demo.sh print, through a real Checker on SQLite.
TEST(DemoModelTest, DecisionsOfTheDemo) {
  testing::TempDir dir;
  Options o;
  o.store_url = "sqlite:" + dir.File("demo.db");
  auto opened = Checker::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Checker& c = **opened;
  ASSERT_TRUE(c.Write(DemoOps()).ok());
  auto resource = [&](std::string_view user, std::string_view res, std::string_view token = {}) {
    auto d = c.Check({.tenant = "cinemata", .user = user, .permission = "media:view",
                      .resource = res, .token = token});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() && d->allowed;
  };
  EXPECT_TRUE(resource("", "trailer"));     // public, anonymous
  EXPECT_TRUE(resource("", "rough-cut"));   // unlisted, anonymous with the link
  EXPECT_FALSE(resource("", "diary"));      // private
  EXPECT_FALSE(resource("", "premiere"));   // restricted, no token
  EXPECT_TRUE(resource("maya", "diary"));   // owner
  EXPECT_TRUE(resource("gus", "diary"));    // resource grant
  EXPECT_TRUE(resource("cora", "premiere"));  // curator: media:view
  EXPECT_FALSE(resource("gus", "premiere"));
  int64_t retry = 0;
  EXPECT_EQ(c.Unlock({.tenant = "cinemata", .resource = "premiere", .password = "wrong",
                      .client = "test"},
                     &retry)
                .status()
                .code(),
            StatusCode::kPermissionDenied);
  auto unlocked = c.Unlock({.tenant = "cinemata", .resource = "premiere",
                            .password = kDemoRestrictedPassword, .client = "test"},
                           &retry);
  ASSERT_TRUE(unlocked.ok()) << unlocked.status().ToString();
  EXPECT_TRUE(resource("", "premiere", unlocked->token));

  auto element = [&](std::string_view user, std::string_view e) {
    auto d = c.Check({.tenant = "hospital", .user = user, .element = e});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() && d->allowed;
  };
  EXPECT_FALSE(element("jane", "menu_pharmacy"));
  EXPECT_TRUE(element("phil", "menu_pharmacy"));
  EXPECT_TRUE(element("ada", "menu_pharmacy"));  // required role admin
  EXPECT_TRUE(element("sam", "menu_wards"));     // senior_nurse inherits nurse
  EXPECT_TRUE(element("phil", "btn_dispense"));  // required permission
  EXPECT_FALSE(element("jane", "btn_dispense"));
  EXPECT_FALSE(element("ada", "menu_legacy_billing"));  // inactive
  auto ui = c.UiElements("hospital", "jane", {});
  ASSERT_TRUE(ui.ok()) << ui.status().ToString();
  EXPECT_FALSE(ui->elements.empty());

  // kim: a member of the hospital only through the agency group (seed 004).
  EXPECT_TRUE(element("kim", "menu_wards"));
  auto kim = c.Check({.tenant = "hospital", .user = "kim", .permission = "patients:read",
                      .explain = true});
  ASSERT_TRUE(kim.ok());
  EXPECT_TRUE(kim->allowed);
  EXPECT_EQ(kim->reason->role_path, "group:agency>nurse");
  auto membership = c.Membership("hospital", "kim");
  ASSERT_TRUE(membership.ok());
  EXPECT_EQ(membership->via, "group:agency");
}

}  // namespace
}  // namespace permcache
