// AttemptLimiter: brute-force protection for unlock (DESIGN §7, seed 001's pw_attempts): per
// key (client address, tenant, resource) at most `max_failures` failed attempts per window
// that starts at the first failure; then every attempt, even with the right password, is refused
// until the window has passed.
//
// This is the node-local counter. With Redis configured the Checker counts in Redis instead
// (shared by every node, RemoteCache::BeginAttempt) and falls back to this one while Redis is
// down: the limit then holds per node (docs/resources.md).
//
// Thread safety: every method is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/thread_annotations.h"

namespace permcache::security {

struct AttemptLimits {
  uint32_t max_failures = 5;
  int64_t window_ms = 15 * 60 * 1000;
  size_t max_keys = 100'000;  // memory bound: expired windows are dropped first
};

class AttemptLimiter {
 public:
  explicit AttemptLimiter(AttemptLimits limits) : limits_(limits) {}

  // Starts an attempt for `key` at `now_ms`: returns 0 and counts it as a failure in advance
  // (so concurrent attempts cannot overshoot the limit), or, past the limit, the ms until an
  // attempt may be made again (nothing counted).
  int64_t Begin(std::string_view key, int64_t now_ms);
  // The attempt begun succeeded: it does not count.
  void Succeeded(std::string_view key);

  const AttemptLimits& limits() const { return limits_; }

 private:
  struct Window {
    int64_t started_ms = 0;
    uint32_t failures = 0;
  };
  void DropExpiredLocked(int64_t now_ms) PERMCACHE_REQUIRES(mu_);

  const AttemptLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_ PERMCACHE_GUARDED_BY(mu_);
};

// The key of one (client, tenant, resource).
std::string AttemptKey(std::string_view client, std::string_view tenant,
                       std::string_view resource);

}  // namespace permcache::security
