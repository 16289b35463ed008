// The role walk: how a (tenant, user)'s role assignments become Grants, the same for every
// backend. Each assignment is walked breadth-first up the inherit edges, visiting each role
// once per assignment (so diamond-shaped graphs stay linear and each policy is granted once per
// assignment, with the shortest role path). The visited set bounds the walk even on a damaged,
// cyclic graph, so no depth cut-off is needed — and none is wanted: dropping a far-away deny
// would fail open.
//
// Thread safety: pure; the loader is called from the calling thread only.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "permcache/status.h"
#include "permcache/store.h"
#include "store/policy_row.h"

namespace permcache::store {

struct RoleData {
  std::vector<std::string> parents;  // roles this role inherits, in written order
  std::vector<PolicyRow> policies;   // linked policies, ordered by policy id
};

struct RoleAssignment {
  std::string role;
  std::string business_unit;  // "" = everywhere in the tenant
  Interval valid;             // when the assignment counts (DESIGN §8)
  std::string group;          // assigned to this group of the user's, "" = to the user
};

// Groups (DESIGN §8): the role `role` assigned to `group` (the user's, active), and a policy
// assigned to it. Both count while the group's interval holds; the grant's role path is
// "group:G" (and the walk's "group:G>role>...").
RoleAssignment GroupAssignment(const GroupRow& group, std::string role, std::string business_unit);
Grant GroupPolicyGrant(const GroupRow& group, PolicyRow policy);
// The group `id` among the user's groups (sorted by id), or null.
const GroupRow* FindGroup(const std::vector<GroupRow>& groups, std::string_view id);

// Returns the data of one role (an unknown role: empty data). The pointer must stay valid for
// the rest of the walk.
using RoleLoader = std::function<StatusOr<const RoleData*>(const std::string& role)>;

// Appends the grants every assignment reaches to `out`, assignments in the given order; each
// grant carries its assignment's interval.
Status WalkRoles(const std::vector<RoleAssignment>& assignments, const RoleLoader& load,
                 std::vector<Grant>* out);

// UserGrants::roles: the roles of the unscoped (business_unit "") unbounded assignments and
// every role they inherit transitively, sorted and unique. Scoped assignments hold their role
// only inside their unit, and UI elements have no unit, so they do not count.
StatusOr<std::vector<std::string>> HeldRoles(const std::vector<RoleAssignment>& assignments,
                                             const RoleLoader& load);
// UserGrants::bounded_roles: the same for the unscoped assignments with an interval, each role
// (and what it inherits) paired with its assignment's interval.
StatusOr<std::vector<std::pair<std::string, Interval>>> BoundedRoles(
    const std::vector<RoleAssignment>& assignments, const RoleLoader& load);

}  // namespace permcache::store
