// PostgresStore: the Store (include/permcache/store.h) on PostgreSQL, the production backend
// (DESIGN §6, docs/postgres.md). Many permcache nodes, and other applications writing the
// tables directly, share one database.
//
// - Schema `permcache`, created and migrated at Open under an advisory lock.
// - Writes: one pipelined flight per batch (BEGIN; the ops' statements; pc_finish(); COMMIT),
//   READ COMMITTED. The database's triggers check the model's rules and record the changed
//   keys for every writer, permcache included; pc_finish() takes the revision lock, allocates
//   the revision in commit order, resolves keys to (tenant, user) and returns them.
// - Reads: one pipelined REPEATABLE READ READ ONLY transaction each, so the rows and the
//   revision come from one snapshot.
// - Connections: a pool of whole libpq connections (a PGconn serves one thread at a time),
//   statements prepared per connection; a broken connection is dropped and replaced; failed
//   connects back off (fail fast meanwhile) so a down server is not hammered.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"
#include "permcache/store.h"

namespace permcache::postgres {

class PgConnection;
struct PgRows;
struct PgStatement;

struct PostgresStoreOptions {
  // Connections open at most at once (idle ones are kept). Default 16.
  size_t max_connections = 16;
  // How long a caller waits for a connection when all are in use. Default 5 s.
  std::chrono::milliseconds acquire_timeout = std::chrono::seconds(5);
  // application_name of the pool's sessions (pg_stat_activity). Default "permcache".
  std::string application_name = "permcache";
};

class PostgresStore final : public Store {
 public:
  // Connects to `url` (postgres://... or postgresql://..., libpq's PG* environment variables
  // fill what it leaves out) and migrates the schema. kUnavailable when the server cannot be
  // reached (the message names the server without its password); kInvalidArgument for a
  // database migrated by a newer permcache.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                       const StoreOptions& store_options = {},
                                                       PostgresStoreOptions options = {});

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) override;
  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override;
  StatusOr<ResourceRecord> LoadResource(std::string_view tenant,
                                        std::string_view resource) override;
  StatusOr<UiElementRecord> LoadUiElement(std::string_view tenant,
                                          std::string_view element) override;
  StatusOr<std::vector<std::string>> ListUiElements(std::string_view tenant) override;
  StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view tenant, std::string_view type,
                                                   std::string_view after, size_t limit) override;
  // permcache.pc_secrets 'token_signing_key', inserted by the first node that asks.
  StatusOr<std::string> TokenSigningKey() override;
  StatusOr<Model> Export(std::string_view tenant) override;
  StatusOr<uint64_t> CurrentRevision() override;
  StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) override;
  StatusOr<uint64_t> PrunedThrough() override;
  // The LISTEN/NOTIFY feed (pg_listener.h) on a dedicated connection to the same server.
  std::unique_ptr<ChangeFeed> StartChangeFeed(ChangeFeed::Callbacks callbacks) override;
  // permcache.reconcile(fix): user_effective_policies against a from-scratch recompute.
  StatusOr<ReconcileReport> Reconcile(bool fix) override;
  StoreStats GetStats() const override;
  Status Ping() override;
  std::string Describe() const override;  // "postgres://user@host:port/db" (never a password)

  // The libpq connection string this store was opened with (contains the password: never log
  // it). For the LISTEN connection, which is not pooled.
  const std::string& conninfo() const { return conninfo_; }

 private:
  class Lease;

  PostgresStore(std::string conninfo, std::string redacted, StoreOptions store_options,
                PostgresStoreOptions options);
  // The background upkeep every node runs (each step is a no-op or leader-only in SQL):
  // applying deferred effective-table windows (every second) and changelog retention (every
  // minute). Failures are retried on the next round.
  void MaintenanceLoop();
  // A pooled connection, connecting (with backoff after failures) when none is idle.
  StatusOr<Lease> Acquire();
  void Release(std::unique_ptr<PgConnection> conn);
  StatusOr<std::unique_ptr<PgConnection>> Connect();
  // Runs a read-only batch on a pooled connection, retrying once on a fresh connection when
  // the pooled one was dead. Errors are prefixed with the server and `what`.
  StatusOr<std::vector<PgRows>> ReadPipeline(const std::vector<PgStatement>& batch,
                                             std::string_view what);

  const std::string conninfo_;
  const std::string redacted_;
  const StoreOptions store_options_;
  const PostgresStoreOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_ PERMCACHE_GUARDED_BY(mu_);
  size_t open_ PERMCACHE_GUARDED_BY(mu_) = 0;  // idle + leased + being connected
  // After a failed connect: callers fail fast until retry_after_, which doubles up to 2 s.
  std::chrono::steady_clock::time_point retry_after_ PERMCACHE_GUARDED_BY(mu_);
  std::chrono::milliseconds backoff_ PERMCACHE_GUARDED_BY(mu_){0};
  std::string last_connect_error_ PERMCACHE_GUARDED_BY(mu_);
  uint64_t connect_failures_ PERMCACHE_GUARDED_BY(mu_) = 0;
  // Relaxed: statistics. Microseconds, so an integer atomic suffices.
  std::atomic<uint64_t> effective_maintenance_us_{0};
  std::atomic<uint64_t> effective_windows_applied_{0};

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stopping_ PERMCACHE_GUARDED_BY(maintenance_mu_) = false;
  std::thread maintenance_;  // last: joined first by the destructor
};

}  // namespace permcache::postgres
