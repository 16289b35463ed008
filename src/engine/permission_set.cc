#include "engine/permission_set.h"

#include <algorithm>

#include "common/hash.h"

namespace permcache {
namespace {

// The end of the ':'-separated segment of `s` starting at `pos`. A plain loop: ids and
// permissions are a few bytes long, where a memchr call costs more than it saves.
inline size_t SegmentEnd(std::string_view s, size_t pos) {
  while (pos < s.size() && s[pos] != ':') ++pos;
  return pos;
}

}  // namespace

std::string_view CacheTierName(CacheTier t) {
  switch (t) {
    case CacheTier::kL1: return "l1";
    case CacheTier::kL2: return "l2";
    case CacheTier::kStore: return "store";
  }
  return "store";
}

bool PatternMatches(std::string_view pattern, std::string_view permission) noexcept {
  size_t pi = 0, qi = 0;
  while (true) {
    const size_t pe = SegmentEnd(pattern, pi);
    const size_t qe = SegmentEnd(permission, qi);
    const bool plast = pe == pattern.size();
    const bool qlast = qe == permission.size();
    const std::string_view pseg = pattern.substr(pi, pe - pi);
    if (pseg == "*") {
      // A trailing '*' takes every remaining segment (there is at least the current one).
      if (plast) return qe > qi;
    } else if (pseg != permission.substr(qi, qe - qi)) {
      return false;
    }
    if (plast || qlast) return plast && qlast;
    pi = pe + 1;
    qi = qe + 1;
  }
}

PermissionSet::PermissionSet(MembershipState membership, std::vector<Rule> rules,
                             std::vector<Source> sources, std::vector<std::string> roles,
                             std::vector<ResourceGrantRow> resource_grants,
                             int64_t valid_until_ms, int64_t membership_expires_at_ms,
                             std::string membership_via)
    : membership_(membership),
      rules_(std::move(rules)),
      sources_(std::move(sources)),
      roles_(std::move(roles)),
      resource_grants_(std::move(resource_grants)),
      valid_until_ms_(valid_until_ms),
      membership_expires_at_ms_(membership_expires_at_ms),
      membership_via_(std::move(membership_via)) {
  memory_bytes_ = sizeof(PermissionSet) + rules_.capacity() * sizeof(Rule) +
                  sources_.capacity() * sizeof(Source);
  uint64_t h = HashBytes(std::string_view(reinterpret_cast<const char*>(&membership_), 1));
  // Strings longer than the small-string buffer live on the heap.
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  for (Rule& r : rules_) {
    r.wildcard = r.pattern.find('*') != std::string::npos;
    memory_bytes_ += heap(r.pattern) + heap(r.scope);
    h = HashCombine(h, HashBytes(r.pattern));
    h = HashCombine(h, HashBytes(r.scope));
    h = HashCombine(h, (static_cast<uint64_t>(r.effect) << 40) ^
                           (static_cast<uint64_t>(static_cast<uint32_t>(r.priority)) << 8) ^
                           r.source);
  }
  for (const Source& s : sources_) {
    memory_bytes_ += heap(s.policy) + heap(s.role_path);
    h = HashCombine(h, HashBytes(s.policy));
    h = HashCombine(h, HashBytes(s.role_path));
    h = HashCombine(h, static_cast<uint64_t>(s.expires_at_ms));
  }
  h = HashCombine(h, static_cast<uint64_t>(valid_until_ms_));
  h = HashCombine(h, static_cast<uint64_t>(membership_expires_at_ms_));
  memory_bytes_ += heap(membership_via_);
  h = HashCombine(h, HashBytes(membership_via_));
  memory_bytes_ += roles_.capacity() * sizeof(std::string) +
                   resource_grants_.capacity() * sizeof(ResourceGrantRow);
  h = HashCombine(h, roles_.size());
  for (const std::string& role : roles_) {
    memory_bytes_ += heap(role);
    h = HashCombine(h, HashBytes(role));
  }
  h = HashCombine(h, resource_grants_.size());
  for (const ResourceGrantRow& g : resource_grants_) {
    memory_bytes_ += heap(g.resource) + g.permissions.capacity() * sizeof(std::string);
    h = HashCombine(h, HashBytes(g.resource));
    for (const std::string& p : g.permissions) {
      memory_bytes_ += heap(p);
      h = HashCombine(h, HashBytes(p));
    }
  }
  hash_ = h;
}

int PermissionSet::Decide(std::string_view permission, std::string_view scope) const noexcept {
  const size_t n = rules_.size();
  for (size_t i = 0; i < n; ++i) {
    const Rule& r = rules_[i];
    if (!r.scope.empty() && r.scope != scope) continue;
    if (r.wildcard ? PatternMatches(r.pattern, permission) : r.pattern == permission) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool PermissionSet::HasRole(std::string_view role) const noexcept {
  const auto it = std::lower_bound(roles_.begin(), roles_.end(), role,
                                   [](const std::string& a, std::string_view b) { return a < b; });
  return it != roles_.end() && *it == role;
}

const std::string* PermissionSet::ResourceGrantMatch(std::string_view resource,
                                                     std::string_view permission) const noexcept {
  const auto it = std::lower_bound(
      resource_grants_.begin(), resource_grants_.end(), resource,
      [](const ResourceGrantRow& g, std::string_view r) { return g.resource < r; });
  if (it == resource_grants_.end() || it->resource != resource) return nullptr;
  for (const std::string& pattern : it->permissions) {
    if (PatternMatches(pattern, permission)) return &pattern;
  }
  return nullptr;
}

Reason PermissionSet::Explain(std::string_view permission, std::string_view scope) const {
  Reason reason;
  auto at = [](int64_t ms) {
    return ms == Interval::kNoExpiry ? std::nullopt : std::optional<int64_t>(ms);
  };
  if (membership_ != MembershipState::kActive) {
    // "no_membership", else "membership_" + the state: suspended, pending, not_started, expired.
    reason.kind = membership_ == MembershipState::kNone
                      ? "no_membership"
                      : "membership_" + std::string(MembershipStateName(membership_));
    // Not started: when it starts (kept in membership_expires_at_ms_, see the constructor).
    if (membership_ == MembershipState::kNotStarted) {
      reason.expires_at_ms = at(membership_expires_at_ms_);
    }
    return reason;
  }
  int i = Decide(permission, scope);
  if (i < 0) {
    reason.kind = "no_match";
    return reason;
  }
  const Rule& r = rules_[static_cast<size_t>(i)];
  const Source& s = sources_[r.source];
  reason.kind = "policy";
  reason.policy = s.policy;
  reason.effect = r.effect;
  reason.priority = r.priority;
  reason.matched_pattern = r.pattern;
  reason.role_path = s.role_path;
  reason.business_unit = r.scope;
  reason.expires_at_ms = at(std::min(s.expires_at_ms, membership_expires_at_ms_));
  return reason;
}

}  // namespace permcache
