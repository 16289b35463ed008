// Store: the seam to a persistent backend (SQLite file, PostgreSQL). The store is the truth;
// caches only hold what it said at a revision.
//
// Thread safety: every method may be called concurrently from any thread. Implementations
// serialize writes internally and let reads run in parallel.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "permcache/model.h"
#include "permcache/status.h"

namespace permcache {

// One policy reachable by a (tenant, user), with how it was reached.
struct Grant {
  std::string policy;
  Effect effect = Effect::kAllow;
  int32_t priority = 0;
  std::vector<std::string> permissions;
  std::string policy_scope;      // the policy's business unit, empty = none
  std::string assignment_scope;  // business unit of the role assignment, empty = none
  // Role chain, outermost (assigned) role first, joined by '>'; empty = direct user_policy.
  std::string role_path;
  // When the assignment this grant comes through counts (DESIGN §8); unbounded by default.
  Interval valid;
  bool operator==(const Grant&) const = default;
};

// A membership as the store has it (kNone, kActive, kSuspended, kPending) and, in a compiled
// set only, as it stands at the compile instant: an active membership outside its interval is
// kNotStarted or kExpired.
enum class MembershipState : uint8_t {
  kNone = 0,
  kActive = 1,
  kSuspended = 2,
  kPending = 3,     // not approved yet (seed 004)
  kNotStarted = 4,  // compiled: active, but before starts_at
  kExpired = 5,     // compiled: active, but at or after expires_at
};
inline std::string_view MembershipStateName(MembershipState m) {
  switch (m) {
    case MembershipState::kActive: return "active";
    case MembershipState::kSuspended: return "suspended";
    case MembershipState::kPending: return "pending";
    case MembershipState::kNotStarted: return "not_started";
    case MembershipState::kExpired: return "expired";
    case MembershipState::kNone: break;
  }
  return "none";
}

// Permissions (patterns) the user holds on one resource (put_resource_grant).
struct ResourceGrantRow {
  std::string resource;
  std::vector<std::string> permissions;
  Interval valid;
  bool operator==(const ResourceGrantRow&) const = default;
};

// A group the user is a member of (DESIGN §8), as the store has it.
struct GroupRow {
  std::string group;
  bool active = false;  // the group's status: active (else suspended)
  Interval valid;       // the group's interval
  bool operator==(const GroupRow&) const = default;
};

// Everything the engine needs to compile the permission set of one (tenant, user), read in
// one consistent snapshot at `revision`.
//
// Groups: an active group's roles become assignments whose role_path starts "group:G>" and
// its policies grants with role_path "group:G", each carrying the group's interval. The user's
// own membership decides when there is one (a suspended or pending one wins over any group);
// without one, an active group valid at the instant makes the user an active member "via" it
// (EffectiveMembershipAt).
struct UserGrants {
  MembershipState membership = MembershipState::kNone;  // kNone, kActive, kSuspended or kPending
  Interval membership_valid;  // when an active membership counts
  // Every group the user is a member of, sorted by id.
  std::vector<GroupRow> groups;
  // Empty unless the membership is active, or there is none and an active group exists.
  std::vector<Grant> grants;
  // Roles held through unscoped assignments, with every role they inherit (transitively):
  // sorted, unique. Empty unless membership is active. (UI elements' required_roles.)
  std::vector<std::string> roles;
  // Roles held only within an interval (a time-bound assignment, with what the role inherits),
  // in addition to `roles`. The compiler adds those valid at its instant.
  std::vector<std::pair<std::string, Interval>> bounded_roles;
  // The user's resource grants, sorted by resource. Empty unless membership is active.
  std::vector<ResourceGrantRow> resource_grants;
  uint64_t revision = 0;
};

// The first instant after `now_ms` at which any interval in `g` starts or ends (Interval::
// kNoExpiry when none): what was read stays the answer until then. Caches of `g` itself (L2)
// must not outlive it.
inline int64_t NextTransitionAfter(const UserGrants& g, int64_t now_ms) {
  int64_t next = g.membership_valid.NextTransitionAfter(now_ms);
  for (const GroupRow& x : g.groups) next = std::min(next, x.valid.NextTransitionAfter(now_ms));
  for (const Grant& x : g.grants) next = std::min(next, x.valid.NextTransitionAfter(now_ms));
  for (const auto& r : g.bounded_roles) next = std::min(next, r.second.NextTransitionAfter(now_ms));
  for (const ResourceGrantRow& x : g.resource_grants) {
    next = std::min(next, x.valid.NextTransitionAfter(now_ms));
  }
  return next;
}

// Does the store read the grants of `g` (whose membership and groups are filled)? With an
// active own membership, or with none and an active group; never for a suspended or pending
// own membership. Time does not enter: the compiler decides each instant.
inline bool GrantsCount(const UserGrants& g) {
  if (g.membership != MembershipState::kNone) return g.membership == MembershipState::kActive;
  return std::any_of(g.groups.begin(), g.groups.end(), [](const GroupRow& x) { return x.active; });
}

// The membership as it stands at `now_ms` (DESIGN §8).
struct EffectiveMembership {
  MembershipState state = MembershipState::kNone;
  // An active membership: when it stops counting; not started: when it starts.
  int64_t expires_at_ms = Interval::kNoExpiry;
  std::string_view via;  // the group it comes through, empty = the user's own (or none)
};
inline EffectiveMembership EffectiveMembershipAt(const UserGrants& g, int64_t now_ms) {
  const auto timed = [&](const Interval& valid, std::string_view via) -> EffectiveMembership {
    if (now_ms < valid.starts_at_ms) return {MembershipState::kNotStarted, valid.starts_at_ms, via};
    if (now_ms >= valid.expires_at_ms) return {MembershipState::kExpired, Interval::kNoExpiry, via};
    return {MembershipState::kActive, valid.expires_at_ms, via};
  };
  if (g.membership == MembershipState::kActive) return timed(g.membership_valid, "");
  if (g.membership != MembershipState::kNone) return {g.membership, Interval::kNoExpiry, ""};
  // Through a group: one valid now (the one lasting longest), else the next to start, else an
  // expired one, else a suspended one.
  const GroupRow* best = nullptr;
  int best_rank = 0;
  for (const GroupRow& x : g.groups) {
    const int rank = !x.active                   ? 1
                     : x.valid.Contains(now_ms)  ? 4
                     : now_ms < x.valid.starts_at_ms ? 3
                                                     : 2;
    const bool better =
        rank > best_rank ||
        (rank == best_rank && rank == 4 && x.valid.expires_at_ms > best->valid.expires_at_ms) ||
        (rank == best_rank && rank == 3 && x.valid.starts_at_ms < best->valid.starts_at_ms);
    if (better) best = &x, best_rank = rank;
  }
  if (best == nullptr) return {};
  if (best_rank == 1) return {MembershipState::kSuspended, Interval::kNoExpiry, best->group};
  return timed(best->valid, best->group);
}

// One resource as the decision needs it (DESIGN §7). `version` grows whenever state, password
// or owner change: unlock tokens carry it, so such a change revokes every token at once.
struct ResourceRecord {
  bool exists = false;
  std::string type, owner;
  ResourceState state = ResourceState::kPrivate;
  uint64_t version = 0;
  std::string password_hash;  // encoded KDF output, empty = no password
  uint64_t revision = 0;      // store revision the record was read at
};

// One UI element as the decision needs it. required_roles is a set (sorted);
// required_permissions keeps the written order.
struct UiElementRecord {
  bool exists = false;
  bool active = false;
  std::vector<std::string> required_roles, required_permissions;
  uint64_t revision = 0;
};

// A page of a tenant's resources in id order (listing).
struct ResourceRow {
  std::string resource, type, owner;
  ResourceState state = ResourceState::kPrivate;
  bool operator==(const ResourceRow&) const = default;
};

// Changelog keys name users or records. A record key sits where a user id would, as
// "resource:{id}" or "element:{id}": ids never contain ':', so the two spaces cannot collide,
// and every path that carries (tenant, user) keys (changelog, buses, catch-up) carries records.
inline constexpr std::string_view kResourceKeyPrefix = "resource:";
inline constexpr std::string_view kElementKeyPrefix = "element:";
inline std::string ResourceKey(std::string_view resource) {
  return std::string(kResourceKeyPrefix).append(resource);
}
inline std::string ElementKey(std::string_view element) {
  return std::string(kElementKeyPrefix).append(element);
}

// The (tenant, user) keys and tenants whose permissions a committed write may have changed.
struct ChangeSet {
  uint64_t revision = 0;
  std::vector<std::pair<std::string, std::string>> users;  // (tenant, user)
  std::vector<std::string> tenants;                        // every user of these tenants
  // Wall-clock commit time (ms since the Unix epoch) when known (set by the writing node and
  // carried by buses), 0 otherwise. Only used to measure invalidation lag.
  int64_t committed_at_ms = 0;
  // Every key of every tenant. Never written by a store; a node uses it when it cannot know
  // what changed (its changelog cursor was pruned away, the store was restored or failed over).
  bool everything = false;
};

// A push feed of "revision N is committed" from the store itself (PostgreSQL LISTEN/NOTIFY).
// It carries no keys: the changelog stays the truth, the feed only says when to read it.
// Destroying the feed stops and joins its thread; callbacks run on that thread.
class ChangeFeed {
 public:
  struct Callbacks {
    // A revision was committed (at least this one; notifications may be coalesced).
    std::function<void(uint64_t revision)> on_revision;
    // up = listening: every commit from now on will be announced. down = announcements may be
    // lost until the next up (the reader must not trust its cache meanwhile).
    std::function<void(bool up)> on_state;
    // The store's identity changed (restored backup, point-in-time recovery, promoted
    // replica): revisions may have been reused, so every cached answer must go.
    std::function<void()> on_epoch_change;
  };
  struct Stats {
    bool up = false;
    uint64_t notifications = 0;     // NOTIFY messages received
    uint64_t reconnects = 0;        // listener connections opened after the first
    uint64_t heartbeat_failures = 0;  // dead or half-open connections detected
    uint64_t epoch_changes = 0;     // store identity changes seen (restore, failover)
  };
  virtual ~ChangeFeed() = default;
  virtual Stats GetStats() const = 0;
};

// What Store::Reconcile found: rows of a derived table (PostgreSQL's user_effective_policies)
// that differ from a from-scratch recompute.
struct ReconcileReport {
  uint64_t missing = 0;  // rows the recompute has and the table lacks
  uint64_t extra = 0;    // rows the table has and the recompute does not
  bool fixed = false;    // the differences were applied
  std::vector<std::string> sample;  // the first differences, one readable line each
};

// Backend counters for metrics; zero where a backend has no such thing.
struct StoreStats {
  uint64_t connections_open = 0;     // pooled connections (idle + in use)
  uint64_t connections_in_use = 0;
  uint64_t connect_failures = 0;     // failed (re)connects
  // PostgreSQL: time this node's writes spent maintaining user_effective_policies inside
  // their transactions, and deferred windows applied by this node.
  double effective_maintenance_seconds = 0;
  uint64_t effective_windows_applied = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies `ops` atomically in one transaction that also bumps the revision and appends the
  // changelog. On any invalid op nothing is applied and the error (kInvalidArgument) names the
  // op index ("op 3: ..."). Returns the committed revision and the affected keys.
  virtual StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) = 0;

  // Reads the membership and every reachable grant of (tenant, user) in one snapshot.
  // Unknown tenant or user is not an error: membership kNone.
  virtual StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) = 0;

  // The resource (exists=false when unknown) and the UI element, each read in one snapshot
  // whose revision they carry.
  virtual StatusOr<ResourceRecord> LoadResource(std::string_view tenant,
                                                std::string_view resource) = 0;
  virtual StatusOr<UiElementRecord> LoadUiElement(std::string_view tenant,
                                                  std::string_view element) = 0;
  // Ids of the tenant's active UI elements, sorted (at most kMaxOpsPerWrite).
  virtual StatusOr<std::vector<std::string>> ListUiElements(std::string_view tenant) = 0;
  // Up to `limit` resources of `tenant` with id > `after`, in id order; `type` filters when not
  // empty.
  virtual StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view tenant,
                                                           std::string_view type,
                                                           std::string_view after,
                                                           size_t limit) = 0;
  // The key unlock tokens are signed with: 32 random bytes created once per store (so every
  // node on the store shares it with no configuration) and never changed. Concurrent first
  // calls (from any node) agree on one key.
  virtual StatusOr<std::string> TokenSigningKey() = 0;

  // The model (every tenant when `tenant` is empty). kNotFound when `tenant` does not exist.
  virtual StatusOr<Model> Export(std::string_view tenant) = 0;

  // The newest committed revision (0 for an empty store).
  virtual StatusOr<uint64_t> CurrentRevision() = 0;

  // Changelog entries with revision > `after`, oldest first, at most `limit` revisions.
  // Used by nodes to catch up on writes they did not make themselves.
  virtual StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) = 0;

  // The highest revision whose changelog entries were pruned (retention), 0 when none was. A
  // reader whose cursor is below it cannot catch up from the changelog and must drop its cache.
  virtual StatusOr<uint64_t> PrunedThrough() = 0;

  // Starts the store's push feed, or returns nullptr when the backend has none (SQLite: nodes
  // poll the changelog). REQUIRES: callbacks are set and outlive the feed.
  virtual std::unique_ptr<ChangeFeed> StartChangeFeed(ChangeFeed::Callbacks callbacks) {
    (void)callbacks;
    return nullptr;
  }

  // Recomputes the backend's derived tables from scratch and reports (with `fix`, also
  // repairs) every difference: the remedy when triggers were disabled or data was bulk-loaded
  // around them. kInvalidArgument for a backend without derived tables (SQLite).
  virtual StatusOr<ReconcileReport> Reconcile(bool fix) {
    (void)fix;
    return InvalidArgumentError(Describe() +
                                " keeps no derived tables (user_effective_policies is PostgreSQL's)");
  }

  // Counters for metrics (cheap, no I/O).
  virtual StoreStats GetStats() const { return {}; }

  // Cheap liveness probe.
  virtual Status Ping() = 0;

  // "sqlite:/path/file.db" or "postgres://host/db" (no password).
  virtual std::string Describe() const = 0;
};

// Opens a store from a URL: "sqlite:PATH" (file created if missing, migrations applied) or
// "postgres://..." / "postgresql://..." (schema migrated at open; docs/postgres.md).
// kInvalidArgument for an unknown scheme.
struct StoreOptions {
  // Changelog entries older than this are pruned (a node offline longer than this drops its
  // cache on return instead of catching up). Default 24 h; 0 = keep forever.
  std::chrono::milliseconds changelog_retention = std::chrono::hours(24);
};
StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options = {});

// `url` with any password replaced by "***" (in "user:PASSWORD@" and in password= query
// parameters), for messages and logs.
std::string RedactStoreUrl(std::string_view url);

}  // namespace permcache
