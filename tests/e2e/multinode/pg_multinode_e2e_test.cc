// Issue 6 end to end: two and three `permcache serve --store postgres://...` processes on one
// real PostgreSQL and no Redis (a complete coherent fleet), writes made straight into the
// tables with SQL, PostgreSQL going down while serving (never a grant, 503 and not ready, then
// recovery by itself), and start-up errors that never show the password.
#include <gtest/gtest.h>

#include <random>

#include "e2e/multinode/e2e_node.h"
#include "support/free_port.h"
#include "support/permcache_server.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace permcache::testing {
namespace {

class PgMultiNodeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { UseServer(SharedPostgres()); }

  void UseServer(PostgresServer* pg) {
    ASSERT_NE(pg, nullptr);
    pg_ = pg;
    auto db = pg_->NewDatabase();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
  }

  std::unique_ptr<Node> StartNode(std::vector<std::string> extra = {}) {
    PermcacheServerOptions o;
    o.store_url = pg_->Url(db_);
    o.extra_args = std::move(extra);
    auto server = PermcacheServer::Start(o);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return nullptr;
    auto node = std::make_unique<Node>(std::move(server).value());
    // L1 is trusted once the node LISTENs (until then it serves from the store).
    EXPECT_TRUE(WaitUntil([&] {
      return node->Get("/readyz").at("listener") == "up" &&
             node->Get("/v1/cache/stats").at("l1_enabled").as_bool();
    })) << node->server().Logs();
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

  PostgresServer* pg_ = nullptr;
  std::string db_;
};

TEST_F(PgMultiNodeE2eTest, WritesAndDirectSqlReachEveryNodeWithoutRedis) {
  auto a = StartNode(), b = StartNode(), c = StartNode();
  ASSERT_TRUE(a && b && c);
  Seed(*a, 4);
  for (Node* n : {b.get(), c.get()}) EXPECT_TRUE(n->Allowed("u0", "perm:0"));  // cached
  const uint64_t rev = a->Write(PutPolicy(1));
  for (Node* n : {b.get(), c.get()}) {
    EXPECT_FALSE(n->Allowed("u0", "perm:0", rev));
    EXPECT_TRUE(WaitUntil([&] { return !n->Allowed("u0", "perm:0"); })) << "NOTIFY lost";
  }
  // Another application revokes u1's membership straight in the table.
  Sql("UPDATE permcache.memberships SET status = 'suspended' WHERE tenant = 't' AND user_id = 'u1'");
  const uint64_t direct = Head();
  for (Node* n : {a.get(), b.get(), c.get()}) {
    EXPECT_TRUE(WaitUntil([&] { return !n->Allowed("u1", "perm:1"); }));
    EXPECT_FALSE(n->Allowed("u1", "perm:1", direct));
    EXPECT_TRUE(n->Allowed("u2", "perm:1"));
  }
  json::object stats = b->Get("/v1/cache/stats");
  ASSERT_TRUE(stats.at("store_feed").is_object()) << json::serialize(stats);
  EXPECT_EQ(stats.at("store_feed").at("status"), "up");
  EXPECT_GE(stats.at("store_feed").at("notifications").to_number<uint64_t>(), 2u);
  // The seed's own query works on the effective table, kept current inside the write.
  EXPECT_EQ(Sql("SELECT string_agg(user_id, ',' ORDER BY user_id) FROM "
                "permcache.user_effective_policies WHERE organization_id = 't' AND "
                "policy_id = 'p'"),
            "u0,u2,u3");
}

TEST_F(PgMultiNodeE2eTest, RandomizedGrantsAndRevokesNoStaleAnswersOnOtherNodes) {
  auto a = StartNode(), b = StartNode(), c = StartNode();
  ASSERT_TRUE(a && b && c);
  constexpr int kUsers = 8;
  Seed(*a, kUsers);
  int checks = 0;
  const int stale = CountStaleAnswers(*a, {b.get(), c.get()}, kUsers, 60, 11, &checks);
  EXPECT_EQ(stale, 0) << "of " << checks << " checks";
}

TEST_F(PgMultiNodeE2eTest, PostgresDownNeverGrantsIsNotReadyAndRecoversByItself) {
  auto own = PostgresServer::Start();
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  UseServer(own->get());
  auto a = StartNode();
  ASSERT_TRUE(a);
  Seed(*a, 2);
  EXPECT_TRUE(a->Allowed("u0", "perm:0"));
  ASSERT_TRUE((*own)->Stop().ok());
  // The listener is gone, so L1 is no longer trusted: checks fail closed (503), never allow.
  ASSERT_TRUE(WaitUntil([&] {
    int status = 0;
    a->Get("/readyz", &status);
    return status == 503;
  })) << a->server().Logs();
  auto client = a->server().NewClient();
  auto r = client->Get("/v1/check?tenant=t&user=u0&permission=perm:0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->body.find("\"allowed\":true"), std::string::npos);
  EXPECT_EQ(a->Get("/readyz").at("store"), "down");

  ASSERT_TRUE((*own)->Restart().ok());
  EXPECT_TRUE(WaitUntil([&] {
    int status = 0;
    json::object ready = a->Get("/readyz", &status);
    return status == 200 && ready.at("listener") == "up";
  })) << a->server().Logs();
  EXPECT_TRUE(a->Allowed("u0", "perm:0"));
  const uint64_t rev = a->Write(PutPolicy(1));
  EXPECT_GT(rev, 0u);
  EXPECT_FALSE(a->Allowed("u0", "perm:0"));
}

TEST_F(PgMultiNodeE2eTest, UnreachableOrWrongPasswordIsAClearStartupErrorWithoutThePassword) {
  const std::string unreachable = "postgres://app:pw-unreachable-1@127.0.0.1:" +
                                  std::to_string(FreeLoopbackPort()) + "/permcache";
  CliResult r = RunPermcache({"serve", "--store", unreachable, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot connect to postgres://app@127.0.0.1:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pw-unreachable-1"), std::string::npos) << "password leaked: " << r.err;

  const std::string wrong = "postgresql://postgres:pw-wrong-2@127.0.0.1:" +
                            std::to_string(pg_->port()) + "/" + db_;
  r = RunPermcache({"serve", "--store", wrong, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("pw-wrong-2"), std::string::npos) << "password leaked: " << r.err;
  // The password given in a libpq query parameter is hidden too.
  const std::string query = "postgres://postgres@127.0.0.1:" + std::to_string(pg_->port()) +
                            "/" + db_ + "?password=pw-query-3";
  r = RunPermcache({"serve", "--store", query, "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.find("pw-query-3"), std::string::npos) << "password leaked: " << r.err;
}

TEST_F(PgMultiNodeE2eTest, ReconcileFindsAndFixesWritesThatBypassedTheTriggers) {
  auto a = StartNode();
  ASSERT_TRUE(a);
  Seed(*a, 3);
  const std::string url = pg_->Url(db_);
  CliResult r = RunPermcache({"reconcile", "--store", url});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 missing, 0 extra"), std::string::npos) << r.out;
  // A bulk load with the triggers disabled (seed 003's runbook case): u9 gets role r, and the
  // effective table does not know.
  Sql("SET session_replication_role = replica; "
      "INSERT INTO permcache.memberships VALUES ('t', 'u9', 'active'); "
      "INSERT INTO permcache.user_roles (tenant, user_id, role) VALUES ('t', 'u9', 'r'); "
      "DELETE FROM permcache.user_roles WHERE tenant = 't' AND user_id = 'u0'");
  r = RunPermcache({"reconcile", "--store", url});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("1 missing, 1 extra"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("user=u9"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(PostgresServer::kPassword), std::string::npos);
  r = RunPermcache({"reconcile", "--fix"}, {{"PERMCACHE_STORE", url}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("fixed"), std::string::npos) << r.out;
  EXPECT_EQ(Sql("SELECT string_agg(user_id, ',' ORDER BY user_id) FROM "
                "permcache.user_effective_policies WHERE organization_id = 't'"),
            "u1,u2,u9");
  r = RunPermcache({"reconcile", "--store", url});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // SQLite keeps no derived table: a usage error, not a crash.
  TempDir dir;
  r = RunPermcache({"reconcile", "--store", "sqlite:" + dir.File("x.db")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("no derived tables"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace permcache::testing
