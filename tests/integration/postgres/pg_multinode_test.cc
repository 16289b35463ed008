// Several permcache nodes (Checkers in one process, each with its own pool and LISTEN
// connection) on one real PostgreSQL and no Redis: PostgreSQL alone is a complete coherent
// fleet. Covers propagation over LISTEN/NOTIFY, writes made straight into the tables by another
// application, the listener killed or the server restarted mid-run (never a revoked grant), a
// store epoch change, and the randomized stale-answer hunt.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "cache/redis/redis_cache.h"
#include "permcache/checker.h"
#include "support/redis_server.h"
#include "support/stale_hunt.h"
#include "support/postgres_server.h"
#include "support/wait_until.h"
#include "support/write_ops.h"

namespace permcache::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kUsers = 32;

bool Allowed(Checker& c, const std::string& user, const std::string& permission,
             uint64_t at_least = 0) {
  auto d = c.Check({.tenant = "t", .user = user, .permission = permission,
                    .at_least_revision = at_least});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() && d->allowed;
}

class PgMultiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override { UseServer(SharedPostgres()); }

  void UseServer(PostgresServer* pg) {
    ASSERT_NE(pg, nullptr);
    pg_ = pg;
    auto db = pg_->NewDatabase();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto seed = Node(milliseconds(0), /*wait_for_feed=*/false);
    ASSERT_NE(seed, nullptr);
    std::vector<WriteOp> ops = {PutTenant("t"), PutRole("t", "r"), PutPolicy("t", "p", {"perm:0"}),
                                PutRolePolicy("t", "r", "p")};
    for (int u = 0; u < kUsers; ++u) {
      ops.push_back(PutMember("t", "u" + std::to_string(u)));
      ops.push_back(PutUserRole("t", "u" + std::to_string(u), "r"));
    }
    ASSERT_TRUE(seed->Write(ops).ok());
  }

  // A node on the database; `poll` = 0: only LISTEN/NOTIFY tells it about other writers.
  std::unique_ptr<Checker> Node(milliseconds poll = milliseconds(0), bool wait_for_feed = true) {
    Options o;
    o.store_url = pg_->Url(db_);
    o.changelog_poll_interval = poll;
    auto checker = Checker::Open(o);
    EXPECT_TRUE(checker.ok()) << checker.status().ToString();
    if (!checker.ok()) return nullptr;
    std::unique_ptr<Checker> node = std::move(checker).value();
    if (wait_for_feed) {
      EXPECT_TRUE(WaitUntil([&] {
        CacheStats s = node->Stats();
        return s.store_feed_up && s.l1_enabled;
      })) << "the LISTEN feed never came up";
    }
    return node;
  }

  std::string Sql(const std::string& sql) {
    auto out = pg_->Exec(db_, sql);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : "";
  }
  uint64_t Head() {
    return std::stoull(Sql("SELECT coalesce(max(revision), 0) FROM permcache.pc_revisions"));
  }

  static uint64_t SetPerm(Checker& node, int k) {
    auto rev = node.Write(std::vector<WriteOp>{PutPolicy("t", "p", {"perm:" + std::to_string(k)})});
    EXPECT_TRUE(rev.ok()) << rev.status().ToString();
    return rev.ok() ? *rev : 0;
  }

  PostgresServer* pg_ = nullptr;
  std::string db_;
};

TEST_F(PgMultiNodeTest, WriteOnAReachesBOverListenNotify) {
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(b->Stats().store_feed_enabled);
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));  // cached on B
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  EXPECT_GE(b->Stats().hits, 1u);
  const uint64_t rev = SetPerm(*a, 1);
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= rev; })) << "NOTIFY did not arrive";
  EXPECT_FALSE(Allowed(*b, "u0", "perm:0"));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:1"));
  EXPECT_GE(b->Stats().store_feed_notifications, 1u);
}

TEST_F(PgMultiNodeTest, DirectSqlWritesReachEveryNode) {
  auto a = Node();
  auto b = Node();
  for (Checker* n : {a.get(), b.get()}) {
    EXPECT_TRUE(Allowed(*n, "u1", "perm:0"));
    EXPECT_TRUE(Allowed(*n, "u2", "perm:0"));
  }
  // Another application suspends u1 and edits the policy pattern, in one transaction.
  Sql("BEGIN; UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't' AND "
      "user_id = 'u1'; UPDATE permcache.policies SET permissions = '{perm:9}' WHERE tenant = 't' "
      "AND policy = 'p'; COMMIT;");
  const uint64_t rev = Head();
  for (Checker* n : {a.get(), b.get()}) {
    ASSERT_TRUE(WaitUntil([&] { return n->AppliedRevision() >= rev; }));
    EXPECT_FALSE(Allowed(*n, "u1", "perm:9"));
    EXPECT_FALSE(Allowed(*n, "u2", "perm:0"));
    EXPECT_TRUE(Allowed(*n, "u2", "perm:9"));
  }
  // A bulk UPDATE of every membership and a TRUNCATE, as a migration script would do.
  Sql("UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't'");
  const uint64_t bulk = Head();
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= bulk; }));
  EXPECT_FALSE(Allowed(*b, "u2", "perm:9"));
  Sql("UPDATE permcache.memberships SET status = 'active' WHERE tenant = 't'");
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= Head(); }));
  EXPECT_TRUE(Allowed(*b, "u3", "perm:9"));
  Sql("TRUNCATE permcache.user_roles");
  const uint64_t truncated = Head();
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= truncated; }));
  EXPECT_FALSE(Allowed(*b, "u3", "perm:9"));
}

TEST_F(PgMultiNodeTest, ListenerKilledNeverServesARevokedGrantAndRecovers) {
  auto a = Node();
  auto b = Node();
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  const uint64_t reconnects = b->Stats().store_feed_reconnects;
  // Kill every node's listener backend: the socket closes under them.
  Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'permcache-listener' AND datname = current_database()");
  // Revoked by another application while the listeners are (possibly) gone.
  Sql("UPDATE permcache.policies SET permissions = '{perm:1}' WHERE tenant = 't' AND policy = 'p'");
  const uint64_t rev = Head();
  // Pinned checks never see the revoked grant, whatever the listener's state.
  EXPECT_FALSE(Allowed(*b, "u0", "perm:0", rev));
  // B noticed, reconnected, caught up, and trusts its cache again.
  ASSERT_TRUE(WaitUntil([&] {
    CacheStats s = b->Stats();
    return s.store_feed_reconnects > reconnects && s.store_feed_up && s.l1_enabled &&
           b->AppliedRevision() >= rev;
  })) << "listener did not recover";
  for (int i = 0; i < kUsers; ++i) EXPECT_FALSE(Allowed(*b, "u" + std::to_string(i), "perm:0"));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:1"));
}

TEST_F(PgMultiNodeTest, FrozenListenerBackendIsDetectedByTheHeartbeat) {
  auto b = Node();
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  // SIGSTOP on the listener's backend: its socket stays open but nothing answers any more (a
  // half-open connection, as a silent network or a frozen VM would leave it).
  const std::string pid = Sql(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'permcache-listener' "
      "AND datname = current_database() LIMIT 1");
  ASSERT_FALSE(pid.empty());
  ASSERT_EQ(kill(std::stoi(pid), SIGSTOP), 0);
  const auto frozen = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitUntil([&] { return !b->Stats().l1_enabled; }, std::chrono::seconds(10)))
      << "a frozen listener was not noticed";
  const auto noticed = std::chrono::steady_clock::now() - frozen;
  kill(std::stoi(pid), SIGCONT);
  EXPECT_LT(noticed, std::chrono::seconds(5));  // heartbeat interval 1 s + timeout 2 s
  EXPECT_GE(b->Stats().store_feed_heartbeat_failures, 1u);
  ASSERT_TRUE(WaitUntil([&] { return b->Stats().store_feed_up && b->Stats().l1_enabled; }));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
}

TEST_F(PgMultiNodeTest, ServerRestartedImmediateNeverServesARevokedGrantAndRecovers) {
  auto own = PostgresServer::Start();
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  UseServer(own->get());
  auto a = Node();
  auto b = Node();
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  ASSERT_TRUE((*own)->RestartImmediate().ok());
  // The first write after the crash may meet a dead pooled connection; the next succeeds.
  uint64_t rev = 0;
  ASSERT_TRUE(WaitUntil([&] {
    auto r = a->Write(std::vector<WriteOp>{PutPolicy("t", "p", {"perm:1"})});
    if (r.ok()) rev = *r;
    return r.ok();
  })) << "writes did not resume";
  EXPECT_FALSE(Allowed(*b, "u0", "perm:0", rev));
  ASSERT_TRUE(WaitUntil([&] {
    CacheStats s = b->Stats();
    return s.store_feed_up && s.l1_enabled && b->AppliedRevision() >= rev;
  })) << "node did not recover";
  EXPECT_FALSE(Allowed(*b, "u0", "perm:0"));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:1"));
  // Revisions stay monotonic across the crash.
  EXPECT_GT(SetPerm(*a, 2), rev);
}

TEST_F(PgMultiNodeTest, StoreEpochChangeDropsEveryCachedAnswer) {
  auto b = Node();
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  EXPECT_GE(b->Stats().entries, 1u);
  // What a restore into another cluster looks like to a node: same tables, another identity.
  // The revision counter is also set back, as pg_dump + restore of an older backup would.
  Sql("UPDATE permcache.pc_meta SET value = gen_random_uuid()::text WHERE key = 'store_id'");
  Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'permcache-listener' AND datname = current_database()");
  ASSERT_TRUE(WaitUntil([&] {
    CacheStats s = b->Stats();
    return s.store_feed_reconnects >= 1 && s.store_feed_up && s.l1_enabled;
  }));
  EXPECT_EQ(b->Stats().store_feed_epoch_changes, 1u);
  EXPECT_EQ(b->Stats().entries, 0u);
  EXPECT_EQ(b->AppliedRevision(), Head());  // the cursor restarted at the store's head
}

// PostgreSQL + Redis: both buses run, and L1 stays trusted while either is up.
TEST_F(PgMultiNodeTest, WithRedisTooEitherBusKeepsL1TrustedAndChangesFlowEitherWay) {
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  auto node = [&] {
    Options o;
    o.store_url = pg_->Url(db_);
    o.changelog_poll_interval = milliseconds(0);
    auto store = OpenStore(o.store_url);
    EXPECT_TRUE(store.ok());
    auto config = redis::RedisConfigFromUrlOrEnv((*redis)->Url());
    EXPECT_TRUE(config.ok());
    config->command_timeout = milliseconds(200);
    auto remote = redis::RedisCache::Open(*config);
    EXPECT_TRUE(remote.ok()) << remote.status().ToString();
    auto checker = Checker::Open(o, std::move(store).value(), std::move(remote).value());
    EXPECT_TRUE(checker.ok()) << checker.status().ToString();
    std::unique_ptr<Checker> n = std::move(checker).value();
    EXPECT_TRUE(WaitUntil([&] {
      CacheStats s = n->Stats();
      return s.bus_up && s.store_feed_up && s.l1_enabled;
    })) << "buses never came up";
    return n;
  };
  auto a = node();
  auto b = node();
  EXPECT_TRUE(Allowed(*b, "u0", "perm:0"));
  // Redis dies: the PostgreSQL feed alone still carries every change, so L1 stays on.
  ASSERT_TRUE((*redis)->Kill9().ok());
  ASSERT_TRUE(WaitUntil([&] { return !b->Stats().bus_up; }));
  EXPECT_TRUE(b->Stats().l1_enabled);
  const uint64_t rev = SetPerm(*a, 1);
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= rev; }));
  EXPECT_FALSE(Allowed(*b, "u0", "perm:0"));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:1"));
  // And the other way round: Redis back, the listener killed: the Redis bus carries it.
  ASSERT_TRUE((*redis)->Restart().ok());
  ASSERT_TRUE(WaitUntil([&] { return b->Stats().bus_up && a->Stats().bus_up; }));
  Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'permcache-listener' AND datname = current_database()");
  const uint64_t rev2 = SetPerm(*a, 2);
  EXPECT_FALSE(Allowed(*b, "u0", "perm:1", rev2));
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= rev2; }));
  EXPECT_TRUE(Allowed(*b, "u0", "perm:2"));
  EXPECT_TRUE(WaitUntil([&] { return b->Stats().l1_enabled && b->Stats().store_feed_up; }));
}

// G12 on PostgreSQL only: A grants and revokes; B and C check. A check that knows revision r
// (at_least_revision, or after its node has applied r) must never see what r revoked.
TEST_F(PgMultiNodeTest, RandomizedGrantsAndRevokesProduceNoStaleAnswers) {
  auto a = Node();
  std::vector<std::unique_ptr<Checker>> readers;
  readers.push_back(Node());
  readers.push_back(Node());
  const StaleHuntResult r = RunStaleHunt([&](int k) { return SetPerm(*a, k); },
                                          {readers[0].get(), readers[1].get()}, kUsers, 150);
  EXPECT_EQ(r.stale, 0u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_GT(r.checks, 500u);
  std::printf("RESULT g12_pg_checks %llu\nRESULT g12_pg_stale %llu\n",
              static_cast<unsigned long long>(r.checks),
              static_cast<unsigned long long>(r.stale));
}

}  // namespace
}  // namespace permcache::testing
