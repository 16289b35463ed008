-- permcache PostgreSQL schema, migration 3: resource versions from one sequence.
--
-- An unlock token carries (tenant, resource, version). With per-row versions starting at 1, a
-- resource deleted and created again under the same id came back at a version an old token
-- still carried (ABA), so that token opened the new resource. Versions now come from one
-- store-wide sequence, for inserts and for every change of state, owner or password_hash: a
-- version is never handed out twice, whatever happens to the row. Explicit values written by
-- other applications are overridden in both cases.

CREATE SEQUENCE permcache.resource_versions AS bigint MINVALUE 1;

-- Starts above every version in use and every retained revision. (A token issued before this
-- migration for a resource deleted before it could in theory meet its version again; tokens
-- live 4 hours by default.)
SELECT setval('permcache.resource_versions',
              GREATEST(1,
                       (SELECT coalesce(max(version), 0) FROM permcache.resources),
                       (SELECT coalesce(max(revision), 0) FROM permcache.pc_revisions)));

ALTER TABLE permcache.resources
  ALTER COLUMN version SET DEFAULT nextval('permcache.resource_versions');

CREATE OR REPLACE FUNCTION permcache.pc_resource_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = permcache, pg_temp
AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.version := nextval('permcache.resource_versions');
  ELSIF (NEW.state, NEW.owner, NEW.password_hash)
        IS DISTINCT FROM (OLD.state, OLD.owner, OLD.password_hash) THEN
    NEW.version := nextval('permcache.resource_versions');
  ELSE
    NEW.version := OLD.version;
  END IF;
  RETURN NEW;
END
$fn$;

DROP TRIGGER pc_version ON permcache.resources;
CREATE TRIGGER pc_version BEFORE INSERT OR UPDATE ON permcache.resources
  FOR EACH ROW EXECUTE FUNCTION permcache.pc_resource_version();
