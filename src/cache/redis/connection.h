// Connection: one blocking hiredis connection with deadlines, plus reply helpers and the
// EVALSHA-with-EVAL-fallback script runner. The building block of the command pool and of the
// bus subscriber in redis_cache.cc.
//
// Thread safety: a Connection is used by one thread at a time (the pool hands it out
// exclusively). The free functions are thread-safe.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cache/redis/redis_config.h"
#include "cache/redis/scripts.h"
#include "permcache/status.h"

namespace permcache::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class Connection {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // Connects to the server of `config` (TCP or Unix socket), then AUTH (when a password is set),
  // SELECT (when db != 0) and PING, everything before `deadline`. Afterwards the socket timeout
  // is whatever budget is left (see SetTimeout). Errors:
  //   kUnavailable      network errors and timeouts (message names the address)
  //   kUnauthorized     "redis AUTH failed: WRONGPASS ..." or NOAUTH (a password is required)
  //   kInvalidArgument  other AUTH errors (e.g. a password for a server without one), SELECT
  static StatusOr<std::unique_ptr<Connection>> Open(const RedisConfig& config,
                                                    SteadyClock::time_point deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one command and waits for its reply (bounded by the socket timeout). A Redis error
  // reply is returned as a reply (type REDIS_REPLY_ERROR); kUnavailable means an I/O error or
  // timeout, after which the connection is broken() and must be discarded.
  StatusOr<ReplyPtr> Command(std::initializer_list<std::string_view> args);
  StatusOr<ReplyPtr> CommandArgv(std::span<const std::string_view> args);

  // Pipelining: Append N commands, then GetReply N times (one flush, one round trip).
  Status Append(std::span<const std::string_view> args);
  StatusOr<ReplyPtr> GetReply();

  // Sets the send/receive timeout of the socket (each read or write waits at most `timeout`).
  Status SetTimeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const { return timeout_; }

  bool broken() const { return broken_; }
  // For the subscriber's poll() loop. REQUIRES: !broken().
  redisContext* context() { return ctx_; }
  // Marks the connection unusable (e.g. after a protocol surprise).
  void MarkBroken() { broken_ = true; }
  // The I/O error as a kUnavailable status, and marks the connection broken.
  Status IoError(std::string_view op);

 private:
  explicit Connection(redisContext* ctx, std::string address)
      : ctx_(ctx), address_(std::move(address)) {}

  redisContext* ctx_;
  std::string address_;  // for messages: "127.0.0.1:6379" or the socket path
  std::chrono::milliseconds timeout_{0};
  bool broken_ = false;
};

// The text of a string, status or error reply; "" for other types.
std::string_view ReplyText(const redisReply* reply);
bool IsError(const redisReply* reply);
// A Redis error reply as a status: kUnavailable "redis {op}: {error text}".
Status ReplyErrorStatus(const redisReply* reply, std::string_view op);

// Runs `script` with EVALSHA, retrying with EVAL (which also caches it) when the server says
// NOSCRIPT. Error replies are returned as replies, like Connection::Command.
StatusOr<ReplyPtr> RunScript(Connection& conn, const LuaScript& script,
                             std::span<const std::string> keys, std::span<const std::string> args);
// The EVALSHA form, for pipelining with Connection::Append; check NOSCRIPT replies with
// IsNoScript and rerun those with RunScript.
Status AppendScript(Connection& conn, const LuaScript& script, std::span<const std::string> keys,
                    std::span<const std::string> args);
bool IsNoScript(const redisReply* reply);

}  // namespace permcache::redis
