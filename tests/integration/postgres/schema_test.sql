-- Tests of the PostgreSQL side of PostgresStore (src/store/postgres/sql/*.sql, every migration).
-- Run by run_sql_tests.sh: psql -v ON_ERROR_STOP=1 -v conninfo=... < schema_test.sql
-- Every test is a statement sequence ending in a DO block that raises on failure, followed by
-- `\echo ok - <name>`. The script stops at the first failure (ON_ERROR_STOP).
-- Many DO blocks COMMIT inside (psql autocommit), so the deferred commit step really runs.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET search_path = pctest, permcache;

CREATE SCHEMA pctest;
CREATE EXTENSION dblink SCHEMA pctest;
SELECT set_config('pctest.conninfo', :'conninfo', false) \gset

CREATE FUNCTION pctest.head() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(max(revision), 0) FROM permcache.pc_revisions
$$;

-- Changelog rows after revision `after`, as 'tenant/user' ('*' for a NULL user), sorted.
CREATE FUNCTION pctest.changes(after bigint) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(c.tenant || '/' || coalesce(c.user_id, '*'), ' '
                             ORDER BY c.tenant, c.user_id NULLS FIRST), '')
  FROM permcache.pc_changelog c WHERE c.revision > after
$$;

CREATE FUNCTION pctest.revs(after bigint) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM permcache.pc_revisions r WHERE r.revision > after
$$;

CREATE FUNCTION pctest.eq(actual anycompatible, expected anycompatible, what text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF actual IS DISTINCT FROM expected THEN
    RAISE EXCEPTION '%: expected [%], got [%]', what, expected, actual;
  END IF;
END $$;

-- Runs `sql`, expects SQLSTATE `state` and (unless NULL) exactly `msg`, and (unless NULL) the
-- constraint name `cons`. The statement's effects are rolled back (subtransaction).
CREATE FUNCTION pctest.expect_error(sql text, state text, msg text, cons text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s text; m text; c text;
BEGIN
  BEGIN
    EXECUTE sql;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, c = CONSTRAINT_NAME;
    IF s <> state OR (msg IS NOT NULL AND m <> msg) OR (cons IS NOT NULL AND c IS DISTINCT FROM cons)
    THEN
      RAISE EXCEPTION 'statement [%]: expected % "%" (%), got % "%" (%)',
        sql, state, msg, cons, s, m, c;
    END IF;
    RETURN;
  END;
  RAISE EXCEPTION 'statement [%]: expected error % "%", it succeeded', sql, state, msg;
END $$;

-- Returns 'ok' or the error message of `sql` (for statements run through dblink).
CREATE FUNCTION pctest.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLERRM;
END $$;

CREATE FUNCTION pctest.reconcile_count() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM permcache.reconcile(false)
$$;

CREATE FUNCTION pctest.eff(p_tenant text, p_user text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(e.policy_id || '@' || e.assignment_type || ':' || e.source_id
                             || CASE WHEN e.business_unit_id <> '' THEN '/' || e.business_unit_id
                                     ELSE '' END, ' '
                             ORDER BY e.policy_id, e.assignment_type, e.source_id,
                                      e.business_unit_id), '')
  FROM permcache.user_effective_policies e
  WHERE e.organization_id = p_tenant AND e.user_id = p_user
$$;

-- A small tenant:
--   roles base <- mid <- top (top inherits mid inherits base), other; BUs b1, b2
--   policies pbase (allow doc:read) on base, pmid (deny doc:write, prio 5) on mid,
--            pscoped (allow x:*, scope b1) on other, pdirect (direct to u4)
--   u1: base, u2: mid, u3: top in b1, u4: other + pdirect, u5: top but suspended, u6: no roles
CREATE FUNCTION pctest.fixture(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO permcache.tenants VALUES (t);
  INSERT INTO permcache.business_units VALUES (t, 'b1'), (t, 'b2');
  INSERT INTO permcache.roles VALUES (t, 'base'), (t, 'mid'), (t, 'top'), (t, 'other');
  INSERT INTO permcache.role_inherits (tenant, role, inherits, position)
    VALUES (t, 'mid', 'base', 0), (t, 'top', 'mid', 0);
  INSERT INTO permcache.policies (tenant, policy, effect, priority, permissions, scope) VALUES
    (t, 'pbase', 'allow', 0, '{doc:read}', NULL),
    (t, 'pmid', 'deny', 5, '{doc:write}', NULL),
    (t, 'pscoped', 'allow', 0, '{x:*}', 'b1'),
    (t, 'pdirect', 'allow', 1, '{y:read,y:list}', NULL);
  INSERT INTO permcache.role_policies VALUES
    (t, 'base', 'pbase'), (t, 'mid', 'pmid'), (t, 'other', 'pscoped');
  INSERT INTO permcache.memberships VALUES
    (t, 'u1', 'active'), (t, 'u2', 'active'), (t, 'u3', 'active'), (t, 'u4', 'active'),
    (t, 'u5', 'suspended'), (t, 'u6', 'active');
  INSERT INTO permcache.user_roles (tenant, user_id, role, business_unit) VALUES
    (t, 'u1', 'base', ''), (t, 'u2', 'mid', ''), (t, 'u3', 'top', 'b1'),
    (t, 'u4', 'other', ''), (t, 'u5', 'top', '');
  INSERT INTO permcache.user_policies VALUES (t, 'u4', 'pdirect');
END $$;

-- ---------------------------------------------------------------------------------------------
DO $$
BEGIN
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_meta
                     WHERE key = 'store_id' AND value ~ '^[0-9a-f-]{36}$'), 1::bigint, 'store_id');
  PERFORM pctest.eq((SELECT value FROM permcache.pc_meta WHERE key = 'effective_revision'), '0',
                    'effective_revision');
  PERFORM pctest.eq(pctest.head(), 0::bigint, 'head of an empty store');
  PERFORM pctest.eq((SELECT row(head_revision, effective_revision, pending_revisions)::text
                     FROM permcache.effective_status), '(0,0,0)', 'effective_status');
END $$;
\echo ok - fresh schema: store_id, head 0, effective_status

DO $$
BEGIN
  -- per-table capture / reference-check functions with static SQL only (cached plans)
  PERFORM pctest.eq((SELECT string_agg(t.tgname || ':' || p.proname, ' ' ORDER BY t.tgname)
                     FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                     WHERE t.tgrelid = 'permcache.user_roles'::regclass AND NOT t.tgisinternal),
                    'pc_capture_delete:pc_capture_user_roles pc_capture_insert:pc_capture_user_roles '
                    'pc_capture_truncate:pc_capture_truncate pc_capture_update:pc_capture_user_roles '
                    'pc_check_refs:pc_check_refs_user_roles', 'user_roles triggers');
  PERFORM pctest.eq((SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                     WHERE t.tgname IN ('pc_capture_insert', 'pc_capture_update', 'pc_capture_delete')
                       AND p.proname = 'pc_capture_' || (SELECT c.relname FROM pg_class c WHERE c.oid = t.tgrelid)),
                    48::bigint, '16 tables x 3 events, each on its own table''s function');
  PERFORM pctest.eq((SELECT string_agg(p.proname, ' ') FROM pg_proc p
                     WHERE p.pronamespace = 'permcache'::regnamespace
                       AND (p.proname LIKE 'pc\_capture\_%' OR p.proname LIKE 'pc\_check\_refs%')
                       AND p.proname <> 'pc_capture_truncate' AND p.prosrc ~* '\mexecute\M'), NULL::text,
                    'no dynamic SQL in the per-statement triggers');
END $$;
\echo ok - capture and reference checks: one static-SQL function per table

DO $$
BEGIN
  PERFORM pctest.fixture('t1');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('t1', 'u1'), 'pbase@role:base', 'u1');
  PERFORM pctest.eq(pctest.eff('t1', 'u2'), 'pbase@role:mid pmid@role:mid', 'u2');
  PERFORM pctest.eq(pctest.eff('t1', 'u3'), 'pbase@role:top/b1 pmid@role:top/b1', 'u3');
  PERFORM pctest.eq(pctest.eff('t1', 'u4'), 'pdirect@direct:pdirect pscoped@role:other', 'u4');
  PERFORM pctest.eq(pctest.eff('t1', 'u5'), '', 'u5 suspended');
  PERFORM pctest.eq(pctest.eff('t1', 'u6'), '', 'u6 no roles');
  PERFORM pctest.eq((SELECT row(effect, priority, resources, scope, policy_name)::text
                     FROM permcache.user_effective_policies
                     WHERE user_id = 'u4' AND policy_id = 'pscoped'),
                    '(allow,0,{x:*},b1,pscoped)', 'u4 pscoped columns');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_effective_rows('t1', ARRAY['u1', 'u2', 'u5'])),
                    3::bigint, 'pc_effective_rows for users');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_effective_rows('t1', NULL)),
                    (SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id = 't1'),
                    'pc_effective_rows for the tenant');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - fixture: effective rows for roles, inheritance, BU assignment, direct, suspended

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  -- tenant missing (tenant is checked first everywhere)
  PERFORM pctest.expect_error($q$INSERT INTO permcache.business_units VALUES ('nope', 'lab')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.memberships VALUES ('nope', 'u1', 'active')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.roles VALUES ('nope', 'r')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('nope', 'p', 'allow', 0, '{a:b}', 'lab')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.user_roles VALUES ('nope', 'u1', 'ghost', 'lab')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_policies VALUES ('nope', 'u1', 'ghost')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_policies VALUES ('nope', 'ghost', 'ghost')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_inherits VALUES ('nope', 'ghost', 'ghost')$q$,
    '23503', 'tenant ''nope'' does not exist');
  -- role missing
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_inherits VALUES ('t1', 'base', 'ghost')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_inherits VALUES ('t1', 'ghost', 'base')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_policies VALUES ('t1', 'ghost', 'ghost')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_roles VALUES ('t1', 'u1', 'ghost', 'lab')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$UPDATE permcache.user_roles SET role = 'ghost' WHERE user_id = 'u1'$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''t1''');
  -- policy missing
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_policies VALUES ('t1', 'base', 'ghost')$q$,
    '23503', 'policy ''ghost'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_policies VALUES ('t1', 'u1', 'ghost')$q$,
    '23503', 'policy ''ghost'' does not exist in tenant ''t1''');
  -- business unit missing
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p', 'allow', 0, '{a:b}', 'lab')$q$,
    '23503', 'business unit ''lab'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$UPDATE permcache.policies SET scope = 'lab' WHERE policy = 'pbase'$q$,
    '23503', 'business unit ''lab'' does not exist in tenant ''t1''');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_roles VALUES ('t1', 'u1', 'mid', 'lab')$q$,
    '23503', 'business unit ''lab'' does not exist in tenant ''t1''');
  -- an UPDATE that leaves the references alone is not checked again; '' needs no business unit
  UPDATE permcache.memberships SET status = 'active' WHERE tenant = 't1' AND user_id = 'u1';
  INSERT INTO permcache.user_roles VALUES ('t1', 'u6', 'base', '');
  DELETE FROM permcache.user_roles WHERE tenant = 't1' AND user_id = 'u6';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u6', 'only the u6 round trip was recorded');
END $$;
\echo ok - reference errors: exact messages, SQLSTATE 23503, order tenant > role > policy/business unit

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint;
BEGIN
  INSERT INTO permcache.tenants VALUES ('tc');
  INSERT INTO permcache.roles VALUES ('tc', 'a'), ('tc', 'b'), ('tc', 'c'), ('tc', 'd'),
    ('tc', 'nurse'), ('tc', 'senior_nurse'), ('tc', 'x'), ('tc', 'y');
  INSERT INTO permcache.role_inherits VALUES ('tc', 'b', 'a', 0), ('tc', 'c', 'b', 0),
    ('tc', 'd', 'c', 0), ('tc', 'd', 'nurse', 1), ('tc', 'senior_nurse', 'nurse', 0);
  COMMIT;
  h := pctest.head();
  -- a's parents := (nurse, d)
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.role_inherits VALUES ('tc', 'a', 'nurse', 0), ('tc', 'a', 'd', 1)$q$,
    '23514', 'role inheritance cycle: a>d>c>b>a');
  -- the same as a put_role does it: delete the old list, insert the new one
  PERFORM pctest.expect_error(
    $q$WITH del AS (DELETE FROM permcache.role_inherits WHERE tenant = 'tc' AND role = 'a')
       INSERT INTO permcache.role_inherits VALUES ('tc', 'a', 'd', 1), ('tc', 'a', 'nurse', 0)$q$,
    '23514', 'role inheritance cycle: a>d>c>b>a');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.role_inherits VALUES ('tc', 'nurse', 'senior_nurse', 0)$q$,
    '23514', 'role inheritance cycle: nurse>senior_nurse>nurse');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.role_inherits VALUES ('tc', 'nurse', 'nurse', 0)$q$,
    '23514', 'role inheritance cycle: nurse>nurse');
  -- both halves in one statement: the first (tenant, role) in order reports it
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.role_inherits VALUES ('tc', 'y', 'x', 0), ('tc', 'x', 'y', 0)$q$,
    '23514', 'role inheritance cycle: x>y>x');
  -- an UPDATE that closes a cycle
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.role_inherits SET inherits = 'd' WHERE tenant = 'tc' AND role = 'b'$q$,
    '23514', 'role inheritance cycle: b>d>c>b');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.role_inherits SET role = 'a', inherits = 'd' WHERE tenant = 'tc' AND role = 'senior_nurse'$q$,
    '23514', 'role inheritance cycle: a>d>c>b>a');
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.role_inherits WHERE tenant = 'tc'), 5::bigint,
                    'no edge changed');
  PERFORM pctest.eq(pctest.head(), h, 'no revision');
END $$;
\echo ok - inheritance cycles: exact BFS paths (a>d>c>b>a, nurse>senior_nurse>nurse, nurse>nurse), nothing changed

DO $$
BEGIN
  INSERT INTO permcache.tenants VALUES ('td');
  INSERT INTO permcache.roles VALUES ('td', 'top'), ('td', 'l'), ('td', 'r'), ('td', 'bottom');
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('td', 'p', 'allow', '{a}');
  INSERT INTO permcache.role_policies VALUES ('td', 'top', 'p');
  INSERT INTO permcache.role_inherits VALUES ('td', 'l', 'top', 0), ('td', 'r', 'top', 0);
  INSERT INTO permcache.role_inherits VALUES ('td', 'bottom', 'l', 0), ('td', 'bottom', 'r', 1);
  INSERT INTO permcache.memberships VALUES ('td', 'u', 'active');
  INSERT INTO permcache.user_roles VALUES ('td', 'u', 'bottom', '');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('td', 'u'), 'p@role:bottom', 'one row through the diamond');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - diamond inheritance is not a cycle, one effective row per assignment

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint := pctest.head();
  n bigint := (SELECT count(*) FROM permcache.policies) + (SELECT count(*) FROM permcache.memberships);
BEGIN
  PERFORM pctest.expect_error($q$INSERT INTO permcache.tenants VALUES ('bad id')$q$, '23514', NULL,
    'tenants_tenant_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.tenants VALUES ('a:b')$q$, '23514', NULL,
    'tenants_tenant_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.tenants VALUES ('')$q$, '23514', NULL,
    'tenants_tenant_check');
  PERFORM pctest.expect_error(format('INSERT INTO permcache.tenants VALUES (%L)', repeat('x', 129)),
    '23514', NULL, 'tenants_tenant_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.tenants VALUES ('*')$q$, '23514', NULL,
    'tenants_tenant_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.memberships VALUES ('t1', 'bad/user', 'active')$q$,
    '23514', NULL, 'memberships_user_id_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.memberships VALUES ('t1', 'u9', 'gone')$q$,
    '23514', NULL, 'memberships_status_check');
  PERFORM pctest.expect_error($q$UPDATE permcache.memberships SET status = 'x' WHERE tenant = 't1'$q$,
    '23514', NULL, 'memberships_status_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_roles VALUES ('t1', 'u1', 'ba se', '')$q$,
    '23514', NULL, 'user_roles_role_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.user_roles VALUES ('t1', 'u1', 'base', 'b 1')$q$,
    '23514', NULL, 'user_roles_business_unit_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'maybe', 0, '{a:b}', NULL)$q$,
    '23514', NULL, 'policies_effect_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{A:read}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{a::b}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{a:b*}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{a,NULL}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.policies VALUES ('t1', 'p9', 'allow', 0, '{{a},{b}}', NULL)$q$,
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    format('INSERT INTO permcache.policies VALUES (%L, %L, %L, 0, %L, NULL)', 't1', 'p9', 'allow',
           ARRAY[repeat('a', 257)]),
    '23514', NULL, 'policies_permissions_check');
  PERFORM pctest.expect_error(
    format('INSERT INTO permcache.policies VALUES (%L, %L, %L, 0, %L, NULL)', 't1', 'p9', 'allow',
           array_fill('a'::text, ARRAY[257])),
    '23514', NULL, 'policies_permissions_check');
  -- the limits themselves are fine
  PERFORM pctest.eq(permcache.valid_patterns(array_fill(repeat('a', 256), ARRAY[256])), true,
                    '256 x 256');
  PERFORM pctest.eq(permcache.valid_patterns('{*,a:*,a.b-c_d:x:*}'), true, 'wildcards');
  PERFORM pctest.eq(permcache.valid_patterns(NULL), false, 'NULL');
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.policies) + (SELECT count(*) FROM permcache.memberships),
                    n, 'nothing changed');
  PERFORM pctest.eq(pctest.head(), h, 'no revision');
END $$;
\echo ok - bad ids, patterns, effects, statuses refused with 23514 by the named CHECKs, nothing changed

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint;
BEGIN
  PERFORM pctest.fixture('tdel');
  COMMIT;
  h := pctest.head();
  DELETE FROM permcache.tenants WHERE tenant = 'tdel';
  COMMIT;
  PERFORM pctest.eq(
    (SELECT count(*) FROM (
       SELECT tenant FROM permcache.business_units UNION ALL SELECT tenant FROM permcache.memberships
       UNION ALL SELECT tenant FROM permcache.roles UNION ALL SELECT tenant FROM permcache.role_inherits
       UNION ALL SELECT tenant FROM permcache.policies UNION ALL SELECT tenant FROM permcache.role_policies
       UNION ALL SELECT tenant FROM permcache.user_roles UNION ALL SELECT tenant FROM permcache.user_policies
       UNION ALL SELECT organization_id FROM permcache.user_effective_policies) x
     WHERE tenant = 'tdel'), 0::bigint, 'rows left');
  PERFORM pctest.eq(pctest.changes(h), 'tdel/*', 'changelog');
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'one revision');
  PERFORM pctest.eq(pctest.eff('t1', 'u2'), 'pbase@role:mid pmid@role:mid', 'other tenant intact');
END $$;
\echo ok - deleting a tenant cascades everything (effective rows too), one tenant-wide changelog row

DO $$
DECLARE
  h bigint;
BEGIN
  PERFORM pctest.fixture('tbu');
  INSERT INTO permcache.user_roles VALUES ('tbu', 'u1', 'other', 'b1'), ('tbu', 'u1', 'other', 'b2');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('tbu', 'u1'), 'pbase@role:base pscoped@role:other/b1 pscoped@role:other/b2',
                    'before');
  h := pctest.head();
  DELETE FROM permcache.business_units WHERE tenant = 'tbu' AND business_unit = 'b1';
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.policies WHERE tenant = 'tbu' AND policy = 'pscoped'),
                    0::bigint, 'scoped policy deleted');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.role_policies WHERE tenant = 'tbu' AND policy = 'pscoped'),
                    0::bigint, 'its links deleted');
  PERFORM pctest.eq((SELECT string_agg(user_id || ':' || role || ':' || business_unit, ' ' ORDER BY user_id, role, business_unit)
                     FROM permcache.user_roles WHERE tenant = 'tbu'),
                    'u1:base: u1:other:b2 u2:mid: u4:other: u5:top:', 'BU-scoped assignments of b1 deleted');
  PERFORM pctest.eq(pctest.changes(h), 'tbu/*', 'changelog');
  PERFORM pctest.eq(pctest.eff('tbu', 'u1'), 'pbase@role:base', 'u1 after');
  PERFORM pctest.eq(pctest.eff('tbu', 'u3'), '', 'u3 after (its only assignment was in b1)');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
  -- the generated column: '' is not a reference, a non-empty one is
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_roles
                     WHERE tenant = 'tbu' AND business_unit_ref IS NULL), 4::bigint, 'business_unit_ref');
END $$;
\echo ok - deleting a business unit removes its scoped policies and BU-scoped user_roles

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  INSERT INTO permcache.memberships VALUES ('t1', 'n1', 'active');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'insert: one revision');
  PERFORM pctest.eq(pctest.changes(h), 't1/n1', 'insert: one row');
  h := pctest.head();
  INSERT INTO permcache.memberships VALUES ('t1', 'n1', 'active') ON CONFLICT DO NOTHING;
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'ON CONFLICT DO NOTHING: no revision');
  UPDATE permcache.memberships SET status = 'active' WHERE tenant = 't1' AND user_id = 'n1';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'UPDATE to the same value: no revision');
  UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't1' AND user_id IN ('n1', 'u1');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'real UPDATE: one revision');
  PERFORM pctest.eq(pctest.changes(h), 't1/n1 t1/u1', 'real UPDATE: rows');
  PERFORM pctest.eq(pctest.eff('t1', 'u1'), '', 'u1 suspended: no rows');
  h := pctest.head();
  INSERT INTO permcache.memberships VALUES ('t1', 'u1', 'active')
    ON CONFLICT (tenant, user_id) DO UPDATE SET status = excluded.status;
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u1', 'upsert');
  PERFORM pctest.eq(pctest.eff('t1', 'u1'), 'pbase@role:base', 'u1 active again');
  h := pctest.head();
  -- moving a row to another key records old and new keys
  UPDATE permcache.memberships SET user_id = 'n2' WHERE tenant = 't1' AND user_id = 'n1';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/n1 t1/n2', 'key change: old and new');
END $$;
\echo ok - changelog: insert -> one row, no-op upsert / same-value UPDATE -> no revision, UPDATE records old and new

DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  -- base is held by u1 directly, and through inheritance by u2 (mid), u3 (top), u5 (top, suspended)
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('t1', 'pnew', 'allow', '{z}');
  INSERT INTO permcache.role_policies VALUES ('t1', 'base', 'pnew');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u1 t1/u2 t1/u3 t1/u5', 'holders of base');
  PERFORM pctest.eq(pctest.eff('t1', 'u3'), 'pbase@role:top/b1 pmid@role:top/b1 pnew@role:top/b1', 'u3');
  h := pctest.head();
  INSERT INTO permcache.user_policies VALUES ('t1', 'u6', 'pmid');
  COMMIT;
  h := pctest.head();
  UPDATE permcache.policies SET priority = 7 WHERE tenant = 't1' AND policy = 'pmid';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u2 t1/u3 t1/u5 t1/u6', 'everyone reaching pmid');
  PERFORM pctest.eq((SELECT string_agg(DISTINCT priority::text, ',') FROM permcache.user_effective_policies
                     WHERE organization_id = 't1' AND policy_id = 'pmid'), '7', 'new priority');
  h := pctest.head();
  UPDATE permcache.policies SET priority = 7 WHERE tenant = 't1' AND policy = 'pmid';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'same-value policy update');
  -- inheritance edge: what top inherits changes for top's holders only
  DELETE FROM permcache.role_inherits WHERE tenant = 't1' AND role = 'top';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u3 t1/u5', 'holders of top');
  PERFORM pctest.eq(pctest.eff('t1', 'u3'), '', 'u3 lost everything');
  h := pctest.head();
  INSERT INTO permcache.role_inherits VALUES ('t1', 'top', 'mid', 0);
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u3 t1/u5', 'holders of top again');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - role_policies / policy / inheritance changes resolve to every holder, through inheriting roles and direct assignments

DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  -- FK cascades fire the children's statement triggers (with transition tables)
  DELETE FROM permcache.roles WHERE tenant = 't1' AND role = 'mid';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u2 t1/u3 t1/u5', 'role delete: its holders (user_roles cascade) and inheriting roles'' holders (role_inherits cascade)');
  PERFORM pctest.eq(pctest.eff('t1', 'u3'), '', 'u3');
  PERFORM pctest.eq(pctest.eff('t1', 'u2'), '', 'u2');
  h := pctest.head();
  DELETE FROM permcache.policies WHERE tenant = 't1' AND policy = 'pnew';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u1', 'policy delete: holders through role_policies cascade');
  h := pctest.head();
  DELETE FROM permcache.policies WHERE tenant = 't1' AND policy = 'pmid';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/u6', 'policy delete: holders through user_policies cascade');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
  -- restore the fixture's shape for later tests
  INSERT INTO permcache.roles VALUES ('t1', 'mid');
  INSERT INTO permcache.policies VALUES ('t1', 'pmid', 'deny', 5, '{doc:write}', NULL);
  INSERT INTO permcache.role_policies VALUES ('t1', 'mid', 'pmid');
  INSERT INTO permcache.role_inherits VALUES ('t1', 'mid', 'base', 0), ('t1', 'top', 'mid', 0);
  INSERT INTO permcache.user_roles VALUES ('t1', 'u2', 'mid', '');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('t1', 'u3'), 'pbase@role:top/b1 pmid@role:top/b1', 'u3 restored');
END $$;
\echo ok - FK cascade deletes (role, policy) are captured through the statement triggers of the child tables

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  INSERT INTO permcache.memberships VALUES ('t1', 'm1', 'active');
  INSERT INTO permcache.user_roles VALUES ('t1', 'm1', 'base', '');
  UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't1' AND user_id = 'u4';
  INSERT INTO permcache.user_policies VALUES ('t1', 'u1', 'pdirect');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'one revision');
  PERFORM pctest.eq(pctest.changes(h), 't1/m1 t1/u1 t1/u4', 'rows');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_pending), 0::bigint, 'pending empty');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_txn_marker), 0::bigint, 'marker gone');
  h := pctest.head();
  INSERT INTO permcache.memberships VALUES ('t1', 'm2', 'active');
  ROLLBACK;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'rollback: no revision');
  PERFORM pctest.eq(pctest.changes(h), '', 'rollback: no changelog row');
  -- a failed statement inside a transaction (savepoint) leaves nothing behind
  BEGIN
    INSERT INTO permcache.memberships VALUES ('t1', 'm3', 'active');
    INSERT INTO permcache.memberships VALUES ('t1', 'm4', 'bogus');
  EXCEPTION WHEN check_violation THEN NULL;
  END;
  INSERT INTO permcache.memberships VALUES ('t1', 'm5', 'active');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 't1/m5', 'rolled-back subtransaction not recorded');
  UPDATE permcache.memberships SET status = 'active' WHERE tenant = 't1' AND user_id = 'u4';
  COMMIT;
END $$;
\echo ok - a multi-statement transaction is ONE revision; rollback (and rolled-back savepoints) record nothing

DO $$
DECLARE
  h bigint := pctest.head();
  r record;
  n int := 0;
BEGIN
  FOR r IN SELECT * FROM permcache.pc_finish() LOOP
    n := n + 1;
    PERFORM pctest.eq(r.revision > h, true, 'returned revision');
    PERFORM pctest.eq(r.tenant, NULL::text, 'no tenant');
  END LOOP;
  PERFORM pctest.eq(n, 1, 'one row');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'pc_finish with no change: exactly one new revision');
  PERFORM pctest.eq(pctest.changes(h), '', 'no changelog row');
  h := pctest.head();
  -- permcache's own batch: changes + pc_finish(); the deferred step then finds nothing
  INSERT INTO permcache.memberships VALUES ('t1', 'f1', 'active');
  SELECT count(*) INTO n FROM permcache.pc_finish() f WHERE f.tenant = 't1' AND f.user_id = 'f1';
  PERFORM pctest.eq(n, 1, 'pc_finish returns the changelog rows');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'one revision');
  -- a write after pc_finish in the same transaction re-arms the deferred step
  h := pctest.head();
  INSERT INTO permcache.memberships VALUES ('t1', 'f2', 'active');
  PERFORM permcache.pc_finish();
  INSERT INTO permcache.memberships VALUES ('t1', 'f3', 'active');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 2::bigint, 'two revisions');
  PERFORM pctest.eq((SELECT string_agg(c.user_id, ' ' ORDER BY c.revision) FROM permcache.pc_changelog c
                     WHERE c.revision > h), 'f2 f3', 'in order');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - pc_finish(): always a revision (one row (rev, NULL, NULL) when nothing changed), deferred step re-arms

BEGIN;
SET LOCAL synchronous_commit = off;
INSERT INTO permcache.memberships VALUES ('t1', 's1', 'active');
SELECT count(*) FROM permcache.pc_finish() \gset
DO $$ BEGIN PERFORM pctest.eq(current_setting('synchronous_commit'), 'on', 'synchronous_commit'); END $$;
COMMIT;
\echo ok - the commit step forces synchronous_commit = on for its transaction

BEGIN;
SET CONSTRAINTS ALL IMMEDIATE;
INSERT INTO permcache.memberships VALUES ('t1', 's2', 'active');
DO $$ BEGIN
  PERFORM pctest.eq((SELECT user_id FROM permcache.pc_changelog ORDER BY revision DESC LIMIT 1), 's2',
                    'SET CONSTRAINTS IMMEDIATE runs the step at once');
END $$;
COMMIT;
\echo ok - SET CONSTRAINTS ALL IMMEDIATE runs the commit step early without losing anything

-- ---------------------------------------------------------------------------------------------
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
SELECT set_config('pctest.want', (SELECT string_agg(DISTINCT tenant || '/*', ' ') FROM permcache.user_policies),
                  false) AS want \gset
TRUNCATE permcache.user_policies;
DO $$
BEGIN
  PERFORM pctest.eq(current_setting('pctest.want') LIKE '%t1/*%', true, 't1 had user_policies');
  PERFORM pctest.eq(pctest.changes(current_setting('pctest.h')::bigint), current_setting('pctest.want'),
                    'TRUNCATE -> one tenant-wide row per tenant that had rows');
  PERFORM pctest.eq(pctest.revs(current_setting('pctest.h')::bigint), 1::bigint, 'one revision');
  PERFORM pctest.eq(pctest.eff('t1', 'u4'), 'pscoped@role:other', 'u4 lost the direct policy');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_pending), 0::bigint, 'nothing pending');
  INSERT INTO permcache.user_policies VALUES ('t1', 'u4', 'pdirect');
END $$;
DO $$ BEGIN
  PERFORM pctest.eq(pctest.revs(current_setting('pctest.h')::bigint), 2::bigint, 'two revisions');
  PERFORM pctest.eq((SELECT string_agg(tenant || '/' || coalesce(user_id, '*'), ' ') FROM permcache.pc_changelog
                     WHERE revision = pctest.head()), 't1/u4', 'then the insert');
END $$;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
-- an empty table: nothing to record, no revision
CREATE TABLE pctest.saved_user_policies AS SELECT * FROM permcache.user_policies;
ALTER TABLE permcache.user_policies DISABLE TRIGGER USER;
DELETE FROM permcache.user_policies;
ALTER TABLE permcache.user_policies ENABLE TRIGGER USER;
TRUNCATE permcache.user_policies;
ALTER TABLE permcache.user_policies DISABLE TRIGGER USER;
INSERT INTO permcache.user_policies SELECT * FROM pctest.saved_user_policies;
ALTER TABLE permcache.user_policies ENABLE TRIGGER USER;
DROP TABLE pctest.saved_user_policies;
DO $$ BEGIN
  PERFORM pctest.eq(pctest.revs(current_setting('pctest.h')::bigint), 0::bigint, 'empty table: no revision');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
-- TRUNCATE ... CASCADE fires the BEFORE triggers of every truncated table while they still have
-- their rows: with the root's trigger disabled, the children's alone name the tenants.
BEGIN;
ALTER TABLE permcache.policies DISABLE TRIGGER pc_capture_truncate;
SELECT set_config('pctest.want', (SELECT string_agg(t, ' ' ORDER BY t) FROM (
         SELECT tenant FROM permcache.role_policies UNION SELECT tenant FROM permcache.user_policies) x(t)),
       true) AS want \gset
TRUNCATE permcache.policies CASCADE;
DO $$ BEGIN
  PERFORM pctest.eq((SELECT count(*) FROM permcache.role_policies) + (SELECT count(*) FROM permcache.user_policies),
                    0::bigint, 'children truncated');
  PERFORM pctest.eq((SELECT string_agg(f.tenant || '/' || coalesce(f.user_id, '*'), ' ' ORDER BY f.tenant)
                     FROM permcache.pc_finish() f),
                    (SELECT string_agg(t || '/*', ' ' ORDER BY t)
                     FROM unnest(string_to_array(current_setting('pctest.want'), ' ')) t),
                    'tenants of role_policies and user_policies');
END $$;
ROLLBACK;
-- REPEATABLE READ / SERIALIZABLE: the snapshot may miss rows TRUNCATE removes, so it is refused
BEGIN ISOLATION LEVEL REPEATABLE READ;
DO $$ BEGIN
  PERFORM pctest.expect_error('TRUNCATE permcache.user_roles', '25000',
                              'TRUNCATE of permcache.user_roles requires READ COMMITTED');
  PERFORM pctest.expect_error('TRUNCATE permcache.roles CASCADE', '25000', NULL);
END $$;
COMMIT;
DO $$ BEGIN
  PERFORM pctest.eq(pctest.revs(current_setting('pctest.h')::bigint), 0::bigint, 'nothing committed');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_roles WHERE tenant = 't1') > 0, true, 'rows kept');
END $$;
\echo ok - TRUNCATE records every tenant that had rows (CASCADE: every truncated table), nothing for an empty table, READ COMMITTED only

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint;
BEGIN
  INSERT INTO permcache.tenants VALUES ('big');
  INSERT INTO permcache.roles VALUES ('big', 'r');
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('big', 'p', 'allow', '{a}');
  INSERT INTO permcache.role_policies VALUES ('big', 'r', 'p');
  INSERT INTO permcache.memberships SELECT 'big', 'u' || i, 'suspended' FROM generate_series(1, 20000) i;
  INSERT INTO permcache.user_roles SELECT 'big', 'u' || i, 'r', '' FROM generate_series(1, 20000) i;
  COMMIT;
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id = 'big'),
                    0::bigint, 'all suspended');
  h := pctest.head();
  UPDATE permcache.memberships SET status = 'active' WHERE tenant = 'big';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'big/*', '20000-row UPDATE -> tenant-wide row');
  PERFORM pctest.eq((SELECT row(head_revision - effective_revision, pending_revisions)::text
                     FROM permcache.effective_status), '(1,1)', 'queued: > 10000 users');
  PERFORM pctest.eq(permcache.apply_effective_queue(10), pctest.head(), 'applied');
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id = 'big'),
                    20000::bigint, 'all active');
  PERFORM pctest.eq((SELECT row(head_revision - effective_revision, pending_revisions)::text
                     FROM permcache.effective_status), '(0,0)', 'current');
  PERFORM pctest.eq((SELECT value FROM permcache.pc_meta WHERE key = 'effective_revision'),
                    pctest.head()::text, 'pc_meta.effective_revision');
  -- a role held by > 10000 users: one key -> tenant-wide
  h := pctest.head();
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('big', 'p2', 'deny', '{b}');
  INSERT INTO permcache.role_policies VALUES ('big', 'r', 'p2');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'big/*', 'role with 20000 holders -> tenant-wide row');
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
  DELETE FROM permcache.tenants WHERE tenant = 'big';
  COMMIT;
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id = 'big'),
                    0::bigint, 'tenant gone');
END $$;
\echo ok - 20000-row UPDATE: tenant-wide changelog row, effective work queued and applied by apply_effective_queue

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
INSERT INTO permcache.memberships VALUES ('t1', 'rr1', 'active');
INSERT INTO permcache.user_roles VALUES ('t1', 'rr1', 'base', '');
UPDATE permcache.memberships SET status = 'active' WHERE tenant = 'td';
COMMIT;
DO $$
DECLARE
  h bigint := current_setting('pctest.h')::bigint;
BEGIN
  PERFORM pctest.eq(pctest.changes(h), 't1/*', 'REPEATABLE READ -> tenant-wide rows');
  PERFORM pctest.eq((SELECT isolation FROM permcache.pc_revisions WHERE revision = pctest.head()),
                    'repeatable read', 'isolation recorded');
  PERFORM pctest.eq((SELECT pending_revisions FROM permcache.effective_status), 1::bigint, 'queued');
  PERFORM pctest.eq(pctest.eff('t1', 'rr1'), '', 'not yet maintained');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.reconcile(false)), 1::bigint, 'reconcile sees the window');
END $$;
BEGIN ISOLATION LEVEL REPEATABLE READ;
DO $$ BEGIN
  PERFORM pctest.expect_error('SELECT permcache.apply_effective_queue(1)', '25000',
                              'apply_effective_queue requires READ COMMITTED');
  PERFORM pctest.expect_error('SELECT permcache.reconcile(true)', '25000',
                              'reconcile(true) requires READ COMMITTED');
END $$;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
INSERT INTO permcache.memberships VALUES ('td', 'sr1', 'active');
TRUNCATE permcache.pc_effective_queue;
COMMIT;
DO $$
DECLARE
  h bigint := current_setting('pctest.h')::bigint;
BEGIN
  PERFORM pctest.eq((SELECT string_agg(tenant || '/' || coalesce(user_id, '*'), ' ') FROM permcache.pc_changelog
                     WHERE revision = pctest.head()), 'td/*', 'SERIALIZABLE -> tenant-wide rows');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_pending), 0::bigint, 'nothing pending');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_txn_marker), 0::bigint, 'no marker left');
  -- the queue was emptied by hand above: apply finds only the SERIALIZABLE window
  PERFORM pctest.eq(permcache.apply_effective_queue(100), pctest.head(), 'applied');
  PERFORM pctest.eq(pctest.eff('td', 'sr1'), '', 'sr1 has no roles');
  -- rr1's window was dropped from the queue: reconcile finds it, fix repairs it
  PERFORM pctest.eq((SELECT string_agg(diff || ':' || user_id || ':' || policy_id, ' ') FROM permcache.reconcile(true)),
                    'missing:rr1:pbase', 'reconcile(true) reports what it fixed');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('t1', 'rr1'), 'pbase@role:base', 'rr1 fixed');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'clean');
END $$;
\echo ok - REPEATABLE READ / SERIALIZABLE writers: tenant-wide rows, queued effective work; apply/reconcile catch up

-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  h bigint := pctest.head();
BEGIN
  ALTER TABLE permcache.user_policies DISABLE TRIGGER USER;
  INSERT INTO permcache.user_policies VALUES ('t1', 'u1', 'pscoped');
  ALTER TABLE permcache.user_policies ENABLE TRIGGER USER;
  ALTER TABLE permcache.memberships DISABLE TRIGGER USER;
  UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't1' AND user_id = 'u2';
  ALTER TABLE permcache.memberships ENABLE TRIGGER USER;
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'not captured');
  PERFORM pctest.eq(
    (SELECT string_agg(diff || ':' || organization_id || ':' || user_id || ':' || policy_id || ':'
                       || business_unit_id || ':' || assignment_type || ':' || source_id, ' ')
     FROM permcache.reconcile(false)),
    'missing:t1:u1:pscoped::direct:pscoped extra:t1:u2:pbase::role:mid extra:t1:u2:pmid::role:mid',
    'reconcile(false)');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.reconcile(true)), 3::bigint, 'reconcile(true)');
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'fixed');
  PERFORM pctest.eq(pctest.eff('t1', 'u2'), '', 'u2');
  UPDATE permcache.memberships SET status = 'active' WHERE tenant = 't1' AND user_id = 'u2';
  DELETE FROM permcache.user_policies WHERE tenant = 't1' AND user_id = 'u1' AND policy = 'pscoped';
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'still clean');
  -- a changed non-key column shows as extra + missing
  UPDATE permcache.user_effective_policies SET priority = 99 WHERE organization_id = 't1' AND user_id = 'u1';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(diff, ' ') FROM permcache.reconcile(false)), 'extra missing', 'column diff');
  PERFORM permcache.reconcile(true);
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'fixed again');
END $$;
\echo ok - disabled triggers bypass capture; reconcile(false) reports every column difference, reconcile(true) fixes it

-- ---------------------------------------------------------------------------------------------
-- A hostile search_path cannot change what the triggers do.
CREATE TABLE public.tenants (tenant text);
CREATE TABLE public.pc_pending (txid bigint, kind text, tenant text, key text);
SET search_path = public;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
INSERT INTO permcache.memberships VALUES ('t1', 'sp1', 'active');
DO $$ BEGIN
  PERFORM pctest.eq(pctest.changes(current_setting('pctest.h')::bigint), 't1/sp1', 'captured');
  PERFORM pctest.eq((SELECT count(*) FROM public.pc_pending), 0::bigint, 'public.pc_pending untouched');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.memberships VALUES ('nope', 'x', 'active')$q$,
    '23503', 'tenant ''nope'' does not exist');
END $$;
SET search_path = pctest, permcache;
DROP TABLE public.tenants, public.pc_pending;
\echo ok - triggers are immune to the search_path of the writer

-- ---------------------------------------------------------------------------------------------
LISTEN permcache;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
BEGIN;
INSERT INTO permcache.memberships VALUES ('t1', 'nt1', 'active');
INSERT INTO permcache.memberships VALUES ('t1', 'nt2', 'active');
UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't1' AND user_id LIKE 'nt%';
COMMIT;
DO $$ BEGIN
  PERFORM pctest.eq(pctest.revs(current_setting('pctest.h')::bigint), 1::bigint, 'one revision, so one NOTIFY');
  PERFORM pctest.eq(pg_notification_queue_usage() BETWEEN 0 AND 0.5, true, 'queue usage');
END $$;
UNLISTEN permcache;
\echo ok - NOTIFY permcache once per transaction (payload = revision), queue usage checked

-- A second session LISTENs (dblink): exactly one notification per committed revision, in commit
-- order, none for a rolled-back transaction (also when its commit step already ran).
DO $$ BEGIN
  PERFORM pctest.dblink_connect('ln', current_setting('pctest.conninfo'));
  PERFORM pctest.dblink_exec('ln', 'LISTEN permcache');
END $$;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
INSERT INTO permcache.memberships VALUES ('t1', 'nq1', 'active');
INSERT INTO permcache.memberships VALUES ('t1', 'nq2', 'active');
BEGIN;
INSERT INTO permcache.memberships VALUES ('t1', 'nq3', 'active');
ROLLBACK;
BEGIN;
INSERT INTO permcache.memberships VALUES ('t1', 'nq4', 'active');
SELECT count(*) FROM permcache.pc_finish() \gset
ROLLBACK;
BEGIN;
INSERT INTO permcache.memberships VALUES ('t1', 'nq5', 'active');
SELECT count(*) FROM permcache.pc_finish() \gset
INSERT INTO permcache.memberships VALUES ('t1', 'nq6', 'active');
COMMIT;
DO $$
DECLARE
  want text;
  got text[] := '{}';
  waited int := 0;
BEGIN
  SELECT string_agg(revision::text, ' ' ORDER BY revision) INTO want
  FROM permcache.pc_revisions WHERE revision > current_setting('pctest.h')::bigint;
  PERFORM pctest.eq(cardinality(string_to_array(want, ' ')), 4, 'nq1, nq2, nq5 (pc_finish), nq6');
  LOOP  -- until four arrived (at most 5 s)
    got := got || ARRAY(SELECT n.extra FROM pctest.dblink_get_notify('ln') n WHERE n.notify_name = 'permcache');
    EXIT WHEN cardinality(got) >= 4 OR waited >= 100;
    waited := waited + 1;
    PERFORM pg_sleep(0.05);
  END LOOP;
  PERFORM pg_sleep(0.2);  -- and a little longer, to catch any extra one
  got := got || ARRAY(SELECT n.extra FROM pctest.dblink_get_notify('ln') n WHERE n.notify_name = 'permcache');
  PERFORM pctest.eq(array_to_string(got, ' '), want, 'one NOTIFY per committed revision, in order');
  PERFORM pctest.dblink_disconnect('ln');
END $$;
\echo ok - a listener gets NOTIFY permcache '<revision>' exactly once per committed revision, never for a rollback

-- ---------------------------------------------------------------------------------------------
-- Two sessions (dblink): commit order, concurrent half cycles, concurrent SERIALIZABLE writers.
DO $$
DECLARE
  ci text := current_setting('pctest.conninfo');
  r1 bigint;
  r2 bigint;
  res text;
  waited int := 0;
BEGIN
  PERFORM pctest.dblink_connect('c1', ci);
  PERFORM pctest.dblink_connect('c2', ci);

  -- commit order: c1 writes first but commits last -> c1 gets the higher revision
  PERFORM pctest.dblink_exec('c1', 'BEGIN');
  PERFORM pctest.dblink_exec('c1', $q$INSERT INTO permcache.memberships VALUES ('t1', 'co1', 'active')$q$);
  PERFORM pctest.dblink_exec('c2', $q$INSERT INTO permcache.memberships VALUES ('t1', 'co2', 'active')$q$);
  PERFORM pctest.dblink_exec('c1', 'COMMIT');
  SELECT c.revision INTO r1 FROM permcache.pc_changelog c WHERE c.user_id = 'co1';
  SELECT c.revision INTO r2 FROM permcache.pc_changelog c WHERE c.user_id = 'co2';
  PERFORM pctest.eq(r1 > r2, true, format('revisions in commit order (%s > %s)', r1, r2));

  -- two READ COMMITTED transactions each adding half of a cycle
  INSERT INTO permcache.roles VALUES ('t1', 'hx'), ('t1', 'hy');
  COMMIT;
  PERFORM pctest.dblink_exec('c1', 'BEGIN');
  PERFORM pctest.dblink_exec('c1', $q$INSERT INTO permcache.role_inherits VALUES ('t1', 'hx', 'hy', 0)$q$);
  PERFORM pctest.dblink_send_query('c2',
    $q$SELECT pctest.try('INSERT INTO permcache.role_inherits VALUES (''t1'', ''hy'', ''hx'', 0)')$q$);
  LOOP  -- until c2 waits for the tenant's graph lock held by c1
    EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted);
    waited := waited + 1;
    IF waited > 100 THEN RAISE EXCEPTION 'c2 never waited for the graph lock'; END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  PERFORM pctest.dblink_exec('c1', 'COMMIT');
  SELECT x INTO res FROM pctest.dblink_get_result('c2') AS t(x text);
  PERFORM pctest.dblink_get_result('c2');
  PERFORM pctest.eq(res, 'role inheritance cycle: hy>hx>hy', 'second half refused');

  -- two SERIALIZABLE writers of different tenants, interleaved: neither fails
  PERFORM pctest.dblink_exec('c1', 'BEGIN ISOLATION LEVEL SERIALIZABLE');
  PERFORM pctest.dblink_exec('c2', 'BEGIN ISOLATION LEVEL SERIALIZABLE');
  PERFORM pctest.dblink_exec('c1', $q$INSERT INTO permcache.memberships VALUES ('t1', 'ss1', 'active')$q$);
  PERFORM pctest.dblink_exec('c2', $q$INSERT INTO permcache.memberships VALUES ('tc', 'ss2', 'active')$q$);
  PERFORM pctest.dblink_exec('c1', $q$UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't1' AND user_id = 'ss1'$q$);
  PERFORM pctest.dblink_exec('c2', $q$UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 'tc' AND user_id = 'ss2'$q$);
  PERFORM pctest.dblink_exec('c1', 'COMMIT');
  PERFORM pctest.dblink_exec('c2', 'COMMIT');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.memberships WHERE user_id IN ('ss1', 'ss2')), 2::bigint,
                    'both committed');

  PERFORM pctest.dblink_disconnect('c1');
  PERFORM pctest.dblink_disconnect('c2');
  PERFORM permcache.apply_effective_queue(100);
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - concurrency: revisions in commit order, concurrent half cycles refused, SERIALIZABLE writers do not fail each other

-- ---------------------------------------------------------------------------------------------
-- Random-ish mixed writes; the effective table must equal a from-scratch recompute throughout.
DO $$
DECLARE
  i int;
  op int;
  t text; u text; r text; r2 text; p text; b text;
  done int := 0;
  refused int := 0;
  cycles int := 0;
BEGIN
  PERFORM setseed(0.42);
  FOR i IN 1..2 LOOP
    INSERT INTO permcache.tenants VALUES ('rt' || i);
    INSERT INTO permcache.business_units VALUES ('rt' || i, 'b0'), ('rt' || i, 'b1');
    INSERT INTO permcache.roles SELECT 'rt' || i, 'r' || j FROM generate_series(0, 5) j;
    INSERT INTO permcache.policies SELECT 'rt' || i, 'p' || j, 'allow', 0, ARRAY['p' || j || ':read'], NULL
      FROM generate_series(0, 5) j;
    INSERT INTO permcache.memberships SELECT 'rt' || i, 'u' || j, 'active' FROM generate_series(0, 7) j;
  END LOOP;
  COMMIT;
  FOR i IN 1..260 LOOP
    t := 'rt' || (1 + floor(random() * 2))::int;
    u := 'u' || floor(random() * 8)::int;
    r := 'r' || floor(random() * 6)::int;
    r2 := 'r' || floor(random() * 6)::int;
    p := 'p' || floor(random() * 6)::int;
    b := (ARRAY['', 'b0', 'b1'])[1 + floor(random() * 3)::int];
    op := floor(random() * 17)::int;
    BEGIN
      CASE op
      WHEN 0 THEN
        INSERT INTO permcache.memberships VALUES (t, u, 'active')
          ON CONFLICT (tenant, user_id) DO UPDATE SET status = 'active';
      WHEN 1 THEN
        UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = t AND user_id = u;
      WHEN 2 THEN
        DELETE FROM permcache.memberships WHERE tenant = t AND user_id = u;
      WHEN 3, 4 THEN
        INSERT INTO permcache.user_roles VALUES (t, u, r, b) ON CONFLICT DO NOTHING;
      WHEN 5 THEN
        DELETE FROM permcache.user_roles WHERE tenant = t AND user_id = u AND role = r;
      WHEN 6 THEN
        INSERT INTO permcache.role_policies VALUES (t, r, p) ON CONFLICT DO NOTHING;
      WHEN 7 THEN
        DELETE FROM permcache.role_policies WHERE tenant = t AND role = r AND policy = p;
      WHEN 8, 9 THEN
        INSERT INTO permcache.role_inherits VALUES (t, r, r2, floor(random() * 3)::int)
          ON CONFLICT DO NOTHING;
      WHEN 10 THEN
        DELETE FROM permcache.role_inherits WHERE tenant = t AND role = r;
      WHEN 11 THEN
        INSERT INTO permcache.user_policies VALUES (t, u, p) ON CONFLICT DO NOTHING;
      WHEN 12 THEN
        UPDATE permcache.policies
          SET priority = floor(random() * 3)::int,
              effect = CASE WHEN random() < 0.5 THEN 'allow' ELSE 'deny' END,
              scope = NULLIF(b, '')
          WHERE tenant = t AND policy = p;
      WHEN 13 THEN
        IF random() < 0.4 THEN
          DELETE FROM permcache.roles WHERE tenant = t AND role = r;
        ELSE
          INSERT INTO permcache.roles VALUES (t, r) ON CONFLICT DO NOTHING;
        END IF;
      WHEN 14 THEN
        IF random() < 0.4 THEN
          DELETE FROM permcache.policies WHERE tenant = t AND policy = p;
        ELSE
          INSERT INTO permcache.policies VALUES (t, p, 'allow', 0, ARRAY[p || ':*'], NULL)
            ON CONFLICT DO NOTHING;
        END IF;
      WHEN 15 THEN
        IF b <> '' AND random() < 0.3 THEN
          DELETE FROM permcache.business_units WHERE tenant = t AND business_unit = b;
        ELSIF b <> '' THEN
          INSERT INTO permcache.business_units VALUES (t, b) ON CONFLICT DO NOTHING;
        END IF;
      WHEN 16 THEN
        -- replace r's inherits list in one go (as put_role does)
        DELETE FROM permcache.role_inherits WHERE tenant = t AND role = r;
        INSERT INTO permcache.role_inherits VALUES (t, r, r2, 0), (t, r, 'r' || floor(random() * 6)::int, 1)
          ON CONFLICT DO NOTHING;
      END CASE;
      done := done + 1;
    EXCEPTION
      WHEN foreign_key_violation THEN refused := refused + 1;
      WHEN check_violation THEN
        IF SQLERRM LIKE 'role inheritance cycle: %' THEN cycles := cycles + 1; END IF;
        refused := refused + 1;
    END;
    IF random() < 0.1 THEN PERFORM permcache.pc_finish(); END IF;
    IF random() < 0.75 THEN COMMIT; END IF;  -- the other writes share a transaction
    IF i % 40 = 0 THEN
      COMMIT;
      IF pctest.reconcile_count() <> 0 THEN
        RAISE EXCEPTION 'after write %: % differences', i, pctest.reconcile_count();
      END IF;
    END IF;
  END LOOP;
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'final reconcile');
  PERFORM pctest.eq((SELECT pending_revisions FROM permcache.effective_status), 0::bigint, 'nothing queued');
  IF done < 150 OR cycles < 1 THEN
    RAISE EXCEPTION 'random test too weak: % applied, % refused, % cycles', done, refused, cycles;
  END IF;
  IF (SELECT count(*) FROM permcache.user_effective_policies WHERE organization_id LIKE 'rt%') < 5 THEN
    RAISE EXCEPTION 'random test too weak: almost no effective rows';
  END IF;
END $$;
\echo ok - 260 random mixed writes (inheritance, deletes, suspensions, BU scoping): user_effective_policies = reconcile, zero differences

-- ---------------------------------------------------------------------------------------------
-- Changelog retention
DO $$
DECLARE
  ci text := current_setting('pctest.conninfo');
  h bigint;
  p bigint;
  n bigint;
  first_rows bigint;
  total bigint := 0;
  rows_before bigint;
  calls int := 0;
BEGIN
  PERFORM pctest.eq(permcache.oldest_revision(), 1::bigint, 'nothing pruned yet');
  PERFORM pctest.eq(permcache.pruned_through(), 0::bigint, 'pruned_through: nothing');
  PERFORM pctest.eq(permcache.prune_changelog(), 0::bigint, 'default keep (24 hours): nothing is due');
  PERFORM pctest.eq(permcache.prune_changelog('0 seconds', 0), 0::bigint, 'max_rows 0');
  PERFORM pctest.expect_error('SELECT permcache.prune_changelog(NULL)', '22023', NULL);
  COMMIT;  -- (the prune lock is per transaction)

  -- a second pruner gets 0 while the first one's transaction holds the prune lock
  PERFORM pctest.dblink_connect('c1', ci);
  PERFORM pctest.dblink_exec('c1', 'BEGIN');
  PERFORM pctest.eq((SELECT x FROM pctest.dblink('c1', $q$SELECT permcache.prune_changelog('100 years')$q$)
                     AS t(x bigint)), 0::bigint, 'c1: nothing that old');
  PERFORM pctest.eq((SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                     AND pid <> pg_backend_pid()), 1::bigint, 'c1 holds the prune lock');
  PERFORM pctest.eq(permcache.prune_changelog('0 seconds'), 0::bigint, 'busy: 0');
  PERFORM pctest.eq(permcache.oldest_revision(), 1::bigint, 'still nothing pruned');
  -- writers do not wait for a pruner
  INSERT INTO permcache.memberships VALUES ('t1', 'pr1', 'active');
  COMMIT;
  PERFORM pctest.dblink_exec('c1', 'COMMIT');
  PERFORM pctest.dblink_disconnect('c1');

  h := pctest.head();
  SELECT max(revision) INTO p FROM permcache.pc_revisions WHERE revision < h;
  rows_before := (SELECT count(*) FROM permcache.pc_revisions) + (SELECT count(*) FROM permcache.pc_changelog);
  -- max_rows 1: the oldest revision is still deleted whole (its row + its changelog rows)
  SELECT 1 + count(c.revision) INTO first_rows FROM permcache.pc_revisions r
    LEFT JOIN permcache.pc_changelog c USING (revision)
    WHERE r.revision = (SELECT min(revision) FROM permcache.pc_revisions) GROUP BY r.revision;
  PERFORM pctest.eq(first_rows > 1, true, 'the oldest revision has changelog rows');
  PERFORM pctest.eq(permcache.prune_changelog('0 seconds', 1), first_rows, 'max_rows 1: one whole revision');
  COMMIT;
  total := first_rows;
  LOOP
    n := permcache.prune_changelog('0 seconds', 50);
    COMMIT;
    EXIT WHEN n = 0;
    PERFORM pctest.eq(n <= 50, true, format('batch %s: %s rows', calls, n));
    total := total + n;
    calls := calls + 1;
  END LOOP;
  PERFORM pctest.eq(calls > 3, true, 'several batches');
  PERFORM pctest.eq((SELECT array_agg(revision) FROM permcache.pc_revisions), ARRAY[h], 'only the newest revision kept');
  PERFORM pctest.eq(pctest.head(), h, 'head readable');
  PERFORM pctest.eq(pctest.changes(p), 't1/pr1', 'the head''s changelog rows kept');
  PERFORM pctest.eq(total, rows_before - 2, 'returned counts = rows deleted');
  PERFORM pctest.eq(permcache.oldest_revision(), p + 1, 'oldest_revision = newest pruned + 1');
  PERFORM pctest.eq(permcache.pruned_through(), p, 'pruned_through = newest pruned');
  PERFORM pctest.eq((SELECT value FROM permcache.pc_meta WHERE key = 'oldest_revision'), (p + 1)::text, 'pc_meta');
  -- a reader at cursor c is behind the kept changelog iff c + 1 < oldest_revision()
  PERFORM pctest.eq((p - 1) + 1 < permcache.oldest_revision(), true, 'cursor p - 1 missed revision p');
  PERFORM pctest.eq(p + 1 < permcache.oldest_revision(), false, 'cursor p only needs the kept head');
  PERFORM pctest.eq(permcache.prune_changelog('0 seconds'), 0::bigint, 'the head is never pruned');

  -- keep: revisions committed within it stay, and pruning stops at the first of them
  INSERT INTO permcache.memberships VALUES ('t1', 'pr2', 'active');
  COMMIT;
  UPDATE permcache.pc_revisions SET committed_at_ms = committed_at_ms - 7200000 WHERE revision = h;
  COMMIT;
  PERFORM pctest.eq(permcache.prune_changelog('1 hour'), 2::bigint, 'the 2-hour-old revision (1 + 1 row)');
  COMMIT;
  PERFORM pctest.eq(permcache.oldest_revision(), h + 1, 'oldest_revision after it');
  PERFORM pctest.eq((SELECT row(effective_revision, head_revision)::text FROM permcache.effective_status),
                    (SELECT row(pctest.head(), pctest.head())::text), 'effective_status unaffected');
END $$;
\echo ok - prune_changelog: whole revisions oldest first in bounded batches, keeps the head, one pruner at a time (busy -> 0), oldest_revision()

-- ---------------------------------------------------------------------------------------------
CREATE ROLE pctest_plain NOLOGIN;
GRANT USAGE ON SCHEMA permcache TO pctest_plain;
GRANT SELECT ON permcache.pc_meta TO pctest_plain;
SET ROLE pctest_plain;
SELECT set_config('pctest.epoch_plain', permcache.store_epoch(), false) AS e \gset
RESET ROLE;
DO $$
DECLARE
  e text := permcache.store_epoch();
BEGIN
  PERFORM pctest.eq(e, permcache.store_epoch(), 'stable across calls');
  PERFORM pctest.eq(e, current_setting('pctest.epoch_plain'), 'same for a plain role');
  PERFORM pctest.eq(e, (SELECT value FROM permcache.pc_meta WHERE key = 'store_id') || ':'
                       || (SELECT system_identifier FROM pg_control_system()) || ':'
                       || (SELECT timeline_id FROM pg_control_checkpoint()), 'parts');
  PERFORM pctest.eq(e ~ '^[0-9a-f-]{36}:[0-9]+:[0-9]+$', true, 'format');
  CHECKPOINT;
  PERFORM pctest.eq(permcache.store_epoch(), e, 'stable across a checkpoint');
END $$;
DROP OWNED BY pctest_plain;
DROP ROLE pctest_plain;
\echo ok - store_epoch(): store_id:system_identifier:timeline_id, stable, callable by a plain role


-- ---------------------------------------------------------------------------------------------
-- Records (migration 2): resources, resource grants, UI elements.

DO $$
DECLARE
  h bigint;
  v bigint;
BEGIN
  PERFORM pctest.fixture('r1');
  INSERT INTO permcache.resources (tenant, resource, type, owner, state, version)
    VALUES ('r1', 'doc', 'media', 'u1', 'private', 0);  -- even an invalid version is replaced
  INSERT INTO permcache.ui_elements (tenant, element) VALUES ('r1', 'menu');
  INSERT INTO permcache.ui_element_roles VALUES ('r1', 'menu', 'base');
  COMMIT;
  -- Versions come from one sequence (migration 3): a written value is overridden.
  v := (SELECT version FROM permcache.resources WHERE resource = 'doc');
  PERFORM pctest.eq(v = last_value, true, 'a new resource takes the sequence''s next version')
    FROM permcache.resource_versions;

  h := pctest.head();
  UPDATE permcache.resources SET state = 'public' WHERE tenant = 'r1' AND resource = 'doc';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'r1/resource:doc', 'state change: the resource key');
  PERFORM pctest.eq((SELECT version FROM permcache.resources WHERE resource = 'doc') > v, true,
                    'state change bumps the version');
  v := (SELECT version FROM permcache.resources WHERE resource = 'doc');
  h := pctest.head();
  UPDATE permcache.resources SET type = 'audio' WHERE resource = 'doc';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'r1/resource:doc', 'type change: the resource key');
  PERFORM pctest.eq((SELECT version FROM permcache.resources WHERE resource = 'doc'), v,
                    'type change keeps the version');
  h := pctest.head();
  UPDATE permcache.resources SET version = 9 WHERE resource = 'doc';
  UPDATE permcache.resources SET state = state WHERE resource = 'doc';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'a written version is overridden: no change');
  UPDATE permcache.resources SET owner = 'u2', password_hash = 'h' WHERE resource = 'doc';
  COMMIT;
  PERFORM pctest.eq((SELECT version FROM permcache.resources WHERE resource = 'doc') > v, true,
                    'owner and password in one UPDATE: a bump');
  v := (SELECT version FROM permcache.resources WHERE resource = 'doc');

  h := pctest.head();
  INSERT INTO permcache.resource_grants VALUES ('r1', 'doc', 'u2', '{audio:view}'),
                                               ('r1', 'doc', 'u6', '{*}');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'r1/u2 r1/u6', 'grants: the grantees');
  h := pctest.head();
  DELETE FROM permcache.ui_element_roles WHERE element = 'menu';
  UPDATE permcache.ui_elements SET active = false WHERE element = 'menu';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'r1/element:menu', 'element and its links: the element key');
  h := pctest.head();
  DELETE FROM permcache.resources WHERE resource = 'doc';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'r1/resource:doc r1/u2 r1/u6',
                    'a resource delete: its key and the cascaded grantees');
  -- Created again under the same id: a version no token of the old one carries (no ABA).
  INSERT INTO permcache.resources (tenant, resource, type, state, version)
    VALUES ('r1', 'doc', 'media', 'restricted', v);
  COMMIT;
  PERFORM pctest.eq((SELECT version FROM permcache.resources WHERE resource = 'doc') > v, true,
                    'a recreated resource never meets an old version');
  DELETE FROM permcache.resources WHERE resource = 'doc';
  COMMIT;

  -- Record keys are no users: no effective rows, nothing queued, reconcile clean.
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies
                     WHERE user_id LIKE '%:%'), 0::bigint, 'no effective rows for record keys');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_effective_queue), 0::bigint, 'nothing queued');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - records: resource / grantee / element keys through the commit step, version bumps on state, owner, password only

DO $$
DECLARE
  h bigint;
BEGIN
  INSERT INTO permcache.resources (tenant, resource, type, state) VALUES ('r1', 'pic', 'image', 'private');
  INSERT INTO permcache.ui_elements (tenant, element) VALUES ('r1', 'bar');
  COMMIT;
  h := pctest.head();
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.resources (tenant, resource, type, state) VALUES ('nope', 'r', 'media', 'public')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.resource_grants VALUES ('nope', 'pic', 'u1', '{image:view}')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.resource_grants VALUES ('r1', 'ghost', 'u1', '{image:view}')$q$,
    '23503', 'resource ''ghost'' does not exist in tenant ''r1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.resource_grants VALUES ('r1', 'pic', 'u1', '{image:view,media:view}')$q$,
    '23514', 'permission pattern ''media:view'' does not start with the resource''s type ''image''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.ui_element_roles VALUES ('r1', 'bar', 'ghost')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''r1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.ui_element_roles VALUES ('r1', 'nobar', 'base')$q$,
    '23503', 'ui element ''nobar'' does not exist in tenant ''r1''');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resources SET state = 'secret' WHERE resource = 'pic'$q$,
    '23514', NULL, 'resources_state_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resources SET type = 'a:b' WHERE resource = 'pic'$q$,
    '23514', NULL, 'resources_type_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resources SET owner = 'a:b' WHERE resource = 'pic'$q$,
    '23514', NULL, 'resources_owner_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resources SET password_hash = '' WHERE resource = 'pic'$q$,
    '23514', NULL, 'resources_password_hash_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.resource_grants VALUES ('r1', 'pic', 'u1', '{}')$q$,
    '23514', NULL, 'resource_grants_permissions_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.ui_elements SET required_permissions = '{ui:*}' WHERE element = 'bar'$q$,
    '23514', NULL, 'ui_elements_required_permissions_check');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'refused writes record nothing');
END $$;
\echo ok - records: CHECKs (23514), reference and pattern-type errors with the C++ messages

-- ---------------------------------------------------------------------------------------------
-- Validity intervals (migration 4): starts_at / expires_at, pending memberships.

DO $$
DECLARE
  h bigint;
BEGIN
  PERFORM pctest.fixture('i1');
  INSERT INTO permcache.resources (tenant, resource, type, state)
    VALUES ('i1', 'doc', 'media', 'private');
  INSERT INTO permcache.resource_grants VALUES ('i1', 'doc', 'u1', '{media:view}');
  COMMIT;
  h := pctest.head();
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.memberships SET starts_at = '2026-12-02Z', expires_at = '2026-12-01Z'
       WHERE tenant = 'i1' AND user_id = 'u1'$q$, '23514', NULL, 'memberships_interval_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.user_roles SET starts_at = '2026-12-01Z', expires_at = '2026-12-01Z'
       WHERE tenant = 'i1' AND user_id = 'u1'$q$, '23514', NULL, 'user_roles_interval_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.user_policies SET starts_at = '2026-12-02Z', expires_at = '2026-12-01Z'
       WHERE tenant = 'i1'$q$, '23514', NULL, 'user_policies_interval_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resource_grants SET starts_at = '2026-12-02Z', expires_at = '2026-12-01Z'
       WHERE tenant = 'i1'$q$, '23514', NULL, 'resource_grants_interval_check');
  -- Years outside 0001-9999 (and infinity: NULL is "unbounded") are refused as validation does.
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.user_roles SET expires_at = 'infinity' WHERE tenant = 'i1'$q$,
    '23514', NULL, 'user_roles_interval_range_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.memberships SET starts_at = '10000-01-01Z' WHERE tenant = 'i1'$q$,
    '23514', NULL, 'memberships_interval_range_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.user_policies SET starts_at = '0001-01-01Z'::timestamptz - interval '1 us'
       WHERE tenant = 'i1'$q$, '23514', NULL, 'user_policies_interval_range_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.resource_grants SET expires_at = '-infinity' WHERE tenant = 'i1'$q$,
    '23514', NULL, 'resource_grants_interval_range_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.memberships SET status = 'invited' WHERE tenant = 'i1'$q$,
    '23514', NULL, 'memberships_status_check');
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'refused writes record nothing');

  -- One bound alone, and the first and last instants allowed, are fine.
  UPDATE permcache.user_roles SET starts_at = '0001-01-01Z'
    WHERE tenant = 'i1' AND user_id = 'u2';
  UPDATE permcache.resource_grants SET expires_at = '9999-12-31 23:59:59.999Z'
    WHERE tenant = 'i1';
  INSERT INTO permcache.memberships VALUES ('i1', 'u7', 'pending');
  INSERT INTO permcache.user_roles (tenant, user_id, role) VALUES ('i1', 'u7', 'base');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'i1/u1 i1/u2 i1/u7', 'bounds and a pending member');
  PERFORM pctest.eq(pctest.eff('i1', 'u7'), '', 'pending: no rows, like suspended');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - intervals: CHECKs (23514) for empty intervals and years outside 0001-9999, status pending accepted and without effective rows

DO $$
DECLARE
  h bigint;
BEGIN
  -- A direct UPDATE of only expires_at is a change of that user, recorded once; the same
  -- interval again is none.
  h := pctest.head();
  UPDATE permcache.user_roles SET expires_at = '2026-12-02 12:00:00Z'
    WHERE tenant = 'i1' AND user_id = 'u1';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'one revision');
  PERFORM pctest.eq(pctest.changes(h), 'i1/u1', 'expires_at of a user role: that user, once');
  h := pctest.head();
  UPDATE permcache.user_roles SET expires_at = '2026-12-02 12:00:00Z'
    WHERE tenant = 'i1' AND user_id = 'u1';
  UPDATE permcache.user_roles SET starts_at = starts_at WHERE tenant = 'i1';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'the same interval again: no revision');
  UPDATE permcache.memberships SET expires_at = '2026-12-03Z' WHERE tenant = 'i1' AND user_id = 'u4';
  UPDATE permcache.user_policies SET starts_at = '2026-11-30Z' WHERE tenant = 'i1';
  UPDATE permcache.resource_grants SET expires_at = NULL WHERE tenant = 'i1';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'i1/u1 i1/u4',
                    'membership, user policy, resource grant intervals: their users, once each');
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'one revision for the transaction');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - intervals: a direct UPDATE of only expires_at (or starts_at) records the user once, the same interval again nothing

DO $$
DECLARE
  seed constant text :=
    'SELECT policy_id FROM permcache.user_effective_policies '
    'WHERE user_id = $1 AND organization_id = $2 '
    '  AND (starts_at IS NULL OR starts_at <= now()) AND (expires_at IS NULL OR now() < expires_at) '
    'ORDER BY policy_id, assignment_type';
  got text;
BEGIN
  -- The row's interval is the intersection of the membership's and the assignment's.
  UPDATE permcache.memberships SET starts_at = '2026-01-01Z', expires_at = '2027-01-01Z'
    WHERE tenant = 'i1' AND user_id = 'u2';
  UPDATE permcache.user_roles SET starts_at = '2026-06-01Z', expires_at = '2028-01-01Z'
    WHERE tenant = 'i1' AND user_id = 'u2';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(policy_id || ' ' || starts_at::text || ' ' || expires_at::text,
                                       ', ' ORDER BY policy_id)
                     FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u2'),
                    'pbase 2026-06-01 00:00:00+00 2027-01-01 00:00:00+00, '
                    'pmid 2026-06-01 00:00:00+00 2027-01-01 00:00:00+00', 'intersection (role)');
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u4' AND assignment_type = 'direct'),
                    '("2026-11-30 00:00:00+00","2026-12-03 00:00:00+00")', 'intersection (direct)');
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u4' AND assignment_type = 'role'),
                    '(,"2026-12-03 00:00:00+00")', 'membership bound only');
  -- A change of only an interval rewrites the row (recompute-and-diff compares the interval).
  UPDATE permcache.memberships SET expires_at = NULL WHERE tenant = 'i1' AND user_id = 'u2';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(DISTINCT coalesce(expires_at::text, 'none'), ',')
                     FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u2'),
                    '2028-01-01 00:00:00+00', 'only the membership''s bound changed: rows follow');

  -- The seed's query with now(): the row inside its interval, not before or after it.
  UPDATE permcache.memberships SET starts_at = NULL, expires_at = NULL WHERE tenant = 'i1';
  UPDATE permcache.user_roles SET starts_at = now() - interval '1 hour',
                                  expires_at = now() + interval '1 hour'
    WHERE tenant = 'i1' AND user_id = 'u1';
  UPDATE permcache.user_roles SET starts_at = now() + interval '1 hour', expires_at = NULL
    WHERE tenant = 'i1' AND user_id = 'u2';
  UPDATE permcache.user_policies SET starts_at = NULL, expires_at = now() - interval '1 second'
    WHERE tenant = 'i1' AND user_id = 'u4';
  UPDATE permcache.user_roles SET starts_at = NULL, expires_at = NULL
    WHERE tenant = 'i1' AND user_id = 'u4';
  COMMIT;
  EXECUTE seed INTO got USING 'u1', 'i1';
  PERFORM pctest.eq(got, 'pbase', 'inside its interval: counted');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u2'), 2::bigint,
                    'not started yet: the rows are there');
  EXECUTE seed INTO got USING 'u2', 'i1';
  PERFORM pctest.eq(got, NULL::text, 'not started yet: not counted');
  EXECUTE 'SELECT string_agg(p, '' '') FROM (' || seed || ') s(p)' INTO got USING 'u4', 'i1';
  PERFORM pctest.eq(got, 'pscoped', 'expired direct policy: not counted, the role still is');
  -- An active membership outside its interval: rows kept, none counted.
  UPDATE permcache.memberships SET expires_at = now() - interval '1 minute',
                                   starts_at = now() - interval '1 day'
    WHERE tenant = 'i1' AND user_id = 'u1';
  COMMIT;
  EXECUTE seed INTO got USING 'u1', 'i1';
  PERFORM pctest.eq(got, NULL::text, 'expired membership: not counted');
  PERFORM pctest.eq(pctest.eff('i1', 'u1'), 'pbase@role:base', 'expired membership: row kept');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');

  -- reconcile compares the interval too, and fixes it.
  UPDATE permcache.user_effective_policies SET expires_at = NULL
    WHERE organization_id = 'i1' AND user_id = 'u1';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(diff, ' ' ORDER BY diff) FROM permcache.reconcile(false)
                     WHERE organization_id = 'i1'), 'extra missing', 'interval difference found');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.reconcile(true)), 2::bigint, 'fixed');
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile after the fix');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies
                     WHERE organization_id = 'i1' AND user_id = 'u1' AND expires_at IS NOT NULL),
                    1::bigint, 'the fix restored the interval');
END $$;
\echo ok - intervals: effective rows carry the intersection of membership and assignment intervals; the seed query with now() counts them only inside it; reconcile compares intervals

-- ---------------------------------------------------------------------------------------------
-- Groups (migration 5): groups, group_members, group_roles, group_policies.

DO $$
DECLARE
  h bigint;
BEGIN
  PERFORM pctest.fixture('gr1');
  INSERT INTO permcache.groups (tenant, group_id, status) VALUES ('gr1', 'g1', 'active');
  COMMIT;
  h := pctest.head();
  -- CHECKs (23514)
  PERFORM pctest.expect_error($q$INSERT INTO permcache.groups VALUES ('gr1', 'a:b', 'active')$q$,
    '23514', NULL, 'groups_group_id_check');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.groups VALUES ('gr1', 'g9', 'pending')$q$,
    '23514', NULL, 'groups_status_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.groups SET starts_at = '2026-12-02Z', expires_at = '2026-12-01Z'
       WHERE tenant = 'gr1'$q$, '23514', NULL, 'groups_interval_check');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.groups SET expires_at = 'infinity' WHERE tenant = 'gr1'$q$,
    '23514', NULL, 'groups_interval_range_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_members VALUES ('gr1', 'g1', 'bad:user')$q$,
    '23514', NULL, 'group_members_user_id_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_roles VALUES ('gr1', 'g1', 'base', 'b:1')$q$,
    '23514', NULL, 'group_roles_business_unit_check');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_policies VALUES ('gr1', 'g1', 'p p')$q$,
    '23514', NULL, 'group_policies_policy_check');
  -- Missing references (23503), named as the C++ stores name them, in their order.
  PERFORM pctest.expect_error($q$INSERT INTO permcache.groups VALUES ('nope', 'g1', 'active')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.group_members VALUES ('nope', 'ghost', 'u1')$q$,
    '23503', 'tenant ''nope'' does not exist');
  PERFORM pctest.expect_error($q$INSERT INTO permcache.group_members VALUES ('gr1', 'ghost', 'u1')$q$,
    '23503', 'group ''ghost'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_roles VALUES ('gr1', 'ghost', 'ghost', 'lab')$q$,
    '23503', 'group ''ghost'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_roles VALUES ('gr1', 'g1', 'ghost', 'lab')$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_roles VALUES ('gr1', 'g1', 'base', 'lab')$q$,
    '23503', 'business unit ''lab'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_policies VALUES ('gr1', 'ghost', 'ghost')$q$,
    '23503', 'group ''ghost'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$INSERT INTO permcache.group_policies VALUES ('gr1', 'g1', 'ghost')$q$,
    '23503', 'policy ''ghost'' does not exist in tenant ''gr1''');
  INSERT INTO permcache.group_members VALUES ('gr1', 'g1', 'u1');
  INSERT INTO permcache.group_roles VALUES ('gr1', 'g1', 'base', '');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.group_members SET group_id = 'ghost' WHERE tenant = 'gr1'$q$,
    '23503', 'group ''ghost'' does not exist in tenant ''gr1''');
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.group_roles SET role = 'ghost' WHERE tenant = 'gr1'$q$,
    '23503', 'role ''ghost'' does not exist in tenant ''gr1''');
  -- A group with members cannot be renamed under them (the foreign key).
  PERFORM pctest.expect_error(
    $q$UPDATE permcache.groups SET group_id = 'g9' WHERE tenant = 'gr1'$q$, '23503', NULL,
    'group_members_group_fkey');
  ROLLBACK;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'refused writes record nothing');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.group_members WHERE tenant = 'gr1'), 0::bigint,
                    'rolled back');
END $$;
\echo ok - groups: CHECKs (23514), missing tenant / group / role / business unit / policy named as the C++ stores do (23503), a group key under its members

DO $$
DECLARE
  h bigint;
BEGIN
  -- A new group has no members: a revision without keys.
  h := pctest.head();
  INSERT INTO permcache.groups VALUES ('gr1', 'g2', 'active', NULL, NULL);
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 1::bigint, 'a revision');
  PERFORM pctest.eq(pctest.changes(h), '', 'no members, no keys');
  -- Members: that user. u1 has a membership, u5 a suspended one, u7 none.
  h := pctest.head();
  INSERT INTO permcache.group_members VALUES ('gr1', 'g1', 'u1'), ('gr1', 'g1', 'u5'),
                                             ('gr1', 'g1', 'u7');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'new members');
  -- The group's roles and policies: its members, whatever their membership.
  h := pctest.head();
  INSERT INTO permcache.group_roles (tenant, group_id, role) VALUES ('gr1', 'g1', 'mid');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'group role: the members');
  h := pctest.head();
  INSERT INTO permcache.group_policies VALUES ('gr1', 'g1', 'pdirect');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'group policy: the members');
  -- Status and interval: the members; the same values again: nothing.
  h := pctest.head();
  UPDATE permcache.groups SET status = 'suspended' WHERE tenant = 'gr1' AND group_id = 'g1';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'status: the members');
  h := pctest.head();
  UPDATE permcache.groups SET status = 'suspended' WHERE tenant = 'gr1' AND group_id = 'g1';
  UPDATE permcache.groups SET expires_at = expires_at WHERE tenant = 'gr1';
  COMMIT;
  PERFORM pctest.eq(pctest.revs(h), 0::bigint, 'the same status again: no revision');
  UPDATE permcache.groups SET status = 'active', expires_at = '2030-01-01Z'
    WHERE tenant = 'gr1' AND group_id = 'g1';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'interval: the members');
  -- Holders through groups: g1 holds mid, which inherits base.
  h := pctest.head();
  INSERT INTO permcache.role_policies VALUES ('gr1', 'base', 'pscoped');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u2 gr1/u3 gr1/u5 gr1/u7',
                    'role policy: holders of base, through roles and groups');
  h := pctest.head();
  UPDATE permcache.policies SET priority = 7 WHERE tenant = 'gr1' AND policy = 'pdirect';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u4 gr1/u5 gr1/u7',
                    'policy: direct holders and the members of groups holding it');
  h := pctest.head();
  INSERT INTO permcache.roles VALUES ('gr1', 'solo');
  INSERT INTO permcache.group_roles VALUES ('gr1', 'g2', 'solo', 'b2');
  INSERT INTO permcache.group_members VALUES ('gr1', 'g2', 'u6');
  COMMIT;
  h := pctest.head();
  INSERT INTO permcache.role_inherits VALUES ('gr1', 'solo', 'base', 0);
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u6', 'inheritance: the holders through groups');
  h := pctest.head();
  UPDATE permcache.group_roles SET business_unit = 'b1' WHERE tenant = 'gr1' AND group_id = 'g2';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u6', 'a group role''s unit: the members');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - groups: a group, its roles and policies record its members; a membership of the group its user; role and policy holders include the members of groups holding them

DO $$
DECLARE
  seed constant text :=
    'SELECT string_agg(policy_id || ''@'' || source_id, '' '' ORDER BY policy_id, source_id) '
    'FROM permcache.user_effective_policies '
    'WHERE user_id = $1 AND organization_id = $2 '
    '  AND (starts_at IS NULL OR starts_at <= now()) AND (expires_at IS NULL OR now() < expires_at)';
  got text;
BEGIN
  -- u7 has no membership: an active member through g1 (mid -> base; pdirect); u5's suspended
  -- membership wins over the group; u1 gets the group's grants beside its own; u6 a BU-scoped
  -- group role.
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'),
    'pbase@role:group:g1>mid pdirect@role:group:g1 pmid@role:group:g1>mid '
    'pscoped@role:group:g1>mid', 'no membership: through the group');
  PERFORM pctest.eq(pctest.eff('gr1', 'u5'), '', 'suspended membership: nothing');
  PERFORM pctest.eq(pctest.eff('gr1', 'u1'),
    'pbase@role:base pbase@role:group:g1>mid pdirect@role:group:g1 pmid@role:group:g1>mid '
    'pscoped@role:base pscoped@role:group:g1>mid', 'own and the group''s');
  PERFORM pctest.eq(pctest.eff('gr1', 'u6'),
    'pbase@role:group:g2>solo/b1 pscoped@role:group:g2>solo/b1', 'a BU-scoped group role');
  PERFORM pctest.eq((SELECT string_agg(DISTINCT coalesce(starts_at::text, '-') || ' '
                                       || coalesce(expires_at::text, '-'), ',')
                     FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND source_id LIKE 'group:g1%'),
                    '- 2030-01-01 00:00:00+00', 'the group''s interval');
  PERFORM pctest.eq((SELECT row(effect, priority, resources, scope)::text
                     FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u7' AND policy_id = 'pdirect'),
                    '(allow,7,"{y:read,y:list}",)', 'policy columns');
  -- A pending own membership wins too.
  INSERT INTO permcache.memberships VALUES ('gr1', 'u7', 'pending');
  COMMIT;
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'), '', 'pending membership: nothing');
  DELETE FROM permcache.memberships WHERE tenant = 'gr1' AND user_id = 'u7';
  COMMIT;
  PERFORM pctest.eq(pctest.eff('gr1', 'u7') <> '', true, 'through the group again');
  -- Only suspended groups: nothing.
  UPDATE permcache.groups SET status = 'suspended' WHERE tenant = 'gr1' AND group_id = 'g1';
  COMMIT;
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'), '', 'suspended group: nothing');
  PERFORM pctest.eq(pctest.eff('gr1', 'u1'), 'pbase@role:base pscoped@role:base',
                    'suspended group: own grants only');

  -- Intervals: a group's grants carry the group's interval within the own membership's.
  UPDATE permcache.groups SET status = 'active', starts_at = '2026-06-01Z',
                              expires_at = '2028-01-01Z'
    WHERE tenant = 'gr1' AND group_id = 'g1';
  UPDATE permcache.memberships SET starts_at = '2026-01-01Z', expires_at = '2027-01-01Z'
    WHERE tenant = 'gr1' AND user_id = 'u1';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(DISTINCT source_id || ' ' || starts_at::text || ' '
                                       || expires_at::text, ', ')
                     FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u1'),
                    'base 2026-01-01 00:00:00+00 2027-01-01 00:00:00+00, '
                    'group:g1 2026-06-01 00:00:00+00 2027-01-01 00:00:00+00, '
                    'group:g1>mid 2026-06-01 00:00:00+00 2027-01-01 00:00:00+00',
                    'own membership intersected with the group');
  -- Without an own membership, the user's own grants count while an active group does: the
  -- first run of the groups' intervals. g1 [2026-06-01, 2028-01-01) and g3 [2029-01-01, ...)
  -- leave a gap: u7's own user role stops at the gap (fail closed).
  INSERT INTO permcache.user_roles (tenant, user_id, role) VALUES ('gr1', 'u7', 'other');
  INSERT INTO permcache.groups VALUES ('gr1', 'g3', 'active', '2029-01-01Z', NULL);
  INSERT INTO permcache.group_members VALUES ('gr1', 'g3', 'u7');
  COMMIT;
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u7' AND source_id = 'other'),
                    '("2026-06-01 00:00:00+00","2028-01-01 00:00:00+00")', 'the first run');
  -- A group closing the gap (touching both ends) joins the runs.
  INSERT INTO permcache.groups VALUES ('gr1', 'g4', 'active', '2028-01-01Z', '2029-01-01Z');
  INSERT INTO permcache.group_members VALUES ('gr1', 'g4', 'u7');
  COMMIT;
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u7' AND source_id = 'other'),
                    '("2026-06-01 00:00:00+00",)', 'touching intervals are one run');
  -- An unbounded group: the own grants are unbounded, the bounded group's still bounded.
  INSERT INTO permcache.group_members VALUES ('gr1', 'g2', 'u7');
  COMMIT;
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u7' AND source_id = 'other'),
                    '(,)', 'an unbounded group');
  PERFORM pctest.eq((SELECT row(starts_at, expires_at)::text FROM permcache.user_effective_policies
                     WHERE organization_id = 'gr1' AND user_id = 'u7' AND source_id = 'group:g1'),
                    '("2026-06-01 00:00:00+00","2028-01-01 00:00:00+00")', 'g1''s own interval');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');

  -- The seed's query with now(): a group's grants only inside the group's interval.
  UPDATE permcache.groups SET starts_at = NULL, expires_at = now() - interval '1 second'
    WHERE tenant = 'gr1' AND group_id = 'g1';
  UPDATE permcache.groups SET starts_at = now() - interval '1 hour',
                              expires_at = now() + interval '1 hour'
    WHERE tenant = 'gr1' AND group_id = 'g2';
  UPDATE permcache.memberships SET starts_at = NULL, expires_at = NULL
    WHERE tenant = 'gr1' AND user_id = 'u1';
  COMMIT;
  EXECUTE seed INTO got USING 'u1', 'gr1';
  PERFORM pctest.eq(got, 'pbase@base pscoped@base', 'expired group: its grants not counted');
  EXECUTE seed INTO got USING 'u6', 'gr1';
  PERFORM pctest.eq(got, 'pbase@group:g2>solo pscoped@group:g2>solo', 'inside the group''s interval');
  PERFORM pctest.eq(pctest.eff('gr1', 'u1') LIKE '%group:g1%', true, 'expired group: rows kept');

  -- reconcile sees a missing group row and fixes it.
  DELETE FROM permcache.user_effective_policies
    WHERE organization_id = 'gr1' AND user_id = 'u7' AND source_id = 'group:g1';
  COMMIT;
  PERFORM pctest.eq((SELECT string_agg(DISTINCT diff || ' ' || source_id, ',')
                     FROM permcache.reconcile(false) WHERE organization_id = 'gr1'),
                    'missing group:g1', 'reconcile finds it');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.reconcile(true)), 1::bigint, 'fixed');
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile after the fix');
END $$;
\echo ok - groups: effective rows through active groups (members without a membership too, never past a suspended or pending one), the group interval within the membership interval, the first run of group intervals for own grants, the seed query with now(), reconcile

DO $$
DECLARE
  h bigint;
BEGIN
  -- Leaving a group and deleting one: the users (the cascade records each member).
  h := pctest.head();
  DELETE FROM permcache.group_members WHERE tenant = 'gr1' AND group_id = 'g4';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u7', 'a member leaves');
  h := pctest.head();
  DELETE FROM permcache.groups WHERE tenant = 'gr1' AND group_id = 'g1';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u1 gr1/u5 gr1/u7', 'delete a group: its members');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.group_roles WHERE group_id = 'g1')
                    + (SELECT count(*) FROM permcache.group_policies WHERE group_id = 'g1'),
                    0::bigint, 'links cascaded');
  PERFORM pctest.eq(pctest.eff('gr1', 'u1'), 'pbase@role:base pscoped@role:base', 'u1 own only');
  -- A role's deletion cascades out of group_roles: the members of g2 (u6, u7).
  h := pctest.head();
  DELETE FROM permcache.roles WHERE tenant = 'gr1' AND role = 'solo';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/u6 gr1/u7', 'delete a role held by a group');
  -- A business unit's deletion cascades out of group_roles (tenant-wide).
  INSERT INTO permcache.group_roles VALUES ('gr1', 'g2', 'top', 'b2');
  COMMIT;
  h := pctest.head();
  DELETE FROM permcache.business_units WHERE tenant = 'gr1' AND business_unit = 'b2';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'gr1/*', 'delete a business unit');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.group_roles WHERE tenant = 'gr1'), 0::bigint,
                    'scoped group role cascaded');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - groups: leaving or deleting a group records its members; role and business unit deletions cascade out of group_roles

SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
TRUNCATE permcache.groups CASCADE;
DO $$ BEGIN
  PERFORM pctest.eq(pctest.changes(current_setting('pctest.h')::bigint), 'gr1/*',
                    'TRUNCATE groups CASCADE: every tenant with rows, tenant-wide');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.group_members), 0::bigint, 'members gone');
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'), '', 'u7: nothing without a group');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - groups: TRUNCATE records the tenants tenant-wide

DO $$
DECLARE
  h bigint;
BEGIN
  -- A group of 10001 members without memberships of their own: a change of the group (or of a
  -- role it holds) reaches more than 10000 users, so it is recorded tenant-wide and its
  -- effective work is queued.
  INSERT INTO permcache.tenants VALUES ('bigg');
  INSERT INTO permcache.roles VALUES ('bigg', 'r');
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('bigg', 'p', 'allow', '{a}');
  INSERT INTO permcache.role_policies VALUES ('bigg', 'r', 'p');
  INSERT INTO permcache.groups VALUES ('bigg', 'crowd', 'suspended');
  INSERT INTO permcache.group_roles VALUES ('bigg', 'crowd', 'r', '');
  INSERT INTO permcache.group_members SELECT 'bigg', 'crowd', 'u' || i FROM generate_series(1, 10001) i;
  COMMIT;
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  h := pctest.head();
  UPDATE permcache.groups SET status = 'active' WHERE tenant = 'bigg';
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'bigg/*', 'a group of 10001 members -> tenant-wide row');
  PERFORM pctest.eq((SELECT pending_revisions FROM permcache.effective_status), 1::bigint, 'queued');
  PERFORM pctest.eq(permcache.apply_effective_queue(10), pctest.head(), 'applied');
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies
                     WHERE organization_id = 'bigg' AND source_id = 'group:crowd>r'),
                    10001::bigint, 'every member through the group');
  h := pctest.head();
  INSERT INTO permcache.policies (tenant, policy, effect, permissions) VALUES ('bigg', 'p2', 'deny', '{b}');
  INSERT INTO permcache.role_policies VALUES ('bigg', 'r', 'p2');
  COMMIT;
  PERFORM pctest.eq(pctest.changes(h), 'bigg/*', 'a role held through a big group -> tenant-wide row');
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
  DELETE FROM permcache.tenants WHERE tenant = 'bigg';
  COMMIT;
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq((SELECT count(*) FROM permcache.user_effective_policies
                     WHERE organization_id = 'bigg'), 0::bigint, 'tenant gone');
END $$;
\echo ok - groups: more than 10000 members reached is one tenant-wide row, the effective work queued and applied

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT set_config('pctest.h', pctest.head()::text, false) AS h \gset
INSERT INTO permcache.groups VALUES ('gr1', 'rr', 'active');
INSERT INTO permcache.group_members VALUES ('gr1', 'rr', 'u7');
INSERT INTO permcache.group_policies VALUES ('gr1', 'rr', 'pdirect');
COMMIT;
DO $$
DECLARE
  h bigint := current_setting('pctest.h')::bigint;
BEGIN
  PERFORM pctest.eq(pctest.changes(h), 'gr1/*', 'REPEATABLE READ on the group tables -> tenant-wide');
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'), '', 'not yet maintained');
  PERFORM permcache.apply_effective_queue(10);
  COMMIT;
  PERFORM pctest.eq(pctest.eff('gr1', 'u7'), 'pdirect@role:group:rr pscoped@role:other',
                    'caught up (u7 counts through rr: its own user role too)');
  PERFORM pctest.eq(pctest.reconcile_count(), 0::bigint, 'reconcile');
END $$;
\echo ok - groups: REPEATABLE READ writers of the group tables record the tenant, the effective work is queued

DO $$
BEGIN
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_pending), 0::bigint, 'pc_pending empty');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_txn_marker), 0::bigint, 'pc_txn_marker empty');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_changelog c
                     LEFT JOIN permcache.pc_revisions r USING (revision) WHERE r.revision IS NULL),
                    0::bigint, 'every changelog row has its revision');
  PERFORM pctest.eq((SELECT count(*) FROM permcache.pc_changelog c
                     WHERE c.user_id IS NOT NULL AND EXISTS (
                       SELECT 1 FROM permcache.pc_changelog w
                       WHERE w.revision = c.revision AND w.user_id IS NULL
                         AND w.tenant = c.tenant)), 0::bigint,
                    'tenant-wide rows swallow user rows');
  PERFORM pctest.eq((SELECT count(*) FROM (SELECT revision, tenant, user_id FROM permcache.pc_changelog
                     GROUP BY 1, 2, 3 HAVING count(*) > 1) d), 0::bigint, 'no duplicate rows');
END $$;
\echo ok - invariants: nothing pending or armed after commit, changelog deduplicated and swallowed
