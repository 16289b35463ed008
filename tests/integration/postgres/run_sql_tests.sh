#!/usr/bin/env bash
# Runs the PostgreSQL-side tests of PostgresStore (schema_test.sql) against a throwaway
# PostgreSQL 15 listening only on a unix socket in a temporary directory.
#
# Usage: run_sql_tests.sh <repo_root>
# Prints "N passed, M failed" and exits non-zero on any failure.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <repo_root>" >&2
  exit 2
fi
repo=$(cd "$1" && pwd)
migrations=("$repo"/src/store/postgres/sql/[0-9][0-9][0-9]_*.sql)  # glob order = version order
tests="$repo/tests/integration/postgres/schema_test.sql"
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
for f in "${migrations[@]}" "$tests" "$pgbin/initdb" "$pgbin/pg_ctl" "$pgbin/psql"; do
  [[ -e $f ]] || { echo "missing: $f" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/permcache-pgtest.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  # initdb refuses to run as root.
  chown postgres: "$dir"
  chmod 700 "$dir"
  as_pg=(runuser -u postgres --)
fi

started=0
cleanup() {
  if [[ $started -eq 1 ]]; then
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres --no-locale -E UTF8 \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-k $dir -c listen_addresses='' -p 5432 -c fsync=off -c max_connections=20" start \
  >/dev/null || { cat "$dir/log" >&2; exit 1; }
started=1

psql_cmd=("${as_pg[@]}" "$pgbin/psql" -h "$dir" -p 5432 -U postgres -d postgres -X -q
          -v ON_ERROR_STOP=1)

# Each migration runs in its own transaction, as PostgresStore runs them.
echo 'CREATE SCHEMA permcache;' | "${psql_cmd[@]}" >"$dir/migrate.out" 2>&1
for m in "${migrations[@]}"; do
  if ! { echo 'BEGIN;'; cat "$m"; echo 'COMMIT;'; } |
       "${psql_cmd[@]}" >>"$dir/migrate.out" 2>&1; then
    cat "$dir/migrate.out" >&2
    echo "0 passed, 1 failed (migration $(basename "$m"))"
    exit 1
  fi
done

# The test script is read through stdin so the postgres OS user needs no access to the repo.
# conninfo lets tests open a second session (dblink) to the same server.
set +e
"${psql_cmd[@]}" -v conninfo="host=$dir port=5432 user=postgres dbname=postgres" \
  <"$tests" >"$dir/test.out" 2>&1
rc=$?
set -e
cat "$dir/test.out"
passed=$(grep -c '^ok - ' "$dir/test.out" || true)
if [[ $rc -ne 0 ]]; then
  echo "$passed passed, 1 failed"
  exit 1
fi
echo "$passed passed, 0 failed"
