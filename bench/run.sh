#!/usr/bin/env bash
# bench/run.sh: builds the release preset, measures permcache and its anchors (Redis, SQLite) in
# the same run on this machine, and prints one markdown table (also written to
# bench/results/latest.md). See bench/README.md and docs/benchmarks.md.
#
#   bench/run.sh            full sizes (100k / 1M pairs; several minutes)
#   bench/run.sh --quick    small sizes, a smoke test of the harness (figures not meaningful)
#   --only-pg               only the PostgreSQL section (builds only permcache_pg_bench)
#   --no-build              use the existing build/release binaries
#   --keep                  keep the work directory (logs, raw outputs) for inspection
#   BENCH_BUILD_JOBS=N      build parallelism (default: the generator's)
#   BENCH_OUT=DIR           binaries from DIR instead of build/release (with --no-build)
#   BENCH_PG_USERS=LIST     PostgreSQL sizes (default 1000,10000,100000; --quick: 1000)
#
# Everything it starts (redis-server, permcache serve) listens on loopback ports chosen free at
# runtime and is stopped by PID on exit, including on error or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=0
BUILD=1
BUILD_FAILED=0
KEEP=0
ONLY_PG=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    --only-pg) ONLY_PG=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

REQUIRED_TOOLS=(redis-server redis-cli redis-benchmark wrk curl python3)
[[ $ONLY_PG == 1 ]] && REQUIRED_TOOLS=(python3)
for tool in "${REQUIRED_TOOLS[@]}"; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

# ---- sizes -------------------------------------------------------------------------------------
if [[ $QUICK == 1 ]]; then
  PAIRS_SMALL=10000; PAIRS_LARGE=50000
  BENCH_FLAGS=(--quick)
  REDIS_N_PIPELINED=200000; REDIS_N_C1=20000; REDIS_N_C50=100000
  WRK_SECONDS=2; WRK_C1_SECONDS=2; WRK_WARM_SECONDS=1
else
  PAIRS_SMALL=100000; PAIRS_LARGE=1000000
  BENCH_FLAGS=()
  REDIS_N_PIPELINED=2000000; REDIS_N_C1=200000; REDIS_N_C50=1000000
  WRK_SECONDS=10; WRK_C1_SECONDS=10; WRK_WARM_SECONDS=3
fi
BENCH_FLAGS+=(--pairs-small "$PAIRS_SMALL" --pairs-large "$PAIRS_LARGE")

# ---- build -------------------------------------------------------------------------------------
cd "$ROOT"
if [[ $BUILD == 1 && $ONLY_PG == 1 ]]; then
  echo "== building permcache_pg_bench (release preset)" >&2
  cmake --preset release >&2
  cmake --build --preset release ${BENCH_BUILD_JOBS:+-j "$BENCH_BUILD_JOBS"} \
    --target permcache_pg_bench >&2 || BUILD_FAILED=1
elif [[ $BUILD == 1 ]]; then
  echo "== building (release preset)" >&2
  cmake --preset release >&2
  if ! cmake --build --preset release ${BENCH_BUILD_JOBS:+-j "$BENCH_BUILD_JOBS"} >&2; then
    # Something outside the benchmarks' needs (a test, say) failed: build what run.sh uses, one
    # target at a time, and let the table say what could not be measured.
    echo "run.sh: full build failed; building the benchmark targets alone" >&2
    for target in permcache_check_bench permcache permcache_hit_ratio_bench \
                  permcache_multinode_bench permcache_multinode_test permcache_pg_bench; do
      cmake --build --preset release ${BENCH_BUILD_JOBS:+-j "$BENCH_BUILD_JOBS"} \
        --target "$target" >&2 || echo "run.sh: target $target did not build" >&2
    done
    BUILD_FAILED=1
  fi
fi
OUT="${BENCH_OUT:-$ROOT/build/release}"
CHECK_BENCH="$OUT/bench/check/permcache_check_bench"
PERMCACHE="$OUT/src/cli/permcache"
HIT_RATIO_BENCH="$OUT/bench/hit_ratio/permcache_hit_ratio_bench"
MULTINODE_BENCH="$OUT/bench/multinode/permcache_multinode_bench"
MULTINODE_TEST="$OUT/tests/integration/multinode/permcache_multinode_test"
PG_BENCH="$OUT/bench/postgres/permcache_pg_bench"
PG_SERVER_BIN=/usr/lib/postgresql/15/bin/postgres
[[ $ONLY_PG == 1 || -x $CHECK_BENCH ]] || { echo "run.sh: $CHECK_BENCH missing (build failed?)" >&2; exit 1; }

# ---- process bookkeeping ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/permcache-bench.XXXXXX")
RAW="$WORK/results.txt"   # every RESULT/INFO/WARN line, the input of table.py
: >"$RAW"
REDIS_PID=""
SERVER_PID=""

stop_pid() {  # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL; only that PID.
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$SERVER_PID"; SERVER_PID=""
  stop_pid "$REDIS_PID"; REDIS_PID=""
  if [[ $KEEP == 1 ]]; then echo "run.sh: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

result() { echo "RESULT $1 $2 $3" >>"$RAW"; }
info() { echo "INFO $*" >>"$RAW"; }
warn() { echo "WARN $*" >>"$RAW"; echo "run.sh: warning: $*" >&2; }
log() { echo "== $*" >&2; }
[[ $BUILD_FAILED == 0 ]] || warn "the full release build failed; only the benchmark targets were built"

# ---- PostgreSQL store (G5-pg, G6, G7, G8, G13-pg, matview context) -----------------------------
# permcache_pg_bench starts its own PostgreSQL 15 (fsync on) in a temp dir and stops it itself.
# Full sizes take a while (the seed's REFRESH CONCURRENTLY at 100k users: tens of seconds each).
pg_section() {
  if [[ ! -x $PG_SERVER_BIN ]]; then
    warn "$PG_SERVER_BIN missing (postgresql-15 not installed): G5-pg/G6/G7/G8/G13-pg not measured"
    return 0
  fi
  if [[ ! -x $PG_BENCH ]]; then
    warn "permcache_pg_bench not built: G5-pg/G6/G7/G8/G13-pg not measured"
    return 0
  fi
  local flags=()
  [[ $QUICK == 1 ]] && flags+=(--quick)
  [[ -n ${BENCH_PG_USERS:-} ]] && flags+=(--users "$BENCH_PG_USERS")
  log "permcache_pg_bench ${flags[*]}"
  if "$PG_BENCH" "${flags[@]}" >"$WORK/pg.txt" 2> >(tee "$WORK/pg.err" | grep '^== ' >&2); then
    grep -E '^(RESULT|INFO|WARN) ' "$WORK/pg.txt" >>"$RAW" || true
  else
    grep -E '^(RESULT|INFO|WARN) ' "$WORK/pg.txt" >>"$RAW" || true
    warn "permcache_pg_bench failed: $(grep -v '^\[' "$WORK/pg.err" | tail -3 | tr '\n' ' ')"
  fi
}
pg_meta() {
  [[ -x $PG_SERVER_BIN ]] && "$PG_SERVER_BIN" --version | awk '{print $3}' || echo "not installed"
}
if [[ $ONLY_PG == 1 ]]; then
  pg_section
  mkdir -p "$ROOT/bench/results"
  META=(
    "date=$(date -u +%Y-%m-%dT%H:%MZ)"
    "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
    "mode=$([[ $QUICK == 1 ]] && echo 'quick (smoke: sizes too small to mean anything)' || echo full), PostgreSQL only"
    "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) x $(nproc)"
    "kernel=$(uname -r)"
    "postgresql=$(pg_meta)"
    "only=pg"
  )
  python3 "$ROOT/bench/table.py" "$RAW" "${META[@]}" >"$WORK/latest-pg.md"
  cp "$WORK/latest-pg.md" "$ROOT/bench/results/latest-pg.md"
  cp "$RAW" "$ROOT/bench/results/latest-pg.raw.txt"
  cat "$WORK/latest-pg.md"
  exit 0
fi

# A loopback TCP port nobody listens on right now (the caller still handles a lost race).
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "run.sh: no free port found" >&2
  return 1
}

# ---- Redis anchors -----------------------------------------------------------------------------
start_redis() {
  local attempt
  for attempt in 1 2 3; do
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$WORK" --logfile "$WORK/redis.log" &
    REDIS_PID=$!
    for _ in $(seq 50); do
      # Ours, not another redis that won a race for the port (we FLUSHALL it below).
      if [[ $(redis-cli -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' \
              | awk -F: '$1 == "process_id" {print $2}') == "$REDIS_PID" ]]; then
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_pid "$REDIS_PID"; REDIS_PID=""
  done
  echo "run.sh: redis-server did not start (see $WORK/redis.log)" >&2
  return 1
}
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
used_memory() { rcli info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }
keyspace_misses() { rcli info stats | tr -d '\r' | awk -F: '$1 == "keyspace_misses" {print $2}'; }

# populate FORMAT N: N keys "SET key json EX 900" through redis-cli --pipe.
populate() {
  "$CHECK_BENCH" redis-proto --keys "$2" --format "$1" | rcli --pipe >"$WORK/pipe-$1.log"
  local have; have=$(rcli dbsize)
  [[ $have == "$2" ]] || warn "redis populate $1: dbsize $have, expected $2"
}

# bench NAME ARGS...: redis-benchmark --csv; records NAME_rps and NAME_p50_us (from the CSV).
redis_bench() {
  local name=$1; shift
  local misses_before csv
  misses_before=$(keyspace_misses)
  csv=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" --csv "$@" 2>"$WORK/redis-bench-$name.err" \
        | tr -d '\r' | grep -v '^"test"' | tail -1 || true)
  echo "$csv" >"$WORK/redis-bench-$name.csv"
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  local rps p50 p99
  rps=$(echo "$csv" | awk -F'","' '{print $2}')
  p50=$(echo "$csv" | awk -F'","' '{print $5}')
  p99=$(echo "$csv" | awk -F'","' '{print $7}')
  [[ -n $rps && -n $p50 ]] || { warn "redis-benchmark $name: no CSV output"; return 0; }
  result "${name}_rps" "$rps" req/s
  result "${name}_p50_us" "$(awk -v v="$p50" 'BEGIN {printf "%.3f", v * 1000}')" us
  result "${name}_p99_us" "$(awk -v v="$p99" 'BEGIN {printf "%.3f", v * 1000}')" us
  info "redis-benchmark $name: $* -> $csv"
  local misses; misses=$(( $(keyspace_misses) - misses_before ))
  [[ $misses == 0 ]] || warn "redis-benchmark $name: $misses GETs missed (keys not populated?)"
}

log "redis anchors"
start_redis
info "redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (--save '' --appendonly no)"

# G9 anchor: bytes per key for PAIRS_LARGE seed-format keys with the ~60-byte JSON value.
rcli flushall >/dev/null
mem_before=$(used_memory)
populate seed "$PAIRS_LARGE"
mem_after=$(used_memory)
result g9_redis_keys "$PAIRS_LARGE" keys
result g9_redis_bytes_per_key "$(awk -v a="$mem_after" -v b="$mem_before" -v n="$PAIRS_LARGE" \
  'BEGIN {printf "%.1f", (a - b) / n}')" bytes

# GET anchors on keys redis-benchmark's __rand_int__ names: perms:{000000000000..}:t1.
rcli flushall >/dev/null
populate randint "$PAIRS_LARGE"
GET=(GET 'perms:__rand_int__:t1')
redis_bench g1_redis_small -c 50 -P 16 -n "$REDIS_N_PIPELINED" -r "$PAIRS_SMALL" "${GET[@]}"
redis_bench g1_redis_large -c 50 -P 16 -n "$REDIS_N_PIPELINED" -r "$PAIRS_LARGE" "${GET[@]}"
redis_bench g2_redis_c1 -c 1 -n "$REDIS_N_C1" -r "$PAIRS_SMALL" "${GET[@]}"
redis_bench g3_redis_c50 -c 50 -P 1 -n "$REDIS_N_C50" -r "$PAIRS_SMALL" "${GET[@]}"
stop_pid "$REDIS_PID"; REDIS_PID=""

# ---- embedded permcache (G1, G2, G5 + SQLite anchor, G9, G11) ----------------------------------
log "permcache_check_bench ${BENCH_FLAGS[*]}"
"$CHECK_BENCH" --dir "$WORK/check" "${BENCH_FLAGS[@]}" | tee -a "$RAW" >&2
rm -rf "$WORK/check"

# ---- HTTP (G3, G4) -----------------------------------------------------------------------------
# wrk_run NAME ARGS...: records NAME_rps, NAME_p50_us, NAME_p99_us from `wrk --latency`.
to_us() {  # "123.45us" | "1.23ms" | "1.00s" -> microseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000000 }
    else printf "" }'
}
wrk_run() {
  local name=$1; shift
  wrk "$@" >"$WORK/wrk-$name.txt" 2>&1 || { warn "wrk $name failed"; return 0; }
  local rps p50 p99 non2xx errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$WORK/wrk-$name.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk-$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk-$name.txt")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$WORK/wrk-$name.txt")
  errs=$(grep -m1 'Socket errors:' "$WORK/wrk-$name.txt" || true)
  [[ -n $rps ]] || { warn "wrk $name: no output"; return 0; }
  result "${name}_rps" "$rps" req/s
  result "${name}_p50_us" "$(to_us "$p50")" us
  result "${name}_p99_us" "$(to_us "$p99")" us
  info "wrk $name: $* -> $rps req/s, p50 $p50, p99 $p99"
  [[ -z $non2xx ]] || warn "wrk $name: $non2xx non-2xx responses"
  [[ -z $errs ]] || warn "wrk $name: $errs"
}

start_server() {
  local attempt line
  for attempt in 1 2 3; do
    SERVER_PORT=$(free_port)
    rm -f "$WORK"/serve.db*
    "$PERMCACHE" serve --store "sqlite:$WORK/serve.db" --listen "127.0.0.1:$SERVER_PORT" --demo \
      >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
      line=$(grep -m1 -o 'listening on [^ ]*' "$WORK/serve.out" "$WORK/serve.err" 2>/dev/null \
             | head -1 || true)
      if [[ -n $line ]]; then
        SERVER_PORT=${line##*:}
        return 0
      fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_pid "$SERVER_PID"; SERVER_PID=""
  done
  echo "run.sh: permcache serve did not start:" >&2
  cat "$WORK/serve.err" >&2 || true
  return 1
}

log "HTTP (permcache serve --demo)"
if [[ ! -x $PERMCACHE ]]; then
  warn "$PERMCACHE missing: G3/G4 not measured"
elif start_server; then
  URL="http://127.0.0.1:$SERVER_PORT/v1/check?tenant=hospital&user=jane&permission=ui:menu_pharmacy"
  body=$(curl -sS --max-time 5 "$URL" || true)
  info "GET /v1/check -> $body"
  [[ $body == *'"allowed"'* ]] || warn "GET /v1/check did not answer a decision: $body"
  wrk -t1 -c50 -d"${WRK_WARM_SECONDS}s" "$URL" >/dev/null 2>&1 || true  # warm
  wrk_run g3_http_c50 -t1 -c50 -d"${WRK_SECONDS}s" --latency "$URL"
  wrk_run g4_http_c1 -t1 -c1 -d"${WRK_C1_SECONDS}s" --latency "$URL"
  # Issue 7: the sidebar call for 20 elements (the demo's 4 and 16 unknown ones) against single
  # element checks, same server, same run.
  EL_URL="http://127.0.0.1:$SERVER_PORT/v1/check?tenant=hospital&user=jane&element=menu_pharmacy"
  UI_URL="http://127.0.0.1:$SERVER_PORT/v1/tenants/hospital/users/jane/ui?elements=menu_pharmacy,menu_wards,btn_dispense,menu_legacy_billing$(printf ',e%02d' $(seq 1 16))"
  body=$(curl -sS --max-time 5 "$UI_URL" || true)
  info "GET /v1/tenants/hospital/users/jane/ui?elements=<20> -> $body"
  [[ $body == *'"menu_wards":true'* ]] || warn "the sidebar call did not answer: $body"
  wrk -t1 -c50 -d"${WRK_WARM_SECONDS}s" "$UI_URL" >/dev/null 2>&1 || true  # warm
  wrk_run r7_http_element_c1 -t1 -c1 -d"${WRK_C1_SECONDS}s" --latency "$EL_URL"
  wrk_run r7_http_ui20_c1 -t1 -c1 -d"${WRK_C1_SECONDS}s" --latency "$UI_URL"
  wrk_run r7_http_element_c50 -t1 -c50 -d"${WRK_SECONDS}s" --latency "$EL_URL"
  wrk_run r7_http_ui20_c50 -t1 -c50 -d"${WRK_SECONDS}s" --latency "$UI_URL"
  raw() { awk -v n="$1" '$1 == "RESULT" && $2 == n {v = $3} END {print v}' "$RAW"; }
  el_p50=$(raw r7_http_element_c1_p50_us); ui_rps=$(raw r7_http_ui20_c50_rps)
  [[ -z $el_p50 ]] || result r7_http_element_x20_c1_p50_us "$(awk -v v="$el_p50" 'BEGIN {printf "%.3f", 20 * v}')" us
  [[ -z $ui_rps ]] || result r7_http_ui20_c50_elements_per_s "$(awk -v v="$ui_rps" 'BEGIN {printf "%.1f", 20 * v}')" elements/s
  stop_pid "$SERVER_PID"; SERVER_PID=""
else
  warn "permcache serve did not start: G3/G4 not measured"
fi

# ---- hit ratio and bytes/entry (bench/hit_ratio, owned by its own author) ----------------------
# Its output is a human table; this turns it into RESULT lines under an "hr." prefix (any
# RESULT lines it prints itself pass through, prefixed too):
#   hit ratio rows  "zipf size% entries lru_hit% s3fifo_hit% delta s3fifo_64sh%"
#       -> hr.g10_delta_min_pp / _mean_pp (S3-FIFO minus LRU, worst and mean over the rows),
#          hr.g10_delta_64sh_min_pp (64 shards), hr.g10_rows
#   memory row "max_entries=n, 64 shards (default) entries memory_MiB acct_B/entry rss_B/entry"
#       -> hr.g9_entries, hr.g9_acct_bytes_per_entry, hr.g9_rss_bytes_per_entry
hit_ratio_results() {
  awk '
    $1 == "RESULT" { $2 = "hr." $2; print; next }
    /^== Hit ratio/ { section = "hit"; next }
    /^== Memory/ { section = "mem"; next }
    /^==/ { section = ""; next }
    section == "hit" && NF == 7 && $1 ~ /^[0-9.]+$/ {
      d = $5 - $4; d64 = $7 - $4; rows++; sum += d
      if (rows == 1 || d < min) min = d
      if ($2 + 0 == 1) { rows1++; if (rows1 == 1 || d < min1) min1 = d }
      if (rows == 1 || d64 < min64) min64 = d64
      printf "INFO hit_ratio zipf %s size %s%%: lru %s%% s3fifo %s%% (64 shards %s%%)\n", $1, $2, $4, $5, $7
    }
    section == "mem" && /\(default\)/ && NF >= 4 {
      printf "RESULT hr.g9_entries %s entries\n", $(NF - 3)
      printf "RESULT hr.g9_acct_bytes_per_entry %s bytes\n", $(NF - 1)
      printf "RESULT hr.g9_rss_bytes_per_entry %s bytes\n", $NF
    }
    END {
      if (rows > 0) {
        printf "RESULT hr.g10_delta_min_pp %.2f pp\n", min
        printf "RESULT hr.g10_delta_mean_pp %.2f pp\n", sum / rows
        printf "RESULT hr.g10_delta_64sh_min_pp %.2f pp\n", min64
        printf "RESULT hr.g10_rows %d rows\n", rows
      }
      if (rows1 > 0) printf "RESULT hr.g10_delta_1pct_min_pp %.2f pp\n", min1
    }'
}

if [[ -x $HIT_RATIO_BENCH ]]; then
  log "permcache_hit_ratio_bench"
  HR_FLAGS=()
  [[ $QUICK == 1 ]] && HR_FLAGS+=(--quick)
  if "$HIT_RATIO_BENCH" "${HR_FLAGS[@]}" >"$WORK/hit_ratio.txt" 2>"$WORK/hit_ratio.err"; then
    hit_ratio_results <"$WORK/hit_ratio.txt" >>"$RAW"
    grep -q '^RESULT hr.g10_delta_min_pp ' "$RAW" || warn "no hit ratio rows in hit_ratio output"
    grep -q '^RESULT hr.g9_acct_bytes_per_entry ' "$RAW" || warn "no memory row in hit_ratio output"
  else
    warn "permcache_hit_ratio_bench failed: $(tail -3 "$WORK/hit_ratio.err" | tr '\n' ' ')"
  fi
else
  warn "permcache_hit_ratio_bench not built: G10 not measured, G9 from CacheStats"
fi

# ---- several nodes (issue 3): propagation over the bus, L2 hit path, stale answers --------------
# Both use a fresh private redis-server (the anchors' one was stopped to leave the machine quiet).
if [[ -x $MULTINODE_BENCH || -x $MULTINODE_TEST ]] && ! start_redis; then
  warn "redis-server did not start: G12/G13 not measured"
  MULTINODE_BENCH=""; MULTINODE_TEST=""
fi
if [[ -x $MULTINODE_BENCH ]]; then
  log "permcache_multinode_bench (G13 propagation, L2 hit path)"
  writes=10000
  [[ $QUICK == 1 ]] && writes=500
  if "$MULTINODE_BENCH" --redis "redis://127.0.0.1:$REDIS_PORT/0" --dir "$WORK" --writes "$writes" \
      >"$WORK/multinode.txt" 2>"$WORK/multinode.err"; then
    grep '^RESULT ' "$WORK/multinode.txt" >>"$RAW"
  else
    warn "permcache_multinode_bench failed: $(tail -3 "$WORK/multinode.err" | tr '\n' ' ')"
  fi
else
  warn "permcache_multinode_bench not built: G13 and the L2 hit path not measured"
fi
if [[ -x $MULTINODE_TEST ]]; then
  log "randomized multi-node stale-answer test (G12)"
  min_checks=1000000
  [[ $QUICK == 1 ]] && min_checks=20000
  if PERMCACHE_STALE_MIN_CHECKS=$min_checks "$MULTINODE_TEST" \
      --gtest_filter='*RandomizedGrantsAndRevokesProduceNoStaleAnswers*' \
      >"$WORK/g12.txt" 2>"$WORK/g12.err"; then
    grep '^RESULT ' "$WORK/g12.txt" >>"$RAW"
  else
    grep '^RESULT ' "$WORK/g12.txt" >>"$RAW" || true
    warn "G12 test failed: $(grep -m3 -E 'Failure|Expected|stale' "$WORK/g12.txt" | tr '\n' ' ')"
  fi
else
  warn "permcache_multinode_test not built: G12 not measured"
fi
stop_pid "$REDIS_PID"; REDIS_PID=""

pg_section

# ---- table -------------------------------------------------------------------------------------
mkdir -p "$ROOT/bench/results"
META=(
  "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
  "mode=$([[ $QUICK == 1 ]] && echo 'quick (smoke: sizes too small to mean anything)' || echo full)"
  "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) x $(nproc)"
  "kernel=$(uname -r)"
  "redis=$(redis-server --version | awk '{print $3}')"
  "postgresql=$(pg_meta)"
)
python3 "$ROOT/bench/table.py" "$RAW" "${META[@]}" >"$WORK/latest.md"
# Resources and UI elements (issue 7): its own table, ratios against a plain Check in the same
# process and run.
RESOURCE_BENCH="$OUT/bench/resources/permcache_resource_bench"
if [[ -x $RESOURCE_BENCH ]]; then
  { echo; echo "## Resources and UI elements (bench/resources)"; echo
    "$RESOURCE_BENCH" --seconds "$([[ $QUICK == 1 ]] && echo 0.2 || echo 2)"; } >>"$WORK/latest.md" ||
    warn "permcache_resource_bench failed"
fi
cp "$WORK/latest.md" "$ROOT/bench/results/latest.md"
cp "$RAW" "$ROOT/bench/results/latest.raw.txt"
cat "$WORK/latest.md"
