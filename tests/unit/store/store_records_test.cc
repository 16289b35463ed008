// Resources, resource grants and UI elements on every backend: each op applied and read back,
// the record keys it records (store.h: "resource:{id}" / "element:{id}" in the user position),
// resource versions, passwords, reference errors, LoadGrants' roles and resource grants,
// listing, the token signing key, export and round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/op_applier.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr ResourceState kPublic = ResourceState::kPublic;
constexpr ResourceState kPrivate = ResourceState::kPrivate;
constexpr ResourceState kRestricted = ResourceState::kRestricted;

WriteOp WithHash(WriteOp op, std::optional<std::string> hash) {
  op.password_hash = std::move(hash);
  return op;
}

class RecordsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    MustApply(HospitalOps());
  }

  UserKeys KeysOf(const std::vector<WriteOp>& ops) {
    ChangeSet cs = MustApply(ops);
    EXPECT_THAT(cs.tenants, IsEmpty());
    return cs.users;
  }

  ResourceRecord ResourceAt(std::string_view tenant, std::string_view resource) {
    StatusOr<ResourceRecord> r = store_->LoadResource(tenant, resource);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ResourceRecord{};
  }
  UiElementRecord Element(std::string_view tenant, std::string_view element) {
    StatusOr<UiElementRecord> e = store_->LoadUiElement(tenant, element);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : UiElementRecord{};
  }
  std::vector<ResourceRow> Scan(std::string_view type, std::string_view after, size_t limit) {
    StatusOr<std::vector<ResourceRow>> rows = store_->ScanResources("t1", type, after, limit);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<ResourceRow>{};
  }
  std::string SigningKey(Store& store) {
    StatusOr<std::string> key = store.TokenSigningKey();
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? *key : "";
  }
};

// --- resources -----------------------------------------------------------------------------------

TEST_P(RecordsTest, PutResourceIsReadBackAtTheRevisionItWasReadIn) {
  const uint64_t rev =
      MustApply({PutResource("t1", "song", "media", kPublic, "alice")}).revision;
  ResourceRecord r = ResourceAt("t1", "song");
  EXPECT_TRUE(r.exists);
  EXPECT_EQ(r.type, "media");
  EXPECT_EQ(r.owner, "alice");
  EXPECT_EQ(r.state, kPublic);
  EXPECT_GE(r.version, 1u);
  EXPECT_EQ(r.password_hash, "");
  EXPECT_EQ(r.revision, rev);

  ResourceRecord missing = ResourceAt("t1", "ghost");
  EXPECT_FALSE(missing.exists);
  EXPECT_EQ(missing.revision, rev);
  EXPECT_FALSE(ResourceAt("t2", "song").exists);  // another tenant's id space
}

TEST_P(RecordsTest, PutResourceRecordsItsKeyOnlyWhenARowChanged) {
  EXPECT_EQ(KeysOf({PutResource("t1", "song", "media")}), (UserKeys{{"t1", "resource:song"}}));
  EXPECT_THAT(KeysOf({PutResource("t1", "song", "media")}), IsEmpty());
  EXPECT_EQ(KeysOf({PutResource("t1", "song", "audio")}), (UserKeys{{"t1", "resource:song"}}));
  EXPECT_EQ(KeysOf({PutResource("t1", "song", "audio", kPublic)}),
            (UserKeys{{"t1", "resource:song"}}));
  // The changelog carries what Apply returned.
  const uint64_t before = Revision();
  const ChangeSet cs = MustApply({PutResource("t1", "song", "audio", kPublic, "bob")});
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(before, 10);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].users, cs.users);
  EXPECT_EQ(cs.users, (UserKeys{{"t1", "resource:song"}}));
}

TEST_P(RecordsTest, VersionGrowsWithStateOwnerAndPasswordOnly) {
  MustApply({PutResource("t1", "doc", "media", kPrivate)});
  uint64_t v = ResourceAt("t1", "doc").version;
  EXPECT_GE(v, 1u);
  auto same = [&](const char* what) {
    EXPECT_EQ(ResourceAt("t1", "doc").version, v) << what;
  };
  auto bumped = [&](const char* what) {
    const uint64_t now = ResourceAt("t1", "doc").version;
    EXPECT_GT(now, v) << what;
    v = now;
  };
  MustApply({PutResource("t1", "doc", "media", kPrivate)});
  same("no-op");
  MustApply({PutResource("t1", "doc", "video", kPrivate)});
  same("type only");
  MustApply({PutResource("t1", "doc", "video", kPublic)});
  bumped("state");
  MustApply({PutResource("t1", "doc", "video", kPublic, "carol")});
  bumped("owner set");
  MustApply({PutResource("t1", "doc", "video", kPublic)});
  bumped("owner cleared");
  MustApply({WithHash(PutResource("t1", "doc", "video", kRestricted), "$argon2id$one")});
  bumped("state and password in one put");
  MustApply({WithHash(PutResource("t1", "doc", "video", kRestricted), "$argon2id$two")});
  bumped("a new password");
  MustApply({WithHash(PutResource("t1", "doc", "video", kRestricted), "$argon2id$two")});
  same("the same hash again");
}

// Unlock tokens carry (tenant, resource, version): a resource deleted and created again must not
// restart at a version an old token carries (it did: both stores started every row at 1).
TEST_P(RecordsTest, ARecreatedResourceNeverMeetsAnOldVersion) {
  MustApply({WithHash(PutResource("t1", "vault", "media", kRestricted), "$argon2id$old")});
  std::vector<uint64_t> seen{ResourceAt("t1", "vault").version};
  MustApply({PutResource("t1", "vault", "media", kPrivate)});
  seen.push_back(ResourceAt("t1", "vault").version);
  MustApply({DeleteResource("t1", "vault")});
  MustApply({WithHash(PutResource("t1", "vault", "media", kRestricted), "$argon2id$new")});
  const uint64_t recreated = ResourceAt("t1", "vault").version;
  for (uint64_t old : seen) EXPECT_GT(recreated, old);
  // In one write: deleted and created again in the same batch.
  MustApply({DeleteResource("t1", "vault"),
             WithHash(PutResource("t1", "vault", "media", kRestricted), "$argon2id$again")});
  EXPECT_GT(ResourceAt("t1", "vault").version, recreated);
}

TEST_P(RecordsTest, AbsentPasswordHashKeepsTheCurrentOneAndEmptyClearsIt) {
  MustApply({WithHash(PutResource("t1", "vault", "media", kRestricted), "$argon2id$secret")});
  EXPECT_EQ(ResourceAt("t1", "vault").password_hash, "$argon2id$secret");
  // Absent: kept (and nothing changed, so no key and no bump).
  EXPECT_THAT(KeysOf({PutResource("t1", "vault", "media", kRestricted)}), IsEmpty());
  EXPECT_EQ(ResourceAt("t1", "vault").password_hash, "$argon2id$secret");
  const uint64_t v = ResourceAt("t1", "vault").version;
  // "": cleared.
  EXPECT_EQ(KeysOf({WithHash(PutResource("t1", "vault", "media", kRestricted), "")}),
            (UserKeys{{"t1", "resource:vault"}}));
  ResourceRecord r = ResourceAt("t1", "vault");
  EXPECT_EQ(r.password_hash, "");
  EXPECT_GT(r.version, v);
  EXPECT_THAT(KeysOf({WithHash(PutResource("t1", "vault", "media", kRestricted), "")}), IsEmpty());
  // A new resource with "" has no password.
  MustApply({WithHash(PutResource("t1", "open", "media", kPublic), "")});
  EXPECT_EQ(ResourceAt("t1", "open").password_hash, "");
}

TEST_P(RecordsTest, APlaintextPasswordNeverReachesTheStore) {
  const uint64_t rev = Revision();
  WriteOp plain = PutResource("t1", "vault", "media", kRestricted);
  plain.password = "hunter2";
  Status s = ApplyError({PutResource("t1", "other", "media"), plain});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "op 1: password must be hashed before it reaches the store (Checker::Write does it)");
  EXPECT_EQ(Revision(), rev);
  EXPECT_FALSE(ResourceAt("t1", "other").exists);
  // With its hash (what Checker::Write sends) it is accepted; the hash is what is stored.
  plain.password_hash = "$argon2id$hashed";
  MustApply({plain});
  EXPECT_EQ(ResourceAt("t1", "vault").password_hash, "$argon2id$hashed");
}

TEST_P(RecordsTest, DeleteResourceRecordsItsKeyAndEveryGranteeAndDropsTheGrants) {
  MustApply({PutResource("t1", "song", "media"), PutResource("t1", "clip", "media"),
             PutResourceGrant("t1", "song", "alice", {"media:view"}),
             PutResourceGrant("t1", "song", "frank", {"media:*"}),
             PutResourceGrant("t1", "clip", "alice", {"media:edit"})});
  EXPECT_EQ(KeysOf({DeleteResource("t1", "song")}),
            (UserKeys{{"t1", "alice"}, {"t1", "frank"}, {"t1", "resource:song"}}));
  EXPECT_FALSE(ResourceAt("t1", "song").exists);
  EXPECT_THAT(Grants("t1", "frank").resource_grants, IsEmpty());
  EXPECT_THAT(Grants("t1", "alice").resource_grants,
              ElementsAre(ResourceGrantRow{"clip", {"media:edit"}}));
  EXPECT_THAT(ExportOf(*store_, "t1").resource_grants,
              ElementsAre(ResourceGrant{"t1", "clip", "alice", {"media:edit"}}));
  // Deleting what is gone changes nothing.
  EXPECT_THAT(KeysOf({DeleteResource("t1", "song")}), IsEmpty());
}

TEST_P(RecordsTest, DeleteResourceWithMoreGranteesThanTheLimitIsTenantWide) {
  MustApply({PutResource("t1", "hit", "media")});
  const size_t n = store::kMaxAffectedUsersPerOp + 1;
  std::vector<WriteOp> ops;
  for (size_t i = 0; i < n; ++i) {
    ops.push_back(PutResourceGrant("t1", "hit", "fan" + std::to_string(i), {"media:view"}));
    if (ops.size() == kMaxOpsPerWrite) {
      MustApply(ops);
      ops.clear();
    }
  }
  MustApply(ops);
  ChangeSet cs = MustApply({DeleteResource("t1", "hit"), PutMember("t2", "zoe")});
  EXPECT_THAT(cs.tenants, ElementsAre("t1"));
  EXPECT_EQ(cs.users, (UserKeys{{"t2", "zoe"}}));
}

// --- resource grants -----------------------------------------------------------------------------

TEST_P(RecordsTest, ResourceGrantsRecordTheirUserOnlyWhenChanged) {
  MustApply({PutResource("t1", "song", "media")});
  EXPECT_EQ(KeysOf({PutResourceGrant("t1", "song", "frank", {"media:view"})}),
            (UserKeys{{"t1", "frank"}}));
  EXPECT_THAT(KeysOf({PutResourceGrant("t1", "song", "frank", {"media:view"})}), IsEmpty());
  EXPECT_EQ(KeysOf({PutResourceGrant("t1", "song", "frank", {"media:view", "media:edit"})}),
            (UserKeys{{"t1", "frank"}}));
  EXPECT_EQ(KeysOf({DeleteResourceGrant("t1", "song", "frank")}), (UserKeys{{"t1", "frank"}}));
  EXPECT_THAT(KeysOf({DeleteResourceGrant("t1", "song", "frank")}), IsEmpty());
  EXPECT_THAT(KeysOf({DeleteResourceGrant("t1", "ghost", "frank")}), IsEmpty());
}

TEST_P(RecordsTest, GrantPatternsStartWithTheResourceTypeOrAWildcard) {
  MustApply({PutResource("t1", "song", "media")});
  MustApply({PutResourceGrant("t1", "song", "frank", {"media:view", "media:*", "*", "*:view"})});
  Status s = ApplyError(
      {PutResourceGrant("t1", "song", "alice", {"media:view"}),
       PutResourceGrant("t1", "song", "bob", {"media:view", "docs:view"})});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "op 1: permission pattern 'docs:view' does not start with the resource's type 'media'");
  // A prefix of the type is another type.
  EXPECT_EQ(ApplyError({PutResourceGrant("t1", "song", "bob", {"med:view"})}).message(),
            "op 0: permission pattern 'med:view' does not start with the resource's type 'media'");
  EXPECT_EQ(ApplyError({PutResourceGrant("t1", "song", "bob", {"mediax"})}).message(),
            "op 0: permission pattern 'mediax' does not start with the resource's type 'media'");
  EXPECT_THAT(Grants("t1", "alice").resource_grants, IsEmpty());
}

// --- reference errors ----------------------------------------------------------------------------

TEST_P(RecordsTest, ReferenceErrorsNameTheOpIndexAndApplyNothing) {
  MustApply({PutResource("t1", "song", "media")});
  struct Case {
    const char* name;
    WriteOp op;
    const char* message;
  };
  const Case cases[] = {
      {"ResourceTenant", PutResource("nope", "r", "media"), "tenant 'nope' does not exist"},
      {"GrantTenant", PutResourceGrant("nope", "song", "u", {"media:view"}),
       "tenant 'nope' does not exist"},
      {"GrantResource", PutResourceGrant("t1", "ghost", "u", {"media:view"}),
       "resource 'ghost' does not exist in tenant 't1'"},
      {"GrantOtherTenantsResource", PutResourceGrant("t2", "song", "u", {"media:view"}),
       "resource 'song' does not exist in tenant 't2'"},
      {"ElementTenant", PutUiElement("nope", "menu"), "tenant 'nope' does not exist"},
      {"ElementRole", PutUiElement("t1", "menu", {"nurse", "ghost"}),
       "role 'ghost' does not exist in tenant 't1'"},
      {"ElementOtherTenantsRole", PutUiElement("t2", "menu", {"doctor"}),
       "role 'doctor' does not exist in tenant 't2'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const uint64_t rev = Revision();
    const Model before = ExportAll();
    Status s = ApplyError({PutResource("t1", "zed", "media"), PutMember("t1", "zed"), c.op});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), std::string("op 2: ") + c.message);
    EXPECT_EQ(Revision(), rev);
    EXPECT_EQ(ExportAll(), before);
  }
  // A resource deleted earlier in the batch is gone for the later ops.
  EXPECT_EQ(ApplyError({DeleteResource("t1", "song"),
                        PutResourceGrant("t1", "song", "u", {"media:view"})})
                .message(),
            "op 1: resource 'song' does not exist in tenant 't1'");
  // One created earlier in the batch is there.
  MustApply({PutResource("t1", "new", "media"), PutResourceGrant("t1", "new", "u", {"media:view"}),
             PutRole("t1", "fresh"), PutUiElement("t1", "menu", {"fresh"})});
}

// --- UI elements ---------------------------------------------------------------------------------

TEST_P(RecordsTest, UiElementsAreReadBackAndRecordTheirKeyOnlyWhenChanged) {
  EXPECT_EQ(KeysOf({PutUiElement("t1", "menu", {"nurse", "doctor", "nurse"},
                                 {"ui:menu", "assets:read"})}),
            (UserKeys{{"t1", "element:menu"}}));
  UiElementRecord e = Element("t1", "menu");
  EXPECT_TRUE(e.exists);
  EXPECT_TRUE(e.active);
  EXPECT_THAT(e.required_roles, ElementsAre("doctor", "nurse"));  // a set
  EXPECT_THAT(e.required_permissions, ElementsAre("ui:menu", "assets:read"));  // as written
  EXPECT_EQ(e.revision, Revision());
  // The same set in another order is no change.
  EXPECT_THAT(KeysOf({PutUiElement("t1", "menu", {"doctor", "nurse"}, {"ui:menu", "assets:read"})}),
              IsEmpty());
  EXPECT_EQ(KeysOf({PutUiElement("t1", "menu", {"doctor"}, {"ui:menu", "assets:read"})}),
            (UserKeys{{"t1", "element:menu"}}));
  EXPECT_EQ(KeysOf({PutUiElement("t1", "menu", {"doctor"}, {"ui:menu"})}),
            (UserKeys{{"t1", "element:menu"}}));
  EXPECT_EQ(KeysOf({PutUiElement("t1", "menu", {"doctor"}, {"ui:menu"}, false)}),
            (UserKeys{{"t1", "element:menu"}}));
  e = Element("t1", "menu");
  EXPECT_FALSE(e.active);
  EXPECT_THAT(e.required_roles, ElementsAre("doctor"));
  EXPECT_THAT(e.required_permissions, ElementsAre("ui:menu"));
  // No requirements at all.
  MustApply({PutUiElement("t1", "home")});
  e = Element("t1", "home");
  EXPECT_TRUE(e.exists);
  EXPECT_THAT(e.required_roles, IsEmpty());
  EXPECT_THAT(e.required_permissions, IsEmpty());

  EXPECT_EQ(KeysOf({DeleteUiElement("t1", "menu")}), (UserKeys{{"t1", "element:menu"}}));
  EXPECT_THAT(KeysOf({DeleteUiElement("t1", "menu")}), IsEmpty());
  e = Element("t1", "menu");
  EXPECT_FALSE(e.exists);
  EXPECT_EQ(e.revision, Revision());
}

TEST_P(RecordsTest, ListUiElementsGivesTheActiveOnesSorted) {
  MustApply({PutUiElement("t1", "zeta"), PutUiElement("t1", "alpha"),
             PutUiElement("t1", "hidden", {}, {}, false), PutUiElement("t1", "Mid"),
             PutUiElement("t2", "other")});
  StatusOr<std::vector<std::string>> list = store_->ListUiElements("t1");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_THAT(*list, ElementsAre("Mid", "alpha", "zeta"));  // byte order
  StatusOr<std::vector<std::string>> none = store_->ListUiElements("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_P(RecordsTest, DeleteRoleDropsItFromElementsAndRecordsTheirKeys) {
  MustApply({PutUiElement("t1", "menu", {"nurse", "doctor"}), PutUiElement("t1", "ward", {"nurse"}),
             PutUiElement("t1", "lab", {"doctor"}), PutUiElement("t2", "menu", {"nurse"})});
  ChangeSet cs = MustApply({DeleteRole("t1", "nurse")});
  EXPECT_EQ(cs.users, (UserKeys{{"t1", "alice"},
                                {"t1", "bob"},
                                {"t1", "dave"},
                                {"t1", "element:menu"},
                                {"t1", "element:ward"},
                                {"t1", "gina"},
                                {"t1", "sam"}}));
  EXPECT_THAT(Element("t1", "menu").required_roles, ElementsAre("doctor"));
  UiElementRecord ward = Element("t1", "ward");
  EXPECT_TRUE(ward.exists);  // the element stays, without the role
  EXPECT_THAT(ward.required_roles, IsEmpty());
  EXPECT_THAT(Element("t2", "menu").required_roles, ElementsAre("nurse"));
}

TEST_P(RecordsTest, DeleteTenantRemovesItsRecordsTenantWide) {
  MustApply({PutResource("t1", "song", "media"), PutResourceGrant("t1", "song", "alice", {"*"}),
             PutUiElement("t1", "menu", {"nurse"}), PutResource("t2", "song", "media")});
  ChangeSet cs = MustApply({DeleteTenant("t1")});
  EXPECT_THAT(cs.tenants, ElementsAre("t1"));
  EXPECT_THAT(cs.users, IsEmpty());
  EXPECT_FALSE(ResourceAt("t1", "song").exists);
  EXPECT_FALSE(Element("t1", "menu").exists);
  EXPECT_TRUE(ResourceAt("t2", "song").exists);
  Model all = ExportAll();
  EXPECT_EQ(all.resources, (std::vector<Resource>{{"t2", "song", "media", "", kPrivate}}));
  EXPECT_THAT(all.resource_grants, IsEmpty());
  EXPECT_THAT(all.ui_elements, IsEmpty());
}

// --- LoadGrants ----------------------------------------------------------------------------------

TEST_P(RecordsTest, LoadGrantsListsUnscopedRolesWithEverythingTheyInherit) {
  MustApply({PutUserRole("t1", "bob", "doctor", "icu")});  // scoped: does not count
  EXPECT_THAT(Grants("t1", "alice").roles, ElementsAre("nurse"));
  EXPECT_THAT(Grants("t1", "bob").roles, ElementsAre("nurse", "senior_nurse"));
  EXPECT_THAT(Grants("t1", "dave").roles, ElementsAre("chief", "doctor", "nurse", "senior_nurse"));
  EXPECT_THAT(Grants("t1", "gina").roles, IsEmpty());  // nurse in er only
  EXPECT_THAT(Grants("t1", "frank").roles, IsEmpty());
  EXPECT_THAT(Grants("t1", "sam").roles, IsEmpty());  // suspended
  EXPECT_THAT(Grants("t1", "nobody").roles, IsEmpty());
  // Two assignments reaching one role list it once.
  MustApply({PutUserRole("t1", "alice", "senior_nurse")});
  EXPECT_THAT(Grants("t1", "alice").roles, ElementsAre("nurse", "senior_nurse"));
}

TEST_P(RecordsTest, LoadGrantsListsResourceGrantsSortedWhenActive) {
  MustApply({PutResource("t1", "zed", "media"), PutResource("t1", "abc", "media"),
             PutResource("t1", "Mid", "docs"),
             PutResourceGrant("t1", "zed", "alice", {"media:view", "media:edit"}),
             PutResourceGrant("t1", "abc", "alice", {"*"}),
             PutResourceGrant("t1", "Mid", "alice", {"docs:read"}),
             PutResourceGrant("t1", "abc", "sam", {"media:view"}),
             PutResourceGrant("t1", "abc", "outsider", {"media:view"})});
  EXPECT_THAT(Grants("t1", "alice").resource_grants,
              ElementsAre(ResourceGrantRow{"Mid", {"docs:read"}}, ResourceGrantRow{"abc", {"*"}},
                          ResourceGrantRow{"zed", {"media:view", "media:edit"}}));
  EXPECT_THAT(Grants("t1", "sam").resource_grants, IsEmpty());       // suspended
  EXPECT_THAT(Grants("t1", "outsider").resource_grants, IsEmpty());  // no membership
  EXPECT_THAT(Grants("t2", "alice").resource_grants, IsEmpty());
}

// --- listing -------------------------------------------------------------------------------------

TEST_P(RecordsTest, ScanResourcesPagesInIdOrderWithATypeFilter) {
  MustApply({PutResource("t1", "e", "media", kPublic, "alice"), PutResource("t1", "b", "docs"),
             PutResource("t1", "a", "media"), PutResource("t1", "D", "media"),
             PutResource("t1", "c", "media", ResourceState::kUnlisted),
             PutResource("t2", "a0", "media")});
  EXPECT_EQ(Scan("", "", 100),
            (std::vector<ResourceRow>{{"D", "media", "", kPrivate},
                                      {"a", "media", "", kPrivate},
                                      {"b", "docs", "", kPrivate},
                                      {"c", "media", "", ResourceState::kUnlisted},
                                      {"e", "media", "alice", kPublic}}));
  // Pages of two through the media ones.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::vector<ResourceRow> rows = Scan("media", cursor, 2);
    if (rows.empty()) break;
    EXPECT_LE(rows.size(), 2u);
    for (const auto& r : rows) {
      EXPECT_EQ(r.type, "media");
      seen.push_back(r.resource);
    }
    cursor = rows.back().resource;
  }
  EXPECT_THAT(seen, ElementsAre("D", "a", "c", "e"));
  EXPECT_THAT(Scan("docs", "", 10), ElementsAre(ResourceRow{"b", "docs", "", kPrivate}));
  EXPECT_THAT(Scan("none", "", 10), IsEmpty());
  EXPECT_THAT(Scan("", "e", 10), IsEmpty());
  EXPECT_THAT(Scan("", "", 0), IsEmpty());
}

// --- the token signing key -----------------------------------------------------------------------

TEST_P(RecordsTest, TokenSigningKeyIsCreatedOnceAndStable) {
  const std::string key = SigningKey(*store_);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(SigningKey(*store_), key);
  // Not a model change: no revision.
  const uint64_t rev = Revision();
  std::unique_ptr<Store> again = OpenUrl(url());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(SigningKey(*again), key);
  EXPECT_EQ(Revision(), rev);
  // Another store has its own.
  std::unique_ptr<Store> other = FreshStore();
  ASSERT_NE(other, nullptr);
  const std::string other_key = SigningKey(*other);
  EXPECT_EQ(other_key.size(), 32u);
  EXPECT_NE(other_key, key);
}

TEST_P(RecordsTest, ConcurrentFirstCallsOfSeveralNodesAgreeOnOneKey) {
  const std::string fresh = FreshUrl();
  ASSERT_FALSE(fresh.empty());
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < 4; ++i) {
    std::unique_ptr<Store> node = OpenUrl(fresh);
    ASSERT_NE(node, nullptr);
    nodes.push_back(std::move(node));
  }
  std::vector<std::string> keys(nodes.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] { keys[i] = SigningKey(*nodes[i]); });
  }
  for (auto& t : threads) t.join();
  for (const auto& k : keys) {
    EXPECT_EQ(k.size(), 32u);
    EXPECT_EQ(k, keys[0]);
  }
}

// --- export and round trip -----------------------------------------------------------------------

TEST_P(RecordsTest, ExportCarriesRecordsButNoPasswordsAndRoundTrips) {
  MustApply({WithHash(PutResource("t1", "vault", "media", kRestricted, "dave"), "$argon2id$x"),
             PutResource("t1", "song", "media", kPublic),
             PutResourceGrant("t1", "song", "frank", {"media:view", "media:edit"}),
             PutResourceGrant("t1", "vault", "alice", {"media:*"}),
             PutUiElement("t1", "menu", {"nurse", "doctor"}, {"ui:menu", "assets:read"}),
             PutUiElement("t1", "off", {}, {}, false), PutUiElement("t2", "home")});
  Model m = ExportOf(*store_, "t1");
  EXPECT_EQ(m.resources, (std::vector<Resource>{
                             {"t1", "song", "media", "", kPublic},
                             {"t1", "vault", "media", "dave", kRestricted}}));
  EXPECT_EQ(m.resource_grants,
            (std::vector<ResourceGrant>{{"t1", "song", "frank", {"media:view", "media:edit"}},
                                        {"t1", "vault", "alice", {"media:*"}}}));
  EXPECT_EQ(m.ui_elements,
            (std::vector<UiElement>{
                {"t1", "menu", {"doctor", "nurse"}, {"ui:menu", "assets:read"}, true},
                {"t1", "off", {}, {}, false}}));

  const Model all = ExportAll();
  std::unique_ptr<Store> copy = FreshStore();
  ASSERT_NE(copy, nullptr);
  MustApply(*copy, ModelToOps(all));
  EXPECT_EQ(ExportOf(*copy, ""), all);
  // The copy has the resource, not its password (passwords are never exported).
  StatusOr<ResourceRecord> vault = copy->LoadResource("t1", "vault");
  ASSERT_TRUE(vault.ok());
  EXPECT_TRUE(vault->exists);
  EXPECT_EQ(vault->password_hash, "");
  // Re-importing the records into the original changes nothing (and keeps the password).
  Model records;
  records.resources = all.resources;
  records.resource_grants = all.resource_grants;
  records.ui_elements = all.ui_elements;
  ChangeSet cs = MustApply(ModelToOps(records));
  EXPECT_THAT(cs.users, IsEmpty());
  EXPECT_THAT(cs.tenants, IsEmpty());
  EXPECT_EQ(ResourceAt("t1", "vault").password_hash, "$argon2id$x");
}

PERMCACHE_INSTANTIATE_STORE_TEST(RecordsTest);

}  // namespace
}  // namespace permcache::store_test
