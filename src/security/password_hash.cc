#include "security/password_hash.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <array>

namespace permcache::security {

StatusOr<std::string> HashPassword(std::string_view password, const PasswordHashCost& cost) {
  constexpr size_t kSaltBytes = 16, kHashBytes = 32;
  std::array<uint8_t, kSaltBytes> salt;
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return InternalError("the system random generator failed (salt)");
  }
  const size_t encoded_len = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes,
                                               kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(encoded_len, '\0');
  const int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, password.data(),
                                       password.size(), salt.data(), salt.size(), kHashBytes,
                                       encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return InternalError(std::string("argon2id failed: ") + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0') == std::string::npos ? encoded.size() : encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  if (encoded.empty()) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace permcache::security
