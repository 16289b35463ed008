// Time is a writer (DESIGN §8) end to end, on SQLite and on a real PostgreSQL, in real time:
// two nodes on one store cache an allow; the membership expires, an expiring role assignment
// ends and a later one starts 3 s after the write; both nodes answer the new way with no
// write, and explain and the membership answer say why.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "permcache/checker.h"
#include "support/wait_until.h"
#include "unit/checker/store_node_test_util.h"

namespace permcache::store_test {
namespace {

class IntervalCheckerTest : public CheckerNodesTest {};

TEST_P(IntervalCheckerTest, ExpiriesAndStartsReachBothNodesWithNoWrite) {
  store_.reset();  // the nodes open their own
  auto a = Node();
  auto b = Node();
  ASSERT_TRUE(a && b);
  // 3 s: room for a slow write and the first checks on a loaded machine (ASan, ctest -j).
  const int64_t at = SystemClock::Get()->WallMs() + 3000;
  WriteOp member = PutMember("t", "u");
  member.expires_at_ms = at;
  WriteOp later = PutUserRole("t", "v", "w");
  later.starts_at_ms = at;
  WriteOp ending = PutUserRole("t", "v", "r");
  ending.expires_at_ms = at;
  auto rev = a->Write(std::vector<WriteOp>{
      PutTenant("t"), PutRole("t", "r"), PutRole("t", "w"), PutPolicy("t", "p", {"docs:read"}),
      PutPolicy("t", "q", {"docs:write"}), PutRolePolicy("t", "r", "p"),
      PutRolePolicy("t", "w", "q"), member, PutUserRole("t", "u", "r"), PutMember("t", "v"),
      later, ending});
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return b->AppliedRevision() >= *rev; }));
  for (Checker* node : {a.get(), b.get()}) {
    EXPECT_TRUE(Allowed(*node, "u", "docs:read"));
    EXPECT_TRUE(Allowed(*node, "v", "docs:read"));
    EXPECT_FALSE(Allowed(*node, "v", "docs:write"));
    auto info = node->Membership("t", "u");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->expires_at_ms, at);
  }
  while (SystemClock::Get()->WallMs() < at) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (Checker* node : {a.get(), b.get()}) {
    auto d = node->Check({.tenant = "t", .user = "u", .permission = "docs:read",
                          .explain = true});
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->allowed) << "expired with no write";
    EXPECT_EQ(d->reason->kind, "membership_expired");
    EXPECT_FALSE(Allowed(*node, "v", "docs:read")) << "the expiring role ended";
    EXPECT_TRUE(Allowed(*node, "v", "docs:write")) << "the later role started";
  }
  EXPECT_EQ(a->AppliedRevision(), *rev) << "no write happened";
}

PERMCACHE_INSTANTIATE_STORE_TEST(IntervalCheckerTest);

}  // namespace
}  // namespace permcache::store_test
