#include "store/postgres/postgres_store.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "store/changelog_rows.h"
#include "store/op_applier.h"
#include "store/policy_row.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_listener.h"
#include "store/postgres/pg_migrations.h"
#include "store/postgres/pg_ops.h"
#include "store/role_walk.h"
#include "store/signing_key.h"

namespace permcache::postgres {
namespace {

using Params = std::vector<std::optional<std::string>>;

constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
constexpr const char* kHead = "SELECT coalesce(max(revision), 0) FROM permcache.pc_revisions";

// Statements prepared on every connection (the check miss path).
constexpr const char* kGrantsMembership = "pc_grants_membership";
constexpr const char* kGrantsDirect = "pc_grants_direct";
constexpr const char* kGrantsAssignments = "pc_grants_assignments";
constexpr const char* kGrantsGroups = "pc_grants_groups";
constexpr const char* kGrantsGroupPolicies = "pc_grants_group_policies";
constexpr const char* kGrantsGroupRoles = "pc_grants_group_roles";
constexpr const char* kGrantsRoleEdges = "pc_grants_role_edges";
constexpr const char* kGrantsRolePolicies = "pc_grants_role_policies";
constexpr const char* kGrantsResources = "pc_grants_resources";
constexpr const char* kLoadResource = "pc_load_resource";
constexpr const char* kHeadStatement = "pc_head";

// A stored bound in ms since the epoch (NULL stays NULL). Bounds written by permcache are whole
// ms; one with finer precision (a direct write of now()) is rounded inward, so the engine never
// counts an instant the table's readers would not: starts_at up, expires_at down.
#define PC_START_MS(col) "ceil(extract(epoch FROM " col ") * 1000)::bigint"
#define PC_EXPIRY_MS(col) "floor(extract(epoch FROM " col ") * 1000)::bigint"

// The groups the user ($1 tenant, $2 user) is in, as gm (membership) and g (group).
#define PC_USER_GROUPS                                                                      \
  "FROM permcache.group_members gm JOIN permcache.groups g "                                \
  "  ON g.tenant = gm.tenant AND g.group_id = gm.group_id "

// Roles reachable from the user's assignments and those of the user's active groups ($1 tenant,
// $2 user). UNION keeps it finite on any graph.
#define PC_REACHABLE_ROLES                                                                  \
  "WITH RECURSIVE reach(role) AS ("                                                         \
  "  SELECT role FROM permcache.user_roles WHERE tenant = $1 AND user_id = $2"              \
  "  UNION"                                                                                 \
  "  SELECT gr.role " PC_USER_GROUPS                                                        \
  "  JOIN permcache.group_roles gr ON gr.tenant = gm.tenant AND gr.group_id = gm.group_id"  \
  "  WHERE gm.tenant = $1 AND gm.user_id = $2 AND g.status = 'active'"                      \
  "  UNION"                                                                                 \
  "  SELECT ri.inherits FROM permcache.role_inherits ri JOIN reach r"                       \
  "    ON ri.tenant = $1 AND ri.role = r.role) "

constexpr std::pair<const char*, const char*> kPrepared[] = {
    {kGrantsMembership,
     "SELECT status, " PC_START_MS("starts_at") ", " PC_EXPIRY_MS("expires_at") " "
     "FROM permcache.memberships WHERE tenant = $1 AND user_id = $2"},
    {kGrantsDirect,
     "SELECT p.policy, p.effect, p.priority, array_to_string(p.permissions, E'\\n'), "
     "  coalesce(p.scope, ''), " PC_START_MS("up.starts_at") ", "
     PC_EXPIRY_MS("up.expires_at") " "
     "FROM permcache.user_policies up JOIN permcache.policies p "
     "  ON p.tenant = up.tenant AND p.policy = up.policy "
     "WHERE up.tenant = $1 AND up.user_id = $2 ORDER BY p.policy COLLATE \"C\""},
    {kGrantsAssignments,
     "SELECT role, business_unit, " PC_START_MS("starts_at") ", " PC_EXPIRY_MS("expires_at") " "
     "FROM permcache.user_roles WHERE tenant = $1 AND user_id = $2 "
     "ORDER BY role COLLATE \"C\", business_unit COLLATE \"C\""},
    // Every group the user is in, whatever its status (UserGrants::groups).
    {kGrantsGroups,
     "SELECT g.group_id, g.status, " PC_START_MS("g.starts_at") ", "
     PC_EXPIRY_MS("g.expires_at") " " PC_USER_GROUPS
     "WHERE gm.tenant = $1 AND gm.user_id = $2 ORDER BY g.group_id COLLATE \"C\""},
    {kGrantsGroupPolicies,
     "SELECT gp.group_id, p.policy, p.effect, p.priority, "
     "  array_to_string(p.permissions, E'\\n'), coalesce(p.scope, '') " PC_USER_GROUPS
     "JOIN permcache.group_policies gp ON gp.tenant = gm.tenant AND gp.group_id = gm.group_id "
     "JOIN permcache.policies p ON p.tenant = gp.tenant AND p.policy = gp.policy "
     "WHERE gm.tenant = $1 AND gm.user_id = $2 AND g.status = 'active' "
     "ORDER BY gp.group_id COLLATE \"C\", p.policy COLLATE \"C\""},
    {kGrantsGroupRoles,
     "SELECT gr.group_id, gr.role, gr.business_unit " PC_USER_GROUPS
     "JOIN permcache.group_roles gr ON gr.tenant = gm.tenant AND gr.group_id = gm.group_id "
     "WHERE gm.tenant = $1 AND gm.user_id = $2 AND g.status = 'active' "
     "ORDER BY gr.group_id COLLATE \"C\", gr.role COLLATE \"C\", gr.business_unit COLLATE \"C\""},
    {kGrantsRoleEdges,
     PC_REACHABLE_ROLES
     "SELECT ri.role, ri.inherits FROM permcache.role_inherits ri "
     "WHERE ri.tenant = $1 AND ri.role IN (SELECT role FROM reach) "
     "ORDER BY ri.role COLLATE \"C\", ri.position"},
    {kGrantsRolePolicies,
     PC_REACHABLE_ROLES
     "SELECT rp.role, p.policy, p.effect, p.priority, array_to_string(p.permissions, E'\\n'), "
     "  coalesce(p.scope, '') "
     "FROM permcache.role_policies rp JOIN permcache.policies p "
     "  ON p.tenant = rp.tenant AND p.policy = rp.policy "
     "WHERE rp.tenant = $1 AND rp.role IN (SELECT role FROM reach) "
     "ORDER BY rp.role COLLATE \"C\", p.policy COLLATE \"C\""},
    {kGrantsResources,
     "SELECT resource, array_to_string(permissions, E'\\n'), " PC_START_MS("starts_at") ", "
     PC_EXPIRY_MS("expires_at") " FROM permcache.resource_grants "
     "WHERE tenant = $1 AND user_id = $2 ORDER BY resource COLLATE \"C\""},
    {kLoadResource,
     "SELECT type, coalesce(owner, ''), state, version, coalesce(password_hash, '') "
     "FROM permcache.resources WHERE tenant = $1 AND resource = $2"},
    {kHeadStatement, kHead},
};

constexpr const char* kTokenKeyName = "token_signing_key";
#undef PC_REACHABLE_ROLES
#undef PC_USER_GROUPS

StatusOr<int64_t> ParseInt(const std::string& text) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return InternalError("not an integer: '" + text + "' (damaged store)");
  }
}

StatusOr<uint64_t> ParseRevision(const std::string& text) {
  PERMCACHE_ASSIGN_OR_RETURN(int64_t v, ParseInt(text));
  if (v < 0) return InternalError("negative revision (damaged store)");
  return static_cast<uint64_t>(v);
}

StatusOr<store::PolicyRow> PolicyRowAt(const PgRows& rows, size_t r, size_t first) {
  PERMCACHE_ASSIGN_OR_RETURN(int64_t priority, ParseInt(rows.Text(r, first + 2)));
  return store::DecodePolicyRow(rows.Text(r, first), rows.Text(r, first + 1), priority,
                                rows.Text(r, first + 3), rows.Text(r, first + 4));
}

// The optional bound in column `col` (NULL = none).
StatusOr<std::optional<int64_t>> BoundAt(const PgRows& rows, size_t r, size_t col) {
  if (rows.IsNull(r, col)) return std::optional<int64_t>();
  PERMCACHE_ASSIGN_OR_RETURN(int64_t ms, ParseInt(rows.Text(r, col)));
  return std::optional<int64_t>(ms);
}

// The interval in columns first (starts_at) and first + 1 (expires_at).
StatusOr<Interval> IntervalAt(const PgRows& rows, size_t r, size_t first) {
  PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(rows, r, first));
  PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(rows, r, first + 1));
  return Interval{starts.value_or(Interval::kNoStart), expires.value_or(Interval::kNoExpiry)};
}

PgStatement Plain(const char* sql, Params params = {}) { return PgStatement{sql, std::move(params)}; }
PgStatement Prepared(const char* name, Params params) {
  return PgStatement{name, std::move(params), /*prepared=*/true};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The pool

class PostgresStore::Lease {
 public:
  Lease(PostgresStore* store, std::unique_ptr<PgConnection> conn)
      : store_(store), conn_(std::move(conn)) {}
  Lease(Lease&& other) noexcept : store_(other.store_), conn_(std::move(other.conn_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (conn_ == nullptr) return;
    // An early return may have left a transaction open: never pool a connection inside one.
    conn_->RollbackIfOpen();
    store_->Release(std::move(conn_));
  }
  PgConnection* operator->() { return conn_.get(); }
  bool broken() const { return conn_->broken(); }

 private:
  PostgresStore* store_;
  std::unique_ptr<PgConnection> conn_;
};

PostgresStore::PostgresStore(std::string conninfo, std::string redacted,
                             StoreOptions store_options, PostgresStoreOptions options)
    : conninfo_(std::move(conninfo)),
      redacted_(std::move(redacted)),
      store_options_(store_options),
      options_(std::move(options)) {}

PostgresStore::~PostgresStore() {
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
}

void PostgresStore::MaintenanceLoop() {
  using std::chrono::steady_clock;
  auto next_prune = steady_clock::now();
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (!maintenance_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    // A deferred window (a huge fan-out, or another application's REPEATABLE READ write) is
    // applied by whichever node gets here first; the function serializes on the revision lock.
    auto queued = ReadPipeline(
        {Plain("SELECT EXISTS (SELECT 1 FROM permcache.pc_effective_queue)")}, "effective queue");
    if (queued.ok() && (*queued)[0].Text(0, 0) == "t") {
      if (auto lease = Acquire(); lease.ok()) {
        const auto started = std::chrono::steady_clock::now();
        if ((*lease)->Query("SELECT permcache.apply_effective_queue(100)").ok()) {
          effective_windows_applied_.fetch_add(1, std::memory_order_relaxed);
          effective_maintenance_us_.fetch_add(
              static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now() - started)
                                        .count()),
              std::memory_order_relaxed);
        }
      }
    }
    if (store_options_.changelog_retention.count() > 0 && steady_clock::now() >= next_prune) {
      next_prune = steady_clock::now() + std::chrono::minutes(1);
      if (auto lease = Acquire(); lease.ok()) {
        // Leader-only inside: pg_try_advisory_xact_lock, so concurrent nodes skip it.
        (void)(*lease)->Query(
            "SELECT permcache.prune_changelog(make_interval(secs => $1::double precision), 10000)",
            {std::to_string(static_cast<double>(store_options_.changelog_retention.count()) /
                            1000.0)});
      }
    }
    lock.lock();
  }
}

StatusOr<std::unique_ptr<PgConnection>> PostgresStore::Connect() {
  PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn,
                             PgConnection::Connect(conninfo_, redacted_, options_.application_name));
  for (const auto& [name, sql] : kPrepared) {
    PERMCACHE_RETURN_IF_ERROR(conn->Prepare(name, sql));
  }
  return conn;
}

StatusOr<PostgresStore::Lease> PostgresStore::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (idle_.empty() && open_ >= options_.max_connections) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.max_connections) {
        return UnavailableError(redacted_ + ": all " + std::to_string(options_.max_connections) +
                                " connections busy");
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    if (std::chrono::steady_clock::now() < retry_after_) {
      // Fail fast while the server is down; the next attempt after the backoff reconnects.
      return UnavailableError(last_connect_error_);
    }
    ++open_;
  }
  // Connect outside the lock: it takes a network round trip (or the connect timeout).
  StatusOr<std::unique_ptr<PgConnection>> conn = Connect();
  std::lock_guard<std::mutex> lock(mu_);
  if (!conn.ok()) {
    --open_;
    backoff_ = std::min<std::chrono::milliseconds>(
        std::max<std::chrono::milliseconds>(backoff_ * 2, std::chrono::milliseconds(50)),
        std::chrono::seconds(2));
    retry_after_ = std::chrono::steady_clock::now() + backoff_;
    last_connect_error_ = conn.status().message();
    ++connect_failures_;
    cv_.notify_one();
    return conn.status();
  }
  backoff_ = std::chrono::milliseconds(0);
  return Lease(this, std::move(conn).value());
}

void PostgresStore::Release(std::unique_ptr<PgConnection> conn) {
  std::vector<std::unique_ptr<PgConnection>> dropped;  // closed below, outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn->broken()) {
      // Dropped; the next Acquire connects anew. A dead connection usually means the server
      // restarted, which killed the idle ones too: drop them as well rather than fail on each.
      open_ -= 1 + idle_.size();
      dropped.swap(idle_);
      dropped.push_back(std::move(conn));
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

StatusOr<std::vector<PgRows>> PostgresStore::ReadPipeline(const std::vector<PgStatement>& batch,
                                                         std::string_view what) {
  Status last;
  // A read is safe to repeat: when the pooled connection turns out to be dead (server restart,
  // terminated backend), try once more on a fresh one before failing.
  for (int attempt = 0; attempt < 2; ++attempt) {
    PERMCACHE_ASSIGN_OR_RETURN(Lease lease, Acquire());
    StatusOr<std::vector<PgRows>> results = lease->Pipeline(batch, nullptr);
    if (results.ok()) return results;
    last = results.status();
    if (!lease->broken()) break;  // a real error, not a dead connection (the lease rolls back)
  }
  return WithPrefix(last, redacted_ + ": " + std::string(what) + ": ");
}

// ---------------------------------------------------------------------------------------------
// Store

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                             const StoreOptions& store_options,
                                                             PostgresStoreOptions options) {
  std::string redacted = RedactConnInfo(url);
  if (redacted == "postgres://(unparseable URL)") {
    return InvalidArgumentError("invalid PostgreSQL URL (expected postgres://USER@HOST:PORT/DB)");
  }
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(url, redacted, store_options, std::move(options)));
  {
    // Migrate on a plain connection: the prepared statements need the schema to exist.
    PERMCACHE_ASSIGN_OR_RETURN(
        std::unique_ptr<PgConnection> conn,
        PgConnection::Connect(url, redacted, store->options_.application_name + "-migrate"));
    PERMCACHE_RETURN_IF_ERROR(Migrate(*conn));
  }
  // Fail at start, not at the first request, when the pool cannot connect.
  PERMCACHE_RETURN_IF_ERROR(store->Ping());
  store->maintenance_ = std::thread([s = store.get()] { s->MaintenanceLoop(); });
  return store;
}

std::string PostgresStore::Describe() const { return redacted_; }

StatusOr<ChangeSet> PostgresStore::Apply(std::span<const WriteOp> ops) {
  PERMCACHE_RETURN_IF_ERROR(ValidateOps(ops));
  PERMCACHE_RETURN_IF_ERROR(store::CheckStoreOps(ops));
  std::vector<PgStatement> batch;
  std::vector<size_t> op_of;  // op index of each statement (SIZE_MAX: framing)
  constexpr size_t kFraming = std::numeric_limits<size_t>::max();
  batch.push_back(Plain("BEGIN ISOLATION LEVEL READ COMMITTED"));
  op_of.push_back(kFraming);
  for (size_t i = 0; i < ops.size(); ++i) {
    for (PgStatement& s : OpStatements(ops[i])) {
      batch.push_back(std::move(s));
      op_of.push_back(i);
    }
  }
  batch.push_back(Plain("SELECT revision, tenant, user_id FROM permcache.pc_finish()"));
  op_of.push_back(kFraming);
  const size_t finish_index = batch.size() - 1;
  // The commit time the changelog keeps (readers catching up see the same value), and how long
  // the commit step spent on user_effective_policies.
  batch.push_back(Plain("SELECT committed_at_ms, "
                        "  coalesce(nullif(current_setting('permcache.effective_ms', true), ''), "
                        "  '0')::double precision "
                        "FROM permcache.pc_revisions "
                        "WHERE revision = currval('permcache.pc_revision_seq')"));
  op_of.push_back(kFraming);
  batch.push_back(Plain("COMMIT"));
  op_of.push_back(kFraming);

  PERMCACHE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  PgBatchError error;
  StatusOr<std::vector<PgRows>> results = lease->Pipeline(batch, &error);
  if (!results.ok()) {  // the lease rolls the aborted transaction back
    const Status& s = results.status();
    if (error.statement < op_of.size() && op_of[error.statement] != kFraming &&
        s.code() == StatusCode::kInvalidArgument) {
      return WithPrefix(s, "op " + std::to_string(op_of[error.statement]) + ": ");
    }
    return WithPrefix(s, redacted_ + ": write failed: ");
  }
  const PgRows& rows = (*results)[finish_index];
  ChangeSet cs;
  for (size_t r = 0; r < rows.size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, ParseRevision(rows.Text(r, 0)));
    cs.revision = revision;
    if (rows.IsNull(r, 1)) continue;  // the row that only carries the revision
    if (rows.IsNull(r, 2)) {
      cs.tenants.push_back(rows.Text(r, 1));
    } else {
      cs.users.emplace_back(rows.Text(r, 1), rows.Text(r, 2));
    }
  }
  if (cs.revision == 0) return InternalError(redacted_ + ": pc_finish() returned no revision");
  std::sort(cs.tenants.begin(), cs.tenants.end());
  std::sort(cs.users.begin(), cs.users.end());
  const PgRows& committed = (*results)[finish_index + 1];
  if (committed.size() != 1) return InternalError(redacted_ + ": no commit time for the revision");
  PERMCACHE_ASSIGN_OR_RETURN(cs.committed_at_ms, ParseInt(committed.Text(0, 0)));
  const double effective_ms = std::strtod(committed.Text(0, 1).c_str(), nullptr);
  if (effective_ms > 0) {
    effective_maintenance_us_.fetch_add(static_cast<uint64_t>(effective_ms * 1000.0),
                                        std::memory_order_relaxed);
  }
  return cs;
}

StatusOr<UserGrants> PostgresStore::LoadGrants(std::string_view tenant, std::string_view user) {
  const Params key = {std::string(tenant), std::string(user)};
  // One flight, one snapshot: the revision and every row the user's grants come from. Results
  // are indexed by position in the batch.
  enum : size_t {
    kAtBegin, kAtHead, kAtMembership, kAtGroups, kAtDirect, kAtGroupPolicies, kAtAssignments,
    kAtGroupRoles, kAtRoleEdges, kAtRolePolicies, kAtResources, kAtCommit
  };
  std::vector<PgStatement> batch = {
      Plain(kBeginRead),
      Prepared(kHeadStatement, {}),
      Prepared(kGrantsMembership, key),
      Prepared(kGrantsGroups, key),
      Prepared(kGrantsDirect, key),
      Prepared(kGrantsGroupPolicies, key),
      Prepared(kGrantsAssignments, key),
      Prepared(kGrantsGroupRoles, key),
      Prepared(kGrantsRoleEdges, key),
      Prepared(kGrantsRolePolicies, key),
      Prepared(kGrantsResources, key),
      Plain("COMMIT"),
  };
  static_assert(kAtCommit == 11, "one index per statement");
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> results, ReadPipeline(batch, "reading grants"));
  const std::vector<PgRows>& res = results;
  UserGrants out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ParseRevision(res[kAtHead].Text(0, 0)));
  if (res[kAtMembership].size() > 0) {
    std::optional<MembershipStatus> status = ParseMembershipStatus(res[kAtMembership].Text(0, 0));
    if (!status) return InternalError("membership has an unknown status (damaged store)");
    out.membership = store::MembershipStateOf(*status);
    PERMCACHE_ASSIGN_OR_RETURN(out.membership_valid, IntervalAt(res[kAtMembership], 0, 1));
  }
  for (size_t r = 0; r < res[kAtGroups].size(); ++r) {
    const std::string& status = res[kAtGroups].Text(r, 1);
    if (status != "active" && status != "suspended") {
      return InternalError("group has an unknown status (damaged store)");
    }
    PERMCACHE_ASSIGN_OR_RETURN(Interval valid, IntervalAt(res[kAtGroups], r, 2));
    out.groups.push_back(GroupRow{res[kAtGroups].Text(r, 0), status == "active", valid});
  }
  // Suspended and pending own memberships: no grants, whatever the groups; no membership: the
  // grants count through an active group. Active outside its interval still has them (the
  // engine decides the instant).
  if (!GrantsCount(out)) return out;

  for (size_t r = 0; r < res[kAtDirect].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(store::PolicyRow p, PolicyRowAt(res[kAtDirect], r, 0));
    PERMCACHE_ASSIGN_OR_RETURN(Interval valid, IntervalAt(res[kAtDirect], r, 5));
    out.grants.push_back(Grant{std::move(p.policy), p.effect, p.priority,
                               std::move(p.permissions), std::move(p.scope), "", "", valid});
  }
  // Then the policies of the user's active groups, as on SQLite.
  for (size_t r = 0; r < res[kAtGroupPolicies].size(); ++r) {
    const GroupRow* group = store::FindGroup(out.groups, res[kAtGroupPolicies].Text(r, 0));
    if (group == nullptr) return InternalError("group policy of a group not read");
    PERMCACHE_ASSIGN_OR_RETURN(store::PolicyRow p, PolicyRowAt(res[kAtGroupPolicies], r, 1));
    out.grants.push_back(store::GroupPolicyGrant(*group, std::move(p)));
  }
  std::vector<store::RoleAssignment> assignments;
  for (size_t r = 0; r < res[kAtAssignments].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(Interval valid, IntervalAt(res[kAtAssignments], r, 2));
    assignments.push_back({res[kAtAssignments].Text(r, 0), res[kAtAssignments].Text(r, 1), valid});
  }
  for (size_t r = 0; r < res[kAtGroupRoles].size(); ++r) {
    const GroupRow* group = store::FindGroup(out.groups, res[kAtGroupRoles].Text(r, 0));
    if (group == nullptr) return InternalError("group role of a group not read");
    assignments.push_back(store::GroupAssignment(*group, res[kAtGroupRoles].Text(r, 1),
                                                 res[kAtGroupRoles].Text(r, 2)));
  }
  std::unordered_map<std::string, store::RoleData> roles;
  for (size_t r = 0; r < res[kAtRoleEdges].size(); ++r) {
    roles[res[kAtRoleEdges].Text(r, 0)].parents.push_back(res[kAtRoleEdges].Text(r, 1));
  }
  for (size_t r = 0; r < res[kAtRolePolicies].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(store::PolicyRow p, PolicyRowAt(res[kAtRolePolicies], r, 1));
    roles[res[kAtRolePolicies].Text(r, 0)].policies.push_back(std::move(p));
  }
  static const store::RoleData kNoData;
  const store::RoleLoader load = [&](const std::string& role) -> StatusOr<const store::RoleData*> {
    auto it = roles.find(role);
    return it == roles.end() ? &kNoData : &it->second;
  };
  PERMCACHE_RETURN_IF_ERROR(store::WalkRoles(assignments, load, &out.grants));
  // The edges above cover every role reachable from any assignment (the user's and the active
  // groups'), unscoped ones included.
  PERMCACHE_ASSIGN_OR_RETURN(out.roles, store::HeldRoles(assignments, load));
  PERMCACHE_ASSIGN_OR_RETURN(out.bounded_roles, store::BoundedRoles(assignments, load));
  for (size_t r = 0; r < res[kAtResources].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(Interval valid, IntervalAt(res[kAtResources], r, 2));
    out.resource_grants.push_back(ResourceGrantRow{
        res[kAtResources].Text(r, 0), store::SplitPermissions(res[kAtResources].Text(r, 1)),
        valid});
  }
  return out;
}

StatusOr<ResourceRecord> PostgresStore::LoadResource(std::string_view tenant,
                                                     std::string_view resource) {
  std::vector<PgStatement> batch = {
      Plain(kBeginRead),
      Prepared(kHeadStatement, {}),
      Prepared(kLoadResource, {std::string(tenant), std::string(resource)}),
      Plain("COMMIT"),
  };
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> res, ReadPipeline(batch, "reading a resource"));
  ResourceRecord out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ParseRevision(res[1].Text(0, 0)));
  if (res[2].size() == 0) return out;
  std::optional<ResourceState> state = ParseResourceState(res[2].Text(0, 2));
  if (!state) return InternalError("resource has an unknown state (damaged store)");
  PERMCACHE_ASSIGN_OR_RETURN(int64_t version, ParseInt(res[2].Text(0, 3)));
  out.exists = true;
  out.type = res[2].Text(0, 0);
  out.owner = res[2].Text(0, 1);
  out.state = *state;
  out.version = static_cast<uint64_t>(version);
  out.password_hash = res[2].Text(0, 4);
  return out;
}

StatusOr<UiElementRecord> PostgresStore::LoadUiElement(std::string_view tenant,
                                                       std::string_view element) {
  const Params key = {std::string(tenant), std::string(element)};
  std::vector<PgStatement> batch = {
      Plain(kBeginRead),
      Prepared(kHeadStatement, {}),
      Plain("SELECT array_to_string(required_permissions, E'\\n'), active "
            "FROM permcache.ui_elements WHERE tenant = $1 AND element = $2",
            key),
      Plain("SELECT role FROM permcache.ui_element_roles WHERE tenant = $1 AND element = $2 "
            "ORDER BY role COLLATE \"C\"",
            key),
      Plain("COMMIT"),
  };
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> res, ReadPipeline(batch, "reading a ui element"));
  UiElementRecord out;
  PERMCACHE_ASSIGN_OR_RETURN(out.revision, ParseRevision(res[1].Text(0, 0)));
  if (res[2].size() == 0) return out;
  out.exists = true;
  out.required_permissions = store::SplitPermissions(res[2].Text(0, 0));
  out.active = res[2].Text(0, 1) == "t";
  for (size_t r = 0; r < res[3].size(); ++r) out.required_roles.push_back(res[3].Text(r, 0));
  return out;
}

StatusOr<std::vector<std::string>> PostgresStore::ListUiElements(std::string_view tenant) {
  PERMCACHE_ASSIGN_OR_RETURN(
      std::vector<PgRows> res,
      ReadPipeline({Plain("SELECT element FROM permcache.ui_elements "
                          "WHERE tenant = $1 AND active ORDER BY element COLLATE \"C\" "
                          "LIMIT $2::bigint",
                          {std::string(tenant), std::to_string(kMaxOpsPerWrite)})},
                   "listing ui elements"));
  std::vector<std::string> out;
  for (size_t r = 0; r < res[0].size(); ++r) out.push_back(res[0].Text(r, 0));
  return out;
}

StatusOr<std::vector<ResourceRow>> PostgresStore::ScanResources(std::string_view tenant,
                                                                std::string_view type,
                                                                std::string_view after,
                                                                size_t limit) {
  std::vector<ResourceRow> out;
  if (limit == 0) return out;
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  // COLLATE "C" on the cursor comparison too: id order is byte order, as on SQLite.
  PERMCACHE_ASSIGN_OR_RETURN(
      std::vector<PgRows> res,
      ReadPipeline(
          {Plain("SELECT resource, type, coalesce(owner, ''), state FROM permcache.resources "
                 "WHERE tenant = $1 AND ($2 = '' OR type = $2) "
                 "  AND resource COLLATE \"C\" > $3 COLLATE \"C\" "
                 "ORDER BY resource COLLATE \"C\" LIMIT $4::bigint",
                 {std::string(tenant), std::string(type), std::string(after),
                  std::to_string(std::min<uint64_t>(limit, kMax))})},
          "listing resources"));
  for (size_t r = 0; r < res[0].size(); ++r) {
    std::optional<ResourceState> state = ParseResourceState(res[0].Text(r, 3));
    if (!state) return InternalError("resource has an unknown state (damaged store)");
    out.push_back(ResourceRow{res[0].Text(r, 0), res[0].Text(r, 1), res[0].Text(r, 2), *state});
  }
  return out;
}

StatusOr<std::string> PostgresStore::TokenSigningKey() {
  const PgStatement read = Plain(
      "SELECT encode(value, 'hex') FROM permcache.pc_secrets WHERE name = $1", {kTokenKeyName});
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> res,
                             ReadPipeline({read}, "reading the token signing key"));
  if (res[0].size() == 0) {
    // First use on this database: whichever node inserts first wins. READ COMMITTED, so the
    // SELECT after a conflicting (waited-for) insert sees the winner's key.
    PERMCACHE_ASSIGN_OR_RETURN(std::string fresh, store::NewTokenSigningKeyHex());
    PERMCACHE_ASSIGN_OR_RETURN(Lease lease, Acquire());
    StatusOr<std::vector<PgRows>> written = lease->Pipeline(
        {Plain("BEGIN ISOLATION LEVEL READ COMMITTED"),
         Plain("INSERT INTO permcache.pc_secrets (name, value) VALUES ($1, decode($2, 'hex')) "
               "ON CONFLICT (name) DO NOTHING",
               {kTokenKeyName, fresh}),
         read, Plain("COMMIT")},
        nullptr);
    if (!written.ok()) {
      return WithPrefix(written.status(), redacted_ + ": creating the token signing key: ");
    }
    res = {std::move((*written)[2])};
  }
  if (res[0].size() != 1) return InternalError(redacted_ + ": no token signing key after insert");
  return store::DecodeTokenSigningKey(res[0].Text(0, 0));
}

StatusOr<Model> PostgresStore::Export(std::string_view tenant) {
  const Params t = {std::string(tenant)};
  // $1 = '' exports every tenant.
  std::vector<PgStatement> batch = {
      Plain(kBeginRead),
      Plain("SELECT tenant FROM permcache.tenants WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\"",
            t),
      Plain("SELECT tenant, business_unit FROM permcache.business_units "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", business_unit COLLATE \"C\"",
            t),
      Plain("SELECT tenant, user_id, status, " PC_START_MS("starts_at") ", "
            PC_EXPIRY_MS("expires_at") " FROM permcache.memberships "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", user_id COLLATE \"C\"",
            t),
      Plain("SELECT tenant, role FROM permcache.roles WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", role COLLATE \"C\"",
            t),
      Plain("SELECT tenant, role, inherits FROM permcache.role_inherits "
            "WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", role COLLATE \"C\", position",
            t),
      Plain("SELECT tenant, policy, effect, priority, array_to_string(permissions, E'\\n'), "
            "  coalesce(scope, '') FROM permcache.policies WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", policy COLLATE \"C\"",
            t),
      Plain("SELECT tenant, role, policy FROM permcache.role_policies "
            "WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", role COLLATE \"C\", policy COLLATE \"C\"",
            t),
      Plain("SELECT tenant, user_id, role, business_unit, " PC_START_MS("starts_at") ", "
            PC_EXPIRY_MS("expires_at") " FROM permcache.user_roles "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", user_id COLLATE \"C\", "
            "  role COLLATE \"C\", business_unit COLLATE \"C\"",
            t),
      Plain("SELECT tenant, user_id, policy, " PC_START_MS("starts_at") ", "
            PC_EXPIRY_MS("expires_at") " FROM permcache.user_policies "
            "WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", user_id COLLATE \"C\", policy COLLATE \"C\"",
            t),
      // Passwords are write-only: the hash never leaves the store through the model.
      Plain("SELECT tenant, resource, type, coalesce(owner, ''), state FROM permcache.resources "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", resource COLLATE \"C\"",
            t),
      Plain("SELECT tenant, resource, user_id, array_to_string(permissions, E'\\n'), "
            PC_START_MS("starts_at") ", " PC_EXPIRY_MS("expires_at") " "
            "FROM permcache.resource_grants WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", resource COLLATE \"C\", user_id COLLATE \"C\"",
            t),
      Plain("SELECT e.tenant, e.element, array_to_string(e.required_permissions, E'\\n'), "
            "  e.active, coalesce((SELECT string_agg(r.role, E'\\n' ORDER BY r.role COLLATE \"C\") "
            "    FROM permcache.ui_element_roles r "
            "    WHERE r.tenant = e.tenant AND r.element = e.element), '') "
            "FROM permcache.ui_elements e WHERE $1 = '' OR e.tenant = $1 "
            "ORDER BY e.tenant COLLATE \"C\", e.element COLLATE \"C\"",
            t),
      Plain("SELECT tenant, group_id, status, " PC_START_MS("starts_at") ", "
            PC_EXPIRY_MS("expires_at") " FROM permcache.groups "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", group_id COLLATE \"C\"",
            t),
      Plain("SELECT tenant, group_id, user_id FROM permcache.group_members "
            "WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", group_id COLLATE \"C\", user_id COLLATE \"C\"",
            t),
      Plain("SELECT tenant, group_id, role, business_unit FROM permcache.group_roles "
            "WHERE $1 = '' OR tenant = $1 ORDER BY tenant COLLATE \"C\", group_id COLLATE \"C\", "
            "  role COLLATE \"C\", business_unit COLLATE \"C\"",
            t),
      Plain("SELECT tenant, group_id, policy FROM permcache.group_policies "
            "WHERE $1 = '' OR tenant = $1 "
            "ORDER BY tenant COLLATE \"C\", group_id COLLATE \"C\", policy COLLATE \"C\"",
            t),
      Plain("COMMIT"),
  };
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> results, ReadPipeline(batch, "export"));
  const std::vector<PgRows>& res = results;
  Model model;
  for (size_t r = 0; r < res[1].size(); ++r) model.tenants.push_back(Tenant{res[1].Text(r, 0)});
  if (!tenant.empty() && model.tenants.empty()) {
    return NotFoundError("tenant '" + std::string(tenant) + "' does not exist");
  }
  for (size_t r = 0; r < res[2].size(); ++r) {
    model.business_units.push_back(BusinessUnit{res[2].Text(r, 0), res[2].Text(r, 1)});
  }
  for (size_t r = 0; r < res[3].size(); ++r) {
    std::optional<MembershipStatus> status = ParseMembershipStatus(res[3].Text(r, 2));
    if (!status) return InternalError("membership has an unknown status (damaged store)");
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(res[3], r, 3));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(res[3], r, 4));
    model.memberships.push_back(
        Membership{res[3].Text(r, 0), res[3].Text(r, 1), *status, starts, expires});
  }
  for (size_t r = 0; r < res[4].size(); ++r) {
    model.roles.push_back(Role{res[4].Text(r, 0), res[4].Text(r, 1), {}});
  }
  {
    // Attach inherits (in written order) to the sorted roles.
    size_t next = 0;
    for (size_t r = 0; r < res[5].size(); ++r) {
      const std::string &t0 = res[5].Text(r, 0), &r0 = res[5].Text(r, 1);
      while (next < model.roles.size() &&
             std::tie(model.roles[next].tenant, model.roles[next].role) < std::tie(t0, r0)) {
        ++next;
      }
      if (next == model.roles.size() || model.roles[next].tenant != t0 ||
          model.roles[next].role != r0) {
        return InternalError("role_inherits row for unknown role (damaged store)");
      }
      model.roles[next].inherits.push_back(res[5].Text(r, 2));
    }
  }
  for (size_t r = 0; r < res[6].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(store::PolicyRow p, PolicyRowAt(res[6], r, 1));
    model.policies.push_back(Policy{res[6].Text(r, 0), std::move(p.policy), p.effect, p.priority,
                                    std::move(p.permissions), std::move(p.scope)});
  }
  for (size_t r = 0; r < res[7].size(); ++r) {
    model.role_policies.push_back(
        RolePolicy{res[7].Text(r, 0), res[7].Text(r, 1), res[7].Text(r, 2)});
  }
  for (size_t r = 0; r < res[8].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(res[8], r, 4));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(res[8], r, 5));
    model.user_roles.push_back(UserRole{res[8].Text(r, 0), res[8].Text(r, 1), res[8].Text(r, 2),
                                        res[8].Text(r, 3), starts, expires});
  }
  for (size_t r = 0; r < res[9].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(res[9], r, 3));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(res[9], r, 4));
    model.user_policies.push_back(
        UserPolicy{res[9].Text(r, 0), res[9].Text(r, 1), res[9].Text(r, 2), starts, expires});
  }
  for (size_t r = 0; r < res[10].size(); ++r) {
    std::optional<ResourceState> state = ParseResourceState(res[10].Text(r, 4));
    if (!state) return InternalError("resource has an unknown state (damaged store)");
    model.resources.push_back(Resource{res[10].Text(r, 0), res[10].Text(r, 1), res[10].Text(r, 2),
                                       res[10].Text(r, 3), *state});
  }
  for (size_t r = 0; r < res[11].size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(res[11], r, 4));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(res[11], r, 5));
    model.resource_grants.push_back(ResourceGrant{res[11].Text(r, 0), res[11].Text(r, 1),
                                                  res[11].Text(r, 2),
                                                  store::SplitPermissions(res[11].Text(r, 3)),
                                                  starts, expires});
  }
  for (size_t r = 0; r < res[12].size(); ++r) {
    // Role ids contain no '\n' (ValidateId), so the joined list splits back exactly.
    model.ui_elements.push_back(UiElement{res[12].Text(r, 0), res[12].Text(r, 1),
                                          store::SplitPermissions(res[12].Text(r, 4)),
                                          store::SplitPermissions(res[12].Text(r, 2)),
                                          res[12].Text(r, 3) == "t"});
  }
  for (size_t r = 0; r < res[13].size(); ++r) {
    std::optional<MembershipStatus> status = ParseMembershipStatus(res[13].Text(r, 2));
    if (!status) return InternalError("group has an unknown status (damaged store)");
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> starts, BoundAt(res[13], r, 3));
    PERMCACHE_ASSIGN_OR_RETURN(std::optional<int64_t> expires, BoundAt(res[13], r, 4));
    model.groups.push_back(
        Group{res[13].Text(r, 0), res[13].Text(r, 1), *status, starts, expires});
  }
  for (size_t r = 0; r < res[14].size(); ++r) {
    model.group_members.push_back(
        GroupMember{res[14].Text(r, 0), res[14].Text(r, 1), res[14].Text(r, 2)});
  }
  for (size_t r = 0; r < res[15].size(); ++r) {
    model.group_roles.push_back(GroupRole{res[15].Text(r, 0), res[15].Text(r, 1),
                                          res[15].Text(r, 2), res[15].Text(r, 3)});
  }
  for (size_t r = 0; r < res[16].size(); ++r) {
    model.group_policies.push_back(
        GroupPolicy{res[16].Text(r, 0), res[16].Text(r, 1), res[16].Text(r, 2)});
  }
  return model;
}

StatusOr<uint64_t> PostgresStore::CurrentRevision() {
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> results,
                             ReadPipeline({Prepared(kHeadStatement, {})}, "reading the revision"));
  return ParseRevision(results[0].Text(0, 0));
}

StatusOr<std::vector<ChangeSet>> PostgresStore::ChangesSince(uint64_t after, size_t limit) {
  std::vector<ChangeSet> out;
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (limit == 0 || after >= kMax) return out;
  const Params page = {std::to_string(after), std::to_string(std::min<uint64_t>(limit, kMax))};
  // The page's revisions and their rows, from one snapshot.
  std::vector<PgStatement> batch = {
      Plain(kBeginRead),
      Plain("SELECT revision, committed_at_ms FROM permcache.pc_revisions "
            "WHERE revision > $1::bigint ORDER BY revision LIMIT $2::bigint",
            page),
      Plain("SELECT c.revision, c.tenant, c.user_id FROM permcache.pc_changelog c "
            "WHERE c.revision > $1::bigint AND c.revision <= ("
            "  SELECT max(revision) FROM (SELECT revision FROM permcache.pc_revisions "
            "    WHERE revision > $1::bigint ORDER BY revision LIMIT $2::bigint) AS page) "
            "ORDER BY c.revision, c.tenant COLLATE \"C\", c.user_id COLLATE \"C\" NULLS FIRST",
            page),
      Plain("COMMIT"),
  };
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PgRows> results, ReadPipeline(batch, "reading the changelog"));
  const PgRows& revisions = results[1];
  const PgRows& rows = results[2];
  for (size_t r = 0; r < revisions.size(); ++r) {
    ChangeSet& cs = out.emplace_back();
    PERMCACHE_ASSIGN_OR_RETURN(cs.revision, ParseRevision(revisions.Text(r, 0)));
    PERMCACHE_ASSIGN_OR_RETURN(cs.committed_at_ms, ParseInt(revisions.Text(r, 1)));
  }
  store::ChangelogGrouper grouper(&out);
  for (size_t r = 0; r < rows.size(); ++r) {
    PERMCACHE_ASSIGN_OR_RETURN(uint64_t revision, ParseRevision(rows.Text(r, 0)));
    std::optional<std::string> user;
    if (!rows.IsNull(r, 2)) user = rows.Text(r, 2);
    PERMCACHE_RETURN_IF_ERROR(grouper.Add(revision, rows.Text(r, 1), std::move(user)));
  }
  return out;
}

StatusOr<ReconcileReport> PostgresStore::Reconcile(bool fix) {
  PERMCACHE_ASSIGN_OR_RETURN(Lease lease, Acquire());
  // READ COMMITTED (the function refuses other levels when fixing); one statement.
  StatusOr<PgRows> rows = lease->Query(
      "SELECT diff, organization_id, user_id, policy_id, business_unit_id, assignment_type, "
      "  source_id FROM permcache.reconcile($1::boolean) "
      "ORDER BY organization_id COLLATE \"C\", user_id COLLATE \"C\", policy_id COLLATE \"C\"",
      {fix ? "true" : "false"});
  if (!rows.ok()) return WithPrefix(rows.status(), redacted_ + ": reconcile: ");
  ReconcileReport report;
  report.fixed = fix;
  constexpr size_t kSample = 20;
  for (size_t r = 0; r < rows->size(); ++r) {
    (rows->Text(r, 0) == "missing" ? report.missing : report.extra)++;
    if (report.sample.size() < kSample) {
      report.sample.push_back(rows->Text(r, 0) + " tenant=" + rows->Text(r, 1) +
                              " user=" + rows->Text(r, 2) + " policy=" + rows->Text(r, 3) +
                              " business_unit='" + rows->Text(r, 4) + "' " + rows->Text(r, 5) +
                              " via " + rows->Text(r, 6));
    }
  }
  return report;
}

StoreStats PostgresStore::GetStats() const {
  StoreStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.connections_open = open_;
    s.connections_in_use = open_ - idle_.size();
    s.connect_failures = connect_failures_;
  }
  s.effective_maintenance_seconds =
      static_cast<double>(effective_maintenance_us_.load(std::memory_order_relaxed)) / 1e6;
  s.effective_windows_applied = effective_windows_applied_.load(std::memory_order_relaxed);
  return s;
}

StatusOr<uint64_t> PostgresStore::PrunedThrough() {
  PERMCACHE_ASSIGN_OR_RETURN(
      std::vector<PgRows> results,
      ReadPipeline({Plain("SELECT permcache.pruned_through()")}, "reading the retention"));
  return ParseRevision(results[0].Text(0, 0));
}

std::unique_ptr<ChangeFeed> PostgresStore::StartChangeFeed(ChangeFeed::Callbacks callbacks) {
  return std::make_unique<PgListener>(conninfo_, redacted_, std::move(callbacks));
}

Status PostgresStore::Ping() { return ReadPipeline({Plain("SELECT 1")}, "ping").status(); }

#undef PC_START_MS
#undef PC_EXPIRY_MS

}  // namespace permcache::postgres
