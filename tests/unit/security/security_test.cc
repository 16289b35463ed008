// Password hashing, unlock tokens and the brute-force window (src/security).
#include <gtest/gtest.h>

#include "cache/record_cache.h"
#include "security/attempt_limiter.h"
#include "security/password_hash.h"
#include "security/unlock_token.h"

namespace permcache::security {
namespace {

constexpr PasswordHashCost kCheap{.memory_kib = 64, .passes = 1, .lanes = 1};

TEST(PasswordHashTest, RoundTripSaltedAndEncoded) {
  auto a = HashPassword("letmein", kCheap);
  auto b = HashPassword("letmein", kCheap);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << *a;
  EXPECT_NE(*a, *b) << "a fresh salt per hash";
  EXPECT_EQ(a->find("letmein"), std::string::npos);
  EXPECT_TRUE(VerifyPassword("letmein", *a));
  EXPECT_FALSE(VerifyPassword("letmein!", *a));
  EXPECT_FALSE(VerifyPassword("", *a));
  EXPECT_FALSE(VerifyPassword("letmein", ""));
  EXPECT_FALSE(VerifyPassword("letmein", "$argon2id$garbage"));
}

TEST(PasswordHashTest, DefaultCostIsOwaspArgon2id) {
  auto h = HashPassword("x");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *h;
}

const std::string kKey(32, 'k');

TEST(UnlockTokenTest, GrantsOnlyItsResourceVersionAndLifetime) {
  const std::string token = SignToken({"t", "video", 3, 10'000}, kKey);
  EXPECT_TRUE(token.starts_with("v1."));
  EXPECT_TRUE(TokenGrants(token, kKey, "t", "video", 3, 9'999));
  EXPECT_FALSE(TokenGrants(token, kKey, "t", "video", 3, 10'000)) << "expired at expires_at";
  EXPECT_FALSE(TokenGrants(token, kKey, "t", "video", 4, 0)) << "the resource changed";
  EXPECT_FALSE(TokenGrants(token, kKey, "t", "other", 3, 0));
  EXPECT_FALSE(TokenGrants(token, kKey, "t2", "video", 3, 0));
  EXPECT_FALSE(TokenGrants(token, std::string(32, 'x'), "t", "video", 3, 0)) << "another key";
  auto claims = VerifyToken(token, kKey);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->resource, "video");
  EXPECT_EQ(claims->expires_at_ms, 10'000);
}

TEST(UnlockTokenTest, TamperedAndMalformedTokensAreRefused) {
  const std::string token = SignToken({"t", "video", 3, 10'000}, kKey);
  for (size_t i = 3; i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(TokenGrants(bad, kKey, "t", "video", 3, 0)) << i;
  }
  // A payload re-signed by nobody: swap in another payload with the old mac.
  const std::string other = SignToken({"t", "video", 3, 99'999'999}, kKey);
  const std::string spliced = other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_FALSE(VerifyToken(spliced, kKey).has_value());
  for (const char* bad : {"", "v1.", "v1..", "v2.abc.def", "v1.abc", "v1.@@@.###"}) {
    EXPECT_FALSE(VerifyToken(bad, kKey).has_value()) << bad;
  }
  EXPECT_FALSE(VerifyToken(std::string(5000, 'a'), kKey).has_value());
}

TEST(AttemptLimiterTest, FiveFailuresThenRefusedUntilTheWindowPasses) {
  AttemptLimiter limiter({.max_failures = 5, .window_ms = 1000, .max_keys = 10});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Begin("k", 100 + i), 0) << i;
  const int64_t wait = limiter.Begin("k", 200);
  EXPECT_EQ(wait, 900) << "the window began at the first failure (100 ms)";
  EXPECT_GT(limiter.Begin("k", 1099), 0);
  EXPECT_EQ(limiter.Begin("k", 1100), 0) << "a new window";
  EXPECT_EQ(limiter.Begin("other", 200), 0) << "keys are independent";
}

TEST(AttemptLimiterTest, SuccessesDoNotCountAndMemoryIsBounded) {
  AttemptLimiter limiter({.max_failures = 2, .window_ms = 1000, .max_keys = 3});
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(limiter.Begin("k", 0), 0);
    limiter.Succeeded("k");
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Begin("key" + std::to_string(i), 0), 0);
}

}  // namespace
}  // namespace permcache::security

namespace permcache {
namespace {

TEST(RecordCacheTest, AFillThatRacedAnInvalidationIsNotInstalled) {
  RecordCache<int> cache(100);
  const uint64_t gen = cache.Generation("t", "r");
  cache.Invalidate("t", "r");  // the change lands while the fill reads the store
  cache.Install("t", "r", gen, std::make_shared<const int>(1), 1000);
  EXPECT_EQ(cache.Get("t", "r", 0), nullptr);
  EXPECT_EQ(cache.GetStats().stale_installs_refused, 1u);
  const uint64_t fresh = cache.Generation("t", "r");
  cache.Install("t", "r", fresh, std::make_shared<const int>(2), 1000);
  ASSERT_NE(cache.Get("t", "r", 999), nullptr);
  EXPECT_EQ(*cache.Get("t", "r", 999), 2);
  EXPECT_EQ(cache.Get("t", "r", 1000), nullptr) << "expired";
}

TEST(RecordCacheTest, TenantAndAllInvalidationAlsoPoisonFills) {
  RecordCache<int> cache(100);
  const uint64_t gen = cache.Generation("t", "r");
  cache.InvalidateTenant("t");
  cache.Install("t", "r", gen, std::make_shared<const int>(1), 1000);
  EXPECT_EQ(cache.Get("t", "r", 0), nullptr);
  cache.Install("t", "r", cache.Generation("t", "r"), std::make_shared<const int>(1), 1000);
  cache.Install("u", "r", cache.Generation("u", "r"), std::make_shared<const int>(1), 1000);
  EXPECT_EQ(cache.InvalidateTenant("t"), 1u);
  EXPECT_NE(cache.Get("u", "r", 0), nullptr);
  EXPECT_EQ(cache.InvalidateAll(), 1u);
  for (int i = 0; i < 1000; ++i) {
    const std::string id = "r" + std::to_string(i);
    cache.Install("t", id, cache.Generation("t", id), std::make_shared<const int>(i), 1000);
  }
  EXPECT_LE(cache.GetStats().entries, 100u + 16u) << "bounded by max_entries";
}

}  // namespace
}  // namespace permcache
