// Resource passwords: Argon2id (libargon2), salted, encoded in the PHC string format
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") so parameters can change without breaking
// stored hashes. The plaintext is never stored, logged or returned.
//
// Thread safety: pure functions (libargon2 allocates its own memory per call).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "permcache/status.h"

namespace permcache::security {

// Cost parameters. The defaults follow OWASP's Argon2id recommendation (19 MiB, 2 passes, 1
// lane); tests pass a cheaper cost, never production.
struct PasswordHashCost {
  uint32_t memory_kib = 19 * 1024;
  uint32_t passes = 2;
  uint32_t lanes = 1;
};

// A fresh 16-byte random salt and the encoded hash of `password`. kInternal when the system RNG
// or libargon2 fails.
StatusOr<std::string> HashPassword(std::string_view password, const PasswordHashCost& cost = {});

// True when `password` matches `encoded` (constant-time comparison inside libargon2). False for
// a malformed `encoded` too: it cannot match anything.
bool VerifyPassword(std::string_view password, const std::string& encoded);

}  // namespace permcache::security
