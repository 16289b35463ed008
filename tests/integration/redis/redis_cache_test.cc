// RedisCache against a real redis-server started on a free loopback port per test: seed key
// format, TTLs, race-free fills, SCAN invalidation, pub/sub between two instances, AUTH, and
// recovery from SIGKILL / SIGSTOP of the server. Waits use condition variables with deadlines.
#include "cache/redis/redis_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_server.h"

namespace permcache::redis {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using testing::RedisServer;
using testing::RedisServerOptions;

constexpr auto kEventDeadline = std::chrono::seconds(10);

// Everything the callbacks report, observable with deadlines. Declare it before the caches
// that call into it so it outlives them.
class Events {
 public:
  void Change(const ChangeSet& c) {
    Add([&] { changes_.push_back(c); });
  }
  void Admin(const RemoteCache::AdminInvalidation& a) {
    Add([&] { admins_.push_back(a); });
  }
  void Bus(bool up) {
    Add([&] { bus_.push_back(up); });
  }
  void Conn(bool up) {
    Add([&] { conn_.push_back(up); });
  }

  bool WaitBus(bool up) {
    return Wait([&] { return !bus_.empty() && bus_.back() == up; });
  }
  bool WaitConn(bool up) {
    return Wait([&] { return !conn_.empty() && conn_.back() == up; });
  }
  bool WaitChanges(size_t n) {
    return Wait([&] { return changes_.size() >= n; });
  }
  bool WaitAdmins(size_t n) {
    return Wait([&] { return admins_.size() >= n; });
  }

  std::vector<ChangeSet> changes() {
    std::lock_guard<std::mutex> lock(mu_);
    return changes_;
  }
  std::vector<RemoteCache::AdminInvalidation> admins() {
    std::lock_guard<std::mutex> lock(mu_);
    return admins_;
  }

  void StartBus(RedisCache& cache) {
    cache.StartBus([this](const ChangeSet& c) { Change(c); },
                   [this](const RemoteCache::AdminInvalidation& a) { Admin(a); },
                   [this](bool up) { Bus(up); });
  }

 private:
  template <typename F>
  void Add(F f) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      f();
    }
    cv_.notify_all();
  }
  template <typename P>
  bool Wait(P pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kEventDeadline, pred);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChangeSet> changes_;
  std::vector<RemoteCache::AdminInvalidation> admins_;
  std::vector<bool> bus_, conn_;
};

UserGrants Grants(uint64_t revision, MembershipState membership = MembershipState::kActive) {
  UserGrants g;
  g.membership = membership;
  g.revision = revision;
  if (membership == MembershipState::kActive) {
    g.grants.push_back(
        {"viewer-policy", Effect::kAllow, 0, {"assets:read", "findings:read"}, "", "", "viewer"});
    g.grants.push_back({"no-delete", Effect::kDeny, 10, {"assets:delete"}, "", "", ""});
  }
  return g;
}

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = StartServer({}); }

  static std::unique_ptr<RedisServer> StartServer(RedisServerOptions options) {
    StatusOr<std::unique_ptr<RedisServer>> s = RedisServer::Start(std::move(options));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  RedisConfig Config(const RedisServer& server) {
    StatusOr<RedisConfig> c = RedisConfigFromUrlOrEnv(server.Url());
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    RedisConfig config = c.ok() ? *c : RedisConfig();
    config.command_timeout = milliseconds(100);
    config.connect_timeout = milliseconds(300);
    config.reconnect_backoff_initial = milliseconds(20);
    config.reconnect_backoff_max = milliseconds(200);
    config.bus_ping_interval = milliseconds(200);
    return config;
  }
  RedisConfig Config() { return Config(*server_); }

  std::unique_ptr<RedisCache> Open(RedisConfig config) {
    StatusOr<std::unique_ptr<RedisCache>> c = RedisCache::Open(std::move(config));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // A cache that reports connection and bus state to `events`, subscribed, with one entry
  // ("t","u" at revision 1) stored: the starting point of the fault-injection tests.
  std::unique_ptr<RedisCache> OpenWatched(Events& events) {
    RedisConfig config = Config();
    config.on_connection_state = [&events](bool up) { events.Conn(up); };
    auto cache = Open(config);
    if (cache == nullptr) return nullptr;
    events.StartBus(*cache);
    EXPECT_TRUE(events.WaitBus(true));
    EXPECT_TRUE(cache->Put("t", "u", Grants(1)).ok());
    return cache;
  }

  std::string Cli(const std::vector<std::string>& args) {
    StatusOr<std::string> out = server_->Cli(args);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : "";
  }
  int64_t CountKeys(const std::string& pattern) {
    // KEYS is fine in a test against a private server; production code only uses SCAN.
    return std::stoll(Cli({"EVAL", "return #redis.call('KEYS', ARGV[1])", "0", pattern}));
  }

  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisCacheTest, RoundTripInSeedKeyFormatReadableByRedisCli) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  UserGrants g = Grants(3);
  ASSERT_TRUE(cache->Put("t1", "u1", g).ok());

  StatusOr<std::optional<UserGrants>> got = cache->Get("t1", "u1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->revision, 3u);
  EXPECT_EQ((*got)->membership, MembershipState::kActive);
  EXPECT_EQ((*got)->grants, g.grants);

  // Another application reads the seed-000 key and its "permissions" field.
  std::string raw = Cli({"GET", "perms:u1:t1"});
  EXPECT_NE(raw.find(R"("permissions":["assets:read","findings:read"])"), std::string::npos) << raw;
  EXPECT_EQ(Cli({"EXISTS", "perms:u1:t1"}), "1");

  StatusOr<std::optional<UserGrants>> miss = cache->Get("t1", "nobody");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  RemoteCacheStats s = cache->Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.puts, 1u);
  EXPECT_EQ(s.keys, 1u);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(cache->Health(), "up");
}

TEST_F(RedisCacheTest, PrefixAndVersionShapeKeysAndChannel) {
  RedisConfig config = Config();
  config.key_prefix = "app";
  config.cache_version = "v2";
  auto cache = Open(config);
  ASSERT_TRUE(cache);
  ASSERT_TRUE(cache->Put("t1", "u1", Grants(1)).ok());
  EXPECT_EQ(Cli({"EXISTS", "app:v2:perms:u1:t1"}), "1");
  EXPECT_EQ(Cli({"EXISTS", "perms:u1:t1"}), "0");
  EXPECT_EQ(cache->keys().Channel(), "app:permcache:invalidate");

  ASSERT_TRUE(cache->InvalidateAndPublish({5, {{"t1", "u1"}}, {}}).ok());
  EXPECT_EQ(Cli({"EXISTS", "app:v2:perms:u1:t1"}), "0");
  EXPECT_EQ(Cli({"GET", "app:v2:perms-inv:u1:t1"}), "5");

  // An unversioned node sharing the Redis does not see the versioned entries.
  auto plain = Open(Config());
  ASSERT_TRUE(plain);
  ASSERT_TRUE(cache->Put("t1", "u2", Grants(6)).ok());
  StatusOr<std::optional<UserGrants>> other = plain->Get("t1", "u2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_F(RedisCacheTest, TtlHasJitterAndInactiveMembershipGetsNegativeTtl) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  const int64_t ttl = 15 * 60 * 1000;
  std::set<int64_t> seen;
  for (int i = 0; i < 12; ++i) {
    std::string user = "u" + std::to_string(i);
    ASSERT_TRUE(cache->Put("t1", user, Grants(1)).ok());
    int64_t pttl = std::stoll(Cli({"PTTL", "perms:" + user + ":t1"}));
    EXPECT_GE(pttl, static_cast<int64_t>(ttl * 0.9) - 5000) << user;
    EXPECT_LE(pttl, static_cast<int64_t>(ttl * 1.1)) << user;
    seen.insert(pttl / 1000);
  }
  EXPECT_GT(seen.size(), 3u) << "TTL jitter should spread expiries";

  for (MembershipState m : {MembershipState::kSuspended, MembershipState::kNone}) {
    ASSERT_TRUE(cache->Put("t1", "inactive", Grants(10 - static_cast<uint64_t>(m), m)).ok());
    int64_t pttl = std::stoll(Cli({"PTTL", "perms:inactive:t1"}));
    EXPECT_GE(pttl, 54'000 - 5000);
    EXPECT_LE(pttl, 66'000);
  }
  StatusOr<std::optional<UserGrants>> got = cache->Get("t1", "inactive");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->membership, MembershipState::kNone);
  EXPECT_NE(Cli({"GET", "perms:inactive:t1"}).find(R"("permissions":[])"), std::string::npos);
}

TEST_F(RedisCacheTest, StaleFillAfterInvalidationIsRefused) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  ASSERT_TRUE(cache->Put("t", "u", Grants(4)).ok());
  ASSERT_TRUE(cache->InvalidateAndPublish({6, {{"t", "u"}}, {}}).ok());
  EXPECT_EQ(Cli({"EXISTS", "perms:u:t"}), "0");
  EXPECT_EQ(Cli({"GET", "perms-inv:u:t"}), "6");
  EXPECT_GE(std::stoll(Cli({"PTTL", "perms-inv:u:t"})), 15 * 60 * 1000);

  // A miss that read the store at r=5 before the invalidation at r=6 must not install.
  StatusOr<RedisCache::PutOutcome> stale = cache->TryPut("t", "u", Grants(5));
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_EQ(*stale, RedisCache::PutOutcome::kRefusedInvalidated);
  EXPECT_EQ(Cli({"EXISTS", "perms:u:t"}), "0");
  EXPECT_EQ(cache->Stats().puts_refused_stale, 1u);
  EXPECT_TRUE(cache->Put("t", "u", Grants(5)).ok()) << "a refusal is not an error";

  StatusOr<RedisCache::PutOutcome> fresh = cache->TryPut("t", "u", Grants(7));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, RedisCache::PutOutcome::kStored);
  StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->revision, 7u);

  // Tombstones only move forward: an older invalidation does not lower it.
  ASSERT_TRUE(cache->InvalidateAndPublish({3, {{"t", "u"}}, {}}).ok());
  EXPECT_EQ(Cli({"GET", "perms-inv:u:t"}), "6");
}

TEST_F(RedisCacheTest, PutNeverOverwritesANewerEntry) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  ASSERT_TRUE(cache->Put("t", "u", Grants(9)).ok());
  StatusOr<RedisCache::PutOutcome> older =
      cache->TryPut("t", "u", Grants(8, MembershipState::kSuspended));
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(*older, RedisCache::PutOutcome::kRefusedNewer);
  StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->revision, 9u);
  EXPECT_EQ((*got)->membership, MembershipState::kActive);
  // The same revision again is an idempotent refresh.
  StatusOr<RedisCache::PutOutcome> same = cache->TryPut("t", "u", Grants(9));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, RedisCache::PutOutcome::kStored);
}

TEST_F(RedisCacheTest, TenantInvalidationDeletesOnlyThatTenantAndBlocksOlderFills) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  for (const char* u : {"u1", "u2", "u3"}) ASSERT_TRUE(cache->Put("t1", u, Grants(2)).ok());
  ASSERT_TRUE(cache->Put("t2", "u1", Grants(2)).ok());
  ASSERT_TRUE(cache->Put("t10", "u1", Grants(2)).ok());  // "t1" must not match "t10"

  ASSERT_TRUE(cache->InvalidateAndPublish({10, {}, {"t1"}}).ok());
  EXPECT_EQ(CountKeys("perms:*:t1"), 0);
  EXPECT_EQ(Cli({"EXISTS", "perms:u1:t2"}), "1");
  EXPECT_EQ(Cli({"EXISTS", "perms:u1:t10"}), "1");
  EXPECT_EQ(Cli({"GET", "perms-inv-tenant:t1"}), "10");

  StatusOr<RedisCache::PutOutcome> stale = cache->TryPut("t1", "u2", Grants(9));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(*stale, RedisCache::PutOutcome::kRefusedInvalidated);
  StatusOr<RedisCache::PutOutcome> fresh = cache->TryPut("t1", "u2", Grants(10));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, RedisCache::PutOutcome::kStored);
}

// Records (DESIGN §7) live in the entries' keyspace under their changelog key, so every
// invalidation path reaches them; the password hash never reaches Redis.
TEST_F(RedisCacheTest, RecordsRoundTripAndAreFilledRaceFreeLikeEntries) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  ResourceRecord r{.exists = true, .type = "media", .owner = "maya",
                   .state = ResourceState::kRestricted, .version = 7,
                   .password_hash = "$argon2id$secret", .revision = 4};
  ASSERT_TRUE(cache->PutResource("t1", "film", r, milliseconds(60'000)).ok());
  const std::string raw = Cli({"GET", "perms:resource:film:t1"});
  EXPECT_EQ(raw.find("argon2"), std::string::npos) << raw;
  EXPECT_NE(raw.find(R"("revision":4)"), std::string::npos) << raw;
  const int64_t ttl = std::stoll(Cli({"PTTL", "perms:resource:film:t1"}));
  EXPECT_GT(ttl, 30'000);
  EXPECT_LE(ttl, 90'000);
  StatusOr<std::optional<ResourceRecord>> got = cache->GetResource("t1", "film");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_TRUE((*got)->exists);
  EXPECT_EQ((*got)->owner, "maya");
  EXPECT_EQ((*got)->state, ResourceState::kRestricted);
  EXPECT_EQ((*got)->version, 7u);
  EXPECT_EQ((*got)->password_hash, "");
  EXPECT_EQ((*got)->revision, 4u);

  UiElementRecord e{.exists = true, .active = true, .required_roles = {"doctor", "nurse"},
                    .required_permissions = {"pharmacy:view"}, .revision = 4};
  ASSERT_TRUE(cache->PutElement("t1", "menu", e, milliseconds(60'000)).ok());
  StatusOr<std::optional<UiElementRecord>> el = cache->GetElement("t1", "menu");
  ASSERT_TRUE(el.ok() && el->has_value());
  EXPECT_EQ((*el)->required_roles, e.required_roles);
  EXPECT_EQ((*el)->required_permissions, e.required_permissions);
  EXPECT_TRUE((*el)->active);

  // A change naming the record deletes it and refuses older fills.
  ASSERT_TRUE(cache->InvalidateAndPublish({6, {{"t1", "resource:film"}}, {}}).ok());
  EXPECT_EQ(Cli({"EXISTS", "perms:resource:film:t1"}), "0");
  r.revision = 5;
  ASSERT_TRUE(cache->PutResource("t1", "film", r, milliseconds(60'000)).ok());
  EXPECT_EQ(Cli({"EXISTS", "perms:resource:film:t1"}), "0") << "a fill read before r6 installed";
  r.revision = 6;
  ASSERT_TRUE(cache->PutResource("t1", "film", r, milliseconds(60'000)).ok());
  EXPECT_EQ(Cli({"EXISTS", "perms:resource:film:t1"}), "1");

  // A tenant-wide change reaches records by the same SCAN as entries.
  ASSERT_TRUE(cache->Put("t1", "u1", Grants(6)).ok());
  ASSERT_TRUE(cache->InvalidateAndPublish({8, {}, {"t1"}}).ok());
  EXPECT_EQ(CountKeys("perms:*:t1"), 0);
  StatusOr<std::optional<UiElementRecord>> gone = cache->GetElement("t1", "menu");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  // The admin record form (a record key in the user field) is accepted and deletes just it.
  ASSERT_TRUE(cache->PutElement("t1", "menu", {.exists = true, .revision = 9}, milliseconds(60'000)).ok());
  ASSERT_TRUE(cache->Put("t1", "u1", Grants(9)).ok());
  StatusOr<uint64_t> n = cache->AdminInvalidate({"t1", "element:menu", "", false});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(Cli({"EXISTS", "perms:element:menu:t1"}), "0");
  EXPECT_EQ(Cli({"EXISTS", "perms:u1:t1"}), "1");
  EXPECT_FALSE(cache->AdminInvalidate({"t1", "element:a:b", "", false}).ok());

  // Garbage under a record key is a miss, not an error.
  Cli({"SET", "perms:resource:junk:t1", "{not json"});
  StatusOr<std::optional<ResourceRecord>> junk = cache->GetResource("t1", "junk");
  ASSERT_TRUE(junk.ok());
  EXPECT_FALSE(junk->has_value());
}

TEST_F(RedisCacheTest, UnlockAttemptsAreCountedInOneSharedWindow) {
  auto a = Open(Config());
  auto b = Open(Config());
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 5; ++i) {
    RedisCache& node = i % 2 == 0 ? *a : *b;  // spread over two "nodes"
    StatusOr<int64_t> wait = node.BeginAttempt("1.2.3.4|m|vault", 5, 60'000);
    ASSERT_TRUE(wait.ok()) << wait.status().ToString();
    EXPECT_EQ(*wait, 0) << i;
  }
  StatusOr<int64_t> limited = b->BeginAttempt("1.2.3.4|m|vault", 5, 60'000);
  ASSERT_TRUE(limited.ok());
  EXPECT_GT(*limited, 0);
  EXPECT_LE(*limited, 60'000);
  EXPECT_EQ(Cli({"GET", "unlock-attempts:1.2.3.4|m|vault"}), "5") << "a refusal counts nothing";
  // Another client or resource has its own window; a success uncounts its attempt.
  StatusOr<int64_t> other = a->BeginAttempt("1.2.3.5|m|vault", 5, 60'000);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 0);
  ASSERT_TRUE(a->AttemptSucceeded("1.2.3.5|m|vault").ok());
  EXPECT_EQ(Cli({"GET", "unlock-attempts:1.2.3.5|m|vault"}), "0");
  ASSERT_TRUE(a->AttemptSucceeded("1.2.3.5|m|vault").ok());
  EXPECT_EQ(Cli({"GET", "unlock-attempts:1.2.3.5|m|vault"}), "0") << "never below zero";
  // The window ends: attempts are allowed again. (1 s: two commands fit in it even on a
  // loaded machine.)
  StatusOr<int64_t> short_window = a->BeginAttempt("9.9.9.9|m|vault", 1, 1000);
  ASSERT_TRUE(short_window.ok());
  EXPECT_EQ(*short_window, 0);
  StatusOr<int64_t> blocked = a->BeginAttempt("9.9.9.9|m|vault", 1, 1000);
  ASSERT_TRUE(blocked.ok());
  EXPECT_GT(*blocked, 0);
  std::this_thread::sleep_for(milliseconds(*blocked + 50));
  StatusOr<int64_t> again = a->BeginAttempt("9.9.9.9|m|vault", 1, 1000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

TEST_F(RedisCacheTest, PatternInvalidationScansAndDeletesOnlyMatchingKeys) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  std::vector<RedisCache::PutItem> items;
  for (int i = 0; i < 1000; ++i) items.push_back({"a", "u" + std::to_string(i), Grants(1)});
  for (int i = 0; i < 200; ++i) items.push_back({"b", "u" + std::to_string(i), Grants(1)});
  StatusOr<std::vector<RedisCache::PutOutcome>> put = cache->MultiPut(items);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(put->size(), 1200u);
  Cli({"SET", "other:app:key", "keep"});
  ASSERT_EQ(CountKeys("perms:*"), 1200);

  StatusOr<uint64_t> b = cache->AdminInvalidate({.pattern = "perms:*:b"});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, 200u);
  // u1, u10-u19, u100-u199 of tenant a.
  StatusOr<uint64_t> u1 = cache->AdminInvalidate({.pattern = "perms:u1*:a"});
  ASSERT_TRUE(u1.ok()) << u1.status().ToString();
  EXPECT_EQ(*u1, 111u);
  EXPECT_EQ(CountKeys("perms:*:a"), 1000 - 111);
  EXPECT_EQ(CountKeys("perms:*:b"), 0);
  EXPECT_EQ(Cli({"GET", "other:app:key"}), "keep");

  StatusOr<uint64_t> bad = cache->AdminInvalidate({.pattern = "*"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->AdminInvalidate({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->AdminInvalidate({.tenant = "a", .all = true}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cache->AdminInvalidate({.tenant = "a*"}).status().code(), StatusCode::kInvalidArgument);

  StatusOr<uint64_t> all = cache->AdminInvalidate({.all = true});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 889u);
  EXPECT_EQ(CountKeys("perms:*"), 0);
  EXPECT_EQ(Cli({"GET", "other:app:key"}), "keep");
  EXPECT_EQ(Cli({"GET", "perms-inv-all"}), "1");  // the highest revision this node has seen
}

TEST_F(RedisCacheTest, AdminInvalidationOfOneUserAcrossTenants) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  for (const char* t : {"t1", "t2", "t3"}) ASSERT_TRUE(cache->Put(t, "alice", Grants(4)).ok());
  ASSERT_TRUE(cache->Put("t1", "bob", Grants(4)).ok());
  StatusOr<uint64_t> n = cache->AdminInvalidate({.user = "alice"});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(CountKeys("perms:alice:*"), 0);
  EXPECT_EQ(Cli({"GET", "perms-inv:alice:t2"}), "4");
  StatusOr<uint64_t> one = cache->AdminInvalidate({.tenant = "t1", .user = "bob"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1u);
  EXPECT_EQ(CountKeys("perms:*"), 0);
}

TEST_F(RedisCacheTest, BatchGetAndPutUseOneRoundTripPerChunk) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  std::vector<RedisCache::PutItem> items;
  std::vector<std::pair<std::string, std::string>> keys;
  for (int i = 0; i < 1100; ++i) {
    items.push_back({"t", "u" + std::to_string(i), Grants(static_cast<uint64_t>(i + 1))});
    keys.emplace_back("t", "u" + std::to_string(i));
  }
  keys.emplace_back("t", "missing");
  ASSERT_TRUE(cache->InvalidateAndPublish({500, {{"t", "u0"}}, {}}).ok());  // u0 at r=1 is stale
  StatusOr<std::vector<RedisCache::PutOutcome>> put = cache->MultiPut(items);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ((*put)[0], RedisCache::PutOutcome::kRefusedInvalidated);
  EXPECT_EQ((*put)[1], RedisCache::PutOutcome::kStored);
  StatusOr<std::vector<std::optional<UserGrants>>> got = cache->MultiGet(keys);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1101u);
  EXPECT_FALSE((*got)[0].has_value());
  for (int i = 1; i < 1100; ++i) {
    ASSERT_TRUE((*got)[i].has_value()) << i;
    EXPECT_EQ((*got)[i]->revision, static_cast<uint64_t>(i + 1));
  }
  EXPECT_FALSE((*got)[1100].has_value());
}

TEST_F(RedisCacheTest, ScriptCacheLossFallsBackToEval) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  ASSERT_TRUE(cache->Put("t", "u", Grants(1)).ok());
  Cli({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(cache->Put("t", "u", Grants(2)).ok());
  Cli({"SCRIPT", "FLUSH"});
  std::vector<RedisCache::PutItem> items = {{"t", "a", Grants(1)}, {"t", "b", Grants(1)}};
  StatusOr<std::vector<RedisCache::PutOutcome>> put = cache->MultiPut(items);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(CountKeys("perms:*"), 3);
  Cli({"SCRIPT", "FLUSH"});
  EXPECT_TRUE(cache->InvalidateAndPublish({3, {{"t", "u"}}, {"t"}}).ok());
  EXPECT_EQ(CountKeys("perms:*"), 0);
}

TEST_F(RedisCacheTest, ValueWrittenByAnotherAppIsAMissAndGetsOverwritten) {
  auto cache = Open(Config());
  ASSERT_TRUE(cache);
  Cli({"SET", "perms:u:t", R"({"permissions":["assets:read"]})"});
  StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  StatusOr<RedisCache::PutOutcome> put = cache->TryPut("t", "u", Grants(1));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*put, RedisCache::PutOutcome::kStored);
}

TEST_F(RedisCacheTest, BusDeliversChangesAndAdminInvalidationsToOtherInstances) {
  Events events_a, events_b;
  auto a = Open(Config());
  auto b = Open(Config());
  ASSERT_TRUE(a && b);
  events_a.StartBus(*a);
  events_b.StartBus(*b);
  ASSERT_TRUE(events_a.WaitBus(true));
  ASSERT_TRUE(events_b.WaitBus(true));
  EXPECT_TRUE(b->Stats().bus_connected);

  ChangeSet change{42, {{"t1", "u1"}, {"t2", "u9"}}, {"t3"}};
  ASSERT_TRUE(a->InvalidateAndPublish(change).ok());
  ASSERT_TRUE(events_b.WaitChanges(1));
  ChangeSet got = events_b.changes().front();
  EXPECT_EQ(got.revision, 42u);
  EXPECT_EQ(got.users, change.users);
  EXPECT_EQ(got.tenants, change.tenants);
  ASSERT_TRUE(events_a.WaitChanges(1)) << "the publisher hears itself too";

  // Garbage on the channel is logged and skipped; the next message still arrives.
  Cli({"PUBLISH", "permcache:invalidate", "not json"});
  Cli({"PUBLISH", "permcache:invalidate", R"({"revision":"x"})"});
  ASSERT_TRUE(a->AdminInvalidate({.tenant = "t1"}).ok());
  ASSERT_TRUE(events_b.WaitAdmins(1));
  EXPECT_EQ(events_b.admins().front().tenant, "t1");
  EXPECT_EQ(events_b.changes().size(), 1u);
  EXPECT_EQ(b->Stats().bus_messages_received, 4u);
}

TEST_F(RedisCacheTest, WrongPasswordFailsAtOpenWithAClearMessage) {
  auto secured = StartServer({.password = "right-pw"});
  ASSERT_TRUE(secured);

  RedisConfig wrong = Config(*secured);
  wrong.password = "wrong-pw";
  StatusOr<std::unique_ptr<RedisCache>> w = RedisCache::Open(wrong);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnauthorized);
  EXPECT_NE(w.status().message().find("redis AUTH failed: WRONGPASS"), std::string::npos)
      << w.status().message();
  EXPECT_EQ(w.status().message().find("wrong-pw"), std::string::npos) << "never log the password";

  RedisConfig none = Config(*secured);
  none.password.clear();
  StatusOr<std::unique_ptr<RedisCache>> n = RedisCache::Open(none);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kUnauthorized);
  EXPECT_NE(n.status().message().find("NOAUTH"), std::string::npos) << n.status().message();

  auto ok = Open(Config(*secured));
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->Put("t", "u", Grants(1)).ok());
  StatusOr<std::optional<UserGrants>> got = ok->Get("t", "u");
  ASSERT_TRUE(got.ok() && got->has_value());
  Events events;
  events.StartBus(*ok);
  EXPECT_TRUE(events.WaitBus(true)) << "the subscriber authenticates too";
}

TEST_F(RedisCacheTest, ConnectsOverUnixSocketAndSelectsDb) {
  auto server = StartServer({.unix_socket = true});
  ASSERT_TRUE(server);
  StatusOr<RedisConfig> config =
      RedisConfigFromUrlOrEnv("unix://" + server->unix_socket_path() + "?db=2");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto cache = Open(*config);
  ASSERT_TRUE(cache);
  ASSERT_TRUE(cache->Put("t", "u", Grants(1)).ok());
  StatusOr<std::string> in_db2 = server->Cli({"-n", "2", "EXISTS", "perms:u:t"});
  ASSERT_TRUE(in_db2.ok());
  EXPECT_EQ(*in_db2, "1");
  StatusOr<std::string> in_db0 = server->Cli({"EXISTS", "perms:u:t"});
  EXPECT_EQ(*in_db0, "0");
}

TEST_F(RedisCacheTest, UnreachableServerIsAStartupErrorUnlessLazy) {
  uint16_t port = server_->port();
  ASSERT_TRUE(server_->Kill9().ok());
  RedisConfig config = Config();
  auto start = SteadyClock::now();
  StatusOr<std::unique_ptr<RedisCache>> strict = RedisCache::Open(config);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(strict.status().message().find(std::to_string(port)), std::string::npos);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(2));

  Events events;
  config.require_connection_at_open = false;
  config.on_connection_state = [&events](bool up) { events.Conn(up); };
  auto lazy = Open(config);
  ASSERT_TRUE(lazy);
  EXPECT_EQ(lazy->Health(), "down");
  EXPECT_EQ(lazy->Get("t", "u").status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events.WaitConn(true));
  EXPECT_EQ(lazy->Health(), "up");
  EXPECT_TRUE(lazy->Put("t", "u", Grants(1)).ok());
}

TEST_F(RedisCacheTest, SurvivesSigkillAndRecoversOnRestart) {
  Events events;
  auto cache = OpenWatched(events);
  ASSERT_TRUE(cache);

  ASSERT_TRUE(server_->Kill9().ok());
  for (int i = 0; i < 3; ++i) {  // every call fails fast, never hangs
    auto start = SteadyClock::now();
    StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
    auto took = SteadyClock::now() - start;
    EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
    EXPECT_LT(took, milliseconds(500)) << "call " << i;
  }
  EXPECT_EQ(cache->Put("t", "u", Grants(2)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache->InvalidateAndPublish({3, {{"t", "u"}}, {}}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache->AdminInvalidate({.all = true}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache->Health(), "down");
  ASSERT_TRUE(events.WaitConn(false));
  ASSERT_TRUE(events.WaitBus(false));
  RemoteCacheStats down = cache->Stats();
  EXPECT_FALSE(down.connected);
  EXPECT_GE(down.errors, 4u);

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(events.WaitConn(true)) << "reconnects by itself";
  ASSERT_TRUE(events.WaitBus(true)) << "resubscribes by itself";
  EXPECT_EQ(cache->Health(), "up");
  ASSERT_TRUE(cache->Put("t", "u", Grants(4)).ok());
  StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->revision, 4u);
  RemoteCacheStats up = cache->Stats();
  EXPECT_TRUE(up.connected);
  EXPECT_TRUE(up.bus_connected);
}

TEST_F(RedisCacheTest, FrozenServerCostsAtMostOneCommandTimeout) {
  Events events;
  auto cache = OpenWatched(events);
  ASSERT_TRUE(cache);

  ASSERT_TRUE(server_->Pause().ok());
  auto start = SteadyClock::now();
  StatusOr<std::optional<UserGrants>> got = cache->Get("t", "u");
  auto took = SteadyClock::now() - start;
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("timed out"), std::string::npos) << got.status().message();
  EXPECT_GE(took, milliseconds(90));
  EXPECT_LT(took, milliseconds(400));
  start = SteadyClock::now();
  EXPECT_EQ(cache->Get("t", "u").status().code(), StatusCode::kUnavailable);
  EXPECT_LT(SteadyClock::now() - start, milliseconds(50)) << "down: fail fast";
  EXPECT_EQ(cache->Health(), "down");
  ASSERT_TRUE(events.WaitBus(false)) << "the bus notices through its PING";

  ASSERT_TRUE(server_->Resume().ok());
  ASSERT_TRUE(events.WaitConn(true));
  ASSERT_TRUE(events.WaitBus(true));
  StatusOr<std::optional<UserGrants>> again = cache->Get("t", "u");
  ASSERT_TRUE(again.ok() && again->has_value());
}

TEST_F(RedisCacheTest, ConcurrentCallersShareThePool) {
  RedisConfig config = Config();
  config.pool_size = 2;  // fewer idle slots than threads: exercises connect-on-demand
  config.command_timeout = milliseconds(1000);  // sanitizer builds on a shared machine are slow
  auto cache = Open(config);
  ASSERT_TRUE(cache);
  Events events;
  events.StartBus(*cache);
  ASSERT_TRUE(events.WaitBus(true));
  std::vector<std::thread> threads;
  // Seq-cst default: read once after join(), which already orders it; cost is irrelevant here.
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string user = "u" + std::to_string(i % 10);
        if (!cache->Put("t" + std::to_string(t), user, Grants(static_cast<uint64_t>(i))).ok())
          ++failures;
        if (!cache->Get("t" + std::to_string(t), user).ok()) ++failures;
        if (i % 25 == 0 &&
            !cache->InvalidateAndPublish({static_cast<uint64_t>(i), {{"t0", user}}, {}}).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(events.WaitChanges(16));
  EXPECT_EQ(cache->Stats().errors, 0u);
}

}  // namespace
}  // namespace permcache::redis
