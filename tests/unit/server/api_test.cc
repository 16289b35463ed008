#include "server/http/api.h"

#include <gtest/gtest.h>

#include "server/http/etag.h"
#include "server/metrics.h"
#include "server/server_hooks.h"
#include "unit/server/fake_checker.h"

namespace permcache::http {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  explicit ApiTest(std::string token = "")
      : hooks_(&checker_, &registry_, "test"), api_(&checker_, Options(token), &hooks_) {}

  static ApiOptions Options(std::string token) {
    ApiOptions o;
    o.admin_token = std::move(token);
    return o;
  }

  Response Call(Method m, std::string_view target, std::string_view body = "",
                std::string_view auth = "", std::string_view remote = "") {
    Request req;
    req.remote_address = remote;
    req.method = m;
    req.method_name = m == Method::kGet ? "GET" : m == Method::kPost ? "POST" : "DELETE";
    req.target = target;
    req.body = body;
    req.authorization = auth;
    Response res;
    api_.Handle(req, &res);
    return res;
  }
  Response Get(std::string_view target) { return Call(Method::kGet, target); }
  // GET with an If-None-Match header.
  Response GetIfNoneMatch(std::string_view target, std::string_view if_none_match) {
    Request req;
    req.method = Method::kGet;
    req.method_name = "GET";
    req.target = target;
    req.if_none_match = if_none_match;
    Response res;
    api_.Handle(req, &res);
    return res;
  }
  // `r` is a 304 for `tag`: no body, the tag and the caching rule repeated.
  static ::testing::AssertionResult IsNotModified(const Response& r, const std::string& tag) {
    if (r.status == 304 && r.body.empty() && r.etag == tag &&
        r.cache_control == "private, no-cache") {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "status " << r.status << " etag " << r.etag
                                         << " cache-control '" << r.cache_control << "' body "
                                         << r.body;
  }
  Response Post(std::string_view target, std::string_view body, std::string_view auth = "") {
    return Call(Method::kPost, target, body, auth);
  }

  testing::FakeChecker checker_;
  MetricsRegistry registry_;
  ServerHooks hooks_;
  Api api_;
};

TEST_F(ApiTest, CheckGet) {
  Response r = Get("/v1/check?tenant=t1&user=jane&permission=assets:read");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"allowed":true,"revision":42})");
  r = Get("/v1/check?tenant=t1&user=jane%40x.com&permission=assets%3Adelete&scope=bu%201"
          "&at_least_revision=7&explain=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(checker_.last_check.user, "jane@x.com");
  EXPECT_EQ(checker_.last_check.permission, "assets:delete");
  EXPECT_EQ(checker_.last_check.scope, "bu 1");
  EXPECT_EQ(checker_.last_check.at_least_revision, 7u);
  EXPECT_TRUE(checker_.last_check.explain);
  EXPECT_NE(r.body.find(R"("reason":{"kind":"no_match")"), std::string::npos) << r.body;
}

TEST_F(ApiTest, CheckGetErrors) {
  struct Case {
    std::string target;
    std::string message_part;
  };
  const Case cases[] = {
      {"/v1/check?tenant=t1&user=jane", "missing query parameter 'permission'"},
      {"/v1/check?user=jane&permission=a", "missing query parameter 'tenant'"},
      {"/v1/check?tenant=t&user=u&permission=a&explain=yes", "'explain' must be"},
      {"/v1/check?tenant=t&user=u&permission=a&at_least_revision=-1", "'at_least_revision'"},
      {"/v1/check?tenant=t&user=u&permission=a&at_least_revision=1x", "'at_least_revision'"},
      {"/v1/check?tenant=t&user=u&permission=a&scpoe=x", "unknown query parameter 'scpoe'"},
      {"/v1/check?tenant=t&tenant=u&user=u&permission=a", "duplicate query parameter"},
      {"/v1/check?tenant=%zz&user=u&permission=a", "malformed percent-escape"},
      {"/v1/check?tenant=&user=u&permission=a", "tenant: must not be empty"},  // from Checker
  };
  for (const Case& c : cases) {
    Response r = Get(c.target);
    EXPECT_EQ(r.status, 400) << c.target;
    EXPECT_NE(r.body.find(R"("code":"invalid_argument")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(c.message_part), std::string::npos) << c.target << " -> " << r.body;
  }
}

TEST_F(ApiTest, CheckFailsClosedWith503) {
  checker_.check_status = UnavailableError("store down");
  Response r = Get("/v1/check?tenant=t1&user=jane&permission=assets:read");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"error":{"code":"unavailable","message":"store down"}})");
  EXPECT_EQ(r.body.find("allowed"), std::string::npos);
  EXPECT_NE(registry_.Render().find(
                R"(permcache_store_errors_total{operation="check"} 1)"),
            std::string::npos);
}

TEST_F(ApiTest, CheckPost) {
  Response r = Post("/v1/check", R"({"tenant":"t1","user":"jane","permission":"assets:read"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"allowed":true,"revision":42})");
  r = Post("/v1/check", R"({"tenant":"t1","user":"jane"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("missing field \\\"permission\\\""), std::string::npos) << r.body;
}

TEST_F(ApiTest, Batch) {
  Response r = Post("/v1/check/batch",
                    R"({"checks":[{"tenant":"t","user":"u","permission":"assets:read"},
                                  {"tenant":"t","user":"u","permission":"assets:write"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"results":[{"allowed":true,"revision":42},)"
                    R"({"allowed":false,"revision":42}],"revision":42})");
  r = Post("/v1/check/batch", R"({"checks":[{"tenant":"t","user":"u","permission":"a"},
                                             {"tenant":"","user":"u","permission":"a"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("checks[1]: tenant"), std::string::npos) << r.body;
  std::string big = R"({"checks":[)";
  for (int i = 0; i < 1001; ++i) {
    big += std::string(i ? "," : "") + R"({"tenant":"t","user":"u","permission":"a"})";
  }
  big += "]}";
  r = Post("/v1/check/batch", big);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("at most 1000 checks"), std::string::npos);
  r = Post("/v1/check/batch", R"({"checks":[]})");
  EXPECT_EQ(r.body, R"({"results":[],"revision":42})");
}

TEST_F(ApiTest, PermissionsAndMembership) {
  Response r = Get("/v1/tenants/t1/users/jane%40x.com/permissions");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"permissions":["t1:jane@x.com"],"denied":[],"scoped":{},"revision":42})");
  r = Get("/v1/tenants/t1/users/nobody/membership");
  EXPECT_EQ(r.body, R"({"active":false,"status":"none","revision":42})");
  EXPECT_EQ(Get("/v1/tenants/t1/users/jane/roles").status, 404);
  EXPECT_EQ(Get("/v1/tenants/t1/users//permissions").status, 404);
  EXPECT_EQ(Get("/v1/tenants/t1/users/jane/permissions/x").status, 404);
  EXPECT_EQ(Post("/v1/tenants/t1/users/jane/permissions", "").status, 405);
}

TEST_F(ApiTest, PermissionsConditionalGet) {
  constexpr std::string_view kPath = "/v1/tenants/t1/users/jane/permissions";
  const Response first = Get(kPath);
  ASSERT_EQ(first.status, 200);
  const std::string tag = first.etag;
  ASSERT_EQ(tag.size(), 21u) << tag;
  EXPECT_TRUE(tag.starts_with("\"pc-") && tag.ends_with("\"")) << tag;
  EXPECT_EQ(first.cache_control, "private, no-cache");
  // The body is unchanged: revision included.
  EXPECT_EQ(first.body, R"({"permissions":["t1:jane"],"denied":[],"scoped":{},"revision":42})");

  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, tag), tag));
  for (const std::string& value : {"W/" + tag, "\"x\", " + tag, std::string("*")}) {
    EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, value), tag)) << value;
  }
  std::string too_long(kMaxIfNoneMatchBytes, ' ');
  too_long += tag;
  for (const std::string& value : {std::string("\"pc-0000000000000000\""), tag + " junk",
                                   tag.substr(0, tag.size() - 1), too_long}) {
    const Response r = GetIfNoneMatch(kPath, value);
    EXPECT_EQ(r.status, 200) << value.substr(0, 40);
    EXPECT_EQ(r.body, first.body);
    EXPECT_EQ(r.etag, tag);
  }

  // A write elsewhere moves only the revision: the tag stays, the body says the new revision.
  checker_.revision = 43;
  Response r = Get(kPath);
  EXPECT_EQ(r.body, R"({"permissions":["t1:jane"],"denied":[],"scoped":{},"revision":43})");
  EXPECT_EQ(r.etag, tag);
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, tag), tag));

  // The answer changes: a new tag, and the old one gets the new answer.
  checker_.extra_permissions = {"assets:read"};
  r = GetIfNoneMatch(kPath, tag);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"permissions":["t1:jane","assets:read"],"denied":[],"scoped":{},"revision":43})");
  EXPECT_NE(r.etag, tag);
  EXPECT_EQ(r.etag.size(), 21u);
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, r.etag), r.etag));
  // Another user's answer has its own tag.
  EXPECT_NE(Get("/v1/tenants/t1/users/sam/permissions").etag, r.etag);

  // 304s are counted per route like any status.
  EXPECT_NE(Get("/metrics").body.find(
                R"(permcache_http_requests_total{route="/v1/tenants/{t}/users/{u}/permissions",)"
                R"(method="GET",code="304"} 6)"),
            std::string::npos);
  // Answers without a tag stay as they were.
  EXPECT_EQ(Get("/v1/tenants/t1/users/jane/membership").etag, "");
  EXPECT_EQ(GetIfNoneMatch("/v1/tenants/t1/users/jane/membership", "*").status, 200);
}

TEST_F(ApiTest, UiConditionalGet) {
  constexpr std::string_view kPath = "/v1/tenants/t1/users/jane/ui?elements=alpha,beta";
  const Response first = Get(kPath);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body, R"({"elements":{"alpha":true,"beta":false},"revision":42})");
  const std::string tag = first.etag;
  ASSERT_EQ(tag.size(), 21u) << tag;
  EXPECT_EQ(first.cache_control, "private, no-cache");
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, tag), tag));
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, "W/" + tag), tag));
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, "\"x\", " + tag), tag));
  EXPECT_TRUE(IsNotModified(GetIfNoneMatch(kPath, "*"), tag));
  Response r = GetIfNoneMatch(kPath, "\"pc-0000000000000000\"");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, first.body);
  r = GetIfNoneMatch(kPath, "\"unterminated");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, first.body);
  r = GetIfNoneMatch(kPath, std::string(kMaxIfNoneMatchBytes, ',') + tag);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, first.body);

  // Other elements asked: another answer, another tag.
  EXPECT_NE(Get("/v1/tenants/t1/users/jane/ui?elements=alpha").etag, tag);

  checker_.revision = 50;
  r = Get(kPath);
  EXPECT_EQ(r.body, R"({"elements":{"alpha":true,"beta":false},"revision":50})");
  EXPECT_EQ(r.etag, tag);

  checker_.hidden_elements = {"alpha"};
  r = GetIfNoneMatch(kPath, tag);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"elements":{"alpha":false,"beta":false},"revision":50})");
  EXPECT_NE(r.etag, tag);

  // Conditions apply to answers only: an invalid request is still a 400, untagged.
  r = GetIfNoneMatch("/v1/tenants/t1/users/jane/ui?elements=a,a", "*");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.etag, "");
  EXPECT_NE(r.body.find("invalid_argument"), std::string::npos);
}

TEST_F(ApiTest, WriteModelInvalidateWithoutToken) {
  Response r = Post("/v1/write", R"({"ops":[{"op":"put_tenant","tenant":"t9"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"revision":43})");
  ASSERT_EQ(checker_.written.size(), 1u);
  EXPECT_EQ(checker_.written[0].tenant, "t9");
  r = Post("/v1/write", R"({"ops":[{"op":"put_tenant","tenant":"t9"},{"op":"nope"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("op 1: unknown op"), std::string::npos);
  checker_.write_status = InvalidArgumentError("op 0 (put_role): tenant t does not exist");
  r = Post("/v1/write", R"({"ops":[{"op":"put_role","tenant":"t","role":"r"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("op 0 (put_role): tenant t does not exist"), std::string::npos);
  checker_.write_status = ConflictError("busy");
  EXPECT_EQ(Post("/v1/write", R"({"ops":[{"op":"put_tenant","tenant":"t"}]})").status, 409);

  r = Get("/v1/model?tenant=acme");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("tenants":[{"tenant":"acme"}])"), std::string::npos);
  EXPECT_EQ(Get("/v1/model?tenant=missing").status, 404);
  EXPECT_EQ(Get("/v1/model?tenants=x").status, 400);
  r = Post("/v1/model", R"({"tenants":[{"tenant":"x"}]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(checker_.imported.tenants.size(), 1u);

  r = Post("/v1/cache/invalidate", R"({"tenant":"t","user":"u"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"invalidated":17})");
  EXPECT_EQ(checker_.last_invalidate.user, "u");
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"all":false})").status, 400);
}

TEST_F(ApiTest, ResourceAndElementChecks) {
  Response r = Get("/v1/check?tenant=t1&permission=media:view&resource=r1&token=tok%2Bx");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_check.user, "");  // anonymous
  EXPECT_EQ(checker_.last_check.resource, "r1");
  EXPECT_EQ(checker_.last_check.token, "tok+x");
  r = Get("/v1/check?tenant=t1&user=jane&element=menu&explain=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_check.element, "menu");
  EXPECT_EQ(checker_.last_check.permission, "");
  EXPECT_NE(r.body.find(R"("kind":"required_role","requirement":"nurse")"), std::string::npos)
      << r.body;
  // Without an element, a permission is still required.
  r = Get("/v1/check?tenant=t1&resource=r1");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("missing query parameter 'permission'"), std::string::npos) << r.body;

  r = Post("/v1/check", R"({"tenant":"t1","permission":"media:view","resource":"r1","token":"k"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_check.user, "");
  EXPECT_EQ(checker_.last_check.token, "k");
  r = Post("/v1/check", R"({"tenant":"t1","user":"u","element":"menu"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_check.element, "menu");
  r = Post("/v1/check", R"({"tenant":"t1","user":"u","element":7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"(field \"element\" must be a string)"), std::string::npos) << r.body;
  r = Post("/v1/check/batch", R"({"checks":[
      {"tenant":"t","permission":"media:view","resource":"r1"},
      {"tenant":"t","user":"u","element":"e1"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_check.element, "e1");
  r = Post("/v1/check/batch", R"({"checks":[{"tenant":"t","user":"u","element":"e","tokn":"x"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find(R"(checks[0]: unknown field \"tokn\")"), std::string::npos) << r.body;
}

TEST_F(ApiTest, Unlock) {
  Response r = Call(Method::kPost, "/v1/resources/unlock",
                    R"({"tenant":"t1","resource":"r1","password":"secret"})", "", "10.1.2.3");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"token":"tok-r1","expires_at":"2023-11-14T22:13:20Z"})");
  EXPECT_EQ(r.cache_control, "no-store");
  EXPECT_LT(r.retry_after_seconds, 0);
  EXPECT_EQ(checker_.last_unlock.client, "10.1.2.3");
  EXPECT_EQ(checker_.last_unlock.tenant, "t1");
  EXPECT_EQ(checker_.last_unlock.resource, "r1");

  r = Post("/v1/resources/unlock", R"({"tenant":"t1","resource":"r1","password":"wrong-pw"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find(R"("code":"permission_denied")"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("wrong-pw"), std::string::npos);
  EXPECT_EQ(r.cache_control, "no-store");
  EXPECT_LT(r.retry_after_seconds, 0);

  r = Post("/v1/resources/unlock", R"({"tenant":"t1","resource":"r1","password":"limited"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find(R"("code":"resource_exhausted")"), std::string::npos) << r.body;
  EXPECT_EQ(r.retry_after_seconds, 42);
  EXPECT_EQ(r.cache_control, "no-store");
  EXPECT_EQ(r.body.find("limited"), std::string::npos) << r.body;

  // Bad input: 400, no-store, and the password never echoed.
  for (std::string_view bad : {R"({"tenant":"t1","resource":"r1"})",
                               R"({"tenant":"t1","resource":"r1","password":12345})",
                               R"({"tenant":"t1","resource":"r1","password":"hunter2","x":1})",
                               R"({"tenant":"t1","resource":"r1","password":"hunter2",)",
                               R"({"tenant":"t1","resource":"r1","password":"hunter2","password":"hunter2"})"}) {
    r = Post("/v1/resources/unlock", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find(R"("code":"invalid_argument")"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << r.body;
    EXPECT_EQ(r.cache_control, "no-store");
  }
  EXPECT_EQ(Get("/v1/resources/unlock").status, 405);
  EXPECT_EQ(Get("/v1/resources/unlock").allow, "POST");
  // Other routes carry no Cache-Control.
  EXPECT_EQ(Get("/healthz").cache_control, "");
}

TEST_F(ApiTest, UiElements) {
  Response r = Get("/v1/tenants/t1/users/jane/ui?elements=alpha,beta,axe");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"elements":{"alpha":true,"beta":false,"axe":true},"revision":42})");
  EXPECT_EQ(checker_.last_ui,
            (std::vector<std::string>{"t1", "jane", "alpha", "beta", "axe"}));
  r = Get("/v1/tenants/t1/users/jane/ui");
  EXPECT_EQ(r.body, R"({"elements":{"alpha":true,"beta":false},"revision":42})");
  EXPECT_EQ(checker_.last_ui, (std::vector<std::string>{"t1", "jane"}));
  EXPECT_EQ(Get("/v1/tenants/t1/users/jane/ui?elements=").status, 200);
  for (std::string_view bad : {"/v1/tenants/t1/users/jane/ui?elements=a,,b",
                               "/v1/tenants/t1/users/jane/ui?elements=a,a",
                               "/v1/tenants/t1/users/jane/ui?element=a"}) {
    r = Get(bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find(R"("code":"invalid_argument")"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Post("/v1/tenants/t1/users/jane/ui", "").status, 405);
  EXPECT_EQ(Get("/v1/tenants/t1/users/jane/ui/x").status, 404);
}

TEST_F(ApiTest, ListResources) {
  Response r = Get("/v1/tenants/t1/resources?user=jane&permission=media:view");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"resources":[{"resource":"r1","type":"media","owner":"jane",)"
                    R"("state":"public"}],"next_cursor":"r1","revision":42})");
  EXPECT_EQ(checker_.last_list.limit, 100u);  // default
  r = Get("/v1/tenants/t%2D1/resources?permission=media:view&type=media&limit=5&cursor=r1");
  EXPECT_EQ(r.status, 200) << r.body;
  // Anonymous: no owner in the fake's row, so the field is left out; no next page.
  EXPECT_EQ(r.body, R"({"resources":[{"resource":"r1","type":"media","state":"public"}],)"
                    R"("revision":42})");
  EXPECT_EQ(checker_.last_list.tenant, "t-1");
  EXPECT_EQ(checker_.last_list.type, "media");
  EXPECT_EQ(checker_.last_list.limit, 5u);
  EXPECT_EQ(checker_.last_list.cursor, "r1");
  struct Case {
    std::string target, part;
  };
  const Case cases[] = {
      {"/v1/tenants/t1/resources?user=u", "missing query parameter 'permission'"},
      {"/v1/tenants/t1/resources?permission=m:v&limit=ten", "'limit' must be a positive integer"},
      {"/v1/tenants/t1/resources?permission=m:v&limit=-1", "'limit'"},
      {"/v1/tenants/t1/resources?permission=m:v&limit=99999999999999", "'limit'"},
      {"/v1/tenants/t1/resources?permission=m:v&limit=0", "limit must be in 1..1000"},  // Checker
      {"/v1/tenants/t1/resources?permission=m:v&sort=x", "unknown query parameter 'sort'"},
  };
  for (const Case& c : cases) {
    r = Get(c.target);
    EXPECT_EQ(r.status, 400) << c.target;
    EXPECT_NE(r.body.find(R"("code":"invalid_argument")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(c.part), std::string::npos) << c.target << " -> " << r.body;
  }
  EXPECT_EQ(Post("/v1/tenants/t1/resources", "").status, 405);
  EXPECT_EQ(Get("/v1/tenants//resources?permission=m:v").status, 404);
}

TEST_F(ApiTest, InvalidateRecords) {
  Response r = Post("/v1/cache/invalidate", R"({"tenant":"t","resource":"r1","user":"u"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_invalidate.resource, "r1");
  EXPECT_EQ(checker_.last_invalidate.user, "u");
  r = Post("/v1/cache/invalidate", R"({"tenant":"t","element":"e1"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(checker_.last_invalidate.element, "e1");
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"tenant":"t","element":1})").status, 400);
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"tenant":"t","resource":""})").status, 400);
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"tenant":"t","record":"x"})").status, 400);
}

TEST_F(ApiTest, StatsRecords) {
  Response r = Get("/v1/cache/stats");
  EXPECT_NE(r.body.find(R"("records":{"resource_records":3,"resource_record_hits":0,)"
                        R"("resource_record_misses":0,"element_records":0,)"
                        R"("element_record_hits":4,"element_record_misses":0,)"
                        R"("invalidations":2,"stale_installs_refused":0,"l2_hits":5,)"
                        R"("l2_misses":6})"),
            std::string::npos)
      << r.body;
}

TEST(RouteTableTest, EveryRouteHasPathMethodAndAdminFlag) {
  for (size_t i = 0; i + 1 < kRouteCount; ++i) {
    const Route route = static_cast<Route>(i);
    EXPECT_NE(RoutePath(route), "other") << i;
    EXPECT_TRUE(RouteMethod(route) == "GET" || RouteMethod(route) == "POST") << i;
  }
  EXPECT_EQ(RoutePath(Route::kOther), "other");
  EXPECT_EQ(RouteMethod(Route::kOther), "");
  EXPECT_EQ(RoutePath(Route::kUi), "/v1/tenants/{t}/users/{u}/ui");
  EXPECT_EQ(RoutePath(Route::kResources), "/v1/tenants/{t}/resources");
  EXPECT_EQ(RoutePath(Route::kUnlock), "/v1/resources/unlock");
  EXPECT_EQ(RouteMethod(Route::kUnlock), "POST");
  EXPECT_FALSE(RouteIsAdmin(Route::kUnlock));
  EXPECT_FALSE(RouteIsAdmin(Route::kCheckGet));
  EXPECT_TRUE(RouteIsAdmin(Route::kWrite));
  EXPECT_TRUE(RouteIsAdmin(Route::kModelGet));
  EXPECT_TRUE(RouteIsAdmin(Route::kCacheInvalidate));
}

class ApiAuthTest : public ApiTest {
 protected:
  ApiAuthTest() : ApiTest("s3cret") {}
};

TEST_F(ApiAuthTest, AdminEndpointsNeedTheToken) {
  const std::string write = R"({"ops":[{"op":"put_tenant","tenant":"t"}]})";
  Response r = Post("/v1/write", write);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find(R"("code":"unauthorized")"), std::string::npos);
  EXPECT_EQ(Post("/v1/write", write, "Bearer wrong").status, 401);
  EXPECT_EQ(Post("/v1/write", write, "Bearer s3cret").status, 200);
  EXPECT_EQ(Get("/v1/model").status, 401);
  EXPECT_EQ(Call(Method::kGet, "/v1/model", "", "Bearer s3cret").status, 200);
  EXPECT_EQ(Post("/v1/model", "{}").status, 401);
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"all":true})").status, 401);
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"all":true})", "Bearer s3cret").status, 200);
  // Auth is checked before the body is even parsed.
  EXPECT_EQ(Post("/v1/write", "not json").status, 401);
  // Not admin: checks, permissions, membership, stats, health, metrics.
  EXPECT_EQ(Get("/v1/check?tenant=t&user=u&permission=assets:read").status, 200);
  EXPECT_EQ(Get("/v1/tenants/t/users/u/permissions").status, 200);
  EXPECT_EQ(Get("/v1/cache/stats").status, 200);
  EXPECT_EQ(Get("/metrics").status, 200);
  // The new routes: unlock, UI and listing are not admin; record invalidation is.
  EXPECT_EQ(Post("/v1/resources/unlock", R"({"tenant":"t","resource":"r","password":"secret"})")
                .status,
            200);
  EXPECT_EQ(Get("/v1/tenants/t/users/u/ui").status, 200);
  EXPECT_EQ(Get("/v1/tenants/t/resources?permission=media:view").status, 200);
  EXPECT_EQ(Post("/v1/cache/invalidate", R"({"tenant":"t","resource":"r"})").status, 401);
  EXPECT_EQ(
      Post("/v1/cache/invalidate", R"({"tenant":"t","resource":"r"})", "Bearer s3cret").status,
      200);
}

TEST_F(ApiTest, RoutingErrors) {
  Response r = Get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"code":"not_found","message":"no route for /nope"}})");
  r = Call(Method::kOther, "/v1/check");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, POST");
  EXPECT_NE(r.body.find("invalid_argument"), std::string::npos);
  r = Get("/v1/write");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_EQ(Post("/healthz", "").status, 405);
}

TEST_F(ApiTest, HealthStatsMetrics) {
  EXPECT_EQ(Get("/healthz").body, R"({"status":"ok"})");
  Response r = Get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ready","store":"up","redis":"disabled","listener":"disabled"})");
  checker_.store_health = UnavailableError("down");
  r = Get("/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"status":"unavailable","store":"down","redis":"disabled","listener":"disabled"})");

  r = Get("/v1/cache/stats");
  EXPECT_NE(r.body.find(R"("entries":5,"hits":9,"misses":1,"hit_rate":0.9)"), std::string::npos)
      << r.body;

  Get("/v1/check?tenant=t&user=u&permission=assets:read");
  r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line : {
           R"(permcache_http_requests_total{route="/v1/check",method="GET",code="200"} 1)",
           R"(permcache_decisions_total{result="allowed"} 1)",
           R"(permcache_cache_hits_total 9)",
           R"(permcache_build_info{version="test"} 1)",
           R"(permcache_http_request_duration_seconds_count{route="/v1/check",method="GET"} 1)",
           R"(permcache_http_requests_total{route="/readyz",method="GET",code="503"} 1)",
           // Every route has its latency series from the start, new routes included.
           R"(permcache_http_request_duration_seconds_count{route="/v1/resources/unlock",method="POST"} 0)",
           R"(permcache_http_request_duration_seconds_count{route="/v1/tenants/{t}/users/{u}/ui",method="GET"} 0)",
           R"(permcache_http_request_duration_seconds_count{route="/v1/tenants/{t}/resources",method="GET"} 0)",
           // The /readyz probe, run on the scrape (the store is still down here).
           "\npermcache_store_up 0\n",
       }) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\n" << r.body;
  }
  checker_.store_health = Status();
  r = Get("/metrics");
  EXPECT_NE(r.body.find("\npermcache_store_up 1\n"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace permcache::http
