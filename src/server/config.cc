#include "server/config.h"

#include "server/remote_cache_setup.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <thread>

namespace permcache {

std::string ListenAddress::ToString() const { return ToString(port); }

std::string ListenAddress::ToString(uint16_t actual_port) const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(actual_port);
}

StatusOr<ListenAddress> ParseListen(std::string_view listen) {
  std::string_view host, port;
  if (listen.starts_with('[')) {
    const size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() ||
        listen[close + 1] != ':') {
      return InvalidArgumentError("listen address '" + std::string(listen) +
                                  "' must be HOST:PORT or [IPV6]:PORT");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos || listen.find(':') != colon) {
      return InvalidArgumentError("listen address '" + std::string(listen) +
                                  "' must be HOST:PORT or [IPV6]:PORT");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned value = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("listen port '" + std::string(port) + "' must be 0-65535");
  }
  ListenAddress out;
  out.port = static_cast<uint16_t>(value);
  out.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  unsigned char buf[16];
  const bool v4 = inet_pton(AF_INET, out.host.c_str(), buf) == 1;
  const bool v6 = !v4 && inet_pton(AF_INET6, out.host.c_str(), buf) == 1;
  if (!v4 && !v6) {
    return InvalidArgumentError("listen host '" + std::string(host) +
                                "' must be a numeric IP address or localhost");
  }
  return out;
}

bool IsLoopbackAddress(std::string_view host) {
  const std::string h(host);
  unsigned char b[16];
  if (inet_pton(AF_INET, h.c_str(), b) == 1) return b[0] == 127;
  if (inet_pton(AF_INET6, h.c_str(), b) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kLoopback, 16) == 0) return true;
    return std::memcmp(b, kMappedPrefix, 12) == 0 && b[12] == 127;
  }
  return false;
}

Status ValidateServerConfig(const ServerConfig& c) {
  PERMCACHE_ASSIGN_OR_RETURN(const ListenAddress listen, ParseListen(c.listen));
  if (c.admin_token.empty() && !IsLoopbackAddress(listen.host)) {
    return InvalidArgumentError("refusing to listen on non-loopback address " + c.listen +
                                " without an admin token (set --admin-token)");
  }
  if (c.threads < 0) return InvalidArgumentError("threads must be >= 0 (0 = one per core)");
  if (c.max_body_bytes == 0) return InvalidArgumentError("max body bytes must be > 0");
  if (c.max_header_bytes < 512) return InvalidArgumentError("max header bytes must be >= 512");
  if (c.max_url_bytes < 64) return InvalidArgumentError("max URL bytes must be >= 64");
  if (c.max_json_depth == 0) return InvalidArgumentError("max JSON depth must be > 0");
  if (c.max_connections == 0) return InvalidArgumentError("max connections must be > 0");
  if (c.threads > 1024) return InvalidArgumentError("threads must be at most 1024");
  if (c.idle_timeout.count() <= 0) return InvalidArgumentError("idle timeout must be > 0");
  if (c.request_timeout.count() <= 0) return InvalidArgumentError("request timeout must be > 0");
  static constexpr std::array<std::string_view, 7> kLevels = {
      "trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end()) {
    return InvalidArgumentError("log level '" + c.log_level +
                                "' must be one of trace, debug, info, warn, error, critical, off");
  }
  return ValidateRedisConfig(c);
}

int EffectiveThreads(const ServerConfig& config) {
  if (config.threads > 0) return config.threads;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace permcache
