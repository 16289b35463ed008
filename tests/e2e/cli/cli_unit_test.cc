// The CLI in-process: flag parsing into ServerConfig, value parsers, the exit-code mapping and
// the client commands against a fake server. No permcache server needed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <sstream>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/parse.h"
#include "support/fake_http_server.h"
#include "support/free_port.h"

namespace permcache::cli {
namespace {

using std::chrono::milliseconds;
using testing::FakeHttpServer;

struct CliRun {
  int code = -1;
  std::string out, err;
  std::optional<ServerConfig> served;
};

CliRun RunArgs(std::vector<std::string> args, const std::string& in_text = {}) {
  args.insert(args.begin(), "permcache");
  std::istringstream in(in_text);
  std::ostringstream out, err;
  CliRun r;
  r.code = RunCli(args, CliIo{&in, &out, &err}, [&r](const ServerConfig& c) {
    r.served = c;
    return 0;
  });
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("900s"), milliseconds(900'000));
  EXPECT_EQ(*ParseDuration("15m"), milliseconds(900'000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("30"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
  for (const char* bad : {"", "s", "5x", "1.5s", "-1s", "5 s", "99999999999999999999h", "10m5"}) {
    EXPECT_EQ(ParseDuration(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseByteSizeTest, Units) {
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("256MiB"), 256u << 20);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1ull << 30);
  EXPECT_EQ(*ParseByteSize("1gib"), 1ull << 30);
  EXPECT_EQ(*ParseByteSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseByteSize("10MB"), 10'000'000u);
  EXPECT_EQ(*ParseByteSize("7B"), 7u);
  for (const char* bad : {"", "MiB", "12parsecs", "-1", "1.5GiB", "99999999999TiB"}) {
    EXPECT_EQ(ParseByteSize(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ExitCodeTest, Mapping) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(InvalidArgumentError("x")), 2);
  EXPECT_EQ(ExitCodeFor(NotFoundError("x")), 2);
  EXPECT_EQ(ExitCodeFor(UnauthorizedError("x")), 2);
  EXPECT_EQ(ExitCodeFor(ConflictError("x")), 2);
  EXPECT_EQ(ExitCodeFor(UnavailableError("x")), 3);
  EXPECT_EQ(ExitCodeFor(InternalError("x")), 4);
}

TEST(ExitCodeTest, StatusFromResponse) {
  auto status_of = [](int code, const std::string& body) {
    return StatusFromResponse(client::HttpResponse{code, body, "application/json"});
  };
  EXPECT_TRUE(status_of(200, "{}").ok());
  Status s = status_of(400, R"({"error":{"code":"invalid_argument","message":"op 3: bad"}})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("op 3: bad"), std::string::npos) << s.message();
  EXPECT_EQ(status_of(401, R"({"error":{"code":"unauthorized","message":"m"}})").code(),
            StatusCode::kUnauthorized);
  EXPECT_EQ(status_of(404, "not json").code(), StatusCode::kNotFound);
  EXPECT_EQ(status_of(413, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ExitCodeFor(status_of(409, "")), 2);
  // Every 5xx is "the server answered 5xx" (exit 4), 503 included, never "unreachable".
  EXPECT_EQ(ExitCodeFor(status_of(503, R"({"error":{"code":"unavailable","message":"m"}})")), 4);
  EXPECT_EQ(ExitCodeFor(status_of(500, "<html>")), 4);
}

TEST(CommandsTest, CacheInvalidateBodyNeedsExactlyOneForm) {
  EXPECT_EQ(*CacheInvalidateBody({.all = true}), R"({"all":true})");
  EXPECT_EQ(*CacheInvalidateBody({.user = "u"}), R"({"user":"u"})");
  EXPECT_EQ(*CacheInvalidateBody({.user = "u", .tenant = "t"}), R"({"tenant":"t","user":"u"})");
  EXPECT_EQ(*CacheInvalidateBody({.tenant = "t"}), R"({"tenant":"t"})");
  EXPECT_EQ(*CacheInvalidateBody({.pattern = "perms:42:*"}), R"({"pattern":"perms:42:*"})");
  EXPECT_FALSE(CacheInvalidateBody({}).ok());
  EXPECT_FALSE(CacheInvalidateBody({.all = true, .user = "u"}).ok());
  EXPECT_FALSE(CacheInvalidateBody({.tenant = "t", .pattern = "p"}).ok());
}

TEST(CommandsTest, WriteBodyFromInput) {
  EXPECT_EQ(*WriteBodyFromInput(R"([{"op":"put_tenant","tenant":"t"}])", "f"),
            R"({"ops":[{"op":"put_tenant","tenant":"t"}]})");
  EXPECT_EQ(*WriteBodyFromInput(R"({"ops":[]})", "f"), R"({"ops":[]})");
  EXPECT_EQ(WriteBodyFromInput("{", "f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteBodyFromInput("{}", "f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteBodyFromInput("7", "f").status().code(), StatusCode::kInvalidArgument);
}

TEST(ServeFlagsTest, Defaults) {
  unsetenv("PERMCACHE_ADMIN_TOKEN");
  CliRun r = RunArgs({"serve"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(r.served);
  const ServerConfig defaults;
  EXPECT_EQ(r.served->checker.store_url, "sqlite:permcache.db");
  EXPECT_EQ(r.served->listen, defaults.listen);  // the documented 127.0.0.1 default
  EXPECT_EQ(r.served->admin_token, "");
  EXPECT_EQ(r.served->checker.cache.ttl, defaults.checker.cache.ttl);
  EXPECT_EQ(r.served->checker.cache.max_entries, defaults.checker.cache.max_entries);
  EXPECT_EQ(r.served->checker.cache.max_bytes, defaults.checker.cache.max_bytes);
  EXPECT_EQ(r.served->checker.consistency_timeout, defaults.checker.consistency_timeout);
  EXPECT_EQ(r.served->threads, 0);
  EXPECT_FALSE(r.served->demo);
  EXPECT_EQ(r.served->redis_url, "");
  EXPECT_EQ(r.served->log_level, "info");
}

TEST(ServeFlagsTest, EveryFlag) {
  CliRun r = RunArgs({"serve",
                      "--store",
                      "sqlite:/tmp/x.db",
                      "--listen",
                      "0.0.0.0:9000",
                      "--admin-token",
                      "tok",
                      "--cache-ttl",
                      "1h",
                      "--cache-max-entries",
                      "5000",
                      "--cache-max-bytes",
                      "1GiB",
                      "--threads",
                      "3",
                      "--demo",
                      "--consistency-timeout",
                      "250ms",
                      "--log-level",
                      "debug",
                      "--redis",
                      "redis://127.0.0.1:16379/2"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(r.served);
  EXPECT_EQ(r.served->checker.store_url, "sqlite:/tmp/x.db");
  EXPECT_EQ(r.served->listen, "0.0.0.0:9000");
  EXPECT_EQ(r.served->admin_token, "tok");
  EXPECT_EQ(r.served->checker.cache.ttl, std::chrono::hours(1));
  EXPECT_EQ(r.served->checker.cache.max_entries, 5000u);
  EXPECT_EQ(r.served->checker.cache.max_bytes, size_t{1} << 30);
  EXPECT_EQ(r.served->threads, 3);
  EXPECT_TRUE(r.served->demo);
  EXPECT_EQ(r.served->checker.consistency_timeout, milliseconds(250));
  EXPECT_EQ(r.served->log_level, "debug");
  EXPECT_EQ(r.served->redis_url, "redis://127.0.0.1:16379/2");  // parsed only, never dialed
}

TEST(ServeFlagsTest, TokenFromEnvironment) {
  setenv("PERMCACHE_ADMIN_TOKEN", "from-env", 1);
  CliRun r = RunArgs({"serve"});
  unsetenv("PERMCACHE_ADMIN_TOKEN");
  ASSERT_TRUE(r.served);
  EXPECT_EQ(r.served->admin_token, "from-env");
}

TEST(ServeFlagsTest, BadValuesAreUsageErrors) {
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"--cache-ttl", "5x"},
                                              {"--cache-max-bytes", "lots"},
                                              {"--threads", "-2"},
                                              {"--threads", "many"},
                                              {"--log-level", "loud"},
                                              {"--consistency-timeout", ""},
                                              {"--cache-max-entries", "-5"},
                                              {"--bogus"}}) {
    std::vector<std::string> args = {"serve"};
    args.insert(args.end(), bad.begin(), bad.end());
    CliRun r = RunArgs(args);
    EXPECT_EQ(r.code, 2) << bad[0] << " " << (bad.size() > 1 ? bad[1] : "");
    EXPECT_FALSE(r.served);
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(ServeFlagsTest, ServeExitCodeIsPassedThrough) {
  std::vector<std::string> args = {"permcache", "serve"};
  std::istringstream in;
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(args, CliIo{&in, &out, &err}, [](const ServerConfig&) { return 2; }), 2);
}

TEST(ClientCommandsTest, UsageErrors) {
  EXPECT_EQ(RunArgs({}).code, 2);
  EXPECT_EQ(RunArgs({"nope"}).code, 2);
  EXPECT_EQ(RunArgs({"check", "t", "u"}).code, 2);
  EXPECT_EQ(RunArgs({"cache"}).code, 2);
  EXPECT_EQ(RunArgs({"cache", "clear"}).code, 2);
  EXPECT_EQ(RunArgs({"check", "t", "u", "a:b", "--at-least-revision", "x"}).code, 2);
  EXPECT_EQ(RunArgs({"--server", "https://x", "health"}).code, 2);
  CliRun help = RunArgs({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("check"), std::string::npos);
}

TEST(ClientCommandsTest, CheckAgainstFakeServer) {
  FakeHttpServer fake;
  ASSERT_NE(fake.port(), 0);
  fake.SetResponse(200, R"({"allowed":true,"revision":42,"reason":{"kind":"policy",)"
                        R"("policy":"p1","role_path":"senior_nurse>nurse","business_unit":""}})");
  CliRun r = RunArgs({"--server", fake.url(), "--token", "tk", "check", "t", "u", "a:b", "--scope",
                      "bu1", "--at-least-revision", "7", "--explain"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "allowed (revision 42)\n  kind: policy\n  policy: p1\n  role_path: senior_nurse>nurse\n");
  const std::string req = fake.last_request();
  EXPECT_EQ(req.rfind("POST /v1/check HTTP/1.1", 0), 0u) << req;
  EXPECT_NE(req.find("Authorization: Bearer tk"), std::string::npos) << req;
  EXPECT_NE(req.find(R"("scope":"bu1")"), std::string::npos) << req;
  EXPECT_NE(req.find(R"("at_least_revision":7)"), std::string::npos) << req;
  EXPECT_NE(req.find(R"("explain":true)"), std::string::npos) << req;

  fake.SetResponse(200, R"({"allowed":false,"revision":43})");
  r = RunArgs({"check", "t", "u", "a:b", "--server", fake.url()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "denied (revision 43)\n");
  r = RunArgs({"check", "t", "u", "a:b", "--server", fake.url(), "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "{\"allowed\":false,\"revision\":43}\n");

  fake.SetResponse(200, R"({"revision":43})");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "check", "t", "u", "a:b"}).code, 4)
      << "an answer without \"allowed\" is a server error";
  fake.SetResponse(200, "not json");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "check", "t", "u", "a:b"}).code, 4);
}

TEST(ClientCommandsTest, ErrorAnswersMapToExitCodes) {
  FakeHttpServer fake;
  fake.SetResponse(400,
                   R"({"error":{"code":"invalid_argument","message":"op 3: missing policy"}})");
  CliRun r = RunArgs({"--server", fake.url(), "write", "-"}, "[]");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("op 3: missing policy"), std::string::npos) << r.err;
  fake.SetResponse(401, R"({"error":{"code":"unauthorized","message":"token required"}})");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "export"}).code, 2);
  fake.SetResponse(500, R"({"error":{"code":"internal","message":"boom"}})");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "cache", "stats"}).code, 4);
  fake.SetResponse(503, R"({"status":"not_ready","store":"down","redis":"disabled"})");
  r = RunArgs({"--server", fake.url(), "health"});
  EXPECT_EQ(r.code, 4);
  EXPECT_EQ(r.out, "not ready (HTTP 503)\n  store: down\n  redis: disabled\n");
  const uint16_t port = testing::FreeLoopbackPort();
  EXPECT_EQ(RunArgs({"--server", "http://127.0.0.1:" + std::to_string(port), "health"}).code, 3);
  fake.SetMode(FakeHttpServer::Mode::kHang);
  EXPECT_EQ(RunArgs({"--server", fake.url(), "--timeout", "200ms", "health"}).code, 3);
}

TEST(ClientCommandsTest, HumanOutputs) {
  FakeHttpServer fake;
  fake.SetResponse(200,
                   R"({"permissions":["a:read","b:*"],"denied":["a:delete"],)"
                   R"("scoped":{"icu":{"permissions":["beds:assign"],"denied":[]}},"revision":9})");
  CliRun r = RunArgs({"--server", fake.url(), "perms", "t1", "u 1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "EFFECT  PATTERN      SCOPE\n"
            "allow   a:read       -\n"
            "allow   b:*          -\n"
            "deny    a:delete     -\n"
            "allow   beds:assign  icu\n"
            "revision 9\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/tenants/t1/users/u%201/permissions ", 0), 0u)
      << fake.last_request();

  fake.SetResponse(200, R"({"active":false,"status":"suspended"})");
  r = RunArgs({"--server", fake.url(), "membership", "t", "u"});
  EXPECT_EQ(r.out, "not active (status suspended)\n");

  fake.SetResponse(200, R"({"entries":3,"hits":10,"misses":5,"hit_rate":0.6666666})");
  r = RunArgs({"--server", fake.url(), "cache", "stats"});
  EXPECT_EQ(r.out, "entries   3\nhits      10\nmisses    5\nhit_rate  0.6667\n");

  fake.SetResponse(200, R"({"invalidated":17})");
  r = RunArgs({"--server", fake.url(), "cache", "clear", "--user", "42", "--tenant", "t"});
  EXPECT_EQ(r.out, "invalidated 17\n");
  EXPECT_NE(fake.last_request().find(R"({"tenant":"t","user":"42"})"), std::string::npos);

  fake.SetResponse(200, R"({"tenants":[{"tenant":"t"}],"roles":[]})");
  r = RunArgs({"--server", fake.url(), "export", "--tenant", "t"});
  EXPECT_EQ(
      r.out,
      "{\n  \"tenants\": [\n    {\n      \"tenant\": \"t\"\n    }\n  ],\n  \"roles\": []\n}\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/model?tenant=t ", 0), 0u);

  fake.SetResponse(200, R"({"revision":44})");
  r = RunArgs({"--server", fake.url(), "import", "-"}, R"({"tenants":[]})");
  EXPECT_EQ(r.out, "revision 44\n");
  EXPECT_EQ(fake.last_request().rfind("POST /v1/model ", 0), 0u);
}

}  // namespace
}  // namespace permcache::cli
