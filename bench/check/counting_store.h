// CountingStore: a Store that delegates to a real one and counts LoadGrants calls (G11: how many
// store reads do N concurrent misses on one key cost?). An optional delay before each
// LoadGrants models a store across a network, so that the concurrent misses really overlap the
// read (a local SQLite read of ~20 us is over before most threads have even woken up).
//
// Thread safety: as the wrapped store; the counter and the delay are atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "permcache/forwarding_store.h"

namespace permcache::bench {

class CountingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  uint64_t load_grants_calls() const { return load_grants_calls_.load(std::memory_order_relaxed); }
  // Sleeps this long in every later LoadGrants. Default 0.
  void set_load_delay(std::chrono::milliseconds d) {
    load_delay_ms_.store(d.count(), std::memory_order_relaxed);
  }

  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override {
    // Relaxed: a counter read after the threads are joined (join synchronizes).
    load_grants_calls_.fetch_add(1, std::memory_order_relaxed);
    // Relaxed: set before the threads that read it are started (thread start synchronizes).
    int64_t delay = load_delay_ms_.load(std::memory_order_relaxed);
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    return inner().LoadGrants(tenant, user);
  }
  std::string Describe() const override { return "counting(" + ForwardingStore::Describe() + ")"; }

 private:
  std::atomic<uint64_t> load_grants_calls_{0};
  std::atomic<int64_t> load_delay_ms_{0};
};

}  // namespace permcache::bench
