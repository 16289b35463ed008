// PolicyRow: one stored policy as a backend reads it back, decoded and checked the same way by
// every backend (effect name, priority range, the '\n'-joined pattern list); and the stored
// membership status as UserGrants carries it.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/model.h"
#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache::store {

struct PolicyRow {
  std::string policy;
  Effect effect = Effect::kAllow;
  int32_t priority = 0;
  std::vector<std::string> permissions;
  std::string scope;  // "" = unscoped
};

// Decodes a stored row. kInternal ("damaged store") for an unknown effect or a priority that
// does not fit int32.
StatusOr<PolicyRow> DecodePolicyRow(std::string policy, std::string_view effect, int64_t priority,
                                    std::string_view joined_permissions, std::string scope);

// Patterns are [a-z0-9_.-:*] (ValidatePattern), so '\n' can never be part of one: stores keep a
// pattern list as one '\n'-joined string.
std::string JoinPermissions(const std::vector<std::string>& permissions);
std::vector<std::string> SplitPermissions(std::string_view joined);

// A stored membership status as UserGrants::membership (the interval is decided later).
inline MembershipState MembershipStateOf(MembershipStatus status) {
  switch (status) {
    case MembershipStatus::kActive: return MembershipState::kActive;
    case MembershipStatus::kPending: return MembershipState::kPending;
    case MembershipStatus::kSuspended: break;
  }
  return MembershipState::kSuspended;
}

}  // namespace permcache::store
