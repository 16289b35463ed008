// Helpers for the store tests: a fixture parameterized over the backends (a fresh SQLite file, or
// a fresh database on a real PostgreSQL, per test) and a small hospital-shaped model used by
// several suites. Every TEST_P on StoreTest (or a fixture derived from it) runs on every backend:
// instantiate it with PERMCACHE_INSTANTIATE_STORE_TEST(Fixture).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "permcache/model.h"
#include "permcache/store.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "support/write_ops.h"

namespace permcache::store_test {

// The op builders (PutTenant, PutRolePolicy, ...) live in support/write_ops.h.
using namespace ::permcache::testing;  // NOLINT(build/namespaces): test helpers

using UserKeys = std::vector<std::pair<std::string, std::string>>;

// Tenant t1 (business units icu, er):
//   roles: nurse; senior_nurse inherits nurse; doctor; chief inherits senior_nurse, doctor
//   policies: read (allow assets:read), write (allow assets:write, scope icu),
//             block (deny assets:*, priority 10), extra (allow extra:use)
//   nurse -> read, doctor -> write
//   users: alice=nurse, bob=senior_nurse, carol=doctor, dave=chief, erin=direct block,
//          frank=member without roles, gina=nurse in er, sam=suspended nurse
// Tenant t2 mirrors the role names: nurse -> read, alice=nurse.
inline std::vector<WriteOp> HospitalOps() {
  return {
      PutTenant("t1"),
      PutBu("t1", "icu"),
      PutBu("t1", "er"),
      PutRole("t1", "nurse"),
      PutRole("t1", "senior_nurse", {"nurse"}),
      PutRole("t1", "doctor"),
      PutRole("t1", "chief", {"senior_nurse", "doctor"}),
      PutPolicy("t1", "read", {"assets:read"}),
      PutPolicy("t1", "write", {"assets:write"}, Effect::kAllow, 0, "icu"),
      PutPolicy("t1", "block", {"assets:*"}, Effect::kDeny, 10),
      PutPolicy("t1", "extra", {"extra:use"}),
      PutRolePolicy("t1", "nurse", "read"),
      PutRolePolicy("t1", "doctor", "write"),
      PutMember("t1", "alice"),
      PutMember("t1", "bob"),
      PutMember("t1", "carol"),
      PutMember("t1", "dave"),
      PutMember("t1", "erin"),
      PutMember("t1", "frank"),
      PutMember("t1", "gina"),
      PutMember("t1", "sam", MembershipStatus::kSuspended),
      PutUserRole("t1", "alice", "nurse"),
      PutUserRole("t1", "bob", "senior_nurse"),
      PutUserRole("t1", "carol", "doctor"),
      PutUserRole("t1", "dave", "chief"),
      PutUserRole("t1", "gina", "nurse", "er"),
      PutUserRole("t1", "sam", "nurse"),
      PutUserPolicy("t1", "erin", "block"),
      PutTenant("t2"),
      PutRole("t2", "nurse"),
      PutPolicy("t2", "read", {"assets:read"}),
      PutRolePolicy("t2", "nurse", "read"),
      PutMember("t2", "alice"),
      PutUserRole("t2", "alice", "nurse"),
  };
}

enum class Backend { kSqlite, kPostgres };

// gtest prints the parameter in test listings (and ctest names).
inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "postgres");
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      url_ = "sqlite:" + path();
    } else {
      permcache::testing::PostgresServer* pg = permcache::testing::SharedPostgres();
      ASSERT_NE(pg, nullptr) << "PostgreSQL is required for the store tests";
      StatusOr<std::string> db = pg->NewDatabase();
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      url_ = pg->Url(*db);
    }
    store_ = OpenUrl(url_);
  }

  Backend backend() const { return GetParam(); }
  // The SQLite file (meaningful for Backend::kSqlite only).
  std::string path() const { return dir_.File("store.db"); }
  // The store's URL: open it again for a second instance on the same data.
  const std::string& url() const { return url_; }

  // The URL of another, empty store of the same backend ("" when none could be made).
  std::string FreshUrl() {
    if (backend() == Backend::kSqlite) {
      return "sqlite:" + dir_.File("fresh" + std::to_string(++fresh_) + ".db");
    }
    StatusOr<std::string> db = permcache::testing::SharedPostgres()->NewDatabase();
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? permcache::testing::SharedPostgres()->Url(*db) : "";
  }
  // Another, empty store of the same backend.
  std::unique_ptr<Store> FreshStore() {
    const std::string url = FreshUrl();
    return url.empty() ? nullptr : OpenUrl(url);
  }

  static std::unique_ptr<Store> OpenUrl(const std::string& url) {
    StatusOr<std::unique_ptr<Store>> store = OpenStore(url);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  ChangeSet MustApply(const std::vector<WriteOp>& ops) { return MustApply(*store_, ops); }
  static ChangeSet MustApply(Store& store, const std::vector<WriteOp>& ops) {
    StatusOr<ChangeSet> cs = store.Apply(ops);
    EXPECT_TRUE(cs.ok()) << cs.status().ToString();
    return cs.ok() ? *cs : ChangeSet{};
  }

  // The error of a batch expected to fail.
  Status ApplyError(const std::vector<WriteOp>& ops) {
    StatusOr<ChangeSet> cs = store_->Apply(ops);
    EXPECT_FALSE(cs.ok()) << "batch unexpectedly succeeded";
    return cs.status();
  }

  uint64_t Revision() {
    StatusOr<uint64_t> r = store_->CurrentRevision();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }

  Model ExportAll() { return ExportOf(*store_, ""); }
  static Model ExportOf(Store& store, std::string_view tenant) {
    StatusOr<Model> m = store.Export(tenant);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Model{};
  }

  UserGrants Grants(std::string_view tenant, std::string_view user) {
    StatusOr<UserGrants> g = store_->LoadGrants(tenant, user);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : UserGrants{};
  }

  permcache::testing::TempDir dir_;
  std::string url_;
  int fresh_ = 0;
  std::unique_ptr<Store> store_;
};

#define PERMCACHE_INSTANTIATE_STORE_TEST(fixture)                                          \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture,                                               \
                           ::testing::Values(::permcache::store_test::Backend::kSqlite,   \
                                             ::permcache::store_test::Backend::kPostgres), \
                           ::permcache::store_test::BackendName)

}  // namespace permcache::store_test
