// Groups (DESIGN §8) through the Checker, on SQLite and on a real PostgreSQL, with two nodes on
// one store: both cache an answer, a write to the group lands on one, and the other answers
// the new way once it has applied the revision (the group change reached exactly its members).
// Covers a member without own membership active through the group, suspension and
// reactivation, expiry (in real time, no write), removal, a role given to and taken from the
// group, and a user in two groups; explain and the membership answer name the group.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "permcache/checker.h"
#include "support/wait_until.h"
#include "unit/checker/store_node_test_util.h"

namespace permcache::store_test {
namespace {

class GroupCheckerTest : public CheckerNodesTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    // reader -> read (docs:read); writer -> write (docs:write). school holds reader; club
    // (suspended) holds writer. zoe and yann have no membership of their own.
    MustApply({PutTenant("t"), PutRole("t", "reader"), PutRole("t", "writer"),
               PutPolicy("t", "read", {"docs:read"}), PutPolicy("t", "write", {"docs:write"}),
               PutRolePolicy("t", "reader", "read"), PutRolePolicy("t", "writer", "write"),
               PutGroup("t", "school"), PutGroupRole("t", "school", "reader"),
               PutGroupMember("t", "school", "zoe"), PutGroupMember("t", "school", "yann"),
               PutGroup("t", "club", MembershipStatus::kSuspended),
               PutGroupRole("t", "club", "writer"), PutGroupMember("t", "club", "zoe"),
               PutMember("t", "walt"), PutUserRole("t", "walt", "writer")});
    store_.reset();  // the nodes open their own
    a_ = Node();
    b_ = Node();
  }

  // Writes through node a and waits until node b has applied the revision.
  void Write(std::vector<WriteOp> ops) {
    auto rev = a_->Write(ops);
    ASSERT_TRUE(rev.ok()) << rev.status().ToString();
    ASSERT_TRUE(WaitUntil([&] { return b_->AppliedRevision() >= *rev; }));
  }

  // The same answer on both nodes (each from its own cache when it has one).
  bool BothAllow(std::string_view user, std::string_view permission) {
    const bool on_a = Allowed(*a_, user, permission);
    const bool on_b = Allowed(*b_, user, permission);
    EXPECT_EQ(on_a, on_b) << user << " " << permission;
    return on_a && on_b;
  }

  std::unique_ptr<Checker> a_, b_;
};

TEST_P(GroupCheckerTest, AMemberWithoutOwnMembershipIsActiveThroughTheGroup) {
  ASSERT_TRUE(a_ && b_);
  EXPECT_TRUE(BothAllow("yann", "docs:read"));
  EXPECT_FALSE(BothAllow("yann", "docs:write"));
  auto d = b_->Check({.tenant = "t", .user = "yann", .permission = "docs:read", .explain = true});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->reason.has_value());
  EXPECT_EQ(d->reason->role_path, "group:school>reader");
  EXPECT_EQ(d->reason->policy, "read");
  auto info = b_->Membership("t", "yann");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->active);
  EXPECT_EQ(info->status, "active");
  EXPECT_EQ(info->via, "group:school");
  auto own = b_->Membership("t", "walt");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->via, "");
  auto none = b_->Membership("t", "nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->active);
  EXPECT_EQ(none->status, "none");
}

TEST_P(GroupCheckerTest, SuspendingAndReactivatingTheGroupReachesItsMembersOnly) {
  ASSERT_TRUE(a_ && b_);
  ASSERT_TRUE(BothAllow("yann", "docs:read"));
  ASSERT_TRUE(BothAllow("walt", "docs:write"));
  Write({PutGroup("t", "school", MembershipStatus::kSuspended)});
  EXPECT_FALSE(BothAllow("yann", "docs:read")) << "a suspended group grants nothing";
  auto info = b_->Membership("t", "yann");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, "suspended");
  EXPECT_EQ(info->via, "group:school");
  EXPECT_TRUE(BothAllow("walt", "docs:write"));
  Write({PutGroup("t", "school")});
  EXPECT_TRUE(BothAllow("yann", "docs:read")) << "reactivated";
}

TEST_P(GroupCheckerTest, RemovingAMemberAndChangingTheGroupsRoles) {
  ASSERT_TRUE(a_ && b_);
  ASSERT_TRUE(BothAllow("yann", "docs:read"));
  ASSERT_FALSE(BothAllow("yann", "docs:write"));
  Write({PutGroupRole("t", "school", "writer")});
  EXPECT_TRUE(BothAllow("yann", "docs:write")) << "a role given to the group";
  Write({DeleteGroupRole("t", "school", "reader")});
  EXPECT_FALSE(BothAllow("yann", "docs:read")) << "a role taken from the group";
  EXPECT_TRUE(BothAllow("yann", "docs:write"));
  Write({DeleteGroupMember("t", "school", "yann")});
  EXPECT_FALSE(BothAllow("yann", "docs:write")) << "removed from the group";
  auto info = b_->Membership("t", "yann");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->status, "none");
  EXPECT_TRUE(BothAllow("zoe", "docs:write")) << "the other member keeps it";
}

TEST_P(GroupCheckerTest, AUserInTwoGroups) {
  ASSERT_TRUE(a_ && b_);
  // zoe: school (active, reader) and club (suspended, writer).
  EXPECT_TRUE(BothAllow("zoe", "docs:read"));
  EXPECT_FALSE(BothAllow("zoe", "docs:write"));
  Write({PutGroup("t", "club")});
  EXPECT_TRUE(BothAllow("zoe", "docs:write")) << "the second group activated";
  EXPECT_FALSE(BothAllow("yann", "docs:write")) << "not a member of the club";
  Write({DeleteGroupMember("t", "school", "zoe")});
  EXPECT_FALSE(BothAllow("zoe", "docs:read"));
  EXPECT_TRUE(BothAllow("zoe", "docs:write")) << "still a member through the club";
  auto info = a_->Membership("t", "zoe");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->via, "group:club");
  Write({DeleteGroup("t", "club")});
  EXPECT_FALSE(BothAllow("zoe", "docs:write"));
}

TEST_P(GroupCheckerTest, AnOwnSuspendedMembershipWinsOverTheGroup) {
  ASSERT_TRUE(a_ && b_);
  ASSERT_TRUE(BothAllow("yann", "docs:read"));
  Write({PutMember("t", "yann", MembershipStatus::kSuspended)});
  EXPECT_FALSE(BothAllow("yann", "docs:read"));
  Write({DeleteMember("t", "yann")});
  EXPECT_TRUE(BothAllow("yann", "docs:read"));
}

TEST_P(GroupCheckerTest, AGroupExpiringIn3sIsDeniedOnBothNodesWithNoWrite) {
  ASSERT_TRUE(a_ && b_);
  const int64_t at = SystemClock::Get()->WallMs() + 3000;
  WriteOp expiring = PutGroup("t", "school");
  expiring.expires_at_ms = at;
  Write({expiring});
  const uint64_t revision = a_->AppliedRevision();
  ASSERT_TRUE(BothAllow("yann", "docs:read"));
  auto before = b_->Membership("t", "yann");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->expires_at_ms, at);
  while (SystemClock::Get()->WallMs() < at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(BothAllow("yann", "docs:read"));
  auto d = b_->Check({.tenant = "t", .user = "yann", .permission = "docs:read", .explain = true});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->reason->kind, "membership_expired");
  EXPECT_EQ(a_->AppliedRevision(), revision) << "no write happened";
}

PERMCACHE_INSTANTIATE_STORE_TEST(GroupCheckerTest);

}  // namespace
}  // namespace permcache::store_test
