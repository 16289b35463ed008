// RemoteCache: the optional shared second cache tier (L2, e.g. Redis) plus the invalidation bus
// that keeps many permcache nodes coherent. Nothing above this interface names a backend.
//
// L2 caches what the store said for a (tenant, user) — a UserGrants at a revision — so other
// nodes skip the store; each node compiles it into its own interned PermissionSet. It also
// caches resource and UI element records (DESIGN §7) and counts failed unlock attempts for
// every node.
//
// Thread safety: every method is thread-safe. Callbacks run on the implementation's own
// subscriber thread; they must not block for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache {

struct RemoteCacheStats {
  uint64_t hits = 0, misses = 0, errors = 0, puts = 0, puts_refused_stale = 0;
  uint64_t keys = 0;  // approximate (DBSIZE-style) when available
  uint64_t bus_messages_received = 0;
  bool connected = false;
  bool bus_connected = false;
};

class RemoteCache {
 public:
  virtual ~RemoteCache() = default;

  // The cached grants of (tenant, user): nullopt on a miss, kUnavailable when the backend is
  // down or slow (callers then go to the store).
  virtual StatusOr<std::optional<UserGrants>> Get(std::string_view tenant,
                                                  std::string_view user) = 0;

  // Stores `grants` (read at grants.revision) unless the key was invalidated at a later
  // revision (no stale resurrection). Entries without an active membership use the shorter
  // negative TTL.
  virtual Status Put(std::string_view tenant, std::string_view user, const UserGrants& grants) = 0;

  // Deletes the keys `change` affects, records the invalidation revision so that older fills are
  // refused, and publishes `change` on the bus for other nodes.
  virtual Status InvalidateAndPublish(const ChangeSet& change) = 0;

  // The same without publishing: for changes a node learned from the store's changelog (their
  // writer may have failed to reach the cache), so L2 heals without a message storm.
  virtual Status Invalidate(const ChangeSet& change) = 0;

  // Admin invalidation: deletes matching keys (SCAN MATCH in batches, never KEYS) and publishes
  // it to every node. Returns the number of keys deleted.
  struct AdminInvalidation {
    std::string tenant, user, pattern;
    bool all = false;
  };
  virtual StatusOr<uint64_t> AdminInvalidate(const AdminInvalidation& what) = 0;

  // Starts the bus subscriber. `on_change` gets every change published by any node (including
  // this one); `on_admin` every admin invalidation; `on_bus_state` true when subscribed, false
  // when the subscription is lost (the caller must then flush its L1 and catch up).
  virtual void StartBus(std::function<void(const ChangeSet&)> on_change,
                        std::function<void(const AdminInvalidation&)> on_admin,
                        std::function<void(bool up)> on_bus_state) = 0;

  // Stops and joins the bus subscriber (idempotent): no callback runs once it returns. Called by
  // the owner before it destroys what the callbacks touch.
  virtual void StopBus() = 0;

  // ---- records (resources and UI elements) --------------------------------------------------
  // One small value per record, invalidated by the same changes as the entries (a record's
  // changelog key, store.h) and filled under the same rule: a put read at a revision older than
  // the record's, its tenant's or a global invalidation is refused. Stored without the password
  // hash (unlock reads the store). A backend without a record tier keeps these defaults: every
  // get misses and puts are dropped.
  virtual StatusOr<std::optional<ResourceRecord>> GetResource(std::string_view /*tenant*/,
                                                              std::string_view /*resource*/) {
    return std::optional<ResourceRecord>();
  }
  virtual Status PutResource(std::string_view /*tenant*/, std::string_view /*resource*/,
                             const ResourceRecord& /*record*/, std::chrono::milliseconds /*ttl*/) {
    return Status::Ok();
  }
  virtual StatusOr<std::optional<UiElementRecord>> GetElement(std::string_view /*tenant*/,
                                                              std::string_view /*element*/) {
    return std::optional<UiElementRecord>();
  }
  virtual Status PutElement(std::string_view /*tenant*/, std::string_view /*element*/,
                            const UiElementRecord& /*record*/, std::chrono::milliseconds /*ttl*/) {
    return Status::Ok();
  }

  // ---- unlock attempts shared by every node (DESIGN §7 brute-force limit) -------------------
  // Counts one attempt for `key` in a window of `window_ms` from its first counted failure:
  // returns 0, or, when `max_failures` are already counted, the ms until the window ends
  // (nothing counted). kUnavailable when the backend is down or has no counter (callers then
  // count on their own node).
  virtual StatusOr<int64_t> BeginAttempt(std::string_view /*key*/, uint32_t /*max_failures*/,
                                         int64_t /*window_ms*/) {
    return UnavailableError("no shared attempt counter");
  }
  // The attempt begun for `key` succeeded: it does not count.
  virtual Status AttemptSucceeded(std::string_view /*key*/) {
    return UnavailableError("no shared attempt counter");
  }

  virtual RemoteCacheStats Stats() const = 0;
  // "up" | "down"
  virtual std::string Health() const = 0;
};

}  // namespace permcache
