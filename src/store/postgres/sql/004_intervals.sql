-- permcache PostgreSQL schema, migration 4: validity intervals and pending memberships
-- (DESIGN section 8, "time is a writer").
--
-- memberships, user_roles, user_policies and resource_grants gain starts_at / expires_at
-- (timestamptz, NULL = unbounded on that side); a row counts while
-- starts_at <= now() < expires_at. The database stores the interval and never decides time:
-- permcache's engine does (LoadGrants returns rows with their intervals, unfiltered), and so
-- do readers of user_effective_policies, whose rows now carry the interval in which they count.
-- Existing rows get NULL bounds, i.e. stay unbounded.
--
-- Capture needs no change: pc_capture_<table> compares whole rows (new EXCEPT old), so an
-- UPDATE of only expires_at is a change of that row's user, and an UPDATE to the same interval
-- is none.
--
-- The functions that produce and store effective rows are replaced (CREATE OR REPLACE, same
-- signatures): the table's row type gained two columns, and the recompute-and-diff must
-- compare them, so that a change of only an interval rewrites the row.

-- ---------------------------------------------------------------------------------------------
-- Model tables

-- <table>_interval_check: an empty interval is refused (C++ validation: expires_at must be after
-- starts_at); NULL on either side passes. <table>_interval_range_check: bounds outside years
-- 0001-9999 are refused as validation refuses them, so every stored bound converts to ms
-- ('infinity' too: NULL is "unbounded"). Both 23514, like the other checks.
ALTER TABLE permcache.memberships
  ADD COLUMN starts_at timestamptz NULL,
  ADD COLUMN expires_at timestamptz NULL,
  DROP CONSTRAINT memberships_status_check,
  ADD CONSTRAINT memberships_status_check CHECK (status IN ('active', 'suspended', 'pending')),
  ADD CONSTRAINT memberships_interval_check CHECK (expires_at > starts_at),
  ADD CONSTRAINT memberships_interval_range_check CHECK (
    starts_at >= '0001-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'
    AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00');

ALTER TABLE permcache.user_roles
  ADD COLUMN starts_at timestamptz NULL,
  ADD COLUMN expires_at timestamptz NULL,
  ADD CONSTRAINT user_roles_interval_check CHECK (expires_at > starts_at),
  ADD CONSTRAINT user_roles_interval_range_check CHECK (
    starts_at >= '0001-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'
    AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00');

ALTER TABLE permcache.user_policies
  ADD COLUMN starts_at timestamptz NULL,
  ADD COLUMN expires_at timestamptz NULL,
  ADD CONSTRAINT user_policies_interval_check CHECK (expires_at > starts_at),
  ADD CONSTRAINT user_policies_interval_range_check CHECK (
    starts_at >= '0001-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'
    AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00');

ALTER TABLE permcache.resource_grants
  ADD COLUMN starts_at timestamptz NULL,
  ADD COLUMN expires_at timestamptz NULL,
  ADD CONSTRAINT resource_grants_interval_check CHECK (expires_at > starts_at),
  ADD CONSTRAINT resource_grants_interval_range_check CHECK (
    starts_at >= '0001-01-01 00:00:00+00' AND starts_at < '10000-01-01 00:00:00+00'
    AND expires_at >= '0001-01-01 00:00:00+00' AND expires_at < '10000-01-01 00:00:00+00');

-- ---------------------------------------------------------------------------------------------
-- Effective table

-- The interval in which the row counts: the intersection of the membership's and the
-- assignment's (user_roles row for 'role', user_policies row for 'direct') intervals, NULL =
-- unbounded on that side. Rows are not filtered by now() (the table would go stale at every
-- bound without a write); a row whose intersection is empty is kept too (it never counts), so
-- rows stay one-to-one with LoadGrants' grants. Readers filter:
--   AND (starts_at IS NULL OR starts_at <= now()) AND (expires_at IS NULL OR now() < expires_at)
ALTER TABLE permcache.user_effective_policies
  ADD COLUMN starts_at timestamptz NULL,
  ADD COLUMN expires_at timestamptz NULL;

-- 001's function with the intervals (greatest / least ignore NULLs: NULL = unbounded). Pending
-- memberships, like suspended ones, have no rows (status = 'active' only).
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
    ) x;
  END IF;
  RETURN QUERY
  WITH RECURSIVE
  k AS (SELECT DISTINCT x.t, x.u FROM unnest(v_t, v_u) AS x(t, u)),
  mem AS (
    SELECT m.tenant, m.user_id, m.starts_at, m.expires_at FROM k JOIN permcache.memberships m
      ON m.tenant = k.t AND m.user_id = k.u
    WHERE m.status = 'active'
  ),
  asg AS (
    SELECT ur.tenant, ur.user_id, ur.role, ur.business_unit,
           greatest(mem.starts_at, ur.starts_at) AS starts_at,
           least(mem.expires_at, ur.expires_at) AS expires_at
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
  -- One asg row per (user, role, business unit) (user_roles' key), so DISTINCT still yields
  -- one row per key of the unique index.
  SELECT DISTINCT a.user_id, a.tenant, a.business_unit, p.policy, p.policy, p.effect,
         p.priority, p.permissions, p.scope, 'role'::text, a.role, a.starts_at, a.expires_at
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
  JOIN permcache.policies p ON p.tenant = up.tenant AND p.policy = up.policy;
END
$fn$;

-- 001's recompute-and-diff; the upsert writes and compares the interval too.
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

-- 001's reconcile; the comparison is over every column already (EXCEPT on the row type), the
-- fix inserts the interval too.
CREATE OR REPLACE FUNCTION permcache.reconcile(fix boolean)
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
    SELECT m::permcache.user_effective_policies
    FROM (SELECT * FROM unnest(v_fresh)
          EXCEPT SELECT * FROM permcache.user_effective_policies) m);
  v_extra := ARRAY(
    SELECT x::permcache.user_effective_policies
    FROM (SELECT * FROM permcache.user_effective_policies
          EXCEPT SELECT * FROM unnest(v_fresh)) x);

  IF fix THEN
    DELETE FROM permcache.user_effective_policies e
    USING unnest(v_extra) AS x
    WHERE e.organization_id = x.organization_id AND e.user_id = x.user_id
      AND e.business_unit_id = x.business_unit_id AND e.policy_id = x.policy_id
      AND e.assignment_type = x.assignment_type AND e.source_id = x.source_id;
    INSERT INTO permcache.user_effective_policies
      (user_id, organization_id, business_unit_id, policy_id, policy_name, effect, priority,
       resources, scope, assignment_type, source_id, starts_at, expires_at)
    SELECT m.user_id, m.organization_id, m.business_unit_id, m.policy_id, m.policy_name,
           m.effect, m.priority, m.resources, m.scope, m.assignment_type, m.source_id,
           m.starts_at, m.expires_at
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
