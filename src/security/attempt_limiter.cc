#include "security/attempt_limiter.h"

namespace permcache::security {

int64_t AttemptLimiter::Begin(std::string_view key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = windows_.find(std::string(key));
  if (it != windows_.end() && now_ms >= it->second.started_ms + limits_.window_ms) {
    windows_.erase(it);
    it = windows_.end();
  }
  if (it != windows_.end() && it->second.failures >= limits_.max_failures) {
    return it->second.started_ms + limits_.window_ms - now_ms;
  }
  if (it == windows_.end()) {
    if (windows_.size() >= limits_.max_keys) DropExpiredLocked(now_ms);
    // Still full of live windows: forget the oldest rather than grow without bound.
    if (windows_.size() >= limits_.max_keys) {
      auto oldest = windows_.begin();
      for (auto w = windows_.begin(); w != windows_.end(); ++w) {
        if (w->second.started_ms < oldest->second.started_ms) oldest = w;
      }
      windows_.erase(oldest);
    }
    it = windows_.emplace(std::string(key), Window{now_ms, 0}).first;
  }
  ++it->second.failures;
  return 0;
}

void AttemptLimiter::Succeeded(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = windows_.find(std::string(key));
  if (it != windows_.end() && it->second.failures > 0) --it->second.failures;
}

void AttemptLimiter::DropExpiredLocked(int64_t now_ms) {
  std::erase_if(windows_, [&](const auto& kv) {
    return now_ms >= kv.second.started_ms + limits_.window_ms;
  });
}

std::string AttemptKey(std::string_view client, std::string_view tenant,
                       std::string_view resource) {
  std::string key(client);
  key += '|';
  key += tenant;
  key += '|';
  key += resource;
  return key;
}

}  // namespace permcache::security
