// Server lifecycle end to end: clean SIGTERM exit, refusing unsafe listen addresses, bad flags,
// persistence across restarts.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "e2e/e2e_util.h"
#include "support/permcache_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace permcache::e2e {
namespace {

using testing::PermcacheServer;
using testing::PermcacheServerOptions;
using testing::RunPermcache;

TEST(LifecycleTest, SigtermStopsCleanlyWithExitCode0) {
  auto server = PermcacheServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = (*server)->NewClient();
  ASSERT_EQ(http->Get("/healthz")->status, 200);
  EXPECT_EQ((*server)->Stop(std::chrono::seconds(10)), 0) << (*server)->Logs();
}

TEST(LifecycleTest, SigtermWithAnOpenKeepAliveConnectionStillExits) {
  auto server = PermcacheServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = (*server)->NewClient();
  ASSERT_EQ(http->Get("/healthz")->status, 200);  // connection stays open
  EXPECT_EQ((*server)->Stop(std::chrono::seconds(10)), 0) << (*server)->Logs();
}

TEST(LifecycleTest, RefusesNonLoopbackListenWithoutToken) {
  testing::TempDir dir;
  auto r = RunPermcache({"serve", "--store", "sqlite:" + dir.File("x.db"), "--listen", "0.0.0.0:0"},
                        {}, {}, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("token"), std::string::npos) << "the message says why: " << r.err;
}

TEST(LifecycleTest, NonLoopbackListenWithTokenStarts) {
  PermcacheServerOptions options;
  options.listen = "0.0.0.0:0";
  options.admin_token = "tok";
  auto server = PermcacheServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LifecycleTest, BadServeFlagsExit2) {
  testing::TempDir dir;
  const std::string store = "sqlite:" + dir.File("x.db");
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"--cache-ttl", "5x"},
                                                {"--cache-max-bytes", "12parsecs"},
                                                {"--consistency-timeout", "soon"},
                                                {"--threads", "-1"},
                                                {"--log-level", "loud"},
                                                {"--listen", "not-an-address"},
                                                {"--no-such-flag"}}) {
    std::vector<std::string> args = {"serve", "--store", store, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunPermcache(args, {}, {}, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code, 2) << extra[0] << ": " << r.out << r.err;
  }
  auto bad_store = RunPermcache({"serve", "--store", "mongodb://x", "--listen", "127.0.0.1:0"}, {},
                                {}, std::chrono::seconds(10));
  EXPECT_EQ(bad_store.exit_code, 2) << bad_store.out << bad_store.err;
}

TEST(LifecycleTest, StatePersistsAcrossRestart) {
  testing::TempDir dir;
  PermcacheServerOptions options;
  options.store_url = "sqlite:" + dir.File("persist.db");
  uint64_t rev = 0;
  {
    auto server = PermcacheServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto http = (*server)->NewClient();
    auto res = http->Post("/v1/write", "{\"ops\":[" + HospitalOps("hospital") + "]}");
    ASSERT_TRUE(res.ok());
    ASSERT_EQ(res->status, 200) << res->body;
    rev = ParseJson(res->body).at("revision").to_number<uint64_t>();
    ASSERT_EQ((*server)->Stop(), 0);
  }
  auto server = PermcacheServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = (*server)->NewClient();
  auto res = http->Get("/v1/check?tenant=hospital&user=greg&permission=ui:menu_pharmacy");
  ASSERT_TRUE(res.ok());
  const json::value v = ParseJson(res->body);
  EXPECT_EQ(v.at("allowed"), true) << res->body;
  EXPECT_GE(v.at("revision").to_number<uint64_t>(), rev);
}

TEST(LifecycleTest, DemoModelIsLoaded) {
  PermcacheServerOptions options;
  options.demo = true;
  auto server = PermcacheServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = (*server)->NewClient();
  // The demo hospital (seed 002): nurses do not see the pharmacy menu.
  auto res = http->Get("/v1/model?tenant=hospital");
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_FALSE(ParseJson(res->body).at("memberships").as_array().empty()) << res->body;
  auto check = http->Get("/v1/check?tenant=hospital&user=jane&permission=ui:menu_pharmacy");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(ParseJson(check->body).at("allowed"), false) << check->body;
}

}  // namespace
}  // namespace permcache::e2e
