#include "server/remote_cache_setup.h"

#include <spdlog/spdlog.h>

#include "cache/redis/redis_cache.h"

namespace permcache {
namespace {

// kNotFound = Redis not configured.
StatusOr<redis::RedisConfig> BuildRedisConfig(const ServerConfig& config) {
  PERMCACHE_ASSIGN_OR_RETURN(redis::RedisConfig rc,
                             redis::RedisConfigFromUrlOrEnv(config.redis_url));
  rc.key_prefix = config.redis_key_prefix;
  rc.cache_version = config.cache_version;
  rc.ttl = config.checker.cache.ttl;
  rc.negative_ttl = config.negative_ttl;
  // Degrade instead of refusing to start when Redis is merely unreachable; a wrong password or
  // database still fails Open().
  rc.require_connection_at_open = false;
  return rc;
}

}  // namespace

Status ValidateRedisConfig(const ServerConfig& config) {
  if (config.negative_ttl.count() <= 0) return InvalidArgumentError("negative TTL must be > 0");
  auto rc = BuildRedisConfig(config);
  if (!rc.ok() && rc.status().code() != StatusCode::kNotFound) return rc.status();
  return Status::Ok();
}

StatusOr<std::unique_ptr<RemoteCache>> OpenRemoteCache(const ServerConfig& config) {
  auto rc = BuildRedisConfig(config);
  if (!rc.ok()) {
    if (rc.status().code() == StatusCode::kNotFound) return std::unique_ptr<RemoteCache>();
    return rc.status();
  }
  PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<redis::RedisCache> cache,
                             redis::RedisCache::Open(*rc));
  spdlog::info("redis: {} ({})", redis::DescribeRedisConfig(*rc), cache->Health());
  return std::unique_ptr<RemoteCache>(std::move(cache));
}

}  // namespace permcache
