// RedisCache: the Redis implementation of RemoteCache (include/permcache/remote_cache.h): the
// shared L2 cache of UserGrants under the seed-000 key "perms:{user}:{tenant}", race-free fills
// (Lua scripts + invalidation tombstones), and the cross-node invalidation bus (pub/sub).
// Formats, scripts and failure behaviour: docs/redis.md.
//
// Thread safety: every public method is thread-safe. Commands run on a small pool of blocking
// hiredis connections (one per concurrent caller, up to `pool_size` kept idle). Two threads are
// owned and joined by the destructor:
//   "reconnect"  started by Open(): while Redis is down, reconnects with capped exponential
//                backoff; callers fail fast meanwhile instead of each waiting for a timeout.
//   "bus"        started by StartBus(): a dedicated SUBSCRIBE connection; runs the callbacks.
// Callbacks must not call back into RedisCache's destructor; they may call its other methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cache/redis/keys.h"
#include "cache/redis/redis_config.h"
#include "common/thread_annotations.h"
#include "permcache/remote_cache.h"
#include "permcache/status.h"
#include "permcache/store.h"

struct redisReply;  // hiredis; kept out of this header

namespace permcache::redis {

class Connection;

class RedisCache final : public RemoteCache {
 public:
  // Connects (TCP or Unix socket, AUTH, SELECT, PING) and starts the reconnect thread.
  // Errors: kUnauthorized "redis AUTH failed: WRONGPASS ..." (wrong password) or NOAUTH (a
  // password is required); kInvalidArgument for a bad config, another AUTH error or SELECT;
  // kUnavailable when the server is unreachable and `require_connection_at_open` is true.
  static StatusOr<std::unique_ptr<RedisCache>> Open(RedisConfig config);

  // Stops and joins the bus and reconnect threads, closes every connection.
  ~RedisCache() override;
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  // --- RemoteCache ---------------------------------------------------------------------------
  // Errors are kUnavailable and bounded by `command_timeout` (immediately while the cache is
  // down). A stored value that does not parse counts as a miss (and is logged).
  StatusOr<std::optional<UserGrants>> Get(std::string_view tenant, std::string_view user) override;
  // TryPut, with a refusal reported as OK (a refused fill is not an error for the caller).
  Status Put(std::string_view tenant, std::string_view user, const UserGrants& grants) override;
  // Raises the tombstones of every (tenant, user) and tenant of `change` to change.revision,
  // deletes their entries (tenants by SCAN MATCH "perms:*:{tenant}", COUNT 500, UNLINK) and
  // PUBLISHes the change.
  Status InvalidateAndPublish(const ChangeSet& change) override;
  // InvalidateAndPublish without the PUBLISH.
  Status Invalidate(const ChangeSet& change) override;
  // Exactly one of: `all`; `pattern` (a glob in seed format that must start with "perms:", e.g.
  // "perms:42:*"; the key prefix/version is prepended); `tenant` and/or `user`. Else
  // kInvalidArgument. Tombstones (tenant, user, all) use the highest revision this node has
  // seen, so only fills older than that are refused; pattern deletes write no tombstone.
  StatusOr<uint64_t> AdminInvalidate(const AdminInvalidation& what) override;
  // Starts the "bus" thread once; later calls are ignored (logged). on_bus_state(false) is also
  // reported when the very first subscription attempt fails.
  void StartBus(std::function<void(const ChangeSet&)> on_change,
                std::function<void(const AdminInvalidation&)> on_admin,
                std::function<void(bool up)> on_bus_state) override;
  // Records: GET / the put script on the record keys (keys.h), the same tombstones as entries.
  // A value that does not parse is a miss (and logged). TTLs get the entries' jitter.
  StatusOr<std::optional<ResourceRecord>> GetResource(std::string_view tenant,
                                                      std::string_view resource) override;
  Status PutResource(std::string_view tenant, std::string_view resource,
                     const ResourceRecord& record, std::chrono::milliseconds ttl) override;
  StatusOr<std::optional<UiElementRecord>> GetElement(std::string_view tenant,
                                                      std::string_view element) override;
  Status PutElement(std::string_view tenant, std::string_view element,
                    const UiElementRecord& record, std::chrono::milliseconds ttl) override;
  // One counter per attempt key under "unlock-attempts:" (the attempt scripts, scripts.h).
  StatusOr<int64_t> BeginAttempt(std::string_view key, uint32_t max_failures,
                                 int64_t window_ms) override;
  Status AttemptSucceeded(std::string_view key) override;
  // Counters plus `keys` from DBSIZE (the whole selected db: a dedicated db gives exact
  // numbers; the last known value while Redis is down).
  // Stops and joins the "bus" thread (idempotent; the destructor calls it too).
  void StopBus() override;
  RemoteCacheStats Stats() const override;
  // "up" while the command connections work, "down" from the first failure until the reconnect
  // thread gets through again.
  std::string Health() const override;

  // --- Redis-specific ------------------------------------------------------------------------
  enum class PutOutcome {
    kStored,
    kRefusedInvalidated,  // a user/tenant/global tombstone is newer than grants.revision
    kRefusedNewer,        // the entry already holds a newer revision
  };
  // Stores `grants` unless that would install stale data (see PutOutcome); TTL `ttl` for an
  // active membership else `negative_ttl`, both with jitter.
  StatusOr<PutOutcome> TryPut(std::string_view tenant, std::string_view user,
                              const UserGrants& grants);

  // Batch helpers for batch checks: one MGET / one pipeline per 500 keys. Results are in input
  // order; nullopt = miss. All-or-nothing on connection errors.
  StatusOr<std::vector<std::optional<UserGrants>>> MultiGet(
      std::span<const std::pair<std::string, std::string>> tenant_users);
  struct PutItem {
    std::string tenant, user;
    UserGrants grants;
  };
  StatusOr<std::vector<PutOutcome>> MultiPut(std::span<const PutItem> items);

  const KeySchema& keys() const { return keys_; }
  const RedisConfig& config() const { return config_; }
  const std::string& node_id() const { return config_.node_id; }

 private:
  class Pool;

  explicit RedisCache(RedisConfig config);

  // Runs `fn(Connection&)` on a pooled connection, counting errors and reporting broken
  // connections to the pool; retries once on a fresh connection when a reused idle connection
  // turns out dead (e.g. after a quick server restart). Every `fn` must be idempotent.
  template <typename Fn>
  auto Run(Fn&& fn, bool count_errors = true) const -> decltype(fn(std::declval<Connection&>()));

  // The raw value under `key`: nullopt when absent.
  StatusOr<std::optional<std::string>> GetValue(const std::string& key, std::string_view op);
  // The record under `key`, decoded; a value that does not parse is a miss (logged).
  template <typename Record>
  StatusOr<std::optional<Record>> GetRecord(const std::string& key,
                                            StatusOr<Record> (*decode)(std::string_view));
  // The put script for a record: refused (OK) when a tombstone is newer than `revision`.
  Status PutRecord(std::string_view tenant, const std::string& record_key, uint64_t revision,
                   std::string value, std::chrono::milliseconds ttl);
  Status ScanDelete(Connection& conn, const std::string& pattern, uint64_t* deleted) const;
  Status InvalidateUserKeys(Connection& conn,
                            std::span<const std::pair<std::string, std::string>> tenant_users,
                            uint64_t revision, uint64_t* deleted) const;
  // Tombstones and deletes every key `change` affects.
  Status InvalidateChange(Connection& conn, const ChangeSet& change) const;
  Status RaiseTombstone(Connection& conn, const std::string& key, uint64_t revision) const;
  Status Publish(Connection& conn, const std::string& message) const;
  int64_t JitteredTtlMs(std::chrono::milliseconds base) const;
  void NoteRevision(uint64_t revision);
  void LogCommandError(const Status& status) const;

  void BusLoop();
  // One subscription: connect, SUBSCRIBE, deliver messages until the connection fails (error)
  // or the cache stops (OK). Sets *subscribed once SUBSCRIBE succeeded.
  Status RunSubscription(const std::function<void(bool)>& report, bool* subscribed);
  void HandleBusReply(const ::redisReply* reply);
  // Waits up to `timeout` for the stop signal; true when stopping.
  bool WaitForStop(std::chrono::milliseconds timeout);

  const RedisConfig config_;
  const KeySchema keys_;
  const int64_t tombstone_ttl_ms_;
  std::unique_ptr<Pool> pool_;

  // Relaxed: statistics counters; nothing is published through them.
  mutable std::atomic<uint64_t> hits_{0}, misses_{0}, errors_{0}, puts_{0}, puts_refused_stale_{0};
  mutable std::atomic<uint64_t> keys_count_{0}, bus_messages_{0};
  // Relaxed: the last time (steady ms) a non-fatal command error was logged, for rate limiting.
  mutable std::atomic<int64_t> last_error_log_ms_{0};
  // Relaxed: the highest revision seen (puts, invalidations, bus); only a lower bound used for
  // admin tombstones, so a slightly stale read is harmless.
  std::atomic<uint64_t> max_revision_seen_{0};

  // Bus thread state. The callbacks are written by StartBus before the thread starts and only
  // read by it afterwards (std::thread's constructor orders the two).
  std::mutex bus_mu_;
  std::thread bus_thread_ PERMCACHE_GUARDED_BY(bus_mu_);
  std::function<void(const ChangeSet&)> on_change_;
  std::function<void(const AdminInvalidation&)> on_admin_;
  std::function<void(bool)> on_bus_state_;
  // Release/acquire: the destructor sets it before waking the bus thread, which must then see
  // it and exit.
  std::atomic<bool> bus_stop_{false};
  // Release/acquire: written by the bus thread, read by Stats() on any thread.
  std::atomic<bool> bus_up_{false};
  int wake_fd_ = -1;  // eventfd: the destructor writes it to interrupt the bus thread's poll()
};

}  // namespace permcache::redis
