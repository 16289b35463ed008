// The Checker end to end in-process, against real SQLite files: the seed scenarios, explain,
// admin invalidation, and several Checkers sharing one store (changelog catch-up).
#include <thread>

#include "support/wait_until.h"
#include "unit/checker/checker_fixture.h"

namespace permcache::testing {
namespace {

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.changelog_poll_interval = std::chrono::milliseconds(0);  // explicit catch-up only
    checker_ = OpenChecker(dir_.File("pc.db"), o);
    ASSERT_NE(checker_, nullptr);
    // Seed 002: the hospital.
    auto rev = checker_->Write(std::vector<WriteOp>{
        PutTenant("hospital"), PutRole("hospital", "nurse"),
        PutRole("hospital", "senior_nurse", {"nurse"}), PutRole("hospital", "pharmacist"),
        PutPolicy("hospital", "menu_pharmacy", {"ui:menu_pharmacy"}),
        PutRolePolicy("hospital", "pharmacist", "menu_pharmacy"),
        PutMember("hospital", "jane"), PutUserRole("hospital", "jane", "nurse"),
        PutMember("hospital", "sam"),
        PutUserRole("hospital", "sam", "senior_nurse"),
        PutMember("hospital", "phil"),
        PutUserRole("hospital", "phil", "pharmacist")});
    ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  }
  TempDir dir_;
  std::unique_ptr<Checker> checker_;
};

TEST_F(CheckerTest, Seed002RolePolicyGrantAndRevokeVisibleOnNextCheck) {
  Checker& c = *checker_;
  EXPECT_FALSE(Allowed(c, "hospital", "jane", "ui:menu_pharmacy"));  // cached now
  EXPECT_FALSE(Allowed(c, "hospital", "sam", "ui:menu_pharmacy"));
  EXPECT_TRUE(Allowed(c, "hospital", "phil", "ui:menu_pharmacy"));
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{
                          PutRolePolicy("hospital", "nurse", "menu_pharmacy")})
                  .ok());
  EXPECT_TRUE(Allowed(c, "hospital", "jane", "ui:menu_pharmacy"));
  EXPECT_TRUE(Allowed(c, "hospital", "sam", "ui:menu_pharmacy"));  // senior_nurse inherits nurse
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{
                          DeleteRolePolicy("hospital", "nurse", "menu_pharmacy")})
                  .ok());
  EXPECT_FALSE(Allowed(c, "hospital", "jane", "ui:menu_pharmacy"));
  EXPECT_FALSE(Allowed(c, "hospital", "sam", "ui:menu_pharmacy"));
  EXPECT_TRUE(Allowed(c, "hospital", "phil", "ui:menu_pharmacy"));
}

TEST_F(CheckerTest, ExplainNamesPolicyRolePathTierAndRevision) {
  Checker& c = *checker_;
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{
                          PutRolePolicy("hospital", "nurse", "menu_pharmacy")})
                  .ok());
  auto first = c.Check({.tenant = "hospital", .user = "sam", .permission = "ui:menu_pharmacy",
                        .explain = true});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->reason.has_value());
  EXPECT_EQ(first->reason->policy, "menu_pharmacy");
  EXPECT_EQ(first->reason->role_path, "senior_nurse>nurse");
  EXPECT_EQ(first->reason->tier, CacheTier::kStore);
  auto second = c.Check({.tenant = "hospital", .user = "sam", .permission = "ui:menu_pharmacy",
                         .explain = true});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->reason->tier, CacheTier::kL1);
  EXPECT_EQ(second->reason->set_revision, first->reason->set_revision);
  EXPECT_GE(second->revision, first->reason->set_revision);
}

TEST_F(CheckerTest, Seed000TenantsAreIndependentAndRemovalDeniesAtOnce) {
  Checker& c = *checker_;
  std::vector<WriteOp> ops;
  for (std::string t : {"acme", "globex"}) {
    ops.push_back(PutTenant(t));
    ops.push_back(PutRole(t, "analyst"));
    ops.push_back(PutRole(t, "admin"));
    ops.push_back(PutPolicy(t, "read", {"assets:read", "findings:read"}));
    ops.push_back(PutPolicy(t, "write", {"assets:write"}));
    ops.push_back(PutRolePolicy(t, "analyst", "read"));
    ops.push_back(PutRolePolicy(t, "admin", "read"));
    ops.push_back(PutRolePolicy(t, "admin", "write"));
    ops.push_back(PutMember(t, "alice"));
    ops.push_back(PutUserRole(t, "alice", "admin"));
  }
  ASSERT_TRUE(c.Write(ops).ok());
  EXPECT_TRUE(Allowed(c, "acme", "alice", "assets:write"));
  EXPECT_TRUE(Allowed(c, "globex", "alice", "assets:write"));
  // Role change in acme: admin -> analyst.
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{DeleteUserRole("acme", "alice", "admin"),
                                           PutUserRole("acme", "alice", "analyst")})
                  .ok());
  EXPECT_FALSE(Allowed(c, "acme", "alice", "assets:write"));
  EXPECT_TRUE(Allowed(c, "acme", "alice", "findings:read"));
  EXPECT_TRUE(Allowed(c, "globex", "alice", "assets:write"));
  // Removed from acme: denied at once there, untouched in globex.
  WriteOp remove;
  remove.kind = OpKind::kDeleteMembership;
  remove.tenant = "acme";
  remove.user = "alice";
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{remove}).ok());
  EXPECT_FALSE(Allowed(c, "acme", "alice", "findings:read"));
  EXPECT_TRUE(Allowed(c, "globex", "alice", "findings:read"));
}

TEST_F(CheckerTest, Seed004SuspendedMembershipDeniesAtOnce) {
  Checker& c = *checker_;
  EXPECT_TRUE(Allowed(c, "hospital", "phil", "ui:menu_pharmacy"));
  ASSERT_TRUE(
      c.Write(std::vector<WriteOp>{PutMember("hospital", "phil", MembershipStatus::kSuspended)})
          .ok());
  EXPECT_FALSE(Allowed(c, "hospital", "phil", "ui:menu_pharmacy"));
  auto m = c.Membership("hospital", "phil");
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->active);
  EXPECT_EQ(m->status, "suspended");
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{PutMember("hospital", "phil")}).ok());
  EXPECT_TRUE(Allowed(c, "hospital", "phil", "ui:menu_pharmacy"));
}

TEST_F(CheckerTest, UnknownTenantOrUserDenies) {
  EXPECT_FALSE(Allowed(*checker_, "nowhere", "jane", "ui:menu_pharmacy"));
  EXPECT_FALSE(Allowed(*checker_, "hospital", "nobody", "ui:menu_pharmacy"));
  auto m = checker_->Membership("nowhere", "jane");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->status, "none");
}

TEST_F(CheckerTest, BadInputIsInvalidArgument) {
  for (CheckRequest r : {CheckRequest{.tenant = "t:1", .user = "u", .permission = "a:b"},
                         CheckRequest{.tenant = "t", .user = "", .permission = "a:b"},
                         CheckRequest{.tenant = "t", .user = "u", .permission = "a:*"},
                         CheckRequest{.tenant = "t", .user = "u", .permission = "a:b", .scope = "x y"}}) {
    auto d = checker_->Check(r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  }
  std::string long_id(129, 'a');
  EXPECT_FALSE(checker_->Check({.tenant = long_id, .user = "u", .permission = "a:b"}).ok());
}

TEST_F(CheckerTest, AtomicWriteNamesOpIndexAndAppliesNothing) {
  const uint64_t before = checker_->AppliedRevision();
  auto rev = checker_->Write(std::vector<WriteOp>{
      PutRolePolicy("hospital", "nurse", "menu_pharmacy"),
      PutUserRole("hospital", "jane", "no_such_role")});
  ASSERT_FALSE(rev.ok());
  EXPECT_EQ(rev.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rev.status().message().find("op 1"), std::string::npos) << rev.status().message();
  EXPECT_FALSE(Allowed(*checker_, "hospital", "jane", "ui:menu_pharmacy"));
  EXPECT_EQ(checker_->AppliedRevision(), before);
}

TEST_F(CheckerTest, PermissionsListsAllowAndDenyPatterns) {
  ASSERT_TRUE(checker_
                  ->Write(std::vector<WriteOp>{
                      PutPolicy("hospital", "no_ctrl", {"drugs:controlled"}, Effect::kDeny, 5),
                      PutRolePolicy("hospital", "pharmacist", "no_ctrl")})
                  .ok());
  auto p = checker_->Permissions("hospital", "phil");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->permissions, std::vector<std::string>{"ui:menu_pharmacy"});
  EXPECT_EQ(p->denied, std::vector<std::string>{"drugs:controlled"});
}

TEST_F(CheckerTest, AdminInvalidationFormsAndStats) {
  Checker& c = *checker_;
  for (auto u : {"jane", "sam", "phil"}) Allowed(c, "hospital", u, "ui:menu_pharmacy");
  CacheStats s = c.Stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_GE(s.misses, 3u);
  EXPECT_GE(s.distinct_sets, 2u);
  auto n = c.Invalidate({.tenant = "hospital", .user = "jane"});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  n = c.Invalidate({.pattern = "perms:sam:*"});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  n = c.Invalidate({.all = true});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(c.Stats().entries, 0u);
  EXPECT_FALSE(c.Invalidate({}).ok());
  EXPECT_FALSE(c.Invalidate({.tenant = "t", .all = true}).ok());
}

TEST_F(CheckerTest, CheckBatchAnswersLikeSingleChecks) {
  Checker& c = *checker_;
  Allowed(c, "hospital", "phil", "ui:menu_pharmacy");  // phil cached, the others not
  std::vector<CheckRequest> requests;
  const char* users[] = {"jane", "sam", "phil", "nobody"};
  for (int i = 0; i < 40; ++i) {  // more than one chunk of 16
    requests.push_back({.tenant = "hospital", .user = users[i % 4],
                        .permission = i % 3 ? "ui:menu_pharmacy" : "ui:other"});
  }
  requests.push_back({.tenant = "bad:tenant", .user = "jane", .permission = "a:b"});
  requests.push_back({.tenant = "hospital", .user = "phil", .permission = "ui:*"});
  requests.push_back({.tenant = "hospital", .user = "phil", .permission = "ui:menu_pharmacy",
                      .explain = true});
  std::vector<BatchResult> results(requests.size());
  c.CheckBatch(requests, results);
  for (size_t i = 0; i < requests.size(); ++i) {
    auto single = c.Check(requests[i]);
    ASSERT_EQ(results[i].status.code(), single.status().code()) << i;
    if (!single.ok()) continue;
    EXPECT_EQ(results[i].decision.allowed, single->allowed) << i;
    EXPECT_EQ(results[i].decision.reason.has_value(), single->reason.has_value()) << i;
  }
  EXPECT_TRUE(results[2].decision.allowed);
  EXPECT_FALSE(results[0].decision.allowed);
  EXPECT_EQ(results[40].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results[41].status.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(results[42].decision.reason.has_value());
  EXPECT_EQ(results[42].decision.reason->policy, "menu_pharmacy");
  // A write between two batches is seen by the second.
  ASSERT_TRUE(c.Write(std::vector<WriteOp>{
                          PutRolePolicy("hospital", "nurse", "menu_pharmacy")})
                  .ok());
  c.CheckBatch(requests, results);
  EXPECT_TRUE(results[1].decision.allowed);  // jane, ui:menu_pharmacy
}

TEST_F(CheckerTest, ImportExportRoundTrip) {
  auto model = checker_->ExportModel("hospital");
  ASSERT_TRUE(model.ok());
  TempDir other;
  auto copy = OpenChecker(other.File("copy.db"));
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(copy->ImportModel(*model).ok());
  auto again = copy->ExportModel("hospital");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *model);
  EXPECT_TRUE(Allowed(*copy, "hospital", "phil", "ui:menu_pharmacy"));
  EXPECT_EQ(checker_->ExportModel("nowhere").status().code(), StatusCode::kNotFound);
}

// Two nodes on one store file: B learns of A's writes from the changelog.
TEST_F(CheckerTest, SecondNodeCatchesUpWithAtLeastRevision) {
  Options o;
  o.changelog_poll_interval = std::chrono::milliseconds(0);
  auto b = OpenChecker(dir_.File("pc.db"), o);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(Allowed(*b, "hospital", "jane", "ui:menu_pharmacy"));  // B caches "denied"
  auto rev = checker_->Write(std::vector<WriteOp>{
      PutRolePolicy("hospital", "nurse", "menu_pharmacy")});
  ASSERT_TRUE(rev.ok());
  auto d = b->Check({.tenant = "hospital", .user = "jane", .permission = "ui:menu_pharmacy",
                     .at_least_revision = *rev});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_GE(d->revision, *rev);
  // A revision nobody wrote yet: bounded wait, then unavailable (never an older answer).
  Options quick = o;
  quick.consistency_timeout = std::chrono::milliseconds(20);
  auto c = OpenChecker(dir_.File("pc.db"), quick);
  auto future = c->Check({.tenant = "hospital", .user = "jane", .permission = "ui:menu_pharmacy",
                          .at_least_revision = *rev + 100});
  EXPECT_EQ(future.status().code(), StatusCode::kUnavailable);
}

TEST_F(CheckerTest, SecondNodePollsTheChangelog) {
  Options o;
  o.changelog_poll_interval = std::chrono::milliseconds(5);
  auto b = OpenChecker(dir_.File("pc.db"), o);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(Allowed(*b, "hospital", "jane", "ui:menu_pharmacy"));
  auto rev = checker_->Write(std::vector<WriteOp>{
      PutRolePolicy("hospital", "nurse", "menu_pharmacy")});
  ASSERT_TRUE(rev.ok());
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= *rev; }));
  EXPECT_TRUE(Allowed(*b, "hospital", "jane", "ui:menu_pharmacy"));
}

}  // namespace
}  // namespace permcache::testing
