// The `permcache` CLI end to end: every client subcommand against a running server, with its
// output and exit code (0 ok/allowed, 1 denied, 2 usage or 4xx, 3 unreachable, 4 5xx).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "e2e/e2e_util.h"
#include "support/fake_http_server.h"
#include "support/free_port.h"
#include "support/permcache_server.h"
#include "support/temp_dir.h"

namespace permcache::e2e {
namespace {

using testing::CliResult;

class CliTest : public ServerTest {
 protected:
  // Runs the CLI against the suite's server with the admin token.
  CliResult Cli(std::vector<std::string> args, const std::string& stdin_text = {}) {
    args.insert(args.begin(), {"--server", server().url(), "--token", kToken});
    return testing::RunPermcache(args, {}, stdin_text);
  }
  // Without a token.
  CliResult CliAnon(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", server().url()});
    return testing::RunPermcache(args);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = files_.File(name);
    std::ofstream(path) << text;
    return path;
  }
  testing::TempDir files_;
};

std::string Dump(const CliResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n[stdout]\n" + r.out + "[stderr]\n" + r.err;
}

TEST_F(CliTest, CheckAllowedDeniedExplainJson) {
  const std::string t = TenantFor();
  const uint64_t rev = Write(HospitalOps(t));
  CliResult r = Cli({"check", t, "greg", "ui:menu_pharmacy"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out.rfind("allowed (revision ", 0), 0u) << Dump(r);

  r = Cli({"check", t, "jane", "ui:menu_pharmacy"});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  EXPECT_EQ(r.out.rfind("denied (revision ", 0), 0u) << Dump(r);

  Write(Op("put_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "pharmacy"}}));
  r = Cli({"check", t, "sam", "ui:menu_pharmacy", "--explain"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_NE(r.out.find("policy: pharmacy"), std::string::npos) << Dump(r);
  EXPECT_NE(r.out.find("role_path: senior_nurse>nurse"), std::string::npos) << Dump(r);

  r = Cli({"check", t, "jane", "ui:menu_admin", "--json"});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  const json::value v = ParseJson(r.out);
  EXPECT_EQ(v.at("allowed"), false) << Dump(r);

  r = Cli({"check", t, "greg", "ui:menu_pharmacy", "--at-least-revision", std::to_string(rev)});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);

  r = Cli({"--json", "check", t, "greg", "ui:menu_pharmacy", "--scope", "icu"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(ParseJson(r.out).at("allowed"), true);
}

TEST_F(CliTest, CheckWorksWithoutTokenAndBadInputIsExit2) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  CliResult r = CliAnon({"check", t, "greg", "ui:menu_pharmacy"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  r = CliAnon({"check", t, "greg", "ui:*"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << Dump(r);
  r = CliAnon({"check", t, "greg"});
  EXPECT_EQ(r.exit_code, 2) << "missing positional: " << Dump(r);
}

TEST_F(CliTest, PermsAndMembership) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  CliResult r = Cli({"perms", t, "greg"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_NE(r.out.find("EFFECT"), std::string::npos) << Dump(r);
  EXPECT_NE(r.out.find("ui:menu_pharmacy"), std::string::npos) << Dump(r);
  EXPECT_NE(r.out.find("allow"), std::string::npos) << Dump(r);
  r = Cli({"perms", t, "greg", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_TRUE(ParseJson(r.out).as_object().contains("permissions")) << Dump(r);

  r = Cli({"membership", t, "jane"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out, "active (status active)\n") << Dump(r);
  r = Cli({"membership", t, "jane", "--json"});
  EXPECT_EQ(ParseJson(r.out).at("status"), "active") << Dump(r);
}

TEST_F(CliTest, WriteFromFileAndStdin) {
  const std::string t = TenantFor();
  const std::string file = WriteFile("ops.json", "{\"ops\":[" + HospitalOps(t) + "]}");
  CliResult r = Cli({"write", file});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out.rfind("revision ", 0), 0u) << Dump(r);
  EXPECT_FALSE(Allowed(t, "jane", "ui:menu_pharmacy"));

  // A bare array on stdin.
  r = Cli({"write", "-"},
          "[" + Op("put_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "pharmacy"}}) +
              "]");
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_pharmacy"));

  r = Cli({"write", "-", "--json"}, "[" + Op("put_tenant", {{"tenant", t}}) + "]");
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_TRUE(ParseJson(r.out).as_object().contains("revision")) << Dump(r);
}

TEST_F(CliTest, WriteErrorsAreExit2WithTheServerMessage) {
  const std::string t = TenantFor();
  const std::string bad = WriteFile(
      "bad.json", "[" + Op("put_tenant", {{"tenant", t}}) + "," +
                      Op("put_role_policy", {{"tenant", t}, {"role", "x"}, {"policy", "y"}}) + "]");
  CliResult r = Cli({"write", bad});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_NE(r.err.find("op 1"), std::string::npos) << "server message shown: " << Dump(r);

  r = CliAnon({"write", bad});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_NE(r.err.find("unauthorized"), std::string::npos) << Dump(r);

  r = Cli({"write", WriteFile("broken.json", "{\"ops\": [")});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
  EXPECT_NE(r.err.find("invalid JSON"), std::string::npos) << Dump(r);

  r = Cli({"write", WriteFile("shape.json", "{\"op\": \"put_tenant\"}")});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);

  r = Cli({"write", files_.File("does-not-exist.json")});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
}

TEST_F(CliTest, ExportAndImport) {
  const std::string a = TenantFor("a"), b = TenantFor("b");
  Write(HospitalOps(a));
  CliResult r = Cli({"export", "--tenant", a});
  ASSERT_EQ(r.exit_code, 0) << Dump(r);
  std::string model = json::serialize(ParseJson(r.out));  // human output is indented JSON
  const std::string from = "\"" + a + "\"", to = "\"" + b + "\"";
  for (size_t p = model.find(from); p != std::string::npos; p = model.find(from, p + to.size())) {
    model.replace(p, from.size(), to);
  }
  r = Cli({"import", WriteFile("model.json", model)});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out.rfind("revision ", 0), 0u) << Dump(r);
  EXPECT_TRUE(Allowed(b, "greg", "ui:menu_pharmacy"));

  r = Cli({"export", "--tenant", b, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(ParseJson(r.out), ParseJson(model));

  r = Cli({"export"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);

  r = Cli({"export", "--tenant", TenantFor("missing")});
  EXPECT_EQ(r.exit_code, 2) << "404 is exit 2: " << Dump(r);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << Dump(r);

  r = Cli({"import", WriteFile("notobj.json", "[1]")});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
}

TEST_F(CliTest, CacheClearFormsAndStats) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  Allowed(t, "jane", "ui:menu_patients");
  for (const std::vector<std::string>& form :
       {std::vector<std::string>{"--user", "jane", "--tenant", t},
        {"--user", "jane"},
        {"--tenant", t},
        {"--pattern", "perms:jane:*"},
        {"--all"}}) {
    std::vector<std::string> args = {"cache", "clear"};
    args.insert(args.end(), form.begin(), form.end());
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << form[0] << ": " << Dump(r);
    EXPECT_EQ(r.out.rfind("invalidated ", 0), 0u) << Dump(r);
  }
  for (const std::vector<std::string>& bad : {std::vector<std::string>{},
                                              {"--all", "--pattern", "x"},
                                              {"--all", "--user", "jane"},
                                              {"--pattern", "x", "--tenant", t}}) {
    std::vector<std::string> args = {"cache", "clear"};
    args.insert(args.end(), bad.begin(), bad.end());
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << Dump(r);
  }
  CliResult r = CliAnon({"cache", "clear", "--all"});
  EXPECT_EQ(r.exit_code, 2) << "401 is exit 2: " << Dump(r);

  r = Cli({"cache", "stats"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_NE(r.out.find("hits"), std::string::npos) << Dump(r);
  EXPECT_NE(r.out.find("hit_rate"), std::string::npos) << Dump(r);
  r = Cli({"cache", "stats", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_TRUE(ParseJson(r.out).as_object().contains("entries")) << Dump(r);
  r = Cli({"cache"});
  EXPECT_EQ(r.exit_code, 2) << Dump(r);
}

TEST_F(CliTest, HealthAndEnvironment) {
  CliResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(r.out.rfind("ready", 0), 0u) << Dump(r);
  EXPECT_NE(r.out.find("store: up"), std::string::npos) << Dump(r);
  // PERMCACHE_URL and PERMCACHE_ADMIN_TOKEN stand in for --server and --token.
  r = testing::RunPermcache({"cache", "stats"},
                            {{"PERMCACHE_URL", server().url()}, {"PERMCACHE_ADMIN_TOKEN", kToken}});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  r = testing::RunPermcache({"health", "--json"}, {{"PERMCACHE_URL", server().url()}});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_TRUE(ParseJson(r.out).as_object().contains("store")) << Dump(r);
}

TEST_F(CliTest, UsageErrorsAreExit2) {
  EXPECT_EQ(testing::RunPermcache({}).exit_code, 2);
  EXPECT_EQ(testing::RunPermcache({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(testing::RunPermcache({"check", "--server", "ftp://x", "t", "u", "a:b"}).exit_code, 2);
  EXPECT_EQ(testing::RunPermcache({"--timeout", "soon", "health"}).exit_code, 2);
  CliResult help = testing::RunPermcache({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("serve"), std::string::npos) << Dump(help);
  EXPECT_EQ(testing::RunPermcache({"check", "--help"}).exit_code, 0);
}

TEST(CliUnreachableTest, Exit3WhenNobodyListens) {
  const uint16_t port = testing::FreeLoopbackPort();
  ASSERT_NE(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"check", "t", "u", "a:b"},
                                               {"health"},
                                               {"cache", "stats"},
                                               {"perms", "t", "u"}}) {
    std::vector<std::string> full = {"--server", url};
    full.insert(full.end(), args.begin(), args.end());
    CliResult r = testing::RunPermcache(full);
    EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << Dump(r);
    EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << Dump(r);
  }
}

TEST(CliUnreachableTest, Exit3OnTimeout) {
  testing::FakeHttpServer fake;
  ASSERT_NE(fake.port(), 0);
  fake.SetMode(testing::FakeHttpServer::Mode::kHang);
  CliResult r = testing::RunPermcache({"--server", fake.url(), "--timeout", "300ms", "health"});
  EXPECT_EQ(r.exit_code, 3) << Dump(r);
}

TEST(CliServerErrorTest, Exit4On5xx) {
  testing::FakeHttpServer fake;
  ASSERT_NE(fake.port(), 0);
  fake.SetResponse(500, R"({"error":{"code":"internal","message":"boom"}})");
  CliResult r = testing::RunPermcache({"--server", fake.url(), "check", "t", "u", "a:b"});
  EXPECT_EQ(r.exit_code, 4) << Dump(r);
  EXPECT_NE(r.err.find("boom"), std::string::npos) << Dump(r);
  fake.SetResponse(503, R"({"error":{"code":"unavailable","message":"store down"}})");
  r = testing::RunPermcache({"--server", fake.url(), "cache", "stats"});
  EXPECT_EQ(r.exit_code, 4) << Dump(r);
  fake.SetResponse(503, R"({"status":"not_ready","store":"down","redis":"disabled"})");
  r = testing::RunPermcache({"--server", fake.url(), "health"});
  EXPECT_EQ(r.exit_code, 4) << Dump(r);
  EXPECT_NE(r.out.find("not ready"), std::string::npos) << Dump(r);
  EXPECT_NE(r.out.find("store: down"), std::string::npos) << Dump(r);
}

// Resources and UI elements through the real binary: anonymous checks, unlock from stdin, the
// token check, a wrong password, the sidebar, listing and a record clear.
TEST_F(CliTest, ResourcesUnlockAndUiEndToEnd) {
  const std::string t = TenantFor();
  Write(Op("put_tenant", {{"tenant", t}}));
  Write(Op("put_membership", {{"tenant", t}, {"user", "maya"}}));
  Write(Op("put_resource", {{"tenant", t}, {"resource", "trailer"}, {"type", "media"},
                            {"owner", "maya"}, {"state", "public"}}));
  Write(Op("put_resource", {{"tenant", t}, {"resource", "diary"}, {"type", "media"},
                            {"owner", "maya"}, {"state", "private"}}));
  Write(Op("put_resource", {{"tenant", t}, {"resource", "premiere"}, {"type", "media"},
                            {"owner", "maya"}, {"state", "restricted"}, {"password", "letmein"}}));
  Write(Op("put_ui_element", {{"tenant", t}, {"element", "menu_home"}}));

  CliResult r = Cli({"check", t, "media:view", "--anonymous", "--resource", "trailer"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  r = Cli({"check", t, "media:view", "--anonymous", "--resource", "diary"});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  r = Cli({"check", t, "maya", "media:edit", "--resource", "diary", "--explain"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_NE(r.out.find("owner"), std::string::npos) << Dump(r);

  r = Cli({"unlock", t, "premiere"}, "wrong\n");
  EXPECT_EQ(r.exit_code, 1) << Dump(r);
  EXPECT_EQ(r.out.find("wrong"), std::string::npos) << Dump(r);
  r = Cli({"--json", "unlock", t, "premiere"}, "letmein\n");
  ASSERT_EQ(r.exit_code, 0) << Dump(r);
  const std::string token(ParseJson(r.out).at("token").as_string());
  ASSERT_FALSE(token.empty()) << Dump(r);
  r = Cli({"check", t, "media:view", "--anonymous", "--resource", "premiere", "--unlock-token",
           token});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  // A password change revokes the token at once.
  Write(Op("put_resource", {{"tenant", t}, {"resource", "premiere"}, {"type", "media"},
                            {"owner", "maya"}, {"state", "restricted"}, {"password", "new"}}));
  r = Cli({"check", t, "media:view", "--anonymous", "--resource", "premiere", "--unlock-token",
           token});
  EXPECT_EQ(r.exit_code, 1) << Dump(r);

  r = Cli({"--json", "ui", t, "maya"});
  ASSERT_EQ(r.exit_code, 0) << Dump(r);
  EXPECT_EQ(ParseJson(r.out).at("elements").at("menu_home"), true) << Dump(r);
  r = Cli({"check", t, "maya", "--element", "menu_home"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);

  r = Cli({"--json", "resources", t, "--anonymous", "--permission", "media:view"});
  ASSERT_EQ(r.exit_code, 0) << Dump(r);
  const json::value page = ParseJson(r.out);
  const auto& listed = page.at("resources").as_array();
  ASSERT_EQ(listed.size(), 1u) << Dump(r);
  EXPECT_EQ(listed[0].at("resource"), "trailer");

  r = Cli({"--json", "cache", "clear", "--tenant", t, "--resource", "trailer"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
  r = Cli({"cache", "clear", "--tenant", t, "--element", "menu_home"});
  EXPECT_EQ(r.exit_code, 0) << Dump(r);
}

}  // namespace
}  // namespace permcache::e2e
