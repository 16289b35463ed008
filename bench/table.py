#!/usr/bin/env python3
"""Formats bench/run.sh's collected lines into the markdown results table.

Usage: table.py RESULTS_FILE [key=value ...]   (key=value pairs describe the run: date, cpu, ...)

Input lines: "RESULT name value unit", "INFO text", "WARN text". Formatting only: every figure is
measured by run.sh (redis-benchmark, wrk) or by permcache_check_bench / permcache_hit_ratio_bench;
this script divides permcache's figure by its anchor's and compares with the goal's floor and aim.
"""
import re
import sys

# Goal rows. kind:
#   "higher": ratio = permcache / anchor, must be >= floor (aim)    e.g. throughput
#   "lower":  ratio = permcache / anchor, must be <= floor (aim)    e.g. latency, bytes
#   "max":    permcache figure itself must be <= floor (aim), no anchor (G11)
#   "delta":  permcache figure itself must be >= floor (aim), no anchor (G10)
# floor/aim None: no target set here yet (the row still reports the figures).
GOALS = [
    dict(goal="G1", what="L1-hit checks/s, {small} pairs, uniform, {threads} threads "
         "÷ redis GET -c50 -P16 -r{small}",
         pc="g1_uniform_small", anchor="g1_redis_small_rps", kind="higher", floor=10, aim=100),
    dict(goal="G1", what="L1-hit checks/s, {large} pairs, uniform, {threads} threads "
         "÷ redis GET -c50 -P16 -r{large}",
         pc="g1_uniform_large", anchor="g1_redis_large_rps", kind="higher", floor=10, aim=100),
    dict(goal="G1", what="L1-hit checks/s, {small} pairs, Zipf(0.99), {threads} threads "
         "÷ redis GET -c50 -P16 -r{small} (uniform)",
         pc="g1_zipf_small", anchor="g1_redis_small_rps", kind="higher", floor=10, aim=100),
    dict(goal="G1", what="L1-hit checks/s, {large} pairs, Zipf(0.99), {threads} threads "
         "÷ redis GET -c50 -P16 -r{large} (uniform)",
         pc="g1_zipf_large", anchor="g1_redis_large_rps", kind="higher", floor=10, aim=100),
    dict(goal="G1", what="batched: CheckBatch of 16 (prefetching; the counterpart of -P16), "
         "{small} pairs, uniform, {threads} threads ÷ redis GET -c50 -P16 -r{small}",
         pc="g1_batch16_uniform_small", anchor="g1_redis_small_rps", kind="higher", floor=10,
         aim=100, optional=True),
    dict(goal="G1", what="batched: CheckBatch of 16, {large} pairs, uniform, {threads} threads "
         "÷ redis GET -c50 -P16 -r{large}",
         pc="g1_batch16_uniform_large", anchor="g1_redis_large_rps", kind="higher", floor=10,
         aim=100, optional=True),
    dict(goal="G1", what="batched: CheckBatch of 16, {large} pairs, Zipf(0.99), {threads} threads "
         "÷ redis GET -c50 -P16 -r{large} (uniform)",
         pc="g1_batch16_zipf_large", anchor="g1_redis_large_rps", kind="higher", floor=10,
         aim=100, optional=True),
    dict(goal="G2", what="embedded check p99, 1 thread, {small} pairs (p50 {g2_p50}) "
         "÷ redis GET p50 at -c1",
         pc="g2_hit_p99_ns", anchor="g2_redis_c1_p50_us", kind="lower", floor=1 / 10,
         aim=1 / 200),
    dict(goal="G3", what="HTTP GET /v1/check req/s, wrk -t1 -c50 ÷ redis GET -c50 -P1 req/s",
         pc="g3_http_c50_rps", anchor="g3_redis_c50_rps", kind="higher", floor=0.5, aim=1.0),
    dict(goal="G4", what="HTTP GET /v1/check p50 at 1 connection ÷ redis GET p50 at -c1",
         pc="g4_http_c1_p50_us", anchor="g2_redis_c1_p50_us", kind="lower", floor=3, aim=None),
    dict(goal="R7", what="HTTP sidebar: one GET /v1/tenants/T/users/U/ui for 20 elements, p50 "
         "at 1 connection ÷ 20 × GET /v1/check&element= p50 (issue 7)",
         pc="r7_http_ui20_c1_p50_us", anchor="r7_http_element_x20_c1_p50_us", kind="lower",
         floor=1, aim=0.1, optional=True),
    dict(goal="R7", what="HTTP sidebar: elements answered/s, wrk -c50 (20 per request) ÷ single "
         "element checks/s, wrk -c50",
         pc="r7_http_ui20_c50_elements_per_s", anchor="r7_http_element_c50_rps", kind="higher",
         floor=1, aim=10, optional=True),
    dict(goal="G5", what="cold-miss check median, {small} users in SQLite "
         "÷ prepared SQLite PK lookup median ({sqlite_rows} rows, WAL)",
         pc="g5_cold_p50_us", anchor="g5_sqlite_p50_us", kind="lower", floor=5, aim=2),
    dict(goal="G5", what="cold-miss check p99 ÷ SQLite PK lookup p99 (context)",
         pc="g5_cold_p99_us", anchor="g5_sqlite_p99_us", kind="lower", floor=None, aim=None),
    dict(goal="G9", what="bytes per cached entry at {g9_entries} entries ({g9_source}) "
         "÷ redis used_memory per key ({large} keys, JSON value, EX 900)",
         pc="@g9", anchor="g9_redis_bytes_per_key", kind="lower", floor=1 / 2, aim=1 / 8),
    dict(goal="G9", what="context: RSS growth per entry (bench/hit_ratio) ÷ redis used_memory per key",
         pc="hr.g9_rss_bytes_per_entry", anchor="g9_redis_bytes_per_key", kind="lower",
         floor=None, aim=None, optional=True),
    dict(goal="G9", what="context: Checker heap growth per entry while warming {small}→{large} "
         "pairs (malloc delta, real interned sets) ÷ redis used_memory per key",
         pc="g9_heap_bytes_per_entry", anchor="g9_redis_bytes_per_key", kind="lower",
         floor=None, aim=None, optional=True),
    dict(goal="G10", what="hit ratio S3-FIFO minus exact LRU at cache = 1 % of keys, worse of "
         "Zipf 1.0 and 0.9 (points) — bench/hit_ratio",
         pc="hr.g10_delta_1pct_min_pp", anchor=None, kind="delta", floor=5, aim=13),
    dict(goal="G10", what="context: worst of all {g10_rows} traces x sizes 0.5/1/5/10 % "
         "(mean {g10_mean}; 64 shards worst {g10_64sh})",
         pc="hr.g10_delta_min_pp", anchor=None, kind="delta", floor=None, aim=None),
    dict(goal="G11", what="store reads for {g11_threads} concurrent misses on one key "
         "(worst of rounds)",
         pc="g11_store_reads", anchor=None, kind="max", floor=2, aim=1),
    dict(goal="G12", what="stale answers, randomized grants/revokes on node A, checks on B and C "
         "({g12_checks} checks, Redis bus, one SQLite file)",
         pc="g12_stale", anchor=None, kind="max", floor=0, aim=0),
    dict(goal="G13", what="propagation p99 (µs): write on A → first correct check on B, "
         "{g13_writes} one-key writes, Redis bus (p50 {g13_p50})",
         pc="g13_propagation_p99_us", anchor=None, kind="max", floor=100000, aim=1000),
    dict(goal="G13", what="context: propagation p50 (µs) of a policy change held by 10k users "
         "(10k invalidations per write)",
         pc="g13_fanout_10k_p50_us", anchor=None, kind="max", floor=None, aim=None, optional=True),
    dict(goal="L2", what="L2 hit path p50 (L1 miss, Redis GET, compile) ÷ redis GET p50 at -c1 "
         "(p99 {l2_p99})",
         pc="l2_hit_p50_us", anchor="g2_redis_c1_p50_us", kind="lower", floor=None, aim=None),
]

# PostgreSQL rows (bench/postgres/pg_bench.cc), one set per size measured: the names are
# "pg.<metric>@<users>" and {n} below is replaced by each size found in the results.
PG_GOALS = [
    dict(goal="G5-pg", what="cold-miss Check median (L1 empty: store read + compile + decide), "
         "{users} users ÷ prepared `SELECT status FROM permcache.memberships WHERE tenant=$1 AND "
         "user_id=$2` median (libpq, same server)",
         pc="pg.g5_cold_p50_us@{n}", anchor="pg.g5_lookup_p50_us@{n}", kind="lower", floor=5,
         aim=2),
    dict(goal="G6", what="one role assignment → every reader consistent, median, {users} users: "
         "Write() on node A until A and B answer (n={g6_pc_n}) ÷ seed: UPDATE membership role_ids "
         "+ trigger REFRESH CONCURRENTLY until another session reads the row (n={g6_seed_n}; "
         "COMMIT→visible alone {g6_c2v})",
         pc="pg.g6_pc_p50_us@{n}", anchor="pg.g6_seed_p50_us@{n}", kind="lower", floor=1 / 1000,
         aim=1 / 100000),
    dict(goal="G6", what="context: p99 of the same, {users} users",
         pc="pg.g6_pc_p99_us@{n}", anchor="pg.g6_seed_p99_us@{n}", kind="lower", floor=None,
         aim=None),
    dict(goal="G7", what="write latency median, {users} users: Checker::Write of one "
         "put_user_role (n={g7_n}) ÷ the same INSERT into a table without triggers (autocommit)",
         pc="pg.g7_pc_write_p50_us@{n}", anchor="pg.g7_plain_insert_p50_us@{n}", kind="lower",
         floor=2, aim=1.2),
    dict(goal="G7", what="context: writes/s, 1 writer, {users} users ÷ plain INSERT/DELETE, "
         "1 connection",
         pc="pg.g7_pc_c1_wps@{n}", anchor="pg.g7_plain_c1_wps@{n}", kind="higher", floor=None,
         aim=None),
    dict(goal="G7", what="context: writes/s, 16 concurrent writers, {users} users ÷ plain "
         "INSERT/DELETE, 16 connections",
         pc="pg.g7_pc_c16_wps@{n}", anchor="pg.g7_plain_c16_wps@{n}", kind="higher", floor=None,
         aim=None),
    dict(goal="G8", what="role-policy change reaching 1 % ({g8_fanout} users) of {users}, median: "
         "Write() (commit maintains user_effective_policies, n={g8_pc_n}) ÷ seed's UPDATE "
         "roles.policy_ids → REFRESH MATERIALIZED VIEW CONCURRENTLY (n={g8_seed_n})",
         pc="pg.g8_pc_p50_us@{n}", anchor="pg.g8_seed_p50_us@{n}", kind="lower", floor=1 / 100,
         aim=1 / 1000),
    dict(goal="G13-pg", what="propagation p99 (µs): write on A → first correct check on B, "
         "LISTEN/NOTIFY, no Redis, no polling, {users} users (n={g13_n}, p50 {g13_p50})",
         pc="pg.g13_propagation_p99_us@{n}", anchor=None, kind="max", floor=50000, aim=1000),
    dict(goal="ctx", what="check query `WHERE user_id=$1 AND organization_id=$2` median, "
         "{users} users: on permcache.user_effective_policies ÷ on the seed's matview",
         pc="pg.ctx_ours_query_p50_us@{n}", anchor="pg.ctx_seed_query_p50_us@{n}", kind="lower",
         floor=None, aim=None),
    dict(goal="ctx", what="permcache L1 hit median ÷ the seed's matview query median, {users} users",
         pc="pg.ctx_l1_hit_p50_ns@{n}", anchor="pg.ctx_seed_query_p50_us@{n}", kind="lower",
         floor=None, aim=None),
    dict(goal="gate", what="rows of permcache.user_effective_policies differing from a "
         "from-scratch recompute after all changes, {users} users (must be 0)",
         pc="pg.effective_diff_rows@{n}", anchor=None, kind="max", floor=0, aim=0),
]

UNITS = {}  # name -> unit, filled by load()


def load(path):
    results, infos, warns = {}, [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 1)
            if parts[0] == "RESULT" and len(parts) == 2:
                fields = parts[1].split()
                if len(fields) >= 2:
                    try:
                        results[fields[0]] = float(fields[1])
                        UNITS[fields[0]] = fields[2] if len(fields) > 2 else ""
                    except ValueError:
                        pass
            elif parts[0] == "INFO" and len(parts) == 2:
                infos.append(parts[1])
            elif parts[0] == "WARN" and len(parts) == 2:
                warns.append(parts[1])
    return results, infos, warns


def g9_figure(r):
    """bench/hit_ratio's accounted bytes/entry, else the Checker's own CacheStats figure."""
    if "hr.g9_acct_bytes_per_entry" in r:
        return (r["hr.g9_acct_bytes_per_entry"], "bench/hit_ratio, cache accounting",
                r.get("hr.g9_entries"))
    if "g9_accounted_bytes_per_entry" in r:
        return (r["g9_accounted_bytes_per_entry"], "Checker CacheStats.memory_bytes / entries",
                r.get("g9_entries"))
    return None, "not measured", None


def fmt_value(v, unit):
    if v is None:
        return "not measured"
    if unit in ("checks/s", "req/s"):
        if v >= 1e6:
            return f"{v / 1e6:.2f} M/s"
        if v >= 1e3:
            return f"{v / 1e3:.1f} k/s"
        return f"{v:.0f}/s"
    if unit == "ns":
        return f"{v / 1e3:.2f} µs" if v >= 10_000 else f"{v:.0f} ns"
    if unit == "us":
        return f"{v / 1e3:.2f} ms" if v >= 10_000 else f"{v:.1f} µs"
    if unit == "bytes":
        return f"{v:.0f} B"
    if unit == "reads":
        return f"{v:.0f}"
    if unit == "pp":
        return f"{v:+.2f} pp"
    if unit == "writes/s":
        return f"{v / 1e3:.1f} k/s" if v >= 1e3 else f"{v:.0f}/s"
    if unit == "rows":
        return f"{v:.0f}"
    return f"{v:g} {unit}".strip()


def to_common(v, unit):
    """Latency in µs so ns and µs figures divide correctly."""
    return v / 1e3 if unit == "ns" else v


def fmt_ratio(x):
    if x is None:
        return "—"
    if x >= 1:
        return f"{x:.1f}x" if x < 100 else f"{x:.0f}x"
    if x >= 0.1:
        return f"{x:.2f}x"
    return f"{x:.3g}x (1/{1 / x:.0f})" if x > 0 else "0x"


def fmt_target(t, kind):
    if t is None:
        return "—"
    if kind in ("higher", "delta"):
        return f"≥ {t:g}x" if kind == "higher" else f"≥ {t:+g} pp"
    if kind == "max":
        return f"≤ {t:g}"
    return f"≤ 1/{1 / t:.0f}" if t < 1 else f"≤ {t:g}x"


def meets(x, t, kind):
    if kind in ("higher", "delta"):
        return x >= t
    return x <= t


def verdict(x, g):
    if x is None:
        return "not measured"
    if g["floor"] is None and g["aim"] is None:
        return "— (no target)"
    if g["aim"] is not None and meets(x, g["aim"], g["kind"]):
        return "**aim met**"
    if g["floor"] is not None and meets(x, g["floor"], g["kind"]):
        return "floor met"
    if g["floor"] is None:
        return "aim not met"
    return "**NO**"


def count_label(n):
    if n is None:
        return "?"
    n = int(n)
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def pg_sizes(r):
    """User counts the PostgreSQL bench measured (from its "pg.*@N" names), ascending."""
    return sorted({int(k.rsplit("@", 1)[1]) for k in r
                   if k.startswith("pg.") and re.fullmatch(r".*@\d+", k)})


def pg_fields(r, n):
    def count(name):
        v = r.get(f"pg.{name}@{n}")
        return "?" if v is None else f"{v:.0f}"
    return dict(users=count_label(n), g6_pc_n=count("g6_pc_n"), g6_seed_n=count("g6_seed_n"),
                g6_c2v=fmt_value(r.get(f"pg.g6_seed_commit_to_visible_p50_us@{n}"), "us"),
                g7_n=count("g7_pc_write_n"), g8_fanout=count("g8_fanout_users"),
                g8_pc_n=count("g8_pc_n"), g8_seed_n=count("g8_seed_n"),
                g13_n=count("g13_propagation_n"),
                g13_p50=fmt_value(r.get(f"pg.g13_propagation_p50_us@{n}"), "us"))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    r, infos, warns = load(sys.argv[1])
    meta = dict(a.split("=", 1) for a in sys.argv[2:] if "=" in a)
    g9, g9_source, g9_entries = g9_figure(r)
    fields = dict(
        small=count_label(r.get("pairs_small")), large=count_label(r.get("pairs_large")),
        threads=int(r.get("g1_threads", 2)),
        g2_p50=fmt_value(r.get("g2_hit_p50_ns"), "ns"),
        sqlite_rows=count_label(r.get("g5_sqlite_rows")),
        g9_entries=count_label(g9_entries), g9_source=g9_source,
        g10_rows=int(r.get("hr.g10_rows", 0)),
        g10_mean=fmt_value(r.get("hr.g10_delta_mean_pp"), "pp"),
        g10_64sh=fmt_value(r.get("hr.g10_delta_64sh_min_pp"), "pp"),
        g11_threads=int(r.get("g11_threads", 1000)),
        g12_checks=count_label(r.get("g12_checks")),
        g13_writes=count_label(r.get("g13_writes")),
        g13_p50=fmt_value(r.get("g13_propagation_p50_us"), "us"),
        l2_p99=fmt_value(r.get("l2_hit_p99_us"), "us"))

    out = ["# permcache benchmark results", ""]
    for k in ("date", "commit", "mode", "cpu", "kernel", "redis", "postgresql"):
        if k in meta:
            out.append(f"- {k}: {meta[k]}")
    out += ["", "| goal | what | permcache | anchor | ratio | floor | aim | met? |",
            "|---|---|---|---|---|---|---|---|"]
    rows = [] if meta.get("only") == "pg" else [(g, fields) for g in GOALS]
    for n in pg_sizes(r):
        f = dict(fields, **pg_fields(r, n))
        for g in PG_GOALS:
            g = dict(g, pc=g["pc"].format(n=n),
                     anchor=g["anchor"].format(n=n) if g["anchor"] else None)
            rows.append((g, f))
    for g, fields in rows:
        if g["pc"] == "@g9":
            pc, pc_unit = g9, "bytes"
        else:
            pc, pc_unit = r.get(g["pc"]), UNITS.get(g["pc"], "")
        if pc is None and g.get("optional"):
            continue
        an = r.get(g["anchor"]) if g["anchor"] else None
        an_unit = UNITS.get(g["anchor"], "") if g["anchor"] else ""
        if g["kind"] in ("higher", "lower"):
            ratio = (to_common(pc, pc_unit) / to_common(an, an_unit)
                     if pc is not None and an else None)
            x = ratio
        else:
            ratio, x = None, pc
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            g["goal"], g["what"].format(**fields), fmt_value(pc, pc_unit),
            fmt_value(an, an_unit) if g["anchor"] else "—", fmt_ratio(ratio),
            fmt_target(g["floor"], g["kind"]), fmt_target(g["aim"], g["kind"]),
            verdict(x, g)))
    out += ["", "Ratios are permcache ÷ anchor, both measured in this run on this machine. "
            "redis-benchmark and wrk run on the same cores as the process they measure "
            "(see docs/benchmarks.md). PostgreSQL rows (G5-pg … gate): one server started by "
            "bench/postgres (PostgreSQL 15, fsync and synchronous_commit on), both sides in the "
            "same database, alternating runs; see bench/postgres/README.md."]
    if warns:
        out += ["", "**Warnings** (a figure above may be suspect):", ""]
        out += [f"- {w}" for w in warns]
    if infos:
        out += ["", "<details><summary>run details</summary>", "", "```"] + infos + ["```",
                                                                                       "</details>"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
