#include "server/config.h"

#include <gtest/gtest.h>

namespace permcache {
namespace {

TEST(ConfigTest, ParseListen) {
  auto a = ParseListen("127.0.0.1:18080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 18080);
  EXPECT_EQ(a->ToString(), "127.0.0.1:18080");
  auto b = ParseListen("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->ToString(9), "[::1]:9");
  EXPECT_EQ(ParseListen("localhost:1")->host, "127.0.0.1");
  for (std::string_view bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host:80",
                               "::1:80", "[::1]80", "1.2.3.4:-1", ":80"}) {
    EXPECT_EQ(ParseListen(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ConfigTest, Loopback) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.9.9.9"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_TRUE(IsLoopbackAddress("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackAddress("::"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
}

TEST(ConfigTest, RefusesNonLoopbackWithoutToken) {
  ServerConfig c;
  EXPECT_TRUE(ValidateServerConfig(c).ok());
  c.listen = "0.0.0.0:8080";
  Status s = ValidateServerConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("without an admin token"), std::string::npos);
  c.admin_token = "t";
  EXPECT_TRUE(ValidateServerConfig(c).ok());
}

TEST(ConfigTest, Limits) {
  ServerConfig c;
  c.threads = -1;
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = {};
  c.log_level = "loud";
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = {};
  c.max_json_depth = 0;
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = {};
  c.idle_timeout = std::chrono::seconds(0);
  EXPECT_FALSE(ValidateServerConfig(c).ok());
  c = {};
  EXPECT_EQ(EffectiveThreads(c) >= 1, true);
  c.threads = 3;
  EXPECT_EQ(EffectiveThreads(c), 3);
}

}  // namespace
}  // namespace permcache
