// Issue 3 end to end: two and three `permcache serve` processes sharing one SQLite file and one
// redis-server (both real, on ports chosen at runtime). Covers cross-node visibility (bus and
// at_least_revision), a randomized grant/revoke run counting stale answers, Redis SIGKILL and
// restart, and AUTH errors at start-up.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <thread>

#include "e2e/multinode/e2e_node.h"
#include "support/permcache_server.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace permcache::testing {
namespace {

using std::chrono::milliseconds;

class MultiNodeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    redis_ = std::move(redis).value();
  }

  std::unique_ptr<Node> StartNode(std::vector<std::string> extra = {}) {
    PermcacheServerOptions o;
    o.store_url = "sqlite:" + dir_.File("shared.db");
    o.redis_url = redis_->Url();
    o.extra_args = std::move(extra);
    auto server = PermcacheServer::Start(o);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return nullptr;
    auto node = std::make_unique<Node>(std::move(server).value());
    // Warm once the bus is subscribed and L1 is enabled (until then a node serves correctly
    // from L2/the store, but caches nothing in L1, which the counts below rely on).
    EXPECT_TRUE(WaitUntil([&] {
      return node->Get("/readyz").at("redis") == "up" &&
             node->Get("/v1/cache/stats").at("l1_enabled").as_bool();
    })) << node->server().Logs();
    return node;
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(MultiNodeE2eTest, WriteOnAVisibleOnBAndC) {
  auto a = StartNode(), b = StartNode(), c = StartNode();
  ASSERT_TRUE(a && b && c);
  Seed(*a, 4);
  EXPECT_FALSE(b->Allowed("u1", "perm:1"));  // B and C cache the old state
  EXPECT_FALSE(c->Allowed("u1", "perm:1"));
  const uint64_t rev = a->Write(PutPolicy(1));
  // Pinned to the write's revision: right at once on any node.
  json::object pinned = b->Check("u1", "perm:1", rev);
  EXPECT_TRUE(pinned.at("allowed").as_bool());
  EXPECT_GE(pinned.at("revision").to_number<uint64_t>(), rev);
  // Unpinned: right after the bus delay.
  EXPECT_TRUE(WaitUntil([&] { return c->Allowed("u1", "perm:1"); }));
  EXPECT_FALSE(c->Allowed("u1", "perm:0"));
  // The L2 entry other applications read is in the seed format.
  auto value = redis_->Cli({"GET", "perms:u1:t"});
  ASSERT_TRUE(value.ok());
  EXPECT_NE(value->find(R"("permissions":["perm:1"])"), std::string::npos) << *value;
  json::object stats = c->Get("/v1/cache/stats");
  ASSERT_TRUE(stats.at("l2").is_object()) << json::serialize(stats);
  EXPECT_EQ(stats.at("l2").at("status"), "up");
  EXPECT_EQ(stats.at("l2").at("bus"), "up");
}

// G12 through real processes: A grants perm:k (revoking perm:k-1); B and C check both with the
// revision A acknowledged. Any allowed perm:k-1 or denied perm:k is a stale answer.
// `cache clear` on one node clears L1 on every node (through the bus) and the matching L2 keys.
TEST_F(MultiNodeE2eTest, AdminInvalidationReachesEveryNodeAndL2) {
  auto a = StartNode(), b = StartNode();
  ASSERT_TRUE(a && b);
  const uint64_t seeded = Seed(*a, 4);
  // B must have applied the seed write first, or its bus message may arrive after B's checks
  // and (correctly) drop the entries they cached.
  ASSERT_TRUE(WaitUntil([&] {
    return b->Get("/v1/cache/stats").at("applied_revision").to_number<uint64_t>() >= seeded;
  }));
  for (int u = 0; u < 4; ++u) EXPECT_TRUE(b->Allowed("u" + std::to_string(u), "perm:0"));
  EXPECT_EQ(b->Get("/v1/cache/stats").at("entries").to_number<int>(), 4);
  EXPECT_EQ(redis_->Cli({"EXISTS", "perms:u1:t"}).value(), "1");
  CliResult r = RunPermcache({"cache", "clear", "--user", "u1", "--server", a->server().url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitUntil([&] { return b->Get("/v1/cache/stats").at("entries").to_number<int>() == 3; }));
  EXPECT_EQ(redis_->Cli({"EXISTS", "perms:u1:t"}).value(), "0");
  r = RunPermcache({"cache", "clear", "--all", "--server", a->server().url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitUntil([&] { return b->Get("/v1/cache/stats").at("entries").to_number<int>() == 0; }));
  EXPECT_EQ(redis_->Cli({"EXISTS", "perms:u2:t"}).value(), "0");
  // The CLI shows L1 and L2 separately.
  r = RunPermcache({"cache", "stats", "--server", b->server().url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("l2.status"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("l2.bus_lag"), std::string::npos) << r.out;
}

TEST_F(MultiNodeE2eTest, RandomizedGrantsAndRevokesNoStaleAnswersOnOtherNodes) {
  auto a = StartNode(), b = StartNode(), c = StartNode();
  ASSERT_TRUE(a && b && c);
  constexpr int kUsers = 8;
  Seed(*a, kUsers);
  int checks = 0;
  const int stale = CountStaleAnswers(*a, {b.get(), c.get()}, kUsers, 60, 7, &checks);
  EXPECT_EQ(stale, 0) << "of " << checks << " checks";
}

TEST_F(MultiNodeE2eTest, RedisKilledChecksNeverFailNorServeRevokedGrantThenRecover) {
  auto a = StartNode(), b = StartNode({"--consistency-timeout", "3s"});
  ASSERT_TRUE(a && b);
  Seed(*a, 4);
  EXPECT_TRUE(b->Allowed("u0", "perm:0"));
  ASSERT_TRUE(redis_->Kill9().ok());
  const uint64_t rev = a->Write(PutPolicy(1));  // revokes perm:0 while Redis is down
  ASSERT_GT(rev, 0u);
  EXPECT_FALSE(b->Allowed("u0", "perm:0", rev));
  // Unpinned: B applies A's write from the changelog; meanwhile every check still answers 200.
  EXPECT_TRUE(WaitUntil([&] { return !b->Allowed("u0", "perm:0"); }));
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(b->Allowed("u" + std::to_string(i % 4), "perm:0"));
  int status = 0;
  json::object ready = b->Get("/readyz", &status);
  EXPECT_EQ(status, 200);  // degraded, still ready
  EXPECT_EQ(ready.at("redis"), "down");

  ASSERT_TRUE(redis_->Restart().ok());
  for (Node* n : {a.get(), b.get()}) {
    EXPECT_TRUE(WaitUntil([&] { return n->Get("/readyz").at("redis") == "up"; }))
        << n->server().Logs();
  }
  EXPECT_TRUE(a->Allowed("u2", "perm:1"));  // A refills L2
  EXPECT_TRUE(WaitUntil([&] {
    auto exists = redis_->Cli({"EXISTS", "perms:u2:t"});
    return exists.ok() && *exists == "1";
  }));
  EXPECT_FALSE(b->Allowed("u2", "perm:0"));
  EXPECT_TRUE(b->Allowed("u2", "perm:1"));
}

TEST(RedisAuthE2eTest, WrongPasswordIsAClearStartupErrorRightOneWorks) {
  auto redis = RedisServer::Start({.password = "s3cret"});
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  TempDir dir;
  const std::string url = "redis://:wrong@127.0.0.1:" + std::to_string((*redis)->port()) + "/0";
  CliResult r = RunPermcache({"serve", "--store", "sqlite:" + dir.File("a.db"), "--listen",
                              "127.0.0.1:0", "--redis", url});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("AUTH"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong"), std::string::npos) << "password leaked: " << r.err;

  PermcacheServerOptions o;
  o.redis_url = (*redis)->Url();  // carries the right password
  auto server = PermcacheServer::Start(o);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto client = (*server)->NewClient();
  EXPECT_TRUE(WaitUntil([&] {
    auto res = client->Get("/readyz");
    return res.ok() && res->body.find(R"("redis":"up")") != std::string::npos;
  }));
}

}  // namespace
}  // namespace permcache::testing
