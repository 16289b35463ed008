// SqliteStore: the Store (include/permcache/store.h) on one SQLite file, the default backend.
// Several processes (2-3 permcache servers) may share one file: WAL journal, a 5 s busy
// timeout, and every write a BEGIN IMMEDIATE transaction that reads and bumps the store-wide
// revision, so revisions form one strict sequence across all of them.
//
// Thread safety: every method is thread-safe. Writes (Apply, and TokenSigningKey's first call)
// go through one write connection behind a mutex; reads (LoadGrants, LoadResource, Export,
// ChangesSince, ...) lease a connection from a pool and run in parallel with each other and
// with the writer (WAL).
// Each read runs in one read transaction, so what it returns is one consistent snapshot.
//
// Schema, affected-key rules and limits: docs/store.md.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/store.h"
#include "store/op_applier.h"

namespace permcache::sqlite {

class Connection;

// The write rules live in store/op_applier.h (shared); this backend supplies their SQL.

// Retention runs inside every kPruneEvery-th write, deleting at most kPruneBatch revisions.
inline constexpr uint64_t kPruneEvery = 256;
inline constexpr int64_t kPruneBatch = 10'000;

// Idle read connections kept for reuse; more may be open while in use (one per concurrent
// reader), the surplus is closed when returned.
inline constexpr size_t kMaxIdleReaders = 16;

class SqliteStore final : public Store {
 public:
  // Opens (creating if missing) the SQLite file at `path` and migrates its schema.
  // kInvalidArgument for an empty path or a file from a newer permcache; kUnavailable when the
  // file cannot be opened or is locked for longer than the busy timeout.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(std::string_view path,
                                                     const StoreOptions& options = {});

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) override;
  StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) override;
  StatusOr<ResourceRecord> LoadResource(std::string_view tenant,
                                        std::string_view resource) override;
  StatusOr<UiElementRecord> LoadUiElement(std::string_view tenant,
                                          std::string_view element) override;
  StatusOr<std::vector<std::string>> ListUiElements(std::string_view tenant) override;
  StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view tenant, std::string_view type,
                                                   std::string_view after, size_t limit) override;
  // meta 'token_signing_key'; created through the write connection on first use.
  StatusOr<std::string> TokenSigningKey() override;
  StatusOr<Model> Export(std::string_view tenant) override;
  StatusOr<uint64_t> CurrentRevision() override;
  StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) override;
  StatusOr<uint64_t> PrunedThrough() override;
  Status Ping() override;
  std::string Describe() const override;  // "sqlite:PATH"

 private:
  class ReadLease;

  SqliteStore(std::string path, std::unique_ptr<Connection> writer, StoreOptions options);

  // A read connection with an open read transaction (BEGIN + first read = one snapshot). The
  // lease ends the transaction and returns the connection to the pool when destroyed.
  StatusOr<ReadLease> BeginRead();
  void ReturnReader(std::unique_ptr<Connection> conn);

  const std::string path_;
  const StoreOptions options_;

  // The PERMCACHE_GUARDED_BY annotations are spelled as comments: std::mutex is not a clang
  // "capability" type under libstdc++, so annotating with it would itself warn under
  // -Wthread-safety. Switch to common's annotated Mutex once it exists.
  std::mutex write_mu_;
  const std::unique_ptr<Connection> writer_;  // GUARDED_BY(write_mu_): the one write connection

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // GUARDED_BY(pool_mu_)
};

}  // namespace permcache::sqlite
