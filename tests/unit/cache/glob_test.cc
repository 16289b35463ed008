#include "cache/glob.h"

#include <gtest/gtest.h>

namespace permcache::internal {
namespace {

TEST(GlobMatchTest, Literals) {
  EXPECT_TRUE(GlobMatch("perms:u1:t1", "perms:u1:t1"));
  EXPECT_FALSE(GlobMatch("perms:u1:t1", "perms:u1:t10"));
  EXPECT_FALSE(GlobMatch("perms:u1:t10", "perms:u1:t1"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(GlobMatchTest, Star) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("perms:42:*", "perms:42:t1"));
  EXPECT_FALSE(GlobMatch("perms:42:*", "perms:421:t1"));
  EXPECT_TRUE(GlobMatch("perms:*:t1", "perms:u:v:t1"));
  EXPECT_TRUE(GlobMatch("perms:*:t1", "perms::t1"));
  EXPECT_FALSE(GlobMatch("perms:*:t1", "perms:u:t12"));
  EXPECT_TRUE(GlobMatch("*a*b*c", "xxaxxbxxbcxc"));
  EXPECT_FALSE(GlobMatch("*a*b*c", "xxaxxcxxb"));
  EXPECT_TRUE(GlobMatch("**", "ab"));
  EXPECT_TRUE(GlobMatch("a**", "a"));
}

TEST(GlobMatchTest, QuestionMark) {
  EXPECT_TRUE(GlobMatch("perms:u?:t1", "perms:u1:t1"));
  EXPECT_FALSE(GlobMatch("perms:u?:t1", "perms:u10:t1"));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_TRUE(GlobMatch("?*", "a"));
  EXPECT_TRUE(GlobMatch("*?", "ab"));
  EXPECT_FALSE(GlobMatch("*??", "a"));
}

}  // namespace
}  // namespace permcache::internal
