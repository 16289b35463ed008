#include "workload.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

namespace permcache::bench {
namespace {

// Each role gets one policy. Role 7 carries a deny at higher priority so some mixes deny part of
// what other roles allow, exercising the priority rule on the hot path too.
struct RoleDef {
  const char* permissions[3];
  Effect effect;
  int32_t priority;
};
constexpr RoleDef kRoles[kRolesPerTenant] = {
    {{"assets:read", "findings:read", nullptr}, Effect::kAllow, 0},
    {{"assets:*", nullptr, nullptr}, Effect::kAllow, 0},
    {{"findings:*", "reports:read", nullptr}, Effect::kAllow, 0},
    {{"reports:*", "dashboards:read", nullptr}, Effect::kAllow, 0},
    {{"users:read", "assets:read", nullptr}, Effect::kAllow, 0},
    {{"admin:*", nullptr, nullptr}, Effect::kAllow, 0},
    {{"scans:run", "scans:read", "assets:read"}, Effect::kAllow, 0},
    {{"assets:write", "admin:billing", nullptr}, Effect::kDeny, 10},
};

// The first kRoleMixes role bitmasks with 1 to 3 roles, taken with a stride so mixes differ.
std::vector<uint32_t> RoleMixes() {
  std::vector<uint32_t> candidates;
  for (uint32_t m = 1; m < (1u << kRolesPerTenant); ++m) {
    int bits = std::popcount(m);
    if (bits >= 1 && bits <= 3) candidates.push_back(m);
  }
  std::vector<uint32_t> mixes;
  for (size_t i = 0; mixes.size() < kRoleMixes; i += 5) {
    mixes.push_back(candidates[i % candidates.size()]);
  }
  return mixes;
}

// prefix + decimal n. (Not `"r" + std::to_string(n)`: GCC 12 at -O3 reports a false
// -Wrestrict on that, GCC bug 105329.)
std::string Id(char prefix, size_t n) {
  char buf[24];
  buf[0] = prefix;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf, n);
  (void)ec;  // 20 digits always fit
  return std::string(buf, end);
}

std::string RoleId(int r) { return Id('r', static_cast<size_t>(r)); }

}  // namespace

std::string TenantId(size_t i) { return Id('t', i % kTenants); }
std::string UserId(size_t i) { return Id('u', i); }

std::vector<WriteOp> SchemaOps() {
  std::vector<WriteOp> ops;
  for (int t = 0; t < kTenants; ++t) {
    std::string tenant = TenantId(t);
    WriteOp put_tenant;
    put_tenant.kind = OpKind::kPutTenant;
    put_tenant.tenant = tenant;
    ops.push_back(put_tenant);
    for (int r = 0; r < kRolesPerTenant; ++r) {
      WriteOp role;
      role.kind = OpKind::kPutRole;
      role.tenant = tenant;
      role.role = RoleId(r);
      ops.push_back(role);
      WriteOp policy;
      policy.kind = OpKind::kPutPolicy;
      policy.tenant = tenant;
      policy.policy = Id('p', static_cast<size_t>(r));
      policy.effect = kRoles[r].effect;
      policy.priority = kRoles[r].priority;
      for (const char* p : kRoles[r].permissions) {
        if (p != nullptr) policy.permissions.emplace_back(p);
      }
      ops.push_back(policy);
      WriteOp link;
      link.kind = OpKind::kPutRolePolicy;
      link.tenant = tenant;
      link.role = role.role;
      link.policy = policy.policy;
      ops.push_back(link);
    }
  }
  return ops;
}

std::vector<std::vector<WriteOp>> UserOpBatches(size_t begin, size_t end) {
  static const std::vector<uint32_t> mixes = RoleMixes();
  // Well under kMaxOpsPerWrite (a user is at most 4 ops), and small enough that one write's
  // changelog entry stays modest.
  constexpr size_t kUsersPerBatch = 2000;
  std::vector<std::vector<WriteOp>> batches;
  for (size_t first = begin; first < end; first += kUsersPerBatch) {
    std::vector<WriteOp> ops;
    size_t last = std::min(end, first + kUsersPerBatch);
    ops.reserve((last - first) * 4);
    for (size_t i = first; i < last; ++i) {
      WriteOp m;
      m.kind = OpKind::kPutMembership;
      m.tenant = TenantId(i);
      m.user = UserId(i);
      ops.push_back(m);
      // Decorrelate the mix from the tenant (i % 10) with a multiplicative hash.
      uint32_t mix = mixes[(i * 2654435761u >> 7) % kRoleMixes];
      for (int r = 0; r < kRolesPerTenant; ++r) {
        if ((mix & (1u << r)) == 0) continue;
        WriteOp ur;
        ur.kind = OpKind::kPutUserRole;
        ur.tenant = m.tenant;
        ur.user = m.user;
        ur.role = RoleId(r);
        ops.push_back(std::move(ur));
      }
    }
    batches.push_back(std::move(ops));
  }
  return batches;
}

std::string_view KeyTable::FormatUser(size_t i, char* buf) {
  buf[0] = 'u';
  auto [end, ec] = std::to_chars(buf + 1, buf + 24, i);
  (void)ec;  // 20 digits always fit
  return std::string_view(buf, static_cast<size_t>(end - buf));
}

KeyTable::KeyTable(size_t n) {
  for (int t = 0; t < kTenants; ++t) tenants_.push_back(TenantId(t));
  users_.reserve(n);
  for (size_t i = 0; i < n; ++i) users_.push_back(UserId(i));
}

std::vector<uint32_t> UniformIndices(size_t n, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> dist(0, static_cast<uint32_t>(n - 1));
  std::vector<uint32_t> out(count);
  for (auto& x : out) x = dist(rng);
  return out;
}

std::vector<uint32_t> ZipfIndices(size_t n, size_t count, double s, uint64_t seed) {
  // Inverse CDF by binary search over the cumulative weights 1/k^s, k = 1..n.
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t k = 0; k < n; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), s);
    cdf[k] = sum;
  }
  std::vector<uint32_t> rank_to_key = Shuffled(n, seed ^ 0x5bd1e995u);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(0.0, sum);
  std::vector<uint32_t> out(count);
  for (auto& x : out) {
    size_t rank = std::lower_bound(cdf.begin(), cdf.end(), dist(rng)) - cdf.begin();
    x = rank_to_key[std::min(rank, n - 1)];
  }
  return out;
}

std::vector<uint32_t> Shuffled(size_t n, uint64_t seed) {
  std::vector<uint32_t> out(n);
  std::iota(out.begin(), out.end(), 0u);
  std::mt19937_64 rng(seed);
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

}  // namespace permcache::bench
