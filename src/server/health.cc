#include "server/health.h"

namespace permcache {

http::Readiness ProbeReadiness(Checker* checker, bool redis_enabled) {
  http::Readiness r;
  const Status store = checker->StoreHealth();
  r.store = store.ok() ? "up" : "down";
  // Redis is optional: when it exists, being down degrades (checks go on) but is reported.
  r.redis = redis_enabled ? "up" : "disabled";
  r.ready = store.ok();
  return r;
}

}  // namespace permcache
