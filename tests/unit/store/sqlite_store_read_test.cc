// LoadGrants, Export, reopening, migrations and OpenStore URL handling.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/sqlite/schema.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

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

class GrantsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
  }
};

// --- LoadGrants ----------------------------------------------------------------------------------

TEST_F(GrantsTest, DirectRoleGrant) {
  UserGrants g = Grants("t1", "alice");
  EXPECT_EQ(g.membership, MembershipState::kActive);
  EXPECT_EQ(g.revision, Revision());
  EXPECT_THAT(g.grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "nurse"}));
}

TEST_F(GrantsTest, InheritedGrantCarriesTheRolePath) {
  EXPECT_THAT(
      Grants("t1", "bob").grants,
      ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "senior_nurse>nurse"}));
  EXPECT_THAT(
      Grants("t1", "dave").grants,
      UnorderedElementsAre(
          Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "chief>senior_nurse>nurse"},
          Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "chief>doctor"}));
}

TEST_F(GrantsTest, PolicyAndAssignmentScopes) {
  EXPECT_THAT(
      Grants("t1", "carol").grants,
      ElementsAre(Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "doctor"}));
  EXPECT_THAT(Grants("t1", "gina").grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "er", "nurse"}));
}

TEST_F(GrantsTest, DirectUserPolicyHasAnEmptyRolePath) {
  EXPECT_THAT(Grants("t1", "erin").grants,
              ElementsAre(Grant{"block", Effect::kDeny, 10, {"assets:*"}, "", "", ""}));
}

TEST_F(GrantsTest, DirectAndRoleGrantsTogether) {
  MustApply({PutUserPolicy("t1", "bob", "extra"), PutUserRole("t1", "bob", "doctor", "er")});
  EXPECT_THAT(
      Grants("t1", "bob").grants,
      ElementsAre(Grant{"extra", Effect::kAllow, 0, {"extra:use"}, "", "", ""},
                  Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "er", "doctor"},
                  Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "senior_nurse>nurse"}));
}

TEST_F(GrantsTest, SamePolicyThroughTwoPathsOfOneAssignmentIsListedOnceWithTheShortestPath) {
  MustApply({PutRolePolicy("t1", "senior_nurse", "read")});
  EXPECT_THAT(Grants("t1", "dave").grants,
              UnorderedElementsAre(
                  Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "chief>senior_nurse"},
                  Grant{"write", Effect::kAllow, 0, {"assets:write"}, "icu", "", "chief>doctor"}));
}

TEST_F(GrantsTest, DeepDiamondGraphLoadsQuickly) {
  // 30 layers of diamonds: 2^30 paths, 60 roles. A path-enumerating walk would never finish.
  std::vector<WriteOp> ops = {PutRole("t1", "l0a"), PutRole("t1", "l0b")};
  for (int i = 1; i <= 30; ++i) {
    std::vector<std::string> below = {"l" + std::to_string(i - 1) + "a",
                                      "l" + std::to_string(i - 1) + "b"};
    ops.push_back(PutRole("t1", "l" + std::to_string(i) + "a", below));
    ops.push_back(PutRole("t1", "l" + std::to_string(i) + "b", below));
  }
  ops.push_back(PutRolePolicy("t1", "l0a", "read"));
  ops.push_back(PutUserRole("t1", "frank", "l30a"));
  MustApply(ops);
  UserGrants g = Grants("t1", "frank");
  ASSERT_EQ(g.grants.size(), 1u);
  std::string shortest = "l30a";
  for (int i = 29; i >= 0; --i) shortest += ">l" + std::to_string(i) + "a";
  EXPECT_EQ(g.grants[0].role_path, shortest);
  // The affected-users query on the same graph is also fine.
  EXPECT_EQ(MustApply({PutRolePolicy("t1", "l0b", "extra")}).users, (UserKeys{{"t1", "frank"}}));
}

TEST_F(GrantsTest, SuspendedMembershipHasNoGrants) {
  UserGrants g = Grants("t1", "sam");
  EXPECT_EQ(g.membership, MembershipState::kSuspended);
  EXPECT_THAT(g.grants, IsEmpty());
}

TEST_F(GrantsTest, UnknownUserOrTenantIsNoMembership) {
  UserGrants g = Grants("t1", "nobody");
  EXPECT_EQ(g.membership, MembershipState::kNone);
  EXPECT_THAT(g.grants, IsEmpty());
  EXPECT_EQ(g.revision, Revision());
  EXPECT_EQ(Grants("nope", "alice").membership, MembershipState::kNone);
  // Roles without a membership grant nothing.
  MustApply({PutUserRole("t1", "ghost", "nurse")});
  EXPECT_EQ(Grants("t1", "ghost").membership, MembershipState::kNone);
  EXPECT_THAT(Grants("t1", "ghost").grants, IsEmpty());
}

TEST_F(GrantsTest, TenantsAreIsolated) {
  EXPECT_THAT(Grants("t2", "alice").grants,
              ElementsAre(Grant{"read", Effect::kAllow, 0, {"assets:read"}, "", "", "nurse"}));
  MustApply({PutRolePolicy("t1", "nurse", "extra")});
  EXPECT_EQ(Grants("t2", "alice").grants.size(), 1u);
  EXPECT_EQ(Grants("t1", "alice").grants.size(), 2u);
}

TEST_F(GrantsTest, RevisionFollowsWrites) {
  uint64_t before = Grants("t1", "alice").revision;
  ChangeSet cs = MustApply({PutRolePolicy("t1", "nurse", "extra")});
  UserGrants g = Grants("t1", "alice");
  EXPECT_EQ(g.revision, cs.revision);
  EXPECT_EQ(g.revision, before + 1);
}

// --- Export --------------------------------------------------------------------------------------

TEST_F(GrantsTest, ExportRoundTripsThroughModelToOps) {
  MustApply({PutPolicy("t1", "ordered", {"z:*", "a:read", "m:x"}, Effect::kDeny, -3),
             PutRole("t1", "multi", {"doctor", "nurse", "chief"})});
  Model exported = ExportAll();
  permcache::testing::TempDir other;
  std::unique_ptr<Store> fresh = OpenAt(other.File("copy.db"));
  ASSERT_NE(fresh, nullptr);
  MustApply(*fresh, ModelToOps(exported));
  EXPECT_EQ(ExportOf(*fresh, ""), exported);
  // Importing again into the same store changes nothing.
  MustApply(*fresh, ModelToOps(exported));
  EXPECT_EQ(ExportOf(*fresh, ""), exported);
}

TEST_F(GrantsTest, ExportOfOneTenant) {
  Model t2 = ExportOf(*store_, "t2");
  EXPECT_THAT(t2.tenants, ElementsAre(Tenant{"t2"}));
  EXPECT_THAT(t2.roles, ElementsAre(Role{"t2", "nurse", {}}));
  EXPECT_THAT(t2.user_roles, ElementsAre(UserRole{"t2", "alice", "nurse", ""}));
  EXPECT_THAT(t2.business_units, IsEmpty());
}

TEST_F(GrantsTest, ExportOfUnknownTenantIsNotFound) {
  StatusOr<Model> m = store_->Export("nope");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("nope"));
}

// Regression: a default-constructed string_view has a null data(), which was bound as SQL NULL,
// so "every tenant" exported nothing (found by the e2e test of GET /v1/model).
TEST_F(GrantsTest, ExportWithDefaultConstructedTenantListsEveryTenant) {
  StatusOr<Model> m = store_->Export(std::string_view());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m, ExportAll());
  EXPECT_GE(m->tenants.size(), 2u);
}

TEST_F(StoreTest, ExportOfEmptyStoreIsEmpty) { EXPECT_EQ(ExportAll(), Model{}); }

// --- reopen and migrations -----------------------------------------------------------------------

TEST_F(GrantsTest, ReopenSeesDataAndRevision) {
  Model before = ExportAll();
  uint64_t rev = Revision();
  store_.reset();
  store_ = OpenAt(path());
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(ExportAll(), before);
  EXPECT_EQ(Revision(), rev);
  EXPECT_EQ(MustApply({PutTenant("t3")}).revision, rev + 1);
}

TEST_F(StoreTest, MigrationsAreIdempotentOnReopen) {
  MustApply({PutTenant("t1")});
  for (int i = 0; i < 3; ++i) {
    store_.reset();
    store_ = OpenAt(path());
    ASSERT_NE(store_, nullptr);
  }
  store_.reset();
  EXPECT_EQ(RawSql(path(), "SELECT COUNT(*) FROM schema_migrations"),
            std::to_string(sqlite::Migrations().size()));
  EXPECT_EQ(RawSql(path(), "SELECT MAX(version) FROM schema_migrations"),
            std::to_string(sqlite::LatestSchemaVersion()));
  EXPECT_EQ(RawSql(path(), "PRAGMA journal_mode"), "wal");
  store_ = OpenAt(path());
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

TEST_F(StoreTest, RefusesAFileFromANewerBinary) {
  store_.reset();
  RawSql(path(), "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'future')");
  StatusOr<std::unique_ptr<Store>> s = OpenStore("sqlite:" + path());
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

TEST(OpenStoreTest, PostgresIsNotBuiltInYet) {
  StatusOr<std::unique_ptr<Store>> s = OpenStore("postgres://u:secret@db/permcache");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "postgres store is not built in yet");
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

}  // namespace
}  // namespace permcache::store_test
