// Resources and UI elements through the Checker (DESIGN §7), on SQLite and on a real
// PostgreSQL: the state matrix, tokens and their revocation, brute force, promotion and
// demotion on the very next check, two nodes, the sidebar and listing.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "permcache/checker.h"
#include "support/wait_until.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

WriteOp Restricted(std::string t, std::string r, std::string owner, std::string password) {
  WriteOp op = PutResource(std::move(t), std::move(r), "media", ResourceState::kRestricted,
                           std::move(owner));
  op.password = std::move(password);
  return op;
}

// Tenant m (seed 001): owner owns every video; editor holds `editor` (media:*), curator holds
// `curator` (media:view), blocked has a deny media:* at priority 10, stranger is a plain member,
// granted has an edit grant on priv, ghost owns ghostvid but has no membership.
std::vector<WriteOp> MediaOps() {
  return {
      PutTenant("m"),
      PutRole("m", "editor"),
      PutRole("m", "curator"),
      PutPolicy("m", "edit_all", {"media:*"}),
      PutPolicy("m", "view_all", {"media:view"}),
      PutPolicy("m", "no_media", {"media:*"}, Effect::kDeny, 10),
      PutRolePolicy("m", "editor", "edit_all"),
      PutRolePolicy("m", "curator", "view_all"),
      PutMember("m", "owner"),
      PutMember("m", "editor"),
      PutMember("m", "curator"),
      PutMember("m", "blocked"),
      PutMember("m", "stranger"),
      PutMember("m", "granted"),
      PutUserRole("m", "editor", "editor"),
      PutUserRole("m", "curator", "curator"),
      PutUserPolicy("m", "blocked", "no_media"),
      PutResource("m", "pub", "media", ResourceState::kPublic, "owner"),
      PutResource("m", "unl", "media", ResourceState::kUnlisted, "owner"),
      PutResource("m", "priv", "media", ResourceState::kPrivate, "owner"),
      Restricted("m", "res", "owner", "letmein"),
      PutResource("m", "ghostvid", "media", ResourceState::kPrivate, "ghost"),
      PutResourceGrant("m", "priv", "granted", {"media:edit"}),
  };
}

Options TestOptions() {
  Options o;
  o.resources.password_memory_kib = 64;  // cheap KDF in tests; production keeps 19 MiB
  o.resources.password_passes = 1;
  return o;
}

class ResourceCheckerTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_.reset();  // the Checker opens its own
    checker_ = OpenChecker();
    ASSERT_NE(checker_, nullptr);
    ASSERT_TRUE(checker_->Write(MediaOps()).ok());
    // On PostgreSQL the node bypasses its caches until its listener is up; the record-cache
    // assertions below are about the cached path.
    ASSERT_TRUE(WaitUntil([&] { return checker_->Stats().l1_enabled; }));
  }

  std::unique_ptr<Checker> OpenChecker(Options o = TestOptions()) {
    o.store_url = url();
    auto c = Checker::Open(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  Decision Check(Checker& c, std::string_view user, std::string_view resource,
                 std::string_view permission, std::string_view token = "", uint64_t at_least = 0) {
    auto d = c.Check({.tenant = "m", .user = user, .permission = permission,
                      .at_least_revision = at_least, .explain = true, .resource = resource,
                      .token = token});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Decision{};
  }
  // Asked twice: with explain (the general path) and without (the L1 fast path, once both
  // halves are cached); the two must agree.
  bool Allowed(std::string_view user, std::string_view resource, std::string_view permission,
               std::string_view token = "") {
    const bool explained = Check(*checker_, user, resource, permission, token).allowed;
    auto fast = checker_->Check({.tenant = "m", .user = user, .permission = permission,
                                 .resource = resource, .token = token});
    EXPECT_TRUE(fast.ok()) << fast.status().ToString();
    EXPECT_EQ(fast.ok() && fast->allowed, explained) << user << " " << resource << " " << permission;
    return explained;
  }
  std::string Rule(std::string_view user, std::string_view resource, std::string_view permission,
                   std::string_view token = "") {
    Decision d = Check(*checker_, user, resource, permission, token);
    return d.reason ? d.reason->kind : "";
  }
  std::string Unlock(std::string_view resource, std::string_view password,
                     std::string_view client = "10.0.0.1") {
    int64_t retry = 0;
    auto r = checker_->Unlock({"m", resource, password, client}, &retry);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->token : "";
  }

  StatusOr<uint64_t> W(const std::vector<WriteOp>& ops) { return checker_->Write(ops); }

  std::unique_ptr<Checker> checker_;
};

TEST_P(ResourceCheckerTest, StateMatrixForViewAndEdit) {
  const std::string token = Unlock("res", "letmein");
  ASSERT_FALSE(token.empty());
  // {user} x {pub, unl, priv, res, res+token}: view, then edit.
  struct Row {
    std::string user;
    std::string view, edit;  // one char per column: Y allowed, n denied
  };
  const std::vector<Row> rows = {
      {"", "YYnnY", "nnnnn"},          // anonymous
      {"stranger", "YYnnY", "nnnnn"},  // member without rights
      {"owner", "YYYYY", "YYYYY"},
      {"editor", "YYYYY", "YYYYY"},
      {"curator", "YYYYY", "nnnnn"},
      {"blocked", "nnnnn", "nnnnn"},   // an explicit deny beats public and tokens
      {"granted", "YYnnY", "nnYnn"},   // the edit grant on priv only
  };
  const std::vector<std::pair<std::string, std::string>> columns = {
      {"pub", ""}, {"unl", ""}, {"priv", ""}, {"res", ""}, {"res", token}};
  for (const Row& row : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto& [res, tok] = columns[i];
      EXPECT_EQ(Allowed(row.user, res, "media:view", tok), row.view[i] == 'Y')
          << "user '" << row.user << "' view " << res << (tok.empty() ? "" : "+token");
      EXPECT_EQ(Allowed(row.user, res, "media:edit", tok), row.edit[i] == 'Y')
          << "user '" << row.user << "' edit " << res << (tok.empty() ? "" : "+token");
    }
  }
}

TEST_P(ResourceCheckerTest, ExplainNamesTheDecidingRuleInOrder) {
  EXPECT_EQ(Rule("nobody", "missing", "media:view"), "unknown_resource");
  EXPECT_EQ(Rule("owner", "pub", "docs:view"), "type_mismatch");
  EXPECT_EQ(Rule("blocked", "pub", "media:view"), "policy");  // explicit deny first
  EXPECT_FALSE(Check(*checker_, "blocked", "pub", "media:view").reason->effect == Effect::kAllow);
  EXPECT_EQ(Rule("owner", "priv", "media:edit"), "owner");
  EXPECT_EQ(Rule("editor", "priv", "media:edit"), "policy");
  EXPECT_EQ(Check(*checker_, "editor", "priv", "media:edit").reason->policy, "edit_all");
  EXPECT_EQ(Rule("granted", "priv", "media:edit"), "resource_grant");
  EXPECT_EQ(Rule("", "pub", "media:view"), "public");
  EXPECT_EQ(Rule("", "res", "media:view", Unlock("res", "letmein")), "token");
  EXPECT_EQ(Rule("", "priv", "media:view"), "no_match");
  // The owner of ghostvid has no membership: ownership does not apply.
  EXPECT_FALSE(Allowed("ghost", "ghostvid", "media:view"));
  EXPECT_EQ(Rule("ghost", "ghostvid", "media:view"), "no_match");
}

TEST_P(ResourceCheckerTest, TokenStopsWorkingWhenStatePasswordOrOwnerChanges) {
  std::string token = Unlock("res", "letmein");
  EXPECT_TRUE(Allowed("", "res", "media:view", token));
  // A token of another resource or a tampered one grants nothing.
  ASSERT_TRUE(W({Restricted("m", "res2", "owner", "other")}).ok());
  EXPECT_FALSE(Allowed("", "res2", "media:view", token));
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(Allowed("", "res", "media:view", tampered));

  WriteOp new_password = Restricted("m", "res", "owner", "changed");
  ASSERT_TRUE(W({new_password}).ok());
  EXPECT_FALSE(Allowed("", "res", "media:view", token)) << "a password change revokes tokens";
  token = Unlock("res", "changed");
  EXPECT_TRUE(Allowed("", "res", "media:view", token));

  WriteOp new_owner = PutResource("m", "res", "media", ResourceState::kRestricted, "editor");
  ASSERT_TRUE(W({new_owner}).ok());  // password absent: kept
  EXPECT_FALSE(Allowed("", "res", "media:view", token)) << "an owner change revokes tokens";
  token = Unlock("res", "changed");
  EXPECT_TRUE(Allowed("", "res", "media:view", token));

  ASSERT_TRUE(W({PutResource("m", "res", "media", ResourceState::kPrivate, "editor")})
                  .ok());
  ASSERT_TRUE(W({PutResource("m", "res", "media", ResourceState::kRestricted,
                                           "editor")})
                  .ok());
  EXPECT_FALSE(Allowed("", "res", "media:view", token)) << "a state change revokes tokens";
}

// A token of a deleted resource must not open a new resource created under the same id, even
// with the same password and owner (before the fix both started at version 1 and it did).
TEST_P(ResourceCheckerTest, ATokenDoesNotSurviveDeleteAndRecreate) {
  const std::string token = Unlock("res", "letmein");
  ASSERT_TRUE(Allowed("", "res", "media:view", token));
  ASSERT_TRUE(W({DeleteResource("m", "res")}).ok());
  EXPECT_FALSE(Allowed("", "res", "media:view", token));
  ASSERT_TRUE(W({Restricted("m", "res", "owner", "letmein")}).ok());
  EXPECT_FALSE(Allowed("", "res", "media:view", token));
  // In one write, too.
  const std::string second = Unlock("res", "letmein");
  ASSERT_TRUE(Allowed("", "res", "media:view", second));
  ASSERT_TRUE(W({DeleteResource("m", "res"), Restricted("m", "res", "owner", "letmein")}).ok());
  EXPECT_FALSE(Allowed("", "res", "media:view", second));
  EXPECT_TRUE(Allowed("", "res", "media:view", Unlock("res", "letmein")));
}

// The fast path (set cached, record not yet) falls back to the general path: one miss, not two
// (it counted the miss in both).
TEST_P(ResourceCheckerTest, ARecordMissIsCountedOnce) {
  ASSERT_TRUE(checker_->Check({.tenant = "m", .user = "stranger", .permission = "media:view"}).ok());
  const CacheStats before = checker_->Stats();
  auto check = [&] {
    auto d = checker_->Check({.tenant = "m", .user = "stranger", .permission = "media:view",
                              .resource = "pub"});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(d->allowed);
  };
  check();
  const CacheStats missed = checker_->Stats();
  EXPECT_EQ(missed.resource_record_misses, before.resource_record_misses + 1);
  EXPECT_EQ(missed.resource_record_hits, before.resource_record_hits);
  check();
  const CacheStats hit = checker_->Stats();
  EXPECT_EQ(hit.resource_record_misses, missed.resource_record_misses);
  EXPECT_EQ(hit.resource_record_hits, missed.resource_record_hits + 1);
}

TEST_P(ResourceCheckerTest, WrongPasswordsAreLimitedPerClientAndResource) {
  int64_t retry = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = checker_->Unlock({"m", "res", "wrong", "10.0.0.9"}, &retry);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << i;
  }
  // The sixth attempt is refused even with the right password, with a retry time.
  auto limited = checker_->Unlock({"m", "res", "letmein", "10.0.0.9"}, &retry);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), StatusCode::kResourceExhausted);
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 15 * 60);
  // Another client is not affected.
  EXPECT_FALSE(Unlock("res", "letmein", "10.0.0.10").empty());
}

TEST_P(ResourceCheckerTest, ConcurrentWrongAttemptsCannotOvershootTheLimit) {
  std::atomic<int> denied{0}, limited{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      int64_t retry = 0;
      auto r = checker_->Unlock({"m", "res", "wrong", "10.0.0.7"}, &retry);
      if (!r.ok() && r.status().code() == StatusCode::kPermissionDenied) ++denied;
      if (!r.ok() && r.status().code() == StatusCode::kResourceExhausted) ++limited;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(denied.load(), 5) << "only five passwords were tried";
  EXPECT_EQ(limited.load(), 7);
}

TEST_P(ResourceCheckerTest, UnlockErrors) {
  int64_t retry = 0;
  EXPECT_EQ(checker_->Unlock({"m", "missing", "x", "c"}, &retry).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(checker_->Unlock({"m", "pub", "x", "c"}, &retry).status().code(),
            StatusCode::kInvalidArgument);
  const std::string huge(kMaxPasswordBytes + 1, 'x');
  EXPECT_EQ(checker_->Unlock({"m", "res", huge, "c"}, &retry).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ResourceCheckerTest, BadWritesAndChecksNameTheField) {
  WriteOp pw_on_public = PutResource("m", "x", "media", ResourceState::kPublic);
  pw_on_public.password = "secret";
  auto w = W({pw_on_public});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("password is only allowed on restricted"), std::string::npos)
      << w.status().message();
  WriteOp huge = Restricted("m", "x", "owner", std::string(kMaxPasswordBytes + 1, 'x'));
  EXPECT_NE(W({huge}).status().message().find("password is longer"),
            std::string::npos);
  WriteOp bad_type = PutResource("m", "x", "Media!", ResourceState::kPublic);
  EXPECT_NE(W({bad_type}).status().message().find("type"), std::string::npos);
  auto missing_role = W({PutUiElement("m", "menu", {"nope"})});
  ASSERT_FALSE(missing_role.ok());
  EXPECT_NE(missing_role.status().message().find("op 0"), std::string::npos);
  EXPECT_NE(missing_role.status().message().find("nope"), std::string::npos);
  auto missing_resource = W({PutResourceGrant("m", "nope", "stranger", {"media:view"})});
  ASSERT_FALSE(missing_resource.ok());
  EXPECT_NE(missing_resource.status().message().find("nope"), std::string::npos);

  auto both = checker_->Check({.tenant = "m", .user = "owner", .permission = "media:view",
                               .resource = "pub", .element = "menu"});
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);
  auto wildcard = checker_->Check({.tenant = "m", .user = "owner", .permission = "media:*",
                                   .resource = "pub"});
  EXPECT_EQ(wildcard.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ResourceCheckerTest, StateChangesPromotionAndDemotionApplyToTheNextCheck) {
  EXPECT_TRUE(Allowed("stranger", "pub", "media:view"));  // caches the record and the set
  ASSERT_TRUE(W({PutResource("m", "pub", "media", ResourceState::kPrivate, "owner")})
                  .ok());
  EXPECT_FALSE(Allowed("stranger", "pub", "media:view"));
  EXPECT_FALSE(Allowed("stranger", "priv", "media:edit"));
  ASSERT_TRUE(W({PutUserRole("m", "stranger", "editor")}).ok());  // promotion
  EXPECT_TRUE(Allowed("stranger", "priv", "media:edit"));
  ASSERT_TRUE(W({DeleteUserRole("m", "stranger", "editor")}).ok());  // demotion
  EXPECT_FALSE(Allowed("stranger", "priv", "media:edit"));
  // Ownership transfer.
  ASSERT_TRUE(W({PutResource("m", "priv", "media", ResourceState::kPrivate,
                                           "stranger")})
                  .ok());
  EXPECT_TRUE(Allowed("stranger", "priv", "media:edit"));
  EXPECT_FALSE(Allowed("owner", "priv", "media:edit"));
  // Bulk: several resources change state in one write.
  ASSERT_TRUE(W({PutResource("m", "pub", "media", ResourceState::kPublic, "owner"),
                               PutResource("m", "unl", "media", ResourceState::kPrivate, "owner"),
                               DeleteResource("m", "ghostvid")})
                  .ok());
  EXPECT_TRUE(Allowed("", "pub", "media:view"));
  EXPECT_FALSE(Allowed("", "unl", "media:view"));
  EXPECT_EQ(Rule("", "ghostvid", "media:view"), "unknown_resource");
  const CacheStats stats = checker_->Stats();
  EXPECT_GT(stats.record_invalidations, 0u);
  EXPECT_GT(stats.resource_record_hits, 0u);
}

TEST_P(ResourceCheckerTest, TwoNodesSeeEveryChangeAtTheWritersRevision) {
  std::unique_ptr<Checker> other = OpenChecker();
  ASSERT_NE(other, nullptr);
  const std::string token = Unlock("res", "letmein");  // signed by node 1
  // Node 2 verifies node 1's token: the key is the store's, shared with no configuration.
  EXPECT_TRUE(Check(*other, "", "res", "media:view", token).allowed);
  EXPECT_TRUE(Check(*other, "stranger", "pub", "media:view").allowed);
  EXPECT_FALSE(Check(*other, "stranger", "priv", "media:edit").allowed);

  auto rev = W({PutResource("m", "pub", "media", ResourceState::kPrivate, "owner"),
                              PutUserRole("m", "stranger", "editor"), Restricted("m", "res",
                                                                                 "owner", "new")});
  ASSERT_TRUE(rev.ok());
  EXPECT_FALSE(Check(*other, "", "pub", "media:view", "", *rev).allowed);
  EXPECT_TRUE(Check(*other, "stranger", "priv", "media:edit", "", *rev).allowed);
  EXPECT_FALSE(Check(*other, "", "res", "media:view", token, *rev).allowed);

  ASSERT_TRUE(W({PutUiElement("m", "menu_media", {"editor"})}).ok());
  auto rev2 = W({DeleteUserRole("m", "stranger", "editor")});
  ASSERT_TRUE(rev2.ok());
  auto d = other->Check({.tenant = "m", .user = "stranger", .at_least_revision = *rev2,
                         .element = "menu_media"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->allowed);
}

TEST_P(ResourceCheckerTest, UiElementsFollowRolesInheritanceAndPolicies) {
  ASSERT_TRUE(W({PutRole("m", "pharmacist"), PutRole("m", "senior_pharmacist",
                                                               {"pharmacist"}),
                           PutPolicy("m", "inventory", {"pharmacy:inventory:manage"}),
                           PutPolicy("m", "hide_menu", {"ui:menu_pharmacy"}, Effect::kDeny),
                           PutMember("m", "pam"), PutUserRole("m", "pam", "senior_pharmacist"),
                           PutMember("m", "ivan"), PutUserPolicy("m", "ivan", "inventory"),
                           PutMember("m", "hidden"), PutUserRole("m", "hidden", "pharmacist"),
                           PutUserPolicy("m", "hidden", "hide_menu"),
                           PutUiElement("m", "menu_pharmacy", {"pharmacist"},
                                        {"pharmacy:prescriptions:view",
                                         "pharmacy:inventory:manage"}),
                           PutUiElement("m", "menu_home"),
                           PutUiElement("m", "menu_old", {}, {}, /*active=*/false)})
                  .ok());
  auto element = [&](std::string_view user, std::string_view e) {
    auto d = checker_->Check({.tenant = "m", .user = user, .explain = true, .element = e});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::make_pair(d->allowed, d->reason->kind) : std::make_pair(false, "");
  };
  EXPECT_EQ(element("pam", "menu_pharmacy"), std::make_pair(true, std::string("required_role")));
  EXPECT_EQ(element("ivan", "menu_pharmacy"),
            std::make_pair(true, std::string("required_permission")));
  EXPECT_EQ(element("hidden", "menu_pharmacy"), std::make_pair(false, std::string("policy")));
  EXPECT_EQ(element("stranger", "menu_pharmacy"), std::make_pair(false, std::string("no_match")));
  EXPECT_EQ(element("stranger", "menu_home"), std::make_pair(true, std::string("no_requirements")));
  EXPECT_EQ(element("nobody", "menu_home"), std::make_pair(false, std::string("no_membership")));
  EXPECT_EQ(element("pam", "menu_old"), std::make_pair(false, std::string("element_inactive")));
  EXPECT_EQ(element("pam", "menu_missing"),
            std::make_pair(false, std::string("unknown_element")));

  auto sidebar = checker_->UiElements("m", "stranger", {});
  ASSERT_TRUE(sidebar.ok()) << sidebar.status().ToString();
  std::map<std::string, bool> got(sidebar->elements.begin(), sidebar->elements.end());
  EXPECT_EQ(got, (std::map<std::string, bool>{{"menu_home", true}, {"menu_pharmacy", false}}));
  // A role given to the user reaches the menu on the next call; deactivating it hides it.
  ASSERT_TRUE(W({PutUserRole("m", "stranger", "pharmacist")}).ok());
  sidebar = checker_->UiElements("m", "stranger", {});
  ASSERT_TRUE(sidebar.ok());
  got = {sidebar->elements.begin(), sidebar->elements.end()};
  EXPECT_TRUE(got["menu_pharmacy"]);
  ASSERT_TRUE(W({PutUiElement("m", "menu_pharmacy", {"pharmacist"}, {}, false)}).ok());
  sidebar = checker_->UiElements("m", "stranger", {});
  ASSERT_TRUE(sidebar.ok());
  got = {sidebar->elements.begin(), sidebar->elements.end()};
  EXPECT_EQ(got.count("menu_pharmacy"), 0u) << "inactive elements are not listed";
  const std::vector<std::string> asked = {"menu_pharmacy", "menu_home"};
  sidebar = checker_->UiElements("m", "stranger", asked);
  ASSERT_TRUE(sidebar.ok());
  ASSERT_EQ(sidebar->elements.size(), 2u);
  EXPECT_FALSE(sidebar->elements[0].second);
  EXPECT_TRUE(sidebar->elements[1].second);
}

TEST_P(ResourceCheckerTest, ListingPagesWithAStableCursor) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 7; ++i) {
    ops.push_back(PutResource("m", "v" + std::to_string(i), "media",
                              i % 2 == 0 ? ResourceState::kPublic : ResourceState::kUnlisted,
                              "owner"));
  }
  ASSERT_TRUE(checker_->Write(ops).ok());
  auto collect = [&](std::string_view user) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
      auto l = checker_->ListResources({.tenant = "m", .user = user, .permission = "media:view",
                                        .limit = 2, .cursor = cursor});
      EXPECT_TRUE(l.ok()) << l.status().ToString();
      if (!l.ok()) break;
      EXPECT_LE(l->resources.size(), 2u);
      for (const auto& r : l->resources) ids.push_back(r.resource);
      if (l->next_cursor.empty()) break;
      cursor = l->next_cursor;
    }
    return ids;
  };
  // Strangers and anonymous visitors see public ones only; unlisted ones are not listed.
  EXPECT_EQ(collect("stranger"), (std::vector<std::string>{"pub", "v0", "v2", "v4", "v6"}));
  EXPECT_EQ(collect(""), collect("stranger"));
  // The owner sees everything they own, unlisted included; not ghost's.
  EXPECT_EQ(collect("owner"), (std::vector<std::string>{"priv", "pub", "res", "unl", "v0", "v1",
                                                        "v2", "v3", "v4", "v5", "v6"}));
  EXPECT_EQ(checker_->ListResources({.tenant = "m", .permission = "media:view", .limit = 0})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ResourceCheckerTest, RecordFillsRacingChangesNeverInstallTheOldRecord) {
  // One thread flips pub's state; readers check between writes. After each write returns,
  // every check that starts must see the new state (no stale record reinstalled).
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  // Odd while a write is in flight; the state is public when seq / 2 is odd.
  std::atomic<int> seq{2};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const int before = seq.load();
        auto d = checker_->Check({.tenant = "m", .user = "stranger", .permission = "media:view",
                                  .resource = "pub"});
        const bool settled = before % 2 == 0 && seq.load() == before;
        if (d.ok() && settled && d->allowed != ((before / 2) % 2 == 1)) ++stale;
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    const bool make_public = i % 2 == 1;
    seq.fetch_add(1);
    ASSERT_TRUE(W({PutResource("m", "pub", "media",
                                         make_public ? ResourceState::kPublic
                                                     : ResourceState::kPrivate,
                                         "owner")})
                    .ok());
    seq.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
}

PERMCACHE_INSTANTIATE_STORE_TEST(ResourceCheckerTest);

}  // namespace
}  // namespace permcache::store_test
