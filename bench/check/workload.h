// The benchmark workload: a synthetic RBAC model of many (tenant, user) pairs sharing ~20 role
// mixes (so compiled sets are interned, as in production), the key table checks read from, and
// pre-generated key-index streams (uniform and Zipf) so no RNG runs inside a timed loop.
//
// Thread safety: KeyTable and the index vectors are immutable once built; share them freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/model.h"

namespace permcache::bench {

inline constexpr int kTenants = 10;  // "t0".."t9"
inline constexpr int kRolesPerTenant = 8;
inline constexpr int kRoleMixes = 20;  // distinct role combinations users hold
// The permission every throughput/latency check asks for.
inline constexpr std::string_view kCheckedPermission = "assets:read";

// Pair i is (tenant "t{i % 10}", user "u{i}"), the same keys as the Redis anchor
// "perms:u{i}:t{i % 10}".
std::string TenantId(size_t i);
std::string UserId(size_t i);

// Ops creating the tenants, roles, and policies (no users).
std::vector<WriteOp> SchemaOps();
// Ops giving pairs [begin, end) an active membership and the roles of their mix, split into
// batches under kMaxOpsPerWrite.
std::vector<std::vector<WriteOp>> UserOpBatches(size_t begin, size_t end);

// Owns the id strings of pairs [0, n); hands out views for CheckRequest.
class KeyTable {
 public:
  explicit KeyTable(size_t n);
  size_t size() const { return users_.size(); }
  std::string_view tenant(size_t i) const { return tenants_[i % kTenants]; }
  std::string_view user(size_t i) const { return users_[i]; }
  // The same id as user(i), formatted into `buf` (at least 24 bytes) without touching the table:
  // the hot loops use it, like redis-benchmark formats its __rand_int__ keys, so that a DRAM
  // miss on a 32 MiB table of std::string (the harness's, not permcache's) is not measured.
  static std::string_view FormatUser(size_t i, char* buf);

 private:
  std::vector<std::string> tenants_;
  std::vector<std::string> users_;
};

// `count` indices uniform over [0, n).
std::vector<uint32_t> UniformIndices(size_t n, size_t count, uint64_t seed);
// `count` indices over [0, n) with Zipf(s) popularity; rank r maps to a random key so hot keys
// are spread over tenants and shards.
std::vector<uint32_t> ZipfIndices(size_t n, size_t count, double s, uint64_t seed);
// A random permutation of [0, n).
std::vector<uint32_t> Shuffled(size_t n, uint64_t seed);

}  // namespace permcache::bench
