// Measures, against a running redis-server (`--redis URL`) and a fresh SQLite file:
//  - G13: a write on node A → the first correct check on node B (B polls its check in a tight
//    loop; changelog polling off, so only the bus can tell B), p50/p99 over N writes;
//  - the L2 hit path: L1 miss (tiny L1, cycling keys) + Redis GET + compile + intern, p50/p99.
// Prints "RESULT name value unit" lines for bench/run.sh.
//
// Usage: permcache_multinode_bench --redis redis://127.0.0.1:PORT/0 --dir /tmp/x [--writes N]
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cache/redis/redis_cache.h"
#include "permcache/checker.h"

namespace {

using permcache::Checker;
using permcache::OpKind;
using permcache::WriteOp;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::unique_ptr<Checker> Node(const std::string& db, const std::string& redis_url, size_t l1) {
  permcache::Options o;
  o.store_url = "sqlite:" + db;
  o.changelog_poll_interval = std::chrono::milliseconds(0);
  o.cache.max_entries = l1;
  o.cache.shards = 1;
  auto store = permcache::OpenStore(o.store_url);
  auto config = permcache::redis::RedisConfigFromUrlOrEnv(redis_url);
  if (!store.ok() || !config.ok()) {
    std::fprintf(stderr, "open failed\n");
    std::exit(2);
  }
  auto remote = permcache::redis::RedisCache::Open(*config);
  if (!remote.ok()) {
    std::fprintf(stderr, "redis: %s\n", remote.status().ToString().c_str());
    std::exit(2);
  }
  auto checker = Checker::Open(o, std::move(store).value(), std::move(remote).value());
  if (!checker.ok()) {
    std::fprintf(stderr, "checker: %s\n", checker.status().ToString().c_str());
    std::exit(2);
  }
  std::unique_ptr<Checker> node = std::move(checker).value();
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!(node->Stats().bus_up && node->Stats().l1_enabled) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return node;
}

WriteOp Op(OpKind kind) {
  WriteOp op;
  op.kind = kind;
  op.tenant = "t";
  return op;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_TIMERSLACK, 1000);  // 1 µs: the 10 µs polling sleeps below stay short
  std::string redis_url, dir = "/tmp";
  int writes = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--redis")) redis_url = argv[i + 1];
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--writes")) writes = std::atoi(argv[i + 1]);
  }
  if (redis_url.empty()) {
    std::fprintf(stderr, "usage: %s --redis URL --dir DIR [--writes N]\n", argv[0]);
    return 2;
  }
  const std::string db = dir + "/multinode-bench.db";
  std::remove(db.c_str());
  constexpr int kUsers = 10000;
  {
    auto seed = Node(db, redis_url, 1024);
    std::vector<WriteOp> ops = {Op(OpKind::kPutTenant), Op(OpKind::kPutRole),
                                Op(OpKind::kPutPolicy), Op(OpKind::kPutRolePolicy)};
    ops[1].role = "r";
    ops[2].policy = "p";
    ops[2].permissions = {"perm:0"};
    ops[3].role = "r";
    ops[3].policy = "p";
    for (int u = 0; u < kUsers; ++u) {
      WriteOp m = Op(OpKind::kPutMembership);
      m.user = "u" + std::to_string(u);
      ops.push_back(m);
      WriteOp ur = Op(OpKind::kPutUserRole);
      ur.user = m.user;
      ur.role = "r";
      ops.push_back(ur);
    }
    for (size_t i = 0; i < ops.size(); i += 5000) {  // a write holds at most 10,000 ops
      std::vector<WriteOp> batch(ops.begin() + i, ops.begin() + std::min(ops.size(), i + 5000));
      if (auto rev = seed->Write(batch); !rev.ok()) {
        std::fprintf(stderr, "seed write: %s\n", rev.status().ToString().c_str());
        return 1;
      }
    }
  }

  // --- L2 hit path: B's L1 holds 64 entries; A has filled L2 with every user.
  {
    auto a = Node(db, redis_url, 1'000'000);
    auto b = Node(db, redis_url, 64);
    for (int u = 0; u < kUsers; ++u) {
      (void)a->Check({.tenant = "t", .user = "u" + std::to_string(u), .permission = "perm:0"});
    }
    std::vector<double> us;
    std::vector<std::string> users;
    for (int u = 0; u < kUsers; ++u) users.push_back("u" + std::to_string(u));
    for (int i = 0; i < 20000; ++i) {
      const std::string& user = users[(i * 7919) % kUsers];
      const auto start = Clock::now();
      auto d = b->Check({.tenant = "t", .user = user, .permission = "perm:0"});
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      if (!d.ok() || !d->allowed) return 1;
    }
    const auto s = b->Stats();
    std::printf("RESULT l2_hit_p50_us %.2f us\nRESULT l2_hit_p99_us %.2f us\n", Percentile(us, 0.5),
                Percentile(us, 0.99));
    std::printf("RESULT l2_hit_ratio %.4f ratio\n",
                double(s.l2_hits) / double(std::max<uint64_t>(1, s.l2_hits + s.l2_misses)));
  }

  // --- G13: write on A, spin on B until B answers with the new state. Each write suspends or
  // reactivates u0 (one affected key); a second series changes a policy held by every user
  // (fan-out to all kUsers keys).
  auto a = Node(db, redis_url, 1'000'000);
  auto b = Node(db, redis_url, 1'000'000);
  auto propagate = [&](const WriteOp& op, std::string_view permission, bool want) -> double {
    (void)b->Check({.tenant = "t", .user = "u0", .permission = permission});  // warm B's L1
    const auto start = Clock::now();
    if (!a->Write(std::vector<WriteOp>{op}).ok()) std::exit(1);
    const auto deadline = start + std::chrono::seconds(5);
    while (true) {
      auto d = b->Check({.tenant = "t", .user = "u0", .permission = permission});
      if (d.ok() && d->allowed == want) break;
      // Poll every ~10 µs instead of spinning: on 2 cores a spinning checker would starve the
      // threads that deliver the invalidation (B's bus thread, Redis, A).
      std::this_thread::sleep_for(std::chrono::microseconds(10));
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "a write never reached B\n");
        std::exit(1);
      }
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  };
  std::vector<double> one_key;
  for (int k = 1; k <= writes; ++k) {
    WriteOp op = Op(OpKind::kPutMembership);
    op.user = "u0";
    op.status = k % 2 ? permcache::MembershipStatus::kSuspended : permcache::MembershipStatus::kActive;
    one_key.push_back(propagate(op, "perm:0", k % 2 == 0));
  }
  std::printf("RESULT g13_propagation_p50_us %.1f us\nRESULT g13_propagation_p99_us %.1f us\n",
              Percentile(one_key, 0.5), Percentile(one_key, 0.99));
  std::printf("RESULT g13_writes %d count\n", writes);
  std::vector<double> fan_out;
  for (int k = 1; k <= 50; ++k) {
    WriteOp op = Op(OpKind::kPutPolicy);
    op.policy = "p";
    op.permissions = {"perm:" + std::to_string(k)};
    fan_out.push_back(propagate(op, "perm:" + std::to_string(k), true));
  }
  std::printf("RESULT g13_fanout_%dk_p50_us %.1f us\n", kUsers / 1000, Percentile(fan_out, 0.5));
  return 0;
}
