// PostgreSQL-only store behaviour: schema migrations under concurrent starts, refusing a newer
// schema, URL and connection errors that never show a password, and reads in one snapshot.
// Every backend-neutral store test runs on PostgreSQL too (TEST_P on StoreTest and friends).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using permcache::testing::PostgresServer;
using permcache::testing::SharedPostgres;

class PostgresStoreTest : public StoreTest {
 protected:
  PostgresServer& pg() { return *SharedPostgres(); }
  std::string db() const { return url().substr(url().rfind('/') + 1); }
  std::string Sql(const std::string& sql) {
    StatusOr<std::string> out = pg().Exec(db(), sql);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : "";
  }
};

TEST_P(PostgresStoreTest, CreatesSchemaPermcacheWithTheContractTables) {
  EXPECT_EQ(Sql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
                "information_schema.tables WHERE table_schema = 'permcache' AND table_name IN "
                "('tenants','business_units','memberships','roles','role_inherits','policies',"
                "'role_policies','user_roles','user_policies','user_effective_policies')"),
            "business_units,memberships,policies,role_inherits,role_policies,roles,tenants,"
            "user_effective_policies,user_policies,user_roles");
}

TEST_P(PostgresStoreTest, MigrationsAreIdempotentAndSerializedAcrossConcurrentStarts) {
  MustApply({PutTenant("t1")});
  store_.reset();
  // Eight nodes starting at once against one database: the advisory lock serializes them.
  std::atomic<int> failures{0};
  std::vector<std::thread> nodes;
  for (int i = 0; i < 8; ++i) {
    nodes.emplace_back([&] {
      StatusOr<std::unique_ptr<Store>> s = OpenStore(url());
      if (!s.ok()) {
        ADD_FAILURE() << s.status().ToString();
        failures.fetch_add(1);
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM permcache.schema_migrations"),
            Sql("SELECT max(version) FROM permcache.schema_migrations"));
  store_ = OpenUrl(url());
  EXPECT_EQ(Revision(), 1u);
}

TEST_P(PostgresStoreTest, RefusesADatabaseFromANewerBinary) {
  store_.reset();
  Sql("INSERT INTO permcache.schema_migrations (version, name) VALUES (999, 'future')");
  StatusOr<std::unique_ptr<Store>> s = OpenStore(url());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("schema version 999"));
  EXPECT_THAT(s.status().message(), HasSubstr("newer"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr(PostgresServer::kPassword)));
}

TEST_P(PostgresStoreTest, DescribeNamesTheServerWithoutThePassword) {
  const std::string d = store_->Describe();
  EXPECT_THAT(d, HasSubstr("postgres://postgres@127.0.0.1:" + std::to_string(pg().port())));
  EXPECT_THAT(d, Not(HasSubstr(PostgresServer::kPassword)));
}

TEST_P(PostgresStoreTest, WrongPasswordIsAClearErrorWithoutThePassword) {
  const std::string bad = "postgres://postgres:wrong-hunter2@127.0.0.1:" +
                          std::to_string(pg().port()) + "/" + db();
  StatusOr<std::unique_ptr<Store>> s = OpenStore(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("wrong-hunter2")));
}

TEST_P(PostgresStoreTest, UnreachableServerIsAClearErrorWithoutThePassword) {
  const uint16_t port = permcache::testing::FreeLoopbackPort();
  StatusOr<std::unique_ptr<Store>> s =
      OpenStore("postgresql://app:s3cret-pw@127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(), HasSubstr("cannot connect to postgres://app@127.0.0.1:"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cret-pw")));
}

TEST_P(PostgresStoreTest, MalformedUrlIsInvalidArgument) {
  StatusOr<std::unique_ptr<Store>> s = OpenStore("postgres://u:pw@[bad/x?sslmode=nonsense");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), Not(HasSubstr(":pw@")));
}

TEST_P(PostgresStoreTest, ABrokenPooledConnectionIsReplaced) {
  MustApply(HospitalOps());
  ASSERT_EQ(Grants("t1", "alice").grants.size(), 1u);
  // Kill every session of the pool: the next calls reconnect instead of failing forever.
  Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = current_database() AND application_name = 'permcache' "
      "AND pid <> pg_backend_pid()");
  // Reads retry once on a fresh connection when the pooled one is dead.
  EXPECT_TRUE(store_->Ping().ok());
  EXPECT_EQ(Grants("t1", "alice").grants.size(), 1u);
  const uint64_t written = MustApply({PutTenant("t9")}).revision;
  EXPECT_EQ(written, Revision());
}

TEST_P(PostgresStoreTest, LibpqEnvironmentAndParametersFillWhatTheUrlLeavesOut) {
  // No password in the URL: PGPASSWORD supplies it (libpq reads the PG* variables).
  const std::string url =
      "postgres://postgres@127.0.0.1:" + std::to_string(pg().port()) + "/" + db() +
      "?target_session_attrs=read-write&application_name=ignored";
  setenv("PGPASSWORD", PostgresServer::kPassword, 1);
  StatusOr<std::unique_ptr<Store>> s = OpenStore(url);
  unsetenv("PGPASSWORD");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->Ping().ok());
  // Without it the same URL is refused with libpq's own message.
  StatusOr<std::unique_ptr<Store>> refused = OpenStore(url);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

TEST_P(PostgresStoreTest, RetentionPrunesOldRevisionsAndReportsHowFar) {
  for (int i = 0; i < 5; ++i) MustApply({PutTenant("t" + std::to_string(i))});
  EXPECT_EQ(*store_->PrunedThrough(), 0u);
  // What the maintenance thread runs once a minute, with a retention of zero.
  EXPECT_EQ(Sql("SELECT permcache.prune_changelog('0 seconds', 10000) > 0"), "t");
  EXPECT_EQ(*store_->PrunedThrough(), 4u);  // never the head
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(0, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].revision, 5u);
  EXPECT_EQ(MustApply({PutTenant("t9")}).revision, 6u);
}

TEST_P(PostgresStoreTest, IntervalBoundsAreExactToTheMillisecondBothWays) {
  MustApply(HospitalOps());
  // The first and last ms validation allows, and one at a non-zero ms: timestamptz holds each
  // exactly (checked against literals) and each comes back as the same ms.
  constexpr int64_t kFirst = -62'135'596'800'000;  // 0001-01-01T00:00:00Z
  constexpr int64_t kOdd = 1'796'126'400'123;      // 2026-12-01T12:00:00.123Z
  constexpr int64_t kLast = 253'402'300'799'999;   // 9999-12-31T23:59:59.999Z
  WriteOp member = PutMember("t1", "frank");
  member.starts_at_ms = kFirst + 1;
  member.expires_at_ms = kLast;
  WriteOp role = PutUserRole("t1", "frank", "nurse");
  role.starts_at_ms = kFirst;
  role.expires_at_ms = kOdd;
  MustApply({member, role});
  EXPECT_EQ(Sql("SELECT starts_at = '0001-01-01 00:00:00.001+00' "
                "  AND expires_at = '9999-12-31 23:59:59.999+00' "
                "FROM permcache.memberships WHERE tenant = 't1' AND user_id = 'frank'"),
            "t");
  EXPECT_EQ(Sql("SELECT starts_at = '0001-01-01 00:00:00+00' "
                "  AND expires_at = '2026-12-01 12:00:00.123+00' "
                "FROM permcache.user_roles WHERE tenant = 't1' AND user_id = 'frank'"),
            "t");
  UserGrants g = Grants("t1", "frank");
  EXPECT_EQ(g.membership_valid, (Interval{kFirst + 1, kLast}));
  ASSERT_EQ(g.grants.size(), 1u);
  EXPECT_EQ(g.grants[0].valid, (Interval{kFirst, kOdd}));
  const Model m = ExportOf(*store_, "t1");
  auto it = std::find_if(m.user_roles.begin(), m.user_roles.end(),
                         [](const UserRole& x) { return x.user == "frank"; });
  ASSERT_NE(it, m.user_roles.end());
  EXPECT_EQ(it->starts_at_ms, kFirst);
  EXPECT_EQ(it->expires_at_ms, kOdd);

  // A direct writer's bound finer than a ms is rounded inward (the engine never counts an
  // instant the effective table's readers would not): starts_at up, expires_at down.
  Sql("UPDATE permcache.memberships SET starts_at = '2026-12-01 12:00:00.1231+00', "
      "  expires_at = '2026-12-01 12:00:00.5009+00' WHERE tenant = 't1' AND user_id = 'frank'");
  EXPECT_EQ(Grants("t1", "frank").membership_valid,
            (Interval{kOdd + 1, 1'796'126'400'500}));
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresStoreTest, ::testing::Values(Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace permcache::store_test
