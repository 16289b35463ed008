// RedisConfigFromUrlOrEnv, key naming and the JSON codecs: pure functions, no server needed.
#include "cache/redis/redis_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "cache/redis/codec.h"
#include "cache/redis/keys.h"

namespace permcache::redis {
namespace {

// Clears the REDIS_* variables for the duration of a test and restores nothing (tests in this
// binary never rely on the environment of the parent).
class RedisConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB"}) unsetenv(v);
  }
  void TearDown() override { SetUp(); }
};

TEST_F(RedisConfigTest, ParsesPlainUrlWithDefaults) {
  StatusOr<RedisConfig> c = RedisConfigFromUrlOrEnv("redis://cache.internal");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "cache.internal");
  EXPECT_EQ(c->port, 6379);
  EXPECT_EQ(c->db, 0);
  EXPECT_EQ(c->password, "");
  EXPECT_EQ(c->ttl, std::chrono::minutes(15));
  EXPECT_EQ(c->negative_ttl, std::chrono::seconds(60));
}

TEST_F(RedisConfigTest, ParsesPasswordPortAndDb) {
  StatusOr<RedisConfig> c = RedisConfigFromUrlOrEnv("redis://:s3cr%40t@10.0.0.5:6380/3");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "10.0.0.5");
  EXPECT_EQ(c->port, 6380);
  EXPECT_EQ(c->db, 3);
  EXPECT_EQ(c->username, "");
  EXPECT_EQ(c->password, "s3cr@t");
  EXPECT_EQ(DescribeRedisConfig(*c), "redis://:***@10.0.0.5:6380/3");
}

TEST_F(RedisConfigTest, ParsesUserAndPassword) {
  StatusOr<RedisConfig> c = RedisConfigFromUrlOrEnv("redis://app:pw@localhost:7000/1");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->username, "app");
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->port, 7000);
}

TEST_F(RedisConfigTest, ParsesIpv6AndUnixSocket) {
  StatusOr<RedisConfig> v6 = RedisConfigFromUrlOrEnv("redis://[::1]:6390");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6390);
  StatusOr<RedisConfig> u = RedisConfigFromUrlOrEnv("unix:///var/run/redis/redis.sock?db=2");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->unix_socket, "/var/run/redis/redis.sock");
  EXPECT_EQ(u->db, 2);
}

TEST_F(RedisConfigTest, RejectsBadUrlsWithClearMessages) {
  struct Case {
    const char* url;
    const char* message_part;
  } cases[] = {
      {"http://x", "must start with redis://"},
      {"rediss://x", "TLS"},
      {"redis://host:0", "port"},
      {"redis://host:99999", "port"},
      {"redis://host:abc", "port"},
      {"redis://host/-1", "db"},
      {"redis://host/x", "db"},
      {"redis://:6379", "missing host"},
      {"redis://host?timeout=1", "query"},
      {"unix://relative.sock", "absolute"},
      {"redis://:bad%zz@host", "percent"},
  };
  for (const Case& c : cases) {
    StatusOr<RedisConfig> r = RedisConfigFromUrlOrEnv(c.url);
    ASSERT_FALSE(r.ok()) << c.url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos)
        << c.url << " -> " << r.status().message();
  }
}

TEST_F(RedisConfigTest, ReadsSeedEnvironmentVariables) {
  EXPECT_EQ(RedisConfigFromUrlOrEnv("").status().code(), StatusCode::kNotFound);
  setenv("REDIS_HOST", "redis.example", 1);
  setenv("REDIS_PORT", "6390", 1);
  setenv("REDIS_PASSWORD", "pw", 1);
  setenv("REDIS_DB", "4", 1);
  StatusOr<RedisConfig> c = RedisConfigFromUrlOrEnv("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "redis.example");
  EXPECT_EQ(c->port, 6390);
  EXPECT_EQ(c->password, "pw");
  EXPECT_EQ(c->db, 4);
  // A URL wins, but borrows REDIS_PASSWORD when it has none (keeps secrets out of argv).
  StatusOr<RedisConfig> u = RedisConfigFromUrlOrEnv("redis://other:1234");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "other");
  EXPECT_EQ(u->password, "pw");
  setenv("REDIS_PORT", "x", 1);
  StatusOr<RedisConfig> bad = RedisConfigFromUrlOrEnv("");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("REDIS_PORT"), std::string::npos);
}

TEST(KeySchemaTest, SeedFormatByDefault) {
  KeySchema k("", "");
  EXPECT_EQ(k.Entry("t1", "u1"), "perms:u1:t1");
  EXPECT_EQ(k.UserTombstone("t1", "u1"), "perms-inv:u1:t1");
  EXPECT_EQ(k.TenantTombstone("t1"), "perms-inv-tenant:t1");
  EXPECT_EQ(k.GlobalTombstone(), "perms-inv-all");
  EXPECT_EQ(k.Channel(), "permcache:invalidate");
  EXPECT_EQ(k.TenantEntriesPattern("t1"), "perms:*:t1");
  std::string t, u;
  ASSERT_TRUE(k.ParseEntry("perms:u1:t1", &t, &u));
  EXPECT_EQ(t, "t1");
  EXPECT_EQ(u, "u1");
  EXPECT_FALSE(k.ParseEntry("perms-inv:u1:t1", &t, &u));
}

TEST(KeySchemaTest, PrefixAndVersion) {
  KeySchema both("app:", "v2");
  EXPECT_EQ(both.Entry("t", "u"), "app:v2:perms:u:t");
  EXPECT_EQ(both.TenantTombstone("t"), "app:v2:perms-inv-tenant:t");
  EXPECT_EQ(both.Channel(), "app:permcache:invalidate");
  EXPECT_EQ(KeySchema("app", "").Entry("t", "u"), "app:perms:u:t");
  EXPECT_EQ(KeySchema("", "3").Entry("t", "u"), "3:perms:u:t");
  EXPECT_EQ(KeySchema("", "3").Channel(), "permcache:invalidate");
  // Glob metacharacters in the prefix match literally in SCAN patterns.
  EXPECT_EQ(KeySchema("a*b", "").AllEntriesPattern(), "a\\*b:perms:*");
}

UserGrants SampleGrants() {
  UserGrants g;
  g.membership = MembershipState::kActive;
  g.revision = 42;
  g.grants.push_back(
      {"p-read", Effect::kAllow, 0, {"assets:read", "findings:read"}, "", "", "viewer"});
  g.grants.push_back({"p-write", Effect::kAllow, 5, {"assets:write"}, "", "bu1", "editor>viewer"});
  g.grants.push_back({"p-deny", Effect::kDeny, 10, {"assets:delete"}, "", "", ""});
  g.grants.push_back({"p-scoped", Effect::kAllow, 1, {"billing:*"}, "bu2", "", "admin"});
  g.roles = {"editor", "viewer"};
  g.resource_grants = {{"video1", {"media:view", "media:edit"}}};
  return g;
}

constexpr int64_t kNow = 1'796'000'000'000;

TEST(CodecTest, EntryRoundTripsAndExposesSeedPermissions) {
  UserGrants g = SampleGrants();
  std::string json = EncodeEntry(g, kNow);
  EXPECT_NE(json.find(R"("permissions":["assets:read","findings:read"])"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("denied":["assets:delete"])"), std::string::npos) << json;
  EXPECT_TRUE(json.ends_with(R"("revision":42})")) << json;
  StatusOr<UserGrants> back = DecodeEntry(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->membership, g.membership);
  EXPECT_EQ(back->revision, g.revision);
  EXPECT_EQ(back->grants, g.grants);
  // Held roles and resource grants survive L2: without them a UI or resource answer from an
  // L2 hit would differ from one read from the store.
  EXPECT_EQ(back->roles, g.roles);
  EXPECT_EQ(back->resource_grants, g.resource_grants);
}

// Intervals (DESIGN §8) survive L2, and the flat lists other applications read hold only what
// counts at the instant the entry was written.
TEST(CodecTest, IntervalsRoundTripAndTheFlatListsHoldWhatCountsNow) {
  UserGrants g = SampleGrants();
  g.membership_valid = {kNow - 1000, kNow + 60'000};
  g.grants[0].valid = {Interval::kNoStart, kNow + 5000};
  g.grants.push_back({"later", Effect::kAllow, 0, {"reports:read"}, "", "", "",
                      {kNow + 1, Interval::kNoExpiry}});
  g.bounded_roles = {{"auditor", {kNow, kNow + 10}}};
  g.resource_grants[0].valid = {kNow - 5, kNow + 5};
  const std::string json = EncodeEntry(g, kNow);
  EXPECT_NE(json.find(R"("permissions":["assets:read","findings:read"])"), std::string::npos)
      << "a grant that starts later is not in the flat list: " << json;
  StatusOr<UserGrants> back = DecodeEntry(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->membership_valid, g.membership_valid);
  EXPECT_EQ(back->grants, g.grants);
  EXPECT_EQ(back->bounded_roles, g.bounded_roles);
  EXPECT_EQ(back->resource_grants, g.resource_grants);
  // Past its expiry the membership lists nothing.
  const std::string later = EncodeEntry(g, kNow + 60'000);
  EXPECT_NE(later.find(R"("permissions":[])"), std::string::npos) << later;
  // Pending round-trips.
  g.membership = MembershipState::kPending;
  StatusOr<UserGrants> pending = DecodeEntry(EncodeEntry(g, kNow));
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->membership, MembershipState::kPending);
}

TEST(CodecTest, GroupsRoundTripAndAMemberThroughAGroupListsItsPermissions) {
  UserGrants g = SampleGrants();
  g.membership = MembershipState::kNone;
  g.groups = {{"club", false, {}}, {"school", true, {kNow - 10, kNow + 10}}};
  const std::string json = EncodeEntry(g, kNow);
  EXPECT_NE(json.find(R"("permissions":["assets:read")"), std::string::npos)
      << "active through school: " << json;
  StatusOr<UserGrants> back = DecodeEntry(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->groups, g.groups);
  EXPECT_EQ(back->membership, MembershipState::kNone);
  EXPECT_NE(EncodeEntry(g, kNow + 10).find(R"("permissions":[])"), std::string::npos)
      << "the group expired";
  for (const char* bad : {R"("groups":{})", R"("groups":[1])", R"("groups":[{"group":"g"}])",
                          R"("groups":[{"group":"g","active":"yes"}])"}) {
    std::string broken = json;
    const size_t at = broken.find(R"("groups":)");
    const size_t end = broken.find(R"(,"grants")");
    ASSERT_NE(at, std::string::npos);
    broken.replace(at, end - at, bad);
    EXPECT_FALSE(DecodeEntry(broken).ok()) << broken;
  }
}

TEST(CodecTest, EntryWithoutRolesFromAnOlderNodeIsRefused) {
  std::string json = EncodeEntry(SampleGrants(), kNow);
  const size_t at = json.find(R"("roles":)");
  ASSERT_NE(at, std::string::npos);
  const size_t end = json.find(']', at);
  json.erase(at, end - at + 2);  // drop "roles":[...],
  EXPECT_FALSE(DecodeEntry(json).ok()) << json;
}

TEST(CodecTest, BadEntriesAreErrorsNotCrashes) {
  for (const char* bad :
       {"", "{", "[]", "null", R"({"membership":"x","grants":[],"revision":1})",
        R"({"membership":"active","grants":[1],"revision":1})",
        R"({"membership":"active","grants":[],"revision":-1})",
        R"({"membership":"active","grants":[],"revision":"1"})", R"({"permissions":["a:b"]})"}) {
    EXPECT_FALSE(DecodeEntry(bad).ok()) << bad;
  }
}

TEST(CodecTest, BusMessagesRoundTrip) {
  ChangeSet c{.revision = 7, .users = {{"t1", "u1"}, {"t2", "u2"}}, .tenants = {"t3"}};
  StatusOr<BusMessage> m = DecodeBusMessage(EncodeChangeMessage(c, "node-a"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->is_admin);
  EXPECT_EQ(m->origin, "node-a");
  EXPECT_EQ(m->change.revision, 7u);
  EXPECT_EQ(m->change.users, c.users);
  EXPECT_EQ(m->change.tenants, c.tenants);

  RemoteCache::AdminInvalidation a{"t1", "", "", false};
  StatusOr<BusMessage> am = DecodeBusMessage(EncodeAdminMessage(a, "node-b"));
  ASSERT_TRUE(am.ok()) << am.status().ToString();
  EXPECT_TRUE(am->is_admin);
  EXPECT_EQ(am->admin.tenant, "t1");
  EXPECT_FALSE(am->admin.all);

  for (const char* bad :
       {"garbage", "{}", R"({"revision":"x"})", R"({"revision":1,"users":[["t"]]})",
        R"({"revision":1,"tenants":[1]})", R"({"admin":[]})"}) {
    EXPECT_FALSE(DecodeBusMessage(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace permcache::redis
