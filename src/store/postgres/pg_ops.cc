#include "store/postgres/pg_ops.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace permcache::postgres {
namespace {

using Params = std::vector<std::optional<std::string>>;

PgStatement Stmt(const char* sql, Params params) { return PgStatement{sql, std::move(params)}; }

std::optional<std::string> Ms(const std::optional<int64_t>& ms) {
  if (!ms) return std::nullopt;
  return std::to_string(*ms);
}

// ms since the epoch -> timestamptz, exact to the microsecond over years 0001-9999 (NULL stays
// NULL). `n * interval '1 millisecond'` is not: the product is taken in double precision and
// is microseconds off near year 9999; whole seconds and the remaining ms both multiply exactly.
#define PC_TS(n)                                                                          \
  "(timestamptz 'epoch' + (" n "::bigint / 1000) * interval '1 second' + (" n "::bigint % " \
  "1000) * interval '1 millisecond')"

}  // namespace

std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<PgStatement> OpStatements(const WriteOp& op) {
  const std::string& t = op.tenant;
  switch (op.kind) {
    case OpKind::kPutResource: {
      // $6 NULL keeps the hash, '' clears it; the version is the database's (pc_version).
      std::optional<std::string> owner;
      if (!op.owner.empty()) owner = op.owner;
      return {Stmt(
          "INSERT INTO permcache.resources AS r (tenant, resource, type, owner, state, "
          "  password_hash) VALUES ($1, $2, $3, $4, $5, nullif($6::text, '')) "
          "ON CONFLICT (tenant, resource) DO UPDATE SET type = EXCLUDED.type, "
          "  owner = EXCLUDED.owner, state = EXCLUDED.state, "
          "  password_hash = CASE WHEN $6::text IS NULL THEN r.password_hash "
          "    ELSE EXCLUDED.password_hash END "
          "WHERE (r.type, r.owner, r.state, r.password_hash) IS DISTINCT FROM "
          "  (EXCLUDED.type, EXCLUDED.owner, EXCLUDED.state, "
          "   CASE WHEN $6::text IS NULL THEN r.password_hash ELSE EXCLUDED.password_hash END)",
          {t, op.resource, op.type, owner, std::string(ResourceStateName(op.state)),
           op.password_hash})};
    }
    case OpKind::kDeleteResource:
      // The grants go by cascade (their capture records the grantees).
      return {Stmt("DELETE FROM permcache.resources WHERE tenant = $1 AND resource = $2",
                   {t, op.resource})};
    case OpKind::kPutResourceGrant:
      return {Stmt("INSERT INTO permcache.resource_grants AS g "
                   "  (tenant, resource, user_id, permissions, starts_at, expires_at) "
                   "VALUES ($1, $2, $3, $4::text[], " PC_TS("$5") ", " PC_TS("$6") ") "
                   "ON CONFLICT (tenant, resource, user_id) DO UPDATE "
                   "SET permissions = EXCLUDED.permissions, starts_at = EXCLUDED.starts_at, "
                   "  expires_at = EXCLUDED.expires_at "
                   "WHERE (g.permissions, g.starts_at, g.expires_at) IS DISTINCT FROM "
                   "  (EXCLUDED.permissions, EXCLUDED.starts_at, EXCLUDED.expires_at)",
                   {t, op.resource, op.user, TextArrayLiteral(op.permissions),
                    Ms(op.starts_at_ms), Ms(op.expires_at_ms)})};
    case OpKind::kDeleteResourceGrant:
      return {Stmt("DELETE FROM permcache.resource_grants "
                   "WHERE tenant = $1 AND resource = $2 AND user_id = $3",
                   {t, op.resource, op.user})};
    case OpKind::kPutUiElement: {
      // Required roles are a set: duplicates dropped; unnest in the given order, so a missing
      // role is reported in the order the SQLite store checks them.
      std::vector<std::string> roles;
      for (const auto& role : op.required_roles) {
        if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
      }
      const std::string wanted = TextArrayLiteral(roles);
      return {
          Stmt("INSERT INTO permcache.ui_elements (tenant, element, required_permissions, active) "
               "VALUES ($1, $2, $3::text[], $4::boolean) "
               "ON CONFLICT (tenant, element) DO UPDATE "
               "SET required_permissions = EXCLUDED.required_permissions, active = EXCLUDED.active "
               "WHERE (ui_elements.required_permissions, ui_elements.active) "
               "  IS DISTINCT FROM (EXCLUDED.required_permissions, EXCLUDED.active)",
               {t, op.element, TextArrayLiteral(op.required_permissions),
                std::string(op.active ? "true" : "false")}),
          Stmt("DELETE FROM permcache.ui_element_roles "
               "WHERE tenant = $1 AND element = $2 AND NOT (role = ANY ($3::text[]))",
               {t, op.element, wanted}),
          Stmt("INSERT INTO permcache.ui_element_roles (tenant, element, role) "
               "SELECT $1, $2, u.role FROM unnest($3::text[]) WITH ORDINALITY AS u (role, n) "
               "ORDER BY u.n ON CONFLICT DO NOTHING",
               {t, op.element, wanted}),
      };
    }
    case OpKind::kDeleteUiElement:
      return {Stmt("DELETE FROM permcache.ui_elements WHERE tenant = $1 AND element = $2",
                   {t, op.element})};
    case OpKind::kPutTenant:
      return {Stmt("INSERT INTO permcache.tenants (tenant) VALUES ($1) ON CONFLICT DO NOTHING",
                   {t})};
    case OpKind::kDeleteTenant:
      return {Stmt("DELETE FROM permcache.tenants WHERE tenant = $1", {t})};
    case OpKind::kPutBusinessUnit:
      return {Stmt("INSERT INTO permcache.business_units (tenant, business_unit) VALUES ($1, $2) "
                   "ON CONFLICT DO NOTHING",
                   {t, op.business_unit})};
    case OpKind::kDeleteBusinessUnit:
      return {Stmt("DELETE FROM permcache.business_units WHERE tenant = $1 AND business_unit = $2",
                   {t, op.business_unit})};
    case OpKind::kPutMembership:
      return {Stmt("INSERT INTO permcache.memberships AS m "
                   "  (tenant, user_id, status, starts_at, expires_at) "
                   "VALUES ($1, $2, $3, " PC_TS("$4") ", " PC_TS("$5") ") "
                   "ON CONFLICT (tenant, user_id) DO UPDATE SET status = EXCLUDED.status, "
                   "  starts_at = EXCLUDED.starts_at, expires_at = EXCLUDED.expires_at "
                   "WHERE (m.status, m.starts_at, m.expires_at) IS DISTINCT FROM "
                   "  (EXCLUDED.status, EXCLUDED.starts_at, EXCLUDED.expires_at)",
                   {t, op.user, std::string(MembershipStatusName(op.status)),
                    Ms(op.starts_at_ms), Ms(op.expires_at_ms)})};
    case OpKind::kDeleteMembership:
      return {Stmt("DELETE FROM permcache.memberships WHERE tenant = $1 AND user_id = $2",
                   {t, op.user})};
    case OpKind::kPutRole: {
      // The wanted list, duplicates dropped (first position wins), as the SQLite store does.
      std::vector<std::string> wanted;
      for (const auto& parent : op.inherits) {
        if (std::find(wanted.begin(), wanted.end(), parent) == wanted.end()) {
          wanted.push_back(parent);
        }
      }
      const std::string parents = TextArrayLiteral(wanted);
      return {
          Stmt("INSERT INTO permcache.roles (tenant, role) VALUES ($1, $2) ON CONFLICT DO NOTHING",
               {t, op.role}),
          Stmt("DELETE FROM permcache.role_inherits "
               "WHERE tenant = $1 AND role = $2 AND NOT (inherits = ANY ($3::text[]))",
               {t, op.role, parents}),
          Stmt("INSERT INTO permcache.role_inherits (tenant, role, inherits, position) "
               "SELECT $1, $2, u.parent, (u.n - 1)::int "
               "FROM unnest($3::text[]) WITH ORDINALITY AS u (parent, n) ORDER BY u.n "
               "ON CONFLICT (tenant, role, inherits) DO UPDATE SET position = EXCLUDED.position "
               "WHERE role_inherits.position IS DISTINCT FROM EXCLUDED.position",
               {t, op.role, parents}),
      };
    }
    case OpKind::kDeleteRole:
      return {Stmt("DELETE FROM permcache.roles WHERE tenant = $1 AND role = $2", {t, op.role})};
    case OpKind::kPutPolicy: {
      std::optional<std::string> scope;
      if (!op.scope.empty()) scope = op.scope;
      return {Stmt(
          "INSERT INTO permcache.policies (tenant, policy, effect, priority, permissions, scope) "
          "VALUES ($1, $2, $3, $4::int, $5::text[], $6) "
          "ON CONFLICT (tenant, policy) DO UPDATE SET effect = EXCLUDED.effect, "
          "  priority = EXCLUDED.priority, permissions = EXCLUDED.permissions, "
          "  scope = EXCLUDED.scope "
          "WHERE (policies.effect, policies.priority, policies.permissions, policies.scope) "
          "  IS DISTINCT FROM (EXCLUDED.effect, EXCLUDED.priority, EXCLUDED.permissions, "
          "  EXCLUDED.scope)",
          {t, op.policy, std::string(EffectName(op.effect)), std::to_string(op.priority),
           TextArrayLiteral(op.permissions), scope})};
    }
    case OpKind::kDeletePolicy:
      return {Stmt("DELETE FROM permcache.policies WHERE tenant = $1 AND policy = $2",
                   {t, op.policy})};
    case OpKind::kPutRolePolicy:
      return {Stmt("INSERT INTO permcache.role_policies (tenant, role, policy) VALUES ($1, $2, $3) "
                   "ON CONFLICT DO NOTHING",
                   {t, op.role, op.policy})};
    case OpKind::kDeleteRolePolicy:
      return {Stmt("DELETE FROM permcache.role_policies "
                   "WHERE tenant = $1 AND role = $2 AND policy = $3",
                   {t, op.role, op.policy})};
    case OpKind::kPutUserRole:
      // A put of the same assignment with another interval replaces the interval.
      return {Stmt("INSERT INTO permcache.user_roles AS a "
                   "  (tenant, user_id, role, business_unit, starts_at, expires_at) "
                   "VALUES ($1, $2, $3, $4, " PC_TS("$5") ", " PC_TS("$6") ") "
                   "ON CONFLICT (tenant, user_id, role, business_unit) DO UPDATE "
                   "SET starts_at = EXCLUDED.starts_at, expires_at = EXCLUDED.expires_at "
                   "WHERE (a.starts_at, a.expires_at) IS DISTINCT FROM "
                   "  (EXCLUDED.starts_at, EXCLUDED.expires_at)",
                   {t, op.user, op.role, op.business_unit, Ms(op.starts_at_ms),
                    Ms(op.expires_at_ms)})};
    case OpKind::kDeleteUserRole:
      return {Stmt("DELETE FROM permcache.user_roles "
                   "WHERE tenant = $1 AND user_id = $2 AND role = $3 AND business_unit = $4",
                   {t, op.user, op.role, op.business_unit})};
    case OpKind::kPutUserPolicy:
      return {Stmt("INSERT INTO permcache.user_policies AS a "
                   "  (tenant, user_id, policy, starts_at, expires_at) "
                   "VALUES ($1, $2, $3, " PC_TS("$4") ", " PC_TS("$5") ") "
                   "ON CONFLICT (tenant, user_id, policy) DO UPDATE "
                   "SET starts_at = EXCLUDED.starts_at, expires_at = EXCLUDED.expires_at "
                   "WHERE (a.starts_at, a.expires_at) IS DISTINCT FROM "
                   "  (EXCLUDED.starts_at, EXCLUDED.expires_at)",
                   {t, op.user, op.policy, Ms(op.starts_at_ms), Ms(op.expires_at_ms)})};
    case OpKind::kDeleteUserPolicy:
      return {Stmt("DELETE FROM permcache.user_policies "
                   "WHERE tenant = $1 AND user_id = $2 AND policy = $3",
                   {t, op.user, op.policy})};
    case OpKind::kPutGroup:
      // Status and interval are replaced; the same values again change nothing.
      return {Stmt("INSERT INTO permcache.groups AS g "
                   "  (tenant, group_id, status, starts_at, expires_at) "
                   "VALUES ($1, $2, $3, " PC_TS("$4") ", " PC_TS("$5") ") "
                   "ON CONFLICT (tenant, group_id) DO UPDATE SET status = EXCLUDED.status, "
                   "  starts_at = EXCLUDED.starts_at, expires_at = EXCLUDED.expires_at "
                   "WHERE (g.status, g.starts_at, g.expires_at) IS DISTINCT FROM "
                   "  (EXCLUDED.status, EXCLUDED.starts_at, EXCLUDED.expires_at)",
                   {t, op.group, std::string(MembershipStatusName(op.status)),
                    Ms(op.starts_at_ms), Ms(op.expires_at_ms)})};
    case OpKind::kDeleteGroup:
      // Members, roles and policies go by cascade (the members' capture records each of them).
      return {Stmt("DELETE FROM permcache.groups WHERE tenant = $1 AND group_id = $2",
                   {t, op.group})};
    case OpKind::kPutGroupMember:
      return {Stmt("INSERT INTO permcache.group_members (tenant, group_id, user_id) "
                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                   {t, op.group, op.user})};
    case OpKind::kDeleteGroupMember:
      return {Stmt("DELETE FROM permcache.group_members "
                   "WHERE tenant = $1 AND group_id = $2 AND user_id = $3",
                   {t, op.group, op.user})};
    case OpKind::kPutGroupRole:
      return {Stmt("INSERT INTO permcache.group_roles (tenant, group_id, role, business_unit) "
                   "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                   {t, op.group, op.role, op.business_unit})};
    case OpKind::kDeleteGroupRole:
      return {Stmt("DELETE FROM permcache.group_roles "
                   "WHERE tenant = $1 AND group_id = $2 AND role = $3 AND business_unit = $4",
                   {t, op.group, op.role, op.business_unit})};
    case OpKind::kPutGroupPolicy:
      return {Stmt("INSERT INTO permcache.group_policies (tenant, group_id, policy) "
                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                   {t, op.group, op.policy})};
    case OpKind::kDeleteGroupPolicy:
      return {Stmt("DELETE FROM permcache.group_policies "
                   "WHERE tenant = $1 AND group_id = $2 AND policy = $3",
                   {t, op.group, op.policy})};
  }
  return {};
}

#undef PC_TS

}  // namespace permcache::postgres
