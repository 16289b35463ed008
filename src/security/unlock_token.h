// Unlock tokens for restricted resources (DESIGN §7): "v1.<payload>.<mac>", base64url, where the
// payload binds (tenant, resource, resource version, expiry) and the mac is HMAC-SHA256 with the
// store's signing key. Verifying needs no store read: the key is loaded once, the version comes
// from the (precisely invalidated) resource record. A change of state, password or owner bumps
// the version, which revokes every token of that resource on every node at once.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace permcache::security {

struct TokenClaims {
  std::string tenant, resource;
  uint64_t version = 0;
  int64_t expires_at_ms = 0;  // Unix ms
};

std::string SignToken(const TokenClaims& claims, std::string_view key);

// The claims of a well-formed token whose mac is right for `key` (compared in constant time),
// nullopt otherwise. Expiry, resource and version are the caller's to compare.
std::optional<TokenClaims> VerifyToken(std::string_view token, std::string_view key);

// Is `token` valid for this resource at version `version` and time `now_ms`?
bool TokenGrants(std::string_view token, std::string_view key, std::string_view tenant,
                 std::string_view resource, uint64_t version, int64_t now_ms);

}  // namespace permcache::security
