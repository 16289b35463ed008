#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <limits>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "store/changelog_rows.h"
#include "store/policy_row.h"
#include "store/role_walk.h"
#include "store/sqlite/connection.h"
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

constexpr std::string_view kRoleParents =
    "SELECT parent FROM role_inherits WHERE tenant = ?1 AND role = ?2 ORDER BY position";

// Users holding role ?2 directly or through any role that (transitively) inherits it. UNION
// (not UNION ALL) keeps the walk finite whatever the graph looks like.
constexpr std::string_view kRoleHolders = R"sql(
WITH RECURSIVE holder_roles(role) AS (
  SELECT ?2
  UNION
  SELECT ri.role FROM role_inherits ri JOIN holder_roles h ON ri.tenant = ?1 AND ri.parent = h.role
)
SELECT DISTINCT ur.user FROM user_roles ur
WHERE ur.tenant = ?1 AND ur.role IN (SELECT role FROM holder_roles)
LIMIT ?3)sql";

// Users reaching policy ?2: through a role linked to it (or a role inheriting such a role) or
// through a direct user_policy.
constexpr std::string_view kPolicyHolders = R"sql(
WITH RECURSIVE holder_roles(role) AS (
  SELECT role FROM role_policies WHERE tenant = ?1 AND policy = ?2
  UNION
  SELECT ri.role FROM role_inherits ri JOIN holder_roles h ON ri.tenant = ?1 AND ri.parent = h.role
)
SELECT user FROM user_roles WHERE tenant = ?1 AND role IN (SELECT role FROM holder_roles)
UNION
SELECT user FROM user_policies WHERE tenant = ?1 AND policy = ?2
LIMIT ?3)sql";

constexpr std::string_view kReadRevision = "SELECT value FROM meta WHERE key = 'revision'";

// ---------------------------------------------------------------------------------------------
// Helpers

std::string Quote(std::string_view s) {
  std::string out = "'";
  out += s;
  out += "'";
  return out;
}

// Prefixes a message, keeping the code.
Status Annotate(const Status& s, std::string_view prefix) {
  return Status(s.code(), std::string(prefix) + s.message());
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
// OpApplier: applies single ops inside the caller's write transaction and collects the keys
// they affect. Errors carry no "op N: " prefix; Apply adds it.
//
// Rule: an op records keys only if it changed a row (an idempotent re-put invalidates nothing).
// Which keys: see docs/store.md ("Affected keys").
class OpApplier {
 public:
  explicit OpApplier(Connection& conn) : conn_(conn) {}

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

  // Deduplicated, sorted; users of a tenant that is affected as a whole are left out.
  ChangeSet TakeChangeSet() {
    ChangeSet cs;
    cs.tenants.assign(tenants_.begin(), tenants_.end());
    for (const auto& key : users_) {
      if (tenants_.count(key.first) == 0) cs.users.push_back(key);
    }
    return cs;
  }

 private:
  Status ApplyOp(const WriteOp& op) {
    const std::string& t = op.tenant;
    switch (op.kind) {
      case OpKind::kPutTenant:
        PERMCACHE_RETURN_IF_ERROR(
            Run("INSERT INTO tenants (tenant) VALUES (?1) ON CONFLICT DO NOTHING", {t}));
        if (Changed()) op_tenant_wide_ = true;
        return Status::Ok();

      case OpKind::kDeleteTenant:
        // Cascades to everything of the tenant (business units, memberships, roles, policies,
        // and through those every link).
        PERMCACHE_RETURN_IF_ERROR(Run("DELETE FROM tenants WHERE tenant = ?1", {t}));
        if (Changed()) op_tenant_wide_ = true;
        return Status::Ok();

      case OpKind::kPutBusinessUnit:
        PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
        PERMCACHE_RETURN_IF_ERROR(
            Run("INSERT INTO business_units (tenant, business_unit) VALUES (?1, ?2) "
                "ON CONFLICT DO NOTHING",
                {t, op.business_unit}));
        if (Changed()) op_tenant_wide_ = true;
        return Status::Ok();

      case OpKind::kDeleteBusinessUnit: {
        // user_roles.business_unit has no foreign key ('' means none), so its rows go by hand;
        // the policies scoped to the unit (and their links) go by cascade.
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM user_roles WHERE tenant = ?1 AND business_unit = ?2",
                {t, op.business_unit}));
        bool changed = Changed();
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM business_units WHERE tenant = ?1 AND business_unit = ?2",
                {t, op.business_unit}));
        if (changed || Changed()) op_tenant_wide_ = true;
        return Status::Ok();
      }

      case OpKind::kPutMembership:
        PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
        PERMCACHE_RETURN_IF_ERROR(Run(
            "INSERT INTO memberships (tenant, user, status) VALUES (?1, ?2, ?3) "
            "ON CONFLICT DO UPDATE SET status = excluded.status WHERE status <> excluded.status",
            {t, op.user, MembershipStatusName(op.status)}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();

      case OpKind::kDeleteMembership:
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM memberships WHERE tenant = ?1 AND user = ?2", {t, op.user}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();

      case OpKind::kPutRole:
        return PutRole(op);

      case OpKind::kDeleteRole: {
        // Holders are computed before the delete: afterwards the role and the inherit edges
        // that lead to it are gone.
        PERMCACHE_ASSIGN_OR_RETURN(bool exists, Exists(kRoleExists, {t, op.role}));
        if (!exists) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(AddHolders(kRoleHolders, t, op.role));
        return Run("DELETE FROM roles WHERE tenant = ?1 AND role = ?2", {t, op.role});
      }

      case OpKind::kPutPolicy:
        return PutPolicy(op);

      case OpKind::kDeletePolicy: {
        PERMCACHE_ASSIGN_OR_RETURN(bool exists, Exists(kPolicyExists, {t, op.policy}));
        if (!exists) return Status::Ok();
        PERMCACHE_RETURN_IF_ERROR(AddHolders(kPolicyHolders, t, op.policy));
        return Run("DELETE FROM policies WHERE tenant = ?1 AND policy = ?2", {t, op.policy});
      }

      case OpKind::kPutRolePolicy:
        PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
        PERMCACHE_RETURN_IF_ERROR(RequireRole(t, op.role));
        PERMCACHE_RETURN_IF_ERROR(RequirePolicy(t, op.policy));
        PERMCACHE_RETURN_IF_ERROR(
            Run("INSERT INTO role_policies (tenant, role, policy) VALUES (?1, ?2, ?3) "
                "ON CONFLICT DO NOTHING",
                {t, op.role, op.policy}));
        // A role-policy link does not change who holds the role: one holder query suffices.
        if (Changed()) PERMCACHE_RETURN_IF_ERROR(AddHolders(kRoleHolders, t, op.role));
        return Status::Ok();

      case OpKind::kDeleteRolePolicy:
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM role_policies WHERE tenant = ?1 AND role = ?2 AND policy = ?3",
                {t, op.role, op.policy}));
        if (Changed()) PERMCACHE_RETURN_IF_ERROR(AddHolders(kRoleHolders, t, op.role));
        return Status::Ok();

      case OpKind::kPutUserRole:
        PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
        PERMCACHE_RETURN_IF_ERROR(RequireRole(t, op.role));
        if (!op.business_unit.empty()) {
          PERMCACHE_RETURN_IF_ERROR(RequireBusinessUnit(t, op.business_unit));
        }
        PERMCACHE_RETURN_IF_ERROR(Run(
            "INSERT INTO user_roles (tenant, user, role, business_unit) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT DO NOTHING",
            {t, op.user, op.role, op.business_unit}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();

      case OpKind::kDeleteUserRole:
        // Exact key: the assignment with this business unit ('' = the unscoped one).
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM user_roles "
                "WHERE tenant = ?1 AND user = ?2 AND role = ?3 AND business_unit = ?4",
                {t, op.user, op.role, op.business_unit}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();

      case OpKind::kPutUserPolicy:
        PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
        PERMCACHE_RETURN_IF_ERROR(RequirePolicy(t, op.policy));
        PERMCACHE_RETURN_IF_ERROR(
            Run("INSERT INTO user_policies (tenant, user, policy) VALUES (?1, ?2, ?3) "
                "ON CONFLICT DO NOTHING",
                {t, op.user, op.policy}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();

      case OpKind::kDeleteUserPolicy:
        PERMCACHE_RETURN_IF_ERROR(
            Run("DELETE FROM user_policies WHERE tenant = ?1 AND user = ?2 AND policy = ?3",
                {t, op.user, op.policy}));
        if (Changed()) op_users_.insert(op.user);
        return Status::Ok();
    }
    return InvalidArgumentError("unknown op kind");
  }

  Status PutRole(const WriteOp& op) {
    const std::string& t = op.tenant;
    PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
    // The wanted list, duplicates dropped (first position wins).
    std::vector<std::string> wanted;
    for (const auto& parent : op.inherits) {
      if (std::find(wanted.begin(), wanted.end(), parent) == wanted.end()) wanted.push_back(parent);
    }
    for (const auto& parent : wanted) {
      if (parent != op.role) PERMCACHE_RETURN_IF_ERROR(RequireRole(t, parent));
    }
    PERMCACHE_RETURN_IF_ERROR(CheckNoCycle(t, op.role, wanted));

    PERMCACHE_RETURN_IF_ERROR(Run(
        "INSERT INTO roles (tenant, role) VALUES (?1, ?2) ON CONFLICT DO NOTHING", {t, op.role}));
    PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> current, Parents(t, op.role));
    if (current == wanted) return Status::Ok();  // new role without inherits, or unchanged

    // Changing R's inherits changes what R grants, so R's holders (direct or through roles
    // inheriting R) are affected. The edges INTO R are untouched (a put_role only sets R's own
    // edges), so the holder set is the same before and after: one query is exact.
    PERMCACHE_RETURN_IF_ERROR(AddHolders(kRoleHolders, t, op.role));
    PERMCACHE_RETURN_IF_ERROR(
        Run("DELETE FROM role_inherits WHERE tenant = ?1 AND role = ?2", {t, op.role}));
    for (size_t i = 0; i < wanted.size(); ++i) {
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement stmt,
          conn_.Prepare("INSERT INTO role_inherits (tenant, role, parent, position) "
                        "VALUES (?1, ?2, ?3, ?4)"));
      PERMCACHE_RETURN_IF_ERROR(stmt.Bind(1, t)
                                    .Bind(2, op.role)
                                    .Bind(3, wanted[i])
                                    .Bind(4, static_cast<int64_t>(i))
                                    .Run());
    }
    return Status::Ok();
  }

  Status PutPolicy(const WriteOp& op) {
    const std::string& t = op.tenant;
    PERMCACHE_RETURN_IF_ERROR(RequireTenant(t));
    if (!op.scope.empty()) PERMCACHE_RETURN_IF_ERROR(RequireBusinessUnit(t, op.scope));
    for (const auto& p : op.permissions) {
      // Defence in depth: the storage format separates patterns with '\n'.
      if (p.empty() || p.find('\n') != std::string::npos) {
        return InvalidArgumentError("policy " + Quote(op.policy) + " has an invalid pattern");
      }
    }
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn_.Prepare(
            "INSERT INTO policies (tenant, policy, effect, priority, scope, permissions) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT DO UPDATE SET effect = excluded.effect, priority = excluded.priority, "
            "  scope = excluded.scope, permissions = excluded.permissions "
            "WHERE effect IS NOT excluded.effect OR priority IS NOT excluded.priority "
            "  OR scope IS NOT excluded.scope OR permissions IS NOT excluded.permissions"));
    stmt.Bind(1, t).Bind(2, op.policy).Bind(3, EffectName(op.effect));
    stmt.Bind(4, static_cast<int64_t>(op.priority));
    if (op.scope.empty()) {
      stmt.BindNull(5);
    } else {
      stmt.Bind(5, op.scope);
    }
    stmt.Bind(6, JoinPermissions(op.permissions));
    PERMCACHE_RETURN_IF_ERROR(stmt.Run());
    // Links are untouched by a put_policy, so the holders are the same before and after.
    if (Changed()) PERMCACHE_RETURN_IF_ERROR(AddHolders(kPolicyHolders, t, op.policy));
    return Status::Ok();
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
      PERMCACHE_ASSIGN_OR_RETURN(std::vector<std::string> next, Parents(tenant, current));
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

  StatusOr<std::vector<std::string>> Parents(const std::string& tenant, const std::string& role) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(kRoleParents));
    stmt.Bind(1, tenant).Bind(2, role);
    std::vector<std::string> out;
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return out;
      out.push_back(stmt.Text(0));
    }
  }

  // Adds the users `holders_sql` lists for (tenant, key) to the op's affected users. Reads at
  // most kMaxAffectedUsersPerOp + 1 rows: past the limit the op is recorded tenant-wide anyway.
  Status AddHolders(std::string_view holders_sql, const std::string& tenant,
                    const std::string& key) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(holders_sql));
    stmt.Bind(1, tenant).Bind(2, key).Bind(3, static_cast<int64_t>(kMaxAffectedUsersPerOp + 1));
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      op_users_.insert(stmt.Text(0));
      if (op_users_.size() > kMaxAffectedUsersPerOp) {
        op_tenant_wide_ = true;
        return Status::Ok();
      }
    }
  }

  StatusOr<bool> Exists(std::string_view sql, std::initializer_list<std::string_view> args) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    int i = 1;
    for (std::string_view a : args) stmt.Bind(i++, a);
    return stmt.Step();
  }

  Status RequireTenant(const std::string& tenant) {
    PERMCACHE_ASSIGN_OR_RETURN(bool ok, Exists(kTenantExists, {tenant}));
    if (!ok) return InvalidArgumentError("tenant " + Quote(tenant) + " does not exist");
    return Status::Ok();
  }
  Status RequireRole(const std::string& tenant, const std::string& role) {
    PERMCACHE_ASSIGN_OR_RETURN(bool ok, Exists(kRoleExists, {tenant, role}));
    if (!ok) {
      return InvalidArgumentError("role " + Quote(role) + " does not exist in tenant " +
                                  Quote(tenant));
    }
    return Status::Ok();
  }
  Status RequirePolicy(const std::string& tenant, const std::string& policy) {
    PERMCACHE_ASSIGN_OR_RETURN(bool ok, Exists(kPolicyExists, {tenant, policy}));
    if (!ok) {
      return InvalidArgumentError("policy " + Quote(policy) + " does not exist in tenant " +
                                  Quote(tenant));
    }
    return Status::Ok();
  }
  Status RequireBusinessUnit(const std::string& tenant, const std::string& unit) {
    PERMCACHE_ASSIGN_OR_RETURN(bool ok, Exists(kBusinessUnitExists, {tenant, unit}));
    if (!ok) {
      return InvalidArgumentError("business unit " + Quote(unit) + " does not exist in tenant " +
                                  Quote(tenant));
    }
    return Status::Ok();
  }

  Status Run(std::string_view sql, std::initializer_list<std::string_view> args) {
    PERMCACHE_ASSIGN_OR_RETURN(Statement stmt, conn_.Prepare(sql));
    int i = 1;
    for (std::string_view a : args) stmt.Bind(i++, a);
    return stmt.Run();
  }

  // Rows changed by the last INSERT/UPDATE/DELETE (cascaded deletes not counted).
  bool Changed() const { return sqlite3_changes(conn_.db()) > 0; }

  Connection& conn_;
  std::set<std::string> tenants_;
  std::set<std::pair<std::string, std::string>> users_;
  // Per op: the users it affects, or tenant-wide.
  std::set<std::string> op_users_;
  bool op_tenant_wide_ = false;
};

StatusOr<ChangeSet> ApplyInTransaction(Connection& conn, std::span<const WriteOp> ops) {
  OpApplier applier(conn);
  for (size_t i = 0; i < ops.size(); ++i) {
    Status s = applier.Apply(ops[i]);
    if (!s.ok()) return Annotate(s, "op " + std::to_string(i) + ": ");
  }
  ChangeSet cs = applier.TakeChangeSet();

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
  if (!begin.ok()) return Annotate(begin, Describe() + ": cannot start write transaction: ");
  StatusOr<ChangeSet> result = ApplyInTransaction(conn, ops);
  if (result.ok() && options_.changelog_retention.count() > 0 &&
      result->revision % kPruneEvery == 0) {
    // In the same transaction: a pruned range and pruned_through move together.
    Status pruned =
        PruneChangelog(conn, result->revision,
                       result->committed_at_ms - options_.changelog_retention.count());
    if (!pruned.ok()) result = Annotate(pruned, Describe() + ": changelog retention: ");
  }
  if (result.ok()) {
    Status commit = conn.Exec("COMMIT");
    if (!commit.ok()) result = Annotate(commit, Describe() + ": commit failed: ");
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
        conn.Prepare("SELECT status FROM memberships WHERE tenant = ?1 AND user = ?2"));
    stmt.Bind(1, tenant).Bind(2, user);
    PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      std::optional<MembershipStatus> status = ParseMembershipStatus(stmt.Text(0));
      if (!status) return InternalError("membership has an unknown status (damaged store)");
      out.membership = *status == MembershipStatus::kActive ? MembershipState::kActive
                                                            : MembershipState::kSuspended;
    }
  }
  if (out.membership != MembershipState::kActive) {
    PERMCACHE_RETURN_IF_ERROR(lease.Commit());
    return out;
  }

  // Direct assignments first.
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT p.policy, p.effect, p.priority, p.permissions, p.scope "
                     "FROM user_policies up JOIN policies p "
                     "  ON p.tenant = up.tenant AND p.policy = up.policy "
                     "WHERE up.tenant = ?1 AND up.user = ?2 ORDER BY p.policy"));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      PERMCACHE_ASSIGN_OR_RETURN(PolicyRow p, ReadPolicyRow(stmt, 0));
      out.grants.push_back(Grant{std::move(p.policy), p.effect, p.priority,
                                 std::move(p.permissions), std::move(p.scope), "", ""});
    }
  }

  // Role assignments, then the role walk. (A recursive CTE carrying the path would enumerate
  // every path, which is exponential on diamond-shaped role graphs.)
  std::vector<store::RoleAssignment> assignments;
  {
    PERMCACHE_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT role, business_unit FROM user_roles "
                     "WHERE tenant = ?1 AND user = ?2 ORDER BY role, business_unit"));
    stmt.Bind(1, tenant).Bind(2, user);
    while (true) {
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      assignments.push_back({stmt.Text(0), stmt.Text(1)});
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
          conn.Prepare("SELECT p.policy, p.effect, p.priority, p.permissions, p.scope "
                       "FROM role_policies rp JOIN policies p "
                       "  ON p.tenant = rp.tenant AND p.policy = rp.policy "
                       "WHERE rp.tenant = ?1 AND rp.role = ?2 ORDER BY p.policy"));
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
  PERMCACHE_RETURN_IF_ERROR(lease.Commit());
  return out;
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
      each_row("SELECT tenant, user, status FROM memberships WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, user",
               [&](const Statement& s) -> Status {
                 std::optional<MembershipStatus> status = ParseMembershipStatus(s.Text(2));
                 if (!status)
                   return InternalError("membership has an unknown status (damaged store)");
                 model.memberships.push_back(Membership{s.Text(0), s.Text(1), *status});
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
      "SELECT tenant, user, role, business_unit FROM user_roles WHERE ?1 = '' OR tenant = ?1 "
      "ORDER BY tenant, user, role, business_unit",
      [&](const Statement& s) {
        model.user_roles.push_back(UserRole{s.Text(0), s.Text(1), s.Text(2), s.Text(3)});
        return Status::Ok();
      }));
  PERMCACHE_RETURN_IF_ERROR(
      each_row("SELECT tenant, user, policy FROM user_policies WHERE ?1 = '' OR tenant = ?1 "
               "ORDER BY tenant, user, policy",
               [&](const Statement& s) {
                 model.user_policies.push_back(UserPolicy{s.Text(0), s.Text(1), s.Text(2)});
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
