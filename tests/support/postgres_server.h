// PostgresServer: a real PostgreSQL 15 for integration tests, on a free loopback port chosen at
// runtime, with its data directory, socket and log in a fresh temp dir.
//
// initdb is slow (~1 s on 2 cores), so the first server of a machine initdb's a template data
// directory once (under $TMPDIR, guarded by a lock file) and every server copies it. `initdb`
// and `postgres` refuse to run as root: when the tests run as root (as CI does) both run as
// the `postgres` OS user (setuid in the forked child, so pid() is the postmaster's own PID).
//
// Authentication: local socket trust, TCP scram-sha-256 with user `postgres` and password
// kPassword, so tests can also exercise a wrong password. Functional-test settings
// (fsync=off, synchronous_commit=off) unless PostgresServerOptions::durable.
//
// Thread safety: not thread-safe; drive it from one test thread. port() and the Url* helpers
// may be read from any thread (they never change after Start()). Exec() is thread-safe (one
// connection per call).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "permcache/status.h"

namespace permcache::testing {

struct PostgresServerOptions {
  // Extra `-c name=value` settings, e.g. {"max_connections=50"}. Default none.
  std::vector<std::string> settings;
  // fsync and synchronous_commit on (for benchmarks and durability tests). Default false.
  bool durable = false;
  // How long Start()/Restart() wait for the server to accept connections. Default 30 s.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
};

class PostgresServer {
 public:
  static constexpr const char* kPassword = "pc-test-secret";

  // Starts a server and waits until it accepts connections. kUnavailable with the log tail
  // when it does not come up (or PostgreSQL 15 is not installed).
  static StatusOr<std::unique_ptr<PostgresServer>> Start(PostgresServerOptions options = {});

  // Kills (SIGKILL) the postmaster, reaps it and removes the temp dir.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // "postgres://postgres:PASSWORD@127.0.0.1:PORT/DB".
  std::string Url(const std::string& db = "postgres") const;
  // A libpq conninfo string for `db` ("host=127.0.0.1 port=... user=postgres password=...").
  std::string ConnInfo(const std::string& db = "postgres") const;

  // CREATE DATABASE `name` (a fresh, empty database). kInternal on failure.
  Status CreateDatabase(const std::string& name) const;
  // A fresh database with a unique name; returns the name.
  StatusOr<std::string> NewDatabase() const;

  // Runs `sql` (one or more statements, simple query protocol) in `db` on a new connection.
  // Returns the rows of the last statement: columns joined by '|', rows by '\n' (NULL as "").
  // kInternal with the server's message when it fails.
  StatusOr<std::string> Exec(const std::string& db, const std::string& sql) const;

  // SIGINT (fast shutdown), waits for exit.
  Status Stop();
  // SIGKILL on the postmaster (backends exit on postmaster death; shared memory is reclaimed on
  // the next start).
  Status Kill9();
  // Immediate shutdown (SIGQUIT, like `pg_ctl restart -m immediate`), then starts again on the
  // same port and data directory (crash recovery runs).
  Status RestartImmediate();
  // Starts a stopped server again on the same port and data directory.
  Status Restart();

  // The server log so far (tail), for failure messages.
  std::string Log() const;

 private:
  explicit PostgresServer(PostgresServerOptions options) : options_(std::move(options)) {}
  Status Launch();
  Status WaitReady();
  bool Reap(bool block);
  Status Signal(int sig, std::chrono::milliseconds wait);

  PostgresServerOptions options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// A server shared by every test of one test binary (started on first use, killed at exit).
// Tests that stop, kill or restart a server must start their own instead. Returns nullptr (and
// logs why) when it cannot start.
PostgresServer* SharedPostgres();

}  // namespace permcache::testing
