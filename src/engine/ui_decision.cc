#include "engine/ui_decision.h"

#include <cstring>

namespace permcache {

std::string_view UiRuleName(UiRule rule) {
  switch (rule) {
    case UiRule::kNoMembership: return "no_membership";
    case UiRule::kMembershipInactive: return "membership_inactive";
    case UiRule::kUnknownElement: return "unknown_element";
    case UiRule::kInactive: return "element_inactive";
    case UiRule::kPolicy: return "policy";
    case UiRule::kNoRequirements: return "no_requirements";
    case UiRule::kRequiredRole: return "required_role";
    case UiRule::kRequiredPermission: return "required_permission";
    case UiRule::kNoMatch: return "no_match";
  }
  return "no_match";
}

UiVerdict DecideUiElement(const PermissionSet& set, std::string_view element,
                          const UiElementRecord& record) noexcept {
  UiVerdict v;
  if (set.membership() != MembershipState::kActive) {
    v.rule = set.membership() == MembershipState::kNone ? UiRule::kNoMembership
                                                         : UiRule::kMembershipInactive;
    return v;
  }
  if (!record.exists) {
    v.rule = UiRule::kUnknownElement;
    return v;
  }
  if (!record.active) {
    v.rule = UiRule::kInactive;
    return v;
  }
  // "ui:" + element on the stack (ids are at most 128 chars): the hot path does not allocate.
  char buf[3 + kMaxIdLength];
  if (element.size() <= kMaxIdLength) {
    std::memcpy(buf, "ui:", 3);
    std::memcpy(buf + 3, element.data(), element.size());
    const int i = set.Decide(std::string_view(buf, 3 + element.size()), {});
    if (i >= 0) {
      v.rule = UiRule::kPolicy;
      v.policy_rule = i;
      v.allowed = set.rules()[static_cast<size_t>(i)].effect == Effect::kAllow;
      return v;
    }
  }
  v.allowed = true;
  if (record.required_roles.empty() && record.required_permissions.empty()) {
    v.rule = UiRule::kNoRequirements;
    return v;
  }
  for (const std::string& role : record.required_roles) {
    if (set.HasRole(role)) {
      v.rule = UiRule::kRequiredRole;
      v.requirement = &role;
      return v;
    }
  }
  for (const std::string& permission : record.required_permissions) {
    if (set.Allowed(permission, {})) {
      v.rule = UiRule::kRequiredPermission;
      v.requirement = &permission;
      return v;
    }
  }
  v.allowed = false;
  v.rule = UiRule::kNoMatch;
  return v;
}

Reason ExplainUiElement(const PermissionSet& set, const UiVerdict& verdict) {
  // The set names how its membership stands (membership_suspended, _pending, _not_started,
  // _expired) and when that changes.
  if (verdict.rule == UiRule::kMembershipInactive) return set.Explain({}, {});
  Reason reason;
  reason.kind = std::string(UiRuleName(verdict.rule));
  reason.effect = verdict.allowed ? Effect::kAllow : Effect::kDeny;
  if (verdict.policy_rule >= 0) {
    const auto& rule = set.rules()[static_cast<size_t>(verdict.policy_rule)];
    const auto& source = set.sources()[rule.source];
    reason.policy = source.policy;
    reason.effect = rule.effect;
    reason.priority = rule.priority;
    reason.matched_pattern = rule.pattern;
    reason.role_path = source.role_path;
  }
  if (verdict.requirement != nullptr) reason.requirement = *verdict.requirement;
  return reason;
}

}  // namespace permcache
