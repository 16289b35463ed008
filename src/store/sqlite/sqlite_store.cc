#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "store/changelog_rows.h"
#include "store/op_applier.h"
#include "store/policy_row.h"
#include "store/role_walk.h"
#include "store/signing_key.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/grant_queries.h"
#include "store/sqlite/schema.h"

namespace permcache::sqlite {
namespace {

// ---------------------------------------------------------------------------------------------
// SQL. Kept as constants: Connection caches prepared statements by their text.

constexpr std::string_view kTenantExists = "SELECT 1 FROM tenants WHERE tenant = ?1";
constexpr std::string_view kBusinessUnitExists =
    "SELECT 1 FROM business_units WHERE tenant = ?1 AND business_unit = ?2";
constexpr std::string_view kRoleExists = "SELECT 1 FROM roles WHERE tenant = ?1 AND role = ?2";
constexpr std::string_view kPolicyExists =
    "SELECT 1 FROM policies WHERE tenant = ?1 AND policy = ?2";
constexpr std::string_view kGroupExists =
    "SELECT 1 FROM groups WHERE tenant = ?1 AND group_id = ?2";
constexpr std::string_view kGroupMembers =
    "SELECT user FROM group_members WHERE tenant = ?1 AND group_id = ?2 LIMIT ?3";

// Users holding role ?2 directly or through any role that (transitively) inherits it. UNION
// (not UNION ALL) keeps the walk finite whatever the graph looks like.
constexpr std::string_view kRoleHolders = R"sql(
WITH RECURSIVE holder_roles(role) AS (
  SELECT ?2
  UNION
  SELECT ri.role FROM role_inherits ri JOIN holder_roles h ON ri.tenant = ?1 AND ri.parent = h.role
)
SELECT ur.user FROM user_roles ur
WHERE ur.tenant = ?1 AND ur.role IN (SELECT role FROM holder_roles)
UNION
SELECT gm.user FROM group_roles gr
JOIN group_members gm ON gm.tenant = gr.tenant AND gm.group_id = gr.group_id
WHERE gr.tenant = ?1 AND gr.role IN (SELECT role FROM holder_roles)
LIMIT ?3)sql";

// Users reaching policy ?2: through a role linked to it (or a role inheriting such a role) or
// through a direct user_policy; and the members of groups reaching it either way.
constexpr std::string_view kPolicyHolders = R"sql(
WITH RECURSIVE holder_roles(role) AS (
  SELECT role FROM role_policies WHERE tenant = ?1 AND policy = ?2
  UNION
  SELECT ri.role FROM role_inherits ri JOIN holder_roles h ON ri.tenant = ?1 AND ri.parent = h.role
)
SELECT user FROM user_roles WHERE tenant = ?1 AND role IN (SELECT role FROM holder_roles)
UNION
SELECT user FROM user_policies WHERE tenant = ?1 AND policy = ?2
UNION
SELECT gm.user FROM group_members gm
WHERE gm.tenant = ?1 AND gm.group_id IN (
  SELECT group_id FROM group_roles WHERE tenant = ?1 AND role IN (SELECT role FROM holder_roles)
  UNION
  SELECT group_id FROM group_policies WHERE tenant = ?1 AND policy = ?2)
LIMIT ?3)sql";

constexpr std::string_view kReadRevision = "SELECT value FROM meta WHERE key = 'revision'";

constexpr std::string_view kResourceType =
    "SELECT type FROM resources WHERE tenant = ?1 AND resource = ?2";
constexpr std::string_view kResourceGrantees =
    "SELECT user FROM resource_grants WHERE tenant = ?1 AND resource = ?2 LIMIT ?3";
constexpr std::string_view kElementsRequiringRole =
    "SELECT element FROM ui_element_roles WHERE tenant = ?1 AND role = ?2";

// A resource's version is the revision of the write that created it or last changed its
// state, owner or password hash (meta's revision + 1 while this write is applied). Revisions are
// never reused, so a resource deleted and created again never meets an old token's version.
// ?6 NULL keeps the hash (every expression of DO UPDATE SET reads the row as it was).
constexpr std::string_view kPutResource = R"sql(
INSERT INTO resources (tenant, resource, type, owner, state, password_hash, version)
VALUES (?1, ?2, ?3, ?4, ?5, NULLIF(?6, ''),
        (SELECT value + 1 FROM meta WHERE key = 'revision'))
ON CONFLICT DO UPDATE SET
  type = excluded.type, owner = excluded.owner, state = excluded.state,
  password_hash = CASE WHEN ?6 IS NULL THEN password_hash ELSE excluded.password_hash END,
  version = CASE WHEN owner IS NOT excluded.owner OR state IS NOT excluded.state
                      OR (?6 IS NOT NULL AND password_hash IS NOT excluded.password_hash)
                 THEN excluded.version ELSE version END
WHERE type IS NOT excluded.type OR owner IS NOT excluded.owner OR state IS NOT excluded.state
   OR (?6 IS NOT NULL AND password_hash IS NOT excluded.password_hash))sql";

constexpr std::string_view kTokenKeyName = "token_signing_key";

// The upsert tail of a link row whose only payload is its interval: a put with another interval
// updates it (a change), the same one again changes nothing.
constexpr std::string_view kUpdateInterval =
    "ON CONFLICT DO UPDATE SET starts_at_ms = excluded.starts_at_ms, "
    "  expires_at_ms = excluded.expires_at_ms "
    "WHERE starts_at_ms IS NOT excluded.starts_at_ms "
    "  OR expires_at_ms IS NOT excluded.expires_at_ms";

// A nullable ms column (NULL = unbounded).
std::optional<int64_t> OptionalAt(const Statement& s, int column) {
  return s.IsNull(column) ? std::nullopt : std::optional<int64_t>(s.Int(column));
}
// The interval in columns (column, column + 1) = (starts_at_ms, expires_at_ms).
Interval IntervalAt(const Statement& s, int column) {
  Interval v;
  if (!s.IsNull(column)) v.starts_at_ms = s.Int(column);
  if (!s.IsNull(column + 1)) v.expires_at_ms = s.Int(column + 1);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Helpers

std::string Quote(std::string_view s) {
  std::string out = "'";
  out += s;
  out += "'";
  return out;
}

StatusOr<uint64_t> ReadRevision(Connection& conn) {
  PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kReadRevision));
  PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError("meta has no 'revision' row (damaged store)");
  int64_t revision = stmt.Int(0);
  if (revision < 0) return InternalError("meta revision is negative (damaged store)");
  return static_cast<uint64_t>(revision);
}

using store::JoinPermissions;
using store::PolicyRow;

// One policy row selected as (policy, effect, priority, permissions, scope) from column `first`.
StatusOr<PolicyRow> ReadPolicyRow(const Statement& stmt, int first) {
  return store::DecodePolicyRow(stmt.Text(first), stmt.Text(first + 1), stmt.Int(first + 2),
                                stmt.Text(first + 3), stmt.Text(first + 4));  // NULL scope = ""
}

// ---------------------------------------------------------------------------------------------
// SqliteWriteTxn: the SQL of one write transaction for the shared op rules (store/op_applier.h).

class SqliteWriteTxn final : public store::WriteTxn {
 public:
  explicit SqliteWriteTxn(Connection& conn) : conn_(conn) {}

  StatusOr<bool> Exists(Kind kind, const std::string& tenant, const std::string& key) override {
    switch (kind) {
      case Kind::kTenant: return Query(kTenantExists, {tenant});
      case Kind::kBusinessUnit: return Query(kBusinessUnitExists, {tenant, key});
      case Kind::kRole: return Query(kRoleExists, {tenant, key});
      case Kind::kPolicy: return Query(kPolicyExists, {tenant, key});
      case Kind::kGroup: return Query(kGroupExists, {tenant, key});
    }
    return InternalError("unknown kind");
  }

  StatusOr<std::vector<std::string>> Parents(const std::string& tenant,
                                             const std::string& role) override {
    return Column(kRoleParents, tenant, role, -1);
  }
  StatusOr<std::optional<std::string>> ResourceType(const std::string& tenant,
                                                    const std::string& resource) override {
    PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> type,
                               Column(kResourceType, tenant, resource, -1));
    if (type.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(type[0]));
  }
  StatusOr<std::vector<std::string>> ResourceGrantees(const std::string& tenant,
                                                      const std::string& resource,
                                                      size_t limit) override {
    return Column(kResourceGrantees, tenant, resource, static_cast<int64_t>(limit));
  }
  StatusOr<std::vector<std::string>> ElementsRequiringRole(const std::string& tenant,
                                                           const std::string& role) override {
    return Column(kElementsRequiringRole, tenant, role, -1);
  }
  StatusOr<std::vector<std::string>> RoleHolders(const std::string& tenant,
                                                 const std::string& role, size_t limit) override {
    return Column(kRoleHolders, tenant, role, static_cast<int64_t>(limit));
  }
  StatusOr<std::vector<std::string>> PolicyHolders(const std::string& tenant,
                                                   const std::string& policy,
                                                   size_t limit) override {
    return Column(kPolicyHolders, tenant, policy, static_cast<int64_t>(limit));
  }

  StatusOr<bool> PutTenant(const std::string& t) override {
    return Changes("INSERT INTO tenants (tenant) VALUES (?1) ON CONFLICT DO NOTHING", {t});
  }
  StatusOr<bool> DeleteTenant(const std::string& t) override {
    // Cascades to everything of the tenant (business units, memberships, roles, policies, and
    // through those every link).
    return Changes("DELETE FROM tenants WHERE tenant = ?1", {t});
  }
  StatusOr<bool> PutBusinessUnit(const std::string& t, const std::string& unit) override {
    return Changes(
        "INSERT INTO business_units (tenant, business_unit) VALUES (?1, ?2) "
        "ON CONFLICT DO NOTHING",
        {t, unit});
  }
  StatusOr<bool> DeleteBusinessUnit(const std::string& t, const std::string& unit) override {
    // user_roles.business_unit has no foreign key ('' means none), so its rows go by hand; the
    // policies scoped to the unit (and their links) go by cascade.
    PERMCACHE_ASSIGN_OR_RETURN(
        bool assignments,
        Changes("DELETE FROM user_roles WHERE tenant = ?1 AND business_unit = ?2", {t, unit}));
    PERMCACHE_ASSIGN_OR_RETURN(
        bool group_assignments,
        Changes("DELETE FROM group_roles WHERE tenant = ?1 AND business_unit = ?2", {t, unit}));
    PERMCACHE_ASSIGN_OR_RETURN(
        bool unit_row,
        Changes("DELETE FROM business_units WHERE tenant = ?1 AND business_unit = ?2", {t, unit}));
    return assignments || group_assignments || unit_row;
  }
  StatusOr<bool> PutMembership(const WriteOp& op) override {
    return TimedChanges(
        "INSERT INTO memberships (tenant, user, status, starts_at_ms, expires_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT DO UPDATE SET status = excluded.status, "
        "  starts_at_ms = excluded.starts_at_ms, expires_at_ms = excluded.expires_at_ms "
        "WHERE status IS NOT excluded.status OR starts_at_ms IS NOT excluded.starts_at_ms "
        "  OR expires_at_ms IS NOT excluded.expires_at_ms",
        {op.tenant, op.user, MembershipStatusName(op.status)}, op);
  }
  StatusOr<bool> DeleteMembership(const WriteOp& op) override {
    return Changes("DELETE FROM memberships WHERE tenant = ?1 AND user = ?2", {op.tenant, op.user});
  }
  StatusOr<bool> InsertRole(const std::string& t, const std::string& role) override {
    return Changes("INSERT INTO roles (tenant, role) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                   {t, role});
  }
  Status SetParents(const std::string& t, const std::string& role,
                    const std::vector<std::string>& parents) override {
    PERMCACHE_RETURN_IF_ERROR(
        Changes("DELETE FROM role_inherits WHERE tenant = ?1 AND role = ?2", {t, role}).status());
    for (size_t i = 0; i < parents.size(); ++i) {
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement stmt,
          conn_.Prepare("INSERT INTO role_inherits (tenant, role, parent, position) "
                        "VALUES (?1, ?2, ?3, ?4)"));
      PERMCACHE_RETURN_IF_ERROR(
          stmt.Bind(1, t).Bind(2, role).Bind(3, parents[i]).Bind(4, static_cast<int64_t>(i)).Run());
    }
    return Status::Ok();
  }
  StatusOr<bool> DeleteRole(const std::string& t, const std::string& role) override {
    return Changes("DELETE FROM roles WHERE tenant = ?1 AND role = ?2", {t, role});
  }
  StatusOr<bool> PutPolicy(const WriteOp& op) override {
    PERMCACHE_RETURN_IF_ERROR(CheckJoinable("policy " + Quote(op.policy), op.permissions));
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn_.Prepare(
            "INSERT INTO policies (tenant, policy, effect, priority, scope, permissions) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT DO UPDATE SET effect = excluded.effect, priority = excluded.priority, "
            "  scope = excluded.scope, permissions = excluded.permissions "
            "WHERE effect IS NOT excluded.effect OR priority IS NOT excluded.priority "
            "  OR scope IS NOT excluded.scope OR permissions IS NOT excluded.permissions"));
    stmt.Bind(1, op.tenant).Bind(2, op.policy).Bind(3, EffectName(op.effect));
    stmt.Bind(4, static_cast<int64_t>(op.priority));
    if (op.scope.empty()) {
      stmt.BindNull(5);
    } else {
      stmt.Bind(5, op.scope);
    }
    stmt.Bind(6, JoinPermissions(op.permissions));
    PERMCACHE_RETURN_IF_ERROR(stmt.Run());
    return Changed();
  }
  StatusOr<bool> DeletePolicy(const std::string& t, const std::string& policy) override {
    return Changes("DELETE FROM policies WHERE tenant = ?1 AND policy = ?2", {t, policy});
  }
  StatusOr<bool> PutRolePolicy(const WriteOp& op) override {
    return Changes(
        "INSERT INTO role_policies (tenant, role, policy) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING",
        {op.tenant, op.role, op.policy});
  }
  StatusOr<bool> DeleteRolePolicy(const WriteOp& op) override {
    return Changes("DELETE FROM role_policies WHERE tenant = ?1 AND role = ?2 AND policy = ?3",
                   {op.tenant, op.role, op.policy});
  }
  StatusOr<bool> PutUserRole(const WriteOp& op) override {
    return TimedChanges(
        "INSERT INTO user_roles (tenant, user, role, business_unit, starts_at_ms, expires_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) " + std::string(kUpdateInterval),
        {op.tenant, op.user, op.role, op.business_unit}, op);
  }
  StatusOr<bool> DeleteUserRole(const WriteOp& op) override {
    return Changes(
        "DELETE FROM user_roles "
        "WHERE tenant = ?1 AND user = ?2 AND role = ?3 AND business_unit = ?4",
        {op.tenant, op.user, op.role, op.business_unit});
  }
  StatusOr<bool> PutUserPolicy(const WriteOp& op) override {
    return TimedChanges(
        "INSERT INTO user_policies (tenant, user, policy, starts_at_ms, expires_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) " + std::string(kUpdateInterval),
        {op.tenant, op.user, op.policy}, op);
  }
  StatusOr<bool> DeleteUserPolicy(const WriteOp& op) override {
    return Changes("DELETE FROM user_policies WHERE tenant = ?1 AND user = ?2 AND policy = ?3",
                   {op.tenant, op.user, op.policy});
  }
  StatusOr<bool> PutResource(const WriteOp& op) override {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(kPutResource));
    stmt.Bind(1, op.tenant).Bind(2, op.resource).Bind(3, op.type);
    if (op.owner.empty()) {
      stmt.BindNull(4);
    } else {
      stmt.Bind(4, op.owner);
    }
    stmt.Bind(5, ResourceStateName(op.state));
    if (op.password_hash) {
      stmt.Bind(6, *op.password_hash);
    } else {
      stmt.BindNull(6);
    }
    PERMCACHE_RETURN_IF_ERROR(stmt.Run());
    return Changed();
  }
  StatusOr<bool> DeleteResource(const std::string& t, const std::string& resource) override {
    // The grants go by cascade.
    return Changes("DELETE FROM resources WHERE tenant = ?1 AND resource = ?2", {t, resource});
  }
  StatusOr<bool> PutResourceGrant(const WriteOp& op) override {
    PERMCACHE_RETURN_IF_ERROR(CheckJoinable("resource grant", op.permissions));
    return TimedChanges(
        "INSERT INTO resource_grants "
        "  (tenant, resource, user, permissions, starts_at_ms, expires_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT DO UPDATE SET permissions = excluded.permissions, "
        "  starts_at_ms = excluded.starts_at_ms, expires_at_ms = excluded.expires_at_ms "
        "WHERE permissions IS NOT excluded.permissions "
        "  OR starts_at_ms IS NOT excluded.starts_at_ms "
        "  OR expires_at_ms IS NOT excluded.expires_at_ms",
        {op.tenant, op.resource, op.user, JoinPermissions(op.permissions)}, op);
  }
  StatusOr<bool> DeleteResourceGrant(const WriteOp& op) override {
    return Changes(
        "DELETE FROM resource_grants WHERE tenant = ?1 AND resource = ?2 AND user = ?3",
        {op.tenant, op.resource, op.user});
  }
  StatusOr<bool> PutUiElement(const WriteOp& op, const std::vector<std::string>& roles) override {
    PERMCACHE_RETURN_IF_ERROR(CheckJoinable("ui element", op.required_permissions));
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt,
                               conn_.Prepare("INSERT INTO ui_elements "
                                             "(tenant, element, required_permissions, active) "
                                             "VALUES (?1, ?2, ?3, ?4) "
                                             "ON CONFLICT DO UPDATE SET "
                                             "  required_permissions = excluded.required_permissions, "
                                             "  active = excluded.active "
                                             "WHERE required_permissions IS NOT "
                                             "  excluded.required_permissions "
                                             "  OR active IS NOT excluded.active"));
    stmt.Bind(1, op.tenant).Bind(2, op.element).Bind(3, JoinPermissions(op.required_permissions));
    PERMCACHE_RETURN_IF_ERROR(stmt.Bind(4, int64_t{op.active ? 1 : 0}).Run());
    bool changed = Changed();
    // The links: drop the roles no longer wanted, add the missing ones.
    PERMCACHE_ASSIGN_OR_RETURN(
        std::vector<std::string> current,
        Column("SELECT role FROM ui_element_roles WHERE tenant = ?1 AND element = ?2", op.tenant,
               op.element, -1));
    for (const auto& role : current) {
      if (std::find(roles.begin(), roles.end(), role) != roles.end()) continue;
      PERMCACHE_RETURN_IF_ERROR(
          Changes("DELETE FROM ui_element_roles WHERE tenant = ?1 AND element = ?2 AND role = ?3",
                  {op.tenant, op.element, role})
              .status());
      changed = true;
    }
    for (const auto& role : roles) {
      PERMCACHE_ASSIGN_OR_RETURN(
          bool added, Changes("INSERT INTO ui_element_roles (tenant, element, role) "
                              "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                              {op.tenant, op.element, role}));
      changed = changed || added;
    }
    return changed;
  }
  StatusOr<bool> DeleteUiElement(const std::string& t, const std::string& element) override {
    // The role links go by cascade.
    return Changes("DELETE FROM ui_elements WHERE tenant = ?1 AND element = ?2", {t, element});
  }

  StatusOr<std::vector<std::string>> GroupMembers(const std::string& tenant,
                                                  const std::string& group,
                                                  size_t limit) override {
    return Column(kGroupMembers, tenant, group, static_cast<int64_t>(limit));
  }
  StatusOr<bool> PutGroup(const WriteOp& op) override {
    return TimedChanges(
        "INSERT INTO groups (tenant, group_id, status, starts_at_ms, expires_at_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT DO UPDATE SET status = excluded.status, "
        "  starts_at_ms = excluded.starts_at_ms, expires_at_ms = excluded.expires_at_ms "
        "WHERE status IS NOT excluded.status OR starts_at_ms IS NOT excluded.starts_at_ms "
        "  OR expires_at_ms IS NOT excluded.expires_at_ms",
        {op.tenant, op.group, MembershipStatusName(op.status)}, op);
  }
  StatusOr<bool> DeleteGroup(const std::string& t, const std::string& group) override {
    // Members, roles and policies go by cascade.
    return Changes("DELETE FROM groups WHERE tenant = ?1 AND group_id = ?2", {t, group});
  }
  StatusOr<bool> PutGroupMember(const WriteOp& op) override {
    return Changes(
        "INSERT INTO group_members (tenant, group_id, user) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING",
        {op.tenant, op.group, op.user});
  }
  StatusOr<bool> DeleteGroupMember(const WriteOp& op) override {
    return Changes("DELETE FROM group_members WHERE tenant = ?1 AND group_id = ?2 AND user = ?3",
                   {op.tenant, op.group, op.user});
  }
  StatusOr<bool> PutGroupRole(const WriteOp& op) override {
    return Changes(
        "INSERT INTO group_roles (tenant, group_id, role, business_unit) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        {op.tenant, op.group, op.role, op.business_unit});
  }
  StatusOr<bool> DeleteGroupRole(const WriteOp& op) override {
    return Changes(
        "DELETE FROM group_roles "
        "WHERE tenant = ?1 AND group_id = ?2 AND role = ?3 AND business_unit = ?4",
        {op.tenant, op.group, op.role, op.business_unit});
  }
  StatusOr<bool> PutGroupPolicy(const WriteOp& op) override {
    return Changes(
        "INSERT INTO group_policies (tenant, group_id, policy) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING",
        {op.tenant, op.group, op.policy});
  }
  StatusOr<bool> DeleteGroupPolicy(const WriteOp& op) override {
    return Changes(
        "DELETE FROM group_policies WHERE tenant = ?1 AND group_id = ?2 AND policy = ?3",
        {op.tenant, op.group, op.policy});
  }

 private:
  // Defence in depth: the storage format separates patterns with '\n'.
  static Status CheckJoinable(const std::string& what, const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
      if (p.empty() || p.find('\n') != std::string::npos) {
        return InvalidArgumentError(what + " has an invalid pattern");
      }
    }
    return Status::Ok();
  }

  // Runs a write and reports whether it changed a row (cascaded deletes not counted).
  StatusOr<bool> Changes(std::string_view sql, std::initializer_list<std::string_view> args) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    int i = 1;
    for (std::string_view a : args) stmt.Bind(i++, a);
    PERMCACHE_RETURN_IF_ERROR(stmt.Run());
    return Changed();
  }
  bool Changed() const { return sqlite3_changes(conn_.db()) > 0; }
  // Changes() with the op's interval bound after `args` (NULL = unbounded).
  StatusOr<bool> TimedChanges(std::string_view sql, std::initializer_list<std::string_view> args,
                              const WriteOp& op) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    int i = 1;
    for (std::string_view a : args) stmt.Bind(i++, a);
    for (const std::optional<int64_t>& at : {op.starts_at_ms, op.expires_at_ms}) {
      if (at) {
        stmt.Bind(i++, *at);
      } else {
        stmt.BindNull(i++);
      }
    }
    PERMCACHE_RETURN_IF_ERROR(stmt.Run());
    return Changed();
  }

  // True when the query returns a row.
  StatusOr<bool> Query(std::string_view sql, std::initializer_list<std::string_view> args) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    int i = 1;
    for (std::string_view a : args) stmt.Bind(i++, a);
    return stmt.Step();
  }

  // The first column of `sql` bound to (?1 tenant, ?2 key[, ?3 limit when >= 0]).
  StatusOr<std::vector<std::string>> Column(std::string_view sql, const std::string& tenant,
                                            const std::string& key, int64_t limit) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    stmt.Bind(1, tenant).Bind(2, key);
    if (limit >= 0) stmt.Bind(3, limit);
    std::vector<std::string> out;
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return out;
      out.push_back(stmt.Text(0));
    }
  }

  Connection& conn_;
};

StatusOr<ChangeSet> ApplyInTransaction(Connection& conn, std::span<const WriteOp> ops) {
  SqliteWriteTxn txn(conn);
  PERMCACHE_ASSIGN_OR_RETURN(ChangeSet cs, store::ApplyOps(txn, ops));

  // Read and bump inside this BEGIN IMMEDIATE transaction: the write lock is held from the read
  // on, so writers in other processes sharing the file get the next numbers, never the same.
  PERMCACHE_ASSIGN_OR_RETURN(uint64_t previous, ReadRevision(conn));
  cs.revision = previous + 1;
  const auto revision = static_cast<int64_t>(cs.revision);
  {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt,
                               conn.Prepare("UPDATE meta SET value = ?1 WHERE key = 'revision'"));
    PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, revision).Run());
  }
  cs.committed_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO revisions (revision, committed_at_ms) VALUES (?1, ?2)"));
    PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, revision).Bind(2, cs.committed_at_ms).Run());
  }
  constexpr std::string_view kInsertChange =
      "INSERT INTO changelog (revision, tenant, user) VALUES (?1, ?2, ?3)";
  for (const auto& tenant : cs.tenants) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kInsertChange));
    PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, revision).Bind(2, tenant).BindNull(3).Run());
  }
  for (const auto& [tenant, user] : cs.users) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kInsertChange));
    PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, revision).Bind(2, tenant).Bind(3, user).Run());
  }
  return cs;
}

// Deletes the oldest revisions committed before `cutoff_ms` (never `newest`: the head stays
// readable), at most kPruneBatch of them, and records the highest one in meta.pruned_through.
Status PruneChangelog(Connection& conn, uint64_t newest, int64_t cutoff_ms) {
  int64_t through = 0;
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT MAX(revision) FROM (SELECT revision FROM revisions "
                     "WHERE committed_at_ms < ?1 AND revision < ?2 ORDER BY revision LIMIT ?3)"));
    stmt.Bind(1, cutoff_ms).Bind(2, static_cast<int64_t>(newest)).Bind(3, kPruneBatch);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || stmt.IsNull(0)) return Status::Ok();
    through = stmt.Int(0);
  }
  // The changelog rows go by ON DELETE CASCADE.
  PERMCACHE_ASSIGN_OR_RETURN(Statement del,
                             conn.Prepare("DELETE FROM revisions WHERE revision <= ?1"));
  PERMCACHE_RETURN_IF_ERROR(del.Bind(1, through).Run());
  PERMCACHE_ASSIGN_OR_RETURN(
      Statement meta, conn.Prepare("UPDATE meta SET value = ?1 WHERE key = 'pruned_through'"));
  return meta.Bind(1, through).Run();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ReadLease

class SqliteStore::ReadLease {
 public:
  ReadLease(SqliteStore* store, std::unique_ptr<Connection> conn)
      : store_(store), conn_(std::move(conn)) {}
  ReadLease(ReadLease&& other) noexcept : store_(other.store_), conn_(std::move(other.conn_)) {}
  ReadLease& operator=(ReadLease&&) = delete;
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;

  ~ReadLease() {
    if (conn_ == nullptr) return;
    // An early return left the read transaction open: end it so the pooled connection does not
    // pin an old WAL snapshot (which would also keep checkpoints from finishing).
    if (conn_->InTransaction()) conn_->Exec("ROLLBACK").IgnoreError();
    // A connection that cannot leave its transaction is not reusable: close it.
    if (conn_->InTransaction()) return;
    store_->ReturnReader(std::move(conn_));
  }

  Connection& conn() { return *conn_; }

  // Ends the read transaction. REQUIRES: no Statement of this lease is still alive.
  Status Commit() { return conn_->Exec("COMMIT"); }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> conn_;
};

StatusOr<SqliteStore::ReadLease> SqliteStore::BeginRead() {
  std::unique_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_readers_.empty()) {
      conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (conn == nullptr) {
    // Opened outside the pool lock: opening touches the file and may wait on the busy timeout.
    PERMCACHE_ASSIGN_OR_RETURN(conn, Connection::Open(path_, Connection::Mode::kRead));
  }
  ReadLease lease(this, std::move(conn));
  // Deferred BEGIN: the snapshot is taken by the first read and held until COMMIT, so every
  // query of the lease sees the same committed state.
  PERMCACHE_RETURN_IF_ERROR(lease.conn().Exec("BEGIN"));
  return lease;
}

void SqliteStore::ReturnReader(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(conn));
  // else: `conn` closes here, after the lock is released (destruction order of locals).
}

// ---------------------------------------------------------------------------------------------
// SqliteStore

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Connection> writer,
                         StoreOptions options)
    : path_(std::move(path)), options_(std::move(options)), writer_(std::move(writer)) {}

SqliteStore::~SqliteStore() = default;

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(std::string_view path,
                                                         const StoreOptions& options) {
  if (path.empty()) return InvalidArgumentError("sqlite store URL has an empty path");
  if (path == ":memory:" || path.starts_with("file:")) {
    // Every connection would get its own private database (or the path would be parsed as a
    // URI); the store needs one shared file.
    return InvalidArgumentError("sqlite:" + std::string(path) +
                                " is not supported: give a file path");
  }
  std::string p(path);
  PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                             Connection::Open(p, Connection::Mode::kWrite));
  PERMCACHE_RETURN_IF_ERROR(Migrate(*writer, "sqlite:" + p));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(p), std::move(writer), options));
}

std::string SqliteStore::Describe() const { return "sqlite:" + path_; }

StatusOr<ChangeSet> SqliteStore::Apply(std::span<const WriteOp> ops) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOps(ops));
  std::lock_guard<std::mutex> lock(write_mu_);
  Connection& conn = *writer_;
  // IMMEDIATE: take the write lock now (waiting up to the busy timeout for other processes)
  // rather than at the first write, where a deferred transaction could fail with BUSY_SNAPSHOT.
  Status begin = conn.Exec("BEGIN IMMEDIATE");
  if (!begin.ok()) return WithPrefix(begin, Describe() + ": cannot start write transaction: ");
  StatusOr<ChangeSet> result = ApplyInTransaction(conn, ops);
  if (result.ok() && options_.changelog_retention.count() > 0 &&
      result->revision % kPruneEvery == 0) {
    // In the same transaction: a pruned range and pruned_through move together.
    Status pruned =
        PruneChangelog(conn, result->revision,
                       result->committed_at_ms - options_.changelog_retention.count());
    if (!pruned.ok()) result = WithPrefix(pruned, Describe() + ": changelog retention: ");
  }
  if (result.ok()) {
    Status commit = conn.Exec("COMMIT");
    if (!commit.ok()) result = WithPrefix(commit, Describe() + ": commit failed: ");
  }
  // Nothing of a failed batch may stay applied.
  if (!result.ok() && conn.InTransaction()) conn.Exec("ROLLBACK").IgnoreError();
  return result;
}

StatusOr<UserGrants> SqliteStore::LoadGrants(std::string_view tenant, std::string_view user) {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  Connection& conn = lease.conn();
  UserGrants out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ReadRevision(conn));
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsMembership));
    stmt.Bind(1, tenant).Bind(2, user);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      std::optional<MembershipStatus> status = ParseMembershipStatus(stmt.Text(0));
      if (!status) return InternalError("membership has an unknown status (damaged store)");
      out.membership = store::MembershipStateOf(*status);
      out.membership_valid = IntervalAt(stmt, 1);
    }
  }
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsGroups));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.groups.push_back(GroupRow{stmt.Text(0), stmt.Text(1) == "active", IntervalAt(stmt, 2)});
    }
  }
  if (!GrantsCount(out)) {
    PERMCACHE_RETURN_IF_ERROR(lease.Commit());
    return out;
  }

  // Direct assignments first.
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsDirectPolicies));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      PERMCACHE_ASSIGN_OR_RETURN(PolicyRow p, ReadPolicyRow(stmt, 0));
      out.grants.push_back(Grant{std::move(p.policy), p.effect, p.priority,
                                 std::move(p.permissions), std::move(p.scope), "", "",
                                 IntervalAt(stmt, 5)});
    }
  }
  // Then the policies of the user's active groups, counting while each group's interval holds.
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsGroupPolicies));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      const GroupRow* group = store::FindGroup(out.groups, stmt.Text(0));
      if (group == nullptr) return InternalError("group policy of a group not read");
      PERMCACHE_ASSIGN_OR_RETURN(PolicyRow p, ReadPolicyRow(stmt, 1));
      out.grants.push_back(store::GroupPolicyGrant(*group, std::move(p)));
    }
  }

  // Role assignments, then the role walk. (A recursive CTE carrying the path would enumerate
  // every path, which is exponential on diamond-shaped role graphs.)
  std::vector<store::RoleAssignment> assignments;
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsAssignments));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      assignments.push_back({stmt.Text(0), stmt.Text(1), IntervalAt(stmt, 2)});
    }
  }
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsGroupRoles));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      const GroupRow* group = store::FindGroup(out.groups, stmt.Text(0));
      if (group == nullptr) return InternalError("group role of a group not read");
      assignments.push_back(store::GroupAssignment(*group, stmt.Text(1), stmt.Text(2)));
    }
  }
  std::unordered_map<std::string, store::RoleData> roles;  // loaded once per call, shared by walks
  auto load_role = [&](const std::string& role) -> StatusOr<const store::RoleData*> {
    auto it = roles.find(role);
    if (it != roles.end()) return &it->second;
    store::RoleData data;
    {
      PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kRoleParents));
      stmt.Bind(1, tenant).Bind(2, role);
      while (true) {
        PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        data.parents.push_back(stmt.Text(0));
      }
    }
    {
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare(kRolePolicies));
      stmt.Bind(1, tenant).Bind(2, role);
      while (true) {
        PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        PERMCACHE_ASSIGN_OR_RETURN(PolicyRow p, ReadPolicyRow(stmt, 0));
        data.policies.push_back(std::move(p));
      }
    }
    return &roles.emplace(role, std::move(data)).first->second;
  };
  // Each assignment is walked up the inherit edges by the shared role walk (store/role_walk.h).
  PERMCACHE_RETURN_IF_ERROR(store::WalkRoles(assignments, load_role, &out.grants));
  PERMCACHE_ASSIGN_OR_RETURN(out.roles, store::HeldRoles(assignments, load_role));
  PERMCACHE_ASSIGN_OR_RETURN(out.bounded_roles, store::BoundedRoles(assignments, load_role));
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(kGrantsResources));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.resource_grants.push_back(ResourceGrantRow{
          stmt.Text(0), store::SplitPermissions(stmt.Text(1)), IntervalAt(stmt, 2)});
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<ResourceRecord> SqliteStore::LoadResource(std::string_view tenant,
                                                   std::string_view resource) {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  Connection& conn = lease.conn();
  ResourceRecord out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ReadRevision(conn));
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT type, owner, state, version, password_hash FROM resources "
                     "WHERE tenant = ?1 AND resource = ?2"));
    stmt.Bind(1, tenant).Bind(2, resource);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      std::optional<ResourceState> state = ParseResourceState(stmt.Text(2));
      if (!state) return InternalError("resource has an unknown state (damaged store)");
      out.exists = true;
      out.type = stmt.Text(0);
      out.owner = stmt.Text(1);  // NULL = ""
      out.state = *state;
      out.version = static_cast<uint64_t>(stmt.Int(3));
      out.password_hash = stmt.Text(4);
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<UiElementRecord> SqliteStore::LoadUiElement(std::string_view tenant,
                                                     std::string_view element) {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  Connection& conn = lease.conn();
  UiElementRecord out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ReadRevision(conn));
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt, conn.Prepare("SELECT required_permissions, active FROM ui_elements "
                                     "WHERE tenant = ?1 AND element = ?2"));
    stmt.Bind(1, tenant).Bind(2, element);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      out.exists = true;
      out.required_permissions = store::SplitPermissions(stmt.Text(0));
      out.active = stmt.Int(1) != 0;
    }
  }
  if (out.exists) {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt, conn.Prepare("SELECT role FROM ui_element_roles "
                                     "WHERE tenant = ?1 AND element = ?2 ORDER BY role"));
    stmt.Bind(1, tenant).Bind(2, element);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.required_roles.push_back(stmt.Text(0));
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<std::vector<std::string>> SqliteStore::ListUiElements(std::string_view tenant) {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  std::vector<std::string> out;
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        lease.conn().Prepare("SELECT element FROM ui_elements WHERE tenant = ?1 AND active = 1 "
                             "ORDER BY element LIMIT ?2"));
    stmt.Bind(1, tenant).Bind(2, static_cast<int64_t>(kMaxOpsPerWrite));
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back(stmt.Text(0));
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<std::vector<ResourceRow>> SqliteStore::ScanResources(std::string_view tenant,
                                                              std::string_view type,
                                                              std::string_view after,
                                                              size_t limit) {
  std::vector<ResourceRow> out;
  if (limit == 0) return out;
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        lease.conn().Prepare("SELECT resource, type, owner, state FROM resources "
                             "WHERE tenant = ?1 AND (?2 = '' OR type = ?2) AND resource > ?3 "
                             "ORDER BY resource LIMIT ?4"));
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    stmt.Bind(1, tenant).Bind(2, type).Bind(3, after);
    stmt.Bind(4, static_cast<int64_t>(std::min<uint64_t>(limit, kMax)));
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      std::optional<ResourceState> state = ParseResourceState(stmt.Text(3));
      if (!state) return InternalError("resource has an unknown state (damaged store)");
      out.push_back(ResourceRow{stmt.Text(0), stmt.Text(1), stmt.Text(2), *state});
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<std::string> SqliteStore::TokenSigningKey() {
  auto read = [](Connection& conn) -> StatusOr<std::optional<std::string>> {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt,
                               conn.Prepare("SELECT value FROM meta WHERE key = ?1"));
    stmt.Bind(1, kTokenKeyName);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(stmt.Text(0));
  };
  {
    PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<std::string> hex, read(lease.conn()));
    PERMCACHE_RETURN_IF_ERROR(lease.Commit());
    if (hex) return store::DecodeTokenSigningKey(*hex);
  }
  // First use: insert unless another process got there first (the IMMEDIATE transaction makes
  // them take turns), then read whichever key won.
  PERMCACHE_ASSIGN_OR_RETURN(std::string fresh, store::NewTokenSigningKeyHex());
  std::lock_guard<std::mutex> lock(write_mu_);
  Connection& conn = *writer_;
  Status begin = conn.Exec("BEGIN IMMEDIATE");
  if (!begin.ok()) return WithPrefix(begin, Describe() + ": cannot start write transaction: ");
  auto body = [&]() -> StatusOr<std::optional<std::string>> {
    {
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement stmt, conn.Prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                       "ON CONFLICT DO NOTHING"));
      PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, kTokenKeyName).Bind(2, fresh).Run());
    }
    return read(conn);
  };
  StatusOr<std::optional<std::string>> hex = body();
  if (hex.ok()) {
    Status commit = conn.Exec("COMMIT");
    if (!commit.ok()) hex = WithPrefix(commit, Describe() + ": commit failed: ");
  }
  if (!hex.ok() && conn.InTransaction()) conn.Exec("ROLLBACK").IgnoreError();
  if (!hex.ok()) return hex.status();
  if (!*hex) return InternalError(Describe() + ": the token signing key vanished");
  return store::DecodeTokenSigningKey(**hex);
}

StatusOr<Model> SqliteStore::Export(std::string_view tenant) {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  Connection& conn = lease.conn();
  Model model;
  // Runs `sql` with ?1 = tenant ('' = all tenants) and hands each row to `on_row`.
  auto each_row = [&](std::string_view sql, auto&& on_row) -> Status {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
    stmt.Bind(1, tenant);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      PERMCACHE_RETURN_IF_ERROR(on_row(stmt));
    }
  };
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant FROM tenants WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant",
               [&](const Statement& s) {
                 model.tenants.push_back(Tenant{s.Text(0)});
                 return Status::Ok();
               }));
  if (!tenant.empty() && model.tenants.empty()) {
    return NotFoundError("tenant " + Quote(tenant) + " does not exist");
  }
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, business_unit FROM business_units WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, business_unit",
               [&](const Statement& s) {
                 model.business_units.push_back(BusinessUnit{s.Text(0), s.Text(1)});
                 return Status::Ok();
               }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, user, status, starts_at_ms, expires_at_ms FROM memberships "
               "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, user",
               [&](const Statement& s) -> Status {
                 std::optional<MembershipStatus> status = ParseMembershipStatus(s.Text(2));
                 if (!status)
                   return InternalError("membership has an unknown status (damaged store)");
                 model.memberships.push_back(
                     Membership{s.Text(0), s.Text(1), *status, OptionalAt(s, 3), OptionalAt(s, 4)});
                 return Status::Ok();
               }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, role FROM roles WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, role",
               [&](const Statement& s) {
                 model.roles.push_back(Role{s.Text(0), s.Text(1), {}});
                 return Status::Ok();
               }));
  {
    // Attach inherits (kept in written order) to the sorted roles.
    size_t next = 0;
    PERMCACHE_RETURN_IF_ERROR(each_row(
        "SELECT tenant, role, parent FROM role_inherits WHERE ?1 = '' OR tenant = ?1 "
        "ORDER BY tenant, role, position",
        [&](const Statement& s) -> Status {
          std::string t = s.Text(0), r = s.Text(1);
          while (next < model.roles.size() &&
                 std::tie(model.roles[next].tenant, model.roles[next].role) < std::tie(t, r)) {
            ++next;
          }
          if (next == model.roles.size() || model.roles[next].tenant != t ||
              model.roles[next].role != r) {
            return InternalError("role_inherits row for unknown role (damaged store)");
          }
          model.roles[next].inherits.push_back(s.Text(2));
          return Status::Ok();
        }));
  }
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT p.tenant, p.policy, p.effect, p.priority, p.permissions, p.scope FROM policies p "
      "WHERE ?1 = '' OR p.tenant = ?1 ORDER BY p.tenant, p.policy",
      [&](const Statement& s) -> Status {
        PERMCACHE_ASSIGN_OR_RETURN(PolicyRow p, ReadPolicyRow(s, 1));
        model.policies.push_back(Policy{s.Text(0), std::move(p.policy), p.effect, p.priority,
                                        std::move(p.permissions), std::move(p.scope)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, role, policy FROM role_policies WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, role, policy",
               [&](const Statement& s) {
                 model.role_policies.push_back(RolePolicy{s.Text(0), s.Text(1), s.Text(2)});
                 return Status::Ok();
               }));
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, user, role, business_unit, starts_at_ms, expires_at_ms FROM user_roles "
      "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, user, role, business_unit",
      [&](const Statement& s) {
        model.user_roles.push_back(UserRole{s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                                            OptionalAt(s, 4), OptionalAt(s, 5)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, user, policy, starts_at_ms, expires_at_ms FROM user_policies "
               "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, user, policy",
               [&](const Statement& s) {
                 model.user_policies.push_back(UserPolicy{s.Text(0), s.Text(1), s.Text(2),
                                                          OptionalAt(s, 3), OptionalAt(s, 4)});
                 return Status::Ok();
               }));
  // Passwords are write-only: the hash never leaves the store through the model.
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, resource, type, owner, state FROM resources WHERE ?1 = '' OR tenant = ?1 "
      "ORDER BY tenant, resource",
      [&](const Statement& s) -> Status {
        std::optional<ResourceState> state = ParseResourceState(s.Text(4));
        if (!state) return InternalError("resource has an unknown state (damaged store)");
        model.resources.push_back(Resource{s.Text(0), s.Text(1), s.Text(2), s.Text(3), *state});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, resource, user, permissions, starts_at_ms, expires_at_ms "
      "FROM resource_grants WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, resource, user",
      [&](const Statement& s) {
        model.resource_grants.push_back(ResourceGrant{s.Text(0), s.Text(1), s.Text(2),
                                                      store::SplitPermissions(s.Text(3)),
                                                      OptionalAt(s, 4), OptionalAt(s, 5)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, element, required_permissions, active FROM ui_elements "
      "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, element",
      [&](const Statement& s) {
        model.ui_elements.push_back(UiElement{
            s.Text(0), s.Text(1), {}, store::SplitPermissions(s.Text(2)), s.Int(3) != 0});
        return Status::Ok();
      }));
  {
    // Attach the required roles (a set: sorted) to the sorted elements.
    size_t next = 0;
    PERMCACHE_RETURN_IF_ERROR(each_row(
        "SELECT tenant, element, role FROM ui_element_roles WHERE ?1 = '' OR tenant = ?1 "
        "ORDER BY tenant, element, role",
        [&](const Statement& s) -> Status {
          std::string t = s.Text(0), e = s.Text(1);
          auto& elements = model.ui_elements;
          while (next < elements.size() &&
                 std::tie(elements[next].tenant, elements[next].element) < std::tie(t, e)) {
            ++next;
          }
          if (next == elements.size() || elements[next].tenant != t ||
              elements[next].element != e) {
            return InternalError("ui_element_roles row for unknown element (damaged store)");
          }
          elements[next].required_roles.push_back(s.Text(2));
          return Status::Ok();
        }));
  }
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, group_id, status, starts_at_ms, expires_at_ms FROM groups "
      "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, group_id",
      [&](const Statement& s) -> Status {
        std::optional<MembershipStatus> status = ParseMembershipStatus(s.Text(2));
        if (!status) return InternalError("group has an unknown status (damaged store)");
        model.groups.push_back(
            Group{s.Text(0), s.Text(1), *status, OptionalAt(s, 3), OptionalAt(s, 4)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, group_id, user FROM group_members WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, group_id, user",
               [&](const Statement& s) {
                 model.group_members.push_back(GroupMember{s.Text(0), s.Text(1), s.Text(2)});
                 return Status::Ok();
               }));
  PERMCACHE_RETURN_IF_ERROR(each_row(
      "SELECT tenant, group_id, role, business_unit FROM group_roles "
      "WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, group_id, role, business_unit",
      [&](const Statement& s) {
        model.group_roles.push_back(GroupRole{s.Text(0), s.Text(1), s.Text(2), s.Text(3)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, group_id, policy FROM group_policies WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, group_id, policy",
               [&](const Statement& s) {
                 model.group_policies.push_back(GroupPolicy{s.Text(0), s.Text(1), s.Text(2)});
                 return Status::Ok();
               }));
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return model;
}

StatusOr<uint64_t> SqliteStore::CurrentRevision() {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, ReadRevision(lease.conn()));
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return revision;
}

StatusOr<std::vector<ChangeSet>> SqliteStore::ChangesSince(uint64_t after, size_t limit) {
  std::vector<ChangeSet> out;
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (limit == 0 || after >= kMax) return out;
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  Connection& conn = lease.conn();
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT revision, committed_at_ms FROM revisions WHERE revision > ?1 "
                     "ORDER BY revision LIMIT ?2"));
    stmt.Bind(1, static_cast<int64_t>(after))
        .Bind(2, static_cast<int64_t>(std::min<uint64_t>(limit, kMax)));
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ChangeSet& cs = out.emplace_back();
      cs.revision = static_cast<uint64_t>(stmt.Int(0));
      cs.committed_at_ms = stmt.Int(1);
    }
  }
  if (!out.empty()) {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT revision, tenant, user FROM changelog "
                     "WHERE revision > ?1 AND revision <= ?2 ORDER BY revision, tenant, user"));
    stmt.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(out.back().revision));
    store::ChangelogGrouper grouper(&out);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      std::optional<std::string> user;
      if (!stmt.IsNull(2)) user = stmt.Text(2);
      PERMCACHE_RETURN_IF_ERROR(
          grouper.Add(static_cast<uint64_t>(stmt.Int(0)), stmt.Text(1), std::move(user)));
    }
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
}

StatusOr<uint64_t> SqliteStore::PrunedThrough() {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  uint64_t through = 0;
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt, lease.conn().Prepare("SELECT value FROM meta WHERE key = 'pruned_through'"));
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row && stmt.Int(0) > 0) through = static_cast<uint64_t>(stmt.Int(0));
  }
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return through;
}

Status SqliteStore::Ping() {
  PERMCACHE_ASSIGN_OR_RETURN(ReadLease lease, BeginRead());
  PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, ReadRevision(lease.conn()));
  (void)revision;
  return lease.Commit();
}

}  // namespace permcache::sqlite
