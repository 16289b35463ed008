// CheckerObserver: timings a Checker reports to the embedding program (the server turns them
// into Prometheus histograms). Default methods do nothing.
//
// Thread safety: called concurrently from check, write and bus threads; implementations must
// be thread-safe and cheap (no blocking).
#pragma once

namespace permcache {

class CheckerObserver {
 public:
  virtual ~CheckerObserver() = default;
  // One L2 (remote cache) read, hit or miss.
  virtual void OnRemoteCacheRead(double /*seconds*/) {}
  // One store read of a (tenant, user) on a cache miss.
  virtual void OnStoreRead(double /*seconds*/) {}
  // One write batch committed by the store (Store::Apply), including its round trips.
  virtual void OnStoreWrite(double /*seconds*/) {}
  // A write made on another node: from its commit to its invalidation applied here.
  virtual void OnInvalidationLag(double /*seconds*/) {}
};

}  // namespace permcache
