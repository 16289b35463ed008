#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include "checker/checker_impl.h"
#include "common/hash.h"
#include "engine/compiler.h"

namespace permcache {
namespace {

// Field validation of a check. Allocation-free on success (the hot path).
Status ValidateCheck(const CheckRequest& r) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", r.tenant));
  PERMCACHE_RETURN_IF_ERROR(ValidateId("user", r.user));
  PERMCACHE_RETURN_IF_ERROR(ValidatePermission(r.permission));
  if (!r.scope.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("scope", r.scope));
  return Status::Ok();
}

Status ValidateKey(std::string_view tenant, std::string_view user) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", tenant));
  return ValidateId("user", user);
}

Status ValidateOptions(const Options& o) {
  if (o.cache.ttl.count() <= 0) return InvalidArgumentError("cache ttl must be positive");
  if (o.cache.max_entries == 0) return InvalidArgumentError("cache max_entries must be positive");
  if (o.cache.max_bytes < 4096) return InvalidArgumentError("cache max_bytes must be >= 4096");
  if (o.cache.shards == 0 || o.cache.shards > 4096) {
    return InvalidArgumentError("cache shards must be in 1..4096");
  }
  if (o.consistency_timeout.count() < 0) {
    return InvalidArgumentError("consistency timeout must not be negative");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Checker>> Checker::Open(const Options& options) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOptions(options));
  PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(options.store_url));
  return Open(options, std::move(store));
}

StatusOr<std::unique_ptr<Checker>> Checker::Open(const Options& options,
                                                 std::unique_ptr<Store> store) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOptions(options));
  if (store == nullptr) return InvalidArgumentError("store must not be null");
  // The cache starts empty, so every change up to now is already reflected in what it will load.
  PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, store->CurrentRevision());
  return std::unique_ptr<Checker>(new CheckerImpl(options, std::move(store), revision));
}

CheckerImpl::CheckerImpl(const Options& options, std::unique_ptr<Store> store,
                         uint64_t start_revision)
    : options_(options),
      store_(std::move(store)),
      clock_(SystemClock::Get()),
      cache_(options.cache, clock_),
      tracker_(store_.get(), start_revision,
               [this](const ChangeSet& change) { InvalidateLocal(change); }) {
  tracker_.StartPolling(options_.changelog_poll_interval);
}

CheckerImpl::~CheckerImpl() = default;

StatusOr<L1Cache::Loaded> CheckerImpl::LoadFromStore(std::string_view tenant,
                                                     std::string_view user) {
  auto grants = store_->LoadGrants(tenant, user);
  if (!grants.ok()) {
    store_errors_.fetch_add(1, std::memory_order_relaxed);
    return UnavailableError("store read failed: " + grants.status().message());
  }
  L1Cache::Loaded loaded;
  loaded.set = interner_.Intern(CompilePermissionSet(*grants));
  loaded.revision = grants->revision;
  return loaded;
}

StatusOr<CheckerImpl::SetRef> CheckerImpl::GetSet(std::string_view tenant,
                                                  std::string_view user) {
  const uint64_t hash = HashKey(tenant, user);
  auto loaded = cache_.Load(hash, tenant, user, [&] { return LoadFromStore(tenant, user); });
  if (!loaded.ok()) return loaded.status();
  return SetRef{std::move(loaded->set), loaded->revision};
}

void CheckerImpl::InvalidateLocal(const ChangeSet& change) {
  for (const auto& [tenant, user] : change.users) cache_.InvalidateKey(tenant, user);
  for (const auto& tenant : change.tenants) cache_.InvalidateTenant(tenant);
}

StatusOr<Decision> CheckerImpl::Check(const CheckRequest& r) {
  PERMCACHE_RETURN_IF_ERROR(ValidateCheck(r));
  uint64_t applied = tracker_.applied();
  if (r.at_least_revision > applied) {
    Status reached = tracker_.WaitFor(r.at_least_revision, options_.consistency_timeout);
    if (!reached.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return reached;
    }
    applied = tracker_.applied();
  }
  const uint64_t hash = HashKey(r.tenant, r.user);
  Decision d;
  const bool hit = cache_.Visit(hash, r.tenant, r.user, [&](const L1Cache::EntryView& e) {
    d.allowed = e.set.Allowed(r.permission, r.scope);
    d.revision = std::max(applied, e.revision);
    if (r.explain) {
      d.reason = e.set.Explain(r.permission, r.scope);
      d.reason->tier = CacheTier::kL1;
      d.reason->entry_age_ms = clock_->NowMs() - e.filled_at_ms;
      d.reason->set_revision = e.revision;
    }
  });
  if (hit) return d;
  auto loaded = cache_.Load(hash, r.tenant, r.user, [&] { return LoadFromStore(r.tenant, r.user); });
  if (!loaded.ok()) return loaded.status();
  d.allowed = loaded->set->Allowed(r.permission, r.scope);
  d.revision = std::max(applied, loaded->revision);
  if (r.explain) {
    d.reason = loaded->set->Explain(r.permission, r.scope);
    d.reason->tier = CacheTier::kStore;
    d.reason->set_revision = loaded->revision;
  }
  return d;
}

StatusOr<uint64_t> CheckerImpl::Write(std::span<const WriteOp> ops) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto change = store_->Apply(ops);
  if (!change.ok()) {
    if (change.status().code() != StatusCode::kInvalidArgument) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    return change.status();
  }
  // Invalidate before returning: once the caller sees the revision, no check here answers from
  // older state. A gap (another node wrote in between) is caught up from the changelog.
  if (!tracker_.OnChange(*change).ok()) {
    // Our own keys are invalidated; the other writers' changes follow on the next catch-up.
    store_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  for (const auto& listener : listeners_) listener(*change);
  return change->revision;
}

StatusOr<EffectivePermissions> CheckerImpl::Permissions(std::string_view tenant,
                                                        std::string_view user) {
  PERMCACHE_RETURN_IF_ERROR(ValidateKey(tenant, user));
  PERMCACHE_ASSIGN_OR_RETURN(SetRef ref, GetSet(tenant, user));
  EffectivePermissions out;
  out.revision = std::max(AppliedRevision(), ref.revision);
  if (ref.set->membership() != MembershipState::kActive) return out;
  auto add_unique = [](std::vector<std::string>& v, const std::string& p) {
    if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
  };
  for (const auto& rule : ref.set->rules()) {
    if (rule.scope.empty()) {
      add_unique(rule.effect == Effect::kAllow ? out.permissions : out.denied, rule.pattern);
      continue;
    }
    auto it = std::find_if(out.scoped.begin(), out.scoped.end(),
                           [&](const auto& s) { return s.business_unit == rule.scope; });
    if (it == out.scoped.end()) {
      out.scoped.push_back({rule.scope, {}, {}});
      it = out.scoped.end() - 1;
    }
    add_unique(rule.effect == Effect::kAllow ? it->permissions : it->denied, rule.pattern);
  }
  return out;
}

StatusOr<MembershipInfo> CheckerImpl::Membership(std::string_view tenant, std::string_view user) {
  PERMCACHE_RETURN_IF_ERROR(ValidateKey(tenant, user));
  PERMCACHE_ASSIGN_OR_RETURN(SetRef ref, GetSet(tenant, user));
  MembershipInfo info;
  info.revision = std::max(AppliedRevision(), ref.revision);
  switch (ref.set->membership()) {
    case MembershipState::kActive: info.active = true; info.status = "active"; break;
    case MembershipState::kSuspended: info.status = "suspended"; break;
    case MembershipState::kNone: info.status = "none"; break;
  }
  return info;
}

StatusOr<Model> CheckerImpl::ExportModel(std::string_view tenant) {
  if (!tenant.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", tenant));
  return store_->Export(tenant);
}

StatusOr<uint64_t> CheckerImpl::ImportModel(const Model& model) {
  std::vector<WriteOp> ops = ModelToOps(model);
  if (ops.empty()) return InvalidArgumentError("the model is empty: nothing to import");
  return Write(ops);
}

StatusOr<uint64_t> CheckerImpl::Invalidate(const InvalidateRequest& r) {
  const int forms = (r.all ? 1 : 0) + (!r.pattern.empty() ? 1 : 0) +
                    (!r.tenant.empty() || !r.user.empty() ? 1 : 0);
  if (forms != 1) {
    return InvalidArgumentError(
        "give exactly one of: tenant+user, user, tenant, pattern, all");
  }
  if (r.all) return cache_.InvalidateAll();
  if (!r.pattern.empty()) {
    if (r.pattern.size() > 512) return InvalidArgumentError("pattern is longer than 512 chars");
    return cache_.InvalidatePattern(r.pattern);
  }
  if (!r.tenant.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", r.tenant));
  if (!r.user.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("user", r.user));
  if (!r.tenant.empty() && !r.user.empty()) return cache_.InvalidateKey(r.tenant, r.user);
  if (!r.user.empty()) return cache_.InvalidateUser(r.user);
  return cache_.InvalidateTenant(r.tenant);
}

void CheckerImpl::ApplyExternalChange(const ChangeSet& change) {
  if (!tracker_.OnChange(change).ok()) store_errors_.fetch_add(1, std::memory_order_relaxed);
}

CacheStats CheckerImpl::Stats() const {
  L1Cache::Stats s = cache_.GetStats();
  CacheStats out;
  out.entries = s.entries;
  out.hits = s.hits;
  out.misses = s.misses;
  out.evictions = s.evictions;
  out.expirations = s.expirations;
  out.invalidations = s.invalidations;
  out.stale_installs_refused = s.stale_installs_refused;
  out.fills = s.fills;
  out.single_flight_waits = s.single_flight_waits;
  out.memory_bytes = s.memory_bytes;
  out.distinct_sets = interner_.live_sets();
  out.set_bytes = interner_.live_bytes();
  out.applied_revision = AppliedRevision();
  out.store_errors = store_errors_.load(std::memory_order_relaxed);
  return out;
}

}  // namespace permcache
