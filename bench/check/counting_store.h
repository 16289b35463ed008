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
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "permcache/store.h"

namespace permcache::bench {

class CountingStore final : public Store {
 public:
  explicit CountingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  uint64_t load_grants_calls() const { return load_grants_calls_.load(std::memory_order_relaxed); }
  // Sleeps this long in every later LoadGrants. Default 0.
  void set_load_delay(std::chrono::milliseconds d) {
    load_delay_ms_.store(d.count(), std::memory_order_relaxed);
  }

  StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) override { return inner_->Apply(ops); }
  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override {
    // Relaxed: a counter read after the threads are joined (join synchronizes).
    load_grants_calls_.fetch_add(1, std::memory_order_relaxed);
    // Relaxed: set before the threads that read it are started (thread start synchronizes).
    int64_t delay = load_delay_ms_.load(std::memory_order_relaxed);
    if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    return inner_->LoadGrants(tenant, user);
  }
  StatusOr<ResourceRecord> LoadResource(std::string_view t, std::string_view r) override {
    return inner_->LoadResource(t, r);
  }
  StatusOr<UiElementRecord> LoadUiElement(std::string_view t, std::string_view e) override {
    return inner_->LoadUiElement(t, e);
  }
  StatusOr<std::vector<std::string>> ListUiElements(std::string_view t) override {
    return inner_->ListUiElements(t);
  }
  StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view t, std::string_view type,
                                                   std::string_view after,
                                                   size_t limit) override {
    return inner_->ScanResources(t, type, after, limit);
  }
  StatusOr<std::string> TokenSigningKey() override { return inner_->TokenSigningKey(); }
  StatusOr<Model> Export(std::string_view tenant) override { return inner_->Export(tenant); }
  StatusOr<uint64_t> CurrentRevision() override { return inner_->CurrentRevision(); }
  StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) override {
    return inner_->ChangesSince(after, limit);
  }
  StatusOr<uint64_t> PrunedThrough() override { return inner_->PrunedThrough(); }
  Status Ping() override { return inner_->Ping(); }
  std::string Describe() const override { return "counting(" + inner_->Describe() + ")"; }

 private:
  const std::unique_ptr<Store> inner_;
  std::atomic<uint64_t> load_grants_calls_{0};
  std::atomic<int64_t> load_delay_ms_{0};
};

}  // namespace permcache::bench
