// RedisConfig: where the Redis L2 cache lives and how permcache talks to it (connection, keys,
// TTLs, timeouts, reconnect backoff), parsed from a `--redis` URL or the seed-000 environment
// variables (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB).
//
// Thread safety: plain values; the parse functions are pure apart from reading the environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "permcache/status.h"

namespace permcache::redis {

struct RedisConfig {
  // --- Connection --------------------------------------------------------------------------
  // TCP host (name or IP literal). Default "127.0.0.1". Ignored when `unix_socket` is set.
  std::string host = "127.0.0.1";
  // TCP port. Default 6379.
  int port = 6379;
  // Path of a Unix domain socket; when non-empty it replaces host/port. Default "" (TCP).
  std::string unix_socket;
  // ACL user for `AUTH user password` (Redis 6+); empty = `AUTH password`. Default "".
  std::string username;
  // Password for AUTH; empty = no AUTH. Default "".
  std::string password;
  // Logical database selected after connecting (SELECT). Default 0.
  int db = 0;

  // --- Keys ----------------------------------------------------------------------------------
  // `--redis-key-prefix`: prepended as "{prefix}:" to every key and to the bus channel.
  // A trailing ':' is ignored. Default "" (seed 000 keys "perms:{user}:{tenant}").
  std::string key_prefix;
  // `--cache-version`: prepended as "{version}:" after the prefix, so a deploy that changes the
  // value format can start from an empty key space. Default "" (no version segment).
  std::string cache_version;

  // --- TTLs ----------------------------------------------------------------------------------
  // Lifetime of an entry whose membership is active. Default 15 min (seed 000 token lifetime).
  std::chrono::milliseconds ttl = std::chrono::minutes(15);
  // Lifetime of an entry without an active membership (suspended / none). Default 60 s.
  std::chrono::milliseconds negative_ttl = std::chrono::seconds(60);
  // Each TTL is multiplied by a uniform factor in [1 - jitter, 1 + jitter] so that entries filled
  // together do not expire together (no thundering herd). Default 0.10 (+-10%). Range [0, 0.5].
  double ttl_jitter = 0.10;

  // --- Timeouts and reconnects ---------------------------------------------------------------
  // Bound on establishing a connection (TCP connect + AUTH + SELECT) in the background and at
  // Open(). Default 1 s.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(1);
  // Bound on each command's round trip; a call on the check path never blocks longer than this
  // (a connection made on the caller's thread shares the same budget). Default 100 ms.
  std::chrono::milliseconds command_timeout = std::chrono::milliseconds(100);
  // Reconnect backoff: first retry after `reconnect_backoff_initial`, doubling up to
  // `reconnect_backoff_max`. Defaults 50 ms and 2 s.
  std::chrono::milliseconds reconnect_backoff_initial = std::chrono::milliseconds(50);
  std::chrono::milliseconds reconnect_backoff_max = std::chrono::seconds(2);
  // The subscriber sends PING when the bus was idle this long and declares the bus lost when
  // the answer does not come within another interval (detects a frozen server). Default 1 s.
  std::chrono::milliseconds bus_ping_interval = std::chrono::seconds(1);
  // Idle command connections kept for reuse (callers beyond that connect on demand and close
  // on release). Default 8.
  size_t pool_size = 8;
  // When true (default), Open() fails unless the first connection succeeds (a wrong password
  // or an unreachable server is a startup error). When false, Open() on an unreachable server
  // returns a cache that is "down" and connects in the background; AUTH/SELECT errors still fail.
  bool require_connection_at_open = true;

  // --- Identity and observation --------------------------------------------------------------
  // Written as "origin" in bus messages. Default "" = "{hostname}:{pid}:{random}" at Open().
  std::string node_id;
  // Called with false when the command connections go down and with true when they come back
  // (not for the initial successful connect). Runs on whichever thread noticed the change (a
  // caller's thread or the reconnect thread); must be fast and must not call back into the
  // cache. Default: none.
  std::function<void(bool up)> on_connection_state;
};

// Parses `url` into a config. Accepted forms:
//   redis://[[user]:password@]host[:port][/db]     (port 6379, db 0 by default; user/password
//                                                    are percent-decoded; "[::1]" for IPv6)
//   unix:///path/to/redis.sock[?db=N]
// When `url` is empty, the seed-000 variables are read: REDIS_HOST (default 127.0.0.1),
// REDIS_PORT (6379), REDIS_PASSWORD (none), REDIS_DB (0); if none of them is set the result is
// kNotFound ("redis not configured"), meaning the L2 cache is disabled. When `url` is given
// without a password, REDIS_PASSWORD (if set) supplies it, so secrets can stay out of argv.
// kInvalidArgument names what is wrong (scheme, port, db, ...). Other fields keep defaults.
StatusOr<RedisConfig> RedisConfigFromUrlOrEnv(std::string_view url);

// "redis://host:port/db" or "unix:///path?db=N", with the password (if any) shown as "***".
std::string DescribeRedisConfig(const RedisConfig& config);

}  // namespace permcache::redis
