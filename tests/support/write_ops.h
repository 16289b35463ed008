// Terse WriteOp builders for tests: one function per op kind, fields in the order of the key
// (tenant first).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "permcache/model.h"

namespace permcache::testing {

inline WriteOp Op(OpKind kind, std::string tenant) {
  WriteOp op;
  op.kind = kind;
  op.tenant = std::move(tenant);
  return op;
}
inline WriteOp PutTenant(std::string t) { return Op(OpKind::kPutTenant, std::move(t)); }
inline WriteOp DeleteTenant(std::string t) { return Op(OpKind::kDeleteTenant, std::move(t)); }
inline WriteOp PutBu(std::string t, std::string bu) {
  WriteOp op = Op(OpKind::kPutBusinessUnit, std::move(t));
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp DeleteBu(std::string t, std::string bu) {
  WriteOp op = Op(OpKind::kDeleteBusinessUnit, std::move(t));
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp PutMember(std::string t, std::string u,
                         MembershipStatus status = MembershipStatus::kActive) {
  WriteOp op = Op(OpKind::kPutMembership, std::move(t));
  op.user = std::move(u);
  op.status = status;
  return op;
}
inline WriteOp DeleteMember(std::string t, std::string u) {
  WriteOp op = Op(OpKind::kDeleteMembership, std::move(t));
  op.user = std::move(u);
  return op;
}
inline WriteOp PutRole(std::string t, std::string r, std::vector<std::string> inherits = {}) {
  WriteOp op = Op(OpKind::kPutRole, std::move(t));
  op.role = std::move(r);
  op.inherits = std::move(inherits);
  return op;
}
inline WriteOp DeleteRole(std::string t, std::string r) {
  WriteOp op = Op(OpKind::kDeleteRole, std::move(t));
  op.role = std::move(r);
  return op;
}
inline WriteOp PutPolicy(std::string t, std::string p, std::vector<std::string> permissions,
                         Effect effect = Effect::kAllow, int32_t priority = 0,
                         std::string scope = "") {
  WriteOp op = Op(OpKind::kPutPolicy, std::move(t));
  op.policy = std::move(p);
  op.permissions = std::move(permissions);
  op.effect = effect;
  op.priority = priority;
  op.scope = std::move(scope);
  return op;
}
inline WriteOp DeletePolicy(std::string t, std::string p) {
  WriteOp op = Op(OpKind::kDeletePolicy, std::move(t));
  op.policy = std::move(p);
  return op;
}
inline WriteOp PutRolePolicy(std::string t, std::string r, std::string p) {
  WriteOp op = Op(OpKind::kPutRolePolicy, std::move(t));
  op.role = std::move(r);
  op.policy = std::move(p);
  return op;
}
inline WriteOp DeleteRolePolicy(std::string t, std::string r, std::string p) {
  WriteOp op = Op(OpKind::kDeleteRolePolicy, std::move(t));
  op.role = std::move(r);
  op.policy = std::move(p);
  return op;
}
inline WriteOp PutUserRole(std::string t, std::string u, std::string r, std::string bu = "") {
  WriteOp op = Op(OpKind::kPutUserRole, std::move(t));
  op.user = std::move(u);
  op.role = std::move(r);
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp DeleteUserRole(std::string t, std::string u, std::string r, std::string bu = "") {
  WriteOp op = Op(OpKind::kDeleteUserRole, std::move(t));
  op.user = std::move(u);
  op.role = std::move(r);
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp PutUserPolicy(std::string t, std::string u, std::string p) {
  WriteOp op = Op(OpKind::kPutUserPolicy, std::move(t));
  op.user = std::move(u);
  op.policy = std::move(p);
  return op;
}
inline WriteOp DeleteUserPolicy(std::string t, std::string u, std::string p) {
  WriteOp op = Op(OpKind::kDeleteUserPolicy, std::move(t));
  op.user = std::move(u);
  op.policy = std::move(p);
  return op;
}

inline WriteOp PutResource(std::string t, std::string r, std::string type,
                           ResourceState state = ResourceState::kPrivate, std::string owner = "") {
  WriteOp op = Op(OpKind::kPutResource, std::move(t));
  op.resource = std::move(r);
  op.type = std::move(type);
  op.state = state;
  op.owner = std::move(owner);
  return op;
}
inline WriteOp DeleteResource(std::string t, std::string r) {
  WriteOp op = Op(OpKind::kDeleteResource, std::move(t));
  op.resource = std::move(r);
  return op;
}
inline WriteOp PutResourceGrant(std::string t, std::string r, std::string u,
                                std::vector<std::string> permissions) {
  WriteOp op = Op(OpKind::kPutResourceGrant, std::move(t));
  op.resource = std::move(r);
  op.user = std::move(u);
  op.permissions = std::move(permissions);
  return op;
}
inline WriteOp DeleteResourceGrant(std::string t, std::string r, std::string u) {
  WriteOp op = Op(OpKind::kDeleteResourceGrant, std::move(t));
  op.resource = std::move(r);
  op.user = std::move(u);
  return op;
}
inline WriteOp PutUiElement(std::string t, std::string e, std::vector<std::string> roles = {},
                            std::vector<std::string> permissions = {}, bool active = true) {
  WriteOp op = Op(OpKind::kPutUiElement, std::move(t));
  op.element = std::move(e);
  op.required_roles = std::move(roles);
  op.required_permissions = std::move(permissions);
  op.active = active;
  return op;
}
inline WriteOp DeleteUiElement(std::string t, std::string e) {
  WriteOp op = Op(OpKind::kDeleteUiElement, std::move(t));
  op.element = std::move(e);
  return op;
}

// Groups (DESIGN §8).
inline WriteOp GroupOp(OpKind kind, std::string t, std::string g) {
  WriteOp op = Op(kind, std::move(t));
  op.group = std::move(g);
  return op;
}
inline WriteOp PutGroup(std::string t, std::string g,
                        MembershipStatus status = MembershipStatus::kActive) {
  WriteOp op = GroupOp(OpKind::kPutGroup, std::move(t), std::move(g));
  op.status = status;
  return op;
}
inline WriteOp DeleteGroup(std::string t, std::string g) {
  return GroupOp(OpKind::kDeleteGroup, std::move(t), std::move(g));
}
inline WriteOp PutGroupMember(std::string t, std::string g, std::string u) {
  WriteOp op = GroupOp(OpKind::kPutGroupMember, std::move(t), std::move(g));
  op.user = std::move(u);
  return op;
}
inline WriteOp DeleteGroupMember(std::string t, std::string g, std::string u) {
  WriteOp op = GroupOp(OpKind::kDeleteGroupMember, std::move(t), std::move(g));
  op.user = std::move(u);
  return op;
}
inline WriteOp PutGroupRole(std::string t, std::string g, std::string r, std::string bu = "") {
  WriteOp op = GroupOp(OpKind::kPutGroupRole, std::move(t), std::move(g));
  op.role = std::move(r);
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp DeleteGroupRole(std::string t, std::string g, std::string r, std::string bu = "") {
  WriteOp op = GroupOp(OpKind::kDeleteGroupRole, std::move(t), std::move(g));
  op.role = std::move(r);
  op.business_unit = std::move(bu);
  return op;
}
inline WriteOp PutGroupPolicy(std::string t, std::string g, std::string p) {
  WriteOp op = GroupOp(OpKind::kPutGroupPolicy, std::move(t), std::move(g));
  op.policy = std::move(p);
  return op;
}
inline WriteOp DeleteGroupPolicy(std::string t, std::string g, std::string p) {
  WriteOp op = GroupOp(OpKind::kDeleteGroupPolicy, std::move(t), std::move(g));
  op.policy = std::move(p);
  return op;
}

}  // namespace permcache::testing
