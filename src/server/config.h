// Server configuration checks: everything that makes RunServer refuse to start (exit code 2)
// is decided here, before anything is opened.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "permcache/status.h"
#include "server/server.h"

namespace permcache {

struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 address ("localhost" becomes "127.0.0.1")
  uint16_t port = 0;
  // "127.0.0.1:8080", "[::1]:8080".
  std::string ToString() const;
  std::string ToString(uint16_t actual_port) const;
};

// Parses "HOST:PORT" / "[V6]:PORT". HOST is a numeric address or "localhost"; PORT 0-65535.
StatusOr<ListenAddress> ParseListen(std::string_view listen);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. REQUIRES: a numeric address.
bool IsLoopbackAddress(std::string_view host);

// kInvalidArgument naming the problem: bad listen address, non-loopback listen without an admin
// token, zero limits or timeouts, negative threads, unknown log level, Redis (not in this build).
Status ValidateServerConfig(const ServerConfig& config);

// Threads to run: config.threads, or one per core when 0.
int EffectiveThreads(const ServerConfig& config);

}  // namespace permcache
