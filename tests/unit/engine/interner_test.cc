#include <gtest/gtest.h>

#include "engine/compiler.h"
#include "engine/interner.h"

namespace permcache {
namespace {

PermissionSet MakeSet(const std::string& pattern) {
  UserGrants ug;
  ug.membership = MembershipState::kActive;
  ug.grants.push_back(Grant{"p", Effect::kAllow, 0, {pattern}, "", "", "role"});
  return CompilePermissionSet(ug, 0);
}

TEST(InternerTest, IdenticalSetsShared) {
  Interner interner;
  auto a = interner.Intern(MakeSet("a:b"));
  auto b = interner.Intern(MakeSet("a:b"));
  auto c = interner.Intern(MakeSet("a:c"));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(interner.live_sets(), 2u);
  EXPECT_GT(interner.live_bytes(), 0u);
}

TEST(InternerTest, DeadSetsAreNotCountedAndRecreated) {
  Interner interner;
  {
    auto a = interner.Intern(MakeSet("a:b"));
    EXPECT_EQ(interner.live_sets(), 1u);
  }
  EXPECT_EQ(interner.live_sets(), 0u);
  EXPECT_EQ(interner.live_bytes(), 0u);
  auto again = interner.Intern(MakeSet("a:b"));
  EXPECT_TRUE(again->Allowed("a:b", ""));
  EXPECT_EQ(interner.live_sets(), 1u);
}

TEST(InternerTest, ManySetsSweptWithoutLosingLiveOnes) {
  Interner interner;
  auto keep = interner.Intern(MakeSet("keep:me"));
  for (int i = 0; i < 5000; ++i) interner.Intern(MakeSet("x:p" + std::to_string(i)));
  EXPECT_EQ(interner.live_sets(), 1u);
  EXPECT_EQ(interner.Intern(MakeSet("keep:me")).get(), keep.get());
}

TEST(InternerTest, SetOutlivesInterner) {
  std::shared_ptr<const PermissionSet> set;
  {
    Interner interner;
    set = interner.Intern(MakeSet("a:b"));
  }
  EXPECT_TRUE(set->Allowed("a:b", ""));
}

}  // namespace
}  // namespace permcache
