// PermcacheServer: starts the real `permcache serve` binary ($PERMCACHE_BIN, set by
// permcache_add_test) on 127.0.0.1 port 0 with its own SQLite file in a fresh temp dir, parses
// the port from its "listening on HOST:PORT" line, and waits (polling GET /healthz against a
// deadline, no fixed sleeps) until it accepts requests. Stops it with SIGTERM on destruction.
// Also: RunPermcache() runs a CLI subcommand to completion.
//
// Thread safety: not thread-safe; one owner thread per object.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/http_client.h"
#include "permcache/status.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace permcache::testing {

// $PERMCACHE_BIN, or kNotFound when it is not set.
StatusOr<std::string> PermcacheBinary();

struct PermcacheServerOptions {
  // --admin-token; "" = none. PERMCACHE_ADMIN_TOKEN is always removed from the child's env.
  std::string admin_token;
  bool demo = false;
  // --listen; default "127.0.0.1:0" (the server picks a free port and prints it).
  std::string listen = "127.0.0.1:0";
  // --store; "" = "sqlite:<temp dir>/permcache.db".
  std::string store_url;
  // --redis; "" = none. Hook for tests/support/redis_server.h (RedisServer::url()).
  std::string redis_url;
  // --threads; default 2 (the CI machines have 2 cores).
  int threads = 2;
  // Appended to the command line as is (e.g. {"--cache-ttl", "1s"}).
  std::vector<std::string> extra_args;
  // Deadline for "listening on" plus a healthy /healthz.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(15);
};

class PermcacheServer {
 public:
  // kNotFound without $PERMCACHE_BIN; kUnavailable when the server exited or did not become
  // healthy in time (the message carries its stderr).
  static StatusOr<std::unique_ptr<PermcacheServer>> Start(PermcacheServerOptions options = {});

  // Stops the server (SIGTERM, SIGKILL after 5 s) if still running.
  ~PermcacheServer();
  PermcacheServer(const PermcacheServer&) = delete;
  PermcacheServer& operator=(const PermcacheServer&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const;
  // "sqlite:<dir>/permcache.db" (or options.store_url).
  const std::string& store_url() const { return store_url_; }
  const TempDir& dir() const { return dir_; }
  Process& process() { return *process_; }

  // A new client for this server; `token` is sent as Bearer when not empty.
  std::unique_ptr<client::HttpClient> NewClient(const std::string& token = {}) const;

  // SIGTERM, then SIGKILL after `grace`; returns the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // The server's stdout and stderr so far (for failure messages).
  std::string Logs() const;

 private:
  PermcacheServer() = default;

  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::string host_;
  uint16_t port_ = 0;
  std::string store_url_;
};

// Polls GET `url`/healthz until it answers 200 or `timeout` passes.
Status WaitHealthy(const std::string& url, std::chrono::milliseconds timeout);

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `$PERMCACHE_BIN args...` to completion (at most `timeout`, then killed) with `stdin_text`
// on stdin and `env` added to the environment (PERMCACHE_URL and PERMCACHE_ADMIN_TOKEN are
// removed unless set in `env`).
CliResult RunPermcache(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& env = {},
                       const std::string& stdin_text = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace permcache::testing
