#!/usr/bin/env bash
# The monitoring kit against the real thing: promtool checks and unit-tests the alert rules,
# parses the Grafana dashboard's queries, lints a live server's /metrics, and checks that every
# metric the rules and the dashboard name is one the server exports.
#
# Usage: run_monitoring_test.sh <repo_root> <permcache binary>
# Exits 77 (ctest SKIP_RETURN_CODE) only when promtool is missing; any other problem fails.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <repo_root> <permcache binary>" >&2
  exit 2
fi
repo=$(cd "$1" && pwd)
bin=$2
rules="$repo/deploy/prometheus/permcache-alerts.yml"
rules_test="$repo/deploy/prometheus/permcache-alerts.test.yml"
dashboard="$repo/deploy/grafana/permcache-dashboard.json"

if ! command -v promtool >/dev/null; then
  echo "promtool not found (Debian package prometheus): skipped"
  exit 77
fi
for tool in redis-server curl python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/permcache-montest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

step() { echo "== $*"; }

step "promtool check rules"
promtool check rules "$rules"
step "promtool test rules"
(cd "$(dirname "$rules_test")" && promtool test rules "$(basename "$rules_test")")

step "dashboard queries parse"
# Grafana's variables replaced by values PromQL accepts; each query becomes a recording rule.
python3 - "$dashboard" "$dir/dashboard-rules.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert exprs, "dashboard has no queries"
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
        assert "$" not in e, "unhandled Grafana variable in: " + e
        f.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
print(len(exprs), "queries")
PY
promtool check rules "$dir/dashboard-rules.yml"

step "start redis-server and permcache serve --demo"
redis_port=
for _ in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$dir" >"$dir/redis.log" 2>&1 &
  rpid=$!
  for _ in $(seq 50); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then redis_port=$port; break; fi
    kill -0 "$rpid" 2>/dev/null || break  # port taken meanwhile: try another
    sleep 0.1
  done
  if [[ -n $redis_port ]]; then pids+=("$rpid"); break; fi
  kill "$rpid" 2>/dev/null || true
done
[[ -n $redis_port ]] || { cat "$dir/redis.log" >&2; echo "redis-server did not start" >&2; exit 1; }

# Port 0: the server picks a free port and prints it, so no other process can take it first.
"$bin" serve --store "sqlite:$dir/permcache.db" --listen 127.0.0.1:0 --demo \
  --redis "redis://127.0.0.1:$redis_port/0" >"$dir/serve.log" 2>&1 &
pids+=("$!")
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^listening on \(127\.0\.0\.1:[0-9]*\)$/http:\/\/\1/p' "$dir/serve.log")
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$dir/serve.log" >&2; echo "permcache serve did not start" >&2; exit 1; }
echo "server at $url, redis on $redis_port"

step "checks"
check() {  # check <expected "allowed" value> <query>
  local body
  body=$(curl -sf "$url/v1/check?$2") || { echo "check failed: $2" >&2; exit 1; }
  python3 -c 'import json,sys; b=json.loads(sys.argv[1]); sys.exit(0 if b["allowed"] == (sys.argv[2] == "true") else 1)' \
    "$body" "$1" || { echo "unexpected answer for $2: $body" >&2; exit 1; }
}
for _ in 1 2 3; do  # repeated so L1 hits show up
  check true 'tenant=hospital&user=phil&element=menu_pharmacy'
  check false 'tenant=hospital&user=jane&permission=ui:menu_pharmacy'
  check true 'tenant=cinemata&permission=media:view&resource=trailer'
  check false 'tenant=cinemata&permission=media:view&resource=diary'
done
curl -sf "$url/readyz" >/dev/null

step "promtool check metrics"
curl -sf "$url/metrics" >"$dir/metrics.txt"
# promtool exits non-zero on lint problems too; any output at all is treated as a failure.
if ! promtool check metrics <"$dir/metrics.txt" >"$dir/lint.txt" 2>&1 || [[ -s $dir/lint.txt ]]; then
  cat "$dir/lint.txt" >&2
  exit 1
fi

step "metrics named by the rules and the dashboard are exported"
python3 - "$dir/metrics.txt" "$rules" "$dashboard" <<'PY'
import re, sys
metrics = open(sys.argv[1]).read()
samples = {}
for line in metrics.splitlines():
    if line and not line.startswith("#"):
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})?\s+(\S+)", line)
        assert m, "unparsed sample line: " + line
        samples.setdefault(m[1], []).append(float(m[2]))
used = set()
for path in sys.argv[2:]:
    found = set(re.findall(r"\bpermcache_[a-z0-9_]+", open(path).read()))
    assert found, "no permcache metric in " + path
    used |= found
missing = sorted(n for n in used if n not in samples)
if missing:
    sys.exit("not in /metrics: " + ", ".join(missing))
# The live server is healthy and took the checks above.
for name, want in [("permcache_store_up", 1), ("permcache_l2_up", 1), ("permcache_bus_up", 1),
                   ("permcache_l1_enabled", 1)]:
    assert samples[name] == [want], f"{name} = {samples[name]}, want {want}"
assert sum(samples["permcache_decisions_total"]) >= 12, samples["permcache_decisions_total"]
assert samples["permcache_cache_hits_total"][0] > 0, "no L1 hit after repeated checks"
print(len(used), "metric names, all exported")
PY
echo "monitoring kit OK"
