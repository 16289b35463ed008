#include "cache/redis/connection.h"

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace permcache::redis {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

timeval ToTimeval(milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// Remaining budget, at least 1 ms: a zero socket timeout would mean "wait forever".
milliseconds Remaining(Connection::SteadyClock::time_point deadline) {
  auto left = duration_cast<milliseconds>(deadline - Connection::SteadyClock::now());
  return std::max(left, milliseconds(1));
}

// hiredis wants parallel arrays of pointers and lengths.
struct Argv {
  explicit Argv(std::span<const std::string_view> args) {
    ptrs.reserve(args.size());
    lens.reserve(args.size());
    for (std::string_view a : args) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
};

std::vector<std::string_view> ScriptArgs(std::string_view verb, std::string_view body,
                                         std::span<const std::string> keys,
                                         std::span<const std::string> args, std::string* numkeys) {
  *numkeys = std::to_string(keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back(verb);
  argv.push_back(body);
  argv.push_back(*numkeys);
  for (const std::string& k : keys) argv.push_back(k);
  for (const std::string& a : args) argv.push_back(a);
  return argv;
}

}  // namespace

StatusOr<std::unique_ptr<Connection>> Connection::Open(const RedisConfig& config,
                                                       SteadyClock::time_point deadline) {
  const bool unix_socket = !config.unix_socket.empty();
  std::string address =
      unix_socket ? config.unix_socket : config.host + ":" + std::to_string(config.port);
  timeval tv = ToTimeval(Remaining(deadline));
  redisContext* ctx = unix_socket ? redisConnectUnixWithTimeout(config.unix_socket.c_str(), tv)
                                  : redisConnectWithTimeout(config.host.c_str(), config.port, tv);
  if (ctx == nullptr) return UnavailableError("redis connect to " + address + ": out of memory");
  std::unique_ptr<Connection> conn(new Connection(ctx, address));
  if (ctx->err != 0) {
    return UnavailableError("redis connect to " + address + ": " + std::string(ctx->errstr));
  }
  // Keepalive lets the kernel notice a vanished peer on idle pooled connections. TCP only:
  // hiredis sets TCP_KEEPIDLE, which fails (and poisons the context) on a Unix socket.
  if (!unix_socket && redisEnableKeepAlive(ctx) != REDIS_OK) {
    return UnavailableError("redis connect to " + address +
                            ": keepalive: " + std::string(ctx->errstr));
  }
  PERMCACHE_RETURN_IF_ERROR(conn->SetTimeout(Remaining(deadline)));

  if (!config.password.empty()) {
    StatusOr<ReplyPtr> reply = config.username.empty()
                                   ? conn->Command({"AUTH", config.password})
                                   : conn->Command({"AUTH", config.username, config.password});
    if (!reply.ok()) return reply.status();
    if (IsError(reply->get())) {
      std::string text(ReplyText(reply->get()));
      std::string msg = "redis AUTH failed: " + text + " (server " + address + ")";
      if (text.starts_with("WRONGPASS") || text.starts_with("ERR invalid password")) {
        return UnauthorizedError(msg);
      }
      return InvalidArgumentError(msg);
    }
  }
  if (config.db != 0) {
    PERMCACHE_RETURN_IF_ERROR(conn->SetTimeout(Remaining(deadline)));
    StatusOr<ReplyPtr> reply = conn->Command({"SELECT", std::to_string(config.db)});
    if (!reply.ok()) return reply.status();
    if (IsError(reply->get())) {
      return InvalidArgumentError("redis SELECT " + std::to_string(config.db) +
                                  " failed: " + std::string(ReplyText(reply->get())));
    }
  }
  PERMCACHE_RETURN_IF_ERROR(conn->SetTimeout(Remaining(deadline)));
  StatusOr<ReplyPtr> pong = conn->Command({"PING"});
  if (!pong.ok()) return pong.status();
  if (IsError(pong->get())) {
    std::string text(ReplyText(pong->get()));
    if (text.starts_with("NOAUTH")) {
      return UnauthorizedError("redis requires a password (" + text +
                               "): put it in the URL (redis://:PASSWORD@host) or REDIS_PASSWORD");
    }
    return UnavailableError("redis PING: " + text);
  }
  PERMCACHE_RETURN_IF_ERROR(conn->SetTimeout(Remaining(deadline)));
  return conn;
}

Connection::~Connection() { redisFree(ctx_); }

Status Connection::IoError(std::string_view op) {
  broken_ = true;
  // hiredis reports an expired SO_RCVTIMEO as the strerror of EAGAIN.
  bool timed_out = ctx_->err == REDIS_ERR_IO &&
                   (std::strstr(ctx_->errstr, "temporarily unavailable") != nullptr ||
                    std::strstr(ctx_->errstr, "timed out") != nullptr);
  std::string detail =
      timed_out ? "timed out after " + std::to_string(timeout_.count()) + " ms"
                : std::string(ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost");
  return UnavailableError("redis " + std::string(op) + " (" + address_ + "): " + detail);
}

Status Connection::SetTimeout(milliseconds timeout) {
  if (timeout == timeout_) return Status::Ok();
  if (redisSetTimeout(ctx_, ToTimeval(timeout)) != REDIS_OK) return IoError("set timeout");
  timeout_ = timeout;
  return Status::Ok();
}

StatusOr<ReplyPtr> Connection::Command(std::initializer_list<std::string_view> args) {
  return CommandArgv(std::span<const std::string_view>(args.begin(), args.size()));
}

StatusOr<ReplyPtr> Connection::CommandArgv(std::span<const std::string_view> args) {
  if (broken_) return UnavailableError("redis (" + address_ + "): connection is broken");
  Argv argv(args);
  void* reply =
      redisCommandArgv(ctx_, static_cast<int>(args.size()), argv.ptrs.data(), argv.lens.data());
  if (reply == nullptr) return IoError(args.empty() ? "command" : args[0]);
  return ReplyPtr(static_cast<redisReply*>(reply));
}

Status Connection::Append(std::span<const std::string_view> args) {
  if (broken_) return UnavailableError("redis (" + address_ + "): connection is broken");
  Argv argv(args);
  if (redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.ptrs.data(),
                             argv.lens.data()) != REDIS_OK) {
    return IoError("append");
  }
  return Status::Ok();
}

StatusOr<ReplyPtr> Connection::GetReply() {
  if (broken_) return UnavailableError("redis (" + address_ + "): connection is broken");
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) return IoError("pipeline");
  return ReplyPtr(static_cast<redisReply*>(reply));
}

std::string_view ReplyText(const redisReply* reply) {
  if (reply == nullptr || reply->str == nullptr) return {};
  if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS &&
      reply->type != REDIS_REPLY_ERROR) {
    return {};
  }
  return std::string_view(reply->str, reply->len);
}

bool IsError(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR;
}

bool IsNoScript(const redisReply* reply) {
  return IsError(reply) && ReplyText(reply).starts_with("NOSCRIPT");
}

Status ReplyErrorStatus(const redisReply* reply, std::string_view op) {
  return UnavailableError("redis " + std::string(op) + ": " + std::string(ReplyText(reply)));
}

StatusOr<ReplyPtr> RunScript(Connection& conn, const LuaScript& script,
                             std::span<const std::string> keys, std::span<const std::string> args) {
  std::string numkeys;
  std::vector<std::string_view> argv = ScriptArgs("EVALSHA", script.sha1, keys, args, &numkeys);
  PERMCACHE_ASSIGN_OR_RETURN(ReplyPtr reply, conn.CommandArgv(argv));
  if (!IsNoScript(reply.get())) return reply;
  // The server lost its script cache (restart, SCRIPT FLUSH): EVAL sends the body once and
  // caches it again, so the next EVALSHA succeeds.
  argv[0] = "EVAL";
  argv[1] = script.source;
  return conn.CommandArgv(argv);
}

Status AppendScript(Connection& conn, const LuaScript& script, std::span<const std::string> keys,
                    std::span<const std::string> args) {
  std::string numkeys;
  std::vector<std::string_view> argv = ScriptArgs("EVALSHA", script.sha1, keys, args, &numkeys);
  return conn.Append(argv);
}

}  // namespace permcache::redis
