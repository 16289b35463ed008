// CheckerImpl's resource and UI element paths (DESIGN §7, docs/resources.md): record caching,
// resource and element checks, unlock tokens, the sidebar call and listing. The decisions
// themselves are the engine's (engine/resource_decision.h, engine/ui_decision.h).
#include <algorithm>
#include <string>
#include <type_traits>

#include "checker/checker_impl.h"
#include "common/hash.h"
#include "engine/resource_decision.h"
#include "engine/ui_decision.h"
#include "security/password_hash.h"
#include "security/unlock_token.h"

namespace permcache {
namespace {

constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kMaxClientBytes = 256;
constexpr size_t kMaxListLimit = 1000;
// Rows one listing page may examine: a page may come back short (with a cursor) rather than
// scan a whole tenant for a user who can see little of it.
constexpr size_t kListScanBudget = 2000;

Status ValidateRecordCheck(const CheckRequest& r) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", r.tenant));
  if (!r.resource.empty() && !r.element.empty()) {
    return InvalidArgumentError("give resource or element, not both");
  }
  if (!r.scope.empty()) {
    return InvalidArgumentError("scope does not apply to resource and element checks");
  }
  if (!r.element.empty()) {
    PERMCACHE_RETURN_IF_ERROR(ValidateId("user", r.user));
    PERMCACHE_RETURN_IF_ERROR(ValidateId("element", r.element));
    if (!r.permission.empty()) {
      return InvalidArgumentError("an element check takes no permission (it is ui:<element>)");
    }
    if (!r.token.empty()) return InvalidArgumentError("token only applies to resource checks");
    return Status::Ok();
  }
  if (!r.user.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("user", r.user));  // "" = anonymous
  PERMCACHE_RETURN_IF_ERROR(ValidateId("resource", r.resource));
  PERMCACHE_RETURN_IF_ERROR(ValidatePermission(r.permission));
  if (r.token.size() > kMaxTokenBytes) {
    return InvalidArgumentError("token is longer than " + std::to_string(kMaxTokenBytes) +
                                " bytes");
  }
  return Status::Ok();
}

std::string_view TypeOf(std::string_view permission) {
  return permission.substr(0, permission.find(':'));
}

}  // namespace

// ---- records -----------------------------------------------------------------------------------

std::chrono::milliseconds CheckerImpl::RecordTtl(const ResourceRecord& record) const {
  return record.state == ResourceState::kRestricted ? options_.resources.restricted_record_ttl
                                                    : options_.resources.record_ttl;
}

std::chrono::milliseconds CheckerImpl::RecordTtl(const UiElementRecord&) const {
  return options_.resources.record_ttl;
}

template <class V>
StatusOr<CheckerImpl::RecordRef<V>> CheckerImpl::GetRecord(RecordCache<V>& cache,
                                                           const RecordSource<V>& source,
                                                           std::string_view tenant,
                                                           std::string_view id) {
  const bool use_cache = l1_usable_.load(std::memory_order_acquire);
  const int64_t now = clock_->NowMs();
  uint64_t generation = 0;
  if (use_cache) {
    if (auto hit = cache.Get(tenant, id, now)) return RecordRef<V>{hit, CacheTier::kL1};
    generation = cache.Generation(tenant, id);  // before the read: see RecordCache
  }
  // L2, then the store; the L2 value is as good as the store's at its revision (filled race-free
  // under the same tombstones as entries), and the generation guards the L1 install either way.
  const bool use_l2 = remote_ != nullptr && l2_usable_.load(std::memory_order_acquire);
  std::shared_ptr<const V> record;
  CacheTier tier = CacheTier::kStore;
  if (use_l2) {
    auto got = ((*remote_).*source.l2_get)(tenant, id);
    if (got.ok() && got->has_value()) {
      record = std::make_shared<const V>(std::move(**got));
      tier = CacheTier::kL2;
      record_l2_hits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      (got.ok() ? record_l2_misses_ : l2_errors_).fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (record == nullptr) {
    auto loaded = FromStore([&] { return ((*store_).*source.load)(tenant, id); });
    if (!loaded.ok()) return loaded.status();
    V value = std::move(*loaded);
    if constexpr (std::is_same_v<V, ResourceRecord>) {
      value.password_hash.clear();  // no cache holds it: unlock reads the store
    }
    record = std::make_shared<const V>(std::move(value));
    if (use_l2 && !((*remote_).*source.l2_put)(tenant, id, *record, RecordTtl(*record)).ok()) {
      l2_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (use_cache) cache.Install(tenant, id, generation, record, now + RecordTtl(*record).count());
  return RecordRef<V>{std::move(record), tier};
}

StatusOr<CheckerImpl::RecordRef<ResourceRecord>> CheckerImpl::GetResource(std::string_view tenant,
                                                                          std::string_view id) {
  static constexpr RecordSource<ResourceRecord> kSource{
      &Store::LoadResource, &RemoteCache::GetResource, &RemoteCache::PutResource};
  return GetRecord(resources_, kSource, tenant, id);
}

StatusOr<CheckerImpl::RecordRef<UiElementRecord>> CheckerImpl::GetElement(std::string_view tenant,
                                                                          std::string_view id) {
  static constexpr RecordSource<UiElementRecord> kSource{
      &Store::LoadUiElement, &RemoteCache::GetElement, &RemoteCache::PutElement};
  return GetRecord(elements_, kSource, tenant, id);
}

StatusOr<std::shared_ptr<const std::vector<std::string>>> CheckerImpl::GetElementList(
    std::string_view tenant) {
  const bool use_cache = l1_usable_.load(std::memory_order_acquire);
  const int64_t now = clock_->NowMs();
  uint64_t generation = 0;
  if (use_cache) {
    if (auto hit = element_lists_.Get(tenant, {}, now)) return hit;
    generation = element_lists_.Generation(tenant, {});
  }
  auto ids = FromStore([&] { return store_->ListUiElements(tenant); });
  if (!ids.ok()) return ids.status();
  auto ptr = std::make_shared<const std::vector<std::string>>(std::move(*ids));
  if (use_cache) {
    element_lists_.Install(tenant, {}, generation, ptr, now + options_.resources.record_ttl.count());
  }
  return ptr;
}

bool CheckerImpl::InvalidateRecordKey(std::string_view tenant, std::string_view key) {
  if (key.starts_with(kResourceKeyPrefix)) {
    resources_.Invalidate(tenant, key.substr(kResourceKeyPrefix.size()));
    return true;
  }
  if (key.starts_with(kElementKeyPrefix)) {
    elements_.Invalidate(tenant, key.substr(kElementKeyPrefix.size()));
    element_lists_.Invalidate(tenant, {});
    return true;
  }
  return false;
}

StatusOr<std::string> CheckerImpl::SigningKey() {
  std::lock_guard<std::mutex> lock(key_mu_);
  if (signing_key_.empty()) {
    auto key = FromStore([&] { return store_->TokenSigningKey(); });
    if (!key.ok()) return key.status();
    if (key->size() < 16) return InternalError("the store's token signing key is too short");
    signing_key_ = std::move(*key);
  }
  return signing_key_;
}

StatusOr<std::vector<WriteOp>> CheckerImpl::HashPasswords(std::span<const WriteOp> ops) const {
  std::vector<WriteOp> out(ops.begin(), ops.end());
  const security::PasswordHashCost cost{.memory_kib = options_.resources.password_memory_kib,
                                        .passes = options_.resources.password_passes,
                                        .lanes = 1};
  for (WriteOp& op : out) {
    if (!op.password) continue;
    if (op.password->empty()) {
      op.password_hash = std::string();  // "" clears the password
    } else {
      PERMCACHE_ASSIGN_OR_RETURN(std::string hash, security::HashPassword(*op.password, cost));
      op.password_hash = std::move(hash);
    }
    op.password.reset();
  }
  return out;
}

// ---- checks ------------------------------------------------------------------------------------

StatusOr<uint64_t> CheckerImpl::ReachRevision(uint64_t at_least_revision) {
  if (at_least_revision > tracker_.applied()) {
    Status reached = tracker_.WaitFor(at_least_revision, options_.consistency_timeout);
    if (!reached.ok()) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      return reached;
    }
  }
  return tracker_.applied();
}

StatusOr<Decision> CheckerImpl::CheckRecord(const CheckRequest& r) {
  PERMCACHE_RETURN_IF_ERROR(ValidateRecordCheck(r));
  PERMCACHE_ASSIGN_OR_RETURN(const uint64_t applied, ReachRevision(r.at_least_revision));
  return r.element.empty() ? CheckResource(r, applied) : CheckElement(r, applied);
}

StatusOr<Decision> CheckerImpl::CheckResource(const CheckRequest& r, uint64_t applied) {
  // Hot path: record and set both cached, no token. Decided under the two shared locks
  // (record shard, then L1 shard; nothing takes them in the other order).
  if (r.token.empty() && !r.user.empty() && !r.explain &&
      l1_usable_.load(std::memory_order_acquire)) {
    Decision d;
    bool decided = false;
    const uint64_t hash = HashKey(r.tenant, r.user);
    resources_.Visit(r.tenant, r.resource, clock_->NowMs(), [&](const ResourceRecord& record) {
      decided = cache_.Visit(hash, r.tenant, r.user, [&](const L1Cache::EntryView& e) {
        d.allowed =
            DecideResource(&e.set, r.user, r.resource, record, r.permission, false).allowed;
        d.revision = std::max({applied, e.revision, record.revision});
      });
    });
    if (decided) return d;
  }
  PERMCACHE_ASSIGN_OR_RETURN(RecordRef<ResourceRecord> ref, GetResource(r.tenant, r.resource));
  const ResourceRecord& record = *ref.record;
  bool token_valid = false;
  if (!r.token.empty() && record.exists && record.state == ResourceState::kRestricted &&
      IsViewOf(r.permission, record.type)) {
    PERMCACHE_ASSIGN_OR_RETURN(const std::string key, SigningKey());
    token_valid = security::TokenGrants(r.token, key, r.tenant, r.resource, record.version,
                                        clock_->WallMs());
  }
  Decision d;
  auto decide = [&](const PermissionSet* set, uint64_t set_revision, CacheTier tier) {
    const ResourceVerdict v =
        DecideResource(set, r.user, r.resource, record, r.permission, token_valid);
    d.allowed = v.allowed;
    d.revision = std::max({applied, set_revision, record.revision});
    if (r.explain) {
      d.reason = ExplainResource(set, v);
      d.reason->tier = set != nullptr ? tier : ref.tier;
      d.reason->set_revision = set_revision;
    }
  };
  if (r.user.empty()) {  // anonymous: the record alone decides
    decide(nullptr, 0, ref.tier);
    return d;
  }
  const uint64_t hash = HashKey(r.tenant, r.user);
  if (l1_usable_.load(std::memory_order_acquire) &&
      cache_.Visit(hash, r.tenant, r.user, [&](const L1Cache::EntryView& e) {
        decide(&e.set, e.revision, CacheTier::kL1);
      })) {
    return d;
  }
  PERMCACHE_ASSIGN_OR_RETURN(SetRef set, GetSet(r.tenant, r.user));
  decide(set.set.get(), set.revision, set.tier);
  return d;
}

StatusOr<Decision> CheckerImpl::CheckElement(const CheckRequest& r, uint64_t applied) {
  PERMCACHE_ASSIGN_OR_RETURN(RecordRef<UiElementRecord> ref, GetElement(r.tenant, r.element));
  PERMCACHE_ASSIGN_OR_RETURN(SetRef set, GetSet(r.tenant, r.user));
  const UiVerdict v = DecideUiElement(*set.set, r.element, *ref.record);
  Decision d;
  d.allowed = v.allowed;
  d.revision = std::max({applied, set.revision, ref.record->revision});
  if (r.explain) {
    d.reason = ExplainUiElement(*set.set, v);
    d.reason->tier = set.tier;
    d.reason->set_revision = set.revision;
  }
  return d;
}

// ---- unlock, sidebar, listing ---------------------------------------------------------------------

StatusOr<UnlockResult> CheckerImpl::Unlock(const UnlockRequest& req, int64_t* retry_after_seconds) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", req.tenant));
  PERMCACHE_RETURN_IF_ERROR(ValidateId("resource", req.resource));
  if (req.password.empty()) return InvalidArgumentError("password is required");
  if (req.password.size() > kMaxPasswordBytes) {
    return InvalidArgumentError("password is longer than " + std::to_string(kMaxPasswordBytes) +
                                " bytes");
  }
  if (req.client.size() > kMaxClientBytes) return InvalidArgumentError("client is too long");
  // The store's record: the only copy with the password hash, and the freshest.
  StatusOr<ResourceRecord> loaded =
      FromStore([&] { return store_->LoadResource(req.tenant, req.resource); });
  if (!loaded.ok()) return loaded.status();
  const ResourceRecord& record = *loaded;
  if (!record.exists) {
    return NotFoundError("resource '" + std::string(req.resource) + "' does not exist in tenant '" +
                         std::string(req.tenant) + "'");
  }
  if (record.state != ResourceState::kRestricted) {
    return InvalidArgumentError("resource '" + std::string(req.resource) + "' is " +
                                std::string(ResourceStateName(record.state)) +
                                ", not restricted: there is nothing to unlock");
  }
  const std::string attempt = security::AttemptKey(req.client, req.tenant, req.resource);
  const int64_t now = clock_->WallMs();
  bool counted_remotely = false;
  if (const int64_t wait_ms = BeginUnlockAttempt(attempt, now, &counted_remotely); wait_ms > 0) {
    const int64_t seconds = (wait_ms + 999) / 1000;
    if (retry_after_seconds != nullptr) *retry_after_seconds = seconds;
    return ResourceExhaustedError("too many failed unlock attempts for this resource: retry in " +
                                  std::to_string(seconds) + " s");
  }
  if (!security::VerifyPassword(req.password, record.password_hash)) {
    return PermissionDeniedError("wrong password for resource '" + std::string(req.resource) + "'");
  }
  UnlockAttemptSucceeded(attempt, counted_remotely);
  PERMCACHE_ASSIGN_OR_RETURN(const std::string key, SigningKey());
  UnlockResult result;
  result.expires_at_ms = now + options_.resources.token_ttl.count();
  result.token = security::SignToken(
      {std::string(req.tenant), std::string(req.resource), record.version, result.expires_at_ms},
      key);
  return result;
}

int64_t CheckerImpl::BeginUnlockAttempt(const std::string& attempt, int64_t now_ms,
                                        bool* counted_remotely) {
  // Shared by every node through L2 when it answers; this node's own count otherwise (down, or
  // no L2): the limit then holds per node, never not at all.
  const security::AttemptLimits& limits = unlock_limiter_.limits();
  if (remote_ != nullptr && l2_usable_.load(std::memory_order_acquire)) {
    StatusOr<int64_t> wait = remote_->BeginAttempt(attempt, limits.max_failures, limits.window_ms);
    if (wait.ok()) {
      *counted_remotely = *wait == 0;
      return *wait;
    }
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return unlock_limiter_.Begin(attempt, now_ms);
}

void CheckerImpl::UnlockAttemptSucceeded(const std::string& attempt, bool counted_remotely) {
  if (counted_remotely) {
    if (!remote_->AttemptSucceeded(attempt).ok()) l2_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  unlock_limiter_.Succeeded(attempt);
}

StatusOr<UiAnswer> CheckerImpl::UiElements(std::string_view tenant, std::string_view user,
                                           std::span<const std::string> elements) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", tenant));
  PERMCACHE_RETURN_IF_ERROR(ValidateId("user", user));
  if (elements.size() > kMaxOpsPerWrite) {
    return InvalidArgumentError("at most " + std::to_string(kMaxOpsPerWrite) + " elements");
  }
  for (const std::string& e : elements) PERMCACHE_RETURN_IF_ERROR(ValidateId("elements", e));
  std::shared_ptr<const std::vector<std::string>> all;
  if (elements.empty()) {
    PERMCACHE_ASSIGN_OR_RETURN(all, GetElementList(tenant));
    elements = *all;
  }
  PERMCACHE_ASSIGN_OR_RETURN(SetRef set, GetSet(tenant, user));  // one set for every element
  UiAnswer answer;
  answer.revision = std::max(tracker_.applied(), set.revision);
  answer.elements.reserve(elements.size());
  for (const std::string& element : elements) {
    PERMCACHE_ASSIGN_OR_RETURN(RecordRef<UiElementRecord> ref, GetElement(tenant, element));
    answer.elements.emplace_back(element, DecideUiElement(*set.set, element, *ref.record).allowed);
    answer.revision = std::max(answer.revision, ref.record->revision);
  }
  return answer;
}

StatusOr<ResourceList> CheckerImpl::ListResources(const ResourceListRequest& req) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", req.tenant));
  if (!req.user.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("user", req.user));
  PERMCACHE_RETURN_IF_ERROR(ValidatePermission(req.permission));
  const std::string_view type = TypeOf(req.permission);
  if (!req.type.empty() && req.type != type) {
    return InvalidArgumentError("type '" + std::string(req.type) +
                                "' is not the type the permission names ('" + std::string(type) +
                                "')");
  }
  if (req.limit == 0 || req.limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be in 1.." + std::to_string(kMaxListLimit));
  }
  if (!req.cursor.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("cursor", req.cursor));
  SetRef set;
  if (!req.user.empty()) {
    PERMCACHE_ASSIGN_OR_RETURN(set, GetSet(req.tenant, req.user));
  }
  ResourceList out;
  out.revision = std::max(tracker_.applied(), set.revision);
  std::string after(req.cursor);
  size_t scanned = 0;
  while (scanned < kListScanBudget) {
    const size_t batch = std::min<size_t>(500, kListScanBudget - scanned);
    auto rows = FromStore([&] { return store_->ScanResources(req.tenant, type, after, batch); });
    if (!rows.ok()) return rows.status();
    for (const ResourceRow& row : *rows) {
      ++scanned;
      after = row.resource;
      ResourceRecord record;
      record.exists = true;
      record.type = row.type;
      record.owner = row.owner;
      record.state = row.state;
      const ResourceVerdict v = DecideResource(set.set.get(), req.user, row.resource, record,
                                               req.permission, /*token_valid=*/false);
      // Unlisted resources are reachable by link, not listed, except to owners and elevated.
      const bool listed = v.allowed && !(v.rule == ResourceRule::kPublic &&
                                         row.state == ResourceState::kUnlisted);
      if (!listed) continue;
      out.resources.push_back(row);
      if (out.resources.size() == req.limit) {
        out.next_cursor = row.resource;
        return out;
      }
    }
    if (rows->size() < batch) return out;  // the end of the tenant's resources
  }
  out.next_cursor = after;  // budget spent: the caller continues from here
  return out;
}

}  // namespace permcache
