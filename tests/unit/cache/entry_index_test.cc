// EntryIndex against a reference map under random inserts and erases (exercises growth,
// wrap-around probing and backward-shift deletion).
#include "cache/entry_index.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

#include "common/hash.h"

namespace permcache::internal {
namespace {

TEST(EntryIndexTest, MatchesReferenceMap) {
  constexpr size_t kMax = 1000;
  EntryIndex index(kMax);
  std::unordered_map<std::string, CacheEntry*> ref;
  std::mt19937 rng(42);
  auto user = [](int i) { return "u" + std::to_string(i); };
  for (int step = 0; step < 200000; ++step) {
    const int k = static_cast<int>(rng() % 3000);
    const std::string u = user(k);
    const uint64_t h = HashKey("t", u);
    auto it = ref.find(u);
    if (it == ref.end()) {
      if (ref.size() < kMax) {
        CacheEntry* e = CacheEntry::Create("t", u);
        index.Insert(h, e);
        ref.emplace(u, e);
      }
    } else {
      ASSERT_EQ(index.Find(h, "t", u), it->second);
      ASSERT_TRUE(index.Erase(h, it->second));
      ASSERT_EQ(index.Find(h, "t", u), nullptr);
      CacheEntry::Destroy(it->second);
      ref.erase(it);
    }
    if (step % 10000 == 0) {
      for (int i = 0; i < 3000; ++i) {
        auto r = ref.find(user(i));
        ASSERT_EQ(index.Find(HashKey("t", user(i)), "t", user(i)),
                  r == ref.end() ? nullptr : r->second);
      }
    }
  }
  EXPECT_EQ(index.size(), ref.size());
  EXPECT_LE(index.capacity(), kMax + kMax / 4 + 1);  // never more than 1/0.8 slots per entry
  for (auto& [u, e] : ref) CacheEntry::Destroy(e);
}

}  // namespace
}  // namespace permcache::internal
