#include "server/demo_model.h"

namespace permcache {
namespace {

void AddHospital(Model* m) {
  const std::string t = "hospital";
  m->tenants.push_back({t});
  for (const char* role : {"nurse", "pharmacist", "admin"}) m->roles.push_back({t, role, {}});
  m->roles.push_back({t, "senior_nurse", {"nurse"}});
  m->policies.push_back(
      {t, "nurse_ui", Effect::kAllow, 0, {"ui:menu_patients", "patients:read"}, ""});
  m->policies.push_back({t, "senior_nurse_ui", Effect::kAllow, 0, {"ui:menu_reports"}, ""});
  m->policies.push_back({t, "menu_pharmacy", Effect::kAllow, 0, {"ui:menu_pharmacy"}, ""});
  m->policies.push_back({t, "dispense", Effect::kAllow, 0, {"medication:dispense"}, ""});
  m->role_policies.push_back({t, "nurse", "nurse_ui"});
  m->role_policies.push_back({t, "senior_nurse", "senior_nurse_ui"});
  m->role_policies.push_back({t, "pharmacist", "menu_pharmacy"});
  m->role_policies.push_back({t, "pharmacist", "dispense"});
  const std::pair<const char*, const char*> users[] = {
      {"jane", "nurse"}, {"sam", "senior_nurse"}, {"phil", "pharmacist"}, {"ada", "admin"}};
  for (const auto& [user, role] : users) {
    m->memberships.push_back({t, user, MembershipStatus::kActive});
    m->user_roles.push_back({t, user, role, ""});
  }
  // UI elements (seed 002's UIPermission): shown when any required role (inheritance counts) or
  // any required permission is held; an inactive or unknown element is hidden from everyone.
  m->ui_elements.push_back({t,
                            "menu_pharmacy",
                            {"pharmacist", "admin"},
                            {"pharmacy:prescriptions:view", "pharmacy:inventory:manage"},
                            true});
  m->ui_elements.push_back({t, "menu_wards", {"nurse"}, {}, true});
  m->ui_elements.push_back({t, "btn_dispense", {}, {"medication:dispense"}, true});
  m->ui_elements.push_back({t, "menu_legacy_billing", {}, {}, false});
  // Seed 004's organisations (DESIGN §8): agency nurses have no membership of their own; they
  // are members of the hospital through the active group "agency", which holds role nurse.
  m->groups.push_back({t, "agency", MembershipStatus::kActive, std::nullopt, std::nullopt});
  m->group_roles.push_back({t, "agency", "nurse", ""});
  m->group_members.push_back({t, "agency", "kim"});
}

// Seed 001 (CinemataCMS media): one resource per state, all owned by maya.
void AddMediaLibrary(Model* m) {
  const std::string t = "cinemata";
  m->tenants.push_back({t});
  m->roles.push_back({t, "editor", {}});
  m->roles.push_back({t, "curator", {}});
  m->policies.push_back({t, "media_all", Effect::kAllow, 0, {"media:*"}, ""});
  m->policies.push_back({t, "media_view", Effect::kAllow, 0, {"media:view"}, ""});
  m->role_policies.push_back({t, "editor", "media_all"});
  m->role_policies.push_back({t, "curator", "media_view"});
  for (const char* user : {"maya", "ed", "cora", "gus"}) {
    m->memberships.push_back({t, user, MembershipStatus::kActive});
  }
  m->user_roles.push_back({t, "ed", "editor", ""});
  m->user_roles.push_back({t, "cora", "curator", ""});
  m->resources.push_back({t, "trailer", "media", "maya", ResourceState::kPublic});
  m->resources.push_back({t, "rough-cut", "media", "maya", ResourceState::kUnlisted});
  m->resources.push_back({t, "diary", "media", "maya", ResourceState::kPrivate});
  m->resources.push_back({t, std::string(kDemoRestrictedResource), "media", "maya",
                          ResourceState::kRestricted});
  m->resource_grants.push_back({t, "diary", "gus", {"media:view"}});
}

void AddSecurityTenants(Model* m) {
  for (const char* t : {"acme", "globex"}) {
    m->tenants.push_back({t});
    m->roles.push_back({t, "analyst", {}});
    m->roles.push_back({t, "admin", {}});
    m->policies.push_back(
        {t, "analyst_read", Effect::kAllow, 0, {"assets:read", "findings:read"}, ""});
    m->policies.push_back({t, "admin_all", Effect::kAllow, 0, {"assets:*", "findings:*"}, ""});
    m->role_policies.push_back({t, "analyst", "analyst_read"});
    m->role_policies.push_back({t, "admin", "admin_all"});
  }
  m->policies.push_back({"globex", "protect_assets", Effect::kDeny, 10, {"assets:delete"}, ""});
  m->role_policies.push_back({"globex", "admin", "protect_assets"});

  m->memberships.push_back({"acme", "alice", MembershipStatus::kActive});
  m->memberships.push_back({"globex", "alice", MembershipStatus::kActive});
  m->user_roles.push_back({"acme", "alice", "analyst", ""});
  m->user_roles.push_back({"globex", "alice", "admin", ""});
  m->memberships.push_back({"acme", "bob", MembershipStatus::kSuspended});
  m->user_roles.push_back({"acme", "bob", "analyst", ""});
}

}  // namespace

Model DemoModel() {
  Model m;
  AddHospital(&m);
  AddSecurityTenants(&m);
  AddMediaLibrary(&m);
  return m;
}

std::vector<WriteOp> DemoOps() {
  std::vector<WriteOp> ops = ModelToOps(DemoModel());
  for (WriteOp& op : ops) {
    if (op.kind == OpKind::kPutResource && op.tenant == "cinemata" &&
        op.resource == kDemoRestrictedResource) {
      op.password = std::string(kDemoRestrictedPassword);
    }
  }
  return ops;
}

}  // namespace permcache
