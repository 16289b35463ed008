// The backend-neutral write rules: how a batch of WriteOps is applied inside one transaction
// and which (tenant, user) keys it affects, over WriteTxn, the narrow per-transaction interface
// a SQL backend implements (row upserts and deletes that report whether a row changed, existence
// checks, parents, holder queries). No SQL dialect here.
//
// The rules (docs/store.md, "Shared by every backend"):
// - ops apply in order; a reference to a missing tenant / role / policy / business unit (or to
//   one deleted earlier in the batch) is kInvalidArgument "op N: <what> does not exist ...";
// - a role inheritance cycle is refused with its path ("role inheritance cycle: a>b>a");
// - an op records keys only if it changed a row (an idempotent re-put invalidates nothing);
// - holders of a role or policy are read before a delete (afterwards the links are gone);
// - more than kMaxAffectedUsersPerOp users for one op are recorded as the whole tenant, and a
//   tenant-wide key swallows that tenant's user keys;
// - records are keys too (ResourceKey / ElementKey in the user position, store.h): a changed
//   resource or UI element records its own key, a resource grant its user, delete_resource its
//   key and every grantee, delete_role the elements that required the role;
// - a change to a group (status, interval, roles, policies, deletion) records its members, a
//   membership change of the group that one user; role and policy holders include the members
//   of groups holding them;
// - a put_resource still carrying a plaintext password is refused (CheckStoreOps).
// SQLite applies writes through this; PostgreSQL enforces the same rules inside the database
// (constraints and triggers) so that other applications' direct writes meet them too.
//
// Thread safety: an OpApplier and its WriteTxn belong to one write transaction (one thread).
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "permcache/model.h"
#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache::store {

// When one op would list more users than this, the change is recorded for the whole tenant
// (one row rather than thousands; a tenant-wide invalidation is then cheaper than precise ones).
inline constexpr size_t kMaxAffectedUsersPerOp = 10'000;

// One write transaction of a backend. Every mutation returns whether a row changed. Errors are
// the backend's (kUnavailable for I/O, kInvalidArgument for a constraint).
class WriteTxn {
 public:
  enum class Kind { kTenant, kBusinessUnit, kRole, kPolicy, kGroup };
  virtual ~WriteTxn() = default;

  // Does (tenant, key) exist? key is unused for kTenant.
  virtual StatusOr<bool> Exists(Kind kind, const std::string& tenant, const std::string& key) = 0;
  // The role's parents in written order.
  virtual StatusOr<std::vector<std::string>> Parents(const std::string& tenant,
                                                     const std::string& role) = 0;
  // The resource's type, nullopt when the resource does not exist.
  virtual StatusOr<std::optional<std::string>> ResourceType(const std::string& tenant,
                                                            const std::string& resource) = 0;
  // Users holding a grant on the resource (at most `limit`).
  virtual StatusOr<std::vector<std::string>> ResourceGrantees(const std::string& tenant,
                                                              const std::string& resource,
                                                              size_t limit) = 0;
  // Elements whose required_roles name `role`.
  virtual StatusOr<std::vector<std::string>> ElementsRequiringRole(const std::string& tenant,
                                                                   const std::string& role) = 0;
  // Users holding `role` directly or through any role that (transitively) inherits it, or
  // reaching `policy` through such roles or a direct user_policy: at most `limit` of them.
  // Both count members of every group (whatever its status) holding such a role, and
  // PolicyHolders also members of groups holding the policy directly.
  virtual StatusOr<std::vector<std::string>> RoleHolders(const std::string& tenant,
                                                         const std::string& role,
                                                         size_t limit) = 0;
  virtual StatusOr<std::vector<std::string>> PolicyHolders(const std::string& tenant,
                                                           const std::string& policy,
                                                           size_t limit) = 0;

  virtual StatusOr<bool> PutTenant(const std::string& tenant) = 0;
  // Deletes the tenant and everything in it.
  virtual StatusOr<bool> DeleteTenant(const std::string& tenant) = 0;
  virtual StatusOr<bool> PutBusinessUnit(const std::string& tenant, const std::string& unit) = 0;
  // Deletes the unit, the policies scoped to it (with their links) and the role assignments
  // made in it.
  virtual StatusOr<bool> DeleteBusinessUnit(const std::string& tenant,
                                            const std::string& unit) = 0;
  virtual StatusOr<bool> PutMembership(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteMembership(const WriteOp& op) = 0;
  // Inserts the role if missing (true when inserted).
  virtual StatusOr<bool> InsertRole(const std::string& tenant, const std::string& role) = 0;
  // Replaces the role's parents by `parents` (in this order).
  virtual Status SetParents(const std::string& tenant, const std::string& role,
                            const std::vector<std::string>& parents) = 0;
  // Deletes the role and its links (assignments, policy links, inherit edges both ways).
  virtual StatusOr<bool> DeleteRole(const std::string& tenant, const std::string& role) = 0;
  // Upserts the policy (effect, priority, scope, permissions); true when anything differed.
  virtual StatusOr<bool> PutPolicy(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeletePolicy(const std::string& tenant, const std::string& policy) = 0;
  virtual StatusOr<bool> PutRolePolicy(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteRolePolicy(const WriteOp& op) = 0;
  virtual StatusOr<bool> PutUserRole(const WriteOp& op) = 0;
  // Exact key: the assignment with op.business_unit ("" = the unscoped one).
  virtual StatusOr<bool> DeleteUserRole(const WriteOp& op) = 0;
  virtual StatusOr<bool> PutUserPolicy(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteUserPolicy(const WriteOp& op) = 0;
  // Upserts type, owner and state; password_hash absent = keep, "" = clear, else set. The
  // version starts at 1 and grows by 1 whenever state, owner or password_hash change.
  virtual StatusOr<bool> PutResource(const WriteOp& op) = 0;
  // Deletes the resource and its grants.
  virtual StatusOr<bool> DeleteResource(const std::string& tenant, const std::string& resource) = 0;
  virtual StatusOr<bool> PutResourceGrant(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteResourceGrant(const WriteOp& op) = 0;
  // Upserts the element (required_permissions, active) and sets its required roles to `roles`
  // (a set; REQUIRES: unique, each role exists).
  virtual StatusOr<bool> PutUiElement(const WriteOp& op, const std::vector<std::string>& roles) = 0;
  // Deletes the element and its role links.
  virtual StatusOr<bool> DeleteUiElement(const std::string& tenant, const std::string& element) = 0;

  // Groups (DESIGN §8). Members of the group (at most `limit`).
  virtual StatusOr<std::vector<std::string>> GroupMembers(const std::string& tenant,
                                                          const std::string& group,
                                                          size_t limit) = 0;
  // Upserts status and interval.
  virtual StatusOr<bool> PutGroup(const WriteOp& op) = 0;
  // Deletes the group with its members, roles and policies.
  virtual StatusOr<bool> DeleteGroup(const std::string& tenant, const std::string& group) = 0;
  virtual StatusOr<bool> PutGroupMember(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteGroupMember(const WriteOp& op) = 0;
  virtual StatusOr<bool> PutGroupRole(const WriteOp& op) = 0;
  // Exact key: the group's assignment with op.business_unit ("" = the unscoped one).
  virtual StatusOr<bool> DeleteGroupRole(const WriteOp& op) = 0;
  virtual StatusOr<bool> PutGroupPolicy(const WriteOp& op) = 0;
  virtual StatusOr<bool> DeleteGroupPolicy(const WriteOp& op) = 0;
};

// The rules every store applies to ops before any row is touched, beyond ValidateOps (which the
// model layer runs anywhere): kInvalidArgument "op N: password must be hashed ..." for a
// put_resource that carries a plaintext password without its hash. PostgreSQL calls it itself
// (a password is no column a trigger could see); ApplyOps applies it per op.
Status CheckStoreOps(std::span<const WriteOp> ops);

// Applies ops in order through `txn` and returns the affected keys (revision unset): users
// sorted and deduplicated, tenants sorted, users of a tenant-wide tenant left out. The first
// failing op's error is returned prefixed with "op N: "; the caller rolls back.
// REQUIRES: ValidateOps(ops) is OK.
StatusOr<ChangeSet> ApplyOps(WriteTxn& txn, std::span<const WriteOp> ops);

}  // namespace permcache::store
