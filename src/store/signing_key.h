// The token signing key as both backends keep it: 32 random bytes (OpenSSL RAND_bytes), stored
// hex-encoded (a TEXT / bytea-as-hex value every SQL tool shows safely).
//
// Thread safety: pure functions (RAND_bytes is thread-safe).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "permcache/status.h"

namespace permcache::store {

inline constexpr size_t kTokenSigningKeyBytes = 32;

// A fresh key, hex-encoded. kInternal when the CSPRNG fails (never a weak key).
StatusOr<std::string> NewTokenSigningKeyHex();

// The raw key from its stored hex. kInternal ("damaged store") unless it is exactly
// 2 * kTokenSigningKeyBytes hex digits.
StatusOr<std::string> DecodeTokenSigningKey(std::string_view hex);

}  // namespace permcache::store
