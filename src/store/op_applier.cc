#include "store/op_applier.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace permcache::store {
namespace {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

Status CheckStoreOp(const WriteOp& op) {
  if (op.kind == OpKind::kPutResource && op.password && !op.password_hash) {
    return InvalidArgumentError(
        "password must be hashed before it reaches the store (Checker::Write does it)");
  }
  return Status::Ok();
}

// Duplicates dropped, first position wins.
std::vector<std::string> Unique(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

class OpApplier {
 public:
  explicit OpApplier(WriteTxn& txn) : txn_(txn) {}

  Status Apply(const WriteOp& op) {
    op_users_.clear();
    op_tenant_wide_ = false;
    PERMCACHE_RETURN_IF_ERROR(ApplyOp(op));
    if (op_tenant_wide_ || op_users_.size() > kMaxAffectedUsersPerOp) {
      tenants_.insert(op.tenant);
    } else {
      for (auto& user : op_users_) users_.emplace(op.tenant, std::move(user));
    }
    return Status::Ok();
  }

  ChangeSet TakeChangeSet() {
    ChangeSet cs;
    cs.tenants.assign(tenants_.begin(), tenants_.end());
    for (const auto& key : users_) {
      if (tenants_.count(key.first) == 0) cs.users.push_back(key);
    }
    return cs;
  }

 private:
  using Kind = WriteTxn::Kind;

  // The op changed something every user of the tenant may see.
  Status TenantWideIf(StatusOr<bool> changed) {
    if (!changed.ok()) return changed.status();
    if (*changed) op_tenant_wide_ = true;
    return Status::Ok();
  }
  // The op changed op.user's own rows.
  Status UserIf(const WriteOp& op, StatusOr<bool> changed) { return KeyIf(op.user, changed); }
  // The op changed what op.group gives its members (who are the same before and after).
  Status MembersIf(const WriteOp& op, StatusOr<bool> changed) {
    if (!changed.ok()) return changed.status();
    if (!*changed) return Status::Ok();
    return AddHolders(txn_.GroupMembers(op.tenant, op.group, kHolderLimit));
  }
  // The op changed what `key` (a user or a record key) stands for.
  Status KeyIf(std::string key, StatusOr<bool> changed) {
    if (!changed.ok()) return changed.status();
    if (*changed) op_users_.insert(std::move(key));
    return Status::Ok();
  }

  Status ApplyOp(const WriteOp& op) {
    const std::string& t = op.tenant;
    switch (op.kind) {
      case OpKind::kPutResource:
        PERMCACHE_RETURN_IF_ERROR(CheckStoreOp(op));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        return KeyIf(ResourceKey(op.resource), txn_.PutResource(op));
      case OpKind::kDeleteResource: {
        // Grantees are read before the delete: their compiled sets hold the grants.
        PERMCACHE_ASSIGN_OR_RETURN(std::optional<std::string> type,
                                   txn_.ResourceType(t, op.resource));
        if (!type) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(
            AddHolders(txn_.ResourceGrantees(t, op.resource, kHolderLimit)));
        return KeyIf(ResourceKey(op.resource), txn_.DeleteResource(t, op.resource));
      }
      case OpKind::kPutResourceGrant:
        return PutResourceGrant(op);
      case OpKind::kDeleteResourceGrant:
        return UserIf(op, txn_.DeleteResourceGrant(op));
      case OpKind::kPutUiElement: {
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        const std::vector<std::string> roles = Unique(op.required_roles);
        for (const auto& role : roles) PERMCACHE_RETURN_IF_ERROR(Require(Kind::kRole, t, role));
        return KeyIf(ElementKey(op.element), txn_.PutUiElement(op, roles));
      }
      case OpKind::kDeleteUiElement:
        return KeyIf(ElementKey(op.element), txn_.DeleteUiElement(t, op.element));
      case OpKind::kPutTenant:
        return TenantWideIf(txn_.PutTenant(t));
      case OpKind::kDeleteTenant:
        return TenantWideIf(txn_.DeleteTenant(t));
      case OpKind::kPutBusinessUnit:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        return TenantWideIf(txn_.PutBusinessUnit(t, op.business_unit));
      case OpKind::kDeleteBusinessUnit:
        return TenantWideIf(txn_.DeleteBusinessUnit(t, op.business_unit));
      case OpKind::kPutMembership:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        return UserIf(op, txn_.PutMembership(op));
      case OpKind::kDeleteMembership:
        return UserIf(op, txn_.DeleteMembership(op));
      case OpKind::kPutRole:
        return PutRole(op);
      case OpKind::kDeleteRole: {
        // Holders are read before the delete: afterwards the role and the inherit edges that
        // lead to it are gone.
        PERMCACHE_ASSIGN_OR_RETURN(bool exists, txn_.Exists(Kind::kRole, t, op.role));
        if (!exists) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.RoleHolders(t, op.role, kHolderLimit)));
        // The delete drops the role from every element's required_roles.
        PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> elements,
                                   txn_.ElementsRequiringRole(t, op.role));
        for (const auto& element : elements) op_users_.insert(ElementKey(element));
        return txn_.DeleteRole(t, op.role).status();
      }
      case OpKind::kPutPolicy: {
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        if (!op.scope.empty()) PERMCACHE_RETURN_IF_ERROR(Require(Kind::kBusinessUnit, t, op.scope));
        PERMCACHE_ASSIGN_OR_RETURN(bool changed, txn_.PutPolicy(op));
        // Links are untouched by a put_policy, so the holders are the same before and after.
        if (changed) PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.PolicyHolders(t, op.policy, kHolderLimit)));
        return Status::Ok();
      }
      case OpKind::kDeletePolicy: {
        PERMCACHE_ASSIGN_OR_RETURN(bool exists, txn_.Exists(Kind::kPolicy, t, op.policy));
        if (!exists) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.PolicyHolders(t, op.policy, kHolderLimit)));
        return txn_.DeletePolicy(t, op.policy).status();
      }
      case OpKind::kPutRolePolicy: {
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kRole, t, op.role));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kPolicy, t, op.policy));
        PERMCACHE_ASSIGN_OR_RETURN(bool changed, txn_.PutRolePolicy(op));
        // A role-policy link does not change who holds the role: one holder query suffices.
        if (changed) PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.RoleHolders(t, op.role, kHolderLimit)));
        return Status::Ok();
      }
      case OpKind::kDeleteRolePolicy: {
        PERMCACHE_ASSIGN_OR_RETURN(bool changed, txn_.DeleteRolePolicy(op));
        if (changed) PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.RoleHolders(t, op.role, kHolderLimit)));
        return Status::Ok();
      }
      case OpKind::kPutUserRole:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kRole, t, op.role));
        if (!op.business_unit.empty()) {
          PERMCACHE_RETURN_IF_ERROR(Require(Kind::kBusinessUnit, t, op.business_unit));
        }
        return UserIf(op, txn_.PutUserRole(op));
      case OpKind::kDeleteUserRole:
        return UserIf(op, txn_.DeleteUserRole(op));
      case OpKind::kPutUserPolicy:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kPolicy, t, op.policy));
        return UserIf(op, txn_.PutUserPolicy(op));
      case OpKind::kDeleteUserPolicy:
        return UserIf(op, txn_.DeleteUserPolicy(op));
      case OpKind::kPutGroup:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        return MembersIf(op, txn_.PutGroup(op));
      case OpKind::kDeleteGroup: {
        // Members are read before the delete: afterwards the membership rows are gone.
        PERMCACHE_ASSIGN_OR_RETURN(bool exists, txn_.Exists(Kind::kGroup, t, op.group));
        if (!exists) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.GroupMembers(t, op.group, kHolderLimit)));
        return txn_.DeleteGroup(t, op.group).status();
      }
      case OpKind::kPutGroupMember:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kGroup, t, op.group));
        return UserIf(op, txn_.PutGroupMember(op));
      case OpKind::kDeleteGroupMember:
        return UserIf(op, txn_.DeleteGroupMember(op));
      case OpKind::kPutGroupRole:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kGroup, t, op.group));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kRole, t, op.role));
        if (!op.business_unit.empty()) {
          PERMCACHE_RETURN_IF_ERROR(Require(Kind::kBusinessUnit, t, op.business_unit));
        }
        return MembersIf(op, txn_.PutGroupRole(op));
      case OpKind::kDeleteGroupRole:
        return MembersIf(op, txn_.DeleteGroupRole(op));
      case OpKind::kPutGroupPolicy:
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kGroup, t, op.group));
        PERMCACHE_RETURN_IF_ERROR(Require(Kind::kPolicy, t, op.policy));
        return MembersIf(op, txn_.PutGroupPolicy(op));
      case OpKind::kDeleteGroupPolicy:
        return MembersIf(op, txn_.DeleteGroupPolicy(op));
    }
    return InvalidArgumentError("unknown op kind");
  }

  Status PutResourceGrant(const WriteOp& op) {
    const std::string& t = op.tenant;
    PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<std::string> type, txn_.ResourceType(t, op.resource));
    if (!type) {
      return InvalidArgumentError("resource " + Quote(op.resource) + " does not exist in tenant " +
                                  Quote(t));
    }
    // A check names the resource with a permission whose first segment is its type, so a
    // pattern for another type could never match: refused rather than stored dead.
    for (const auto& pattern : op.permissions) {
      const std::string_view first = std::string_view(pattern).substr(0, pattern.find(':'));
      if (first != *type && first != "*") {
        return InvalidArgumentError("permission pattern " + Quote(pattern) +
                                    " does not start with the resource's type " + Quote(*type));
      }
    }
    return UserIf(op, txn_.PutResourceGrant(op));
  }

  Status PutRole(const WriteOp& op) {
    const std::string& t = op.tenant;
    PERMCACHE_RETURN_IF_ERROR(Require(Kind::kTenant, t, ""));
    const std::vector<std::string> wanted = Unique(op.inherits);
    for (const auto& parent : wanted) {
      if (parent != op.role) PERMCACHE_RETURN_IF_ERROR(Require(Kind::kRole, t, parent));
    }
    PERMCACHE_RETURN_IF_ERROR(CheckNoCycle(t, op.role, wanted));
    PERMCACHE_RETURN_IF_ERROR(txn_.InsertRole(t, op.role).status());
    PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> current, txn_.Parents(t, op.role));
    if (current == wanted) return Status::Ok();  // new role without inherits, or unchanged
    // Changing R's inherits changes what R grants, so R's holders (direct or through roles
    // inheriting R) are affected. The edges INTO R are untouched (a put_role only sets R's own
    // edges), so the holder set is the same before and after: one query is exact.
    PERMCACHE_RETURN_IF_ERROR(AddHolders(txn_.RoleHolders(t, op.role, kHolderLimit)));
    return txn_.SetParents(t, op.role, wanted);
  }

  // Making `role` inherit `parents` closes a cycle iff `role` is reachable from one of them
  // through the existing inherit edges. Breadth-first with a visited set (linear in the edges),
  // remembering where each role was reached from to name the cycle ("a>b>c>a").
  Status CheckNoCycle(const std::string& tenant, const std::string& role,
                      const std::vector<std::string>& parents) {
    std::unordered_map<std::string, std::string> reached_from;
    std::deque<std::string> queue;
    for (const auto& p : parents) {
      if (p == role) return InvalidArgumentError("role inheritance cycle: " + role + ">" + role);
      if (reached_from.emplace(p, role).second) queue.push_back(p);
    }
    while (!queue.empty()) {
      std::string current = std::move(queue.front());
      queue.pop_front();
      PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> next, txn_.Parents(tenant, current));
      for (auto& n : next) {
        if (n == role) {
          std::vector<std::string> chain;
          for (std::string x = current; x != role; x = reached_from.at(x)) chain.push_back(x);
          std::string path = role;
          for (auto it = chain.rbegin(); it != chain.rend(); ++it) path += ">" + *it;
          path += ">" + role;
          return InvalidArgumentError("role inheritance cycle: " + path);
        }
        if (reached_from.emplace(n, current).second) queue.push_back(std::move(n));
      }
    }
    return Status::Ok();
  }

  // Adds holders to the op's users; past the limit the op is recorded tenant-wide anyway.
  Status AddHolders(StatusOr<std::vector<std::string>> holders) {
    if (!holders.ok()) return holders.status();
    for (auto& user : *holders) op_users_.insert(std::move(user));
    if (op_users_.size() > kMaxAffectedUsersPerOp) op_tenant_wide_ = true;
    return Status::Ok();
  }

  Status Require(Kind kind, const std::string& tenant, const std::string& key) {
    PERMCACHE_ASSIGN_OR_RETURN(bool ok, txn_.Exists(kind, tenant, key));
    if (ok) return Status::Ok();
    switch (kind) {
      case Kind::kTenant:
        return InvalidArgumentError("tenant " + Quote(tenant) + " does not exist");
      case Kind::kBusinessUnit:
        return InvalidArgumentError("business unit " + Quote(key) + " does not exist in tenant " +
                                    Quote(tenant));
      case Kind::kRole:
        return InvalidArgumentError("role " + Quote(key) + " does not exist in tenant " +
                                    Quote(tenant));
      case Kind::kPolicy:
        return InvalidArgumentError("policy " + Quote(key) + " does not exist in tenant " +
                                    Quote(tenant));
      case Kind::kGroup:
        return InvalidArgumentError("group " + Quote(key) + " does not exist in tenant " +
                                    Quote(tenant));
    }
    return InternalError("unknown kind");
  }

  // One more than the limit: enough to know the op goes tenant-wide.
  static constexpr size_t kHolderLimit = kMaxAffectedUsersPerOp + 1;

  WriteTxn& txn_;
  std::set<std::string> tenants_;
  std::set<std::pair<std::string, std::string>> users_;
  // Per op: the users it affects, or tenant-wide.
  std::set<std::string> op_users_;
  bool op_tenant_wide_ = false;
};

}  // namespace

Status CheckStoreOps(std::span<const WriteOp> ops) {
  for (size_t i = 0; i < ops.size(); ++i) {
    Status s = CheckStoreOp(ops[i]);
    if (!s.ok()) return WithPrefix(s, "op " + std::to_string(i) + ": ");
  }
  return Status::Ok();
}

StatusOr<ChangeSet> ApplyOps(WriteTxn& txn, std::span<const WriteOp> ops) {
  OpApplier applier(txn);
  for (size_t i = 0; i < ops.size(); ++i) {
    Status s = applier.Apply(ops[i]);
    if (!s.ok()) return WithPrefix(s, "op " + std::to_string(i) + ": ");
  }
  return applier.TakeChangeSet();
}

}  // namespace permcache::store
