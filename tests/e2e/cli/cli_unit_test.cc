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
    client::HttpResponse response;
    response.status = code;
    response.body = body;
    response.content_type = "application/json";
    return StatusFromResponse(response);
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

TEST(ParseDurationTest, FormatDurationRoundTrips) {
  EXPECT_EQ(FormatDuration(std::chrono::hours(4)), "4h");
  EXPECT_EQ(FormatDuration(std::chrono::minutes(5)), "5m");
  EXPECT_EQ(FormatDuration(std::chrono::seconds(60)), "1m");
  EXPECT_EQ(FormatDuration(milliseconds(5'400'250)), "1h30m250ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  for (auto d : {milliseconds(250), milliseconds(90'000), milliseconds(14'400'000)}) {
    EXPECT_EQ(*ParseDuration(FormatDuration(d)), d);
  }
}

TEST(ServeFlagsTest, ResourceFlags) {
  CliRun r = RunArgs({"serve"});
  ASSERT_TRUE(r.served) << r.err;
  const ResourceOptions defaults;
  EXPECT_EQ(r.served->checker.resources.record_ttl, defaults.record_ttl);
  EXPECT_EQ(r.served->checker.resources.restricted_record_ttl, defaults.restricted_record_ttl);
  EXPECT_EQ(r.served->checker.resources.token_ttl, defaults.token_ttl);

  r = RunArgs({"serve", "--resource-cache-ttl", "10m", "--restricted-resource-cache-ttl", "30s",
               "--resource-token-ttl", "1h30m"});
  ASSERT_TRUE(r.served) << r.err;
  EXPECT_EQ(r.served->checker.resources.record_ttl, std::chrono::minutes(10));
  EXPECT_EQ(r.served->checker.resources.restricted_record_ttl, std::chrono::seconds(30));
  EXPECT_EQ(r.served->checker.resources.token_ttl, std::chrono::minutes(90));

  for (const char* flag :
       {"--resource-cache-ttl", "--restricted-resource-cache-ttl", "--resource-token-ttl"}) {
    for (const char* bad : {"0", "0s", "5x", ""}) {
      r = RunArgs({"serve", flag, bad});
      EXPECT_EQ(r.code, 2) << flag << " " << bad;
      EXPECT_FALSE(r.served);
    }
  }
  // The help states the defaults, derived from ResourceOptions.
  CliRun help = RunArgs({"serve", "--help"});
  EXPECT_NE(help.out.find("default " + FormatDuration(defaults.token_ttl)), std::string::npos)
      << help.out;
}

TEST(ResourceCommandsTest, BadCombinationsAreUsageErrorsWithoutARequest) {
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"allowed":true,"revision":1})");
  const std::vector<std::vector<std::string>> bad = {
      {"check", "t", "u", "media:view", "--element", "e"},     // element takes no permission
      {"check", "t", "u", "--element", "e", "--resource", "r"},
      {"check", "t", "u", "--element", "e", "--unlock-token", "x"},
      {"check", "t", "u", "--element", "e", "--scope", "bu"},
      {"check", "t", "--anonymous", "--element", "e"},
      {"check", "t", "u"},                                      // no permission, no element
      {"check", "t", "u", "media:view", "--unlock-token", "x"},  // token without resource
      {"check", "t", "media:view", "--anonymous"},              // anonymous without resource
      {"check", "t", "u", "media:view", "--anonymous", "--resource", "r"},  // both
      {"check", "t", "u", "media:view", "--resource", "r", "--scope", "bu"},
      {"resources", "t", "--permission", "media:view"},         // neither --user nor --anonymous
      {"resources", "t", "--user", "u", "--anonymous", "--permission", "media:view"},
      {"resources", "t", "--user", "u"},                        // no permission
      {"resources", "t", "--user", "u", "--permission", "media:view", "--limit", "0"},
      {"resources", "t", "--user", "u", "--permission", "media:view", "--limit", "1001"},
      {"cache", "clear", "--resource", "r"},                    // no tenant
      {"cache", "clear", "--element", "e"},
      {"cache", "clear", "--tenant", "t", "--element", "e", "--user", "u"},
      {"cache", "clear", "--tenant", "t", "--element", "e", "--resource", "r"},
      {"cache", "clear", "--all", "--tenant", "t", "--resource", "r"},
      {"ui", "t"},
      {"unlock", "t"},
      {"unlock", "t", "r", "letmein"},                          // never a password in argv
      {"unlock", "t", "r", "--password", "letmein"},
  };
  for (std::vector<std::string> args : bad) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    args.insert(args.begin(), {"--server", fake.url()});
    CliRun r = RunArgs(args);
    EXPECT_EQ(r.code, 2) << joined;
    EXPECT_FALSE(r.err.empty()) << joined;
  }
  EXPECT_EQ(fake.requests(), 0u) << fake.last_request();
}

TEST(ResourceCommandsTest, ResourceAndElementChecks) {
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"allowed":true,"revision":5})");
  CliRun r = RunArgs({"--server", fake.url(), "check", "cinemata", "gus", "media:view",
                      "--resource", "diary"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "allowed (revision 5)\n");
  EXPECT_EQ(fake.last_request().rfind(
                "GET /v1/check?tenant=cinemata&user=gus&permission=media%3Aview&resource=diary "
                "HTTP/1.1",
                0),
            0u)
      << fake.last_request();

  fake.SetResponse(200, R"({"allowed":false,"revision":5})");
  r = RunArgs({"--server", fake.url(), "check", "cinemata", "media:view", "--anonymous",
               "--resource", "premiere", "--unlock-token", "v1.a+b.c", "--explain"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out, "denied (revision 5)\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/check?tenant=cinemata&permission=media%3Aview"
                                      "&resource=premiere&token=v1.a%2Bb.c&explain=1 ",
                                      0),
            0u)
      << fake.last_request();

  fake.SetResponse(200, R"({"allowed":true,"revision":6})");
  r = RunArgs({"--server", fake.url(), "check", "hospital", "phil", "--element", "menu_pharmacy",
               "--at-least-revision", "6"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake.last_request().rfind(
                "GET /v1/check?tenant=hospital&user=phil&element=menu_pharmacy"
                "&at_least_revision=6 ",
                0),
            0u)
      << fake.last_request();

  // A plain check keeps its POST form.
  r = RunArgs({"--server", fake.url(), "check", "hospital", "phil", "ui:menu_pharmacy"});
  EXPECT_EQ(fake.last_request().rfind("POST /v1/check ", 0), 0u) << fake.last_request();

  // --token after the subcommand stays the admin token (a header), never the unlock token.
  r = RunArgs({"--server", fake.url(), "check", "cinemata", "gus", "media:view", "--resource",
               "diary", "--token", "admin-secret"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(fake.last_request().find("Authorization: Bearer admin-secret"), std::string::npos);
  EXPECT_EQ(fake.last_request().find("token="), std::string::npos) << fake.last_request();
}

TEST(ResourceCommandsTest, Ui) {
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"elements":{"menu_pharmacy":true,"menu_legacy_billing":false},)"
                        R"("revision":3})");
  CliRun r = RunArgs({"--server", fake.url(), "ui", "hospital", "phil", "--elements",
                      "menu_pharmacy,menu_legacy_billing"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ELEMENT              SHOWN\n"
            "menu_pharmacy        true\n"
            "menu_legacy_billing  false\n"
            "revision 3\n");
  EXPECT_EQ(fake.last_request().rfind(
                "GET /v1/tenants/hospital/users/phil/ui"
                "?elements=menu_pharmacy,menu_legacy_billing ",
                0),
            0u)
      << fake.last_request();
  r = RunArgs({"--server", fake.url(), "ui", "hospital", "phil", "--json"});
  EXPECT_EQ(r.out, R"({"elements":{"menu_pharmacy":true,"menu_legacy_billing":false},"revision":3})"
                   "\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/tenants/hospital/users/phil/ui ", 0), 0u)
      << fake.last_request();
  fake.SetResponse(200, R"({"revision":3})");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "ui", "hospital", "phil"}).code, 4);
}

TEST(ResourceCommandsTest, ReadPasswordLine) {
  auto read = [](const std::string& text) {
    std::istringstream in(text);
    return ReadPasswordLine(in);
  };
  EXPECT_EQ(*read("letmein\n"), "letmein");
  EXPECT_EQ(*read("letmein"), "letmein");
  EXPECT_EQ(*read("let me in\r\nsecond line\n"), "let me in");
  EXPECT_EQ(*read(" spaces kept \n"), " spaces kept ");
  EXPECT_EQ(read("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read("\n").status().code(), StatusCode::kInvalidArgument);
}

TEST(ResourceCommandsTest, UnlockReadsStdin) {
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"token":"v1.payload.mac","expires_at":"2030-01-01T04:00:00Z"})");
  CliRun r = RunArgs({"--server", fake.url(), "unlock", "cinemata", "premiere"}, "letmein\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "token v1.payload.mac\nexpires_at 2030-01-01T04:00:00Z\n");
  const std::string req = fake.last_request();
  EXPECT_EQ(req.rfind("POST /v1/resources/unlock ", 0), 0u) << req;
  EXPECT_NE(req.find(R"({"tenant":"cinemata","resource":"premiere","password":"letmein"})"),
            std::string::npos)
      << req;

  // No password on stdin: usage error, nothing sent.
  const uint64_t before = fake.requests();
  r = RunArgs({"--server", fake.url(), "unlock", "cinemata", "premiere"}, "");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("stdin"), std::string::npos) << r.err;
  EXPECT_EQ(fake.requests(), before);

  // A wrong password is "no" (exit 1); the brute-force limit is exit 2. The password is never
  // echoed.
  fake.SetResponse(403, R"({"error":{"code":"permission_denied","message":"wrong password"}})");
  r = RunArgs({"--server", fake.url(), "unlock", "cinemata", "premiere"}, "guess\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find("guess"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("guess"), std::string::npos) << r.out;
  fake.SetResponse(429, R"({"error":{"code":"resource_exhausted","message":"retry in 900s"}})");
  r = RunArgs({"--server", fake.url(), "unlock", "cinemata", "premiere"}, "letmein\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("resource_exhausted"), std::string::npos) << r.err;
  fake.SetResponse(200, R"({"expires_at":1})");
  EXPECT_EQ(RunArgs({"--server", fake.url(), "unlock", "t", "r"}, "x\n").code, 4);
}

TEST(ResourceCommandsTest, Resources) {
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"resources":[)"
                        R"({"resource":"trailer","type":"media","state":"public","owner":"maya"},)"
                        R"({"resource":"diary","type":"media","state":"private"}],)"
                        R"("next_cursor":"abc"})");
  CliRun r = RunArgs({"--server", fake.url(), "resources", "cinemata", "--user", "gus",
                      "--permission", "media:view", "--limit", "2", "--cursor", "x/y"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "RESOURCE  TYPE   STATE    OWNER\n"
            "trailer   media  public   maya\n"
            "diary     media  private  -\n"
            "next_cursor abc\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/tenants/cinemata/resources?user=gus&permission="
                                      "media%3Aview&limit=2&cursor=x%2Fy ",
                                      0),
            0u)
      << fake.last_request();
  fake.SetResponse(200, R"({"resources":[],"next_cursor":""})");
  r = RunArgs({"--server", fake.url(), "resources", "cinemata", "--anonymous", "--permission",
               "media:view"});
  EXPECT_EQ(r.out, "no resources\n");
  EXPECT_EQ(fake.last_request().rfind("GET /v1/tenants/cinemata/resources?permission=media%3Aview ",
                                      0),
            0u)
      << fake.last_request();
}

TEST(ResourceCommandsTest, CacheClearRecordForms) {
  EXPECT_EQ(*CacheInvalidateBody({.tenant = "t", .resource = "r"}),
            R"({"tenant":"t","resource":"r"})");
  EXPECT_EQ(*CacheInvalidateBody({.user = "u", .tenant = "t", .resource = "r"}),
            R"({"tenant":"t","resource":"r","user":"u"})");
  EXPECT_EQ(*CacheInvalidateBody({.tenant = "t", .element = "e"}),
            R"({"tenant":"t","element":"e"})");
  FakeHttpServer fake;
  fake.SetResponse(200, R"({"invalidated":1})");
  CliRun r = RunArgs({"--server", fake.url(), "cache", "clear", "--tenant", "hospital",
                      "--element", "menu_pharmacy"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "invalidated 1\n");
  EXPECT_NE(fake.last_request().find(R"({"tenant":"hospital","element":"menu_pharmacy"})"),
            std::string::npos);
}

}  // namespace
}  // namespace permcache::cli
