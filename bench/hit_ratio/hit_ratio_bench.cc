// permcache_hit_ratio_bench: how good and how small is the L1 cache?
//
//  1. Hit ratio: Zipf(1.0) and Zipf(0.9) traces over a 100k-key universe replayed against the
//     real L1Cache (S3-FIFO) and an exact LRU simulator, at cache sizes of 0.5/1/5/10% of the
//     keys. The L1Cache runs with shards=1 (exact capacity, the policy as specified) and with
//     the production default of 64 shards (which the cache reduces so that each shard keeps at
//     least 64 entries) to show what sharding costs.
//  2. Memory: 1M distinct keys ("t12"/"u123456") pointing at 4 shared sets; prints the cache's
//     own accounting (memory_bytes / entries) and the process RSS delta / entries.
//  3. Hit path: CPU ns per Visit on a warm cache (10k random keys, and 16 hot keys), 1 and 2
//     threads.
//
// Usage: permcache_hit_ratio_bench [--quick]   (results on stdout)
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <malloc.h>
#include <unistd.h>
#include <vector>

#include "cache/l1_cache.h"
#include "common/clock.h"
#include "common/hash.h"

namespace permcache {
namespace {

struct Universe {
  std::vector<std::string> tenants, users;
  std::vector<uint64_t> hashes;
};

// "t12"-style ids via snprintf: GCC 12 at -O3 reports a false -Wrestrict on
// `"t" + std::to_string(i)` (GCC bug 105329).
std::string Id(char prefix, size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%zu", prefix, i);
  return buf;
}

Universe MakeUniverse(size_t n) {
  Universe u;
  u.tenants.reserve(n);
  u.users.reserve(n);
  u.hashes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    u.tenants.push_back(Id('t', i % 100));
    u.users.push_back(Id('u', i));
    u.hashes.push_back(HashKey(u.tenants.back(), u.users.back()));
  }
  return u;
}

// Zipf(alpha) over [0, n) by inverse CDF; ranks are shuffled onto key ids so popularity is not
// correlated with id order.
std::vector<uint32_t> ZipfTrace(size_t n, double alpha, size_t requests, uint64_t seed) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) cdf[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), alpha));
  for (double& c : cdf) c /= sum;
  std::vector<uint32_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = static_cast<uint32_t>(i);
  std::mt19937_64 rng(seed);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<uint32_t> trace(requests);
  for (auto& t : trace) {
    const size_t rank = std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin();
    t = perm[std::min(rank, n - 1)];
  }
  return trace;
}

// Exact LRU over a known universe: intrusive doubly linked list in arrays, O(1) per request.
double LruHitRatio(const std::vector<uint32_t>& trace, size_t n, size_t capacity) {
  constexpr uint32_t kNil = UINT32_MAX;
  std::vector<uint32_t> prev(n, kNil), next(n, kNil);
  std::vector<bool> in(n, false);
  uint32_t head = kNil, tail = kNil;  // head = most recent
  size_t size = 0, hits = 0;
  auto unlink = [&](uint32_t k) {
    if (prev[k] != kNil) next[prev[k]] = next[k]; else head = next[k];
    if (next[k] != kNil) prev[next[k]] = prev[k]; else tail = prev[k];
  };
  auto push_front = [&](uint32_t k) {
    prev[k] = kNil;
    next[k] = head;
    if (head != kNil) prev[head] = k;
    head = k;
    if (tail == kNil) tail = k;
  };
  for (uint32_t k : trace) {
    if (in[k]) {
      ++hits;
      unlink(k);
      push_front(k);
      continue;
    }
    if (size == capacity) {
      const uint32_t victim = tail;
      unlink(victim);
      in[victim] = false;
      --size;
    }
    push_front(k);
    in[k] = true;
    ++size;
  }
  return 100.0 * static_cast<double>(hits) / static_cast<double>(trace.size());
}

double L1HitRatio(const std::vector<uint32_t>& trace, const Universe& u, size_t capacity,
                  size_t shards) {
  CacheOptions o;
  o.max_entries = capacity;
  o.max_bytes = size_t{1} << 40;  // only the entry bound matters here
  o.shards = shards;
  o.ttl = std::chrono::hours(24);
  L1Cache cache(o, SystemClock::Get());
  const auto set = std::make_shared<const PermissionSet>();
  const L1Cache::Loader loader = [&set]() -> StatusOr<L1Cache::Loaded> {
    return L1Cache::Loaded{set, 1};
  };
  size_t hits = 0;
  for (uint32_t k : trace) {
    if (cache.Visit(u.hashes[k], u.tenants[k], u.users[k], [](const L1Cache::EntryView&) {})) {
      ++hits;
      continue;
    }
    (void)cache.Load(u.hashes[k], u.tenants[k], u.users[k], loader);
  }
  return 100.0 * static_cast<double>(hits) / static_cast<double>(trace.size());
}

void HitRatioTable(bool quick) {
  const size_t n = 100'000;
  const size_t requests = quick ? 500'000 : 3'000'000;
  const Universe u = MakeUniverse(n);
  std::printf("== Hit ratio: %zu keys, %zu requests per trace (cold start included) ==\n", n,
              requests);
  std::printf("%-6s %6s %8s %9s %12s %8s %14s\n", "zipf", "size%", "entries", "lru_hit%",
              "s3fifo_hit%", "delta", "s3fifo_64sh%");
  for (double alpha : {1.0, 0.9}) {
    const auto trace = ZipfTrace(n, alpha, requests, 7);
    for (double pct : {0.5, 1.0, 5.0, 10.0}) {
      const size_t cap = static_cast<size_t>(static_cast<double>(n) * pct / 100.0);
      const double lru = LruHitRatio(trace, n, cap);
      const double s3 = L1HitRatio(trace, u, cap, 1);
      const double s3_sharded = L1HitRatio(trace, u, cap, 64);
      std::printf("%-6.1f %6.1f %8zu %9.2f %12.2f %+8.2f %14.2f\n", alpha, pct, cap, lru, s3,
                  s3 - lru, s3_sharded);
      std::fflush(stdout);
    }
  }
}

double ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

size_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void MemoryTable(bool quick) {
  const size_t n = quick ? 200'000 : 1'000'000;
  std::vector<std::shared_ptr<const PermissionSet>> sets;
  for (int i = 0; i < 4; ++i) {
    PermissionSet::Rule r;
    r.pattern = "assets:read";
    r.priority = i;
    sets.push_back(std::make_shared<const PermissionSet>(
        MembershipState::kActive, std::vector<PermissionSet::Rule>{r},
        std::vector<PermissionSet::Source>{{"p", ""}}));
  }
  // Keys built up front so their strings are not part of the RSS delta.
  std::vector<std::string> tenants(n), users(n);
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "t%zu", i % 100);
    tenants[i] = buf;
    std::snprintf(buf, sizeof buf, "u%06zu", i);
    users[i] = buf;
  }
  std::printf("\n== Memory: %zu distinct keys (\"t12\"/\"u123456\") -> 4 shared sets ==\n", n);
  std::printf("%-34s %9s %12s %14s %12s\n", "config", "entries", "memory_MiB", "acct_B/entry",
              "rss_B/entry");
  struct Config {
    const char* name;
    size_t max_entries, shards;
  };
  for (const Config& cfg : {Config{"max_entries=n, 64 shards (default)", n, 64},
                            Config{"max_entries=1.25n, 64 shards", n + n / 4, 64}}) {
    // Return memory freed by earlier phases to the OS first, so the delta is the cache's.
    malloc_trim(0);
    const size_t rss_before = RssBytes();
    {
      CacheOptions o;
      o.max_entries = cfg.max_entries;
      o.max_bytes = size_t{1} << 34;
      o.shards = cfg.shards;
      L1Cache cache(o, SystemClock::Get());
      for (size_t i = 0; i < n; ++i) {
        const auto& set = sets[i % sets.size()];
        (void)cache.Load(HashKey(tenants[i], users[i]), tenants[i], users[i],
                         [&set]() -> StatusOr<L1Cache::Loaded> {
                           return L1Cache::Loaded{set, 1};
                         });
      }
      const L1Cache::Stats st = cache.GetStats();
      const size_t rss_after = RssBytes();
      const double entries = static_cast<double>(st.entries);
      std::printf("%-34s %9" PRIu64 " %12.1f %14.1f %12.1f\n", cfg.name, st.entries,
                  static_cast<double>(st.memory_bytes) / (1 << 20),
                  static_cast<double>(st.memory_bytes) / entries,
                  static_cast<double>(rss_after - rss_before) / entries);
      std::fflush(stdout);
    }
  }
  std::printf("(sizeof(CacheEntry)=%zu; accounting = malloc chunks of entries (header + inline "
              "key) + index slots + ghost slots)\n",
              sizeof(internal::CacheEntry));
}

void HitPathTable(bool quick) {
  const size_t keys = 10'000;
  const size_t ops = quick ? 2'000'000 : 10'000'000;
  const Universe u = MakeUniverse(keys);
  CacheOptions o;
  o.max_entries = 100'000;
  L1Cache cache(o, SystemClock::Get());
  const auto set = std::make_shared<const PermissionSet>();
  for (size_t i = 0; i < keys; ++i) {
    (void)cache.Load(u.hashes[i], u.tenants[i], u.users[i], [&set]() -> StatusOr<L1Cache::Loaded> {
      return L1Cache::Loaded{set, 1};
    });
  }
  std::printf("\n== Hit path: Visit on a warm cache (%zu keys, 64 shards, precomputed hash) ==\n",
              keys);
  std::printf("(per-thread CPU time, so the figure holds on a shared machine)\n");
  std::printf("%-8s %14s %14s\n", "threads", "random_ns", "hot16_ns");
  for (int threads : {1, 2}) {
    double ns_random = 0, ns_hot = 0;
    for (const size_t key_range : {keys, size_t{16}}) {
      std::vector<double> cpu_ns(threads, 0);
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          size_t hits = 0;
          uint64_t x = 0x9E3779B97F4A7C15ull * (t + 1);
          const double start = ThreadCpuNs();
          for (size_t i = 0; i < ops; ++i) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            const size_t k = x % key_range;
            hits += cache.Visit(u.hashes[k], u.tenants[k], u.users[k],
                                [](const L1Cache::EntryView& e) { (void)e.revision; })
                        ? 1
                        : 0;
          }
          cpu_ns[t] = (ThreadCpuNs() - start) / static_cast<double>(ops);
          if (hits != ops) std::fprintf(stderr, "unexpected misses\n");
        });
      }
      for (auto& th : pool) th.join();
      double avg = 0;
      for (double v : cpu_ns) avg += v / threads;
      (key_range == keys ? ns_random : ns_hot) = avg;
    }
    std::printf("%-8d %14.1f %14.1f\n", threads, ns_random, ns_hot);
  }
}

}  // namespace
}  // namespace permcache

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  permcache::HitRatioTable(quick);
  permcache::MemoryTable(quick);
  permcache::HitPathTable(quick);
  return 0;
}
