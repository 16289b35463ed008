// RedisServer: a real `redis-server` for integration tests, on a free loopback port chosen at
// runtime (`--port N --bind 127.0.0.1 --save "" --appendonly no --daemonize no`, optional
// `--requirepass`, optional Unix socket), with its working dir and log in a fresh temp dir.
// Waits until the server answers PING. Supports fault injection: SIGKILL, SIGSTOP/SIGCONT and a
// restart on the same port. The child gets PR_SET_PDEATHSIG so a crashed test never leaks it.
//
// Thread safety: not thread-safe; drive it from one test thread. port() and Url() may be read
// from any thread (they never change after Start()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "permcache/status.h"

namespace permcache::testing {

struct RedisServerOptions {
  // --requirepass when non-empty. Default "" (no password).
  std::string password;
  // Also listen on a Unix socket (unix_socket_path()). Default false.
  bool unix_socket = false;
  // Appended to the command line, e.g. {"--maxmemory", "10mb"}. Default none.
  std::vector<std::string> extra_args;
  // How long Start()/Restart() wait for PING. Default 10 s.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
  // The binaries. Defaults: "redis-server" and "redis-cli" from PATH.
  std::string server_binary = "redis-server";
  std::string cli_binary = "redis-cli";
};

class RedisServer {
 public:
  // Starts a server and waits until it answers PING (a NOAUTH error counts as an answer).
  // Retries with another port if the chosen one was taken meanwhile. kUnavailable with the
  // server's log tail when it does not come up.
  static StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});

  // Kills (SIGKILL) and reaps a running server, removes the temp dir.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  // "redis://127.0.0.1:PORT/0" (with ":PASSWORD@" when a password is set).
  std::string Url() const;
  // "" unless RedisServerOptions::unix_socket.
  const std::string& unix_socket_path() const { return unix_socket_path_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM, up to 5 s for a clean exit, then SIGKILL; reaps. OK when already stopped.
  Status Stop();
  // SIGKILL and reap: the server vanishes mid-request (no clean shutdown).
  Status Kill9();
  // SIGSTOP / SIGCONT: a frozen server that keeps its sockets open (commands time out).
  Status Pause();
  Status Resume();
  // Starts the server again on the same port (and socket), waits for PING. REQUIRES: stopped.
  Status Restart();

  // Runs `redis-cli -h 127.0.0.1 -p PORT [-a PASSWORD] ARGS...` and returns its stdout without
  // the final newline. kInternal when it cannot run or exits non-zero.
  StatusOr<std::string> Cli(const std::vector<std::string>& args) const;

  // The server's stdout/stderr so far (for failure messages).
  std::string Log() const;

 private:
  explicit RedisServer(RedisServerOptions options) : options_(std::move(options)) {}
  Status Launch();
  Status WaitReady();
  bool Reap(bool block);

  RedisServerOptions options_;
  std::string dir_;
  std::string unix_socket_path_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace permcache::testing
