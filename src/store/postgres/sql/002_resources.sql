-- permcache PostgreSQL schema, migration 2: resources, resource grants and UI elements
-- (DESIGN section 7), and the token signing key.
--
-- Same treatment as the model tables of 001: CHECK constraints (23514), BEFORE row triggers
-- naming a missing reference with the C++ stores' exact texts (23503), foreign keys with
-- ON DELETE CASCADE, statement-level capture over transition tables, TRUNCATE capture.
--
-- Records are changelog keys too (include/permcache/store.h): they sit in the user position as
-- 'resource:<id>' / 'element:<id>' (ids never contain ':'). Captured as kind 'user', they pass
-- through pc_commit_step unchanged; user_effective_policies maintenance finds no membership for
-- them and so writes no row. Keys:
--   resources -> 'resource:' || resource; resource_grants -> the grantee user;
--   ui_elements, ui_element_roles -> 'element:' || element.
-- delete_resource cascades to the grants (each grantee is recorded by their capture); deleting a
-- role cascades out of ui_element_roles (each element is recorded).

-- ---------------------------------------------------------------------------------------------
-- Validation helper

-- UI elements' required permissions: 0-64 concrete permissions (no '*'), each <= 256 chars.
CREATE FUNCTION permcache.valid_permissions(p text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = permcache, pg_temp
AS $fn$
  SELECT p IS NOT NULL
     AND coalesce(array_ndims(p), 1) = 1
     AND cardinality(p) <= 64
     AND NOT EXISTS (
       SELECT 1 FROM unnest(p) AS e(v)
       WHERE e.v IS NULL
          OR length(e.v) > 256
          OR e.v !~ '^[a-z0-9_.-]+(:[a-z0-9_.-]+)*$')
$fn$;

-- ---------------------------------------------------------------------------------------------
-- Tables

-- owner NULL = none; password_hash NULL = no password (the encoded KDF output, never exported).
-- version starts at 1 and grows by 1 whenever state, owner or password_hash change (trigger
-- pc_version below, so direct writes bump it too): unlock tokens carry it.
CREATE TABLE permcache.resources (
  tenant text NOT NULL,
  resource text NOT NULL,
  type text NOT NULL,
  owner text NULL,
  state text NOT NULL,
  password_hash text NULL,
  version bigint NOT NULL DEFAULT 1,
  CONSTRAINT resources_pkey PRIMARY KEY (tenant, resource),
  CONSTRAINT resources_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT resources_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resources_resource_check CHECK (resource ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resources_type_check CHECK (type ~ '^[a-z0-9_.-]{1,128}$'),
  CONSTRAINT resources_owner_check CHECK (owner ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resources_state_check
    CHECK (state IN ('public', 'unlisted', 'private', 'restricted')),
  CONSTRAINT resources_password_hash_check CHECK (password_hash <> ''),
  CONSTRAINT resources_version_check CHECK (version >= 1)
);
-- Listing by type (ScanResources) in id order.
CREATE INDEX resources_tenant_type_idx ON permcache.resources (tenant, type, resource);

-- Each pattern's first segment is the resource's type or '*' (checked when the grant is written).
CREATE TABLE permcache.resource_grants (
  tenant text NOT NULL,
  resource text NOT NULL,
  user_id text NOT NULL,
  permissions text[] NOT NULL,
  CONSTRAINT resource_grants_pkey PRIMARY KEY (tenant, resource, user_id),
  CONSTRAINT resource_grants_resource_fkey FOREIGN KEY (tenant, resource)
    REFERENCES permcache.resources (tenant, resource) ON DELETE CASCADE,
  CONSTRAINT resource_grants_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resource_grants_resource_check CHECK (resource ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resource_grants_user_id_check CHECK (user_id ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT resource_grants_permissions_check CHECK (permcache.valid_patterns(permissions))
);
CREATE INDEX resource_grants_tenant_user_id_idx ON permcache.resource_grants (tenant, user_id);

CREATE TABLE permcache.ui_elements (
  tenant text NOT NULL,
  element text NOT NULL,
  required_permissions text[] NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  CONSTRAINT ui_elements_pkey PRIMARY KEY (tenant, element),
  CONSTRAINT ui_elements_tenant_fkey FOREIGN KEY (tenant)
    REFERENCES permcache.tenants (tenant) ON DELETE CASCADE,
  CONSTRAINT ui_elements_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT ui_elements_element_check CHECK (element ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT ui_elements_required_permissions_check
    CHECK (permcache.valid_permissions(required_permissions))
);

-- An element's required roles (a set). A link table, not a text[], so that deleting a role
-- cascades out of every element that required it.
CREATE TABLE permcache.ui_element_roles (
  tenant text NOT NULL,
  element text NOT NULL,
  role text NOT NULL,
  CONSTRAINT ui_element_roles_pkey PRIMARY KEY (tenant, element, role),
  CONSTRAINT ui_element_roles_element_fkey FOREIGN KEY (tenant, element)
    REFERENCES permcache.ui_elements (tenant, element) ON DELETE CASCADE,
  CONSTRAINT ui_element_roles_role_fkey FOREIGN KEY (tenant, role)
    REFERENCES permcache.roles (tenant, role) ON DELETE CASCADE,
  CONSTRAINT ui_element_roles_tenant_check CHECK (tenant ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT ui_element_roles_element_check CHECK (element ~ '^[A-Za-z0-9._@-]{1,128}$'),
  CONSTRAINT ui_element_roles_role_check CHECK (role ~ '^[A-Za-z0-9._@-]{1,128}$')
);
CREATE INDEX ui_element_roles_tenant_role_idx ON permcache.ui_element_roles (tenant, role);

-- Store-wide secrets: 'token_signing_key' (32 random bytes, created by the first node that needs
-- it: INSERT ... ON CONFLICT DO NOTHING, then read back, so concurrent nodes agree). Not a model
-- table: no capture. Anyone who can read it can mint unlock tokens: grant SELECT accordingly.
CREATE TABLE permcache.pc_secrets (
  name text NOT NULL,
  value bytea NOT NULL,
  CONSTRAINT pc_secrets_pkey PRIMARY KEY (name)
);

-- ---------------------------------------------------------------------------------------------
-- Reference checks (BEFORE INSERT OR UPDATE, row level), exact messages of the C++ stores.
-- As in 001: static SQL, an UPDATE leaving the referencing columns alone checks nothing, and an
-- invalid id (or pattern list) skips the checks so that its CHECK constraint refuses the row.

CREATE FUNCTION permcache.pc_check_refs_resource_grants() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
DECLARE
  v_type text;
  v_pattern text;
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.resource, NEW.permissions)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.resource, OLD.permissions)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$' AND NEW.resource ~ '^[A-Za-z0-9._@-]{1,128}$', false) THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  SELECT r.type INTO v_type FROM permcache.resources r
    WHERE r.tenant = NEW.tenant AND r.resource = NEW.resource;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'resource ''' || NEW.resource || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  IF NOT permcache.valid_patterns(NEW.permissions) THEN RETURN NEW; END IF;
  FOREACH v_pattern IN ARRAY NEW.permissions LOOP
    IF split_part(v_pattern, ':', 1) NOT IN (v_type, '*') THEN
      RAISE EXCEPTION USING ERRCODE = 'check_violation',
        MESSAGE = 'permission pattern ''' || v_pattern
                  || ''' does not start with the resource''s type ''' || v_type || '''';
    END IF;
  END LOOP;
  RETURN NEW;
END
$fn$;

CREATE FUNCTION permcache.pc_check_refs_ui_element_roles() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND (NEW.tenant, NEW.element, NEW.role)
                          IS NOT DISTINCT FROM (OLD.tenant, OLD.element, OLD.role)
  THEN RETURN NEW; END IF;
  IF NOT coalesce(NEW.tenant ~ '^[A-Za-z0-9._@-]{1,128}$' AND NEW.element ~ '^[A-Za-z0-9._@-]{1,128}$' AND NEW.role ~ '^[A-Za-z0-9._@-]{1,128}$', false)
  THEN RETURN NEW; END IF;
  PERFORM 1 FROM permcache.tenants t WHERE t.tenant = NEW.tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'tenant ''' || NEW.tenant || ''' does not exist';
  END IF;
  PERFORM 1 FROM permcache.ui_elements e WHERE e.tenant = NEW.tenant AND e.element = NEW.element;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'ui element ''' || NEW.element || ''' does not exist in tenant ''' || NEW.tenant
                || '''';
  END IF;
  PERFORM 1 FROM permcache.roles r WHERE r.tenant = NEW.tenant AND r.role = NEW.role;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = 'role ''' || NEW.role || ''' does not exist in tenant ''' || NEW.tenant || '''';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.resources
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.resource_grants
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_resource_grants();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.ui_elements
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_tenant();
CREATE TRIGGER pc_check_refs BEFORE INSERT OR UPDATE ON permcache.ui_element_roles
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_check_refs_ui_element_roles();

-- ---------------------------------------------------------------------------------------------
-- Resource version

-- Computed, never taken from the writer: an UPDATE that changes state, owner or password_hash
-- bumps it by one, any other UPDATE keeps it (an explicit SET version = ... is overridden), so
-- an unlock token's version can never come back.
CREATE FUNCTION permcache.pc_resource_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  NEW.version := OLD.version
    + CASE WHEN (NEW.state, NEW.owner, NEW.password_hash)
                IS DISTINCT FROM (OLD.state, OLD.owner, OLD.password_hash) THEN 1 ELSE 0 END;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER pc_version BEFORE UPDATE ON permcache.resources
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_resource_version();

-- ---------------------------------------------------------------------------------------------
-- Capture: 001's template (pc_capture_<table>, static SQL over new_rows / old_rows, only rows
-- that really changed, > 10000 keys of a tenant in one statement = the tenant, SERIALIZABLE:
-- tenants only) for the record tables.

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
      ('resources',        'user', $$'resource:' || c.resource$$),
      ('resource_grants',  'user', 'c.user_id'),
      ('ui_elements',      'user', $$'element:' || c.element$$),
      ('ui_element_roles', 'user', $$'element:' || c.element$$)) AS t(tbl, kind, keyexpr)
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
  FOREACH v_tbl IN ARRAY ARRAY['resources', 'resource_grants', 'ui_elements', 'ui_element_roles']
  LOOP
    EXECUTE format('CREATE TRIGGER pc_capture_truncate BEFORE TRUNCATE ON permcache.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION permcache.pc_capture_truncate()',
                   v_tbl);
  END LOOP;
END
$do$;
