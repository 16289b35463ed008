// The resource decision (DESIGN §7): the eight rules, in order, that every surface (check,
// batch, listing, explain) applies to one (user's compiled set, resource record) pair. A
// resource answer is a pure function of those two cached values, so nothing is cached per
// (user, resource) and both halves are invalidated precisely on their own.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/permission_set.h"
#include "permcache/decision.h"
#include "permcache/store.h"

namespace permcache {

enum class ResourceRule : uint8_t {
  kUnknownResource,  // 1: no such resource
  kTypeMismatch,     // the permission's first segment is not the resource's type
  kExplicitDeny,     // 2: the user's policies deny the permission
  kOwner,            // 3: the owner, with an active membership
  kPolicy,           // 4: the user's policies allow it (editors, managers, curators)
  kResourceGrant,    // 5: a grant on this resource to the user
  kPublic,           // 6: view of a public or unlisted resource (anonymous too)
  kToken,            // 7: view of a restricted resource with a valid unlock token
  kNoMatch,          // 8: nothing allowed it
};
std::string_view ResourceRuleName(ResourceRule rule);  // "owner", "policy", ...

struct ResourceVerdict {
  bool allowed = false;
  ResourceRule rule = ResourceRule::kNoMatch;
  int policy_rule = -1;                       // kExplicitDeny / kPolicy: index into set->rules()
  const std::string* grant_pattern = nullptr;  // kResourceGrant: the matching grant pattern
};

// Is `permission` the view action on `type` ("media:view")? Rules 6 and 7 only apply to it.
bool IsViewOf(std::string_view permission, std::string_view type) noexcept;

// `set` is the user's compiled set, or null for an anonymous visitor (`user` empty).
// `token_valid`: the request carried an unlock token valid for this resource's version (the
// caller verifies it: the decision holds no keys).
ResourceVerdict DecideResource(const PermissionSet* set, std::string_view user,
                               std::string_view resource, const ResourceRecord& record,
                               std::string_view permission, bool token_valid) noexcept;

// The Reason explain shows for `verdict`.
Reason ExplainResource(const PermissionSet* set, const ResourceVerdict& verdict);

}  // namespace permcache
