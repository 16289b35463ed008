// What every fuzz target here shares: the JSON nesting bound the server uses, and how a broken
// invariant is reported (a trap the fuzzer, or replay_main's crash handler, catches).
#pragma once

#include <cstddef>

namespace permcache::fuzz {

inline constexpr size_t kDepth = 32;

inline void Expect(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace permcache::fuzz
