// permcache_pg_bench: the PostgreSQL figures of bench/run.sh, each next to an anchor measured in
// the same run on the same server (see bench/postgres/README.md and research/postgres.md §4).
//
// Starts its own PostgreSQL 15 (tests/support/postgres_server.h, durable: fsync and
// synchronous_commit on) and, per size (--users 1000,10000,100000), builds one database with
// the same seed-003-shaped data twice:
//   * schema `permcache` (PostgresStore's own, migrated by Checker::Open), loaded with direct
//     INSERT ... SELECT generate_series (through the capture triggers, like any other writer),
//     then user_effective_policies brought current with permcache.apply_effective_queue;
//   * schema `seed003`: seed 003's own tables (policies, roles with policy_ids[],
//     user_organization_memberships with role_ids[], user_organization_roles), its
//     user_effective_policies materialized view with the seed's definition and its five
//     indexes (unique (user_id, organization_id, policy_id)), and the seed's per-row AFTER
//     triggers running REFRESH MATERIALIZED VIEW CONCURRENTLY (+ pg_notify) on every change.
//     Loaded before the triggers exist, as the seed's runbook does for bulk loads.
//   * schema `plain`: user_roles with permcache's columns and primary key, no triggers (G7).
// Data: users u0..u{N-1}, 10 organizations (u % 10), one business unit, 20 roles and 40
// policies per organization (every 10th policy a priority-10 deny), 3 roles per user, plus a
// role `rfan` held by every 100th user (1 % of all users, all in org0).
//
// Measurements (all RESULT names are "pg.<metric>@<users>"):
//   G5  cold-miss Checker::Check (fresh L1, each user once) vs the prepared
//       SELECT status FROM permcache.memberships WHERE tenant=$1 AND user_id=$2 (libpq);
//       alternating blocks.
//   G6  one role assignment -> every reader consistent. permcache: Write(put_user_role) on node
//       A until node A and node B (another Checker, LISTEN/NOTIFY feed) both answer allowed.
//       Seed: UPDATE of the membership's role_ids (one row: one trigger firing = one REFRESH
//       CONCURRENTLY) until a second, already open session reads the new matview row; timed from
//       the first statement of the write (the refresh runs inside the UPDATE, before COMMIT; the
//       "COMMIT sent -> visible" part alone is reported as pg.g6_seed_commit_to_visible_*).
//       Alternating rounds; WAL bytes per change for both.
//   G7  Checker::Write of one put_user_role vs the same INSERT into plain.user_roles (prepared,
//       autocommit), alternating; each timed insert is undone by an untimed delete. Plus
//       writes/s with 1 and 16 concurrent writers (put/delete alternating) on both.
//   G8  a role-policy change on rfan (1 % of users): Checker::Write of put/delete_role_policy
//       (the commit maintains user_effective_policies for those users) vs the seed's UPDATE of
//       roles.policy_ids whose trigger runs REFRESH MATERIALIZED VIEW CONCURRENTLY; alternating.
//   G13 two Checkers, changelog_poll_interval = 0 (LISTEN/NOTIFY only, no Redis): a membership
//       status toggle written on A -> first correct check on B, p50/p99.
//   ctx the seed's check query on its matview vs the same query on
//       permcache.user_effective_policies (both prepared, libpq), vs a permcache L1 hit.
//   gate permcache.reconcile(false) after all changes: rows differing from a from-scratch
//       recompute (must be 0, or the figures do not count).
//
// Usage: permcache_pg_bench [--users 1000,10000,100000] [--quick] [--pc-changes N]
//        [--seed-changes N] [--g13-writes N]
#include <libpq-fe.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "permcache/checker.h"
#include "support/postgres_server.h"

namespace {

using permcache::Checker;
using permcache::OpKind;
using permcache::WriteOp;
using Clock = std::chrono::steady_clock;

constexpr int kOrgs = 10;
constexpr int kRoles = 20;  // per organization; 2 policies each

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "permcache_pg_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

double Us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int g_users = 0;  // the size being measured, for the "@N" suffix
void Result(const std::string& name, double value, const char* unit) {
  std::printf("RESULT pg.%s@%d %.3f %s\n", name.c_str(), g_users, value, unit);
  std::fflush(stdout);
}
void Info(const std::string& text) {
  std::printf("INFO pg %dk users: %s\n", g_users / 1000, text.c_str());
  std::fflush(stdout);
}
void Warn(const std::string& text) {
  std::printf("WARN pg %dk users: %s\n", g_users / 1000, text.c_str());
  std::fprintf(stderr, "permcache_pg_bench: warning: %s\n", text.c_str());
  std::fflush(stdout);
}
void Log(const std::string& text) { std::fprintf(stderr, "== pg %d users: %s\n", g_users, text.c_str()); }

// p50 and p99 (and the count) of a series, under `name`.
void Series(const std::string& name, const std::vector<double>& us) {
  Result(name + "_p50_us", Percentile(us, 0.5), "us");
  Result(name + "_p99_us", Percentile(us, 0.99), "us");
  Result(name + "_n", static_cast<double>(us.size()), "count");
}

// ---- a minimal libpq session -------------------------------------------------------------------
class Pg {
 public:
  explicit Pg(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~Pg() { PQfinish(c_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  // Runs `sql` (simple protocol, may hold several statements); returns the first cell of the
  // last result ("" when none).
  std::string Exec(const std::string& sql) {
    if (!PQsendQuery(c_, sql.c_str())) Die(std::string("send: ") + PQerrorMessage(c_));
    std::string out, error;
    while (PGresult* r = PQgetResult(c_)) {
      const ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_FATAL_ERROR && error.empty()) error = PQresultErrorMessage(r);
      if (st == PGRES_TUPLES_OK) out = PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
      PQclear(r);
    }
    if (!error.empty()) Die("sql failed: " + error + "in: " + sql.substr(0, 300));
    return out;
  }
  void Prepare(const std::string& name, const std::string& sql, int nparams) {
    PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), nparams, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die("prepare " + name + ": " + PQresultErrorMessage(r));
    PQclear(r);
  }
  // Runs a prepared statement with text parameters; returns the number of rows.
  int Run(const std::string& name, std::initializer_list<const char*> params) {
    std::vector<const char*> p(params);
    PGresult* r = PQexecPrepared(c_, name.c_str(), static_cast<int>(p.size()), p.data(), nullptr,
                                 nullptr, 0);
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      Die("execute " + name + ": " + PQresultErrorMessage(r));
    }
    const int n = st == PGRES_TUPLES_OK ? PQntuples(r) : std::atoi(PQcmdTuples(r));
    PQclear(r);
    return n;
  }
  double WalBytes() { return std::atof(Exec("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')").c_str()); }

 private:
  PGconn* c_;
};

// ---- permcache nodes ---------------------------------------------------------------------------
std::unique_ptr<Checker> Node(const std::string& url) {
  permcache::Options o;
  o.store_url = url;
  o.changelog_poll_interval = std::chrono::milliseconds(0);  // the LISTEN/NOTIFY feed only
  auto checker = Checker::Open(o);
  if (!checker.ok()) Die("checker: " + checker.status().ToString());
  std::unique_ptr<Checker> node = std::move(checker).value();
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!(node->Stats().store_feed_up && node->Stats().l1_enabled)) {
    if (Clock::now() > deadline) Die("the store feed (LISTEN) did not come up");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return node;
}

WriteOp Op(OpKind kind, std::string tenant, std::string user = "", std::string role = "",
           std::string policy = "") {
  WriteOp op;
  op.kind = kind;
  op.tenant = std::move(tenant);
  op.user = std::move(user);
  op.role = std::move(role);
  op.policy = std::move(policy);
  return op;
}

uint64_t MustWrite(Checker& c, const WriteOp& op) {
  auto rev = c.Write(std::vector<WriteOp>{op});
  if (!rev.ok()) Die("write: " + rev.status().ToString());
  return *rev;
}

bool MustCheck(Checker& c, const std::string& tenant, const std::string& user,
               const std::string& permission) {
  auto d = c.Check({.tenant = tenant, .user = user, .permission = permission});
  if (!d.ok()) Die("check: " + d.status().ToString());
  return d->allowed;
}

std::string User(int u) { return "u" + std::to_string(u); }
std::string Org(int u) { return "org" + std::to_string(u % kOrgs); }
// A permission user u holds through its first role r(u % 20) -> policy p(2k) (always an allow).
std::string HeldPermission(int u) { return "res" + std::to_string(2 * (u % kRoles)) + ":read"; }

// ---- data --------------------------------------------------------------------------------------
std::string PermcacheLoadSql(int n) {
  const std::string orgs = Fmt("generate_series(0, %d) t", kOrgs - 1);
  const std::string users = Fmt("generate_series(0, %d) u", n - 1);
  std::string s;
  s += "INSERT INTO permcache.tenants (tenant) SELECT 'org' || t FROM " + orgs + ";\n";
  s += "INSERT INTO permcache.roles (tenant, role) SELECT 'org' || t, 'r' || k FROM " + orgs +
       Fmt(", generate_series(0, %d) k", kRoles - 1) +
       " UNION ALL SELECT 'org' || t, x FROM " + orgs +
       ", unnest(ARRAY['rfan', 'rg6', 'rg7']) x;\n";
  s += "INSERT INTO permcache.policies (tenant, policy, effect, priority, permissions)"
       " SELECT 'org' || t, 'p' || k,"
       " CASE WHEN k % 10 = 9 THEN 'deny' ELSE 'allow' END, CASE WHEN k % 10 = 9 THEN 10 ELSE 0 END,"
       " CASE WHEN k % 10 = 9 THEN ARRAY['res' || (k - 1) || ':update']"
       " ELSE ARRAY['res' || k || ':read', 'res' || k || ':update'] END FROM " + orgs +
       Fmt(", generate_series(0, %d) k", 2 * kRoles - 1) +
       " UNION ALL SELECT 'org' || t, x.p, 'allow', 0, ARRAY[x.perm] FROM " + orgs +
       ", (VALUES ('pfan', 'fan:base'), ('pg8', 'fan:extra'), ('pg6', 'g6:grant'),"
       " ('pg7', 'g7:grant')) x(p, perm);\n";
  s += "INSERT INTO permcache.role_policies (tenant, role, policy)"
       " SELECT 'org' || t, 'r' || k, 'p' || (2 * k + j) FROM " + orgs +
       Fmt(", generate_series(0, %d) k, generate_series(0, 1) j", kRoles - 1) +
       " UNION ALL SELECT 'org' || t, x.r, x.p FROM " + orgs +
       ", (VALUES ('rfan', 'pfan'), ('rg6', 'pg6'), ('rg7', 'pg7')) x(r, p);\n";
  s += Fmt("INSERT INTO permcache.memberships (tenant, user_id, status)"
           " SELECT 'org' || (u %% %d), 'u' || u, 'active' FROM ", kOrgs) + users + ";\n";
  s += Fmt("INSERT INTO permcache.user_roles (tenant, user_id, role)"
           " SELECT 'org' || (u %% %d), 'u' || u, 'r' || ((u + o) %% %d) FROM ", kOrgs, kRoles) +
       users + ", (VALUES (0), (7), (13)) v(o)" +
       Fmt(" UNION ALL SELECT 'org0', 'u' || u, 'rfan' FROM generate_series(0, %d, 100) u;\n",
           n - 1);
  return s;
}

// Seed 003's tables (the columns its view reads, with the seed's types) and data.
std::string SeedTablesSql(int n) {
  const std::string orgs = Fmt("generate_series(0, %d) t", kOrgs - 1);
  std::string s = R"sql(
CREATE SCHEMA seed003;
CREATE TYPE seed003.policy_effect AS ENUM ('allow', 'deny');
CREATE TABLE seed003.policies (
  id varchar(100) PRIMARY KEY, name varchar(255) NOT NULL, effect seed003.policy_effect NOT NULL,
  priority integer NOT NULL DEFAULT 0, tags text[] DEFAULT '{}', scope jsonb NOT NULL,
  resources jsonb NOT NULL, subjects jsonb DEFAULT '[]');
CREATE TABLE seed003.roles (
  id varchar(100) PRIMARY KEY, name varchar(255) NOT NULL, business_unit_id varchar(100) NOT NULL,
  level varchar(20) NOT NULL DEFAULT 'custom', parent_roles varchar(100)[] DEFAULT '{}',
  policy_ids varchar(100)[] NOT NULL DEFAULT '{}', is_system boolean DEFAULT false,
  is_admin boolean DEFAULT false);
CREATE TABLE seed003.user_organization_memberships (
  id bigserial PRIMARY KEY, user_id varchar(100) NOT NULL, organization_id varchar(100) NOT NULL,
  business_unit_id varchar(100) NOT NULL, role_ids varchar(100)[] NOT NULL DEFAULT '{}',
  direct_policies varchar(100)[] NOT NULL DEFAULT '{}', expires_at bigint,
  is_default boolean DEFAULT false, UNIQUE (user_id, organization_id));
CREATE TABLE seed003.user_organization_roles (
  user_id varchar(100) NOT NULL, organization_id varchar(100) NOT NULL,
  role_id varchar(100) NOT NULL, expires_at bigint, overrides jsonb DEFAULT '[]',
  PRIMARY KEY (user_id, organization_id, role_id));
)sql";
  const std::string scope =
      "jsonb_build_object('businessUnitId', 'bu0', 'organizationIds', jsonb_build_array('org' || t))";
  auto rule = [](const std::string& type, const std::string& ops) {
    return "jsonb_build_array(jsonb_build_object('resourceType', " + type +
           ", 'actions', jsonb_build_object('standardOps', " + ops +
           ", 'extendedOps', '[]'::jsonb), 'dataScope', 'organization'))";
  };
  s += "INSERT INTO seed003.policies (id, name, effect, priority, scope, resources)"
       " SELECT 'org' || t || '.p' || k, 'p' || k,"
       " (CASE WHEN k % 10 = 9 THEN 'deny' ELSE 'allow' END)::seed003.policy_effect,"
       " CASE WHEN k % 10 = 9 THEN 10 ELSE 0 END, " + scope + ","
       " CASE WHEN k % 10 = 9 THEN " + rule("'res' || (k - 1)", "4") + " ELSE " +
       rule("'res' || k", "6") + " END FROM " + orgs +
       Fmt(", generate_series(0, %d) k", 2 * kRoles - 1) +
       " UNION ALL SELECT 'org' || t || '.' || x.p, x.p, 'allow', 0, " + scope + ", " +
       rule("x.res", "2") + " FROM " + orgs +
       ", (VALUES ('pfan', 'fan'), ('pg8', 'fanextra'), ('pg6', 'g6'), ('pg7', 'g7')) x(p, res);\n";
  s += "INSERT INTO seed003.roles (id, name, business_unit_id, level, policy_ids)"
       " SELECT 'org' || t || '.r' || k, 'r' || k, 'bu0', 'org',"
       " ARRAY['org' || t || '.p' || (2 * k), 'org' || t || '.p' || (2 * k + 1)] FROM " + orgs +
       Fmt(", generate_series(0, %d) k", kRoles - 1) +
       " UNION ALL SELECT 'org' || t || '.' || x.r, x.r, 'bu0', 'org', ARRAY['org' || t || '.' || x.p]"
       " FROM " + orgs + ", (VALUES ('rfan', 'pfan'), ('rg6', 'pg6'), ('rg7', 'pg7')) x(r, p);\n";
  s += Fmt("INSERT INTO seed003.user_organization_memberships"
           " (user_id, organization_id, business_unit_id, role_ids)"
           " SELECT 'u' || u, 'org' || (u %% %d), 'bu0',"
           " ARRAY['org' || (u %% %d) || '.r' || (u %% %d), 'org' || (u %% %d) || '.r' || ((u + 7) %% %d),"
           " 'org' || (u %% %d) || '.r' || ((u + 13) %% %d)]::varchar(100)[]"
           " || CASE WHEN u %% 100 = 0 THEN ARRAY['org0.rfan']::varchar(100)[] ELSE '{}' END"
           " FROM generate_series(0, %d) u;\n",
           kOrgs, kOrgs, kRoles, kOrgs, kRoles, kOrgs, kRoles, n - 1);
  s += "INSERT INTO seed003.user_organization_roles (user_id, organization_id, role_id)"
       " SELECT m.user_id, m.organization_id, unnest(m.role_ids)"
       " FROM seed003.user_organization_memberships m;\n";
  return s;
}

// The seed's matview, indexes, refresh functions and triggers (migration
// 20250927053803_permission_materialized_views of emoss08/Trenova at eac57070c, as documented in
// seed 003): same query, same five indexes, same per-row triggers. Only change: names are
// schema-qualified (this database also holds permcache.user_effective_policies).
constexpr const char* kSeedViewSql = R"sql(
SET search_path = seed003;
CREATE MATERIALIZED VIEW seed003.user_effective_policies AS
WITH user_roles AS (
  SELECT uom.user_id, uom.organization_id, uom.business_unit_id, unnest(uom.role_ids) AS role_id
  FROM user_organization_memberships uom
  WHERE uom.expires_at IS NULL OR uom.expires_at > EXTRACT(epoch FROM CURRENT_TIMESTAMP)::bigint
),
role_policies AS (
  SELECT DISTINCT ur.user_id, ur.organization_id, ur.business_unit_id,
         unnest(r.policy_ids) AS policy_id, 'role' AS assignment_type, ur.role_id AS source_id
  FROM user_roles ur JOIN roles r ON r.id = ur.role_id
  WHERE r.level IN ('system', 'bu', 'org', 'custom')
),
direct_policies AS (
  SELECT uom.user_id, uom.organization_id, uom.business_unit_id,
         unnest(uom.direct_policies) AS policy_id, 'direct' AS assignment_type, NULL AS source_id
  FROM user_organization_memberships uom
  WHERE array_length(uom.direct_policies, 1) > 0
    AND (uom.expires_at IS NULL OR uom.expires_at > EXTRACT(epoch FROM CURRENT_TIMESTAMP)::bigint)
),
all_user_policies AS (
  SELECT * FROM role_policies UNION ALL SELECT * FROM direct_policies
),
policy_details AS (
  SELECT aup.user_id, aup.organization_id, aup.business_unit_id, p.id AS policy_id,
         p.name AS policy_name, p.effect, p.priority, p.resources, p.scope, aup.assignment_type,
         aup.source_id
  FROM all_user_policies aup JOIN policies p ON p.id = aup.policy_id
  WHERE p.scope ->> 'businessUnitId' = aup.business_unit_id::text
    AND ((p.scope ->> 'organizationIds' = '[]' OR p.scope ->> 'organizationIds' IS NULL)
         OR (p.scope -> 'organizationIds' ? aup.organization_id::text))
)
SELECT user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority,
       resources, scope, assignment_type, source_id,
       array_length(ARRAY (SELECT jsonb_array_elements_text(resources -> 'resourceType')), 1)
         AS resource_count,
       md5(user_id::text || organization_id::text || policy_id::text ||
           coalesce(resources::text, '') || coalesce(scope::text, '')) AS permission_hash
FROM policy_details;
CREATE UNIQUE INDEX idx_user_effective_policies_unique
  ON seed003.user_effective_policies (user_id, organization_id, policy_id);
CREATE INDEX idx_user_effective_policies_user_org
  ON seed003.user_effective_policies (user_id, organization_id);
CREATE INDEX idx_user_effective_policies_effect_priority
  ON seed003.user_effective_policies (effect, priority DESC);
CREATE INDEX idx_user_effective_policies_assignment_type
  ON seed003.user_effective_policies (assignment_type);
CREATE INDEX idx_user_effective_policies_hash ON seed003.user_effective_policies (permission_hash);
CREATE FUNCTION seed003.trigger_refresh_user_policies() RETURNS trigger AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY seed003.user_effective_policies;
  PERFORM pg_notify('permission_refresh', json_build_object('table', TG_TABLE_NAME,
    'operation', TG_OP, 'timestamp', EXTRACT(epoch FROM CURRENT_TIMESTAMP))::text);
  RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER trigger_policies_refresh AFTER INSERT OR UPDATE OR DELETE ON seed003.policies
  FOR EACH ROW EXECUTE FUNCTION seed003.trigger_refresh_user_policies();
CREATE TRIGGER trigger_roles_refresh AFTER INSERT OR UPDATE OR DELETE ON seed003.roles
  FOR EACH ROW EXECUTE FUNCTION seed003.trigger_refresh_user_policies();
CREATE TRIGGER trigger_user_memberships_refresh
  AFTER INSERT OR UPDATE OR DELETE ON seed003.user_organization_memberships
  FOR EACH ROW EXECUTE FUNCTION seed003.trigger_refresh_user_policies();
CREATE TRIGGER trigger_user_roles_refresh
  AFTER INSERT OR UPDATE OR DELETE ON seed003.user_organization_roles
  FOR EACH ROW EXECUTE FUNCTION seed003.trigger_refresh_user_policies();
RESET search_path;
)sql";

constexpr const char* kPlainSql = R"sql(
CREATE SCHEMA plain;
CREATE TABLE plain.user_roles (
  tenant text NOT NULL, user_id text NOT NULL, role text NOT NULL,
  business_unit text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant, user_id, role, business_unit));
)sql";

// Column list of the seed's documented check query (seed 003, "Structure").
constexpr const char* kCheckColumns =
    "user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority, "
    "resources, scope, assignment_type, source_id";

// ---- flags -------------------------------------------------------------------------------------
struct Flags {
  std::vector<int> users = {1000, 10000, 100000};
  bool quick = false;
  int pc_changes = 100;     // G6/G8 permcache changes per size (>= 30)
  int seed_changes = -1;    // G6/G8 seed changes per size; -1: 30 / 15 / 5 by size
  int g13_writes = 500;
  int g5_samples = 5000;
  int g7_samples = 200;
  double throughput_seconds = 5;
  int ctx_samples = 3000;
};

int SeedChanges(const Flags& f, int n) {
  if (f.seed_changes > 0) return f.seed_changes;
  if (f.quick) return 5;
  return n >= 100000 ? 5 : n >= 10000 ? 15 : 30;
}

// ---- one size ----------------------------------------------------------------------------------
void RunSize(const permcache::testing::PostgresServer& server, const Flags& flags, int n) {
  g_users = n;
  const std::string db = "bench_" + std::to_string(n);
  if (auto st = server.CreateDatabase(db); !st.ok()) Die("create database: " + st.ToString());
  const std::string url = server.Url(db);
  const std::string conninfo = server.ConnInfo(db);
  Pg ctl(conninfo);

  // Schema + data.
  auto t0 = Clock::now();
  auto a = Node(url);  // migrates the permcache schema
  ctl.Exec("BEGIN;\n" + PermcacheLoadSql(n) + "COMMIT;");
  // The load touched more than 10k users per tenant: its window was queued for the applier.
  for (int i = 0; i < 100; ++i) {
    ctl.Exec("SELECT permcache.apply_effective_queue(1000000)");
    if (ctl.Exec("SELECT coalesce(pending_revisions, 0) FROM permcache.effective_status") == "0") break;
  }
  const double pc_load_s = Us(Clock::now() - t0) / 1e6;
  t0 = Clock::now();
  ctl.Exec("BEGIN;\n" + SeedTablesSql(n) + kSeedViewSql + "COMMIT;");
  const double seed_load_s = Us(Clock::now() - t0) / 1e6;
  ctl.Exec(kPlainSql);
  ctl.Exec("VACUUM ANALYZE");
  ctl.Exec("CHECKPOINT");
  const std::string pc_rows = ctl.Exec("SELECT count(*) FROM permcache.user_effective_policies");
  const std::string seed_rows = ctl.Exec("SELECT count(*) FROM seed003.user_effective_policies");
  Info(Fmt("load: permcache %.1f s (%s effective rows), seed003 %.1f s (%s matview rows)", pc_load_s,
           pc_rows.c_str(), seed_load_s, seed_rows.c_str()));
  Result("effective_rows", std::atof(pc_rows.c_str()), "rows");
  Result("matview_rows", std::atof(seed_rows.c_str()), "rows");
  if (pc_rows != seed_rows) Warn("permcache and seed003 effective row counts differ");
  if (!MustCheck(*a, Org(1), User(1), HeldPermission(1))) Die("u1 lacks its role's permission");
  // u1 holds r1 (p2, p3), r8 (p16, p17), r14 (p28, p29): nothing grants res5:read, and p29
  // (deny res28:update, priority 10) beats p28's allow.
  if (MustCheck(*a, Org(1), User(1), "res5:read")) Die("u1 has a permission it never got");
  if (MustCheck(*a, Org(1), User(1), "res28:update")) Die("the priority-10 deny did not win");
  if (!MustCheck(*a, Org(1), User(1), "res28:read")) Die("u1 lacks res28:read");
  auto b = Node(url);

  // ---- G5: cold miss vs a prepared indexed lookup ------------------------------------------------
  {
    Log("G5 cold miss");
    auto c = Node(url);
    std::vector<int> order(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = static_cast<int>((int64_t{i} * 7919) % n);
    const int warm = std::min(2000, n / 10);
    for (int k = 0; k < warm; ++k) {
      const int u = order[static_cast<size_t>(k)];
      (void)MustCheck(*c, Org(u), User(u), HeldPermission(u));
    }
    Pg look(conninfo);
    look.Prepare("m", "SELECT status FROM permcache.memberships WHERE tenant = $1 AND user_id = $2", 2);
    const int samples = std::min(flags.g5_samples, n - warm);
    const int block = std::max(50, samples / 10);
    std::vector<double> cold, lookup;
    const uint64_t misses0 = c->Stats().misses;
    bool all_allowed = true;
    for (int done = 0; done < samples;) {
      const int end = std::min(samples, done + block);
      for (int k = done; k < end; ++k) {  // A: permcache cold misses
        const int u = order[static_cast<size_t>(warm + k)];
        const std::string org = Org(u), user = User(u), perm = HeldPermission(u);
        const auto s = Clock::now();
        auto d = c->Check({.tenant = org, .user = user, .permission = perm});
        cold.push_back(Us(Clock::now() - s));
        if (!d.ok()) Die("g5 check: " + d.status().ToString());
        all_allowed = all_allowed && d->allowed;
      }
      for (int k = done; k < end; ++k) {  // B: the anchor, same users
        const int u = order[static_cast<size_t>(warm + k)];
        const std::string org = Org(u), user = User(u);
        const auto s = Clock::now();
        const int rows = look.Run("m", {org.c_str(), user.c_str()});
        lookup.push_back(Us(Clock::now() - s));
        if (rows != 1) Die("g5 anchor: membership not found");
      }
      done = end;
    }
    if (!all_allowed) Warn("g5: a cold check denied a held permission");
    if (c->Stats().misses - misses0 != static_cast<uint64_t>(samples)) {
      Warn(Fmt("g5: expected %d misses, saw %llu", samples,
               static_cast<unsigned long long>(c->Stats().misses - misses0)));
    }
    Series("g5_cold", cold);
    Series("g5_lookup", lookup);
  }

  // ---- context: the check query on both effective tables, and an L1 hit --------------------------
  {
    Log("context: check query on the matview / our table, L1 hit");
    Pg q(conninfo);
    q.Prepare("seed", std::string("SELECT ") + kCheckColumns +
              " FROM seed003.user_effective_policies WHERE user_id = $1 AND organization_id = $2", 2);
    q.Prepare("ours", std::string("SELECT ") + kCheckColumns +
              " FROM permcache.user_effective_policies WHERE user_id = $1 AND organization_id = $2", 2);
    std::vector<double> seed_us, ours_us;
    const int samples = flags.ctx_samples;
    const int block = std::max(50, samples / 10);
    for (int done = 0; done < samples; done += block) {
      for (const char* which : {"seed", "ours"}) {
        for (int k = done; k < std::min(samples, done + block); ++k) {
          const int u = static_cast<int>((int64_t{k} * 104729 + 11) % n);
          const std::string org = Org(u), user = User(u);
          const auto s = Clock::now();
          const int rows = q.Run(which, {user.c_str(), org.c_str()});
          (which[0] == 's' ? seed_us : ours_us).push_back(Us(Clock::now() - s));
          if (rows < 6) Die(Fmt("context %s: %d rows for %s", which, rows, user.c_str()));
        }
      }
    }
    Series("ctx_seed_query", seed_us);
    Series("ctx_ours_query", ours_us);
    // L1 hit: one warm key, each call timed, the cost of reading the clock subtracted.
    const std::string org = Org(3), user = User(3), perm = HeldPermission(3);
    (void)MustCheck(*a, org, user, perm);
    std::vector<double> overhead, hit;
    for (int i = 0; i < 20000; ++i) {
      const auto s = Clock::now();
      overhead.push_back(Us(Clock::now() - s));
    }
    const double oh = Percentile(overhead, 0.5);
    for (int i = 0; i < 200000; ++i) {
      const auto s = Clock::now();
      auto d = a->Check({.tenant = org, .user = user, .permission = perm});
      const double us = Us(Clock::now() - s);
      if (!d.ok() || !d->allowed) Die("L1 hit check failed");
      hit.push_back(std::max(0.0, us - oh) * 1e3);
    }
    Result("ctx_l1_hit_p50_ns", Percentile(hit, 0.5), "ns");
    Result("ctx_l1_hit_p99_ns", Percentile(hit, 0.99), "ns");
  }

  // ---- G7: write latency vs a plain INSERT, and writes/s at 1 and 16 writers ---------------------
  {
    Log("G7 write latency and throughput");
    Pg plain(conninfo);
    plain.Prepare("ins", "INSERT INTO plain.user_roles (tenant, user_id, role) VALUES ($1, $2, $3)", 3);
    plain.Prepare("del", "DELETE FROM plain.user_roles WHERE tenant = $1 AND user_id = $2 AND role = $3", 3);
    std::vector<double> pc_us, plain_us;
    for (int k = 0; k < flags.g7_samples; ++k) {
      const int u = static_cast<int>((int64_t{k} * 7919 + 5) % n);
      const std::string org = Org(u), user = User(u);
      for (int side = 0; side < 2; ++side) {
        if ((side == 0) == (k % 2 == 0)) {  // alternate which side goes first
          const auto s = Clock::now();
          MustWrite(*a, Op(OpKind::kPutUserRole, org, user, "rg7"));
          pc_us.push_back(Us(Clock::now() - s));
          MustWrite(*a, Op(OpKind::kDeleteUserRole, org, user, "rg7"));
        } else {
          const auto s = Clock::now();
          if (plain.Run("ins", {org.c_str(), user.c_str(), "rg7"}) != 1) Die("plain insert");
          plain_us.push_back(Us(Clock::now() - s));
          plain.Run("del", {org.c_str(), user.c_str(), "rg7"});
        }
      }
    }
    Series("g7_pc_write", pc_us);
    Series("g7_plain_insert", plain_us);

    // Throughput: each writer alternates put/delete on its own users (every write a change).
    auto run = [&](bool permcache_side, int writers) -> double {
      std::atomic<bool> stop{false};
      std::atomic<uint64_t> total{0};
      std::vector<std::thread> threads;
      // Writer w owns the users congruent to w modulo `writers`: no two writers share a row.
      const int per_writer = n / writers;
      auto user_of = [writers, per_writer](int w, int k) { return w + writers * ((k / 2) % per_writer); };
      for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
          std::unique_ptr<Pg> conn;
          if (!permcache_side) {
            conn = std::make_unique<Pg>(conninfo);
            conn->Prepare("ins", "INSERT INTO plain.user_roles (tenant, user_id, role) VALUES ($1, $2, $3)", 3);
            conn->Prepare("del", "DELETE FROM plain.user_roles WHERE tenant = $1 AND user_id = $2 AND role = $3", 3);
          }
          uint64_t count = 0;
          for (int k = 0; !stop.load(std::memory_order_relaxed); ++k) {
            const int u = user_of(w, k);
            const std::string org = Org(u), user = User(u);
            const bool put = k % 2 == 0;
            if (permcache_side) {
              MustWrite(*a, Op(put ? OpKind::kPutUserRole : OpKind::kDeleteUserRole, org, user, "rg7"));
            } else {
              conn->Run(put ? "ins" : "del", {org.c_str(), user.c_str(), "rg7"});
            }
            ++count;
          }
          // Leave nothing behind: an odd count means the last put is still there.
          if (count % 2 == 1) {
            const int u = user_of(w, static_cast<int>(count - 1));
            if (permcache_side) {
              MustWrite(*a, Op(OpKind::kDeleteUserRole, Org(u), User(u), "rg7"));
            } else {
              const std::string org = Org(u), user = User(u);
              conn->Run("del", {org.c_str(), user.c_str(), "rg7"});
            }
          }
          total.fetch_add(count);
        });
      }
      const auto s = Clock::now();
      std::this_thread::sleep_for(std::chrono::duration<double>(flags.throughput_seconds));
      stop = true;
      const double seconds = Us(Clock::now() - s) / 1e6;
      for (auto& t : threads) t.join();
      return static_cast<double>(total.load()) / seconds;
    };
    for (int writers : {1, 16}) {
      const double pc = run(true, writers);
      const double pl = run(false, writers);
      Result(Fmt("g7_pc_c%d_wps", writers), pc, "writes/s");
      Result(Fmt("g7_plain_c%d_wps", writers), pl, "writes/s");
    }
  }

  // ---- G6 and G8: alternating rounds, permcache changes and seed changes --------------------------
  {
    Pg w(conninfo), r(conninfo), wal(conninfo);
    w.Prepare("assign",
              "UPDATE seed003.user_organization_memberships SET role_ids = array_append(role_ids, "
              "$3::varchar) WHERE user_id = $1 AND organization_id = $2", 3);
    w.Prepare("fan_put", "UPDATE seed003.roles SET policy_ids = array_append(policy_ids, "
                         "'org0.pg8'::varchar) WHERE id = 'org0.rfan'", 0);
    w.Prepare("fan_del", "UPDATE seed003.roles SET policy_ids = array_remove(policy_ids, "
                         "'org0.pg8'::varchar) WHERE id = 'org0.rfan'", 0);
    r.Prepare("seen", "SELECT 1 FROM seed003.user_effective_policies WHERE user_id = $1 AND "
                      "organization_id = $2 AND policy_id = $3", 3);
    const int pc_changes = std::max(30, flags.pc_changes);
    const int seed_changes = SeedChanges(flags, n);
    const int per_round = (pc_changes + seed_changes - 1) / seed_changes;

    // G6 ---------------------------------------------------------------------------------------
    Log(Fmt("G6: %d permcache / %d seed role assignments", pc_changes, seed_changes));
    std::vector<double> pc_total, pc_write, pc_wal, seed_total, seed_c2v, seed_wal;
    int next_user = 0;
    auto user_for = [&](int j) { return static_cast<int>((int64_t{j} * 7919 + 3) % n); };
    auto pc_change = [&] {
      const int u = user_for(next_user++);
      const std::string org = Org(u), user = User(u);
      (void)MustCheck(*a, org, user, "g6:grant");  // both nodes cache the old answer
      if (MustCheck(*b, org, user, "g6:grant")) Die("g6: user already holds rg6");
      const double wal0 = wal.WalBytes();
      const auto s = Clock::now();
      MustWrite(*a, Op(OpKind::kPutUserRole, org, user, "rg6"));
      const auto written = Clock::now();
      if (!MustCheck(*a, org, user, "g6:grant")) Die("g6: node A answered stale after Write()");
      const auto deadline = s + std::chrono::seconds(10);
      while (!MustCheck(*b, org, user, "g6:grant")) {
        std::this_thread::sleep_for(std::chrono::microseconds(10));
        if (Clock::now() > deadline) Die("g6: the assignment never reached node B");
      }
      pc_total.push_back(Us(Clock::now() - s));
      pc_write.push_back(Us(written - s));
      pc_wal.push_back(wal.WalBytes() - wal0);
    };
    int seed_user = 0;
    auto seed_change = [&] {
      // Other users than permcache's (from the far end of the same sequence): fresh rows each.
      const int u = user_for(n - 1 - seed_user++);
      const std::string org = Org(u), user = User(u), role = org + ".rg6", policy = org + ".pg6";
      if (r.Run("seen", {user.c_str(), org.c_str(), policy.c_str()}) != 0) {
        Die("g6 seed: user already holds rg6");
      }
      const double wal0 = wal.WalBytes();
      const auto s = Clock::now();
      w.Exec("BEGIN");
      if (w.Run("assign", {user.c_str(), org.c_str(), role.c_str()}) != 1) Die("g6 seed: membership not found");
      const auto commit = Clock::now();
      w.Exec("COMMIT");
      const auto deadline = s + std::chrono::seconds(600);
      while (r.Run("seen", {user.c_str(), org.c_str(), policy.c_str()}) != 1) {
        std::this_thread::sleep_for(std::chrono::microseconds(10));
        if (Clock::now() > deadline) Die("g6 seed: the new row never became visible");
      }
      const auto seen = Clock::now();
      seed_total.push_back(Us(seen - s));
      seed_c2v.push_back(Us(seen - commit));
      seed_wal.push_back(wal.WalBytes() - wal0);
      Log(Fmt("G6 seed change %d: %.1f ms", seed_user, Us(seen - s) / 1e3));
    };
    for (int round = 0; round < seed_changes; ++round) {
      const int pcs = std::min(per_round, pc_changes - static_cast<int>(pc_total.size()));
      if (round % 2 == 1) seed_change();
      for (int i = 0; i < pcs; ++i) pc_change();
      if (round % 2 == 0) seed_change();
    }
    while (static_cast<int>(pc_total.size()) < pc_changes) pc_change();
    Series("g6_pc", pc_total);
    Series("g6_pc_write", pc_write);
    Series("g6_seed", seed_total);
    Series("g6_seed_commit_to_visible", seed_c2v);
    Result("g6_pc_wal_bytes", Percentile(pc_wal, 0.5), "bytes");
    Result("g6_seed_wal_bytes", Percentile(seed_wal, 0.5), "bytes");

    // G8 ---------------------------------------------------------------------------------------
    Log(Fmt("G8: %d permcache / %d seed role-policy changes (fan-out %d users)", pc_changes,
            seed_changes, (n + 99) / 100));
    Result("g8_fanout_users", (n + 99) / 100, "users");
    std::vector<double> pc_us, seed_us, pc_wal8, seed_wal8;
    int pc_k = 0, seed_k = 0;
    const std::string expect = std::to_string((n + 99) / 100);
    auto pc_fan = [&] {
      const bool put = pc_k % 2 == 0;
      const double wal0 = wal.WalBytes();
      const auto s = Clock::now();
      MustWrite(*a, Op(put ? OpKind::kPutRolePolicy : OpKind::kDeleteRolePolicy, "org0", "", "rfan",
                       "pg8"));
      pc_us.push_back(Us(Clock::now() - s));
      pc_wal8.push_back(wal.WalBytes() - wal0);
      if (pc_k < 2) {  // the effective table followed, for exactly the 1 %
        const std::string got = ctl.Exec(
            "SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id = 'org0' "
            "AND policy_id = 'pg8'");
        if (got != (put ? expect : "0")) Warn("g8: permcache effective rows for pg8: " + got);
        if (MustCheck(*a, "org0", "u0", "fan:extra") != put) Warn("g8: node A answered stale");
      }
      ++pc_k;
    };
    auto seed_fan = [&] {
      const bool put = seed_k % 2 == 0;
      const double wal0 = wal.WalBytes();
      const auto s = Clock::now();
      if (w.Run(put ? "fan_put" : "fan_del", {}) != 1) Die("g8 seed: role not found");
      seed_us.push_back(Us(Clock::now() - s));
      seed_wal8.push_back(wal.WalBytes() - wal0);
      if (seed_k < 2) {
        const std::string got = ctl.Exec(
            "SELECT count(*) FROM seed003.user_effective_policies WHERE policy_id = 'org0.pg8'");
        if (got != (put ? expect : "0")) Warn("g8: seed matview rows for pg8: " + got);
      }
      ++seed_k;
      Log(Fmt("G8 seed change %d: %.1f ms", seed_k, seed_us.back() / 1e3));
    };
    for (int round = 0; round < seed_changes; ++round) {
      const int pcs = std::min(per_round, pc_changes - pc_k);
      if (round % 2 == 1) seed_fan();
      for (int i = 0; i < pcs; ++i) pc_fan();
      if (round % 2 == 0) seed_fan();
    }
    while (pc_k < pc_changes) pc_fan();
    Series("g8_pc", pc_us);
    Series("g8_seed", seed_us);
    Result("g8_pc_wal_bytes", Percentile(pc_wal8, 0.5), "bytes");
    Result("g8_seed_wal_bytes", Percentile(seed_wal8, 0.5), "bytes");
    Info(Fmt("G6/G8: %d permcache changes, %d seed changes each, alternating in %d rounds; seed "
             "G6 change = one UPDATE of user_organization_memberships.role_ids (one trigger firing)",
             pc_changes, seed_changes, seed_changes));
  }
  b.reset();

  // ---- G13 over LISTEN/NOTIFY ------------------------------------------------------------------
  {
    Log(Fmt("G13: %d membership toggles A -> B", flags.g13_writes));
    auto a13 = Node(url);
    auto b13 = Node(url);
    const int u = 10;  // org0
    const std::string org = Org(u), user = User(u), perm = HeldPermission(u);
    std::vector<double> us;
    for (int k = 1; k <= flags.g13_writes; ++k) {
      const bool want = k % 2 == 0;  // odd k suspends, even k reactivates
      (void)MustCheck(*b13, org, user, perm);  // warm B's L1
      WriteOp op = Op(OpKind::kPutMembership, org, user);
      op.status = want ? permcache::MembershipStatus::kActive : permcache::MembershipStatus::kSuspended;
      const auto s = Clock::now();
      MustWrite(*a13, op);
      const auto deadline = s + std::chrono::seconds(5);
      while (MustCheck(*b13, org, user, perm) != want) {
        std::this_thread::sleep_for(std::chrono::microseconds(10));
        if (Clock::now() > deadline) Die("g13: a write never reached B");
      }
      us.push_back(Us(Clock::now() - s));
    }
    if (flags.g13_writes % 2 == 1) {  // leave u10 active
      WriteOp op = Op(OpKind::kPutMembership, org, user);
      MustWrite(*a13, op);
    }
    Series("g13_propagation", us);
    const auto st = b13->Stats();
    Info(Fmt("G13 node B: %llu notifications, %llu reconnects",
             static_cast<unsigned long long>(st.store_feed_notifications),
             static_cast<unsigned long long>(st.store_feed_reconnects)));
  }

  // ---- correctness gate --------------------------------------------------------------------------
  {
    Log("gate: permcache.reconcile(false)");
    const std::string diff = ctl.Exec("SELECT count(*) FROM permcache.reconcile(false)");
    Result("effective_diff_rows", std::atof(diff.c_str()), "rows");
    if (diff != "0") Warn("user_effective_policies differs from a recompute: " + diff + " rows");
  }
  a.reset();
  (void)server.Exec("postgres", "DROP DATABASE " + db + " WITH (FORCE)");
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1000);  // 1 µs: the 10 µs polling sleeps stay short
  Flags flags;
  bool users_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--quick") {
      flags.quick = true;
    } else if (a == "--users") {
      flags.users.clear();
      users_given = true;
      std::string v = value();
      for (size_t p = 0; p < v.size();) {
        size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        flags.users.push_back(std::atoi(v.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (a == "--pc-changes") {
      flags.pc_changes = std::atoi(value().c_str());
    } else if (a == "--seed-changes") {
      flags.seed_changes = std::atoi(value().c_str());
    } else if (a == "--g13-writes") {
      flags.g13_writes = std::atoi(value().c_str());
    } else {
      std::fprintf(stderr,
                   "usage: %s [--users 1000,10000,100000] [--quick] [--pc-changes N]\n"
                   "          [--seed-changes N] [--g13-writes N]\n", argv[0]);
      return 2;
    }
  }
  if (flags.quick) {
    if (!users_given) flags.users = {1000};
    flags.pc_changes = std::min(flags.pc_changes, 30);
    flags.g13_writes = std::min(flags.g13_writes, 50);
    flags.g5_samples = 300;
    flags.g7_samples = 30;
    flags.throughput_seconds = 1;
    flags.ctx_samples = 300;
  }
  for (int n : flags.users) {
    if (n < 1000) Die("--users: each size must be >= 1000");
  }

  permcache::testing::PostgresServerOptions options;
  options.durable = true;  // fsync and synchronous_commit on: never benchmark without them
  // Same for both sides: room for the 100k-user data in the buffer cache, and no checkpoint
  // storm in the middle of a refresh.
  options.settings = {"shared_buffers=512MB", "max_wal_size=4GB"};
  auto server = permcache::testing::PostgresServer::Start(options);
  if (!server.ok()) Die("PostgreSQL did not start: " + server.status().ToString());
  auto version = (*server)->Exec("postgres", "SELECT version()");
  std::printf("INFO pg server: %s (fsync on, synchronous_commit on, shared_buffers 512MB)\n",
              version.ok() ? version->c_str() : "unknown version");
  for (int n : flags.users) RunSize(**server, flags, n);
  return 0;
}
