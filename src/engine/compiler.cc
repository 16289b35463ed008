#include "engine/compiler.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace permcache {
namespace {

struct Candidate {
  const std::string* pattern;
  const std::string* scope;
  const std::string* policy;
  const std::string* role_path;
  Effect effect;
  int32_t priority;
  int64_t expires_at_ms;
};

// Priority descending, deny before allow; then a canonical order so that equal inputs in any
// row order compile to identical (internable) sets, preferring direct and short role paths.
bool Before(const Candidate& a, const Candidate& b) {
  auto key = [](const Candidate& c) {
    return std::make_tuple(-static_cast<int64_t>(c.priority), c.effect == Effect::kAllow,
                           std::string_view(*c.pattern), std::string_view(*c.scope),
                           c.role_path->size(), std::string_view(*c.role_path),
                           std::string_view(*c.policy), -c.expires_at_ms);
  };
  return key(a) < key(b);
}

// When a set without an active membership can change with no write: when the own active
// membership's interval starts or ends, or without one when an active group's does. Never for
// a suspended or pending own membership (it wins over every group; time cannot change it).
int64_t InactiveUntil(const UserGrants& g, int64_t now_ms) {
  if (g.membership == MembershipState::kActive) return g.membership_valid.NextTransitionAfter(now_ms);
  int64_t next = Interval::kNoExpiry;
  if (g.membership != MembershipState::kNone) return next;
  for (const GroupRow& group : g.groups) {
    if (group.active) next = std::min(next, group.valid.NextTransitionAfter(now_ms));
  }
  return next;
}

}  // namespace

PermissionSet CompilePermissionSet(const UserGrants& grants, int64_t now_ms) {
  const EffectiveMembership membership = EffectiveMembershipAt(grants, now_ms);
  if (membership.state != MembershipState::kActive) {
    // Nothing else counts before the membership does.
    return PermissionSet(membership.state, {}, {}, {}, {}, InactiveUntil(grants, now_ms),
                         membership.expires_at_ms, std::string(membership.via));
  }
  static const std::string kEmpty;
  std::vector<Candidate> candidates;
  for (const Grant& g : grants.grants) {
    if (!g.valid.Contains(now_ms)) continue;
    // A policy scoped to one unit reached through a role assigned in another never applies.
    if (!g.policy_scope.empty() && !g.assignment_scope.empty() &&
        g.policy_scope != g.assignment_scope) {
      continue;
    }
    const std::string& scope = g.policy_scope.empty() ? g.assignment_scope : g.policy_scope;
    for (const std::string& p : g.permissions) {
      candidates.push_back(
          {&p, &scope, &g.policy, &g.role_path, g.effect, g.priority, g.valid.expires_at_ms});
    }
  }
  std::sort(candidates.begin(), candidates.end(), Before);

  std::vector<PermissionSet::Rule> rules;
  std::vector<PermissionSet::Source> sources;
  rules.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    // Same (priority, effect, pattern, scope) again adds nothing: the first one decides.
    if (!rules.empty()) {
      const auto& last = rules.back();
      if (last.priority == c.priority && last.effect == c.effect && last.pattern == *c.pattern &&
          last.scope == *c.scope) {
        continue;
      }
    }
    uint32_t source = 0;
    auto it = std::find_if(sources.begin(), sources.end(), [&](const PermissionSet::Source& s) {
      return s.policy == *c.policy && s.role_path == *c.role_path &&
             s.expires_at_ms == c.expires_at_ms;
    });
    if (it == sources.end()) {
      source = static_cast<uint32_t>(sources.size());
      sources.push_back({*c.policy, *c.role_path, c.expires_at_ms});
    } else {
      source = static_cast<uint32_t>(it - sources.begin());
    }
    rules.push_back({*c.pattern, *c.scope, c.effect, c.priority, source});
  }
  rules.shrink_to_fit();
  sources.shrink_to_fit();
  // Sorted and unique so the set is canonical (internable) and HasRole can binary-search.
  std::vector<std::string> roles = grants.roles;
  for (const auto& [role, valid] : grants.bounded_roles) {
    if (valid.Contains(now_ms)) roles.push_back(role);
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  std::vector<ResourceGrantRow> resource_grants;
  resource_grants.reserve(grants.resource_grants.size());
  for (const ResourceGrantRow& g : grants.resource_grants) {
    if (!g.valid.Contains(now_ms)) continue;
    resource_grants.push_back({g.resource, g.permissions, {}});  // the set's valid_until covers it
  }
  std::sort(resource_grants.begin(), resource_grants.end(),
            [](const ResourceGrantRow& a, const ResourceGrantRow& b) { return a.resource < b.resource; });
  return PermissionSet(MembershipState::kActive, std::move(rules), std::move(sources),
                       std::move(roles), std::move(resource_grants),
                       NextTransitionAfter(grants, now_ms), membership.expires_at_ms,
                       std::string(membership.via));
}

}  // namespace permcache
