// The SQL of SqliteStore::LoadGrants, the read behind every cache miss: one (tenant, user)'s
// membership, groups, direct and group policies, role and group-role assignments, one role's
// parents and policies, and the user's resource grants. ?1 = tenant, ?2 = user (or role).
//
// Every query is driven by the key it is given: its plan searches the (tenant, user) or
// (tenant, role) prefix of a primary key or index and probes the other tables by key, never
// walking a whole tenant. The joins are CROSS JOINs because SQLite's planner, left alone (no
// ANALYZE statistics), preferred to walk every policy of the tenant in policy order to save
// the ORDER BY sort: a tenant of 10 000 policies made each miss read all of them. CROSS JOIN
// fixes the join order (the left table is the outer loop); the sort left is over one user's
// rows. sqlite_store_test.cc checks every plan here.
//
// Thread safety: constants.
#pragma once

#include <array>
#include <string_view>

namespace permcache::sqlite {

inline constexpr std::string_view kGrantsMembership =
    "SELECT status, starts_at_ms, expires_at_ms FROM memberships WHERE tenant = ?1 AND user = ?2";

inline constexpr std::string_view kGrantsGroups =
    "SELECT g.group_id, g.status, g.starts_at_ms, g.expires_at_ms "
    "FROM group_members gm CROSS JOIN groups g "
    "  ON g.tenant = gm.tenant AND g.group_id = gm.group_id "
    "WHERE gm.tenant = ?1 AND gm.user = ?2 ORDER BY g.group_id";

inline constexpr std::string_view kGrantsDirectPolicies =
    "SELECT p.policy, p.effect, p.priority, p.permissions, p.scope, "
    "  up.starts_at_ms, up.expires_at_ms "
    "FROM user_policies up CROSS JOIN policies p ON p.tenant = up.tenant AND p.policy = up.policy "
    "WHERE up.tenant = ?1 AND up.user = ?2 ORDER BY p.policy";

// The policies of the user's active groups.
inline constexpr std::string_view kGrantsGroupPolicies =
    "SELECT gp.group_id, p.policy, p.effect, p.priority, p.permissions, p.scope "
    "FROM group_members gm "
    "CROSS JOIN groups g ON g.tenant = gm.tenant AND g.group_id = gm.group_id "
    "CROSS JOIN group_policies gp ON gp.tenant = gm.tenant AND gp.group_id = gm.group_id "
    "CROSS JOIN policies p ON p.tenant = gp.tenant AND p.policy = gp.policy "
    "WHERE gm.tenant = ?1 AND gm.user = ?2 AND g.status = 'active' "
    "ORDER BY gp.group_id, p.policy";

inline constexpr std::string_view kGrantsAssignments =
    "SELECT role, business_unit, starts_at_ms, expires_at_ms FROM user_roles "
    "WHERE tenant = ?1 AND user = ?2 ORDER BY role, business_unit";

// The roles of the user's active groups.
inline constexpr std::string_view kGrantsGroupRoles =
    "SELECT gr.group_id, gr.role, gr.business_unit "
    "FROM group_members gm "
    "CROSS JOIN groups g ON g.tenant = gm.tenant AND g.group_id = gm.group_id "
    "CROSS JOIN group_roles gr ON gr.tenant = gm.tenant AND gr.group_id = gm.group_id "
    "WHERE gm.tenant = ?1 AND gm.user = ?2 AND g.status = 'active' "
    "ORDER BY gr.group_id, gr.role, gr.business_unit";

// ?2 = role.
inline constexpr std::string_view kRoleParents =
    "SELECT parent FROM role_inherits WHERE tenant = ?1 AND role = ?2 ORDER BY position";
inline constexpr std::string_view kRolePolicies =
    "SELECT p.policy, p.effect, p.priority, p.permissions, p.scope "
    "FROM role_policies rp CROSS JOIN policies p ON p.tenant = rp.tenant AND p.policy = rp.policy "
    "WHERE rp.tenant = ?1 AND rp.role = ?2 ORDER BY p.policy";

// INDEXED BY for the same reason: the primary key (tenant, resource, user) gives the order, and
// the planner took it over the user index, walking every grant of the tenant.
inline constexpr std::string_view kGrantsResources =
    "SELECT resource, permissions, starts_at_ms, expires_at_ms "
    "FROM resource_grants INDEXED BY resource_grants_by_user "
    "WHERE tenant = ?1 AND user = ?2 ORDER BY resource";

inline constexpr std::array<std::string_view, 9> kGrantQueries = {
    kGrantsMembership, kGrantsGroups,  kGrantsDirectPolicies, kGrantsGroupPolicies,
    kGrantsAssignments, kGrantsGroupRoles, kRoleParents, kRolePolicies, kGrantsResources};

}  // namespace permcache::sqlite
