#include "store/signing_key.h"

#include <openssl/rand.h>

#include <array>

namespace permcache::store {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

StatusOr<std::string> NewTokenSigningKeyHex() {
  std::array<unsigned char, kTokenSigningKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return InternalError("cannot generate the token signing key: RAND_bytes failed");
  }
  std::string hex;
  hex.reserve(2 * key.size());
  for (unsigned char b : key) {
    hex += kHexDigits[b >> 4];
    hex += kHexDigits[b & 0xf];
  }
  return hex;
}

StatusOr<std::string> DecodeTokenSigningKey(std::string_view hex) {
  if (hex.size() != 2 * kTokenSigningKeyBytes) {
    return InternalError("the stored token signing key has the wrong length (damaged store)");
  }
  std::string key;
  key.reserve(kTokenSigningKeyBytes);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return InternalError("the stored token signing key is not hex (damaged store)");
    }
    key += static_cast<char>((hi << 4) | lo);
  }
  return key;
}

}  // namespace permcache::store
