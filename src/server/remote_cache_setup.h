// Builds the optional Redis tier (L2 + bus) from the server configuration: `--redis URL` or the
// seed-000 environment variables REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / REDIS_DB.
//
// Thread safety: call once at start-up.
#pragma once

#include <memory>

#include "permcache/remote_cache.h"
#include "permcache/status.h"
#include "server/server.h"

namespace permcache {

// nullptr when Redis is not configured. kUnauthorized / kInvalidArgument for a bad URL, a wrong
// password or a bad database (a clear start-up error); an unreachable server is not an error:
// the node starts degraded ("redis":"down" in /readyz) and connects when Redis comes up.
StatusOr<std::unique_ptr<RemoteCache>> OpenRemoteCache(const ServerConfig& config);

// Validates the Redis part of the configuration without connecting.
Status ValidateRedisConfig(const ServerConfig& config);

}  // namespace permcache
