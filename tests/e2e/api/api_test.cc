// End-to-end tests of every HTTP endpoint and error code of DESIGN §4 against the real binary.
#include <gtest/gtest.h>

#include <string>

#include "client/http_client.h"
#include "e2e/e2e_util.h"
#include "support/raw_http.h"

namespace permcache::e2e {
namespace {

using client::UrlEncode;

class ApiTest : public ServerTest {};

TEST_F(ApiTest, HealthzAndReadyz) {
  auto h = anon_->Get("/healthz");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->status, 200);
  auto r = anon_->Get("/readyz");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  const json::value v = ParseJson(r->body);
  ASSERT_TRUE(v.is_object()) << r->body;
  EXPECT_TRUE(v.as_object().contains("status")) << r->body;
  ASSERT_TRUE(v.as_object().contains("store")) << r->body;
  ASSERT_TRUE(v.as_object().contains("redis")) << r->body;
  EXPECT_EQ(json::serialize(v.at("store")), "\"up\"") << r->body;
  EXPECT_EQ(json::serialize(v.at("redis")), "\"disabled\"") << r->body;
}

TEST_F(ApiTest, CheckGetAndPostAgree) {
  const std::string t = TenantFor();
  const uint64_t rev = Write(HospitalOps(t));
  ASSERT_GT(rev, 0u);
  auto get = anon_->Get("/v1/check?tenant=" + UrlEncode(t) +
                        "&user=greg&permission=" + UrlEncode("ui:menu_pharmacy"));
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  ASSERT_EQ(get->status, 200) << get->body;
  const json::value g = ParseJson(get->body);
  EXPECT_EQ(g.at("allowed"), true) << get->body;
  EXPECT_GE(g.at("revision").to_number<uint64_t>(), rev);
  EXPECT_FALSE(g.as_object().contains("reason")) << "reason only with explain: " << get->body;

  const json::object post = Check(t, "jane", "ui:menu_pharmacy");
  EXPECT_EQ(post.at("allowed"), false);
  EXPECT_GE(post.at("revision").to_number<uint64_t>(), rev);

  auto denied_get =
      anon_->Get("/v1/check?tenant=" + UrlEncode(t) + "&user=jane&permission=ui:menu_pharmacy");
  ASSERT_TRUE(denied_get.ok());
  EXPECT_EQ(ParseJson(denied_get->body).at("allowed"), false) << denied_get->body;
}

TEST_F(ApiTest, CheckOfUnknownTenantOrUserIsDeniedNotAnError) {
  EXPECT_FALSE(Allowed(TenantFor("nope"), "nobody", "a:b"));
}

TEST_F(ApiTest, BatchCheck) {
  const std::string t = TenantFor();
  const uint64_t rev = Write(HospitalOps(t));
  json::array checks;
  for (const char* user : {"jane", "greg", "sam", "nobody"}) {
    checks.push_back(
        json::object{{"tenant", t}, {"user", user}, {"permission", "ui:menu_pharmacy"}});
  }
  auto res = anon_->Post("/v1/check/batch", json::serialize(json::object{{"checks", checks}}));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_EQ(res->status, 200) << res->body;
  const json::value v = ParseJson(res->body);
  const auto& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 4u) << res->body;
  EXPECT_EQ(results[0].at("allowed"), false);
  EXPECT_EQ(results[1].at("allowed"), true);
  EXPECT_EQ(results[2].at("allowed"), false);
  EXPECT_EQ(results[3].at("allowed"), false);
  EXPECT_GE(v.at("revision").to_number<uint64_t>(), rev);
}

TEST_F(ApiTest, BatchOfMoreThan1000ChecksIsInvalid) {
  json::array checks;
  for (int i = 0; i < 1001; ++i) {
    checks.push_back(json::object{{"tenant", "t"}, {"user", "u"}, {"permission", "a:b"}});
  }
  const std::string body = json::serialize(json::object{{"checks", checks}});
  EXPECT_TRUE(IsError(anon_->Post("/v1/check/batch", body), 400, "invalid_argument"));
  checks.pop_back();
  auto ok = anon_->Post("/v1/check/batch", json::serialize(json::object{{"checks", checks}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200) << "exactly 1000 checks are allowed";
  ExpectStillServing();
}

TEST_F(ApiTest, PermissionsEndpoint) {
  const std::string t = TenantFor();
  Write(HospitalOps(t) + "," +
        Op("put_policy", {{"tenant", t},
                          {"policy", "no_admin"},
                          {"effect", "deny"},
                          {"priority", 10},
                          {"permissions", {"ui:menu_admin"}}}) +
        "," + Op("put_role_policy", {{"tenant", t}, {"role", "doctor"}, {"policy", "no_admin"}}));
  auto res = Get("/v1/tenants/" + t + "/users/greg/permissions");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_EQ(res->status, 200) << res->body;
  const json::value v = ParseJson(res->body);
  const std::string perms = json::serialize(v.at("permissions"));
  EXPECT_NE(perms.find("ui:menu_pharmacy"), std::string::npos) << res->body;
  EXPECT_NE(perms.find("ui:menu_patients"), std::string::npos) << res->body;
  EXPECT_NE(json::serialize(v.at("denied")).find("ui:menu_admin"), std::string::npos) << res->body;
  EXPECT_GT(v.at("revision").to_number<uint64_t>(), 0u);

  auto jane = Get("/v1/tenants/" + t + "/users/jane/permissions");
  ASSERT_TRUE(jane.ok());
  EXPECT_EQ(json::serialize(ParseJson(jane->body).at("permissions")), "[\"ui:menu_patients\"]")
      << jane->body;
}

// Seed 000's pollers: a conditional GET is a 304 until this user's answer changes, and only then.
TEST_F(ApiTest, PermissionsConditionalGetFollowsTheUsersAnswer) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  const std::string path = "/v1/tenants/" + t + "/users/jane/permissions";
  auto conditional = [&](const std::string& if_none_match) {
    return anon_->Request("GET", path, {}, "application/json",
                          {{"If-None-Match", if_none_match}});
  };
  auto first = anon_->Get(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->status, 200) << first->body;
  const std::string t1 = first->etag;
  EXPECT_TRUE(t1.starts_with("\"pc-") && t1.size() == 21) << t1;
  EXPECT_EQ(first->cache_control, "private, no-cache");
  EXPECT_EQ(json::serialize(ParseJson(first->body).at("permissions")), "[\"ui:menu_patients\"]");

  auto same = conditional(t1);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->status, 304);
  EXPECT_EQ(same->body, "");
  EXPECT_EQ(same->etag, t1);
  EXPECT_EQ(same->cache_control, "private, no-cache");

  // Revoke jane's only role: the old tag now gets the new answer and a new tag.
  const uint64_t revoke =
      Write(Op("delete_user_role", {{"tenant", t}, {"user", "jane"}, {"role", "nurse"}}));
  auto changed = conditional(t1);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  ASSERT_EQ(changed->status, 200) << changed->body;
  const std::string t2 = changed->etag;
  EXPECT_TRUE(t2.starts_with("\"pc-") && t2.size() == 21) << t2;
  EXPECT_NE(t2, t1);
  const json::value v = ParseJson(changed->body);
  EXPECT_EQ(json::serialize(v.at("permissions")), "[]") << changed->body;
  EXPECT_GE(v.at("revision").to_number<uint64_t>(), revoke);

  // A write that touches another user moves the revision, not jane's tag.
  const uint64_t other =
      Write(Op("delete_user_role", {{"tenant", t}, {"user", "greg"}, {"role", "doctor"}}));
  ASSERT_GT(other, revoke);
  auto still = conditional(t2);
  ASSERT_TRUE(still.ok()) << still.status().ToString();
  EXPECT_EQ(still->status, 304) << still->body;
  EXPECT_EQ(still->etag, t2);
  auto full = anon_->Get(path);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->etag, t2);
  EXPECT_GE(ParseJson(full->body).at("revision").to_number<uint64_t>(), other) << full->body;

  // The sidebar call is tagged the same way.
  const std::string ui = "/v1/tenants/" + t + "/users/jane/ui";
  auto sidebar = anon_->Get(ui);
  ASSERT_TRUE(sidebar.ok()) << sidebar.status().ToString();
  ASSERT_EQ(sidebar->status, 200) << sidebar->body;
  auto sidebar_again =
      anon_->Request("GET", ui, {}, "application/json", {{"If-None-Match", sidebar->etag}});
  ASSERT_TRUE(sidebar_again.ok()) << sidebar_again.status().ToString();
  EXPECT_EQ(sidebar_again->status, 304);
  EXPECT_EQ(sidebar_again->etag, sidebar->etag);
}

TEST_F(ApiTest, MembershipEndpoint) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  auto res = Get("/v1/tenants/" + t + "/users/jane/membership");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_EQ(res->status, 200) << res->body;
  json::value v = ParseJson(res->body);
  EXPECT_EQ(v.at("active"), true);
  EXPECT_EQ(v.at("status"), "active");

  Write(Op("put_membership", {{"tenant", t}, {"user", "jane"}, {"status", "suspended"}}));
  v = ParseJson(Get("/v1/tenants/" + t + "/users/jane/membership")->body);
  EXPECT_EQ(v.at("active"), false);
  EXPECT_EQ(v.at("status"), "suspended");

  v = ParseJson(Get("/v1/tenants/" + t + "/users/nobody/membership")->body);
  EXPECT_EQ(v.at("active"), false);
}

TEST_F(ApiTest, WriteIsAtomicAndNamesTheBadOp) {
  const std::string t = TenantFor();
  const std::string ops =
      Op("put_tenant", {{"tenant", t}}) + "," + Op("put_role", {{"tenant", t}, {"role", "r"}}) +
      "," + Op("put_membership", {{"tenant", t}, {"user", "u"}}) + "," +
      Op("put_role_policy", {{"tenant", t}, {"role", "r"}, {"policy", "missing"}});
  auto res = Post("/v1/write", "{\"ops\":[" + ops + "]}");
  ASSERT_TRUE(IsError(res, 400, "invalid_argument"));
  EXPECT_NE(res->body.find("op 3"), std::string::npos) << "error must name op 3: " << res->body;
  // Nothing applied: the tenant does not exist, the membership neither.
  EXPECT_TRUE(IsError(Get("/v1/model?tenant=" + t), 404, "not_found"));
  const json::value m = ParseJson(Get("/v1/tenants/" + t + "/users/u/membership")->body);
  EXPECT_EQ(m.at("active"), false);
  ExpectStillServing();
}

TEST_F(ApiTest, WriteReferencingMissingTenantIsInvalid) {
  auto res = Post("/v1/write",
                  "{\"ops\":[" + Op("put_role", {{"tenant", TenantFor()}, {"role", "r"}}) + "]}");
  ASSERT_TRUE(IsError(res, 400, "invalid_argument"));
  EXPECT_NE(res->body.find("op 0"), std::string::npos) << res->body;
}

TEST_F(ApiTest, PutsAreIdempotentAndDeletingMissingIsNotAnError) {
  const std::string t = TenantFor();
  const uint64_t r1 = Write(HospitalOps(t));
  const uint64_t r2 = Write(HospitalOps(t));
  EXPECT_GT(r2, r1);
  const uint64_t r3 = Write(Op("delete_role", {{"tenant", t}, {"role", "ghost"}}) + "," +
                            Op("delete_user_role", {{"tenant", t}, {"user", "x"}, {"role", "y"}}));
  EXPECT_GT(r3, r2);
}

TEST_F(ApiTest, ModelExportImportRoundTrip) {
  const std::string a = TenantFor("a"), b = TenantFor("b");
  Write(HospitalOps(a) + "," + Op("put_business_unit", {{"tenant", a}, {"business_unit", "icu"}}));
  auto exported = Get("/v1/model?tenant=" + a);
  ASSERT_TRUE(exported.ok());
  ASSERT_EQ(exported->status, 200) << exported->body;
  json::value model = ParseJson(exported->body);
  ASSERT_TRUE(model.is_object());
  for (const char* section : {"tenants", "business_units", "memberships", "roles", "policies",
                              "role_policies", "user_roles"}) {
    ASSERT_TRUE(model.as_object().contains(section)) << section << " missing: " << exported->body;
    EXPECT_FALSE(model.at(section).as_array().empty()) << section;
  }
  // Rename the tenant and import it as a new one.
  std::string text = json::serialize(model);
  const std::string from = "\"" + a + "\"", to = "\"" + b + "\"";
  for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  auto imported = Post("/v1/model", text);
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->status, 200) << imported->body;
  EXPECT_GT(ParseJson(imported->body).at("revision").to_number<uint64_t>(), 0u);

  auto again = Get("/v1/model?tenant=" + b);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(ParseJson(again->body), ParseJson(text)) << "round trip changed the model";
  EXPECT_TRUE(Allowed(b, "greg", "ui:menu_pharmacy"));
  EXPECT_FALSE(Allowed(b, "jane", "ui:menu_pharmacy"));
}

// GET /v1/model without ?tenant= exports every tenant (DESIGN §4).
// Found failing: the SQLite store binds an empty std::string_view (data() == nullptr) as SQL
// NULL, so "WHERE ?1 = '' OR tenant = ?1" matches nothing and the export is empty.
TEST_F(ApiTest, FullExportListsEveryTenant) {
  const std::string a = TenantFor("a"), b = TenantFor("b");
  Write(HospitalOps(a) + "," + TwoTenantsOps(b, TenantFor("c")));
  auto all = Get("/v1/model");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->status, 200) << all->body;
  const json::value v = ParseJson(all->body);
  const std::string tenants = json::serialize(v.at("tenants"));
  for (const std::string& t : {a, b, TenantFor("c")}) {
    EXPECT_NE(tenants.find("\"" + t + "\""), std::string::npos) << t << " missing: " << all->body;
  }
  EXPECT_GE(v.at("memberships").as_array().size(), 5u) << all->body;
  // "?tenant=" with an empty value means the same.
  auto empty = Get("/v1/model?tenant=");
  ASSERT_TRUE(empty.ok());
  if (empty->status == 200) {
    EXPECT_EQ(ParseJson(empty->body), v);
  }
}

TEST_F(ApiTest, ImportOfBadModelIsInvalidAndAppliesNothing) {
  const std::string t = TenantFor();
  const std::string model = json::serialize(json::object{
      {"tenants", json::array{json::object{{"tenant", t}}}},
      {"role_policies",
       json::array{json::object{{"tenant", t}, {"role", "nope"}, {"policy", "nope"}}}}});
  EXPECT_TRUE(IsError(Post("/v1/model", model), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(Get("/v1/model?tenant=" + t), 404, "not_found"));
}

TEST_F(ApiTest, UnknownTenantInModelIs404) {
  EXPECT_TRUE(IsError(Get("/v1/model?tenant=" + TenantFor("missing")), 404, "not_found"));
}

TEST_F(ApiTest, UnknownRouteIs404) {
  EXPECT_TRUE(IsError(anon_->Get("/v1/nope"), 404, "not_found"));
  EXPECT_TRUE(IsError(anon_->Get("/v2/check"), 404, "not_found"));
  ExpectStillServing();
}

TEST_F(ApiTest, AdminEndpointsNeedTheToken) {
  const std::string t = TenantFor();
  const std::string write = "{\"ops\":[" + Op("put_tenant", {{"tenant", t}}) + "]}";
  auto wrong = server().NewClient("not-the-token");
  EXPECT_TRUE(IsError(anon_->Post("/v1/write", write), 401, "unauthorized"));
  EXPECT_TRUE(IsError(wrong->Post("/v1/write", write), 401, "unauthorized"));
  EXPECT_TRUE(IsError(anon_->Get("/v1/model"), 401, "unauthorized"));
  EXPECT_TRUE(IsError(wrong->Get("/v1/model"), 401, "unauthorized"));
  EXPECT_TRUE(IsError(anon_->Post("/v1/model", "{}"), 401, "unauthorized"));
  EXPECT_TRUE(IsError(anon_->Post("/v1/cache/invalidate", "{\"all\":true}"), 401, "unauthorized"));
  EXPECT_TRUE(IsError(wrong->Post("/v1/cache/invalidate", "{\"all\":true}"), 401, "unauthorized"));
  // Nothing was written.
  EXPECT_TRUE(IsError(Get("/v1/model?tenant=" + t), 404, "not_found"));
  // A scheme other than Bearer is refused too.
  auto basic = anon_->Request("POST", "/v1/write", write, "application/json",
                              {{"Authorization", std::string("Basic ") + kToken}});
  EXPECT_TRUE(IsError(basic, 401, "unauthorized"));
  // With the token it works; checks work without one.
  EXPECT_GT(Write(HospitalOps(t)), 0u);
  EXPECT_TRUE(Allowed(t, "greg", "ui:menu_pharmacy"));
}

TEST_F(ApiTest, InvalidArgumentErrors) {
  const std::string long_id(129, 'a');
  const std::string max_id(128, 'a');
  struct Case {
    const char* what;
    std::string target, body;
  };
  const Case cases[] = {
      {"malformed JSON", "/v1/check", "{\"tenant\":"},
      {"not an object", "/v1/check", "[1,2]"},
      {"tenant of wrong type", "/v1/check", R"({"tenant":5,"user":"u","permission":"a:b"})"},
      {"at_least_revision of wrong type", "/v1/check",
       R"({"tenant":"t","user":"u","permission":"a:b","at_least_revision":"x"})"},
      {"missing permission", "/v1/check", R"({"tenant":"t","user":"u"})"},
      {"id with ':'", "/v1/check", R"({"tenant":"t:1","user":"u","permission":"a:b"})"},
      {"user with ':'", "/v1/check", R"({"tenant":"t","user":"u:1","permission":"a:b"})"},
      {"id over 128 chars", "/v1/check",
       R"({"tenant":")" + long_id + R"(","user":"u","permission":"a:b"})"},
      {"'*' in a checked permission", "/v1/check",
       R"({"tenant":"t","user":"u","permission":"a:*"})"},
      {"bad permission", "/v1/check", R"({"tenant":"t","user":"u","permission":"A B"})"},
      {"unknown op", "/v1/write", R"({"ops":[{"op":"put_everything","tenant":"t"}]})"},
      {"ops not an array", "/v1/write", R"({"ops":{}})"},
      {"op with wrong type", "/v1/write", R"({"ops":[{"op":"put_tenant","tenant":7}]})"},
      {"op with ':' id", "/v1/write", R"({"ops":[{"op":"put_tenant","tenant":"a:b"}]})"},
      {"op with long id", "/v1/write",
       R"({"ops":[{"op":"put_tenant","tenant":")" + long_id + R"("}]})"},
      {"bad effect", "/v1/write",
       R"({"ops":[{"op":"put_policy","tenant":"t","policy":"p","effect":"maybe","permissions":["a:b"]}]})"},
      {"bad pattern", "/v1/write",
       R"({"ops":[{"op":"put_policy","tenant":"t","policy":"p","effect":"allow","permissions":["a::b"]}]})"},
      {"malformed model", "/v1/model", "{\"tenants\":"},
      {"invalidate with no form", "/v1/cache/invalidate", "{}"},
      {"invalidate with two forms", "/v1/cache/invalidate", R"({"all":true,"pattern":"x"})"},
      {"batch not an array", "/v1/check/batch", R"({"checks":1})"},
      {"empty body", "/v1/check", ""},
  };
  for (const Case& c : cases) {
    auto res = Post(c.target, c.body);
    EXPECT_TRUE(IsError(res, 400, "invalid_argument")) << c.what;
    ExpectStillServing();
  }
  // GET /v1/check: missing or bad query parameters.
  EXPECT_TRUE(IsError(anon_->Get("/v1/check?tenant=t&user=u"), 400, "invalid_argument"));
  EXPECT_TRUE(
      IsError(anon_->Get("/v1/check?tenant=t&user=u&permission=a:*"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(anon_->Get("/v1/check?tenant=t&user=u&permission=a:b&at_least_revision=x"),
                      400, "invalid_argument"));
  EXPECT_TRUE(IsError(anon_->Get("/v1/check?tenant=" + long_id + "&user=u&permission=a:b"), 400,
                      "invalid_argument"));
  // 128 chars is fine.
  auto ok = anon_->Get("/v1/check?tenant=" + max_id + "&user=u&permission=a:b");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200) << ok->body;
  ExpectStillServing();
}

TEST_F(ApiTest, BodyOverOneMiBIs413) {
  // Announce a 2 MiB body: the server must refuse it from the headers (413) without reading it.
  const std::string head = "POST /v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           std::string(kToken) +
                           "\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n";
  auto raw = testing::SendRaw(server().port(), head);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(testing::RawStatusCode(*raw), 413) << *raw;
  // A real oversized body through the client: 413 (or the server closing early is tolerated
  // only as a transport error, never as a 2xx).
  std::string big = "{\"checks\":[" + std::string(1100 * 1024, ' ') + "]}";
  auto res = anon_->Post("/v1/check/batch", big);
  if (res.ok()) {
    EXPECT_EQ(res->status, 413) << res->body;
  }
  ExpectStillServing();
}

TEST_F(ApiTest, BrokenRequestLineIs400AndServerKeepsServing) {
  for (const std::string bad : {"GARBAGE\r\n\r\n", "GET /v1/check HTTP/9.x\r\n\r\n",
                                "GET\r\nHost: x\r\n\r\n", "\x01\x02\x03\r\n\r\n"}) {
    auto raw = testing::SendRaw(server().port(), bad, std::chrono::seconds(3));
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ(testing::RawStatusCode(*raw), 400) << "for " << bad << ": " << *raw;
    ExpectStillServing();
  }
}

TEST_F(ApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 20; ++i) {
    auto res = anon_->Get("/healthz");
    ASSERT_TRUE(res.ok());
    ASSERT_EQ(res->status, 200);
  }
  EXPECT_EQ(anon_->connections_opened(), 1u);
}

TEST_F(ApiTest, AtLeastRevision) {
  const std::string t = TenantFor();
  const uint64_t rev = Write(HospitalOps(t));
  ASSERT_GT(rev, 0u);
  const json::object o = Check(t, "greg", "ui:menu_pharmacy", {{"at_least_revision", rev}});
  EXPECT_EQ(o.at("allowed"), true);
  EXPECT_GE(o.at("revision").to_number<uint64_t>(), rev);
  auto get = anon_->Get("/v1/check?tenant=" + t + "&user=greg&permission=ui:menu_pharmacy" +
                        "&at_least_revision=" + std::to_string(rev));
  ASSERT_TRUE(get.ok());
  ASSERT_EQ(get->status, 200) << get->body;
  EXPECT_GE(ParseJson(get->body).at("revision").to_number<uint64_t>(), rev);
  // A revision nobody wrote yet cannot be reached: 503, never a guess.
  EXPECT_TRUE(IsError(
      anon_->Post("/v1/check", json::serialize(json::object{{"tenant", t},
                                                            {"user", "greg"},
                                                            {"permission", "ui:menu_pharmacy"},
                                                            {"at_least_revision", rev + 1000}})),
      503, "unavailable"));
  ExpectStillServing();
}

TEST_F(ApiTest, ExplainNamesPolicyAndRolePath) {
  const std::string t = TenantFor();
  Write(HospitalOps(t) + "," +
        Op("put_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "pharmacy"}}));
  const json::object o = Check(t, "sam", "ui:menu_pharmacy", {{"explain", true}});
  EXPECT_EQ(o.at("allowed"), true);
  ASSERT_TRUE(o.contains("reason")) << json::serialize(o);
  const auto& r = o.at("reason").as_object();
  EXPECT_EQ(r.at("kind"), "policy") << json::serialize(o);
  EXPECT_EQ(r.at("policy"), "pharmacy") << json::serialize(o);
  EXPECT_EQ(r.at("role_path"), "senior_nurse>nurse") << json::serialize(o);
  EXPECT_EQ(r.at("effect"), "allow") << json::serialize(o);
  EXPECT_EQ(r.at("matched_pattern"), "ui:menu_pharmacy") << json::serialize(o);

  auto get =
      anon_->Get("/v1/check?tenant=" + t + "&user=jane&permission=ui:menu_pharmacy&explain=1");
  ASSERT_TRUE(get.ok());
  const json::value g = ParseJson(get->body);
  EXPECT_EQ(g.at("reason").at("role_path"), "nurse") << get->body;

  // Denials explain themselves too.
  const json::object none = Check(t, "nobody", "ui:menu_pharmacy", {{"explain", true}});
  EXPECT_EQ(none.at("allowed"), false);
  EXPECT_EQ(none.at("reason").at("kind"), "no_membership") << json::serialize(none);
  const json::object nomatch = Check(t, "jane", "ui:menu_admin", {{"explain", true}});
  EXPECT_EQ(nomatch.at("reason").at("kind"), "no_match") << json::serialize(nomatch);
}

TEST_F(ApiTest, CacheInvalidateFormsAndStats) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  // Start from an empty cache so that the counts below are exact even when other tests of this
  // suite ran on the same server before (users are named alike across tenants).
  ASSERT_TRUE(Post("/v1/cache/invalidate", R"({"all":true})").ok());
  auto stats = [&] {
    auto res = Get("/v1/cache/stats");
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(res->status, 200) << res->body;
    return ParseJson(res->body).as_object();
  };
  const json::object before = stats();
  for (const char* key : {"entries", "hits", "misses", "hit_rate", "evictions", "invalidations",
                          "memory_bytes", "distinct_sets"}) {
    EXPECT_TRUE(before.contains(key)) << key << " missing: " << json::serialize(before);
  }
  for (int i = 0; i < 3; ++i) {
    Allowed(t, "jane", "ui:menu_patients");
    Allowed(t, "greg", "ui:menu_patients");
  }
  const json::object warm = stats();
  EXPECT_GT(warm.at("hits").to_number<uint64_t>(), before.at("hits").to_number<uint64_t>());
  EXPECT_GT(warm.at("misses").to_number<uint64_t>(), before.at("misses").to_number<uint64_t>());
  EXPECT_GE(warm.at("entries").to_number<uint64_t>(), 2u);
  EXPECT_GT(warm.at("memory_bytes").to_number<uint64_t>(), 0u);

  auto invalidate = [&](const json::object& body) -> int64_t {
    auto res = Post("/v1/cache/invalidate", json::serialize(body));
    EXPECT_TRUE(res.ok());
    EXPECT_EQ(res->status, 200) << json::serialize(body) << " -> " << res->body;
    const json::value v = ParseJson(res->body);
    if (!v.is_object() || !v.as_object().contains("invalidated")) return -1;
    return v.at("invalidated").to_number<int64_t>();
  };
  EXPECT_EQ(invalidate({{"tenant", t}, {"user", "jane"}}), 1);
  EXPECT_EQ(invalidate({{"tenant", t}, {"user", "jane"}}), 0) << "already gone";
  Allowed(t, "jane", "ui:menu_patients");
  EXPECT_EQ(invalidate({{"user", "jane"}}), 1);
  Allowed(t, "jane", "ui:menu_patients");
  EXPECT_EQ(invalidate({{"pattern", "perms:jane:*"}}), 1);
  Allowed(t, "jane", "ui:menu_patients");
  EXPECT_EQ(invalidate({{"tenant", t}}), 2);
  Allowed(t, "jane", "ui:menu_patients");
  EXPECT_GE(invalidate({{"all", true}}), 1);
  const json::object after = stats();
  EXPECT_GT(after.at("invalidations").to_number<uint64_t>(),
            warm.at("invalidations").to_number<uint64_t>());
  EXPECT_EQ(after.at("entries").to_number<uint64_t>(), 0u);
  // Answers stay right after invalidation.
  EXPECT_TRUE(Allowed(t, "jane", "ui:menu_patients"));
}

TEST_F(ApiTest, MetricsHaveCacheCountersAndLatencyHistogram) {
  const std::string t = TenantFor();
  Write(HospitalOps(t));
  Allowed(t, "jane", "ui:menu_patients");
  Allowed(t, "jane", "ui:menu_patients");
  auto res = anon_->Get("/metrics");
  ASSERT_TRUE(res.ok());
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->content_type.find("text/plain"), std::string::npos) << res->content_type;
  const std::string& m = res->body;
  EXPECT_NE(m.find("# TYPE"), std::string::npos) << m;
  EXPECT_NE(m.find("hits"), std::string::npos) << m;
  EXPECT_NE(m.find("misses"), std::string::npos) << m;
  EXPECT_NE(m.find("_bucket{"), std::string::npos) << "latency histogram: " << m;
  EXPECT_NE(m.find("le=\"+Inf\""), std::string::npos) << m;
  EXPECT_NE(m.find("_count"), std::string::npos) << m;
  EXPECT_NE(m.find("_sum"), std::string::npos) << m;
}

}  // namespace
}  // namespace permcache::e2e
