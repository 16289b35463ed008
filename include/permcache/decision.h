// Decision: the answer to a check, and the explanation of how it was reached.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "permcache/model.h"

namespace permcache {

// Where the compiled permission set that answered came from.
enum class CacheTier : uint8_t { kL1 = 0, kL2 = 1, kStore = 2 };
std::string_view CacheTierName(CacheTier t);  // "l1" | "l2" | "store"

// Why a check was answered the way it was (check with explain).
struct Reason {
  // Why: "policy" (a policy decided), "no_membership", "membership_suspended",
  // "membership_pending", "membership_not_started", "membership_expired", "no_match";
  // resource checks also "owner", "resource_grant", "public", "token", "unknown_resource",
  // "type_mismatch"; element checks "unknown_element", "element_inactive", "no_requirements",
  // "required_role", "required_permission" (docs/resources.md).
  std::string kind;
  // Set when kind == "policy".
  std::string policy;
  Effect effect = Effect::kDeny;
  int32_t priority = 0;
  std::string matched_pattern;
  // The role chain that reached the policy, outermost first ("senior_nurse>nurse"); empty when
  // the policy is assigned directly to the user.
  std::string role_path;
  std::string business_unit;  // the scope the deciding rule required, empty if none
  // Element checks: the required role or permission that allowed ("required_role" /
  // "required_permission"). Resource grants put their pattern in matched_pattern.
  std::string requirement;
  // When what decided stops counting (the deciding grant's or the membership's expires_at,
  // whichever is first; or, for membership_not_started, when it starts). Unset = never.
  std::optional<int64_t> expires_at_ms;
  CacheTier tier = CacheTier::kStore;
  int64_t entry_age_ms = 0;    // age of the cache entry that answered (0 for store reads)
  uint64_t set_revision = 0;   // store revision the permission set was computed at
};

struct Decision {
  bool allowed = false;
  // The revision this answer is consistent with (>= the at_least_revision asked for).
  uint64_t revision = 0;
  std::optional<Reason> reason;  // only when explain was asked for
};

// One permission check.
struct CheckRequest {
  std::string_view tenant;
  std::string_view user;
  std::string_view permission;  // concrete, no '*'
  std::string_view scope;       // business unit, empty = none
  uint64_t at_least_revision = 0;
  bool explain = false;
  // Resource checks (DESIGN §7): the resource id; `user` may then be empty (an anonymous
  // visitor); `token` an unlock token for a restricted resource.
  std::string_view resource;
  std::string_view token;
  // Element checks: the UI element id (permission and scope are then left empty).
  std::string_view element;
};

}  // namespace permcache
