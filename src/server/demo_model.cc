#include "server/demo_model.h"

namespace permcache {
namespace {

void AddHospital(Model* m) {
  const std::string t = "hospital";
  m->tenants.push_back({t});
  for (const char* role : {"nurse", "pharmacist"}) m->roles.push_back({t, role, {}});
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
      {"jane", "nurse"}, {"sam", "senior_nurse"}, {"phil", "pharmacist"}};
  for (const auto& [user, role] : users) {
    m->memberships.push_back({t, user, MembershipStatus::kActive});
    m->user_roles.push_back({t, user, role, ""});
  }
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
  return m;
}

}  // namespace permcache
