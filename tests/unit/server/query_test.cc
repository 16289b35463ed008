#include "server/http/query.h"

#include <gtest/gtest.h>

namespace permcache::http {
namespace {

TEST(QueryTest, SplitTarget) {
  EXPECT_EQ(SplitTarget("/v1/check?a=1").path, "/v1/check");
  EXPECT_EQ(SplitTarget("/v1/check?a=1").query, "a=1");
  EXPECT_EQ(SplitTarget("/healthz").query, "");
  EXPECT_EQ(SplitTarget("/x?").query, "");
}

TEST(QueryTest, PercentDecode) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%20b%2Fc+d", true, &out));
  EXPECT_EQ(out, "a b/c d");
  out.clear();
  EXPECT_TRUE(PercentDecode("a+b", false, &out));
  EXPECT_EQ(out, "a+b");
  out.clear();
  EXPECT_TRUE(PercentDecode("%41%6a", false, &out));
  EXPECT_EQ(out, "Aj");
  for (std::string_view bad : {"%", "%4", "%zz", "a%g1", "%%"}) {
    out.clear();
    EXPECT_FALSE(PercentDecode(bad, true, &out)) << bad;
  }
}

TEST(QueryTest, ParamsWithoutEscapesAreViews) {
  const std::string q = "tenant=t1&user=jane&permission=assets:read";
  QueryParams p;
  ASSERT_TRUE(p.Parse(q).ok());
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(*p.Get("tenant"), "t1");
  EXPECT_EQ(*p.Get("permission"), "assets:read");
  EXPECT_EQ(p.Get("tenant")->data(), q.data() + 7);  // no copy
  EXPECT_FALSE(p.Get("scope").has_value());
}

TEST(QueryTest, ParamsDecodeKeysAndValues) {
  QueryParams p;
  ASSERT_TRUE(p.Parse("user=jane%40example.com&permission=assets%3Aread&sc%6fpe=bu+1").ok());
  EXPECT_EQ(*p.Get("user"), "jane@example.com");
  EXPECT_EQ(*p.Get("permission"), "assets:read");
  EXPECT_EQ(*p.Get("scope"), "bu 1");
}

TEST(QueryTest, EmptySegmentsAndBareKeys) {
  QueryParams p;
  ASSERT_TRUE(p.Parse("&a=1&&explain&b=").ok());
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(*p.Get("explain"), "");
  EXPECT_EQ(*p.Get("b"), "");
  ASSERT_TRUE(p.Parse("").ok());
  EXPECT_EQ(p.size(), 0u);
}

TEST(QueryTest, Errors) {
  QueryParams p;
  Status s = p.Parse("a=1&a=2");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("duplicate query parameter 'a'"), std::string::npos);
  s = p.Parse("user=%zz");
  EXPECT_NE(s.message().find("'user'"), std::string::npos);
  std::string many;
  for (int i = 0; i < 17; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_FALSE(p.Parse(many).ok());
}

}  // namespace
}  // namespace permcache::http
