#include "engine/resource_decision.h"

namespace permcache {
namespace {

bool Active(const PermissionSet* set) {
  return set != nullptr && set->membership() == MembershipState::kActive;
}

}  // namespace

std::string_view ResourceRuleName(ResourceRule rule) {
  switch (rule) {
    case ResourceRule::kUnknownResource: return "unknown_resource";
    case ResourceRule::kTypeMismatch: return "type_mismatch";
    case ResourceRule::kExplicitDeny: return "policy";
    case ResourceRule::kOwner: return "owner";
    case ResourceRule::kPolicy: return "policy";
    case ResourceRule::kResourceGrant: return "resource_grant";
    case ResourceRule::kPublic: return "public";
    case ResourceRule::kToken: return "token";
    case ResourceRule::kNoMatch: return "no_match";
  }
  return "no_match";
}

bool IsViewOf(std::string_view permission, std::string_view type) noexcept {
  return permission.size() == type.size() + 5 && permission.starts_with(type) &&
         permission.substr(type.size()) == ":view";
}

ResourceVerdict DecideResource(const PermissionSet* set, std::string_view user,
                               std::string_view resource, const ResourceRecord& record,
                               std::string_view permission, bool token_valid) noexcept {
  ResourceVerdict v;
  if (!record.exists) {
    v.rule = ResourceRule::kUnknownResource;
    return v;
  }
  const std::string_view type = permission.substr(0, permission.find(':'));
  if (type != record.type) {
    v.rule = ResourceRule::kTypeMismatch;
    return v;
  }
  const bool active = Active(set);
  const int i = active ? set->Decide(permission, {}) : -1;
  const bool policy_allows =
      i >= 0 && set->rules()[static_cast<size_t>(i)].effect == Effect::kAllow;
  if (i >= 0 && !policy_allows) {
    v.rule = ResourceRule::kExplicitDeny;
    v.policy_rule = i;
    return v;
  }
  v.allowed = true;
  if (active && !record.owner.empty() && record.owner == user) {
    v.rule = ResourceRule::kOwner;
    return v;
  }
  if (policy_allows) {
    v.rule = ResourceRule::kPolicy;
    v.policy_rule = i;
    return v;
  }
  if (active) {
    if (const std::string* p = set->ResourceGrantMatch(resource, permission)) {
      v.rule = ResourceRule::kResourceGrant;
      v.grant_pattern = p;
      return v;
    }
  }
  if (IsViewOf(permission, record.type)) {
    if (record.state == ResourceState::kPublic || record.state == ResourceState::kUnlisted) {
      v.rule = ResourceRule::kPublic;
      return v;
    }
    if (record.state == ResourceState::kRestricted && token_valid) {
      v.rule = ResourceRule::kToken;
      return v;
    }
  }
  v.allowed = false;
  v.rule = ResourceRule::kNoMatch;
  return v;
}

Reason ExplainResource(const PermissionSet* set, const ResourceVerdict& verdict) {
  Reason reason;
  reason.kind = std::string(ResourceRuleName(verdict.rule));
  if (verdict.policy_rule >= 0 && set != nullptr) {
    const auto& rule = set->rules()[static_cast<size_t>(verdict.policy_rule)];
    const auto& source = set->sources()[rule.source];
    reason.policy = source.policy;
    reason.effect = rule.effect;
    reason.priority = rule.priority;
    reason.matched_pattern = rule.pattern;
    reason.role_path = source.role_path;
    reason.business_unit = rule.scope;
  } else if (verdict.grant_pattern != nullptr) {
    reason.matched_pattern = *verdict.grant_pattern;
    reason.effect = Effect::kAllow;
  } else {
    reason.effect = verdict.allowed ? Effect::kAllow : Effect::kDeny;
  }
  return reason;
}

}  // namespace permcache
