// SQLite-only store behaviour: the file, its migrations, and OpenStore's sqlite: URL handling.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/grant_queries.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Runs SQL on the file with a raw connection (what another tool or an older/newer binary would
// do). Returns the first column of the first row, if any.
std::string RawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// StoreTest on the SQLite backend only.
class SqliteStoreTest : public StoreTest {};

TEST_P(SqliteStoreTest, MigrationsAreIdempotentOnReopen) {
  MustApply({PutTenant("t1")});
  for (int i = 0; i < 3; ++i) {
    store_.reset();
    store_ = OpenUrl(url());
    ASSERT_NE(store_, nullptr);
  }
  store_.reset();
  EXPECT_EQ(RawSql(path(), "SELECT COUNT(*) FROM schema_migrations"),
            std::to_string(sqlite::Migrations().size()));
  EXPECT_EQ(RawSql(path(), "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(sqlite::LatestSchemaVersion()));
  EXPECT_EQ(RawSql(path(), "PRAGMA journal_mode"), "wal");
  store_ = OpenUrl(url());
  EXPECT_EQ(Revision(), 1u);
}

TEST(MigrationTest, UpgradesAVersion1File) {
  permcache::testing::TempDir dir;
  std::string file = dir.File("v1.db");
  {
    // What a binary that knew only migration 1 left behind: one committed revision.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    std::string sql = std::string("PRAGMA journal_mode=WAL; BEGIN;") +
                      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                      "applied_at TEXT NOT NULL);" +
                      "INSERT INTO schema_migrations VALUES (1, '2024-01-01T00:00:00.000Z');" +
                      sqlite::Migrations()[0].sql +
                      "INSERT INTO tenants VALUES ('t1');"
                      "UPDATE meta SET value = 1 WHERE key = 'revision';"
                      "INSERT INTO revisions VALUES (1, '2024-01-02T03:04:05.678Z');"
                      "INSERT INTO changelog VALUES (1, 't1', NULL);"
                      "COMMIT;";
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    sqlite3_close(db);
  }
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + file);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(RawSql(file, "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(sqlite::LatestSchemaVersion()));
  StatusOr<std::vector<ChangeSet>> changes = (*s)->ChangesSince(0, 10);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].committed_at_ms, 1704164645678);  // 2024-01-02T03:04:05.678Z
  EXPECT_THAT((*changes)[0].tenants, ElementsAre("t1"));
  // And it keeps working: the next write gets revision 2 with a current commit time.
  StatusOr<ChangeSet> cs = (*s)->Apply(std::vector<WriteOp>{PutTenant("t2")});
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->revision, 2u);
  EXPECT_GT(cs->committed_at_ms, 1704164645678);
}

// Every query behind a cache miss searches by its key: no plan step may walk a whole table
// ("SCAN") or a whole tenant (a search on "(tenant=?)" alone). Before the CROSS JOINs the
// planner walked every policy of the tenant for each role and direct policy read.
TEST_P(SqliteStoreTest, MissReadsSearchByTheirKeyNeverAWholeTenant) {
  MustApply(HospitalOps());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  for (std::string_view query : sqlite::kGrantQueries) {
    const std::string sql = "EXPLAIN QUERY PLAN " + std::string(query);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db) << "\n" << query;
    std::string plan;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      plan += "\n";
    }
    sqlite3_finalize(stmt);
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("SCAN "))) << query << "\n" << plan;
    EXPECT_THAT(plan, ::testing::Not(HasSubstr("(tenant=?)"))) << query << "\n" << plan;
  }
  sqlite3_close(db);
}

TEST_P(SqliteStoreTest, RefusesAFileFromANewerBinary) {
  store_.reset();
  RawSql(path(), "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'future')");
  StatusOr<std::unique_ptr<Store>> s = OpenStore(url());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("schema version 999"));
  EXPECT_THAT(s.status().message(), HasSubstr("newer"));
}

// --- OpenStore -----------------------------------------------------------------------------------

TEST(OpenStoreTest, CreatesTheFileAndDescribesIt) {
  permcache::testing::TempDir dir;
  std::string file = dir.File("new.db");
  ASSERT_FALSE(std::filesystem::exists(file));
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + file);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ((*s)->Describe(), "sqlite:" + file);
  EXPECT_TRUE((*s)->Ping().ok());
}

TEST(OpenStoreTest, AcceptsTripleSlashSpelling) {
  permcache::testing::TempDir dir;
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite://" + dir.File("x.db"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Describe(), "sqlite:" + dir.File("x.db"));
}

TEST(OpenStoreTest, UnknownSchemeNamesTheUrlWithoutItsPassword) {
  StatusOr<std::unique_ptr<Store>> s = OpenStore("mysql://root:hunter2@db/x");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("mysql://"));
  EXPECT_THAT(s.status().message(), ::testing::Not(HasSubstr("hunter2")));
  EXPECT_THAT(OpenStore("permcache.db").status().message(), HasSubstr("'permcache.db'"));
}

TEST(OpenStoreTest, BadSqlitePaths) {
  EXPECT_EQ(OpenStore("sqlite:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite::memory:").status().code(), StatusCode::kInvalidArgument);
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:/nonexistent-dir-permcache/x.db");
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(), HasSubstr("/nonexistent-dir-permcache/x.db"));
}

TEST(OpenStoreTest, NotADatabaseIsAnErrorNotACrash) {
  permcache::testing::TempDir dir;
  std::string file = dir.File("junk.db");
  {
    std::ofstream out(file);
    out << std::string(8192, 'x');
  }
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + file);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("not a database"));
}

TEST(SqliteRetentionTest, EveryPruneEveryWritesPrunesPastTheRetention) {
  permcache::testing::TempDir dir;
  StoreOptions options;
  options.changelog_retention = std::chrono::milliseconds(1);  // everything older than 1 ms
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + dir.File("r.db"), options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Store& store = **s;
  for (uint64_t i = 1; i < sqlite::kPruneEvery; ++i) {
    ASSERT_TRUE(store.Apply(std::vector<WriteOp>{PutTenant("t" + std::to_string(i % 7))}).ok());
  }
  EXPECT_EQ(*store.PrunedThrough(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the revisions age past 1 ms
  ASSERT_TRUE(store.Apply(std::vector<WriteOp>{PutTenant("last")}).ok());  // revision 256
  const uint64_t pruned = *store.PrunedThrough();
  EXPECT_EQ(pruned, sqlite::kPruneEvery - 1);  // all but the head
  StatusOr<std::vector<ChangeSet>> changes = store.ChangesSince(0, 1000);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].revision, sqlite::kPruneEvery);
  EXPECT_EQ(*store.CurrentRevision(), sqlite::kPruneEvery);
}

TEST(SqliteRetentionTest, ZeroRetentionKeepsEverything) {
  permcache::testing::TempDir dir;
  StoreOptions options;
  options.changelog_retention = std::chrono::milliseconds(0);
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + dir.File("r.db"), options);
  ASSERT_TRUE(s.ok());
  for (uint64_t i = 1; i <= sqlite::kPruneEvery; ++i) {
    ASSERT_TRUE((*s)->Apply(std::vector<WriteOp>{PutTenant("t")}).ok());
  }
  EXPECT_EQ(*(*s)->PrunedThrough(), 0u);
  EXPECT_EQ((*s)->ChangesSince(0, 1000)->size(), sqlite::kPruneEvery);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteStoreTest, ::testing::Values(Backend::kSqlite),
                         BackendName);

}  // namespace
}  // namespace permcache::store_test
