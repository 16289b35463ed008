-- permcache PostgreSQL schema, migration 1 (DESIGN.md section 6, research/postgres.md section 7).
--
-- Runs inside one transaction after `CREATE SCHEMA IF NOT EXISTS permcache`. Every name is
-- qualified with `permcache.` and every function pins `search_path = permcache, pg_temp`, so the
-- search_path of another application that writes these tables cannot change what a trigger does.
--
-- Overview
--   * Model tables (contract): tenants, business_units, memberships, roles, role_inherits,
--     policies, role_policies, user_roles, user_policies. CHECK constraints refuse bad ids,
--     patterns, effects and statuses (SQLSTATE 23514); BEFORE row triggers name missing
--     references with the exact texts of the C++ stores (SQLSTATE 23503); a statement trigger
--     refuses inheritance cycles (23514) with the path the C++ breadth-first walk reports.
--   * Capture: statement-level AFTER triggers with transition tables (one static-SQL function per
--     table, pc_capture_<table>) record the changed keys of every writer (permcache or any other
--     application) in the transaction-private pc_pending (or, under SERIALIZABLE, in a
--     transaction-local setting, see pc_record_tenants), and arm one deferred constraint
--     trigger per transaction (pc_txn_marker). BEFORE TRUNCATE triggers record every tenant
--     that has rows in the truncated table (READ COMMITTED only). At commit the commit step
--     takes the revision lock, allocates the revision, writes pc_revisions + pc_changelog,
--     maintains user_effective_policies and sends NOTIFY permcache '<revision>'.
--     Changelog rows are (tenant, user) or (tenant, NULL) = every user of the tenant; there is
--     no "every tenant" row.
--   * permcache's own batches end with `SELECT * FROM permcache.pc_finish()` (always a revision).
--   * Head revision: SELECT coalesce(max(revision), 0) FROM permcache.pc_revisions.
--   * Retention: prune_changelog(keep, max_rows) deletes old revisions (never the head);
--     oldest_revision() tells a reader whether its cursor is still covered.
--   * store_epoch(): store_id:system_identifier:timeline_id, changes when the store is replaced.
--
-- user_roles carries one extra column, business_unit_ref = NULLIF(business_unit, '') (generated),
-- so that a real foreign key with ON DELETE CASCADE ties BU-scoped assignments to their business
-- unit (an empty business_unit = everywhere in the tenant is not checked).

-- ---------------------------------------------------------------------------------------------
-- Validation helpers

CREATE FUNCTION permcache.valid_patterns(p text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = permcache, pg_temp
AS $fn$
  SELECT p IS NOT NULL
     AND array_ndims(p) = 1
     AND cardinality(p) BETWEEN 1 AND 256
     AND NOT EXISTS (
       SELECT 1 FROM unnest(p) AS e(v)
       WHERE e.v IS NULL
          OR length(e.v) > 256
          OR e.v !~ '^([a-z0-9_.-]+|\*)(:([a-z0-9_.-]+|\*))*$')
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Model tables

CREATE TABLE permcache.tenants (
  tenant text NOT NULL,
  CONSTRAINT tenants_pkey PRIMARY KEY (tenant),
  CONSTRAINT tenants_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$')
);

CREATE TABLE permcache.business_units (
  tenant text NOT NULL,
  business_unit text NOT NULL,
  CONSTRAINT business_units_pkey PRIMARY KEY (tenant, business_unit),
  CONSTRAINT business_units_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT business_units_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT business_units_business_unit_check
    CHECK (business_unit ~ '^[A-Za-z0-9._@-]{1,128}$')
);

CREATE TABLE permcache.memberships (
  tenant text NOT NULL,
  user_id text NOT NULL,
  status text NOT NULL,
  CONSTRAINT memberships_pkey PRIMARY KEY (tenant, user_id),
  CONSTRAINT memberships_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT memberships_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT memberships_user_id_check CHECK (user_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  -- Named so that a later migration can replace it (issue 8 adds 'pending').
  CONSTRAINT memberships_status_check CHECK (status IN ('active', 'suspended'))
);

CREATE TABLE permcache.roles (
  tenant text NOT NULL,
  role text NOT NULL,
  CONSTRAINT roles_pkey PRIMARY KEY (tenant, role),
  CONSTRAINT roles_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT roles_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT roles_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$')
);

-- "role inherits X": role gets X's policies. position = order in the role's inherits list.
CREATE TABLE permcache.role_inherits (
  tenant text NOT NULL,
  role text NOT NULL,
  inherits text NOT NULL,
  position integer NOT NULL DEFAULT 0,
  CONSTRAINT role_inherits_pkey PRIMARY KEY (tenant, role, inherits),
  CONSTRAINT role_inherits_role_fkey FOREIGN KEY (tenant, role)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT role_inherits_inherits_fkey FOREIGN KEY (tenant, inherits)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT role_inherits_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT role_inherits_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT role_inherits_inherits_check CHECK (inherits ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX role_inherits_tenant_inherits_idx ON permcache.role_inherits (tenant, inherits);

CREATE TABLE permcache.policies (
  tenant text NOT NULL,
  policy text NOT NULL,
  effect text NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  permissions text[] NOT NULL,
  scope text NULL,  -- NULL = unscoped
  CONSTRAINT policies_pkey PRIMARY KEY (tenant, policy),
  CONSTRAINT policies_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT policies_scope_fkey FOREIGN KEY (tenant, scope)
    REFERENCES permcache.business_units (tenant, business_unit) ON DELETE CASCADE,
  CONSTRAINT policies_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT policies_policy_check CHECK (policy ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT policies_scope_check CHECK (scope ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT policies_effect_check CHECK (effect IN ('allow', 'deny')),
  CONSTRAINT policies_permissions_check CHECK (permcache.valid_patterns(permissions))
);
CREATE INDEX policies_tenant_scope_idx ON permcache.policies (tenant, scope)
  WHERE scope IS NOT NULL;

CREATE TABLE permcache.role_policies (
  tenant text NOT NULL,
  role text NOT NULL,
  policy text NOT NULL,
  CONSTRAINT role_policies_pkey PRIMARY KEY (tenant, role, policy),
  CONSTRAINT role_policies_role_fkey FOREIGN KEY (tenant, role)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT role_policies_policy_fkey FOREIGN KEY (tenant, policy)
    REFERENCES permcache.policies (tenant, policy) ON DELETE CASCADE,
  CONSTRAINT role_policies_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT role_policies_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT role_policies_policy_check CHECK (policy ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX role_policies_tenant_policy_idx ON permcache.role_policies (tenant, policy);

CREATE TABLE permcache.user_roles (
  tenant text NOT NULL,
  user_id text NOT NULL,
  role text NOT NULL,
  business_unit text NOT NULL DEFAULT '',  -- '' = everywhere in the tenant
  -- Not part of the contract: lets a foreign key cascade BU deletions (NULL = not checked).
  business_unit_ref text GENERATED ALWAYS AS (NULLIF(business_unit, '')) STORED,
  CONSTRAINT user_roles_pkey PRIMARY KEY (tenant, user_id, role, business_unit),
  CONSTRAINT user_roles_role_fkey FOREIGN KEY (tenant, role)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT user_roles_business_unit_fkey FOREIGN KEY (tenant, business_unit_ref)
    REFERENCES permcache.business_units (tenant, business_unit) ON DELETE CASCADE,
  CONSTRAINT user_roles_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT user_roles_user_id_check CHECK (user_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT user_roles_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT user_roles_business_unit_check
    CHECK (business_unit = '' OR business_unit ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX user_roles_tenant_role_idx ON permcache.user_roles (tenant, role);
-- On the generated column: it serves the ON DELETE CASCADE of business units and
-- `WHERE tenant = $1 AND business_unit_ref = $2` lookups (business_unit_ref = business_unit for
-- every non-empty business_unit).
CREATE INDEX user_roles_tenant_business_unit_idx
  ON permcache.user_roles (tenant, business_unit_ref);

CREATE TABLE permcache.user_policies (
  tenant text NOT NULL,
  user_id text NOT NULL,
  policy text NOT NULL,
  CONSTRAINT user_policies_pkey PRIMARY KEY (tenant, user_id, policy),
  CONSTRAINT user_policies_policy_fkey FOREIGN KEY (tenant, policy)
    REFERENCES permcache.policies (tenant, policy) ON DELETE CASCADE,
  CONSTRAINT user_policies_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT user_policies_user_id_check CHECK (user_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT user_policies_policy_check CHECK (policy ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX user_policies_tenant_policy_idx ON permcache.user_policies (tenant, policy);

-- ---------------------------------------------------------------------------------------------
-- Effective table (seed 003's columns), kept current by the commit step

CREATE TABLE permcache.user_effective_policies (
  user_id text NOT NULL,
  organization_id text NOT NULL,            -- = tenant
  business_unit_id text NOT NULL DEFAULT '', -- the assignment's business unit ('' = everywhere)
  policy_id text NOT NULL,
  policy_name text NOT NULL,                 -- = policy id
  effect text NOT NULL,
  priority integer NOT NULL,
  resources text[] NOT NULL,                 -- = permissions
  scope text NULL,                           -- the policy's scope
  assignment_type text NOT NULL,             -- 'role' | 'direct'
  source_id text NOT NULL                    -- assigned role ('role') or policy id ('direct')
);
CREATE UNIQUE INDEX user_effective_policies_key_idx ON permcache.user_effective_policies
  (organization_id, user_id, business_unit_id, policy_id, assignment_type, source_id);
CREATE INDEX user_effective_policies_user_idx
  ON permcache.user_effective_policies (user_id, organization_id);

-- Keys whose effective rows are behind (a deferred window): written instead of maintaining the
-- table when a commit would recompute more than 10000 users or did not run READ COMMITTED.
CREATE TABLE permcache.pc_effective_queue (
  revision bigint NOT NULL,
  tenant text NOT NULL,
  user_id text NULL  -- NULL = every user of tenant
);
CREATE INDEX pc_effective_queue_revision_idx ON permcache.pc_effective_queue (revision);

-- ---------------------------------------------------------------------------------------------
-- Revisions and changelog

CREATE SEQUENCE permcache.pc_revision_seq AS bigint START 1 CACHE 1 NO CYCLE;

CREATE TABLE permcache.pc_revisions (
  revision bigint NOT NULL,
  committed_at_ms bigint NOT NULL,
  isolation text NOT NULL,
  CONSTRAINT pc_revisions_pkey PRIMARY KEY (revision)
);

-- user_id NULL = every user of tenant (a tenant-wide row swallows the tenant's user rows).
CREATE TABLE permcache.pc_changelog (
  revision bigint NOT NULL,
  tenant text NOT NULL,
  user_id text NULL,
  CONSTRAINT pc_changelog_revision_fkey FOREIGN KEY (revision)
    REFERENCES permcache.pc_revisions (revision) ON DELETE CASCADE
);
CREATE INDEX pc_changelog_revision_idx ON permcache.pc_changelog (revision);

CREATE TABLE permcache.pc_meta (
  key text NOT NULL,
  value text,
  CONSTRAINT pc_meta_pkey PRIMARY KEY (key)
);
INSERT INTO permcache.pc_meta (key, value) VALUES
  ('store_id', gen_random_uuid()::text),
  ('effective_revision', '0'),
  ('oldest_revision', '1');  -- see oldest_revision(); written only by prune_changelog

-- Keys changed by the running transaction. Rows never commit: the commit step deletes them.
-- txid is part of the unique key so that two transactions recording the same key never wait
-- for each other (a unique-index conflict with an uncommitted row would block, and could
-- deadlock two unrelated writers).
CREATE UNLOGGED TABLE permcache.pc_pending (
  txid bigint NOT NULL DEFAULT txid_current(),
  kind text NOT NULL,   -- 'user' | 'role' | 'policy' | 'tenant'
  tenant text NOT NULL,
  key text NOT NULL,    -- user id / role / policy; '' for 'tenant'
  CONSTRAINT pc_pending_key UNIQUE (txid, kind, tenant, key)
);

-- One row per transaction that recorded keys; its deferred trigger runs the commit step.
CREATE UNLOGGED TABLE permcache.pc_txn_marker (
  txid bigint NOT NULL DEFAULT txid_current(),
  CONSTRAINT pc_txn_marker_pkey PRIMARY KEY (txid)
);

-- ---------------------------------------------------------------------------------------------
-- Reference checks (BEFORE INSERT OR UPDATE, row level), exact messages of the C++ stores

-- One function per table shape, static SQL only (PL/pgSQL caches every lookup's plan). An
-- UPDATE that leaves the referencing columns alone checks nothing. An invalid id skips the
-- checks so that the CHECK constraint refuses the row with 23514 (as the C++ validation would,
-- before any lookup); the id pattern is written out (a helper function would cost a function
-- call per row). Order of the checks: tenant, then role(s), then policy / business unit.

-- business_units, memberships, roles: the tenant.
CREATE FUNCTION permcache.pc_check_refs_tenant() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.tenant IS NOT DISTINCT FROM OLD.tenant THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$', false) THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_policies() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.scope) IS NOT DISTINCT FROM (OLD.tenant, OLD.scope)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$', false)
     OR (NEW.scope IS NOT NULL AND NOT NEW.scope ~ '^[A-Za-z0-9._@-]{1,128}$')
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  IF NEW.scope IS NOT NULL THEN
    PERFORM 1 FROM permcache.business_units b
      WHERE b.tenant = NEW.tenant AND b.business_unit = NEW.scope;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
        MESSAGE = 'business unit ''' || NEW.scope || ''' does not exist in tenant '''
                  || NEW.tenant || '''';
    END IF;
  END IF;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_role_inherits() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.role, NEW.inherits)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.role, OLD.inherits)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.role ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.inherits ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.roles r WHERE r.tenant = NEW.tenant AND r.role = NEW.role;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'role ''' || NEW.role || ''' does not exist in tenant ''' || NEW.tenant || '''';
  END IF;
  PERFORM 1 FROM permcache.roles r WHERE r.tenant = NEW.tenant AND r.role = NEW.inherits;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'role ''' || NEW.inherits || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_role_policies() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.role, NEW.policy)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.role, OLD.policy)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.role ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.policy ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.roles r WHERE r.tenant = NEW.tenant AND r.role = NEW.role;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'role ''' || NEW.role || ''' does not exist in tenant ''' || NEW.tenant || '''';
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

CREATE FUNCTION permcache.pc_check_refs_user_roles() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.role, NEW.business_unit)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.role, OLD.business_unit)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.role ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND (NEW.business_unit = '' OR NEW.business_unit ~ '^[A-Za-z0-9._@-]{1,128}$'),
                  false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
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

CREATE FUNCTION permcache.pc_check_refs_user_policies() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.policy) IS NOT DISTINCT FROM (OLD.tenant, OLD.policy)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$'
                  AND NEW.policy ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
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

CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.business_units
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.memberships
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.roles
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.role_inherits
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_role_inherits();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.policies
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_policies();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.role_policies
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_role_policies();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.user_roles
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_user_roles();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.user_policies
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_user_policies();

-- ---------------------------------------------------------------------------------------------
-- Inheritance cycles

-- The cycle path exactly as the C++ stores name it: breadth-first from `p_role`'s parents (in
-- position order), first hit wins. NULL when `p_role` is not reachable from its parents.
CREATE FUNCTION permcache.pc_cycle_path(p_tenant text, p_role text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_reached_from jsonb := '{}';
  v_queue text[] := '{}';
  v_head integer := 1;
  v_current text;
  v_next text;
  v_x text;
  v_chain text[];
  v_path text;
BEGIN
  FOR v_next IN
    SELECT ri.inherits FROM permcache.role_inherits ri
    WHERE ri.tenant = p_tenant AND ri.role = p_role ORDER BY ri.position, ri.inherits
  LOOP
    IF v_next = p_role THEN RETURN p_role || '>' || p_role; END IF;
    IF NOT v_reached_from ? v_next THEN
      v_reached_from := v_reached_from || jsonb_build_object(v_next, p_role);
      v_queue := v_queue || v_next;
    END IF;
  END LOOP;
  WHILE v_head <= cardinality(v_queue) LOOP
    v_current := v_queue[v_head];
    v_head := v_head + 1;
    FOR v_next IN
      SELECT ri.inherits FROM permcache.role_inherits ri
      WHERE ri.tenant = p_tenant AND ri.role = v_current ORDER BY ri.position, ri.inherits
    LOOP
      IF v_next = p_role THEN
        v_chain := '{}';
        v_x := v_current;
        WHILE v_x <> p_role LOOP
          v_chain := v_x || v_chain;  -- prepend: the chain ends up reversed
          v_x := v_reached_from ->> v_x;
        END LOOP;
        v_path := p_role;
        FOREACH v_x IN ARRAY v_chain LOOP v_path := v_path || '>' || v_x; END LOOP;
        RETURN v_path || '>' || p_role;
      END IF;
      IF NOT v_reached_from ? v_next THEN
        v_reached_from := v_reached_from || jsonb_build_object(v_next, v_current);
        v_queue := v_queue || v_next;
      END IF;
    END LOOP;
  END LOOP;
  RETURN NULL;
END
$fn$;

-- AFTER INSERT / UPDATE statement trigger on role_inherits: for each distinct (tenant, role) of
-- the new rows, is `role` reachable from its parents? The per-tenant advisory lock (taken in
-- tenant order) makes two READ COMMITTED transactions that each add half of a cycle run one
-- after the other; the second one's statements then see the first one's edge.
CREATE FUNCTION permcache.pc_role_inherits_no_cycle() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_tenant text;
  v_role text;
  v_path text;
  v_reachable boolean;
BEGIN
  FOR v_tenant IN SELECT DISTINCT n.tenant FROM new_rows n ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(hashtextextended('permcache.role_graph:' || v_tenant, 0));
  END LOOP;
  FOR v_tenant, v_role IN SELECT DISTINCT n.tenant, n.role FROM new_rows n ORDER BY 1, 2 LOOP
    -- Cheap set-based test first (UNION terminates on any graph); the walk only on failure.
    WITH RECURSIVE up(r) AS (
      SELECT ri.inherits FROM permcache.role_inherits ri
      WHERE ri.tenant = v_tenant AND ri.role = v_role
      UNION
      SELECT ri.inherits FROM up JOIN permcache.role_inherits ri
        ON ri.tenant = v_tenant AND ri.role = up.r
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE up.r = v_role) INTO v_reachable;
    IF v_reachable THEN
      v_path := permcache.pc_cycle_path(v_tenant, v_role);
      RAISE EXCEPTION USING ERRCODE = 'check_violation',
        MESSAGE = 'role inheritance cycle: ' || coalesce(v_path, v_role || '>' || v_role);
    END IF;
  END LOOP;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER pc_no_cycle_insert AFTER INSERT ON permcache.role_inherits
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION permcache.pc_role_inherits_no_cycle();
CREATE TRIGGER pc_no_cycle_update AFTER UPDATE ON permcache.role_inherits
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION permcache.pc_role_inherits_no_cycle();

-- ---------------------------------------------------------------------------------------------
-- Capture

-- Arms the per-transaction deferred commit step (once per transaction, and again after a
-- commit step ran early, e.g. pc_finish()). The marker's ctid is remembered in a transaction-
-- local setting so the commit step can delete it by TID: no index read, hence no SSI predicate
-- lock that could make two unrelated SERIALIZABLE writers fail each other with 40001.
CREATE FUNCTION permcache.pc_arm() RETURNS void
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_ctid tid;
BEGIN
  IF coalesce(current_setting('permcache.marker', true), '') <> '' THEN RETURN; END IF;
  INSERT INTO permcache.pc_txn_marker AS m DEFAULT VALUES ON CONFLICT DO NOTHING
    RETURNING m.ctid INTO v_ctid;
  IF v_ctid IS NOT NULL THEN
    PERFORM set_config('permcache.marker', v_ctid::text, true);
  END IF;
END
$fn$;

-- SERIALIZABLE transactions record only the set of tenants (the commit step writes tenant-wide
-- rows for them) in the transaction-local setting permcache.pending_tenants: reading pc_pending
-- back through its index would take SSI predicate locks that make concurrent SERIALIZABLE
-- writers of other applications fail each other with 40001. Other levels use pc_pending.
CREATE FUNCTION permcache.pc_record_tenants(p_tenants text[]) RETURNS void
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_cur text[];
  v_all text[];
BEGIN
  IF p_tenants IS NULL OR cardinality(p_tenants) = 0 THEN RETURN; END IF;
  v_cur := coalesce(nullif(current_setting('permcache.pending_tenants', true), '')::text[],
                    '{}');
  SELECT array_agg(DISTINCT x ORDER BY x) INTO v_all FROM unnest(v_cur || p_tenants) AS u(x);
  PERFORM set_config('permcache.pending_tenants', v_all::text, true);
  PERFORM permcache.pc_arm();
END
$fn$;

-- Statement-level AFTER INSERT / UPDATE / DELETE triggers: one function per model table except
-- roles (a role's own row changes nothing; its deletion cascades into the captured tables),
-- permcache.pc_capture_<table>(), generated below from one template so that every function is
-- plain static SQL over the transition tables new_rows / old_rows (PL/pgSQL keeps the plans).
-- Only rows that really changed count: for UPDATE the rows of `new EXCEPT old` and
-- `old EXCEPT new` (old and new keys), so an UPDATE to the same value records nothing. More than
-- 10000 keys of one tenant in one statement are recorded as the whole tenant. Keys: tenants and
-- business_units -> ('tenant', tenant, ''); memberships, user_roles, user_policies -> ('user',
-- tenant, user_id); role_inherits, role_policies -> ('role', tenant, role); policies ->
-- ('policy', tenant, policy). SERIALIZABLE: only the tenants (pc_record_tenants).
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
      ('tenants',        'tenant', $$''$$),
      ('business_units', 'tenant', $$''$$),
      ('memberships',    'user',   'c.user_id'),
      ('role_inherits',  'role',   'c.role'),
      ('policies',       'policy', 'c.policy'),
      ('role_policies',  'role',   'c.role'),
      ('user_roles',     'user',   'c.user_id'),
      ('user_policies',  'user',   'c.user_id')) AS t(tbl, kind, keyexpr)
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

-- BEFORE TRUNCATE statement trigger of every model table (roles included): records the whole
-- tenant ('tenant', tenant, '') for every distinct tenant that has rows in the table right now
-- (a skip scan over the primary key, whose first column is tenant), so an empty table records
-- nothing. TRUNCATE ... CASCADE fires the BEFORE triggers of every table it truncates before it
-- truncates any, so each of them still sees its rows. TRUNCATE is rare: dynamic SQL is fine.
-- READ COMMITTED only: the table is locked (ACCESS EXCLUSIVE) before the trigger runs, so a
-- fresh statement snapshot sees every row TRUNCATE removes; an older transaction snapshot
-- (REPEATABLE READ / SERIALIZABLE) may not see rows committed since, whose tenants would be
-- missed, hence the error (25000).
CREATE FUNCTION permcache.pc_capture_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_n bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_transaction_state',
      MESSAGE = 'TRUNCATE of permcache.' || TG_TABLE_NAME || ' requires READ COMMITTED',
      HINT = 'Under REPEATABLE READ / SERIALIZABLE use DELETE.';
  END IF;
  EXECUTE format(
    'WITH RECURSIVE t(tenant) AS ('
    '  (SELECT x.tenant FROM permcache.%1$I x ORDER BY x.tenant LIMIT 1)'
    '  UNION ALL'
    '  SELECT (SELECT x.tenant FROM permcache.%1$I x WHERE x.tenant > t.tenant'
    '          ORDER BY x.tenant LIMIT 1)'
    '  FROM t WHERE t.tenant IS NOT NULL) '
    'INSERT INTO permcache.pc_pending (kind, tenant, key) '
    'SELECT ''tenant'', t.tenant, '''' FROM t WHERE t.tenant IS NOT NULL '
    'ON CONFLICT DO NOTHING', TG_TABLE_NAME);
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n > 0 THEN PERFORM permcache.pc_arm(); END IF;
  RETURN NULL;
END
$fn$;

DO $do$
DECLARE
  v_tbl text;
BEGIN
  FOREACH v_tbl IN ARRAY ARRAY['tenants', 'business_units', 'memberships', 'roles',
                               'role_inherits', 'policies', 'role_policies', 'user_roles',
                               'user_policies']
  LOOP
    EXECUTE format('CREATE TRIGGER pc_capture_truncate BEFORE TRUNCATE ON permcache.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION permcache.pc_capture_truncate()',
                   v_tbl);
  END LOOP;
END
$do$;

-- ---------------------------------------------------------------------------------------------
-- Effective rows

-- From-scratch rows for (tenant, user) pairs: p_users[i] NULL = every user of p_tenants[i].
-- Active members only. PL/pgSQL, not SQL: a SQL function with SET is planned on every call
-- (~1 ms for this query), PL/pgSQL keeps the plan. The closure walk uses UNION over
-- (assigned role, reached role), so diamonds and damaged (cyclic) graphs terminate.
CREATE FUNCTION permcache.pc_effective_rows_for(p_tenants text[], p_users text[])
RETURNS SETOF permcache.user_effective_policies
LANGUAGE plpgsql STABLE SET search_path = permcache, pg_temp
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_t text[] := p_tenants;
  v_u text[] := p_users;
BEGIN
  -- Tenant-wide keys (NULL user) become explicit (tenant, user) pairs first, in a statement of
  -- their own: one query serving both shapes would be planned for the tenant-wide one and scan
  -- whole tables for a single user (seen: 45 ms per write at 100k users).
  IF array_position(p_users, NULL) IS NOT NULL THEN
    SELECT coalesce(array_agg(x.t), '{}'), coalesce(array_agg(x.u), '{}') INTO v_t, v_u
    FROM (
      SELECT k.t, k.u FROM unnest(p_tenants, p_users) AS k(t, u) WHERE k.u IS NOT NULL
      UNION
      SELECT m.tenant, m.user_id FROM unnest(p_tenants, p_users) AS k(t, u)
      JOIN permcache.memberships m ON m.tenant = k.t
      WHERE k.u IS NULL
    ) x;
  END IF;
  RETURN QUERY
  WITH RECURSIVE
  k AS (SELECT DISTINCT x.t, x.u FROM unnest(v_t, v_u) AS x(t, u)),
  mem AS (
    SELECT m.tenant, m.user_id FROM k JOIN permcache.memberships m
      ON m.tenant = k.t AND m.user_id = k.u
    WHERE m.status = 'active'
  ),
  asg AS (
    SELECT ur.tenant, ur.user_id, ur.role, ur.business_unit
    FROM mem JOIN permcache.user_roles ur
      ON ur.tenant = mem.tenant AND ur.user_id = mem.user_id
  ),
  closure(tenant, assigned, reached) AS (
    SELECT DISTINCT a.tenant, a.role, a.role FROM asg a
    UNION
    SELECT c.tenant, c.assigned, ri.inherits
    FROM closure c JOIN permcache.role_inherits ri
      ON ri.tenant = c.tenant AND ri.role = c.reached
  )
  SELECT DISTINCT a.user_id, a.tenant, a.business_unit, p.policy, p.policy, p.effect,
         p.priority, p.permissions, p.scope, 'role'::text, a.role
  FROM asg a
  JOIN closure c ON c.tenant = a.tenant AND c.assigned = a.role
  JOIN permcache.role_policies rp ON rp.tenant = c.tenant AND rp.role = c.reached
  JOIN permcache.policies p ON p.tenant = rp.tenant AND p.policy = rp.policy
  UNION ALL
  SELECT up.user_id, up.tenant, ''::text, p.policy, p.policy, p.effect, p.priority,
         p.permissions, p.scope, 'direct'::text, p.policy
  FROM mem
  JOIN permcache.user_policies up ON up.tenant = mem.tenant AND up.user_id = mem.user_id
  JOIN permcache.policies p ON p.tenant = up.tenant AND p.policy = up.policy;
END
$fn$;

-- From-scratch rows of one tenant's users (p_users NULL = every user of the tenant;
-- p_tenant NULL = every tenant).
CREATE FUNCTION permcache.pc_effective_rows(p_tenant text, p_users text[])
RETURNS SETOF permcache.user_effective_policies
LANGUAGE sql STABLE SET search_path = permcache, pg_temp
AS $fn$
  SELECT * FROM permcache.pc_effective_rows_for(
    CASE WHEN p_users IS NOT NULL THEN array_fill(p_tenant, ARRAY[cardinality(p_users)])
         WHEN p_tenant IS NOT NULL THEN ARRAY[p_tenant]
         ELSE ARRAY(SELECT t.tenant FROM permcache.tenants t) END,
    CASE WHEN p_users IS NOT NULL THEN p_users
         WHEN p_tenant IS NOT NULL THEN ARRAY[NULL::text]
         ELSE ARRAY(SELECT NULL::text FROM permcache.tenants t) END)
$fn$;

-- Recompute-and-diff user_effective_policies for the (tenant, user) keys (user NULL = every
-- user of the tenant that has a membership or rows). Deletes rows no
-- longer produced, inserts new ones, leaves unchanged rows alone. When p_limit is not NULL and
-- more users than p_limit would be recomputed, does nothing and returns -1; else returns the
-- number of users recomputed. Caller holds the revision lock and runs READ COMMITTED.
CREATE FUNCTION permcache.pc_refresh_effective(p_tenants text[], p_users text[], p_limit bigint)
RETURNS bigint
LANGUAGE plpgsql SET search_path = permcache, pg_temp
-- Generic plans: the arrays' contents would otherwise make PL/pgSQL re-plan every statement on
-- every call (about 1 ms per write); index nested loops suit 1 and 10,000 users alike.
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  v_t text[];
  v_u text[];
  v_fresh permcache.user_effective_policies[];
BEGIN
  IF array_position(p_users, NULL) IS NULL THEN
    -- The common case (every key names its user): no tenant scan at all.
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
      SELECT e.organization_id, e.user_id FROM k JOIN permcache.user_effective_policies e
        ON e.organization_id = k.t
      WHERE k.u IS NULL
    )
    SELECT coalesce(array_agg(x.t), '{}'), coalesce(array_agg(x.u), '{}') INTO v_t, v_u FROM x;
  END IF;

  IF p_limit IS NOT NULL AND cardinality(v_t) > p_limit THEN RETURN -1; END IF;
  IF coalesce(cardinality(v_t), 0) = 0 THEN RETURN 0; END IF;

  v_fresh := ARRAY(SELECT r FROM permcache.pc_effective_rows_for(v_t, v_u) r);

  -- Rows of these users whose key is no longer produced (EXCEPT: a set operation, so a
  -- 10,000-user window stays linear rather than comparing every row with every fresh row).
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

  -- New keys are inserted; existing ones are rewritten only when a column differs.
  INSERT INTO permcache.user_effective_policies AS o
    (user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority,
     resources, scope, assignment_type, source_id)
  SELECT n.user_id, n.organization_id, n.business_unit_id, n.policy_id, n.policy_name,
         n.effect, n.priority, n.resources, n.scope, n.assignment_type, n.source_id
  FROM unnest(v_fresh) n
  ON CONFLICT (organization_id, user_id, business_unit_id, policy_id, assignment_type, source_id)
  DO UPDATE SET policy_name = EXCLUDED.policy_name, effect = EXCLUDED.effect,
                priority = EXCLUDED.priority, resources = EXCLUDED.resources,
                scope = EXCLUDED.scope
  WHERE (o.policy_name, o.effect, o.priority, o.resources, o.scope)
        IS DISTINCT FROM (EXCLUDED.policy_name, EXCLUDED.effect, EXCLUDED.priority,
                          EXCLUDED.resources, EXCLUDED.scope);

  RETURN cardinality(v_t);
END
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Commit step

-- The commit step of the running transaction. Called by the deferred trigger on pc_txn_marker
-- (force = false: does nothing, and takes no lock, when the transaction recorded no keys) and
-- by pc_finish() (force = true: always allocates a revision).
--
-- Returns the changelog rows written for the new revision. A revision with no keys (a forced
-- revision for a batch that changed nothing) writes no changelog row and returns ONE row
-- (revision, NULL, NULL), which is not stored, so the caller always learns the revision.
-- Returns no rows only when nothing was pending and force is false.
--
-- Under READ COMMITTED keys are resolved to (tenant, user) after the revision lock (each
-- statement sees every earlier commit, and no other capture commits until this one does), and
-- user_effective_policies is maintained for those users (> 10000 users: queued instead). Under
-- REPEATABLE READ / SERIALIZABLE the snapshot predates the lock: every tenant named by a key
-- gets a tenant-wide row and the effective work is queued (apply_effective_queue).
-- No UPDATE of any shared row happens here (it would raise 40001 in other apps' REPEATABLE READ
-- transactions).
CREATE FUNCTION permcache.pc_commit_step(force boolean)
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
    hits AS (
      SELECT r.tenant, r.kind, r.key, ur.user_id FROM reach r
      JOIN permcache.user_roles ur ON ur.tenant = r.tenant AND ur.role = r.role
      UNION
      SELECT k.tenant, k.kind, k.key, up.user_id FROM k
      JOIN permcache.user_policies up ON up.tenant = k.tenant AND up.policy = k.key
      WHERE k.kind = 'policy'
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

-- permcache's own batches: `BEGIN; <changes>; SELECT * FROM permcache.pc_finish(); COMMIT`.
-- Always allocates a revision; see pc_commit_step for the rows returned.
CREATE FUNCTION permcache.pc_finish()
RETURNS TABLE(revision bigint, tenant text, user_id text)
LANGUAGE sql SET search_path = permcache, pg_temp
AS $fn$
  SELECT * FROM permcache.pc_commit_step(true)
$fn$;

CREATE FUNCTION permcache.pc_commit_trigger() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  PERFORM permcache.pc_commit_step(false);
  RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER pc_commit AFTER INSERT ON permcache.pc_txn_marker
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_commit_trigger();

-- ---------------------------------------------------------------------------------------------
-- Deferred effective work, status, reconcile

-- Processes the oldest `max_revisions` queued revisions (recompute of their keys against the
-- current state), deletes them from the queue and returns the revision up to which
-- user_effective_policies is current (head when the queue is empty, else the oldest still
-- queued revision - 1). Takes the revision lock; requires READ COMMITTED.
CREATE FUNCTION permcache.apply_effective_queue(max_revisions integer) RETURNS bigint
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_revs bigint[];
  v_t text[];
  v_u text[];
  v_eff bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_transaction_state',
      MESSAGE = 'apply_effective_queue requires READ COMMITTED';
  END IF;
  PERFORM pg_advisory_xact_lock(8098989794977783144);

  SELECT array_agg(q.revision) INTO v_revs FROM (
    SELECT DISTINCT revision FROM permcache.pc_effective_queue
    ORDER BY revision LIMIT greatest(max_revisions, 0)) q;
  IF v_revs IS NOT NULL THEN
    SELECT array_agg(q.tenant), array_agg(q.user_id) INTO v_t, v_u
    FROM (SELECT DISTINCT e.tenant, e.user_id FROM permcache.pc_effective_queue e
          WHERE e.revision = ANY (v_revs)) q;
    PERFORM permcache.pc_refresh_effective(v_t, v_u, NULL);
    DELETE FROM permcache.pc_effective_queue e WHERE e.revision = ANY (v_revs);
  END IF;

  SELECT s.effective_revision INTO v_eff FROM permcache.effective_status s;
  IF v_revs IS NOT NULL THEN
    -- Informational only (permcache.effective_status is the truth); this runs in permcache's
    -- own transaction, never in another application's commit step.
    UPDATE permcache.pc_meta SET value = v_eff::text WHERE key = 'effective_revision';
  END IF;
  RETURN v_eff;
END
$fn$;

CREATE VIEW permcache.effective_status AS
  SELECT h.head AS head_revision,
         CASE WHEN q.oldest IS NULL THEN h.head ELSE q.oldest - 1 END AS effective_revision,
         q.n AS pending_revisions
  FROM (SELECT coalesce(max(r.revision), 0) AS head FROM permcache.pc_revisions r) h,
       (SELECT min(e.revision) AS oldest, count(DISTINCT e.revision) AS n
        FROM permcache.pc_effective_queue e) q;

-- Full from-scratch recompute vs the table, both directions, every column. A row that differs
-- only in a non-key column shows up as one 'extra' (the stored row) and one 'missing' (the
-- recomputed row). fix = true: takes the revision lock first (READ COMMITTED required), applies
-- the differences, empties pc_effective_queue (everything is current now), and still returns
-- what it fixed.
CREATE FUNCTION permcache.reconcile(fix boolean)
RETURNS TABLE(diff text, organization_id text, user_id text, policy_id text,
              business_unit_id text, assignment_type text, source_id text)
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  v_fresh permcache.user_effective_policies[];
  v_missing permcache.user_effective_policies[];
  v_extra permcache.user_effective_policies[];
BEGIN
  IF fix THEN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION USING ERRCODE = 'invalid_transaction_state',
        MESSAGE = 'reconcile(true) requires READ COMMITTED';
    END IF;
    PERFORM pg_advisory_xact_lock(8098989794977783144);
  END IF;

  v_fresh := ARRAY(SELECT r FROM permcache.pc_effective_rows(NULL, NULL) r);
  v_missing := ARRAY(
    SELECT m::permcache.user_effective_policies FROM (SELECT * FROM unnest(v_fresh)
                   EXCEPT SELECT * FROM permcache.user_effective_policies) m);
  v_extra := ARRAY(
    SELECT x::permcache.user_effective_policies FROM (SELECT * FROM permcache.user_effective_policies
                   EXCEPT SELECT * FROM unnest(v_fresh)) x);

  IF fix THEN
    DELETE FROM permcache.user_effective_policies e
    USING unnest(v_extra) AS x
    WHERE e.organization_id = x.organization_id AND e.user_id = x.user_id
      AND e.business_unit_id = x.business_unit_id AND e.policy_id = x.policy_id
      AND e.assignment_type = x.assignment_type AND e.source_id = x.source_id;
    INSERT INTO permcache.user_effective_policies
      (user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority,
       resources, scope, assignment_type, source_id)
    SELECT m.user_id, m.organization_id, m.business_unit_id, m.policy_id, m.policy_name,
           m.effect, m.priority, m.resources, m.scope, m.assignment_type, m.source_id
    FROM unnest(v_missing) AS m;
    DELETE FROM permcache.pc_effective_queue;
  END IF;

  RETURN QUERY
    SELECT 'missing'::text, m.organization_id, m.user_id, m.policy_id, m.business_unit_id,
           m.assignment_type, m.source_id FROM unnest(v_missing) AS m
    UNION ALL
    SELECT 'extra'::text, x.organization_id, x.user_id, x.policy_id, x.business_unit_id,
           x.assignment_type, x.source_id FROM unnest(v_extra) AS x
    ORDER BY 2, 3, 4, 5, 6, 7, 1;
END
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Changelog retention

-- Deletes the oldest revisions (the pc_revisions row and all its pc_changelog rows: whole
-- revisions only, oldest first) that were committed more than `keep` ago: the deleted revisions
-- are always a prefix, it stops at the first revision committed within `keep`, and never deletes
-- the newest revision (so the head stays readable). One call deletes at most max_rows rows
-- (pc_revisions + pc_changelog) and returns how many it deleted; a single revision with more
-- rows than max_rows is still deleted whole, so every call makes progress. Call it again (in a
-- new transaction, to keep each one short) while it returns > 0. Returns 0 at once when another
-- session is pruning: pg_try_advisory_xact_lock(8098989794977783145), the prune lock (not the
-- revision lock 8098989794977783144: writers never wait for a pruner), held until the end of
-- the pruner's transaction. Records pc_meta 'oldest_revision' (see oldest_revision()); the
-- writers' commit step never touches pc_meta.
CREATE FUNCTION permcache.prune_changelog(keep interval DEFAULT '24 hours',
                                          max_rows integer DEFAULT 10000)
RETURNS bigint
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_head bigint;
  v_cutoff_ms bigint;
  v_upto bigint;
  v_changelog bigint;
  v_revisions bigint;
BEGIN
  IF keep IS NULL OR max_rows IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
      MESSAGE = 'prune_changelog: keep and max_rows must not be NULL';
  END IF;
  IF max_rows < 1 THEN RETURN 0; END IF;
  IF NOT pg_try_advisory_xact_lock(8098989794977783145) THEN RETURN 0; END IF;

  SELECT max(r.revision) INTO v_head FROM permcache.pc_revisions r;
  IF v_head IS NULL THEN RETURN 0; END IF;
  v_cutoff_ms := floor(extract(epoch FROM clock_timestamp() - keep) * 1000)::bigint;

  -- Walk the oldest revisions in order (primary key, at most max_rows of them: each one is at
  -- least one row); take the longest prefix that is due and fits in max_rows (at least one).
  WITH cand AS (
    SELECT r.revision, r.committed_at_ms,
           1 + (SELECT count(*) FROM permcache.pc_changelog c WHERE c.revision = r.revision) AS n
    FROM permcache.pc_revisions r
    WHERE r.revision < v_head
    ORDER BY r.revision
    LIMIT max_rows
  ),
  run AS (
    SELECT c.revision, c.n, sum(c.n) OVER w AS total,
           bool_and(c.committed_at_ms <= v_cutoff_ms) OVER w AS due
    FROM cand c
    WINDOW w AS (ORDER BY c.revision)
  )
  SELECT max(run.revision) INTO v_upto FROM run
  WHERE run.due AND (run.total <= max_rows OR run.total = run.n);
  IF v_upto IS NULL THEN RETURN 0; END IF;

  DELETE FROM permcache.pc_changelog c WHERE c.revision <= v_upto;
  GET DIAGNOSTICS v_changelog = ROW_COUNT;
  DELETE FROM permcache.pc_revisions r WHERE r.revision <= v_upto;
  GET DIAGNOSTICS v_revisions = ROW_COUNT;
  UPDATE permcache.pc_meta SET value = (v_upto + 1)::text WHERE key = 'oldest_revision';
  RETURN v_changelog + v_revisions;
END
$fn$;

-- The oldest revision the changelog still holds completely: every committed revision >=
-- oldest_revision() is in pc_revisions / pc_changelog, none below it is. 1 until the first
-- prune; afterwards the newest pruned revision + 1, which is at most the head (the head is
-- never pruned), and head + 1 = 1 for an empty store. It equals min(revision) of pc_revisions
-- unless the numbers right after the pruned revisions were never committed (a rolled-back
-- commit step uses up its number): then it is smaller, which keeps the test below exact.
-- A reader whose cursor is c (it has applied every revision <= c) can continue from the
-- changelog iff c + 1 >= oldest_revision(); c + 1 < oldest_revision() means revisions it has
-- not seen were pruned (reload). Read it in the same snapshot as the changelog page.
CREATE FUNCTION permcache.oldest_revision() RETURNS bigint
LANGUAGE sql STABLE SET search_path = permcache, pg_temp
AS $fn$
  SELECT coalesce((SELECT m.value::bigint FROM permcache.pc_meta m WHERE m.key = 'oldest_revision'),
                  1)
$fn$;

-- The same boundary as the SQLite store's meta 'pruned_through': the newest pruned revision,
-- 0 = nothing pruned = oldest_revision() - 1. A cursor c < pruned_through() missed revisions.
CREATE FUNCTION permcache.pruned_through() RETURNS bigint
LANGUAGE sql STABLE SET search_path = permcache, pg_temp
AS $fn$
  SELECT permcache.oldest_revision() - 1
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Store identity

-- '<store_id>:<system_identifier>:<timeline_id>': changes when the schema is re-created (new
-- store_id), when the data comes from another cluster (initdb: new system identifier) and after
-- a promotion or point-in-time recovery (new timeline; pg_control_checkpoint() reports it from
-- the first checkpoint on the new timeline, which PostgreSQL requests right after promotion).
-- pg_control_system() / pg_control_checkpoint() are executable by PUBLIC on PostgreSQL 15, so
-- no SECURITY DEFINER: the caller needs only USAGE on the schema and SELECT on pc_meta.
CREATE FUNCTION permcache.store_epoch() RETURNS text
LANGUAGE sql STABLE SET search_path = permcache, pg_temp
AS $fn$
  SELECT m.value || ':' || s.system_identifier::text || ':' || c.timeline_id::text
  FROM permcache.pc_meta m, pg_catalog.pg_control_system() s, pg_catalog.pg_control_checkpoint() c
  WHERE m.key = 'store_id'
$fn$;
