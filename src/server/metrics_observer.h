// MetricsObserver: turns the Checker's timings (CheckerObserver) into Prometheus histograms:
//   permcache_l2_read_duration_seconds, permcache_store_read_duration_seconds,
//   permcache_store_write_duration_seconds,
//   permcache_invalidation_lag_seconds (a write's commit on another node → applied here).
//
// Thread safety: thread-safe (histogram updates are lock-free).
#pragma once

#include "permcache/observer.h"
#include "server/metrics.h"

namespace permcache {

class MetricsObserver final : public CheckerObserver {
 public:
  // REQUIRES: registry outlives this object.
  explicit MetricsObserver(MetricsRegistry* registry);
  void OnRemoteCacheRead(double seconds) override { l2_read_->Observe(seconds); }
  void OnStoreRead(double seconds) override { store_read_->Observe(seconds); }
  void OnStoreWrite(double seconds) override { store_write_->Observe(seconds); }
  void OnInvalidationLag(double seconds) override { lag_->Observe(seconds); }

 private:
  Histogram* l2_read_;
  Histogram* store_read_;
  Histogram* store_write_;
  Histogram* lag_;
};

}  // namespace permcache
