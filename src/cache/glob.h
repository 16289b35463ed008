// Glob matching for InvalidatePattern: `*` matches any run (including empty), `?` exactly one
// byte, every other byte itself (no classes, no escapes: ids cannot contain `*` or `?`).
//
// Thread safety: pure function.
#pragma once

#include <string_view>

namespace permcache::internal {

// Linear-time-in-practice greedy matcher with single-star backtracking (O(|p|*|s|) worst case).
bool GlobMatch(std::string_view pattern, std::string_view text) noexcept;

}  // namespace permcache::internal
