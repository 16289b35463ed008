// The permcache HTTP service: wiring of a Checker (store + caches) behind the HTTP API v1.
//
// Thread safety: RunServer owns everything it creates; call it once per process.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "permcache/options.h"

namespace permcache {

struct ServerConfig {
  // Checker options (store URL, cache bounds, consistency timeout).
  Options checker;
  // "HOST:PORT". Default "127.0.0.1:8080". Port 0 picks a free port (printed on stdout as
  // "listening on HOST:PORT").
  std::string listen = "127.0.0.1:8080";
  // Bearer token for admin endpoints; empty = none (then only loopback listen is allowed).
  std::string admin_token;
  // IO threads; 0 = one per core.
  int threads = 0;
  // Load the demo model (seed 002 hospital, seed 001 cinemata, seed 000 tenants) at start.
  bool demo = false;
  // Limits.
  size_t max_body_bytes = 1u << 20;
  size_t max_header_bytes = 16u << 10;
  size_t max_url_bytes = 8u << 10;
  size_t max_json_depth = 32;
  size_t max_connections = 10000;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds request_timeout{10};  // whole request must arrive within this
  // Redis: redis://[:password@]host:port/db or unix:///path. "" = the seed-000 environment
  // variables REDIS_HOST/REDIS_PORT/REDIS_PASSWORD/REDIS_DB if any is set, else no Redis.
  std::string redis_url;
  // Prepended to every Redis key as "{prefix}:" (and to the bus channel). Default "".
  std::string redis_key_prefix;
  // Prepended after the prefix as "{version}:" (seed 001 versioning). Default "".
  std::string cache_version;
  // L2 lifetime of entries without an active membership. Default 60 s.
  std::chrono::milliseconds negative_ttl{std::chrono::seconds(60)};
  std::string log_level = "info";
};

// Runs the server until SIGTERM/SIGINT, then shuts down gracefully. Returns a process exit
// code: 0 clean stop, 2 bad configuration (message on stderr), 1 runtime failure.
int RunServer(const ServerConfig& config);

}  // namespace permcache
