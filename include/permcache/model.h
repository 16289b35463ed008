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
// kPending: not approved yet (seed 004); it counts like a suspended membership.
enum class MembershipStatus : uint8_t { kActive = 0, kSuspended = 1, kPending = 2 };

std::string_view EffectName(Effect e);                    // "allow" | "deny"
std::optional<Effect> ParseEffect(std::string_view s);
std::string_view MembershipStatusName(MembershipStatus s);  // "active" | "suspended" | "pending"
std::optional<MembershipStatus> ParseMembershipStatus(std::string_view s);

// A resource's visibility (DESIGN §7, seed 001's media states).
enum class ResourceState : uint8_t { kPublic = 0, kUnlisted = 1, kPrivate = 2, kRestricted = 3 };
std::string_view ResourceStateName(ResourceState s);  // "public" | "unlisted" | ...
std::optional<ResourceState> ParseResourceState(std::string_view s);

// A validity interval [starts_at, expires_at) in ms since the Unix epoch (UTC), DESIGN §8: a
// grant counts only while starts_at <= now < expires_at. The defaults are unbounded.
struct Interval {
  static constexpr int64_t kNoStart = INT64_MIN;
  static constexpr int64_t kNoExpiry = INT64_MAX;
  int64_t starts_at_ms = kNoStart;
  int64_t expires_at_ms = kNoExpiry;

  bool Contains(int64_t now_ms) const { return starts_at_ms <= now_ms && now_ms < expires_at_ms; }
  bool unbounded() const { return starts_at_ms == kNoStart && expires_at_ms == kNoExpiry; }
  // The first instant after `now_ms` at which Contains() changes; kNoExpiry when none.
  int64_t NextTransitionAfter(int64_t now_ms) const {
    if (now_ms < starts_at_ms) return starts_at_ms;
    if (now_ms < expires_at_ms) return expires_at_ms;
    return kNoExpiry;
  }
  bool operator==(const Interval&) const = default;
};

// RFC 3339 instants ("2026-12-01T12:00:00Z", "2026-12-01T13:00:00.250+01:00"): ms since the Unix
// epoch, or nullopt when `text` is not one (years 0001-9999, a 'T' or 't' or ' ' separator, 'Z'
// or a +hh:mm / -hh:mm offset, optional fraction kept to the millisecond, leap second 60 read
// as 59.999).
std::optional<int64_t> ParseInstant(std::string_view text);
// The UTC form, with milliseconds only when they are not zero: "2026-12-01T12:00:00Z".
std::string FormatInstant(int64_t ms);

struct Tenant {
  std::string tenant;
  bool operator==(const Tenant&) const = default;
};
struct BusinessUnit {
  std::string tenant, business_unit;
  bool operator==(const BusinessUnit&) const = default;
};
// starts_at_ms / expires_at_ms (DESIGN §8): optional bounds of the interval in which the
// membership, assignment or grant counts, ms since the Unix epoch (RFC 3339 on the wire).
struct Membership {
  std::string tenant, user;
  MembershipStatus status = MembershipStatus::kActive;
  std::optional<int64_t> starts_at_ms, expires_at_ms;
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
  std::optional<int64_t> starts_at_ms, expires_at_ms;
  bool operator==(const UserRole&) const = default;
};
struct UserPolicy {
  std::string tenant, user, policy;
  std::optional<int64_t> starts_at_ms, expires_at_ms;
  bool operator==(const UserPolicy&) const = default;
};

// A resource (seed 001's media). Its password is never part of the model: it is write-only
// (WriteOp::password) and stored only as a hash.
struct Resource {
  std::string tenant, resource;
  std::string type;   // the first segment of the permissions that name it ("media")
  std::string owner;  // a user id, empty = none
  ResourceState state = ResourceState::kPrivate;
  bool operator==(const Resource&) const = default;
};
// Permissions (patterns) one user holds on one resource.
struct ResourceGrant {
  std::string tenant, resource, user;
  std::vector<std::string> permissions;
  std::optional<int64_t> starts_at_ms, expires_at_ms;
  bool operator==(const ResourceGrant&) const = default;
};
// A UI element (seed 002): shown when any required role or any required permission is held.
struct UiElement {
  std::string tenant, element;
  std::vector<std::string> required_roles;
  std::vector<std::string> required_permissions;  // concrete permissions (no '*')
  bool active = true;
  bool operator==(const UiElement&) const = default;
};

// A group of users (seed 004's organisations, DESIGN §8). Members of an active group, while
// the group's interval holds, get its roles and policies; a member without a membership of
// their own is an active member of the tenant through the group. status is kActive or
// kSuspended (a group is never pending).
struct Group {
  std::string tenant, group;
  MembershipStatus status = MembershipStatus::kActive;
  std::optional<int64_t> starts_at_ms, expires_at_ms;
  bool operator==(const Group&) const = default;
};
struct GroupMember {
  std::string tenant, group, user;
  bool operator==(const GroupMember&) const = default;
};
struct GroupRole {
  std::string tenant, group, role;
  std::string business_unit;  // empty = applies everywhere in the tenant
  bool operator==(const GroupRole&) const = default;
};
struct GroupPolicy {
  std::string tenant, group, policy;
  bool operator==(const GroupPolicy&) const = default;
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
  std::vector<Resource> resources;
  std::vector<ResourceGrant> resource_grants;
  std::vector<UiElement> ui_elements;
  std::vector<Group> groups;
  std::vector<GroupMember> group_members;
  std::vector<GroupRole> group_roles;
  std::vector<GroupPolicy> group_policies;
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
  kPutResource,
  kDeleteResource,
  kPutResourceGrant,
  kDeleteResourceGrant,
  kPutUiElement,
  kDeleteUiElement,
  kPutGroup,
  kDeleteGroup,
  kPutGroupMember,
  kDeleteGroupMember,
  kPutGroupRole,
  kDeleteGroupRole,
  kPutGroupPolicy,
  kDeleteGroupPolicy,
};
inline constexpr size_t kOpKindCount = static_cast<size_t>(OpKind::kDeleteGroupPolicy) + 1;
std::string_view OpKindName(OpKind k);  // "put_tenant", ...
std::optional<OpKind> ParseOpKind(std::string_view s);

// One write op. Which fields matter depends on `kind` (DESIGN §4); others are ignored.
struct WriteOp {
  OpKind kind = OpKind::kPutTenant;
  std::string tenant, user, role, policy, business_unit;
  std::string group;                                    // group ops
  MembershipStatus status = MembershipStatus::kActive;  // put_membership, put_group
  std::vector<std::string> inherits;                    // put_role
  Effect effect = Effect::kAllow;                       // put_policy
  int32_t priority = 0;                                 // put_policy
  std::vector<std::string> permissions;                 // put_policy
  std::string scope;                                    // put_policy (business unit)
  std::string resource, type, owner;                    // put_resource, resource grants
  ResourceState state = ResourceState::kPrivate;        // put_resource
  // put_resource: the plaintext password as received (absent = keep the current one, "" =
  // clear it). Checker::Write replaces it by password_hash before the store sees the op; a
  // store refuses an op that still carries a plaintext password.
  std::optional<std::string> password;
  std::optional<std::string> password_hash;             // encoded KDF output ("" = clear)
  std::string element;                                  // ui elements
  std::vector<std::string> required_roles;              // put_ui_element
  std::vector<std::string> required_permissions;        // put_ui_element
  bool active = true;                                   // put_ui_element
  // put_membership, put_user_role, put_user_policy, put_resource_grant, put_group: the
  // validity interval (absent = unbounded), ms since the Unix epoch.
  std::optional<int64_t> starts_at_ms, expires_at_ms;
  bool operator==(const WriteOp&) const = default;
};

// Limits enforced by validation.
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxPatternLength = 256;
inline constexpr size_t kMaxPatternsPerPolicy = 256;
inline constexpr size_t kMaxInherits = 64;
inline constexpr size_t kMaxOpsPerWrite = 10000;
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr size_t kMaxRequirements = 64;  // required roles / permissions of an element

// OK when `id` is 1-128 chars of [A-Za-z0-9._@-]. `field` names the field in the message.
Status ValidateId(std::string_view field, std::string_view id);
// OK when `segment` is one permission segment [a-z0-9_.-]+ (a resource type).
Status ValidateSegment(std::string_view field, std::string_view segment);
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
