// Admin authorization: "Authorization: Bearer <token>" checked in constant time.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "permcache/status.h"

namespace permcache::http {

// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive,
// surrounding spaces ignored). nullopt for another scheme or an empty token.
std::optional<std::string_view> ParseBearerToken(std::string_view header_value);

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// OK when `admin_token` is empty (no token configured) or `authorization` carries it;
// kUnauthorized otherwise (fails closed: a malformed header is refused).
Status CheckAdmin(std::string_view admin_token, std::string_view authorization);

}  // namespace permcache::http
