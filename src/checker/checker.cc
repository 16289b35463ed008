#include <algorithm>
#include <chrono>
#include <string>

#include "checker/checker_impl.h"
#include "common/hash.h"
#include "engine/compiler.h"
#include "invalidation/changelog.h"

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

Status ValidateInvalidate(const InvalidateRequest& r) {
  const bool record = !r.resource.empty() || !r.element.empty();
  const int forms = (r.all ? 1 : 0) + (!r.pattern.empty() ? 1 : 0) +
                    (!record && (!r.tenant.empty() || !r.user.empty()) ? 1 : 0) +
                    (!r.resource.empty() ? 1 : 0) + (!r.element.empty() ? 1 : 0);
  if (forms != 1) {
    return InvalidArgumentError(
        "give exactly one of: tenant+user, user, tenant, pattern, all, tenant+resource[+user], "
        "tenant+element");
  }
  if (record) {
    PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", r.tenant));
    if (!r.resource.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("resource", r.resource));
    if (!r.element.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("element", r.element));
    if (!r.element.empty() && !r.user.empty()) {
      return InvalidArgumentError("the element form takes no user");
    }
  }
  if (!r.pattern.empty()) {
    if (r.pattern.size() > 512) return InvalidArgumentError("pattern is longer than 512 chars");
    if (!r.pattern.starts_with("perms:")) {
      return InvalidArgumentError("pattern must match keys \"perms:{user}:{tenant}\" (start with \"perms:\")");
    }
  }
  if (!r.tenant.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", r.tenant));
  if (!r.user.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("user", r.user));
  return Status::Ok();
}

// The answer of `set` to `r`; the node has applied `applied`, the set was read at
// `set_revision` from `tier`, `age_ms` ago. Allocation-free unless r.explain.
Decision DecideFrom(const PermissionSet& set, const CheckRequest& r, uint64_t applied,
                    uint64_t set_revision, CacheTier tier, int64_t age_ms) {
  Decision d;
  d.allowed = set.Allowed(r.permission, r.scope);
  d.revision = std::max(applied, set_revision);
  if (r.explain) {
    d.reason = set.Explain(r.permission, r.scope);
    d.reason->tier = tier;
    d.reason->entry_age_ms = age_ms;
    d.reason->set_revision = set_revision;
  }
  return d;
}



}  // namespace

StatusOr<std::unique_ptr<Checker>> Checker::Open(const Options& options) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOptions(options));
  PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(options.store_url, options.store));
  return Open(options, std::move(store), nullptr);
}

StatusOr<std::unique_ptr<Checker>> Checker::Open(const Options& options,
                                                 std::unique_ptr<Store> store) {
  return Open(options, std::move(store), nullptr);
}

StatusOr<std::unique_ptr<Checker>> Checker::Open(const Options& options,
                                                 std::unique_ptr<Store> store,
                                                 std::unique_ptr<RemoteCache> remote) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOptions(options));
  if (store == nullptr) return InvalidArgumentError("store must not be null");
  // The cache starts empty, so every change up to now is already reflected in what it will load.
  PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, store->CurrentRevision());
  return std::unique_ptr<Checker>(
      new CheckerImpl(options, std::move(store), std::move(remote), revision));
}

CheckerImpl::CheckerImpl(const Options& options, std::unique_ptr<Store> store,
                         std::unique_ptr<RemoteCache> remote, uint64_t start_revision)
    : options_(options),
      store_(std::move(store)),
      remote_(std::move(remote)),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
      cache_(options.cache, clock_),
      resources_(options.resources.max_records),
      elements_(options.resources.max_records),
      element_lists_(options.resources.max_records / 16 + 1),
      unlock_limiter_({.max_failures = options.resources.unlock_max_failures,
                       .window_ms = options.resources.unlock_window.count()}),
      tracker_(store_.get(), start_revision,
               [this](const ChangeSet& change, RevisionTracker::Origin origin) {
                 ApplyChange(change, origin);
               }),
      wall_watch_(clock_) {
  tracker_.StartPolling(options_.changelog_poll_interval);
  if (remote_ != nullptr) {
    // L1 stays bypassed until a bus is subscribed: until then, other nodes' writes could
    // only reach us through the (slower) changelog poll.
    l1_usable_.store(false, std::memory_order_release);
    l2_usable_.store(remote_->Health() == "up", std::memory_order_release);
  }
  feed_ = store_->StartChangeFeed({
      .on_revision = [this](uint64_t revision) { OnFeedRevision(revision); },
      .on_state = [this](bool up) { OnBusState(Bus::kStoreFeed, up); },
      .on_epoch_change = [this] { OnStoreEpochChange(); },
  });
  if (feed_ != nullptr) l1_usable_.store(false, std::memory_order_release);  // until it is up
  // Always: besides the buses it watches the wall clock (WallClockWatch).
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  if (remote_ != nullptr) {
    remote_->StartBus([this](const ChangeSet& c) { OnBusChange(c); },
                      [this](const RemoteCache::AdminInvalidation& a) {
                        InvalidateLocal({a.tenant, a.user, a.pattern, a.all});
                      },
                      [this](bool up) { OnBusState(Bus::kRedis, up); });
  }
}

CheckerImpl::~CheckerImpl() {
  // Stop every thread that calls back into this object before its members go away.
  feed_.reset();  // joins the listener thread
  tracker_.StopPolling();
  {
    std::lock_guard<std::mutex> lock(l2_mu_);
    stopping_ = true;
  }
  l2_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // Join the bus thread while remote_ is still set: its callbacks may use remote_ (a gap's
  // catch-up re-invalidates L2). Only then destroy the remote cache.
  if (remote_ != nullptr) remote_->StopBus();
  remote_.reset();
}

// ---- loading ---------------------------------------------------------------------------------

StatusOr<UserGrants> CheckerImpl::ReadGrants(std::string_view tenant, std::string_view user,
                                             CacheTier* tier) {
  CheckerObserver* observer = options_.observer.get();
  const bool use_l2 = remote_ != nullptr && l2_usable_.load(std::memory_order_acquire);
  if (use_l2) {
    const auto start = std::chrono::steady_clock::now();
    auto got = remote_->Get(tenant, user);
    if (observer) observer->OnRemoteCacheRead(SecondsSince(start));
    if (got.ok() && got->has_value()) {
      l2_hits_.fetch_add(1, std::memory_order_relaxed);
      *tier = CacheTier::kL2;
      return std::move(**got);
    }
    // A miss or an L2 error: the store answers either way (never fail because of L2).
    (got.ok() ? l2_misses_ : l2_errors_).fetch_add(1, std::memory_order_relaxed);
  }
  auto grants = FromStore([&] { return store_->LoadGrants(tenant, user); });
  if (!grants.ok()) return grants.status();
  *tier = CacheTier::kStore;
  // Put refuses itself when the key was invalidated after grants->revision (no resurrection).
  if (use_l2 && !remote_->Put(tenant, user, *grants).ok()) {
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return grants;
}

StatusOr<L1Cache::Loaded> CheckerImpl::Load(std::string_view tenant, std::string_view user) {
  L1Cache::Loaded loaded;
  auto grants = ReadGrants(tenant, user, &loaded.tier);
  if (!grants.ok()) return grants.status();
  loaded.set = interner_.Intern(CompilePermissionSet(*grants, clock_->WallMs()));
  loaded.revision = grants->revision;
  return loaded;
}

StatusOr<CheckerImpl::SetRef> CheckerImpl::GetSet(std::string_view tenant,
                                                  std::string_view user) {
  StatusOr<L1Cache::Loaded> loaded =
      l1_usable_.load(std::memory_order_acquire)
          ? cache_.Load(HashKey(tenant, user), tenant, user, [&] { return Load(tenant, user); })
          : Load(tenant, user);
  if (!loaded.ok()) return loaded.status();
  return SetRef{std::move(loaded->set), loaded->revision, loaded->tier};
}

// ---- checks ------------------------------------------------------------------------------------

StatusOr<Decision> CheckerImpl::Check(const CheckRequest& r) {
  if (!r.resource.empty() || !r.element.empty()) [[unlikely]] {
    return CheckRecord(r);  // resource_checks.cc
  }
  // Hash and start fetching the index slot first: validation then runs while the (at a million
  // keys, likely uncached) slot is on its way. Hashing unvalidated bytes is harmless.
  const uint64_t hash = HashKey(r.tenant, r.user);
  cache_.PrefetchSlot(hash);
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
  Decision d;
  const bool use_l1 = l1_usable_.load(std::memory_order_acquire);
  if (use_l1) {
    const bool hit = cache_.Visit(hash, r.tenant, r.user, [&](const L1Cache::EntryView& e) {
      d = DecideFrom(e.set, r, applied, e.revision, CacheTier::kL1,
                     r.explain ? clock_->NowMs() - e.filled_at_ms : 0);
    });
    if (hit) return d;
  }
  PERMCACHE_ASSIGN_OR_RETURN(SetRef ref, GetSet(r.tenant, r.user));
  return DecideFrom(*ref.set, r, applied, ref.revision, ref.tier, 0);
}

void CheckerImpl::CheckBatch(std::span<const CheckRequest> requests,
                             std::span<BatchResult> results) {
  // Chunks of 16: enough independent lookups to hide DRAM latency, few enough that the
  // prefetched lines are still in L1/L2 when Visit reads them.
  constexpr size_t kChunk = 16;
  uint64_t hashes[kChunk];
  bool fast[kChunk];
  // One bounded wait for the whole batch, for the highest revision it asks for: waiting per
  // item would hold the caller (an HTTP IO thread) for N consistency timeouts.
  uint64_t wanted = 0;
  for (const CheckRequest& r : requests) wanted = std::max(wanted, r.at_least_revision);
  Status reached;
  if (wanted > tracker_.applied()) {
    reached = tracker_.WaitFor(wanted, options_.consistency_timeout);
    if (!reached.ok()) store_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  for (size_t base = 0; base < requests.size(); base += kChunk) {
    const size_t n = std::min(kChunk, requests.size() - base);
    const bool use_l1 = l1_usable_.load(std::memory_order_acquire);
    const uint64_t applied = tracker_.applied();
    // Phase 1: hash, and start fetching each key's index slot (no lock).
    for (size_t i = 0; i < n; ++i) {
      const CheckRequest& r = requests[base + i];
      fast[i] = use_l1 && !r.explain && r.at_least_revision <= applied && r.resource.empty() &&
                r.element.empty() && ValidateCheck(r).ok();
      if (!fast[i]) continue;
      hashes[i] = HashKey(r.tenant, r.user);
      cache_.PrefetchSlot(hashes[i]);
    }
    // Phase 2: the slots have arrived; start fetching the entries they point to.
    for (size_t i = 0; i < n; ++i) {
      if (fast[i]) cache_.PrefetchEntry(hashes[i]);
    }
    // Phase 3: decide from cache; anything else (a miss, explain, a revision wait, bad input)
    // takes the ordinary single-check path.
    for (size_t i = 0; i < n; ++i) {
      const CheckRequest& r = requests[base + i];
      BatchResult& out = results[base + i];
      if (r.at_least_revision > applied && !reached.ok()) {
        out.status = reached;  // the batch's one wait already failed: do not wait again
        continue;
      }
      if (fast[i] &&
          cache_.Visit(hashes[i], r.tenant, r.user, [&](const L1Cache::EntryView& e) {
            out.decision = DecideFrom(e.set, r, applied, e.revision, CacheTier::kL1, 0);
          })) {
        out.status = Status::Ok();
        continue;
      }
      StatusOr<Decision> d = Check(r);
      out.status = d.status();
      if (d.ok()) out.decision = std::move(d).value();
    }
  }
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
  const MembershipState state = ref.set->membership();
  info.active = state == MembershipState::kActive;
  info.status = std::string(MembershipStateName(state));
  if (const int64_t at = ref.set->membership_expires_at_ms(); at != Interval::kNoExpiry) {
    info.expires_at_ms = at;
  }
  if (!ref.set->membership_via().empty()) info.via = "group:" + ref.set->membership_via();
  return info;
}

// ---- model -----------------------------------------------------------------------------------

StatusOr<Model> CheckerImpl::ExportModel(std::string_view tenant) {
  if (!tenant.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", tenant));
  return store_->Export(tenant);
}

StatusOr<uint64_t> CheckerImpl::ImportModel(const Model& model) {
  std::vector<WriteOp> ops = ModelToOps(model);
  if (ops.empty()) return InvalidArgumentError("the model is empty: nothing to import");
  return Write(ops);
}

// ---- writes and invalidation ---------------------------------------------------------------

StatusOr<uint64_t> CheckerImpl::Write(std::span<const WriteOp> input) {
  // Passwords become hashes first: the store never sees a plaintext, and the slow KDF runs
  // outside the write lock. Validation first, so a bad batch costs no KDF time.
  PERMCACHE_RETURN_IF_ERROR(ValidateOps(input));
  // Only batches that carry a password are copied; the rest go to the store as they are.
  std::vector<WriteOp> hashed;
  std::span<const WriteOp> ops = input;
  if (std::any_of(input.begin(), input.end(), [](const WriteOp& op) { return op.password.has_value(); })) {
    PERMCACHE_ASSIGN_OR_RETURN(hashed, HashPasswords(input));
    ops = hashed;
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  const auto started = std::chrono::steady_clock::now();
  auto change = store_->Apply(ops);
  if (options_.observer != nullptr) options_.observer->OnStoreWrite(SecondsSince(started));
  if (!change.ok()) {
    if (change.status().code() != StatusCode::kInvalidArgument) {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    return change.status();
  }
  // L2 first, then L1: a fill that starts after the L1 invalidation then finds L2 either clean
  // or marked dirty (bypassed), never the entry this write made stale.
  if (remote_ != nullptr && !remote_->InvalidateAndPublish(*change).ok()) {
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
    MarkL2Dirty(change->revision - 1);
  }
  // Invalidate before returning: once the caller sees the revision, no check here answers from
  // older state. A gap (another node wrote in between) is caught up from the changelog.
  if (!tracker_.OnChange(*change).ok()) {
    // Our own keys are invalidated; the other writers' changes follow on the next catch-up.
    store_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return change->revision;
}

void CheckerImpl::ApplyChange(const ChangeSet& change, RevisionTracker::Origin origin) {
  if (change.everything) {
    // The node's own blind spot (pruned cursor, rebase): L2 was invalidated by the writers
    // themselves, and an epoch change clears it separately (OnStoreEpochChange).
    cache_.InvalidateAll();
    InvalidateAllRecords();
    return;
  }
  if (origin == RevisionTracker::Origin::kChangelog && remote_ != nullptr &&
      !remote_->Invalidate(change).ok()) {
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
    MarkL2Dirty(change.revision - 1);
  }
  for (const auto& [tenant, key] : change.users) {
    if (!InvalidateRecordKey(tenant, key)) cache_.InvalidateKey(tenant, key);
  }
  for (const auto& tenant : change.tenants) {
    cache_.InvalidateTenant(tenant);
    resources_.InvalidateTenant(tenant);
    elements_.InvalidateTenant(tenant);
    element_lists_.InvalidateTenant(tenant);
  }
  // With the store's feed, changes arrive through the changelog: commit -> applied here.
  if (origin == RevisionTracker::Origin::kChangelog && feed_ != nullptr) ObserveLag(change);
}

void CheckerImpl::ObserveLag(const ChangeSet& change) {
  if (change.committed_at_ms <= 0 || options_.observer == nullptr) return;
  options_.observer->OnInvalidationLag(
      static_cast<double>(std::max<int64_t>(0, WallClockMs() - change.committed_at_ms)) / 1e3);
}

void CheckerImpl::InvalidateAllRecords() {
  resources_.InvalidateAll();
  elements_.InvalidateAll();
  element_lists_.InvalidateAll();
}

uint64_t CheckerImpl::InvalidateLocal(const InvalidateRequest& r) {
  if (r.all) {
    const uint64_t n = cache_.InvalidateAll();
    return n + resources_.InvalidateAll() + elements_.InvalidateAll() +
           element_lists_.InvalidateAll();
  }
  // Record forms. Over the bus they travel as a record key in the user field (store.h).
  if (!r.resource.empty()) {
    const uint64_t n = resources_.Invalidate(r.tenant, r.resource);
    return n + (r.user.empty() ? 0 : cache_.InvalidateKey(r.tenant, r.user));
  }
  if (!r.element.empty()) {
    element_lists_.Invalidate(r.tenant, {});
    return elements_.Invalidate(r.tenant, r.element);
  }
  if (!r.tenant.empty() && !r.user.empty()) {
    if (r.user.starts_with(kResourceKeyPrefix)) {
      return resources_.Invalidate(r.tenant, r.user.substr(kResourceKeyPrefix.size()));
    }
    if (r.user.starts_with(kElementKeyPrefix)) {
      element_lists_.Invalidate(r.tenant, {});
      return elements_.Invalidate(r.tenant, r.user.substr(kElementKeyPrefix.size()));
    }
  }
  if (!r.pattern.empty()) return cache_.InvalidatePattern(r.pattern);
  if (!r.tenant.empty() && !r.user.empty()) return cache_.InvalidateKey(r.tenant, r.user);
  if (!r.user.empty()) return cache_.InvalidateUser(r.user);
  if (!r.tenant.empty()) return cache_.InvalidateTenant(r.tenant);
  return 0;
}

StatusOr<uint64_t> CheckerImpl::Invalidate(const InvalidateRequest& r) {
  PERMCACHE_RETURN_IF_ERROR(ValidateInvalidate(r));
  if (remote_ == nullptr) return InvalidateLocal(r);
  // L2 first, then L1 (as for writes): a check that misses L1 meanwhile must not refill it from
  // an L2 entry that is about to be deleted. AdminInvalidate also tells every other node.
  StatusOr<uint64_t> remote = uint64_t{0};
  if (!r.resource.empty() || !r.element.empty()) {
    // Records travel as record keys in the user field, which every node understands.
    const std::string key = r.resource.empty() ? ElementKey(r.element) : ResourceKey(r.resource);
    remote = remote_->AdminInvalidate({r.tenant, key, "", false});
    if (remote.ok() && !r.resource.empty() && !r.user.empty()) {
      auto user = remote_->AdminInvalidate({r.tenant, r.user, "", false});
      remote = user.ok() ? StatusOr<uint64_t>(*remote + *user) : user;
    }
  } else {
    remote = remote_->AdminInvalidate({r.tenant, r.user, r.pattern, r.all});
  }
  const uint64_t dropped = InvalidateLocal(r);
  if (!remote.ok()) {
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
    return UnavailableError("cleared " + std::to_string(dropped) +
                            " entries on this node, but not on the other nodes / L2: " +
                            remote.status().message());
  }
  return dropped + *remote;
}

// ---- L2 consistency and the bus --------------------------------------------------------------

void CheckerImpl::MarkL2Dirty(uint64_t from) {
  {
    std::lock_guard<std::mutex> lock(l2_mu_);
    l2_dirty_from_ = std::min(l2_dirty_from_, from);
    ++l2_dirty_generation_;
    l2_usable_.store(false, std::memory_order_release);
  }
  l2_cv_.notify_all();
}

Status CheckerImpl::ReplayIntoL2() {
  uint64_t from, generation;
  {
    std::lock_guard<std::mutex> lock(l2_mu_);
    from = l2_dirty_from_;
    generation = l2_dirty_generation_;
  }
  if (from != kL2Clean) {
    // Every change since `from` may have missed L2: tombstone and delete its keys again.
    PERMCACHE_RETURN_IF_ERROR(ForEachChangeSince(
        *store_, from, [this](const ChangeSet& change) { return remote_->Invalidate(change); }));
  }
  std::lock_guard<std::mutex> lock(l2_mu_);
  if (generation == l2_dirty_generation_) {  // nothing new went wrong meanwhile
    l2_dirty_from_ = kL2Clean;
    l2_usable_.store(true, std::memory_order_release);
  }
  return Status::Ok();
}

void CheckerImpl::MaintenanceLoop() {
  std::unique_lock<std::mutex> lock(l2_mu_);
  while (!stopping_) {
    l2_cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    const bool replay = !l2_usable_.load(std::memory_order_acquire);
    lock.unlock();
    // A wall-clock step forward may have carried cached sets past their next transition
    // without a wall-clock read on their hits (L1Cache::kWallSlackMs): drop them all.
    if (wall_watch_.SteppedForward()) cache_.InvalidateAll();
    if (replay && remote_ != nullptr && remote_->Health() == "up") {
      ReplayIntoL2().IgnoreError();  // retried next tick
    }
    uint64_t epoch = 0;
    bool bus_up = false;
    {
      std::lock_guard<std::mutex> bus(bus_mu_);
      epoch = bus_epoch_;
      bus_up = AnyBusUpLocked();
    }
    if (bus_up && !l1_usable_.load(std::memory_order_acquire) && tracker_.CatchUp().ok()) {
      // The bus is back and what it missed is applied: trust L1 again — unless the bus changed
      // state while we caught up (lost again: L1 must stay off; back again: next tick).
      std::lock_guard<std::mutex> bus(bus_mu_);
      if (bus_epoch_ == epoch && AnyBusUpLocked()) {
        l1_usable_.store(true, std::memory_order_release);
      }
    }
    lock.lock();
  }
}

void CheckerImpl::OnBusState(Bus bus, bool up) {
  bool any_up = false;
  {
    std::lock_guard<std::mutex> lock(bus_mu_);
    ++bus_epoch_;  // any catch-up started before this change may not re-enable L1
    (bus == Bus::kRedis ? redis_bus_up_ : feed_up_).store(up, std::memory_order_relaxed);
    any_up = AnyBusUpLocked();
    // Without any bus, other nodes' writes only arrive by polling: serve from L2/the store
    // rather than risk a stale L1 answer.
    if (!any_up) l1_usable_.store(false, std::memory_order_release);
  }
  // Flag first, then flush (which poisons in-flight fills).
  if (!any_up) {
    cache_.InvalidateAll();
    InvalidateAllRecords();
  }
  l2_cv_.notify_all();  // the maintenance thread re-enables L1 after catching up
}

void CheckerImpl::OnFeedRevision(uint64_t revision) {
  if (revision <= tracker_.applied()) return;  // our own write, or the poll got there first
  if (!tracker_.CatchUp().ok()) store_errors_.fetch_add(1, std::memory_order_relaxed);
}

void CheckerImpl::OnStoreEpochChange() {
  // Revisions may have been reused: no cursor or cached answer can be trusted. Flush first
  // (poisoning fills in flight), then restart the cursor at the store's head.
  if (remote_ != nullptr && !remote_->AdminInvalidate({"", "", "", /*all=*/true}).ok()) {
    l2_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!tracker_.Rebase().ok()) store_errors_.fetch_add(1, std::memory_order_relaxed);
}

void CheckerImpl::OnBusChange(const ChangeSet& change) {
  // Already applied (our own write echoed back, or the changelog poll got there first).
  if (change.revision <= tracker_.applied()) return;
  if (!tracker_.OnChange(change).ok()) store_errors_.fetch_add(1, std::memory_order_relaxed);
  bus_applied_.fetch_add(1, std::memory_order_relaxed);
  ObserveLag(change);
}

// ---- stats -------------------------------------------------------------------------------------

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
  out.applied_revision = tracker_.applied();
  out.newest_seen_revision = std::max(tracker_.newest_seen(), out.applied_revision);
  out.catch_ups = tracker_.catch_ups();
  out.store_errors = store_errors_.load(std::memory_order_relaxed);
  out.l1_enabled = l1_usable_.load(std::memory_order_acquire);
  out.bus_up = redis_bus_up_.load(std::memory_order_relaxed);
  out.store = store_->GetStats();
  const auto res = resources_.GetStats();
  const auto el = elements_.GetStats();
  out.resource_records = res.entries;
  out.resource_record_hits = res.hits;
  out.resource_record_misses = res.misses;
  out.element_records = el.entries;
  out.element_record_hits = el.hits;
  out.element_record_misses = el.misses;
  out.record_invalidations = res.invalidations + el.invalidations;
  out.record_stale_installs_refused = res.stale_installs_refused + el.stale_installs_refused;
  out.record_l2_hits = record_l2_hits_.load(std::memory_order_relaxed);
  out.record_l2_misses = record_l2_misses_.load(std::memory_order_relaxed);
  if (feed_ != nullptr) {
    ChangeFeed::Stats f = feed_->GetStats();
    out.store_feed_enabled = true;
    out.store_feed_up = f.up;
    out.store_feed_notifications = f.notifications;
    out.store_feed_reconnects = f.reconnects;
    out.store_feed_heartbeat_failures = f.heartbeat_failures;
    out.store_feed_epoch_changes = f.epoch_changes;
  }
  if (remote_ != nullptr) {
    RemoteCacheStats r = remote_->Stats();
    out.l2_enabled = true;
    out.l2_up = l2_usable_.load(std::memory_order_acquire) && r.connected;
    out.l2_hits = l2_hits_.load(std::memory_order_relaxed);
    out.l2_misses = l2_misses_.load(std::memory_order_relaxed);
    out.l2_errors = l2_errors_.load(std::memory_order_relaxed) + r.errors;
    out.l2_keys = r.keys;
    out.l2_puts_refused_stale = r.puts_refused_stale;
    out.bus_messages_received = r.bus_messages_received;
    out.bus_messages_applied = bus_applied_.load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace permcache
