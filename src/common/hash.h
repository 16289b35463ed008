// Hashing for cache keys and interned sets: fast, non-cryptographic, stable within a process.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace permcache {

// 64-bit hash of bytes (FNV-1a, 8 bytes at a time, with a final avalanche). Keys are short
// (two ids), so a simple loop beats a heavier hash's setup cost.
inline uint64_t HashBytes(std::string_view s, uint64_t seed = 0x9E3779B97F4A7C15ull) {
  uint64_t h = seed ^ (s.size() * 0xff51afd7ed558ccdull);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0x100000001b3ull;
  // murmur3 fmix64
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t HashCombine(uint64_t a, uint64_t b) {
  return a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
}

// The hash of a (tenant, user) cache key.
inline uint64_t HashKey(std::string_view tenant, std::string_view user) {
  return HashCombine(HashBytes(tenant), HashBytes(user, 0x2545F4914F6CDD1Dull));
}

}  // namespace permcache
