// The op table (op_table.h) and the model entity <-> put op bindings built on it.
#include "model/op_table.h"

#include <array>
#include <type_traits>
#include <utility>

namespace permcache::model {
namespace {

using F = Field;
using T = FieldType;

constexpr std::array<FieldSpec, 24> kFields = {{
    {F::kTenant, "tenant", T::kId, "", 0},
    {F::kBusinessUnit, "business_unit", T::kId, "", 0},
    {F::kUser, "user", T::kId, "", 0},
    {F::kStatus, "status", T::kMembershipStatus, "", 0},
    {F::kRole, "role", T::kId, "", 0},
    {F::kInherits, "inherits", T::kIdList, "roles", kMaxInherits},
    {F::kPolicy, "policy", T::kId, "", 0},
    {F::kEffect, "effect", T::kEffect, "", 0},
    {F::kPriority, "priority", T::kInt32, "", 0},
    {F::kPermissions, "permissions", T::kPatternList, "patterns", kMaxPatternsPerPolicy},
    {F::kScope, "scope", T::kId, "", 0},
    {F::kResource, "resource", T::kId, "", 0},
    {F::kType, "type", T::kSegment, "", 0},
    {F::kOwner, "owner", T::kId, "", 0},
    {F::kState, "state", T::kResourceState, "", 0},
    {F::kPassword, "password", T::kSecret, "", 0},
    {F::kElement, "element", T::kId, "", 0},
    {F::kRequiredRoles, "required_roles", T::kIdList, "roles", kMaxRequirements},
    {F::kRequiredPermissions, "required_permissions", T::kPermissionList, "permissions",
     kMaxRequirements},
    {F::kActive, "active", T::kBool, "", 0},
    {F::kStartsAt, "starts_at", T::kInstant, "", 0},
    {F::kExpiresAt, "expires_at", T::kInstant, "", 0},
    {F::kGroup, "group", T::kId, "", 0},
    {F::kGroupStatus, "status", T::kGroupStatus, "", 0},
}};

constexpr OpField Req(Field f) { return {f, true, false}; }
constexpr OpField Opt(Field f) { return {f, false, false}; }
constexpr OpField NonEmpty(Field f) { return {f, true, true}; }

constexpr OpField kTenantF[] = {Req(F::kTenant)};
constexpr OpField kBuF[] = {Req(F::kTenant), Req(F::kBusinessUnit)};
constexpr OpField kPutMemberF[] = {Req(F::kTenant), Req(F::kUser), Opt(F::kStatus),
                                   Opt(F::kStartsAt), Opt(F::kExpiresAt)};
constexpr OpField kUserF[] = {Req(F::kTenant), Req(F::kUser)};
constexpr OpField kPutRoleF[] = {Req(F::kTenant), Req(F::kRole), Opt(F::kInherits)};
constexpr OpField kRoleF[] = {Req(F::kTenant), Req(F::kRole)};
constexpr OpField kPutPolicyF[] = {Req(F::kTenant),        Req(F::kPolicy),
                                   Req(F::kEffect),        Opt(F::kPriority),
                                   NonEmpty(F::kPermissions), Opt(F::kScope)};
constexpr OpField kPolicyF[] = {Req(F::kTenant), Req(F::kPolicy)};
constexpr OpField kRolePolicyF[] = {Req(F::kTenant), Req(F::kRole), Req(F::kPolicy)};
constexpr OpField kUserRoleF[] = {Req(F::kTenant), Req(F::kUser), Req(F::kRole),
                                  Opt(F::kBusinessUnit)};
constexpr OpField kPutUserRoleF[] = {Req(F::kTenant),       Req(F::kUser),     Req(F::kRole),
                                     Opt(F::kBusinessUnit), Opt(F::kStartsAt), Opt(F::kExpiresAt)};
constexpr OpField kUserPolicyF[] = {Req(F::kTenant), Req(F::kUser), Req(F::kPolicy)};
constexpr OpField kPutUserPolicyF[] = {Req(F::kTenant), Req(F::kUser), Req(F::kPolicy),
                                       Opt(F::kStartsAt), Opt(F::kExpiresAt)};
constexpr OpField kPutResourceF[] = {Req(F::kTenant), Req(F::kResource), Req(F::kType),
                                     Opt(F::kOwner),  Req(F::kState),    Opt(F::kPassword)};
constexpr OpField kResourceF[] = {Req(F::kTenant), Req(F::kResource)};
constexpr OpField kPutGrantF[] = {Req(F::kTenant),           Req(F::kResource),
                                  Req(F::kUser),             NonEmpty(F::kPermissions),
                                  Opt(F::kStartsAt),         Opt(F::kExpiresAt)};
constexpr OpField kGrantF[] = {Req(F::kTenant), Req(F::kResource), Req(F::kUser)};
constexpr OpField kPutElementF[] = {Req(F::kTenant), Req(F::kElement), Opt(F::kRequiredRoles),
                                    Opt(F::kRequiredPermissions), Opt(F::kActive)};
constexpr OpField kElementF[] = {Req(F::kTenant), Req(F::kElement)};
constexpr OpField kPutGroupF[] = {Req(F::kTenant), Req(F::kGroup), Opt(F::kGroupStatus),
                                  Opt(F::kStartsAt), Opt(F::kExpiresAt)};
constexpr OpField kGroupF[] = {Req(F::kTenant), Req(F::kGroup)};
constexpr OpField kGroupMemberF[] = {Req(F::kTenant), Req(F::kGroup), Req(F::kUser)};
constexpr OpField kGroupRoleF[] = {Req(F::kTenant), Req(F::kGroup), Req(F::kRole),
                                   Opt(F::kBusinessUnit)};
constexpr OpField kGroupPolicyF[] = {Req(F::kTenant), Req(F::kGroup), Req(F::kPolicy)};

// Indexed by OpKind.
constexpr std::array<OpSpec, kOpKindCount> kOps = {{
    {OpKind::kPutTenant, "put_tenant", kTenantF, "tenants"},
    {OpKind::kDeleteTenant, "delete_tenant", kTenantF, ""},
    {OpKind::kPutBusinessUnit, "put_business_unit", kBuF, "business_units"},
    {OpKind::kDeleteBusinessUnit, "delete_business_unit", kBuF, ""},
    {OpKind::kPutMembership, "put_membership", kPutMemberF, "memberships"},
    {OpKind::kDeleteMembership, "delete_membership", kUserF, ""},
    {OpKind::kPutRole, "put_role", kPutRoleF, "roles"},
    {OpKind::kDeleteRole, "delete_role", kRoleF, ""},
    {OpKind::kPutPolicy, "put_policy", kPutPolicyF, "policies"},
    {OpKind::kDeletePolicy, "delete_policy", kPolicyF, ""},
    {OpKind::kPutRolePolicy, "put_role_policy", kRolePolicyF, "role_policies"},
    {OpKind::kDeleteRolePolicy, "delete_role_policy", kRolePolicyF, ""},
    {OpKind::kPutUserRole, "put_user_role", kPutUserRoleF, "user_roles"},
    {OpKind::kDeleteUserRole, "delete_user_role", kUserRoleF, ""},
    {OpKind::kPutUserPolicy, "put_user_policy", kPutUserPolicyF, "user_policies"},
    {OpKind::kDeleteUserPolicy, "delete_user_policy", kUserPolicyF, ""},
    {OpKind::kPutResource, "put_resource", kPutResourceF, "resources"},
    {OpKind::kDeleteResource, "delete_resource", kResourceF, ""},
    {OpKind::kPutResourceGrant, "put_resource_grant", kPutGrantF, "resource_grants"},
    {OpKind::kDeleteResourceGrant, "delete_resource_grant", kGrantF, ""},
    {OpKind::kPutUiElement, "put_ui_element", kPutElementF, "ui_elements"},
    {OpKind::kDeleteUiElement, "delete_ui_element", kElementF, ""},
    {OpKind::kPutGroup, "put_group", kPutGroupF, "groups"},
    {OpKind::kDeleteGroup, "delete_group", kGroupF, ""},
    {OpKind::kPutGroupMember, "put_group_member", kGroupMemberF, "group_members"},
    {OpKind::kDeleteGroupMember, "delete_group_member", kGroupMemberF, ""},
    {OpKind::kPutGroupRole, "put_group_role", kGroupRoleF, "group_roles"},
    {OpKind::kDeleteGroupRole, "delete_group_role", kGroupRoleF, ""},
    {OpKind::kPutGroupPolicy, "put_group_policy", kGroupPolicyF, "group_policies"},
    {OpKind::kDeleteGroupPolicy, "delete_group_policy", kGroupPolicyF, ""},
}};

constexpr bool TablesInOrder() {
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (static_cast<size_t>(kFields[i].field) != i) return false;
  }
  for (size_t i = 0; i < kOps.size(); ++i) {
    if (static_cast<size_t>(kOps[i].kind) != i) return false;
  }
  return true;
}
static_assert(TablesInOrder(), "kFields and kOps are indexed by their enums");

constexpr std::array<const OpSpec*, 15> kSections = {
    &kOps[static_cast<size_t>(OpKind::kPutTenant)],
    &kOps[static_cast<size_t>(OpKind::kPutBusinessUnit)],
    &kOps[static_cast<size_t>(OpKind::kPutMembership)],
    &kOps[static_cast<size_t>(OpKind::kPutRole)],
    &kOps[static_cast<size_t>(OpKind::kPutPolicy)],
    &kOps[static_cast<size_t>(OpKind::kPutRolePolicy)],
    &kOps[static_cast<size_t>(OpKind::kPutUserRole)],
    &kOps[static_cast<size_t>(OpKind::kPutUserPolicy)],
    &kOps[static_cast<size_t>(OpKind::kPutResource)],
    &kOps[static_cast<size_t>(OpKind::kPutResourceGrant)],
    &kOps[static_cast<size_t>(OpKind::kPutUiElement)],
    &kOps[static_cast<size_t>(OpKind::kPutGroup)],
    &kOps[static_cast<size_t>(OpKind::kPutGroupMember)],
    &kOps[static_cast<size_t>(OpKind::kPutGroupRole)],
    &kOps[static_cast<size_t>(OpKind::kPutGroupPolicy)],
};

constexpr std::string_view kEffectNames[] = {"allow", "deny"};
constexpr std::string_view kStatusNames[] = {"active", "suspended", "pending"};
constexpr std::string_view kGroupStatusNames[] = {"active", "suspended"};
constexpr std::string_view kStateNames[] = {"public", "unlisted", "private", "restricted"};

// ---- entity <-> op bindings: which entity member each field of its put op is ----

template <class E, class M>
struct Bind {
  using Entity = E;
  Field field;
  M E::*member;
};
template <class E, class M>
constexpr Bind<E, M> B(Field f, M E::*m) { return {f, m}; }

template <class E>
struct Entity;
template <>
struct Entity<Tenant> {
  static constexpr auto kSection = &Model::tenants;
  static constexpr OpKind kPut = OpKind::kPutTenant;
  static constexpr auto kBinds = std::make_tuple(B(F::kTenant, &Tenant::tenant));
};
template <>
struct Entity<BusinessUnit> {
  static constexpr auto kSection = &Model::business_units;
  static constexpr OpKind kPut = OpKind::kPutBusinessUnit;
  static constexpr auto kBinds = std::make_tuple(B(F::kTenant, &BusinessUnit::tenant),
                                                 B(F::kBusinessUnit, &BusinessUnit::business_unit));
};
template <>
struct Entity<Membership> {
  static constexpr auto kSection = &Model::memberships;
  static constexpr OpKind kPut = OpKind::kPutMembership;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &Membership::tenant), B(F::kUser, &Membership::user),
                      B(F::kStatus, &Membership::status),
                      B(F::kStartsAt, &Membership::starts_at_ms),
                      B(F::kExpiresAt, &Membership::expires_at_ms));
};
template <>
struct Entity<Role> {
  static constexpr auto kSection = &Model::roles;
  static constexpr OpKind kPut = OpKind::kPutRole;
  static constexpr auto kBinds = std::make_tuple(B(F::kTenant, &Role::tenant),
                                                 B(F::kRole, &Role::role),
                                                 B(F::kInherits, &Role::inherits));
};
template <>
struct Entity<Policy> {
  static constexpr auto kSection = &Model::policies;
  static constexpr OpKind kPut = OpKind::kPutPolicy;
  static constexpr auto kBinds = std::make_tuple(
      B(F::kTenant, &Policy::tenant), B(F::kPolicy, &Policy::policy),
      B(F::kEffect, &Policy::effect), B(F::kPriority, &Policy::priority),
      B(F::kPermissions, &Policy::permissions), B(F::kScope, &Policy::scope));
};
template <>
struct Entity<RolePolicy> {
  static constexpr auto kSection = &Model::role_policies;
  static constexpr OpKind kPut = OpKind::kPutRolePolicy;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &RolePolicy::tenant), B(F::kRole, &RolePolicy::role),
                      B(F::kPolicy, &RolePolicy::policy));
};
template <>
struct Entity<UserRole> {
  static constexpr auto kSection = &Model::user_roles;
  static constexpr OpKind kPut = OpKind::kPutUserRole;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &UserRole::tenant), B(F::kUser, &UserRole::user),
                      B(F::kRole, &UserRole::role), B(F::kBusinessUnit, &UserRole::business_unit),
                      B(F::kStartsAt, &UserRole::starts_at_ms),
                      B(F::kExpiresAt, &UserRole::expires_at_ms));
};
template <>
struct Entity<UserPolicy> {
  static constexpr auto kSection = &Model::user_policies;
  static constexpr OpKind kPut = OpKind::kPutUserPolicy;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &UserPolicy::tenant), B(F::kUser, &UserPolicy::user),
                      B(F::kPolicy, &UserPolicy::policy),
                      B(F::kStartsAt, &UserPolicy::starts_at_ms),
                      B(F::kExpiresAt, &UserPolicy::expires_at_ms));
};
template <>
struct Entity<Resource> {
  static constexpr auto kSection = &Model::resources;
  static constexpr OpKind kPut = OpKind::kPutResource;
  static constexpr auto kBinds = std::make_tuple(
      B(F::kTenant, &Resource::tenant), B(F::kResource, &Resource::resource),
      B(F::kType, &Resource::type), B(F::kOwner, &Resource::owner),
      B(F::kState, &Resource::state));
};
template <>
struct Entity<ResourceGrant> {
  static constexpr auto kSection = &Model::resource_grants;
  static constexpr OpKind kPut = OpKind::kPutResourceGrant;
  static constexpr auto kBinds = std::make_tuple(
      B(F::kTenant, &ResourceGrant::tenant), B(F::kResource, &ResourceGrant::resource),
      B(F::kUser, &ResourceGrant::user), B(F::kPermissions, &ResourceGrant::permissions),
      B(F::kStartsAt, &ResourceGrant::starts_at_ms),
      B(F::kExpiresAt, &ResourceGrant::expires_at_ms));
};
template <>
struct Entity<UiElement> {
  static constexpr auto kSection = &Model::ui_elements;
  static constexpr OpKind kPut = OpKind::kPutUiElement;
  static constexpr auto kBinds = std::make_tuple(
      B(F::kTenant, &UiElement::tenant), B(F::kElement, &UiElement::element),
      B(F::kRequiredRoles, &UiElement::required_roles),
      B(F::kRequiredPermissions, &UiElement::required_permissions),
      B(F::kActive, &UiElement::active));
};

template <>
struct Entity<Group> {
  static constexpr auto kSection = &Model::groups;
  static constexpr OpKind kPut = OpKind::kPutGroup;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &Group::tenant), B(F::kGroup, &Group::group),
                      B(F::kGroupStatus, &Group::status), B(F::kStartsAt, &Group::starts_at_ms),
                      B(F::kExpiresAt, &Group::expires_at_ms));
};
template <>
struct Entity<GroupMember> {
  static constexpr auto kSection = &Model::group_members;
  static constexpr OpKind kPut = OpKind::kPutGroupMember;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &GroupMember::tenant), B(F::kGroup, &GroupMember::group),
                      B(F::kUser, &GroupMember::user));
};
template <>
struct Entity<GroupRole> {
  static constexpr auto kSection = &Model::group_roles;
  static constexpr OpKind kPut = OpKind::kPutGroupRole;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &GroupRole::tenant), B(F::kGroup, &GroupRole::group),
                      B(F::kRole, &GroupRole::role),
                      B(F::kBusinessUnit, &GroupRole::business_unit));
};
template <>
struct Entity<GroupPolicy> {
  static constexpr auto kSection = &Model::group_policies;
  static constexpr OpKind kPut = OpKind::kPutGroupPolicy;
  static constexpr auto kBinds =
      std::make_tuple(B(F::kTenant, &GroupPolicy::tenant), B(F::kGroup, &GroupPolicy::group),
                      B(F::kPolicy, &GroupPolicy::policy));
};

// Calls fn.operator()<E>() for every entity, in section order.
template <class Fn>
void ForEachEntity(Fn&& fn) {
  fn.template operator()<Tenant>();
  fn.template operator()<BusinessUnit>();
  fn.template operator()<Membership>();
  fn.template operator()<Role>();
  fn.template operator()<Policy>();
  fn.template operator()<RolePolicy>();
  fn.template operator()<UserRole>();
  fn.template operator()<UserPolicy>();
  fn.template operator()<Resource>();
  fn.template operator()<ResourceGrant>();
  fn.template operator()<UiElement>();
  fn.template operator()<Group>();
  fn.template operator()<GroupMember>();
  fn.template operator()<GroupRole>();
  fn.template operator()<GroupPolicy>();
}

// The WriteOp member type a binding's entity member corresponds to.
template <class Binding>
using MemberOf = std::remove_cvref_t<decltype(std::declval<typename Binding::Entity&>().*
                                              std::declval<Binding>().member)>;

template <class E>
WriteOp ToOp(const E& e) {
  WriteOp op;
  op.kind = Entity<E>::kPut;
  std::apply(
      [&](const auto&... b) {
        ((*std::get<MemberOf<std::remove_cvref_t<decltype(b)>>*>(RefOf(op, b.field)) =
              e.*b.member),
         ...);
      },
      Entity<E>::kBinds);
  return op;
}

template <class E>
E FromOp(WriteOp&& op) {
  E e;
  std::apply(
      [&](const auto&... b) {
        ((e.*b.member =
              std::move(*std::get<MemberOf<std::remove_cvref_t<decltype(b)>>*>(RefOf(op, b.field)))),
         ...);
      },
      Entity<E>::kBinds);
  return e;
}

}  // namespace

const FieldSpec& SpecOf(Field field) { return kFields[static_cast<size_t>(field)]; }
const OpSpec& SpecOf(OpKind kind) { return kOps[static_cast<size_t>(kind)]; }
std::span<const OpSpec> AllOpSpecs() { return kOps; }
std::span<const OpSpec* const> ModelSections() { return kSections; }

FieldRef RefOf(WriteOp& op, Field field) {
  switch (field) {
    case F::kTenant: return &op.tenant;
    case F::kBusinessUnit: return &op.business_unit;
    case F::kUser: return &op.user;
    case F::kStatus: return &op.status;
    case F::kRole: return &op.role;
    case F::kInherits: return &op.inherits;
    case F::kPolicy: return &op.policy;
    case F::kEffect: return &op.effect;
    case F::kPriority: return &op.priority;
    case F::kPermissions: return &op.permissions;
    case F::kScope: return &op.scope;
    case F::kResource: return &op.resource;
    case F::kType: return &op.type;
    case F::kOwner: return &op.owner;
    case F::kState: return &op.state;
    case F::kPassword: return &op.password;
    case F::kElement: return &op.element;
    case F::kRequiredRoles: return &op.required_roles;
    case F::kRequiredPermissions: return &op.required_permissions;
    case F::kActive: return &op.active;
    case F::kStartsAt: return &op.starts_at_ms;
    case F::kExpiresAt: return &op.expires_at_ms;
    case F::kGroup: return &op.group;
    case F::kGroupStatus: return &op.status;
  }
  return &op.tenant;
}

std::span<const std::string_view> EnumNames(FieldType type) {
  switch (type) {
    case T::kEffect: return kEffectNames;
    case T::kMembershipStatus: return kStatusNames;
    case T::kGroupStatus: return kGroupStatusNames;
    case T::kResourceState: return kStateNames;
    default: return {};
  }
}

std::string EnumChoices(FieldType type) {
  const auto names = EnumNames(type);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += '"';
    out += names[i];
    out += '"';
  }
  return out;
}

void AppendEntityOps(const Model& model, std::vector<WriteOp>* ops) {
  ForEachEntity([&]<class E>() {
    for (const E& e : model.*Entity<E>::kSection) ops->push_back(ToOp(e));
  });
}

void AddToModel(WriteOp&& op, Model* model) {
  ForEachEntity([&]<class E>() {
    if (op.kind == Entity<E>::kPut) (model->*Entity<E>::kSection).push_back(FromOp<E>(std::move(op)));
  });
}

}  // namespace permcache::model
