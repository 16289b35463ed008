#include "server/http/auth.h"

#include <cstddef>

namespace permcache::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> ParseBearerToken(std::string_view header_value) {
  std::string_view v = Trim(header_value);
  const size_t sp = v.find_first_of(" \t");
  if (sp == std::string_view::npos) return std::nullopt;
  if (!EqualsIgnoreCase(v.substr(0, sp), "bearer")) return std::nullopt;
  std::string_view token = Trim(v.substr(sp));
  if (token.empty()) return std::nullopt;
  return token;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Walk the whole of `b` (the presented token) whatever `a` is, so the time reveals neither
  // the position of the first difference nor (beyond the length check) the secret.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = b.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = a.empty() ? 0 : static_cast<unsigned char>(a[i % a.size()]);
    diff |= static_cast<unsigned char>(x ^ static_cast<unsigned char>(b[i]));
  }
  // volatile read so the compiler cannot short-circuit the loop.
  volatile unsigned char result = diff;
  return result == 0;
}

Status CheckAdmin(std::string_view admin_token, std::string_view authorization) {
  if (admin_token.empty()) return Status::Ok();
  if (authorization.empty()) {
    return UnauthorizedError("admin endpoint: missing 'Authorization: Bearer <token>' header");
  }
  const auto token = ParseBearerToken(authorization);
  if (!token) {
    return UnauthorizedError("admin endpoint: Authorization header is not 'Bearer <token>'");
  }
  if (!ConstantTimeEquals(admin_token, *token)) {
    return UnauthorizedError("admin endpoint: invalid admin token");
  }
  return Status::Ok();
}

}  // namespace permcache::http
