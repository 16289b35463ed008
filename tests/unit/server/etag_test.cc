#include "server/http/etag.h"

#include <gtest/gtest.h>

#include <string>

namespace permcache::http {
namespace {

constexpr std::string_view kTag = "\"pc-00000000000000ab\"";

TEST(EtagTest, ContentTagIsQuotedHexOfTheContentHash) {
  std::string a, b, c;
  SetContentTag("{\"permissions\":[\"x\"]", &a);
  SetContentTag("{\"permissions\":[\"x\"]", &b);
  SetContentTag("{\"permissions\":[\"y\"]", &c);
  ASSERT_EQ(a.size(), 21u) << a;
  EXPECT_TRUE(a.starts_with("\"pc-")) << a;
  EXPECT_TRUE(a.ends_with("\"")) << a;
  EXPECT_EQ(a.substr(4, 16).find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Replaces, does not append (the Response's etag string is reused).
  SetContentTag("{\"permissions\":[\"x\"]", &c);
  EXPECT_EQ(c, a);
}

TEST(EtagTest, MatchingValues) {
  for (std::string_view v : {"\"pc-00000000000000ab\"", "W/\"pc-00000000000000ab\"", "*",
                             " * ", "\"x\", \"pc-00000000000000ab\"",
                             "\"x\",W/\"pc-00000000000000ab\" ,\"y\"",
                             ", ,\t\"pc-00000000000000ab\",", "\"\", \"pc-00000000000000ab\""}) {
    EXPECT_TRUE(IfNoneMatchMatches(v, kTag)) << v;
  }
}

TEST(EtagTest, OtherTagsAndMalformedValuesDoNotMatch) {
  for (std::string_view v : {"", " ", ",", "\"pc-00000000000000ac\"", "pc-00000000000000ab",
                             "\"pc-00000000000000ab", "w/\"pc-00000000000000ab\"",
                             "W/ \"pc-00000000000000ab\"", "\"pc-00000000000000ab\" junk",
                             "\"pc-00000000000000ab\", junk", "\"pc-00000000000000ab\"\"x\"",
                             "*, \"pc-00000000000000ab\"", "\"pc-0000\"00000000ab\"",
                             "\"x y\", \"pc-00000000000000ab\""}) {
    EXPECT_FALSE(IfNoneMatchMatches(v, kTag)) << v;
  }
}

TEST(EtagTest, ValuesOverTheLimitAreNotParsed) {
  std::string v;
  while (v.size() + 4 + kTag.size() <= kMaxIfNoneMatchBytes) v += "\"x\",";
  v += kTag;
  ASSERT_LE(v.size(), kMaxIfNoneMatchBytes);
  EXPECT_TRUE(IfNoneMatchMatches(v, kTag));
  v.insert(0, std::string(kMaxIfNoneMatchBytes - v.size() + 1, ' '));
  ASSERT_EQ(v.size(), kMaxIfNoneMatchBytes + 1);
  EXPECT_FALSE(IfNoneMatchMatches(v, kTag));
}

}  // namespace
}  // namespace permcache::http
