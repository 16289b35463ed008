#include "security/unlock_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>

namespace permcache::security {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr size_t kMacBytes = 32;
constexpr size_t kMaxTokenBytes = 1024;

std::string Base64Url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::optional<std::string> FromBase64Url(std::string_view text) {
  std::string std(text);
  for (char& c : std) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;  // not base64url
  }
  const size_t pad = (4 - std.size() % 4) % 4;
  if (pad == 3) return std::nullopt;
  std.append(pad, '=');
  std::string out(std.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(std.data()),
                                static_cast<int>(std.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::array<unsigned char, kMacBytes> Mac(std::string_view payload, std::string_view key) {
  std::array<unsigned char, kMacBytes> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac.data(), &len);
  return mac;
}

std::string Payload(const TokenClaims& c) {
  std::string p = c.tenant;
  p += '\n';
  p += c.resource;
  p += '\n';
  p += std::to_string(c.version);
  p += '\n';
  p += std::to_string(c.expires_at_ms);
  return p;
}

template <class Int>
bool ParseInt(std::string_view s, Int* out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string SignToken(const TokenClaims& claims, std::string_view key) {
  const std::string payload = Payload(claims);
  const auto mac = Mac(payload, key);
  std::string token(kPrefix);
  token += Base64Url(payload);
  token += '.';
  token += Base64Url(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  return token;
}

std::optional<TokenClaims> VerifyToken(std::string_view token, std::string_view key) {
  if (token.size() > kMaxTokenBytes || !token.starts_with(kPrefix)) return std::nullopt;
  token.remove_prefix(kPrefix.size());
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto payload = FromBase64Url(token.substr(0, dot));
  const auto mac = FromBase64Url(token.substr(dot + 1));
  if (!payload || !mac || mac->size() != kMacBytes) return std::nullopt;
  const auto expected = Mac(*payload, key);
  if (CRYPTO_memcmp(expected.data(), mac->data(), kMacBytes) != 0) return std::nullopt;
  // Signed by us, so well-formed; parse defensively anyway.
  TokenClaims c;
  std::string_view rest = *payload;
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    const size_t nl = rest.find('\n');
    if ((i < 3) == (nl == std::string_view::npos)) return std::nullopt;
    parts[i] = rest.substr(0, nl);
    rest = i < 3 ? rest.substr(nl + 1) : std::string_view();
  }
  c.tenant = parts[0];
  c.resource = parts[1];
  if (!ParseInt(parts[2], &c.version) || !ParseInt(parts[3], &c.expires_at_ms)) {
    return std::nullopt;
  }
  return c;
}

bool TokenGrants(std::string_view token, std::string_view key, std::string_view tenant,
                 std::string_view resource, uint64_t version, int64_t now_ms) {
  const auto c = VerifyToken(token, key);
  return c && c->tenant == tenant && c->resource == resource && c->version == version &&
         now_ms < c->expires_at_ms;
}

}  // namespace permcache::security
