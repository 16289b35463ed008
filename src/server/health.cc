#include "server/health.h"

namespace permcache {

http::Readiness ProbeReadiness(Checker* checker) {
  http::Readiness r;
  const Status store = checker->StoreHealth();
  r.store = store.ok() ? "up" : "down";
  // Redis is optional: when configured, being down degrades (checks go on from L1 and the
  // store) and is reported, but the node stays ready.
  const CacheStats s = checker->Stats();
  r.redis = !s.l2_enabled ? "disabled" : (s.l2_up && s.bus_up ? "up" : "down");
  r.listener = !s.store_feed_enabled ? "disabled" : (s.store_feed_up ? "up" : "down");
  r.ready = store.ok();
  return r;
}

}  // namespace permcache
