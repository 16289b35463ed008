-- permcache PostgreSQL schema, migration 5: groups (DESIGN section 8, seed 004's organisations).
--
-- Tables (contract, DESIGN §8): groups (tenant, group_id, status 'active' | 'suspended',
-- starts_at, expires_at), group_members (tenant, group_id, user_id), group_roles (tenant,
-- group_id, role, business_unit '' = everywhere; business_unit_ref as on user_roles carries the
-- foreign key), group_policies (tenant, group_id, policy). Members of an active group get its
-- roles and policies while the group's interval holds; a member with no membership of their own
-- is an active member of the tenant through an active group (a suspended or pending own
-- membership wins: nothing counts).
--
-- Rules as in 001-004: CHECKs (23514) for ids, the status and the interval (<table>_interval_check,
-- <table>_interval_range_check); BEFORE row triggers (23503) naming a missing reference with the
-- C++ texts, in the C++ order: tenant, group ("group 'g' does not exist in tenant 't'"), role,
-- policy / business unit; foreign keys with ON DELETE CASCADE (a tenant takes its groups, a
-- group its members, roles and policies, a role / policy / business unit its group links).
--
-- Capture (001's template, statement triggers over transition tables): group_members -> the
-- member ('user'); groups, group_roles, group_policies -> a new key kind 'group', which the
-- commit step resolves to the group's members (whatever the group's status), exactly as
-- op_applier.cc's MembersIf. Deleting a group cascades to its members, whose capture records
-- each of them. Role and policy keys now also reach the members of every group holding the role
-- (directly or through a role inheriting it) or the policy (pc_commit_step, replaced below).
--
-- user_effective_policies (pc_effective_rows_for and pc_refresh_effective replaced, same
-- signatures; reconcile needs no change, it recomputes through pc_effective_rows_for):
--   * who has rows: an active own membership, or none and at least one active group the user is
--     a member of. Suspended / pending own membership, or only suspended groups: no rows.
--   * a policy of group G: assignment_type 'role', source_id 'group:G', business_unit_id ''.
--   * role R of group G (scoped to unit B or not): assignment_type 'role', source_id 'group:G>R'
--     (the role path LoadGrants reports, up to the assigned role, as 'role' rows have always
--     been keyed), business_unit_id B, one row per policy R reaches.
--   * intervals: a group's grants carry the group's interval intersected with the own
--     membership's (unbounded without one). Without an own membership, the user's own grants
--     (user_roles, user_policies) count while the membership through groups does, i.e. inside
--     the union of the active groups' intervals; a row holds one interval, so they carry the
--     first run of overlapping (or touching) group intervals, intersected with the assignment's.
--     When the groups' intervals leave a gap, such rows stop at the gap although permcache
--     counts them again once a later group starts (fail closed; the next write of that user
--     recomputes them).
--   Readers filter on now() exactly as since migration 4, which covers groups too:
--     SELECT ... FROM permcache.user_effective_policies
--     WHERE user_id = $1 AND organization_id = $2
--       AND (starts_at IS NULL OR starts_at <= now()) AND (expires_at IS NULL OR now() < expires_at);
--   A group's status is not time: suspending or resuming it is a write and rewrites its members'
--   rows in the same transaction.

-- ---------------------------------------------------------------------------------------------
-- Model tables

CREATE TABLE permcache.groups (
  tenant text NOT NULL,
  group_id text NOT NULL,
  status text NOT NULL,
  starts_at timestamptz NULL,
  expires_at timestamptz NULL,
  CONSTRAINT groups_pkey PRIMARY KEY (tenant, group_id),
  CONSTRAINT groups_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT groups_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT groups_group_id_check CHECK (group_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT groups_status_check CHECK (status IN ('active', 'suspended')),
  CONSTRAINT groups_interval_check CHECK (expires_at > starts_at),
  CONSTRAINT groups_interval_range_check CHECK (
    starts_at >= '0001-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'
    AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00')
);

-- The primary key serves "who is in group G"; the index "which groups is user U in".
CREATE TABLE permcache.group_members (
  tenant text NOT NULL,
  group_id text NOT NULL,
  user_id text NOT NULL,
  CONSTRAINT group_members_pkey PRIMARY KEY (tenant, group_id, user_id),
  CONSTRAINT group_members_group_fkey FOREIGN KEY (tenant, group_id)
    REFERENCES permcache.groups (tenant, group_id) ON DELETE CASCADE,
  CONSTRAINT group_members_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_members_group_id_check CHECK (group_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_members_user_id_check CHECK (user_id ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX group_members_tenant_user_id_idx ON permcache.group_members (tenant, user_id);

CREATE TABLE permcache.group_roles (
  tenant text NOT NULL,
  group_id text NOT NULL,
  role text NOT NULL,
  business_unit text NOT NULL DEFAULT '',  -- '' = everywhere in the tenant
  -- Not part of the contract (as on user_roles): lets a foreign key cascade BU deletions.
  business_unit_ref text GENERATED ALWAYS AS (NULLIF(business_unit, '')) STORED,
  CONSTRAINT group_roles_pkey PRIMARY KEY (tenant, group_id, role, business_unit),
  CONSTRAINT group_roles_group_fkey FOREIGN KEY (tenant, group_id)
    REFERENCES permcache.groups (tenant, group_id) ON DELETE CASCADE,
  CONSTRAINT group_roles_role_fkey FOREIGN KEY (tenant, role)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT group_roles_business_unit_fkey FOREIGN KEY (tenant, business_unit_ref)
    REFERENCES permcache.business_units (tenant, business_unit) ON DELETE CASCADE,
  CONSTRAINT group_roles_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_roles_group_id_check CHECK (group_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_roles_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_roles_business_unit_check
    CHECK (business_unit = '' OR business_unit ~ '^[A-Za-z0-9._@-]{1,128}$')
);
-- Holder queries (which groups hold role R) and the business units' ON DELETE CASCADE.
CREATE INDEX group_roles_tenant_role_idx ON permcache.group_roles (tenant, role);
CREATE INDEX group_roles_tenant_business_unit_idx
  ON permcache.group_roles (tenant, business_unit_ref);

CREATE TABLE permcache.group_policies (
  tenant text NOT NULL,
  group_id text NOT NULL,
  policy text NOT NULL,
  CONSTRAINT group_policies_pkey PRIMARY KEY (tenant, group_id, policy),
  CONSTRAINT group_policies_group_fkey FOREIGN KEY (tenant, group_id)
    REFERENCES permcache.groups (tenant, group_id) ON DELETE CASCADE,
  CONSTRAINT group_policies_policy_fkey FOREIGN KEY (tenant, policy)
    REFERENCES permcache.policies (tenant, policy) ON DELETE CASCADE,
  CONSTRAINT group_policies_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_policies_group_id_check CHECK (group_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT group_policies_policy_check CHECK (policy ~ '^[A-Za-z0-9._@-]{1,128}$')
);
-- Holder queries: which groups hold policy P.
CREATE INDEX group_policies_tenant_policy_idx ON permcache.group_policies (tenant, policy);

-- ---------------------------------------------------------------------------------------------
-- Reference checks (BEFORE INSERT OR UPDATE, row level), as in 001: static SQL, an UPDATE
-- leaving the referencing columns alone checks nothing, an invalid id skips the checks so that
-- its CHECK constraint refuses the row (23514).

CREATE FUNCTION permcache.pc_check_refs_group_members() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.group_id) IS NOT DISTINCT FROM (OLD.tenant, OLD.group_id)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.group_id ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.groups g WHERE g.tenant = NEW.tenant AND g.group_id = NEW.group_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'group ''' || NEW.group_id || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_group_roles() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.group_id, NEW.role, NEW.business_unit)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.group_id, OLD.role,
                                                OLD.business_unit)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.group_id ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.role ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND (NEW.business_unit = '' OR NEW.business_unit ~ '^[A-Za-z0-9._@-]{1,128}$'),
                  false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.groups g WHERE g.tenant = NEW.tenant AND g.group_id = NEW.group_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'group ''' || NEW.group_id || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  PERFORM 1 FROM permcache.roles r WHERE r.tenant = NEW.tenant AND r.role = NEW.role;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'role ''' || NEW.role || ''' does not exist in tenant ''' || NEW.tenant || '''';
  END IF;
  IF NEW.business_unit <> '' THEN
    PERFORM 1 FROM permcache.business_units b
      WHERE b.tenant = NEW.tenant AND b.business_unit = NEW.business_unit;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
        MESSAGE = 'business unit ''' || NEW.business_unit || ''' does not exist in tenant '''
                  || NEW.tenant || '''';
    END IF;
  END IF;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_group_policies() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.group_id, NEW.policy)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.group_id, OLD.policy)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.group_id ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.policy ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.groups g WHERE g.tenant = NEW.tenant AND g.group_id = NEW.group_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'group ''' || NEW.group_id || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  PERFORM 1 FROM permcache.policies p WHERE p.tenant = NEW.tenant AND p.policy = NEW.policy;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'policy ''' || NEW.policy || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.groups
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.group_members
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_group_members();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.group_roles
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_group_roles();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.group_policies
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_group_policies();

-- ---------------------------------------------------------------------------------------------
-- Capture: 001's template (pc_capture_<table>, static SQL over new_rows / old_rows, only rows
-- that really changed, > 10000 keys of a tenant in one statement = the tenant, SERIALIZABLE:
-- tenants only). Keys: group_members -> ('user', tenant, user_id); groups, group_roles,
-- group_policies -> ('group', tenant, group_id), resolved to the members by pc_commit_step.

DO $do$
DECLARE
  v record;
  -- %1$s = key kind, %2$s = key expression over a changed row `c`, %3$s = the changed rows.
  v_insert constant text := $tpl$
    INSERT INTO permcache.pc_pending (kind, tenant, key)
    SELECT DISTINCT CASE WHEN k.n > 10000 THEN 'tenant' ELSE k.kind END, k.tenant,
           CASE WHEN k.n > 10000 THEN '' ELSE k.key END
    FROM (SELECT d.kind, d.tenant, d.key, count(*) OVER (PARTITION BY d.tenant) AS n
          FROM (SELECT DISTINCT '%1$s'::text AS kind, c.tenant, (%2$s)::text AS key
                FROM %3$s c) d) k
    ON CONFLICT DO NOTHING;$tpl$;
  v_changed constant text :=
    '((SELECT * FROM new_rows EXCEPT SELECT * FROM old_rows) UNION ALL '
    '(SELECT * FROM old_rows EXCEPT SELECT * FROM new_rows))';
BEGIN
  FOR v IN SELECT * FROM (VALUES
      ('groups',         'group', 'c.group_id'),
      ('group_members',  'user',  'c.user_id'),
      ('group_roles',    'group', 'c.group_id'),
      ('group_policies', 'group', 'c.group_id')) AS t(tbl, kind, keyexpr)
  LOOP
    EXECUTE format($tpl$
CREATE FUNCTION permcache.%1$I() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $body$
DECLARE
  v_tenants text[];
  v_n bigint;
BEGIN
  IF current_setting('transaction_isolation') = 'serializable' THEN
    IF TG_OP = 'INSERT' THEN
      SELECT array_agg(DISTINCT c.tenant) INTO v_tenants FROM new_rows c;
    ELSIF TG_OP = 'DELETE' THEN
      SELECT array_agg(DISTINCT c.tenant) INTO v_tenants FROM old_rows c;
    ELSE
      SELECT array_agg(DISTINCT c.tenant) INTO v_tenants FROM %2$s c;
    END IF;
    PERFORM permcache.pc_record_tenants(v_tenants);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN%3$s
  ELSIF TG_OP = 'DELETE' THEN%4$s
  ELSE%5$s
  END IF;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n > 0 AND coalesce(current_setting('permcache.marker', true), '') = '' THEN
    PERFORM permcache.pc_arm();
  END IF;
  RETURN NULL;
END
$body$$tpl$,
      'pc_capture_' || v.tbl, v_changed,
      format(v_insert, v.kind, v.keyexpr, 'new_rows'),
      format(v_insert, v.kind, v.keyexpr, 'old_rows'),
      format(v_insert, v.kind, v.keyexpr, v_changed));
    EXECUTE format('CREATE TRIGGER pc_capture_insert AFTER INSERT ON permcache.%I '
                   'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION permcache.%I()', v.tbl, 'pc_capture_' || v.tbl);
    EXECUTE format('CREATE TRIGGER pc_capture_update AFTER UPDATE ON permcache.%I '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION permcache.%I()', v.tbl, 'pc_capture_' || v.tbl);
    EXECUTE format('CREATE TRIGGER pc_capture_delete AFTER DELETE ON permcache.%I '
                   'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION permcache.%I()', v.tbl, 'pc_capture_' || v.tbl);
  END LOOP;
END
$do$;

-- BEFORE TRUNCATE: every tenant with rows, tenant-wide (001's pc_capture_truncate).
DO $do$
DECLARE
  v_tbl text;
BEGIN
  FOREACH v_tbl IN ARRAY ARRAY['groups', 'group_members', 'group_roles', 'group_policies']
  LOOP
    EXECUTE format('CREATE TRIGGER pc_capture_truncate BEFORE TRUNCATE ON permcache.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION permcache.pc_capture_truncate()',
                   v_tbl);
  END LOOP;
END
$do$;

-- ---------------------------------------------------------------------------------------------
-- Commit step: 001's, with the holders through groups. Only the key resolution (the WITH
-- RECURSIVE under READ COMMITTED) differs: 'group' keys are the group's members; a role key
-- (and a policy key through the roles linking it) also reaches the members of every group
-- holding a role in its reach; a policy key also the members of groups holding the policy.

CREATE OR REPLACE FUNCTION permcache.pc_commit_step(force boolean)
RETURNS TABLE(revision bigint, tenant text, user_id text)
LANGUAGE plpgsql SET search_path = permcache, pg_temp
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  v_txid bigint := txid_current();
  v_iso text := current_setting('transaction_isolation');
  v_serializable boolean := current_setting('transaction_isolation') = 'serializable';
  v_marker text := nullif(current_setting('permcache.marker', true), '');
  v_tenants text[];
  v_has boolean;
  v_rev bigint;
  v_t text[];
  v_u text[];
  v_n bigint;
  v_started timestamptz;
BEGIN
  -- Disarm: a later write in this transaction arms a new commit step.
  IF v_marker IS NOT NULL THEN
    DELETE FROM permcache.pc_txn_marker m WHERE m.ctid = v_marker::tid AND m.txid = v_txid;
    PERFORM set_config('permcache.marker', '', true);
  ELSIF NOT v_serializable THEN
    DELETE FROM permcache.pc_txn_marker m WHERE m.txid = v_txid;
  END IF;

  IF v_serializable THEN
    v_tenants := coalesce(nullif(current_setting('permcache.pending_tenants', true), '')::text[],
                          '{}');
    v_has := cardinality(v_tenants) > 0;
  ELSE
    v_has := EXISTS (SELECT 1 FROM permcache.pc_pending p WHERE p.txid = v_txid);
  END IF;
  IF NOT v_has AND NOT force THEN RETURN; END IF;

  -- The revision lock: released only after this commit is visible, so revisions are in commit
  -- order.
  PERFORM pg_advisory_xact_lock(8098989794977783144);
  v_rev := nextval('permcache.pc_revision_seq');
  INSERT INTO permcache.pc_revisions (revision, committed_at_ms, isolation)
  VALUES (v_rev, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, v_iso);

  IF v_iso = 'read committed' THEN
    WITH RECURSIVE
    k AS (SELECT p.kind, p.tenant, p.key FROM permcache.pc_pending p WHERE p.txid = v_txid),
    seed AS (
      SELECT k.tenant, k.kind, k.key, k.key AS role FROM k WHERE k.kind = 'role'
      UNION
      SELECT k.tenant, k.kind, k.key, rp.role FROM k
      JOIN permcache.role_policies rp ON rp.tenant = k.tenant AND rp.policy = k.key
      WHERE k.kind = 'policy'
    ),
    reach(tenant, kind, key, role) AS (
      SELECT * FROM seed
      UNION
      SELECT r.tenant, r.kind, r.key, ri.role FROM reach r
      JOIN permcache.role_inherits ri ON ri.tenant = r.tenant AND ri.inherits = r.role
    ),
    -- Groups whose members a key reaches: the group itself, the groups holding a reached role,
    -- the groups holding a policy.
    grp AS (
      SELECT k.tenant, k.kind, k.key, k.key AS group_id FROM k WHERE k.kind = 'group'
      UNION
      SELECT r.tenant, r.kind, r.key, gr.group_id FROM reach r
      JOIN permcache.group_roles gr ON gr.tenant = r.tenant AND gr.role = r.role
      UNION
      SELECT k.tenant, k.kind, k.key, gp.group_id FROM k
      JOIN permcache.group_policies gp ON gp.tenant = k.tenant AND gp.policy = k.key
      WHERE k.kind = 'policy'
    ),
    hits AS (
      SELECT r.tenant, r.kind, r.key, ur.user_id FROM reach r
      JOIN permcache.user_roles ur ON ur.tenant = r.tenant AND ur.role = r.role
      UNION
      SELECT k.tenant, k.kind, k.key, up.user_id FROM k
      JOIN permcache.user_policies up ON up.tenant = k.tenant AND up.policy = k.key
      WHERE k.kind = 'policy'
      UNION
      SELECT g.tenant, g.kind, g.key, gm.user_id FROM grp g
      JOIN permcache.group_members gm ON gm.tenant = g.tenant AND gm.group_id = g.group_id
      UNION
      SELECT k.tenant, k.kind, k.key, k.key FROM k WHERE k.kind = 'user'
    ),
    -- A key that reaches more than 10000 users becomes its tenant (a window count, not a join:
    -- the planner's estimates for pc_pending are tiny, and a join here went quadratic).
    counted AS (
      SELECT h.tenant, h.user_id, count(*) OVER (PARTITION BY h.tenant, h.kind, h.key) AS n
      FROM hits h
    ),
    raw AS (
      SELECT k.tenant, NULL::text AS user_id FROM k WHERE k.kind = 'tenant'
      UNION
      SELECT c.tenant, CASE WHEN c.n > 10000 THEN NULL ELSE c.user_id END FROM counted c
    ),
    wide AS (SELECT DISTINCT r.tenant FROM raw r WHERE r.user_id IS NULL),
    kept AS (
      SELECT r.tenant, r.user_id FROM raw r LEFT JOIN wide w ON w.tenant = r.tenant
      WHERE r.user_id IS NULL OR w.tenant IS NULL
    )
    SELECT array_agg(kept.tenant ORDER BY kept.tenant, kept.user_id),
           array_agg(kept.user_id ORDER BY kept.tenant, kept.user_id)
    INTO v_t, v_u FROM kept;
  ELSE
    IF NOT v_serializable THEN
      SELECT array_agg(DISTINCT p.tenant) INTO v_tenants
      FROM permcache.pc_pending p WHERE p.txid = v_txid;
    END IF;
    IF cardinality(v_tenants) > 0 THEN
      SELECT array_agg(x ORDER BY x), array_agg(NULL::text) INTO v_t, v_u
      FROM unnest(v_tenants) AS s(x);
    END IF;
  END IF;

  IF v_serializable THEN
    PERFORM set_config('permcache.pending_tenants', '', true);
  ELSE
    DELETE FROM permcache.pc_pending p WHERE p.txid = v_txid;
  END IF;

  IF v_t IS NOT NULL THEN
    INSERT INTO permcache.pc_changelog (revision, tenant, user_id)
    SELECT v_rev, x.t, x.u FROM unnest(v_t, v_u) AS x(t, u);

    v_n := -1;
    IF v_iso = 'read committed' THEN
      v_started := clock_timestamp();
      v_n := permcache.pc_refresh_effective(v_t, v_u, 10000);
      -- How long the effective table took, for the writer's metrics (transaction-local).
      PERFORM set_config('permcache.effective_ms',
                         (extract(epoch FROM clock_timestamp() - v_started) * 1000)::text, true);
    END IF;
    IF v_n < 0 THEN
      INSERT INTO permcache.pc_effective_queue (revision, tenant, user_id)
      SELECT v_rev, x.t, x.u FROM unnest(v_t, v_u) AS x(t, u);
    END IF;
  END IF;

  IF pg_notification_queue_usage() <= 0.5 THEN
    PERFORM pg_notify('permcache', v_rev::text);
  END IF;
  -- A revision a node has seen must not vanish in a crash and be re-used.
  PERFORM set_config('synchronous_commit', 'on', true);

  IF v_t IS NULL THEN
    RETURN QUERY SELECT v_rev, NULL::text, NULL::text;
  ELSE
    RETURN QUERY SELECT v_rev, x.t, x.u FROM unnest(v_t, v_u) AS x(t, u);
  END IF;
END
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Effective rows

-- 004's function with the grants of groups (see the header for rows, keys and intervals).
-- Tenant-wide keys expand to the tenant's members and group members (users without a
-- membership of their own can have rows now).
CREATE OR REPLACE FUNCTION permcache.pc_effective_rows_for(p_tenants text[], p_users text[])
RETURNS SETOF permcache.user_effective_policies
LANGUAGE plpgsql STABLE SET search_path = permcache, pg_temp
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_t text[] := p_tenants;
  v_u text[] := p_users;
BEGIN
  -- Tenant-wide keys (NULL user) become explicit (tenant, user) pairs first, in a statement of
  -- their own (see 001).
  IF array_position(p_users, NULL) IS NOT NULL THEN
    SELECT coalesce(array_agg(x.t), '{}'), coalesce(array_agg(x.u), '{}') INTO v_t, v_u
    FROM (
      SELECT k.t, k.u FROM unnest(p_tenants, p_users) AS k(t, u) WHERE k.u IS NOT NULL
      UNION
      SELECT m.tenant, m.user_id FROM unnest(p_tenants, p_users) AS k(t, u)
      JOIN permcache.memberships m ON m.tenant = k.t
      WHERE k.u IS NULL
      UNION
      SELECT gm.tenant, gm.user_id FROM unnest(p_tenants, p_users) AS k(t, u)
      JOIN permcache.group_members gm ON gm.tenant = k.t
      WHERE k.u IS NULL
    ) x;
  END IF;
  RETURN QUERY
  WITH RECURSIVE
  k AS (SELECT DISTINCT x.t, x.u FROM unnest(v_t, v_u) AS x(t, u)),
  own AS (
    SELECT m.tenant, m.user_id, m.status, m.starts_at, m.expires_at FROM k
    JOIN permcache.memberships m ON m.tenant = k.t AND m.user_id = k.u
  ),
  -- The active groups of users whose own membership is active or absent (a suspended or
  -- pending one wins over every group), with the own membership's interval (NULL = none).
  grp AS (
    SELECT k.t AS tenant, k.u AS user_id, g.group_id, g.starts_at, g.expires_at,
           o.user_id IS NOT NULL AS has_own, o.starts_at AS own_starts,
           o.expires_at AS own_expires
    FROM k
    JOIN permcache.group_members gm ON gm.tenant = k.t AND gm.user_id = k.u
    JOIN permcache.groups g ON g.tenant = gm.tenant AND g.group_id = gm.group_id
    LEFT JOIN own o ON o.tenant = k.t AND o.user_id = k.u
    WHERE g.status = 'active' AND (o.user_id IS NULL OR o.status = 'active')
  ),
  -- Without an own membership: the active groups in start order, each with the furthest end of
  -- the groups before it ('infinity' = unbounded); a group starting after that end opens a new
  -- run.
  ordered AS (
    SELECT gr.tenant, gr.user_id, gr.starts_at, gr.expires_at,
           max(coalesce(gr.expires_at, 'infinity')) OVER (
             PARTITION BY gr.tenant, gr.user_id ORDER BY gr.starts_at NULLS FIRST, gr.group_id
             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach_before,
           gr.group_id
    FROM grp gr WHERE NOT gr.has_own
  ),
  runs AS (
    SELECT o.tenant, o.user_id, o.starts_at, o.expires_at,
           count(*) FILTER (WHERE coalesce(o.starts_at, '-infinity') > o.reach_before) OVER (
             PARTITION BY o.tenant, o.user_id ORDER BY o.starts_at NULLS FIRST, o.group_id
             ROWS UNBOUNDED PRECEDING) AS run
    FROM ordered o
  ),
  -- Who counts, with the interval of the membership: the own active one, or the first run of
  -- the active groups' intervals.
  mem AS (
    SELECT o.tenant, o.user_id, o.starts_at, o.expires_at FROM own o WHERE o.status = 'active'
    UNION ALL
    SELECT r.tenant, r.user_id,
           CASE WHEN bool_or(r.starts_at IS NULL) THEN NULL ELSE min(r.starts_at) END,
           CASE WHEN bool_or(r.expires_at IS NULL) THEN NULL ELSE max(r.expires_at) END
    FROM runs r WHERE r.run = 0 GROUP BY r.tenant, r.user_id
  ),
  -- Role assignments: the user's own (source = the role) and those of the active groups
  -- (source = 'group:G>R', counting in the group's interval within the own membership's).
  asg AS (
    SELECT ur.tenant, ur.user_id, ur.role, ur.business_unit, ur.role AS source,
           greatest(mem.starts_at, ur.starts_at) AS starts_at,
           least(mem.expires_at, ur.expires_at) AS expires_at
    FROM mem JOIN permcache.user_roles ur
      ON ur.tenant = mem.tenant AND ur.user_id = mem.user_id
    UNION ALL
    SELECT gr.tenant, gr.user_id, r.role, r.business_unit,
           'group:' || gr.group_id || '>' || r.role,
           greatest(gr.own_starts, gr.starts_at), least(gr.own_expires, gr.expires_at)
    FROM grp gr JOIN permcache.group_roles r
      ON r.tenant = gr.tenant AND r.group_id = gr.group_id
  ),
  closure(tenant, assigned, reached) AS (
    SELECT DISTINCT a.tenant, a.role, a.role FROM asg a
    UNION
    SELECT c.tenant, c.assigned, ri.inherits
    FROM closure c JOIN permcache.role_inherits ri
      ON ri.tenant = c.tenant AND ri.role = c.reached
  )
  -- One asg row per (user, source, business unit), so DISTINCT still yields one row per key of
  -- the unique index.
  SELECT DISTINCT a.user_id, a.tenant, a.business_unit, p.policy, p.policy, p.effect,
         p.priority, p.permissions, p.scope, 'role'::text, a.source, a.starts_at, a.expires_at
  FROM asg a
  JOIN closure c ON c.tenant = a.tenant AND c.assigned = a.role
  JOIN permcache.role_policies rp ON rp.tenant = c.tenant AND rp.role = c.reached
  JOIN permcache.policies p ON p.tenant = rp.tenant AND p.policy = rp.policy
  UNION ALL
  SELECT up.user_id, up.tenant, ''::text, p.policy, p.policy, p.effect, p.priority,
         p.permissions, p.scope, 'direct'::text, p.policy,
         greatest(mem.starts_at, up.starts_at), least(mem.expires_at, up.expires_at)
  FROM mem
  JOIN permcache.user_policies up ON up.tenant = mem.tenant AND up.user_id = mem.user_id
  JOIN permcache.policies p ON p.tenant = up.tenant AND p.policy = up.policy
  UNION ALL
  SELECT gr.user_id, gr.tenant, ''::text, p.policy, p.policy, p.effect, p.priority,
         p.permissions, p.scope, 'role'::text, 'group:' || gr.group_id,
         greatest(gr.own_starts, gr.starts_at), least(gr.own_expires, gr.expires_at)
  FROM grp gr
  JOIN permcache.group_policies gp ON gp.tenant = gr.tenant AND gp.group_id = gr.group_id
  JOIN permcache.policies p ON p.tenant = gp.tenant AND p.policy = gp.policy;
END
$fn$;

-- 004's recompute-and-diff; a tenant-wide key also covers the tenant's group members.
CREATE OR REPLACE FUNCTION permcache.pc_refresh_effective(p_tenants text[], p_users text[],
                                                          p_limit bigint)
RETURNS bigint
LANGUAGE plpgsql SET search_path = permcache, pg_temp
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_t text[];
  v_u text[];
  v_fresh permcache.user_effective_policies[];
BEGIN
  IF array_position(p_users, NULL) IS NULL THEN
    v_t := p_tenants;
    v_u := p_users;
  ELSE
    WITH k AS (SELECT DISTINCT x.t, x.u FROM unnest(p_tenants, p_users) AS x(t, u)),
    x AS (
      SELECT k.t, k.u FROM k WHERE k.u IS NOT NULL
      UNION
      SELECT m.tenant, m.user_id FROM k JOIN permcache.memberships m ON m.tenant = k.t
      WHERE k.u IS NULL
      UNION
      SELECT gm.tenant, gm.user_id FROM k JOIN permcache.group_members gm ON gm.tenant = k.t
      WHERE k.u IS NULL
      UNION
      SELECT e.organization_id, e.user_id FROM k JOIN permcache.user_effective_policies e
        ON e.organization_id = k.t
      WHERE k.u IS NULL
    )
    SELECT coalesce(array_agg(x.t), '{}'), coalesce(array_agg(x.u), '{}') INTO v_t, v_u FROM x;
  END IF;

  IF p_limit IS NOT NULL AND cardinality(v_t) > p_limit THEN RETURN -1; END IF;
  IF coalesce(cardinality(v_t), 0) = 0 THEN RETURN 0; END IF;

  v_fresh := ARRAY(SELECT r FROM permcache.pc_effective_rows_for(v_t, v_u) r);

  DELETE FROM permcache.user_effective_policies e
  USING (
    SELECT o.organization_id, o.user_id, o.business_unit_id, o.policy_id, o.assignment_type,
           o.source_id
    FROM permcache.user_effective_policies o
    JOIN unnest(v_t, v_u) AS k(t, u) ON o.organization_id = k.t AND o.user_id = k.u
    EXCEPT
    SELECT f.organization_id, f.user_id, f.business_unit_id, f.policy_id, f.assignment_type,
           f.source_id
    FROM unnest(v_fresh) f
  ) gone
  WHERE e.organization_id = gone.organization_id AND e.user_id = gone.user_id
    AND e.business_unit_id = gone.business_unit_id AND e.policy_id = gone.policy_id
    AND e.assignment_type = gone.assignment_type AND e.source_id = gone.source_id;

  INSERT INTO permcache.user_effective_policies AS o
    (user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority,
     resources, scope, assignment_type, source_id, starts_at, expires_at)
  SELECT n.user_id, n.organization_id, n.business_unit_id, n.policy_id, n.policy_name,
         n.effect, n.priority, n.resources, n.scope, n.assignment_type, n.source_id,
         n.starts_at, n.expires_at
  FROM unnest(v_fresh) n
  ON CONFLICT (organization_id, user_id, business_unit_id, policy_id, assignment_type, source_id)
  DO UPDATE SET policy_name = EXCLUDED.policy_name, effect = EXCLUDED.effect,
                priority = EXCLUDED.priority, resources = EXCLUDED.resources,
                scope = EXCLUDED.scope, starts_at = EXCLUDED.starts_at,
                expires_at = EXCLUDED.expires_at
  WHERE (o.policy_name, o.effect, o.priority, o.resources, o.scope, o.starts_at, o.expires_at)
        IS DISTINCT FROM (EXCLUDED.policy_name, EXCLUDED.effect, EXCLUDED.priority,
                          EXCLUDED.resources, EXCLUDED.scope, EXCLUDED.starts_at,
                          EXCLUDED.expires_at);

  RETURN cardinality(v_t);
END
$fn$;
