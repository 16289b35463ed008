// PermissionSet: the compiled, immutable effective policies of one (tenant, user).
//
// Rules are sorted so that the first matching rule decides: priority descending, deny before
// allow at equal priority. Decide() walks them without allocating.
//
// Thread safety: immutable after construction; share freely (sets are interned, see interner.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/decision.h"
#include "permcache/model.h"
#include "permcache/store.h"

namespace permcache {

class PermissionSet {
 public:
  struct Rule {
    std::string pattern;
    std::string scope;  // required business unit, empty = applies to every check
    Effect effect = Effect::kAllow;
    int32_t priority = 0;
    uint32_t source = 0;  // index into sources()
    // Derived from `pattern` by the PermissionSet constructor: false when it has no '*', so
    // Decide matches it by plain equality (the common case) instead of walking segments.
    bool wildcard = true;
    bool operator==(const Rule&) const = default;
  };
  // Where a rule came from, for explain.
  struct Source {
    std::string policy;
    std::string role_path;  // empty = direct assignment
    int64_t expires_at_ms = Interval::kNoExpiry;  // of the assignment it came through
    bool operator==(const Source&) const = default;
  };

  PermissionSet() = default;
  // `roles`: held roles (with inherited ones), sorted; `resource_grants`: sorted by resource.
  // `valid_until_ms`: the first instant at which the set compiled from the same grants would
  // differ (an interval starts or ends); `membership_expires_at_ms`: when the membership stops
  // counting (or, not started yet, starts). DESIGN §8.
  PermissionSet(MembershipState membership, std::vector<Rule> rules, std::vector<Source> sources,
                std::vector<std::string> roles = {},
                std::vector<ResourceGrantRow> resource_grants = {},
                int64_t valid_until_ms = Interval::kNoExpiry,
                int64_t membership_expires_at_ms = Interval::kNoExpiry,
                std::string membership_via = {});

  MembershipState membership() const { return membership_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<Source>& sources() const { return sources_; }
  const std::vector<std::string>& roles() const { return roles_; }
  const std::vector<ResourceGrantRow>& resource_grants() const { return resource_grants_; }
  // Time is a writer: at or after this instant the set is out of date (no cache may serve it).
  int64_t valid_until_ms() const { return valid_until_ms_; }
  int64_t membership_expires_at_ms() const { return membership_expires_at_ms_; }
  // The group the membership comes through ("" = the user's own, or none).
  const std::string& membership_via() const { return membership_via_; }

  // Holds `role` (assigned unscoped, or inherited from such a role)? Binary search.
  bool HasRole(std::string_view role) const noexcept;
  // The pattern of the user's grant on `resource` that matches `permission`, or null.
  const std::string* ResourceGrantMatch(std::string_view resource,
                                        std::string_view permission) const noexcept;

  // Index of the deciding rule for `permission` checked in business unit `scope` (empty =
  // none), or -1 when no rule matches. Ignores membership. Allocation-free.
  int Decide(std::string_view permission, std::string_view scope) const noexcept;

  // The full decision: requires an active membership and a deciding allow rule.
  bool Allowed(std::string_view permission, std::string_view scope) const noexcept {
    if (membership_ != MembershipState::kActive) return false;
    int i = Decide(permission, scope);
    return i >= 0 && rules_[static_cast<size_t>(i)].effect == Effect::kAllow;
  }

  // Fills reason.kind/policy/effect/priority/matched_pattern/role_path/business_unit.
  Reason Explain(std::string_view permission, std::string_view scope) const;

  // Approximate heap + object bytes held by this set.
  size_t MemoryBytes() const { return memory_bytes_; }
  // Hash of the canonical content (membership, rules, sources): equal sets hash equal.
  uint64_t ContentHash() const { return hash_; }
  bool operator==(const PermissionSet& o) const {
    return membership_ == o.membership_ && rules_ == o.rules_ && sources_ == o.sources_ &&
           roles_ == o.roles_ && resource_grants_ == o.resource_grants_ &&
           valid_until_ms_ == o.valid_until_ms_ &&
           membership_expires_at_ms_ == o.membership_expires_at_ms_ &&
           membership_via_ == o.membership_via_;
  }

 private:
  MembershipState membership_ = MembershipState::kNone;
  std::vector<Rule> rules_;
  std::vector<Source> sources_;
  std::vector<std::string> roles_;
  std::vector<ResourceGrantRow> resource_grants_;
  int64_t valid_until_ms_ = Interval::kNoExpiry;
  int64_t membership_expires_at_ms_ = Interval::kNoExpiry;
  std::string membership_via_;
  size_t memory_bytes_ = 0;
  uint64_t hash_ = 0;
};

// Does concrete `permission` match `pattern`? A '*' segment matches exactly one segment, except
// a trailing '*' which matches one or more remaining segments ("*" matches everything,
// "assets:*" matches "assets:read" and "assets:read:own", "*:read" matches "assets:read").
bool PatternMatches(std::string_view pattern, std::string_view permission) noexcept;

}  // namespace permcache
