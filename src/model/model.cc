// Names of enums and the Model -> ops conversion.
#include <array>
#include <utility>

#include "permcache/model.h"

namespace permcache {
namespace {

constexpr std::array<std::pair<OpKind, std::string_view>, 16> kOpNames = {{
    {OpKind::kPutTenant, "put_tenant"},
    {OpKind::kDeleteTenant, "delete_tenant"},
    {OpKind::kPutBusinessUnit, "put_business_unit"},
    {OpKind::kDeleteBusinessUnit, "delete_business_unit"},
    {OpKind::kPutMembership, "put_membership"},
    {OpKind::kDeleteMembership, "delete_membership"},
    {OpKind::kPutRole, "put_role"},
    {OpKind::kDeleteRole, "delete_role"},
    {OpKind::kPutPolicy, "put_policy"},
    {OpKind::kDeletePolicy, "delete_policy"},
    {OpKind::kPutRolePolicy, "put_role_policy"},
    {OpKind::kDeleteRolePolicy, "delete_role_policy"},
    {OpKind::kPutUserRole, "put_user_role"},
    {OpKind::kDeleteUserRole, "delete_user_role"},
    {OpKind::kPutUserPolicy, "put_user_policy"},
    {OpKind::kDeleteUserPolicy, "delete_user_policy"},
}};

}  // namespace

std::string_view EffectName(Effect e) { return e == Effect::kAllow ? "allow" : "deny"; }

std::optional<Effect> ParseEffect(std::string_view s) {
  if (s == "allow") return Effect::kAllow;
  if (s == "deny") return Effect::kDeny;
  return std::nullopt;
}

std::string_view MembershipStatusName(MembershipStatus s) {
  return s == MembershipStatus::kActive ? "active" : "suspended";
}

std::optional<MembershipStatus> ParseMembershipStatus(std::string_view s) {
  if (s == "active") return MembershipStatus::kActive;
  if (s == "suspended") return MembershipStatus::kSuspended;
  return std::nullopt;
}

std::string_view OpKindName(OpKind k) {
  for (const auto& [kind, name] : kOpNames) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::optional<OpKind> ParseOpKind(std::string_view s) {
  for (const auto& [kind, name] : kOpNames) {
    if (name == s) return kind;
  }
  return std::nullopt;
}

std::vector<WriteOp> ModelToOps(const Model& model) {
  std::vector<WriteOp> ops;
  auto add = [&ops](OpKind kind) -> WriteOp& {
    ops.emplace_back();
    ops.back().kind = kind;
    return ops.back();
  };
  for (const auto& t : model.tenants) add(OpKind::kPutTenant).tenant = t.tenant;
  for (const auto& b : model.business_units) {
    WriteOp& op = add(OpKind::kPutBusinessUnit);
    op.tenant = b.tenant;
    op.business_unit = b.business_unit;
  }
  for (const auto& m : model.memberships) {
    WriteOp& op = add(OpKind::kPutMembership);
    op.tenant = m.tenant;
    op.user = m.user;
    op.status = m.status;
  }
  // Roles first without inherits, then with: an inherited role may come later in the list.
  for (const auto& r : model.roles) {
    WriteOp& op = add(OpKind::kPutRole);
    op.tenant = r.tenant;
    op.role = r.role;
  }
  for (const auto& r : model.roles) {
    if (r.inherits.empty()) continue;
    WriteOp& op = add(OpKind::kPutRole);
    op.tenant = r.tenant;
    op.role = r.role;
    op.inherits = r.inherits;
  }
  for (const auto& p : model.policies) {
    WriteOp& op = add(OpKind::kPutPolicy);
    op.tenant = p.tenant;
    op.policy = p.policy;
    op.effect = p.effect;
    op.priority = p.priority;
    op.permissions = p.permissions;
    op.scope = p.scope;
  }
  for (const auto& rp : model.role_policies) {
    WriteOp& op = add(OpKind::kPutRolePolicy);
    op.tenant = rp.tenant;
    op.role = rp.role;
    op.policy = rp.policy;
  }
  for (const auto& ur : model.user_roles) {
    WriteOp& op = add(OpKind::kPutUserRole);
    op.tenant = ur.tenant;
    op.user = ur.user;
    op.role = ur.role;
    op.business_unit = ur.business_unit;
  }
  for (const auto& up : model.user_policies) {
    WriteOp& op = add(OpKind::kPutUserPolicy);
    op.tenant = up.tenant;
    op.user = up.user;
    op.policy = up.policy;
  }
  return ops;
}

}  // namespace permcache
