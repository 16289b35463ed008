#include "e2e/e2e_util.h"

namespace permcache::e2e {

std::unique_ptr<testing::PermcacheServer> ServerTest::server_;

json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return ec ? json::value(nullptr) : v;
}

::testing::AssertionResult IsError(const StatusOr<client::HttpResponse>& res, int status,
                                   const std::string& code) {
  if (!res.ok()) return ::testing::AssertionFailure() << "transport: " << res.status().ToString();
  if (res->status != status) {
    return ::testing::AssertionFailure()
           << "HTTP " << res->status << " (want " << status << "): " << res->body;
  }
  boost::system::error_code ec;
  const json::value v = json::parse(res->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error") || !v.at("error").is_object()) {
    return ::testing::AssertionFailure() << "no {\"error\":{...}} body: " << res->body;
  }
  const auto& e = v.at("error").as_object();
  const auto* c = e.if_contains("code");
  const auto* m = e.if_contains("message");
  if (c == nullptr || !c->is_string() || c->as_string() != code) {
    return ::testing::AssertionFailure() << "error code is not " << code << ": " << res->body;
  }
  if (m == nullptr || !m->is_string() || m->as_string().empty()) {
    return ::testing::AssertionFailure() << "error without a message: " << res->body;
  }
  return ::testing::AssertionSuccess();
}

std::string Op(const std::string& op, const json::object& fields) {
  json::object o = fields;
  o["op"] = op;
  return json::serialize(o);
}

std::string HospitalOps(const std::string& t) {
  const std::string s[] = {
      Op("put_tenant", {{"tenant", t}}),
      Op("put_role", {{"tenant", t}, {"role", "nurse"}}),
      Op("put_role", {{"tenant", t}, {"role", "senior_nurse"}, {"inherits", {"nurse"}}}),
      Op("put_role", {{"tenant", t}, {"role", "doctor"}}),
      Op("put_policy", {{"tenant", t},
                        {"policy", "patients"},
                        {"effect", "allow"},
                        {"permissions", {"ui:menu_patients"}}}),
      Op("put_policy", {{"tenant", t},
                        {"policy", "pharmacy"},
                        {"effect", "allow"},
                        {"permissions", {"ui:menu_pharmacy"}}}),
      Op("put_role_policy", {{"tenant", t}, {"role", "nurse"}, {"policy", "patients"}}),
      Op("put_role_policy", {{"tenant", t}, {"role", "doctor"}, {"policy", "patients"}}),
      Op("put_role_policy", {{"tenant", t}, {"role", "doctor"}, {"policy", "pharmacy"}}),
      Op("put_membership", {{"tenant", t}, {"user", "jane"}, {"status", "active"}}),
      Op("put_membership", {{"tenant", t}, {"user", "sam"}, {"status", "active"}}),
      Op("put_membership", {{"tenant", t}, {"user", "greg"}, {"status", "active"}}),
      Op("put_user_role", {{"tenant", t}, {"user", "jane"}, {"role", "nurse"}}),
      Op("put_user_role", {{"tenant", t}, {"user", "sam"}, {"role", "senior_nurse"}}),
      Op("put_user_role", {{"tenant", t}, {"user", "greg"}, {"role", "doctor"}}),
  };
  std::string out;
  for (const auto& op : s) out += (out.empty() ? "" : ",") + op;
  return out;
}

std::string TwoTenantsOps(const std::string& acme, const std::string& globex) {
  std::string out;
  for (const std::string& t : {acme, globex}) {
    const std::string s[] = {
        Op("put_tenant", {{"tenant", t}}),
        Op("put_role", {{"tenant", t}, {"role", "viewer"}}),
        Op("put_role", {{"tenant", t}, {"role", "admin"}}),
        Op("put_policy", {{"tenant", t},
                          {"policy", "read_assets"},
                          {"effect", "allow"},
                          {"permissions", {"assets:read"}}}),
        Op("put_policy", {{"tenant", t},
                          {"policy", "all_assets"},
                          {"effect", "allow"},
                          {"permissions", {"assets:*"}}}),
        Op("put_role_policy", {{"tenant", t}, {"role", "viewer"}, {"policy", "read_assets"}}),
        Op("put_role_policy", {{"tenant", t}, {"role", "admin"}, {"policy", "all_assets"}}),
        Op("put_membership", {{"tenant", t}, {"user", "alice"}, {"status", "active"}}),
        Op("put_user_role", {{"tenant", t}, {"user", "alice"}, {"role", "viewer"}}),
    };
    for (const auto& op : s) out += (out.empty() ? "" : ",") + op;
  }
  return out;
}

void ServerTest::SetUpTestSuite() {
  testing::PermcacheServerOptions options;
  options.admin_token = kToken;
  options.extra_args = {"--consistency-timeout", "300ms"};
  auto s = testing::PermcacheServer::Start(options);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
}

void ServerTest::TearDownTestSuite() {
  if (server_) {
    const int code = server_->Stop();
    EXPECT_EQ(code, 0) << "server did not stop cleanly: " << server_->Logs();
    server_.reset();
  }
}

void ServerTest::SetUp() {
  ASSERT_NE(server_, nullptr) << "no server";
  admin_ = server_->NewClient(kToken);
  anon_ = server_->NewClient();
}

std::string ServerTest::TenantFor(const std::string& suffix) const {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return "t-" + name + (suffix.empty() ? "" : "-" + suffix);
}

uint64_t ServerTest::Write(const std::string& ops_csv) {
  auto res = Post("/v1/write", "{\"ops\":[" + ops_csv + "]}");
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return 0;
  EXPECT_EQ(res->status, 200) << res->body;
  const json::value v = ParseJson(res->body);
  if (res->status != 200 || !v.is_object() || !v.as_object().contains("revision")) return 0;
  return v.at("revision").to_number<uint64_t>();
}

json::object ServerTest::Check(const std::string& tenant, const std::string& user,
                               const std::string& permission, const json::object& extra) {
  json::object body = extra;
  body["tenant"] = tenant;
  body["user"] = user;
  body["permission"] = permission;
  auto res = anon_->Post("/v1/check", json::serialize(body));
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return {};
  EXPECT_EQ(res->status, 200) << res->body;
  const json::value v = ParseJson(res->body);
  if (res->status != 200 || !v.is_object()) return {};
  EXPECT_TRUE(v.as_object().contains("allowed")) << res->body;
  EXPECT_TRUE(v.as_object().contains("revision")) << res->body;
  return v.as_object();
}

bool ServerTest::Allowed(const std::string& tenant, const std::string& user,
                         const std::string& permission, const std::string& scope) {
  json::object extra;
  if (!scope.empty()) extra["scope"] = scope;
  const json::object o = Check(tenant, user, permission, extra);
  const auto* a = o.if_contains("allowed");
  return a != nullptr && a->is_bool() && a->as_bool();
}

void ServerTest::ExpectStillServing() {
  auto fresh = server_->NewClient();
  auto res = fresh->Get("/healthz");
  ASSERT_TRUE(res.ok()) << "server stopped answering: " << res.status().ToString() << "\n"
                        << server_->Logs();
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(server_->process().Running()) << server_->Logs();
}

}  // namespace permcache::e2e
