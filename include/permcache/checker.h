// Checker: start here. The embedded permcache API: open a store, check permissions in-process
// (tens of nanoseconds on an L1 hit), write the model with precise, race-free cache
// invalidation, and administer the cache.
//
//   permcache::Options opts;
//   opts.store_url = "sqlite:/var/lib/permcache.db";
//   auto checker = permcache::Checker::Open(opts);
//   auto d = (*checker)->Check({.tenant = "t1", .user = "jane", .permission = "assets:read"});
//   if (d.ok() && d->allowed) { ... }
//
// Thread safety: every method may be called concurrently from any number of threads.
// Guarantee: once Write() returns revision r, no Check() on this Checker answers from state
// older than r. Any error on the decision path is returned as a non-OK status (callers must
// treat it as deny); a Checker never answers allowed=true unless the store would.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/decision.h"
#include "permcache/model.h"
#include "permcache/options.h"
#include "permcache/remote_cache.h"
#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache {

// The effective allow/deny patterns of a (tenant, user).
struct EffectivePermissions {
  std::vector<std::string> permissions;  // allow patterns of unscoped rules
  std::vector<std::string> denied;       // deny patterns of unscoped rules
  // Per business unit: patterns that only apply when a check names that unit.
  struct Scoped {
    std::string business_unit;
    std::vector<std::string> permissions, denied;
  };
  std::vector<Scoped> scoped;
  uint64_t revision = 0;
};

struct MembershipInfo {
  bool active = false;
  // "active" | "suspended" | "pending" | "not_started" | "expired" | "none" (DESIGN §8)
  std::string status;
  uint64_t revision = 0;
  // An active membership: when it stops counting; not started: when it starts. Unset = never.
  std::optional<int64_t> expires_at_ms;
  // "group:G" when the membership comes through group G (the user has none of their own),
  // empty otherwise.
  std::string via;
};

// What to drop from the cache. Exactly one form is used:
//   tenant+user, user (every tenant), tenant (every user), pattern (glob over the key
//   "perms:{user}:{tenant}", e.g. "perms:42:*"), or all.
// Record forms (DESIGN §7): tenant+resource (the resource's record; with user, that user's set
// too) and tenant+element.
struct InvalidateRequest {
  std::string tenant, user, pattern;
  bool all = false;
  std::string resource, element;
};

// POST /v1/resources/unlock. `client` identifies the caller for the brute-force limit (the HTTP
// server passes the peer address).
struct UnlockRequest {
  std::string_view tenant, resource, password, client;
};
struct UnlockResult {
  std::string token;
  int64_t expires_at_ms = 0;  // Unix ms
};

// The UI sidebar: each element's answer from one compiled set.
struct UiAnswer {
  std::vector<std::pair<std::string, bool>> elements;  // in the asked (or id) order
  uint64_t revision = 0;
};

// GET /v1/tenants/{t}/resources: the resources `user` may access with `permission`.
struct ResourceListRequest {
  std::string_view tenant, user, permission, type;  // user empty = anonymous; type optional
  size_t limit = 100;          // 1..1000
  std::string_view cursor;     // from a previous page's next_cursor; empty = first page
};
struct ResourceList {
  std::vector<ResourceRow> resources;
  std::string next_cursor;  // empty = no more pages
  uint64_t revision = 0;
};

struct CacheStats {
  uint64_t entries = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;       // removed to respect max_entries / max_bytes
  uint64_t expirations = 0;     // removed because their TTL passed
  uint64_t invalidations = 0;   // entries removed by writes or admin invalidation
  uint64_t stale_installs_refused = 0;
  uint64_t fills = 0;           // store reads made to fill the cache
  uint64_t single_flight_waits = 0;  // misses that waited on another thread's fill
  uint64_t memory_bytes = 0;    // entries + keys + index
  uint64_t distinct_sets = 0;   // interned permission sets alive
  uint64_t set_bytes = 0;       // bytes held by those sets
  uint64_t applied_revision = 0;
  uint64_t store_errors = 0;    // failed store reads/writes/catch-ups (fail closed)
  uint64_t catch_ups = 0;       // changelog catch-ups that found revisions to apply
  uint64_t newest_seen_revision = 0;  // bus lag = newest_seen_revision - applied_revision
  // L2 (remote cache) and bus; all zero / false when no remote cache is configured.
  bool l2_enabled = false;
  bool l2_up = false;           // reachable and consistent (every change re-applied)
  bool l1_enabled = true;       // false while no configured bus is up (checks bypass L1)
  bool bus_up = false;          // the Redis bus is subscribed
  uint64_t l2_hits = 0, l2_misses = 0, l2_errors = 0, l2_keys = 0, l2_puts_refused_stale = 0;
  uint64_t bus_messages_received = 0, bus_messages_applied = 0;
  // Resource and UI element record caches (DESIGN §7).
  uint64_t resource_records = 0, resource_record_hits = 0, resource_record_misses = 0;
  uint64_t element_records = 0, element_record_hits = 0, element_record_misses = 0;
  uint64_t record_invalidations = 0, record_stale_installs_refused = 0;
  uint64_t record_l2_hits = 0, record_l2_misses = 0;  // records found / not found in L2
  // The store's own change feed (PostgreSQL LISTEN/NOTIFY); all zero / false without one.
  bool store_feed_enabled = false;
  bool store_feed_up = false;
  uint64_t store_feed_notifications = 0, store_feed_reconnects = 0,
           store_feed_heartbeat_failures = 0, store_feed_epoch_changes = 0;
  // The store backend's own counters (StoreStats).
  StoreStats store;
  double hit_rate() const {
    return hits + misses == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(hits + misses);
  }
};

// One answer of CheckBatch: `decision` is meaningful when `status` is OK.
struct BatchResult {
  Status status;
  Decision decision;
};

class Checker {
 public:
  // Opens the store named by options.store_url.
  static StatusOr<std::unique_ptr<Checker>> Open(const Options& options);
  // Uses an already opened store (tests, embedding with a custom Store).
  static StatusOr<std::unique_ptr<Checker>> Open(const Options& options,
                                                 std::unique_ptr<Store> store);
  // With a shared second cache tier and invalidation bus (e.g. Redis). The Checker starts the
  // bus; while the bus is down it bypasses L1, and while the remote cache is down or may have
  // missed an invalidation it bypasses L2 (checks then go to the store).
  static StatusOr<std::unique_ptr<Checker>> Open(const Options& options,
                                                 std::unique_ptr<Store> store,
                                                 std::unique_ptr<RemoteCache> remote);
  virtual ~Checker() = default;

  // May (tenant, user) do `permission` (in business unit `scope`)? kInvalidArgument for a bad
  // id or a permission with '*'; kUnavailable when the store is needed and down, or when
  // at_least_revision cannot be reached within the consistency timeout.
  virtual StatusOr<Decision> Check(const CheckRequest& request) = 0;

  // Checks requests[i] into results[i]. REQUIRES: results.size() == requests.size(). Same answers
  // as Check() on each (errors per item); L1 hits of a batch overlap their memory accesses
  // (prefetching), so at millions of cached keys a batch is several times faster than as many
  // single checks. Allocation-free on L1 hits.
  virtual void CheckBatch(std::span<const CheckRequest> requests,
                          std::span<BatchResult> results) = 0;

  // Applies `ops` atomically; returns the new revision after invalidating the affected keys.
  virtual StatusOr<uint64_t> Write(std::span<const WriteOp> ops) = 0;

  // Exchanges a restricted resource's password for an unlock token (DESIGN §7). A wrong password
  // is kPermissionDenied; past the brute-force limit kResourceExhausted, with the seconds until
  // an attempt may be made again in *retry_after_seconds (then even a right password is refused).
  virtual StatusOr<UnlockResult> Unlock(const UnlockRequest& request,
                                        int64_t* retry_after_seconds) = 0;

  // The answers for `elements` (every active element of the tenant when empty).
  virtual StatusOr<UiAnswer> UiElements(std::string_view tenant, std::string_view user,
                                        std::span<const std::string> elements) = 0;

  // One page of the resources the user may access (unlisted ones only to owner and elevated).
  virtual StatusOr<ResourceList> ListResources(const ResourceListRequest& request) = 0;

  virtual StatusOr<EffectivePermissions> Permissions(std::string_view tenant,
                                                     std::string_view user) = 0;
  virtual StatusOr<MembershipInfo> Membership(std::string_view tenant, std::string_view user) = 0;

  // The model as stored (all tenants when empty).
  virtual StatusOr<Model> ExportModel(std::string_view tenant) = 0;
  // Merges `model` atomically (puts only); returns the new revision.
  virtual StatusOr<uint64_t> ImportModel(const Model& model) = 0;

  // Drops matching cache entries on this node; returns how many were dropped.
  virtual StatusOr<uint64_t> Invalidate(const InvalidateRequest& request) = 0;

  virtual CacheStats Stats() const = 0;
  // The highest revision whose invalidations this node has applied.
  virtual uint64_t AppliedRevision() const = 0;
  // Probes the store.
  virtual Status StoreHealth() = 0;
  virtual std::string StoreDescription() const = 0;

};

}  // namespace permcache
