// The permcache RBAC model (DESIGN §2): plain value types, the write ops that change them, and
// their validation.
//
// Thread safety: plain values. Validation functions are pure and thread-safe.
//
// IDs are 1-128 chars of [A-Za-z0-9._@-] (no ':' so cache keys "perms:{user}:{tenant}" stay
// unambiguous). An empty optional string field (scope, business_unit) means "none".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/status.h"

namespace permcache {

enum class Effect : uint8_t { kAllow = 0, kDeny = 1 };
enum class MembershipStatus : uint8_t { kActive = 0, kSuspended = 1 };

std::string_view EffectName(Effect e);                    // "allow" | "deny"
std::optional<Effect> ParseEffect(std::string_view s);
std::string_view MembershipStatusName(MembershipStatus s);  // "active" | "suspended"
std::optional<MembershipStatus> ParseMembershipStatus(std::string_view s);

struct Tenant {
  std::string tenant;
  bool operator==(const Tenant&) const = default;
};
struct BusinessUnit {
  std::string tenant, business_unit;
  bool operator==(const BusinessUnit&) const = default;
};
struct Membership {
  std::string tenant, user;
  MembershipStatus status = MembershipStatus::kActive;
  bool operator==(const Membership&) const = default;
};
struct Role {
  std::string tenant, role;
  std::vector<std::string> inherits;  // roles of the same tenant whose policies this role gets
  bool operator==(const Role&) const = default;
};
struct Policy {
  std::string tenant, policy;
  Effect effect = Effect::kAllow;
  int32_t priority = 0;
  std::vector<std::string> permissions;  // patterns, e.g. "assets:*"
  std::string scope;                     // business unit, empty = unscoped
  bool operator==(const Policy&) const = default;
};
struct RolePolicy {
  std::string tenant, role, policy;
  bool operator==(const RolePolicy&) const = default;
};
struct UserRole {
  std::string tenant, user, role;
  std::string business_unit;  // empty = applies everywhere in the tenant
  bool operator==(const UserRole&) const = default;
};
struct UserPolicy {
  std::string tenant, user, policy;
  bool operator==(const UserPolicy&) const = default;
};

// A whole model (or one tenant of it). Same shapes as the write ops.
struct Model {
  std::vector<Tenant> tenants;
  std::vector<BusinessUnit> business_units;
  std::vector<Membership> memberships;
  std::vector<Role> roles;
  std::vector<Policy> policies;
  std::vector<RolePolicy> role_policies;
  std::vector<UserRole> user_roles;
  std::vector<UserPolicy> user_policies;
  bool operator==(const Model&) const = default;
};

enum class OpKind : uint8_t {
  kPutTenant,
  kDeleteTenant,
  kPutBusinessUnit,
  kDeleteBusinessUnit,
  kPutMembership,
  kDeleteMembership,
  kPutRole,
  kDeleteRole,
  kPutPolicy,
  kDeletePolicy,
  kPutRolePolicy,
  kDeleteRolePolicy,
  kPutUserRole,
  kDeleteUserRole,
  kPutUserPolicy,
  kDeleteUserPolicy,
};
std::string_view OpKindName(OpKind k);  // "put_tenant", ...
std::optional<OpKind> ParseOpKind(std::string_view s);

// One write op. Which fields matter depends on `kind` (DESIGN §4); others are ignored.
struct WriteOp {
  OpKind kind = OpKind::kPutTenant;
  std::string tenant, user, role, policy, business_unit;
  MembershipStatus status = MembershipStatus::kActive;  // put_membership
  std::vector<std::string> inherits;                    // put_role
  Effect effect = Effect::kAllow;                       // put_policy
  int32_t priority = 0;                                 // put_policy
  std::vector<std::string> permissions;                 // put_policy
  std::string scope;                                    // put_policy (business unit)
  bool operator==(const WriteOp&) const = default;
};

// Limits enforced by validation.
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxPatternLength = 256;
inline constexpr size_t kMaxPatternsPerPolicy = 256;
inline constexpr size_t kMaxInherits = 64;
inline constexpr size_t kMaxOpsPerWrite = 10000;

// OK when `id` is 1-128 chars of [A-Za-z0-9._@-]. `field` names the field in the message.
Status ValidateId(std::string_view field, std::string_view id);
// OK when `pattern` is ':'-separated segments, each [a-z0-9_.-]+ or '*'.
Status ValidatePattern(std::string_view pattern);
// OK when `permission` is a concrete permission: a pattern without '*'.
Status ValidatePermission(std::string_view permission);
// Field-level validation of one op (ids, patterns, inherits); references are checked by the store.
Status ValidateOp(const WriteOp& op);
// Validates every op; the error message starts with "op N: ".
Status ValidateOps(std::span<const WriteOp> ops);

// The put ops that recreate `model`, in dependency order (tenants first, links last).
std::vector<WriteOp> ModelToOps(const Model& model);

}  // namespace permcache
