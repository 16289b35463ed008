#include "cache/ghost_table.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace permcache::internal {
namespace {

uint64_t H(int i) { return HashBytes("key" + std::to_string(i)); }

TEST(GhostTableTest, RemembersRecentHashesOnce) {
  GhostTable g(1000);
  for (int i = 0; i < 500; ++i) g.Insert(H(i));
  int found = 0;
  for (int i = 0; i < 500; ++i) found += g.Remove(H(i)) ? 1 : 0;
  EXPECT_GE(found, 480);  // 4-way buckets may drop a few early
  for (int i = 0; i < 500; ++i) EXPECT_FALSE(g.Remove(H(i)));  // removal forgets
  EXPECT_FALSE(g.Remove(H(100000)));
}

TEST(GhostTableTest, ForgetsAfterCapacityInsertions) {
  GhostTable g(100);
  g.Insert(H(-1));
  for (int i = 0; i < 100; ++i) g.Insert(H(i));
  EXPECT_FALSE(g.Remove(H(-1)));  // 100 newer ghosts: aged out
  int found = 0;
  for (int i = 50; i < 100; ++i) found += g.Remove(H(i)) ? 1 : 0;
  EXPECT_GE(found, 45);
}

TEST(GhostTableTest, ZeroCapacityIsInert) {
  GhostTable g(0);
  g.Insert(H(1));
  EXPECT_FALSE(g.Remove(H(1)));
  EXPECT_EQ(g.MemoryBytes(), 0u);
}

}  // namespace
}  // namespace permcache::internal
