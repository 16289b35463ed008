#include "server/metrics_observer.h"

namespace permcache {

MetricsObserver::MetricsObserver(MetricsRegistry* registry)
    : l2_read_(registry->GetHistogram("permcache_l2_read_duration_seconds",
                                      "L2 (Redis) reads on cache misses, hit or miss.", {},
                                      Histogram::LatencyBuckets())),
      store_read_(registry->GetHistogram("permcache_store_read_duration_seconds",
                                         "Store reads of one (tenant, user) on cache misses.", {},
                                         Histogram::LatencyBuckets())),
      store_write_(registry->GetHistogram(
          "permcache_store_write_duration_seconds",
          "Write batches committed by the store (every round trip, capture and commit).", {},
          Histogram::LatencyBuckets())),
      lag_(registry->GetHistogram(
          "permcache_invalidation_lag_seconds",
          "From a write's commit on another node to its invalidation applied on this node.", {},
          Histogram::LatencyBuckets())) {}

}  // namespace permcache
