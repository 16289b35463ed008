// The UI element decision (DESIGN §7, seed 002), applied to a user's compiled set and one
// element record: no active membership -> deny; unknown or inactive element -> deny (seed 002
// showed those to everyone); an explicit `ui:E` policy decides; no requirements -> allow; any
// required role held (with inheritance) -> allow; any required permission allowed -> allow;
// else deny. Checked as an unscoped check: roles assigned only in a business unit and policies
// scoped to one do not count.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "engine/permission_set.h"
#include "permcache/decision.h"
#include "permcache/store.h"

namespace permcache {

enum class UiRule : uint8_t {
  kNoMembership,
  kMembershipInactive,  // suspended, pending, not started or expired (explain names which)
  kUnknownElement,
  kInactive,
  kPolicy,  // a `ui:E` policy decided (allow or deny)
  kNoRequirements,
  kRequiredRole,
  kRequiredPermission,
  kNoMatch,
};
std::string_view UiRuleName(UiRule rule);

struct UiVerdict {
  bool allowed = false;
  UiRule rule = UiRule::kNoMatch;
  int policy_rule = -1;                     // kPolicy: index into set.rules()
  const std::string* requirement = nullptr;  // kRequiredRole / kRequiredPermission
};

// Allocation-free.
UiVerdict DecideUiElement(const PermissionSet& set, std::string_view element,
                          const UiElementRecord& record) noexcept;

Reason ExplainUiElement(const PermissionSet& set, const UiVerdict& verdict);

}  // namespace permcache
