#include "cache/redis/redis_config.h"

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

namespace permcache::redis {
namespace {

constexpr int kDefaultPort = 6379;

std::optional<int> ParseNonNegativeInt(std::string_view s) {
  int value = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

Status ParsePort(std::string_view s, int* port) {
  std::optional<int> p = ParseNonNegativeInt(s);
  if (!p || *p < 1 || *p > 65535) {
    return InvalidArgumentError("redis port must be 1-65535, got \"" + std::string(s) + "\"");
  }
  *port = *p;
  return Status::Ok();
}

Status ParseDb(std::string_view s, int* db) {
  std::optional<int> d = ParseNonNegativeInt(s);
  if (!d)
    return InvalidArgumentError("redis db must be a non-negative integer, got \"" + std::string(s) +
                                "\"");
  *db = *d;
  return Status::Ok();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Passwords often contain URL-reserved characters; RFC 3986 says to percent-encode them.
StatusOr<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return InvalidArgumentError("redis URL: truncated percent escape");
    }
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("redis URL: bad percent escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

const char* GetEnv(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

StatusOr<RedisConfig> ParseRedisUrl(std::string_view rest) {
  RedisConfig config;
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgumentError("redis URL: query parameters are not supported (use /db)");
  }
  // Credentials end at the last '@' so that a raw '@' inside a password still works.
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    std::string_view user =
        colon == std::string_view::npos ? std::string_view() : userinfo.substr(0, colon);
    // "redis://password@host" (no colon) is a common mistake; Redis URLs put the password
    // after a colon, so a lone token is treated as the password rather than a user.
    std::string_view pass = colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1);
    PERMCACHE_ASSIGN_OR_RETURN(config.username, PercentDecode(user));
    PERMCACHE_ASSIGN_OR_RETURN(config.password, PercentDecode(pass));
  }
  std::string_view hostport = rest;
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) PERMCACHE_RETURN_IF_ERROR(ParseDb(db, &config.db));
  }
  std::string_view host = hostport, port;
  if (!hostport.empty() && hostport.front() == '[') {  // IPv6 literal
    size_t close = hostport.find(']');
    if (close == std::string_view::npos)
      return InvalidArgumentError("redis URL: unterminated '[' in host");
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("redis URL: junk after IPv6 host");
      port = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    if (colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
    }
  }
  if (host.empty()) return InvalidArgumentError("redis URL: missing host");
  config.host = std::string(host);
  config.port = kDefaultPort;
  if (!port.empty()) PERMCACHE_RETURN_IF_ERROR(ParsePort(port, &config.port));
  return config;
}

StatusOr<RedisConfig> ParseUnixUrl(std::string_view rest) {
  RedisConfig config;
  std::string_view query;
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.empty() || rest.front() != '/') {
    return InvalidArgumentError(
        "redis URL: unix socket path must be absolute (unix:///path/to/redis.sock)");
  }
  config.unix_socket = std::string(rest);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.starts_with("db=")) {
      PERMCACHE_RETURN_IF_ERROR(ParseDb(param.substr(3), &config.db));
    } else {
      return InvalidArgumentError("redis URL: unknown parameter \"" + std::string(param) +
                                  "\" (only db=N is supported)");
    }
  }
  return config;
}

}  // namespace

StatusOr<RedisConfig> RedisConfigFromUrlOrEnv(std::string_view url) {
  const char* env_password = GetEnv("REDIS_PASSWORD");
  if (url.empty()) {
    const char* host = GetEnv("REDIS_HOST");
    const char* port = GetEnv("REDIS_PORT");
    const char* db = GetEnv("REDIS_DB");
    if (host == nullptr && port == nullptr && db == nullptr && env_password == nullptr) {
      return NotFoundError("redis not configured: pass --redis URL or set REDIS_HOST");
    }
    RedisConfig config;
    if (host != nullptr) config.host = host;
    if (port != nullptr) {
      Status s = ParsePort(port, &config.port);
      if (!s.ok()) return InvalidArgumentError("REDIS_PORT: " + s.message());
    }
    if (db != nullptr) {
      Status s = ParseDb(db, &config.db);
      if (!s.ok()) return InvalidArgumentError("REDIS_DB: " + s.message());
    }
    if (env_password != nullptr) config.password = env_password;
    return config;
  }
  if (url.starts_with("rediss://")) {
    return InvalidArgumentError("redis URL: TLS (rediss://) is not supported yet");
  }
  if (!url.starts_with("redis://") && !url.starts_with("unix://")) {
    return InvalidArgumentError("redis URL must start with redis:// or unix://, got \"" +
                                std::string(url.substr(0, 64)) + "\"");
  }
  PERMCACHE_ASSIGN_OR_RETURN(RedisConfig config, url.starts_with("redis://")
                                                     ? ParseRedisUrl(url.substr(8))
                                                     : ParseUnixUrl(url.substr(7)));
  if (config.password.empty() && env_password != nullptr) config.password = env_password;
  return config;
}

std::string DescribeRedisConfig(const RedisConfig& config) {
  std::string auth;
  if (!config.password.empty()) auth = config.username + ":***@";
  if (!config.unix_socket.empty()) {
    return "unix://" + config.unix_socket + "?db=" + std::to_string(config.db) +
           (config.password.empty() ? "" : " (with password)");
  }
  std::string host =
      config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host;
  return "redis://" + auth + host + ":" + std::to_string(config.port) + "/" +
         std::to_string(config.db);
}

}  // namespace permcache::redis
