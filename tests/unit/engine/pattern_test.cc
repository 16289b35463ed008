#include <gtest/gtest.h>

#include "engine/permission_set.h"

namespace permcache {
namespace {

TEST(PatternMatchesTest, Exact) {
  EXPECT_TRUE(PatternMatches("assets:read", "assets:read"));
  EXPECT_FALSE(PatternMatches("assets:read", "assets:write"));
  EXPECT_FALSE(PatternMatches("assets:read", "assets"));
  EXPECT_FALSE(PatternMatches("assets", "assets:read"));
  EXPECT_FALSE(PatternMatches("assets:read", "assets:read:own"));
  EXPECT_FALSE(PatternMatches("asset:read", "assets:read"));
}

TEST(PatternMatchesTest, StarAloneMatchesEverything) {
  EXPECT_TRUE(PatternMatches("*", "a"));
  EXPECT_TRUE(PatternMatches("*", "assets:read"));
  EXPECT_TRUE(PatternMatches("*", "a:b:c:d"));
}

TEST(PatternMatchesTest, TrailingStarTakesOneOrMoreSegments) {
  EXPECT_TRUE(PatternMatches("assets:*", "assets:read"));
  EXPECT_TRUE(PatternMatches("assets:*", "assets:read:own"));
  EXPECT_FALSE(PatternMatches("assets:*", "assets"));
  EXPECT_FALSE(PatternMatches("assets:*", "findings:read"));
}

TEST(PatternMatchesTest, InnerStarTakesExactlyOneSegment) {
  EXPECT_TRUE(PatternMatches("*:read", "assets:read"));
  EXPECT_FALSE(PatternMatches("*:read", "a:b:read"));
  EXPECT_FALSE(PatternMatches("*:read", "assets:write"));
  EXPECT_TRUE(PatternMatches("a:*:c", "a:b:c"));
  EXPECT_FALSE(PatternMatches("a:*:c", "a:c"));
}

}  // namespace
}  // namespace permcache
