// RemoteCache: the optional shared second cache tier (L2, e.g. Redis) plus the invalidation bus
// that keeps many permcache nodes coherent. Nothing above this interface names a backend.
//
// L2 caches what the store said for a (tenant, user) — a UserGrants at a revision — so other
// nodes skip the store; each node compiles it into its own interned PermissionSet.
//
// Thread safety: every method is thread-safe. Callbacks run on the implementation's own
// subscriber thread; they must not block for long.
#pragma once

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

  virtual RemoteCacheStats Stats() const = 0;
  // "up" | "down"
  virtual std::string Health() const = 0;
};

}  // namespace permcache
