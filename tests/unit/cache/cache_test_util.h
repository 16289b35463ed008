// Helpers for the L1Cache tests: versioned PermissionSets and loaders.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "cache/l1_cache.h"

namespace permcache::testing {

// A set whose single rule's priority encodes `version`, so a test can tell which store state a
// cached set was built from.
inline std::shared_ptr<const PermissionSet> VersionedSet(int32_t version) {
  std::vector<PermissionSet::Rule> rules;
  PermissionSet::Rule r;
  r.pattern = "assets:read";
  r.priority = version;
  rules.push_back(r);
  std::vector<PermissionSet::Source> sources{{"p" + std::to_string(version), ""}};
  return std::make_shared<const PermissionSet>(MembershipState::kActive, std::move(rules),
                                               std::move(sources));
}

// The same with a next transition at `valid_until_ms` (wall clock; DESIGN §8).
inline std::shared_ptr<const PermissionSet> SetValidUntil(int32_t version,
                                                          int64_t valid_until_ms) {
  const std::shared_ptr<const PermissionSet> base = VersionedSet(version);
  return std::make_shared<const PermissionSet>(MembershipState::kActive, base->rules(),
                                               base->sources(), std::vector<std::string>{},
                                               std::vector<ResourceGrantRow>{}, valid_until_ms);
}

inline int32_t VersionOf(const PermissionSet& set) { return set.rules().at(0).priority; }

// A loader returning `set` at `revision` and counting its calls.
inline L1Cache::Loader CountingLoader(std::shared_ptr<const PermissionSet> set,
                                      std::atomic<int>* calls, uint64_t revision = 1) {
  return [set, calls, revision]() -> StatusOr<L1Cache::Loaded> {
    calls->fetch_add(1, std::memory_order_relaxed);
    return L1Cache::Loaded{set, revision};
  };
}

}  // namespace permcache::testing
