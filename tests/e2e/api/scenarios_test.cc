// The seed scenarios (DESIGN §2/§3) end to end: after a write returns, the very next check sees
// it, however warm the cache was.
#include <gtest/gtest.h>

#include <string>

#include "e2e/e2e_util.h"

namespace permcache::e2e {
namespace {

class ScenarioTest : public ServerTest {
 protected:
  // Checks twice so that the second answer comes from a warm cache.
  bool WarmAllowed(const std::string& t, const std::string& u, const std::string& p) {
    Allowed(t, u, p);
    return Allowed(t, u, p);
  }
};

// Seed 002: adding a role to a UI permission shows the menu at once, removing it hides it at
// once (the Django app showed stale menus for 5 minutes).
TEST_F(ScenarioTest, Seed002RolePolicyChangesApplyOnTheNextCheck) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  EXPECT_FALSE(WarmAllowed(t, "jane", "ui:menu_pharmacy"));
  EXPECT_FALSE(WarmAllowed(t, "sam", "ui:menu_pharmacy"));
  EXPECT_TRUE(WarmAllowed(t, "jane", "ui:menu_patients"));

  Write(Op("put_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "pharmacy"}}));
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_pharmacy")) << "very next check after the grant";
  EXPECT_TRUE(Allowed(t, "sam", "ui:menu_pharmacy")) << "senior_nurse inherits nurse";
  EXPECT_TRUE(WarmAllowed(t, "jane", "ui:menu_pharmacy"));

  Write(Op("delete_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "pharmacy"}}));
  EXPECT_FALSE(Allowed(t, "jane", "ui:menu_pharmacy")) << "very next check after the revoke";
  EXPECT_FALSE(Allowed(t, "sam", "ui:menu_pharmacy"));
  EXPECT_TRUE(Allowed(t, "greg", "ui:menu_pharmacy")) << "doctors keep it";
}

TEST_F(ScenarioTest, Seed002PolicyEditAppliesOnTheNextCheck) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  EXPECT_FALSE(WarmAllowed(t, "jane", "ui:menu_reports"));
  // Editing the policy the nurse role already has (seed 002 "permission edit").
  Write(Op("put_policy", {{"tenant", t},
                          {"policy", "patients"},
                          {"effect", "allow"},
                          {"permissions", json::array{"ui:menu_patients", "ui:menu_reports"}}}));
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_reports"));
  EXPECT_TRUE(Allowed(t, "sam", "ui:menu_reports"));
  Write(Op("delete_policy", {{"tenant", t}, {"policy", "patients"}}));
  EXPECT_FALSE(Allowed(t, "jane", "ui:menu_patients"));
  EXPECT_FALSE(Allowed(t, "greg", "ui:menu_patients"));
}

TEST_F(ScenarioTest, Seed002InheritanceChangeAppliesOnTheNextCheck) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  EXPECT_TRUE(WarmAllowed(t, "sam", "ui:menu_patients"));
  Write(Op("put_role", {{"tenant", t}, {"role", "senior_nurse"}}));  // no longer inherits
  EXPECT_FALSE(Allowed(t, "sam", "ui:menu_patients"));
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_patients"));
}

// Seed 000: a role change in one tenant leaves the user's other tenants alone; removal from a
// tenant denies at once.
TEST_F(ScenarioTest, Seed000RoleChangeIsPerTenant) {
  const std::string acme = TenantFor("acme"), globex = TenantFor("globex");
  Write(TwoTenantsOps(acme, globex));
  EXPECT_TRUE(WarmAllowed(acme, "alice", "assets:read"));
  EXPECT_FALSE(WarmAllowed(acme, "alice", "assets:write"));
  EXPECT_TRUE(WarmAllowed(globex, "alice", "assets:read"));
  EXPECT_FALSE(WarmAllowed(globex, "alice", "assets:write"));

  Write(Op("delete_user_role", {{"tenant", acme}, {"user", "alice"}, {"role", "viewer"}}) + "," +
        Op("put_user_role", {{"tenant", acme}, {"user", "alice"}, {"role", "admin"}}));
  EXPECT_TRUE(Allowed(acme, "alice", "assets:write"));
  EXPECT_TRUE(Allowed(acme, "alice", "assets:delete"));
  EXPECT_FALSE(Allowed(globex, "alice", "assets:write")) << "globex is another tenant";
  EXPECT_TRUE(Allowed(globex, "alice", "assets:read"));

  Write(Op("delete_membership", {{"tenant", acme}, {"user", "alice"}}));
  EXPECT_FALSE(Allowed(acme, "alice", "assets:read")) << "removed from acme: denied at once";
  EXPECT_TRUE(Allowed(globex, "alice", "assets:read")) << "still a member of globex";
}

TEST_F(ScenarioTest, Seed000SameRoleNamesAreIsolatedPerTenant) {
  const std::string acme = TenantFor("acme"), globex = TenantFor("globex");
  Write(TwoTenantsOps(acme, globex));
  EXPECT_TRUE(WarmAllowed(globex, "alice", "assets:read"));
  // Changing acme's "viewer" policy must not change globex's "viewer".
  Write(
      Op("delete_role_policy", {{"tenant", acme}, {"role", "viewer"}, {"policy", "read_assets"}}));
  EXPECT_FALSE(Allowed(acme, "alice", "assets:read"));
  EXPECT_TRUE(Allowed(globex, "alice", "assets:read"));
  Write(Op("delete_tenant", {{"tenant", acme}}));
  EXPECT_FALSE(Allowed(acme, "alice", "assets:read"));
  EXPECT_TRUE(Allowed(globex, "alice", "assets:read"));
}

// Seed 004: a suspended membership denies at once; reactivation allows at once.
TEST_F(ScenarioTest, Seed004SuspensionDeniesAtOnce) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  EXPECT_TRUE(WarmAllowed(t, "jane", "ui:menu_patients"));
  Write(Op("put_membership", {{"tenant", t}, {"user", "jane"}, {"status", "suspended"}}));
  EXPECT_FALSE(Allowed(t, "jane", "ui:menu_patients"));
  const json::object why = Check(t, "jane", "ui:menu_patients", {{"explain", true}});
  EXPECT_EQ(why.at("reason").at("kind"), "membership_suspended") << json::serialize(why);
  Write(Op("put_membership", {{"tenant", t}, {"user", "jane"}, {"status", "active"}}));
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_patients"));
}

// Seed 004's organisations over HTTP: a member with no membership of their own is active
// through the group; suspending the group denies at once and changes the permission list's
// ETag; reactivating allows at once; removing the member reaches that user.
TEST_F(ScenarioTest, Seed004GroupMembershipAndSuspensionApplyAtOnce) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  Write(Op("put_group", {{"tenant", t}, {"group", "agency"}}) + "," +
        Op("put_group_role", {{"tenant", t}, {"group", "agency"}, {"role", "nurse"}}) + "," +
        Op("put_group_member", {{"tenant", t}, {"group", "agency"}, {"user", "kim"}}));
  EXPECT_TRUE(WarmAllowed(t, "kim", "ui:menu_patients"));
  const json::object why = Check(t, "kim", "ui:menu_patients", {{"explain", true}});
  EXPECT_EQ(why.at("reason").at("role_path"), "group:agency>nurse") << json::serialize(why);
  auto membership = Get("/v1/tenants/" + t + "/users/kim/membership");
  ASSERT_TRUE(membership.ok());
  EXPECT_EQ(ParseJson(membership->body).at("via"), "group:agency") << membership->body;
  const std::string perms = "/v1/tenants/" + t + "/users/kim/permissions";
  auto before = Get(perms);
  ASSERT_TRUE(before.ok());

  Write(Op("put_group", {{"tenant", t}, {"group", "agency"}, {"status", "suspended"}}));
  EXPECT_FALSE(Allowed(t, "kim", "ui:menu_patients")) << "very next check after the suspension";
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_patients")) << "not a member: untouched";
  auto after = Get(perms);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->etag, before->etag);
  Write(Op("put_group", {{"tenant", t}, {"group", "agency"}, {"status", "active"}}));
  EXPECT_TRUE(Allowed(t, "kim", "ui:menu_patients"));
  Write(Op("delete_group_member", {{"tenant", t}, {"group", "agency"}, {"user", "kim"}}));
  EXPECT_FALSE(Allowed(t, "kim", "ui:menu_patients"));
  // A member of a missing group is a 400 naming it.
  auto bad = Post("/v1/write", "{\"ops\":[" +
                                   Op("put_group_member",
                                      {{"tenant", t}, {"group", "nope"}, {"user", "kim"}}) +
                                   "]}");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("group 'nope' does not exist"), std::string::npos) << bad->body;
}

TEST_F(ScenarioTest, DecisionRules) {
  const std::string t = TenantFor();
  Write(HospitalOps(t) + "," + Op("put_business_unit", {{"tenant", t}, {"business_unit", "icu"}}) +
        "," +
        // Equal priority: deny beats allow.
        Op("put_policy", {{"tenant", t},
                          {"policy", "no_patients"},
                          {"effect", "deny"},
                          {"permissions", {"ui:menu_patients"}}}) +
        "," +
        // Higher priority wins over a deny.
        Op("put_policy", {{"tenant", t},
                          {"policy", "vip_patients"},
                          {"effect", "allow"},
                          {"priority", 5},
                          {"permissions", {"ui:*"}}}) +
        "," +
        // Scoped policy: only counts when the check names icu.
        Op("put_policy", {{"tenant", t},
                          {"policy", "icu_beds"},
                          {"effect", "allow"},
                          {"scope", "icu"},
                          {"permissions", {"beds:assign"}}}) +
        "," + Op("put_user_policy", {{"tenant", t}, {"user", "jane"}, {"policy", "no_patients"}}) +
        "," + Op("put_user_policy", {{"tenant", t}, {"user", "greg"}, {"policy", "no_patients"}}) +
        "," + Op("put_user_policy", {{"tenant", t}, {"user", "greg"}, {"policy", "vip_patients"}}) +
        "," + Op("put_user_policy", {{"tenant", t}, {"user", "jane"}, {"policy", "icu_beds"}}) +
        "," +
        // BU-scoped role assignment.
        Op("put_user_role",
           {{"tenant", t}, {"user", "sam"}, {"role", "doctor"}, {"business_unit", "icu"}}));
  EXPECT_FALSE(Allowed(t, "jane", "ui:menu_patients")) << "deny beats allow at equal priority";
  EXPECT_TRUE(Allowed(t, "greg", "ui:menu_patients")) << "priority 5 allow beats priority 0 deny";
  EXPECT_FALSE(Allowed(t, "jane", "beds:assign"));
  EXPECT_TRUE(Allowed(t, "jane", "beds:assign", "icu"));
  EXPECT_FALSE(Allowed(t, "sam", "ui:menu_pharmacy"));
  EXPECT_TRUE(Allowed(t, "sam", "ui:menu_pharmacy", "icu"));
}

}  // namespace
}  // namespace permcache::e2e
