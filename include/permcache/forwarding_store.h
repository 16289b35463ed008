// ForwardingStore: a Store that passes every call to another one. Wrappers (instrumentation in
// benchmarks, gates and fault injection in tests) derive from it and override only what they
// change, so a method added to Store is forwarded in one place.
//
// Thread safety: as the wrapped store.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "permcache/store.h"

namespace permcache {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) override { return inner_->Apply(ops); }
  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override {
    return inner_->LoadGrants(tenant, user);
  }
  StatusOr<ResourceRecord> LoadResource(std::string_view tenant,
                                        std::string_view resource) override {
    return inner_->LoadResource(tenant, resource);
  }
  StatusOr<UiElementRecord> LoadUiElement(std::string_view tenant,
                                          std::string_view element) override {
    return inner_->LoadUiElement(tenant, element);
  }
  StatusOr<std::vector<std::string>> ListUiElements(std::string_view tenant) override {
    return inner_->ListUiElements(tenant);
  }
  StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view tenant, std::string_view type,
                                                   std::string_view after,
                                                   size_t limit) override {
    return inner_->ScanResources(tenant, type, after, limit);
  }
  StatusOr<std::string> TokenSigningKey() override { return inner_->TokenSigningKey(); }
  StatusOr<Model> Export(std::string_view tenant) override { return inner_->Export(tenant); }
  StatusOr<uint64_t> CurrentRevision() override { return inner_->CurrentRevision(); }
  StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) override {
    return inner_->ChangesSince(after, limit);
  }
  StatusOr<uint64_t> PrunedThrough() override { return inner_->PrunedThrough(); }
  std::unique_ptr<ChangeFeed> StartChangeFeed(ChangeFeed::Callbacks callbacks) override {
    return inner_->StartChangeFeed(std::move(callbacks));
  }
  StatusOr<ReconcileReport> Reconcile(bool fix) override { return inner_->Reconcile(fix); }
  StoreStats GetStats() const override { return inner_->GetStats(); }
  Status Ping() override { return inner_->Ping(); }
  std::string Describe() const override { return inner_->Describe(); }

 protected:
  Store& inner() { return *inner_; }

 private:
  const std::unique_ptr<Store> inner_;
};

}  // namespace permcache
