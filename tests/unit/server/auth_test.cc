#include "server/http/auth.h"

#include <gtest/gtest.h>

namespace permcache::http {
namespace {

TEST(AuthTest, ParseBearer) {
  EXPECT_EQ(ParseBearerToken("Bearer abc"), "abc");
  EXPECT_EQ(ParseBearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(ParseBearerToken("BEARER abc"), "abc");
  EXPECT_FALSE(ParseBearerToken("Basic abc").has_value());
  EXPECT_FALSE(ParseBearerToken("Bearer").has_value());
  EXPECT_FALSE(ParseBearerToken("Bearer    ").has_value());
  EXPECT_FALSE(ParseBearerToken("").has_value());
  EXPECT_FALSE(ParseBearerToken("Bearerabc").has_value());
}

TEST(AuthTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(AuthTest, CheckAdmin) {
  EXPECT_TRUE(CheckAdmin("", "").ok());  // no token configured
  EXPECT_TRUE(CheckAdmin("", "Bearer whatever").ok());
  EXPECT_TRUE(CheckAdmin("tok", "Bearer tok").ok());
  for (std::string_view h : {"", "Bearer nope", "tok", "Basic tok", "Bearer tok2"}) {
    Status s = CheckAdmin("tok", h);
    EXPECT_EQ(s.code(), StatusCode::kUnauthorized) << h;
  }
}

}  // namespace
}  // namespace permcache::http
