// permcache_check_bench: the embedded measurements of bench/run.sh. Start here.
//
// One process runs, in this order (each phase on its own Checker unless noted):
//   populate  N_small pairs into a SQLite store through Checker::Write
//   G5        cold misses on N_small users (fresh L1, a never-checked key per check), then the
//             SQLite primary-key anchor on a N_small-row WAL table, same key order, same timer
//   G11       T threads released by one latch check the same cold key; a CountingStore counts
//             LoadGrants calls (round 0 as is, later rounds with a slowed store read)
//   G1/G2     warm N_small pairs, then L1-hit throughput (uniform, Zipf(0.99); 2 threads) and
//             single-thread per-check latency; then populate and warm up to N_large pairs on
//             the same Checker and measure throughput again
//   G9        accounted bytes per entry (CacheStats) and heap bytes per entry at N_large
// and prints "RESULT name value unit" lines for bench/table.py.
//
// `permcache_check_bench redis-proto --keys N --format seed|randint` prints RESP for
// `redis-cli --pipe` instead (the Redis anchors' data, see bench/run.sh).
#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "counting_store.h"
#include "latency.h"
#include "permcache/checker.h"
#include "sqlite_anchor.h"
#include "workload.h"

namespace permcache::bench {
namespace {

struct Flags {
  std::string dir;                     // work directory for the SQLite files (required)
  size_t pairs_small = 100'000;        // G1 "100k", G2, G5 (users in the store), G11
  size_t pairs_large = 1'000'000;      // G1 "1M", G9
  int threads = 2;                     // G1 threads
  double seconds = 3.0;                // per G1 run
  size_t latency_samples = 1'000'000;  // G2
  size_t cold_samples = 20'000;        // G5
  int g11_threads = 1000;
  int g11_rounds = 3;
  int g11_delay_ms = 10;       // store read delay in rounds >= 1 (round 0: none)
  std::set<std::string> only;  // empty = every phase
  bool Want(const char* phase) const { return only.empty() || only.count(phase) > 0; }
};

void Result(const std::string& name, double value, const char* unit) {
  std::printf("RESULT %s %.6g %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}
void Info(const std::string& text) {
  std::printf("INFO %s\n", text.c_str());
  std::fflush(stdout);
}
void Warn(const std::string& text) {
  std::printf("WARN %s\n", text.c_str());
  std::fflush(stdout);
}
[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "permcache_check_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::string Fmt(const char* fmt, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// A label for a pair count: 100000 -> "100k", 1000000 -> "1M".
std::string CountLabel(size_t n) {
  if (n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

std::unique_ptr<Checker> OpenChecker(const Options& options) {
  auto checker = Checker::Open(options);
  if (!checker.ok()) Die("open " + options.store_url, checker.status());
  return std::move(*checker);
}

void WriteUsers(Checker& checker, size_t begin, size_t end) {
  int64_t start = NowNs();
  for (const auto& batch : UserOpBatches(begin, end)) {
    auto rev = checker.Write(batch);
    if (!rev.ok()) Die("write users", rev.status());
  }
  double s = Seconds(NowNs() - start);
  Info(Fmt("populated pairs [%.0f, %.0f) in %.1f s", static_cast<double>(begin),
           static_cast<double>(end), s));
}

// Checks pairs [begin, end) once each from `threads` threads (fills L1). threads == 1 runs on
// the calling thread, so that its allocations land in the main malloc arena (G9's heap figure).
void Warm(Checker& checker, const KeyTable& keys, size_t begin, size_t end, int threads) {
  int64_t start = NowNs();
  std::atomic<uint64_t> errors{0};
  auto run = [&](int t) {
    for (size_t i = begin + t; i < end; i += threads) {
      auto d = checker.Check(
          {.tenant = keys.tenant(i), .user = keys.user(i), .permission = kCheckedPermission});
      // Relaxed: read after join.
      if (!d.ok()) errors.fetch_add(1, std::memory_order_relaxed);
    }
  };
  if (threads == 1) {
    run(0);
  } else {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(run, t);
    for (auto& w : workers) w.join();
  }
  double s = Seconds(NowNs() - start);
  Info(Fmt("warmed pairs [%.0f, %.0f) in %.1f s", static_cast<double>(begin),
           static_cast<double>(end), s) +
       Fmt(" (%.0f misses/s with %.0f threads)", static_cast<double>(end - begin) / s, threads));
  if (errors.load() > 0) Warn(Fmt("warm: %.0f checks failed", static_cast<double>(errors.load())));
}

// G1: L1-hit throughput over pairs [0, n) with `threads` threads, each reading its own
// pre-generated index stream (no RNG in the loop). Returns checks/s summed over threads.
// batch > 0: Checker::CheckBatch with `batch` checks per call (the embedded counterpart of
// redis-benchmark's -P 16 pipelining), else one Check() per check.
double HitThroughput(Checker& checker, const KeyTable& keys, size_t n, bool zipf,
                     const Flags& flags, const std::string& name, size_t batch = 0) {
  // Power-of-two streams so the loop wraps with a mask; 4M indices (16 MiB) per thread is far
  // longer than any cache and than one run's checks per thread would repeat noticeably.
  const size_t stream = n >= 500'000 ? (1u << 22) : (1u << 20);
  std::vector<std::vector<uint32_t>> streams;
  for (int t = 0; t < flags.threads; ++t) {
    uint64_t seed = 1000 + static_cast<uint64_t>(t) * 7919;
    streams.push_back(zipf ? ZipfIndices(n, stream, 0.99, seed) : UniformIndices(n, stream, seed));
  }
  CacheStats before = checker.Stats();
  std::latch start(flags.threads);
  std::vector<uint64_t> ops(flags.threads), allowed(flags.threads), errors(flags.threads);
  std::vector<int64_t> elapsed(flags.threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < flags.threads; ++t) {
    workers.emplace_back([&, t] {
      const uint32_t* idx = streams[t].data();
      const size_t mask = stream - 1;
      // Batch buffers, reused (1024 is a multiple of every batch size used here).
      std::vector<CheckRequest> requests(std::max<size_t>(batch, 1));
      std::vector<BatchResult> results(std::max<size_t>(batch, 1));
      std::vector<std::array<char, 24>> batch_ids(std::max<size_t>(batch, 1));
      size_t pos = 0;
      uint64_t done = 0, yes = 0, bad = 0;
      start.arrive_and_wait();
      const int64_t t0 = NowNs();
      const int64_t deadline = t0 + static_cast<int64_t>(flags.seconds * 1e9);
      int64_t now = t0;
      do {
        char user_buf[24];
        if (batch > 0) {
          for (int k = 0; k < 1024; k += static_cast<int>(batch)) {
            for (size_t j = 0; j < batch; ++j) {
              uint32_t i = idx[pos];
              pos = (pos + 1) & mask;
              requests[j] = {.tenant = keys.tenant(i),
                             .user = KeyTable::FormatUser(i, batch_ids[j].data()),
                             .permission = kCheckedPermission};
            }
            checker.CheckBatch(std::span(requests.data(), batch),
                               std::span(results.data(), batch));
            for (size_t j = 0; j < batch; ++j) {
              if (results[j].status.ok()) {
                yes += results[j].decision.allowed ? 1 : 0;
              } else {
                ++bad;
              }
            }
          }
        } else {
          for (int k = 0; k < 1024; ++k) {
            uint32_t i = idx[pos];
            pos = (pos + 1) & mask;
            auto d = checker.Check({.tenant = keys.tenant(i),
                                    .user = KeyTable::FormatUser(i, user_buf),
                                    .permission = kCheckedPermission});
            if (d.ok()) {
              yes += d->allowed ? 1 : 0;
            } else {
              ++bad;
            }
          }
        }
        done += 1024;
        now = NowNs();
      } while (now < deadline);
      ops[t] = done;
      allowed[t] = yes;
      errors[t] = bad;
      elapsed[t] = now - t0;
    });
  }
  for (auto& w : workers) w.join();
  CacheStats after = checker.Stats();
  double rate = 0;
  uint64_t total = 0, total_allowed = 0, total_errors = 0;
  for (int t = 0; t < flags.threads; ++t) {
    rate += static_cast<double>(ops[t]) / Seconds(elapsed[t]);
    total += ops[t];
    total_allowed += allowed[t];
    total_errors += errors[t];
  }
  Info(name + Fmt(": %.0f checks, %.1f%% allowed, L1 misses during run %.0f",
                  static_cast<double>(total),
                  100.0 * static_cast<double>(total_allowed) / static_cast<double>(total),
                  static_cast<double>(after.misses - before.misses)));
  if (total_errors > 0) Warn(name + Fmt(": %.0f checks failed", static_cast<double>(total_errors)));
  if (after.misses != before.misses) Warn(name + ": not all checks were L1 hits");
  Result(name, rate, "checks/s");
  return rate;
}

// G2: single-thread latency of L1 hits over pairs [0, n), every check timed on its own.
void HitLatency(Checker& checker, const KeyTable& keys, size_t n, const Flags& flags,
                int64_t overhead_ns) {
  const size_t samples = flags.latency_samples;
  std::vector<uint32_t> idx = UniformIndices(n, samples + 100'000, 42);
  for (size_t k = samples; k < idx.size(); ++k) {  // untimed warm-up of code and TLBs
    auto d = checker.Check({.tenant = keys.tenant(idx[k]),
                            .user = keys.user(idx[k]),
                            .permission = kCheckedPermission});
    (void)d;
  }
  std::vector<int64_t> ns(samples);
  uint64_t bad = 0;
  char user_buf[24];
  for (size_t k = 0; k < samples; ++k) {
    uint32_t i = idx[k];
    const std::string_view user = KeyTable::FormatUser(i, user_buf);  // the caller's id, in hand
    int64_t a = NowNs();
    auto d = checker.Check(
        {.tenant = keys.tenant(i), .user = user, .permission = kCheckedPermission});
    int64_t b = NowNs();
    ns[k] = b - a;
    if (!d.ok()) ++bad;
  }
  if (bad > 0) Warn(Fmt("g2: %.0f checks failed", static_cast<double>(bad)));
  Percentiles p = Summarize(ns, overhead_ns);
  Result("g2_hit_p50_ns", p.p50, "ns");
  Result("g2_hit_p90_ns", p.p90, "ns");
  Result("g2_hit_p99_ns", p.p99, "ns");
  Result("g2_hit_p999_ns", p.p999, "ns");
  Result("g2_samples", static_cast<double>(samples), "checks");
}

// G5: cold misses. A fresh Checker; each measured check names a pair never checked before, so
// it reads the store, compiles (or finds the interned set), installs, and decides.
void ColdMiss(const Options& base, const Flags& flags, int64_t overhead_ns) {
  const size_t n_users = flags.pairs_small;
  const size_t warm = std::min<size_t>(5'000, n_users / 10);
  const size_t n = std::min(flags.cold_samples, n_users - warm);
  std::vector<uint32_t> order = Shuffled(n_users, 7);
  KeyTable keys(n_users);
  {
    auto checker = OpenChecker(base);
    // Untimed: warms the store connection's page cache and the interner on other users, as a
    // running server would be.
    for (size_t k = 0; k < warm; ++k) {
      auto d = checker->Check({.tenant = keys.tenant(order[k]),
                               .user = keys.user(order[k]),
                               .permission = kCheckedPermission});
      if (!d.ok()) Die("g5 warm check", d.status());
    }
    CacheStats before = checker->Stats();
    std::vector<int64_t> ns(n);
    for (size_t k = 0; k < n; ++k) {
      uint32_t i = order[warm + k];
      int64_t a = NowNs();
      auto d = checker->Check(
          {.tenant = keys.tenant(i), .user = keys.user(i), .permission = kCheckedPermission});
      int64_t b = NowNs();
      ns[k] = b - a;
      if (!d.ok()) Die("g5 check", d.status());
    }
    CacheStats after = checker->Stats();
    if (after.misses - before.misses != n) {
      Warn(Fmt("g5: expected %.0f misses, saw %.0f", static_cast<double>(n),
               static_cast<double>(after.misses - before.misses)));
    }
    Percentiles p = Summarize(ns, overhead_ns);
    Result("g5_cold_p50_us", p.p50 / 1e3, "us");
    Result("g5_cold_p99_us", p.p99 / 1e3, "us");
    Result("g5_samples", static_cast<double>(n), "checks");
  }
  auto anchor = RunSqliteAnchor((std::filesystem::path(flags.dir) / "anchor.db").string(), n_users,
                                order, warm, n);
  if (!anchor.ok()) Die("sqlite anchor", anchor.status());
  if (anchor->rows_found != n) Warn("sqlite anchor: not every key was found");
  Percentiles q = Summarize(anchor->samples_ns, overhead_ns);
  Result("g5_sqlite_p50_us", q.p50 / 1e3, "us");
  Result("g5_sqlite_p99_us", q.p99 / 1e3, "us");
  Result("g5_sqlite_rows", static_cast<double>(n_users), "rows");
}

// G11: flags.g11_threads threads, released together, check one cold key. Store reads counted.
void ConcurrentMisses(const Options& base, const Flags& flags) {
  auto store = OpenStore(base.store_url);
  if (!store.ok()) Die("open store", store.status());
  auto counting = std::make_unique<CountingStore>(std::move(*store));
  CountingStore* counter = counting.get();
  auto opened = Checker::Open(base, std::move(counting));
  if (!opened.ok()) Die("open checker", opened.status());
  Checker& checker = **opened;
  KeyTable keys(flags.pairs_small);
  uint64_t worst = 0;
  for (int round = 0; round < flags.g11_rounds; ++round) {
    // A different never-checked pair per round. Round 0 reads the local SQLite file as is;
    // later rounds make the read slow (a remote store) so every thread arrives mid-read.
    size_t i = (static_cast<size_t>(round) * 7'777 + 13) % flags.pairs_small;
    const int delay_ms = round == 0 ? 0 : flags.g11_delay_ms;
    counter->set_load_delay(std::chrono::milliseconds(delay_ms));
    const uint64_t waits_before = checker.Stats().single_flight_waits;
    uint64_t reads_before = counter->load_grants_calls();
    std::latch go(flags.g11_threads);
    std::atomic<uint64_t> failed{0};
    std::vector<std::thread> threads;
    threads.reserve(flags.g11_threads);
    for (int t = 0; t < flags.g11_threads; ++t) {
      threads.emplace_back([&] {
        go.arrive_and_wait();
        auto d = checker.Check(
            {.tenant = keys.tenant(i), .user = keys.user(i), .permission = kCheckedPermission});
        // Relaxed: read after join.
        if (!d.ok()) failed.fetch_add(1, std::memory_order_relaxed);
      });
    }
    for (auto& t : threads) t.join();
    uint64_t reads = counter->load_grants_calls() - reads_before;
    worst = std::max(worst, reads);
    const uint64_t waits = checker.Stats().single_flight_waits - waits_before;
    Info(Fmt("g11 round %.0f: %.0f store reads for %.0f concurrent checks", round,
             static_cast<double>(reads), flags.g11_threads) +
         Fmt(" (store delay %.0f ms, %.0f single-flight waits)", delay_ms,
             static_cast<double>(waits)));
    if (failed.load() > 0) Warn(Fmt("g11: %.0f checks failed", static_cast<double>(failed.load())));
  }
  Result("g11_store_reads", static_cast<double>(worst), "reads");
  Result("g11_threads", flags.g11_threads, "threads");
}

// Bytes allocated from the main malloc arena (mallinfo2 does not see per-thread arenas, hence
// the single-threaded fill it measures).
size_t HeapInUse() { return mallinfo2().uordblks; }

int RunBench(const Flags& flags) {
  std::filesystem::create_directories(flags.dir);
  const std::string db = (std::filesystem::path(flags.dir) / "bench.db").string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  Options base;
  base.store_url = "sqlite:" + db;

  const int64_t overhead = TimerOverheadNs();
  Result("timer_overhead_ns", static_cast<double>(overhead), "ns");
  Result("pairs_small", static_cast<double>(flags.pairs_small), "pairs");
  Result("pairs_large", static_cast<double>(flags.pairs_large), "pairs");
  Result("g1_threads", flags.threads, "threads");

  {
    auto checker = OpenChecker(base);
    auto rev = checker->Write(SchemaOps());
    if (!rev.ok()) Die("write schema", rev.status());
    WriteUsers(*checker, 0, flags.pairs_small);
  }
  if (flags.Want("g5")) ColdMiss(base, flags, overhead);
  if (flags.Want("g11")) ConcurrentMisses(base, flags);
  if (!flags.Want("g1") && !flags.Want("g2") && !flags.Want("g9")) return 0;

  // Hit-path phases: bounds and TTL raised so nothing is evicted or expires while measuring
  // hits (eviction is bench/hit_ratio's subject, not this one's).
  Options hot = base;
  hot.cache.max_entries = std::max<size_t>(2 * flags.pairs_large, hot.cache.max_entries);
  hot.cache.max_bytes = size_t{4} << 30;
  hot.cache.ttl = std::chrono::hours(6);
  auto checker = OpenChecker(hot);
  KeyTable keys(flags.pairs_large);
  const std::string small = CountLabel(flags.pairs_small);
  const std::string large = CountLabel(flags.pairs_large);
  Warm(*checker, keys, 0, flags.pairs_small, flags.threads);
  if (flags.Want("g1")) {
    HitThroughput(*checker, keys, flags.pairs_small, false, flags, "g1_uniform_small");
    HitThroughput(*checker, keys, flags.pairs_small, true, flags, "g1_zipf_small");
    HitThroughput(*checker, keys, flags.pairs_small, false, flags, "g1_batch16_uniform_small", 16);
  }
  if (flags.Want("g2")) HitLatency(*checker, keys, flags.pairs_small, flags, overhead);
  if (!flags.Want("g1") && !flags.Want("g9")) return 0;

  WriteUsers(*checker, flags.pairs_small, flags.pairs_large);
  malloc_trim(0);
  const size_t heap_before = HeapInUse();
  const CacheStats stats_before = checker->Stats();
  Warm(*checker, keys, flags.pairs_small, flags.pairs_large, 1);
  const size_t heap_after = HeapInUse();
  const CacheStats stats = checker->Stats();
  if (stats.entries != flags.pairs_large) {
    Warn(Fmt("expected %.0f cached entries, have %.0f (evictions %.0f)",
             static_cast<double>(flags.pairs_large), static_cast<double>(stats.entries),
             static_cast<double>(stats.evictions)));
  }
  if (flags.Want("g1")) {
    HitThroughput(*checker, keys, flags.pairs_large, false, flags, "g1_uniform_large");
    HitThroughput(*checker, keys, flags.pairs_large, true, flags, "g1_zipf_large");
    HitThroughput(*checker, keys, flags.pairs_large, false, flags, "g1_batch16_uniform_large", 16);
    HitThroughput(*checker, keys, flags.pairs_large, true, flags, "g1_batch16_zipf_large", 16);
  }
  if (flags.Want("g9") && stats.entries > 0) {
    Result("g9_entries", static_cast<double>(stats.entries), "entries");
    Result("g9_accounted_bytes_per_entry",
           static_cast<double>(stats.memory_bytes) / static_cast<double>(stats.entries), "bytes");
    const double added = static_cast<double>(stats.entries - stats_before.entries);
    if (added > 0) {
      Result("g9_heap_bytes_per_entry",
             (static_cast<double>(heap_after) - static_cast<double>(heap_before)) / added, "bytes");
    }
    Info(Fmt("g9 distinct_sets %.0f set_bytes %.0f memory_bytes %.0f",
             static_cast<double>(stats.distinct_sets), static_cast<double>(stats.set_bytes),
             static_cast<double>(stats.memory_bytes)));
  }
  return 0;
}

// RESP for `redis-cli --pipe`: SET key value EX 900 for keys 0..n-1.
//   seed:    perms:u{i}:t{i%10}       (G9, the seed-000 key format)
//   randint: perms:{i:012}:t1         (what redis-benchmark's __rand_int__ expands to)
int RedisProto(size_t n, const std::string& format) {
  static constexpr std::string_view kValue =
      R"({"permissions":["assets:read","assets:write","findings:read"]})";
  std::vector<char> buffer(1 << 20);
  std::setvbuf(stdout, buffer.data(), _IOFBF, buffer.size());
  char key[64];
  for (size_t i = 0; i < n; ++i) {
    int len = format == "randint" ? std::snprintf(key, sizeof key, "perms:%012zu:t1", i)
                                  : std::snprintf(key, sizeof key, "perms:u%zu:t%zu", i, i % 10);
    std::printf("*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%zu\r\n%.*s\r\n$2\r\nEX\r\n$3\r\n900\r\n", len,
                key, kValue.size(), static_cast<int>(kValue.size()), kValue.data());
  }
  std::fflush(stdout);
  return 0;
}

constexpr const char* kUsage = R"(usage:
  permcache_check_bench --dir DIR [--quick] [--only g1,g2,g5,g9,g11] [--pairs-small N]
      [--pairs-large N] [--threads N] [--seconds S] [--latency-samples N]
      [--cold-samples N] [--g11-threads N] [--g11-rounds N] [--g11-delay-ms MS]
  permcache_check_bench redis-proto --keys N [--format seed|randint]
Defaults: 100000 / 1000000 pairs, 2 threads, 3 s per throughput run, 1M latency samples,
20000 cold misses, 1000 threads x 3 rounds for G11 (round 0 plain, later rounds with a 10 ms
store read). --quick: 10000 / 50000 pairs, 0.5 s, 100000 latency samples, 2000 cold misses,
2 G11 rounds.
)";

int Main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto value = [&](size_t& k) -> std::string {
    if (k + 1 >= args.size()) {
      std::fprintf(stderr, "missing value for %s\n%s", std::string(args[k]).c_str(), kUsage);
      std::exit(2);
    }
    return std::string(args[++k]);
  };
  if (!args.empty() && args[0] == "redis-proto") {
    size_t n = 0;
    std::string format = "seed";
    for (size_t k = 1; k < args.size(); ++k) {
      if (args[k] == "--keys") {
        n = std::stoull(value(k));
      } else if (args[k] == "--format") {
        format = value(k);
      } else {
        std::fprintf(stderr, "unknown flag %s\n%s", std::string(args[k]).c_str(), kUsage);
        return 2;
      }
    }
    if (format != "seed" && format != "randint") {
      std::fprintf(stderr, "--format must be seed or randint\n");
      return 2;
    }
    return RedisProto(n, format);
  }
  Flags flags;
  // --quick first so explicit sizes given with it still win.
  if (std::find(args.begin(), args.end(), "--quick") != args.end()) {
    flags.pairs_small = 10'000;
    flags.pairs_large = 50'000;
    flags.seconds = 0.5;
    flags.latency_samples = 100'000;
    flags.cold_samples = 2'000;
    flags.g11_rounds = 2;
  }
  for (size_t k = 0; k < args.size(); ++k) {
    std::string_view a = args[k];
    if (a == "--quick") continue;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--dir") {
      flags.dir = value(k);
    } else if (a == "--only") {
      std::string list = value(k);
      for (size_t p = 0; p <= list.size();) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        if (q > p) flags.only.insert(list.substr(p, q - p));
        p = q + 1;
      }
    } else if (a == "--pairs-small") {
      flags.pairs_small = std::stoull(value(k));
    } else if (a == "--pairs-large") {
      flags.pairs_large = std::stoull(value(k));
    } else if (a == "--threads") {
      flags.threads = std::stoi(value(k));
    } else if (a == "--seconds") {
      flags.seconds = std::stod(value(k));
    } else if (a == "--latency-samples") {
      flags.latency_samples = std::stoull(value(k));
    } else if (a == "--cold-samples") {
      flags.cold_samples = std::stoull(value(k));
    } else if (a == "--g11-threads") {
      flags.g11_threads = std::stoi(value(k));
    } else if (a == "--g11-rounds") {
      flags.g11_rounds = std::stoi(value(k));
    } else if (a == "--g11-delay-ms") {
      flags.g11_delay_ms = std::stoi(value(k));
    } else {
      std::fprintf(stderr, "unknown flag %s\n%s", std::string(a).c_str(), kUsage);
      return 2;
    }
  }
  if (flags.dir.empty() || flags.pairs_small == 0 || flags.pairs_large < flags.pairs_small ||
      flags.threads < 1 || flags.g11_threads < 1 || flags.pairs_small < 10) {
    std::fprintf(stderr, "bad flags (need --dir, 10 <= pairs-small <= pairs-large)\n%s", kUsage);
    return 2;
  }
  return RunBench(flags);
}

}  // namespace
}  // namespace permcache::bench

int main(int argc, char** argv) { return permcache::bench::Main(argc, argv); }
