// A scripted Checker for API tests: records calls, answers what the test sets.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "permcache/checker.h"

namespace permcache::testing {

class FakeChecker final : public Checker {
 public:
  StatusOr<Decision> Check(const CheckRequest& r) override {
    std::lock_guard<std::mutex> l(mu);
    last_check = {std::string(r.tenant),   std::string(r.user),  std::string(r.permission),
                  std::string(r.scope),    r.at_least_revision,  r.explain,
                  std::string(r.resource), std::string(r.token), std::string(r.element)};
    ++checks;
    if (!check_status.ok()) return check_status;
    if (r.tenant.empty()) return InvalidArgumentError("tenant: must not be empty");
    Decision d;
    d.allowed = r.permission == "assets:read";
    d.revision = revision;
    if (r.explain) {
      Reason reason;
      reason.kind = d.allowed ? "policy" : "no_match";
      reason.policy = "p1";
      if (!r.element.empty()) {
        reason.kind = "required_role";
        reason.requirement = "nurse";
      }
      d.reason = reason;
    }
    return d;
  }
  void CheckBatch(std::span<const CheckRequest> requests,
                  std::span<BatchResult> results) override {
    for (size_t i = 0; i < requests.size(); ++i) {
      StatusOr<Decision> d = Check(requests[i]);
      results[i].status = d.status();
      if (d.ok()) results[i].decision = *d;
    }
  }
  StatusOr<uint64_t> Write(std::span<const WriteOp> ops) override {
    std::lock_guard<std::mutex> l(mu);
    if (!write_status.ok()) return write_status;
    written.assign(ops.begin(), ops.end());
    return ++revision;
  }
  // Resource routes: "secret" unlocks; the sidebar answers true for elements starting "a"
  // (unless hidden_elements names them).
  StatusOr<UnlockResult> Unlock(const UnlockRequest& r, int64_t* retry_after_seconds) override {
    {
      std::lock_guard<std::mutex> l(mu);
      last_unlock = {std::string(r.tenant), std::string(r.resource), std::string(r.client)};
    }
    if (r.password == "limited") {
      *retry_after_seconds = 42;
      return ResourceExhaustedError("too many failed unlock attempts");
    }
    if (r.password != "secret") return PermissionDeniedError("wrong password");
    return UnlockResult{"tok-" + std::string(r.resource), 1'700'000'000'000};
  }
  StatusOr<UiAnswer> UiElements(std::string_view tenant, std::string_view user,
                                std::span<const std::string> elements) override {
    {
      std::lock_guard<std::mutex> l(mu);
      last_ui = {std::string(tenant), std::string(user)};
      last_ui.insert(last_ui.end(), elements.begin(), elements.end());
    }
    UiAnswer a;
    a.revision = revision;
    std::vector<std::string> all = {"alpha", "beta"};
    for (const auto& e : elements.empty() ? std::span<const std::string>(all) : elements) {
      const bool hidden =
          std::find(hidden_elements.begin(), hidden_elements.end(), e) != hidden_elements.end();
      a.elements.emplace_back(e, e.starts_with("a") && !hidden);
    }
    return a;
  }
  StatusOr<ResourceList> ListResources(const ResourceListRequest& r) override {
    {
      std::lock_guard<std::mutex> g(mu);
      last_list = {std::string(r.tenant), std::string(r.user), std::string(r.permission),
                   std::string(r.type),   r.limit,             std::string(r.cursor)};
    }
    if (r.limit == 0 || r.limit > 1000) return InvalidArgumentError("limit must be in 1..1000");
    ResourceList l;
    l.revision = revision;
    l.resources.push_back({"r1", "media", std::string(r.user), ResourceState::kPublic});
    if (r.cursor.empty()) l.next_cursor = "r1";
    return l;
  }
  StatusOr<EffectivePermissions> Permissions(std::string_view t, std::string_view u) override {
    EffectivePermissions p;
    p.permissions = {std::string(t) + ":" + std::string(u)};
    p.permissions.insert(p.permissions.end(), extra_permissions.begin(),
                         extra_permissions.end());
    p.revision = revision;
    return p;
  }
  StatusOr<MembershipInfo> Membership(std::string_view, std::string_view u) override {
    if (u == "nobody") return MembershipInfo{false, "none", revision};
    return MembershipInfo{true, "active", revision};
  }
  StatusOr<Model> ExportModel(std::string_view tenant) override {
    if (tenant == "missing") return NotFoundError("tenant missing does not exist");
    Model m;
    m.tenants.push_back({tenant.empty() ? "all" : std::string(tenant)});
    return m;
  }
  StatusOr<uint64_t> ImportModel(const Model& model) override {
    std::lock_guard<std::mutex> l(mu);
    imported = model;
    return ++revision;
  }
  StatusOr<uint64_t> Invalidate(const InvalidateRequest& r) override {
    std::lock_guard<std::mutex> l(mu);
    last_invalidate = r;
    return 17;
  }
  CacheStats Stats() const override {
    CacheStats s;
    s.entries = 5;
    s.hits = 9;
    s.misses = 1;
    s.resource_records = 3;
    s.element_record_hits = 4;
    s.record_l2_hits = 5;
    s.record_l2_misses = 6;
    s.record_invalidations = 2;
    return s;
  }
  uint64_t AppliedRevision() const override { return revision; }
  Status StoreHealth() override { return store_health; }
  std::string StoreDescription() const override { return "fake"; }

  std::mutex mu;
  uint64_t revision = 42;
  int checks = 0;
  struct LastCheck {
    std::string tenant, user, permission, scope;
    uint64_t at_least_revision = 0;
    bool explain = false;
    std::string resource, token, element;
  } last_check;
  struct LastUnlock {
    std::string tenant, resource, client;  // never the password
  } last_unlock;
  std::vector<std::string> last_ui;  // tenant, user, then the elements asked for
  // Answer changes without a write (the revision stays): appended to every permission list;
  // elements answered false even when they start with "a".
  std::vector<std::string> extra_permissions;
  std::vector<std::string> hidden_elements;
  struct LastList {
    std::string tenant, user, permission, type;
    size_t limit = 0;
    std::string cursor;
  } last_list;
  Status check_status;
  Status write_status;
  Status store_health;
  std::vector<WriteOp> written;
  Model imported;
  InvalidateRequest last_invalidate;
};

}  // namespace permcache::testing
