#include "store/role_walk.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_set>
#include <utility>

namespace permcache::store {
namespace {
std::string GroupPath(std::string_view group) { return "group:" + std::string(group); }
}  // namespace

RoleAssignment GroupAssignment(const GroupRow& group, std::string role, std::string business_unit) {
  return {std::move(role), std::move(business_unit), group.valid, group.group};
}

Grant GroupPolicyGrant(const GroupRow& group, PolicyRow p) {
  return Grant{std::move(p.policy), p.effect,          p.priority,         std::move(p.permissions),
               std::move(p.scope),  "", GroupPath(group.group), group.valid};
}

const GroupRow* FindGroup(const std::vector<GroupRow>& groups, std::string_view id) {
  auto it = std::lower_bound(groups.begin(), groups.end(), id,
                             [](const GroupRow& g, std::string_view x) { return g.group < x; });
  return it != groups.end() && it->group == id ? &*it : nullptr;
}

Status WalkRoles(const std::vector<RoleAssignment>& assignments, const RoleLoader& load,
                 std::vector<Grant>* out) {
  for (const RoleAssignment& a : assignments) {
    std::unordered_set<std::string> visited{a.role};
    std::unordered_set<std::string> granted;  // one grant per policy per assignment
    std::string first = a.group.empty() ? a.role : GroupPath(a.group) + ">" + a.role;
    std::deque<std::pair<std::string, std::string>> queue{{a.role, std::move(first)}};  // (role, path)
    while (!queue.empty()) {
      auto [role, path] = std::move(queue.front());
      queue.pop_front();
      PERMCACHE_ASSIGN_OR_RETURN(const RoleData* data, load(role));
      for (const PolicyRow& p : data->policies) {
        if (!granted.insert(p.policy).second) continue;
        out->push_back(Grant{p.policy, p.effect, p.priority, p.permissions, p.scope,
                             a.business_unit, path, a.valid});
      }
      for (const auto& parent : data->parents) {
        if (visited.insert(parent).second) queue.emplace_back(parent, path + ">" + parent);
      }
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> HeldRoles(const std::vector<RoleAssignment>& assignments,
                                             const RoleLoader& load) {
  std::set<std::string> held;  // also the visited set: each role is expanded once
  std::deque<std::string> queue;
  for (const RoleAssignment& a : assignments) {
    if (a.business_unit.empty() && a.valid.unbounded() && held.insert(a.role).second) {
      queue.push_back(a.role);
    }
  }
  while (!queue.empty()) {
    std::string role = std::move(queue.front());
    queue.pop_front();
    PERMCACHE_ASSIGN_OR_RETURN(const RoleData* data, load(role));
    for (const auto& parent : data->parents) {
      if (held.insert(parent).second) queue.push_back(parent);
    }
  }
  return std::vector<std::string>(held.begin(), held.end());
}

StatusOr<std::vector<std::pair<std::string, Interval>>> BoundedRoles(
    const std::vector<RoleAssignment>& assignments, const RoleLoader& load) {
  std::vector<std::pair<std::string, Interval>> out;
  for (const RoleAssignment& a : assignments) {
    if (!a.business_unit.empty() || a.valid.unbounded()) continue;
    std::set<std::string> seen{a.role};
    std::deque<std::string> queue{a.role};
    while (!queue.empty()) {
      std::string role = std::move(queue.front());
      queue.pop_front();
      PERMCACHE_ASSIGN_OR_RETURN(const RoleData* data, load(role));
      for (const auto& parent : data->parents) {
        if (seen.insert(parent).second) queue.push_back(parent);
      }
      out.emplace_back(std::move(role), a.valid);
    }
  }
  return out;
}

}  // namespace permcache::store
