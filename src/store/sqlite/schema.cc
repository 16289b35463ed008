#include "store/sqlite/schema.h"

#include <string>

#include "store/sqlite/connection.h"

namespace permcache::sqlite {
namespace {

// Version 1: the model of DESIGN §2, the revision counter and the changelog.
//
// Links use composite foreign keys with ON DELETE CASCADE because that is the documented
// semantics: deleting a tenant removes everything in it, deleting a role or policy removes its
// links, deleting a business unit removes the policies scoped to it (and, through them, their
// links). user_roles.business_unit is '' for "no business unit" (it is part of the primary key,
// which cannot hold NULL), so it cannot carry a foreign key; SqliteStore deletes those rows
// explicitly on delete_business_unit. policies.scope is NULL for "unscoped" so its foreign key
// only applies to scoped policies.
//
// The secondary indexes serve the affected-users queries (who holds role R or a role that
// inherits R; who reaches policy P) and the cascades, which look up child rows by parent key.
constexpr const char kSchemaV1[] = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('revision', 0);

CREATE TABLE tenants (
  tenant TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TABLE business_units (
  tenant        TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  business_unit TEXT NOT NULL,
  PRIMARY KEY (tenant, business_unit)
) STRICT, WITHOUT ROWID;

CREATE TABLE memberships (
  tenant TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  user   TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  PRIMARY KEY (tenant, user)
) STRICT, WITHOUT ROWID;

CREATE TABLE roles (
  tenant TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  role   TEXT NOT NULL,
  PRIMARY KEY (tenant, role)
) STRICT, WITHOUT ROWID;

-- role inherits parent: role gets parent's policies. position keeps the list order as written.
CREATE TABLE role_inherits (
  tenant   TEXT NOT NULL,
  role     TEXT NOT NULL,
  parent   TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (tenant, role, parent),
  FOREIGN KEY (tenant, role) REFERENCES roles (tenant, role) ON DELETE CASCADE,
  FOREIGN KEY (tenant, parent) REFERENCES roles (tenant, role) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX role_inherits_by_parent ON role_inherits (tenant, parent);

-- permissions: the patterns joined by '\n' (patterns cannot contain whitespace), order kept.
CREATE TABLE policies (
  tenant      TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  policy      TEXT NOT NULL,
  effect      TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
  priority    INTEGER NOT NULL,
  scope       TEXT,
  permissions TEXT NOT NULL,
  PRIMARY KEY (tenant, policy),
  FOREIGN KEY (tenant, scope) REFERENCES business_units (tenant, business_unit) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX policies_by_scope ON policies (tenant, scope);

CREATE TABLE role_policies (
  tenant TEXT NOT NULL,
  role   TEXT NOT NULL,
  policy TEXT NOT NULL,
  PRIMARY KEY (tenant, role, policy),
  FOREIGN KEY (tenant, role) REFERENCES roles (tenant, role) ON DELETE CASCADE,
  FOREIGN KEY (tenant, policy) REFERENCES policies (tenant, policy) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX role_policies_by_policy ON role_policies (tenant, policy);

CREATE TABLE user_roles (
  tenant        TEXT NOT NULL,
  user          TEXT NOT NULL,
  role          TEXT NOT NULL,
  business_unit TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant, user, role, business_unit),
  FOREIGN KEY (tenant, role) REFERENCES roles (tenant, role) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_by_role ON user_roles (tenant, role);
CREATE INDEX user_roles_by_business_unit ON user_roles (tenant, business_unit);

CREATE TABLE user_policies (
  tenant TEXT NOT NULL,
  user   TEXT NOT NULL,
  policy TEXT NOT NULL,
  PRIMARY KEY (tenant, user, policy),
  FOREIGN KEY (tenant, policy) REFERENCES policies (tenant, policy) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX user_policies_by_policy ON user_policies (tenant, policy);

-- One row per committed revision (also those whose ops changed nothing), so readers of the
-- changelog see a gap-free sequence.
CREATE TABLE revisions (
  revision     INTEGER PRIMARY KEY,
  committed_at TEXT NOT NULL
) STRICT;

-- The keys each revision may have changed: user NULL = every user of the tenant.
CREATE TABLE changelog (
  revision INTEGER NOT NULL REFERENCES revisions (revision) ON DELETE CASCADE,
  tenant   TEXT NOT NULL,
  user     TEXT
) STRICT;
CREATE INDEX changelog_by_revision ON changelog (revision);
)sql";

// Version 2: the commit time as integer ms since the Unix epoch (ChangeSet.committed_at_ms, for
// invalidation-lag metrics; also what changelog pruning will go by) instead of ISO text.
constexpr const char kSchemaV2[] = R"sql(
ALTER TABLE revisions ADD COLUMN committed_at_ms INTEGER NOT NULL DEFAULT 0;
UPDATE revisions
  SET committed_at_ms =
    CAST(ROUND((julianday(committed_at) - 2440587.5) * 86400000.0) AS INTEGER);
ALTER TABLE revisions DROP COLUMN committed_at;
)sql";

// Version 3: changelog retention. meta 'pruned_through' = the highest revision whose rows were
// pruned (0 = none); readers whose cursor is below it must drop their caches instead of paging.
constexpr const char kSchemaV3[] = R"sql(
INSERT INTO meta (key, value) VALUES ('pruned_through', 0);
CREATE INDEX revisions_by_commit_time ON revisions (committed_at_ms);
)sql";

// Version 4: resources, their grants and UI elements (DESIGN §7). NULL owner / password_hash =
// none. version is the revision of the write that created the row or last changed its state,
// owner or password_hash (SqliteWriteTxn's upsert computes it; never reused): unlock tokens
// carry it. Grant patterns are '\n'-joined like policies'.
// An element's required roles are a link table so that deleting a role cascades out of them;
// required_permissions ('\n'-joined, '' = none) keep their written order. The indexes serve
// the grantee and role lookups and the cascades. meta 'token_signing_key' is created on first
// use (SqliteStore::TokenSigningKey), not here: RAND_bytes, not SQLite's PRNG.
constexpr const char kSchemaV4[] = R"sql(
CREATE TABLE resources (
  tenant        TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  resource      TEXT NOT NULL,
  type          TEXT NOT NULL,
  owner         TEXT,
  state         TEXT NOT NULL CHECK (state IN ('public', 'unlisted', 'private', 'restricted')),
  password_hash TEXT CHECK (password_hash <> ''),
  version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
  PRIMARY KEY (tenant, resource)
) STRICT, WITHOUT ROWID;
CREATE INDEX resources_by_type ON resources (tenant, type, resource);

CREATE TABLE resource_grants (
  tenant      TEXT NOT NULL,
  resource    TEXT NOT NULL,
  user        TEXT NOT NULL,
  permissions TEXT NOT NULL,
  PRIMARY KEY (tenant, resource, user),
  FOREIGN KEY (tenant, resource) REFERENCES resources (tenant, resource) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX resource_grants_by_user ON resource_grants (tenant, user);

CREATE TABLE ui_elements (
  tenant               TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  element              TEXT NOT NULL,
  required_permissions TEXT NOT NULL,
  active               INTEGER NOT NULL CHECK (active IN (0, 1)),
  PRIMARY KEY (tenant, element)
) STRICT, WITHOUT ROWID;

CREATE TABLE ui_element_roles (
  tenant  TEXT NOT NULL,
  element TEXT NOT NULL,
  role    TEXT NOT NULL,
  PRIMARY KEY (tenant, element, role),
  FOREIGN KEY (tenant, element) REFERENCES ui_elements (tenant, element) ON DELETE CASCADE,
  FOREIGN KEY (tenant, role) REFERENCES roles (tenant, role) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX ui_element_roles_by_role ON ui_element_roles (tenant, role);
)sql";

// Version 5: validity intervals (DESIGN §8). starts_at_ms / expires_at_ms are ms since the Unix
// epoch, NULL = unbounded; an interval must not be empty. memberships is rebuilt because its
// status CHECK gains 'pending' (SQLite cannot alter a CHECK); nothing references it, and it has
// no index of its own.
constexpr const char kSchemaV5[] = R"sql(
CREATE TABLE memberships_v5 (
  tenant        TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  user          TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'pending')),
  starts_at_ms  INTEGER,
  expires_at_ms INTEGER,
  CHECK (starts_at_ms IS NULL OR expires_at_ms IS NULL OR expires_at_ms > starts_at_ms),
  PRIMARY KEY (tenant, user)
) STRICT, WITHOUT ROWID;
INSERT INTO memberships_v5 (tenant, user, status) SELECT tenant, user, status FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_v5 RENAME TO memberships;

ALTER TABLE user_roles ADD COLUMN starts_at_ms INTEGER;
ALTER TABLE user_roles ADD COLUMN expires_at_ms INTEGER
  CHECK (starts_at_ms IS NULL OR expires_at_ms IS NULL OR expires_at_ms > starts_at_ms);
ALTER TABLE user_policies ADD COLUMN starts_at_ms INTEGER;
ALTER TABLE user_policies ADD COLUMN expires_at_ms INTEGER
  CHECK (starts_at_ms IS NULL OR expires_at_ms IS NULL OR expires_at_ms > starts_at_ms);
ALTER TABLE resource_grants ADD COLUMN starts_at_ms INTEGER;
ALTER TABLE resource_grants ADD COLUMN expires_at_ms INTEGER
  CHECK (starts_at_ms IS NULL OR expires_at_ms IS NULL OR expires_at_ms > starts_at_ms);
)sql";

// Version 6: groups (DESIGN §8, seed 004's organisations). A group's roles and policies reach
// its members while the group is active and inside its interval. group_roles.business_unit is
// '' for "none" like user_roles' (SqliteWriteTxn deletes a unit's rows by hand). Deleting a
// group, role or policy cascades out of the links. The indexes serve the member lookups (which
// groups is a user in; who is in a group) and the holder queries (which groups hold role R or
// policy P).
constexpr const char kSchemaV6[] = R"sql(
CREATE TABLE groups (
  tenant        TEXT NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  group_id      TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
  starts_at_ms  INTEGER,
  expires_at_ms INTEGER,
  CHECK (starts_at_ms IS NULL OR expires_at_ms IS NULL OR expires_at_ms > starts_at_ms),
  PRIMARY KEY (tenant, group_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE group_members (
  tenant   TEXT NOT NULL,
  group_id TEXT NOT NULL,
  user     TEXT NOT NULL,
  PRIMARY KEY (tenant, group_id, user),
  FOREIGN KEY (tenant, group_id) REFERENCES groups (tenant, group_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members (tenant, user);

CREATE TABLE group_roles (
  tenant        TEXT NOT NULL,
  group_id      TEXT NOT NULL,
  role          TEXT NOT NULL,
  business_unit TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant, group_id, role, business_unit),
  FOREIGN KEY (tenant, group_id) REFERENCES groups (tenant, group_id) ON DELETE CASCADE,
  FOREIGN KEY (tenant, role) REFERENCES roles (tenant, role) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX group_roles_by_role ON group_roles (tenant, role);
CREATE INDEX group_roles_by_business_unit ON group_roles (tenant, business_unit);

CREATE TABLE group_policies (
  tenant   TEXT NOT NULL,
  group_id TEXT NOT NULL,
  policy   TEXT NOT NULL,
  PRIMARY KEY (tenant, group_id, policy),
  FOREIGN KEY (tenant, group_id) REFERENCES groups (tenant, group_id) ON DELETE CASCADE,
  FOREIGN KEY (tenant, policy) REFERENCES policies (tenant, policy) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX group_policies_by_policy ON group_policies (tenant, policy);
)sql";

// Append only: a released migration never changes (files in the field already ran it).
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status Migrate(Connection& conn, std::string_view describe) {
  // IMMEDIATE takes the write lock up front: two processes opening a fresh file both see
  // version 0 otherwise, and the second would fail creating tables that now exist.
  PERMCACHE_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    PERMCACHE_RETURN_IF_ERROR(
        conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                  "  version    INTEGER PRIMARY KEY,"
                  "  applied_at TEXT NOT NULL)"));
    int64_t current = 0;
    {
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement stmt, conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      PERMCACHE_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) current = stmt.Int(0);
    }
    if (current > LatestSchemaVersion()) {
      return InvalidArgumentError(std::string(describe) + " has schema version " +
                                  std::to_string(current) + ", newer than this binary supports (" +
                                  std::to_string(LatestSchemaVersion()) +
                                  "); upgrade permcache to open it");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      Status s = conn.Exec(m.sql);
      if (!s.ok()) {
        return Status(s.code(), "applying schema migration " + std::to_string(m.version) + " to " +
                                    std::string(describe) + ": " + s.message());
      }
      PERMCACHE_ASSIGN_OR_RETURN(
          Statement record, conn.Prepare("INSERT INTO schema_migrations (version, applied_at) "
                                         "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"));
      PERMCACHE_RETURN_IF_ERROR(record.Bind(1, static_cast<int64_t>(m.version)).Run());
    }
    return Status::Ok();
  };
  Status status = body();
  if (status.ok()) status = conn.Exec("COMMIT");
  if (!status.ok() && conn.InTransaction()) conn.Exec("ROLLBACK").IgnoreError();
  return status;
}

}  // namespace permcache::sqlite
