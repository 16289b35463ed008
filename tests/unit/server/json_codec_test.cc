#include "server/http/json_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace permcache::http {
namespace {

constexpr size_t kDepth = 32;

// Asserts `s` is invalid_argument and its message contains `part`.
void ExpectInvalid(const Status& s, std::string_view part) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(part), std::string::npos)
      << "message: " << s.message() << "\nexpected to contain: " << part;
}

StatusOr<std::vector<WriteOp>> Ops(std::string_view body) { return ParseWriteJson(body, kDepth); }

TEST(JsonCodecTest, ParsesEveryOpKind) {
  const std::string body = R"({"ops":[
    {"op":"put_tenant","tenant":"t"},
    {"op":"delete_tenant","tenant":"t"},
    {"op":"put_business_unit","tenant":"t","business_unit":"bu"},
    {"op":"delete_business_unit","tenant":"t","business_unit":"bu"},
    {"op":"put_membership","tenant":"t","user":"u","status":"suspended"},
    {"op":"put_membership","tenant":"t","user":"u"},
    {"op":"delete_membership","tenant":"t","user":"u"},
    {"op":"put_role","tenant":"t","role":"r","inherits":["a","b"]},
    {"op":"delete_role","tenant":"t","role":"r"},
    {"op":"put_policy","tenant":"t","policy":"p","effect":"deny","priority":-7,
     "permissions":["assets:*"],"scope":"bu"},
    {"op":"delete_policy","tenant":"t","policy":"p"},
    {"op":"put_role_policy","tenant":"t","role":"r","policy":"p"},
    {"op":"delete_role_policy","tenant":"t","role":"r","policy":"p"},
    {"op":"put_user_role","tenant":"t","user":"u","role":"r","business_unit":"bu"},
    {"op":"delete_user_role","tenant":"t","user":"u","role":"r"},
    {"op":"put_user_policy","tenant":"t","user":"u","policy":"p"},
    {"op":"delete_user_policy","tenant":"t","user":"u","policy":"p"}]})";
  auto ops = Ops(body);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  ASSERT_EQ(ops->size(), 17u);
  const auto& v = *ops;
  EXPECT_EQ(v[0].kind, OpKind::kPutTenant);
  EXPECT_EQ(v[0].tenant, "t");
  EXPECT_EQ(v[1].kind, OpKind::kDeleteTenant);
  EXPECT_EQ(v[2].kind, OpKind::kPutBusinessUnit);
  EXPECT_EQ(v[2].business_unit, "bu");
  EXPECT_EQ(v[3].kind, OpKind::kDeleteBusinessUnit);
  EXPECT_EQ(v[4].kind, OpKind::kPutMembership);
  EXPECT_EQ(v[4].status, MembershipStatus::kSuspended);
  EXPECT_EQ(v[5].status, MembershipStatus::kActive);  // default
  EXPECT_EQ(v[6].kind, OpKind::kDeleteMembership);
  EXPECT_EQ(v[7].kind, OpKind::kPutRole);
  EXPECT_EQ(v[7].inherits, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v[8].kind, OpKind::kDeleteRole);
  EXPECT_EQ(v[9].kind, OpKind::kPutPolicy);
  EXPECT_EQ(v[9].effect, Effect::kDeny);
  EXPECT_EQ(v[9].priority, -7);
  EXPECT_EQ(v[9].permissions, (std::vector<std::string>{"assets:*"}));
  EXPECT_EQ(v[9].scope, "bu");
  EXPECT_EQ(v[10].kind, OpKind::kDeletePolicy);
  EXPECT_EQ(v[11].kind, OpKind::kPutRolePolicy);
  EXPECT_EQ(v[11].role, "r");
  EXPECT_EQ(v[11].policy, "p");
  EXPECT_EQ(v[12].kind, OpKind::kDeleteRolePolicy);
  EXPECT_EQ(v[13].kind, OpKind::kPutUserRole);
  EXPECT_EQ(v[13].business_unit, "bu");
  EXPECT_EQ(v[14].kind, OpKind::kDeleteUserRole);
  EXPECT_EQ(v[14].business_unit, "");
  EXPECT_EQ(v[15].kind, OpKind::kPutUserPolicy);
  EXPECT_EQ(v[16].kind, OpKind::kDeleteUserPolicy);
  EXPECT_EQ(v[16].user, "u");
}

TEST(JsonCodecTest, OpErrorsNameTheIndexAndField) {
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_tenant","tenant":"t"},{"op":"put_foo"}]})").status(),
                "op 1: unknown op \"put_foo\"");
  ExpectInvalid(Ops(R"({"ops":[{"tenant":"t"}]})").status(), "op 0: missing field \"op\"");
  ExpectInvalid(Ops(R"({"ops":[{"op":7}]})").status(), "op 0: field \"op\" must be a string");
  ExpectInvalid(Ops(R"({"ops":[1]})").status(), "op 0: must be an object");
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_role","tenant":"t"}]})").status(),
                "op 0 (put_role): missing field \"role\"");
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_tenant","tenant":5}]})").status(),
                "op 0 (put_tenant): field \"tenant\" must be a string");
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_tenant","tenant":"t","user":"u"}]})").status(),
                "op 0 (put_tenant): unknown field \"user\"");
  ExpectInvalid(
      Ops(R"({"ops":[{"op":"put_role","tenant":"t","role":"r","inherits":"a"}]})").status(),
      "field \"inherits\" must be an array of strings");
  ExpectInvalid(
      Ops(R"({"ops":[{"op":"put_role","tenant":"t","role":"r","inherits":["a",1]}]})").status(),
      "field \"inherits\"[1] must be a string");
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_membership","tenant":"t","user":"u","status":"x"}]})")
                    .status(),
                "field \"status\" must be \"active\", \"suspended\" or \"pending\"");
}

TEST(JsonCodecTest, PolicyFieldTypes) {
  auto policy = [](std::string_view extra) {
    return Ops(std::string(R"({"ops":[{"op":"put_policy","tenant":"t","policy":"p",)") +
               std::string(extra) + "}]}");
  };
  EXPECT_TRUE(policy(R"("effect":"allow","permissions":[])").ok());
  ExpectInvalid(policy(R"("permissions":["a"])").status(), "missing field \"effect\"");
  ExpectInvalid(policy(R"("effect":"allow")").status(), "missing field \"permissions\"");
  ExpectInvalid(policy(R"("effect":"maybe","permissions":[])").status(),
                "field \"effect\" must be \"allow\" or \"deny\"");
  ExpectInvalid(policy(R"("effect":true,"permissions":[])").status(),
                "field \"effect\" must be a string");
  for (std::string_view prio : {"1.5", "\"1\"", "2147483648", "-2147483649", "true",
                                "18446744073709551615"}) {
    ExpectInvalid(policy(std::string(R"("effect":"allow","permissions":[],"priority":)") +
                         std::string(prio))
                      .status(),
                  "field \"priority\" must be an integer in int32 range");
  }
  auto ok = policy(R"("effect":"allow","permissions":[],"priority":2147483647,"scope":null)");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].priority, 2147483647);
  EXPECT_EQ((*ok)[0].scope, "");
  ExpectInvalid(policy(R"("effect":"allow","permissions":[],"scope":1)").status(),
                "field \"scope\" must be a string");
}

TEST(JsonCodecTest, WriteEnvelopeErrors) {
  ExpectInvalid(Ops("").status(), "empty body");
  ExpectInvalid(Ops("[]").status(), "must be a JSON object");
  ExpectInvalid(Ops("{\"ops\":[}").status(), "malformed JSON");
  ExpectInvalid(Ops("{} x").status(), "malformed JSON");
  ExpectInvalid(Ops("{}").status(), "missing field \"ops\"");
  ExpectInvalid(Ops(R"({"ops":{}})").status(), "field \"ops\" must be an array");
  ExpectInvalid(Ops(R"({"ops":[],"extra":1})").status(), "unknown field \"extra\"");
  auto empty = Ops(R"({"ops":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(JsonCodecTest, DepthLimit) {
  std::string deep = R"({"ops":[{"op":"put_tenant","tenant":"t","x":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}]}";
  ExpectInvalid(ParseWriteJson(deep, kDepth).status(), "JSON nesting deeper than 32");
  ExpectInvalid(ParseWriteJson(R"({"ops":[]})", 1).status(), "nesting deeper than 1");
}

TEST(JsonCodecTest, DuplicateKeysAreRejected) {
  ExpectInvalid(
      ParseCheckJson(R"({"tenant":"t","user":"jane","permission":"p","user":"nobody"})", kDepth)
          .status(),
      "duplicate field \"user\"");
  // In a nested object, and with an escaped spelling of the same key.
  ExpectInvalid(Ops(R"({"ops":[{"op":"put_policy","tenant":"t","policy":"p","effect":"deny",
                        "permissions":["a"],"\u0065ffect":"allow"}]})")
                    .status(),
                "duplicate field \"effect\"");
  // Equal keys in different objects, or at different levels, are not duplicates.
  auto b = ParseBatchJson(R"({"checks":[{"tenant":"t","user":"u","permission":"a"},
                                        {"tenant":"t","user":"u","permission":"b"}]})",
                          kDepth, 10);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->size(), 2u);
  // Malformed JSON still gets the syntax error, not a duplicate-key one.
  ExpectInvalid(ParseCheckJson(R"({"user":"a","user":)", kDepth).status(), "malformed JSON");
}

TEST(JsonCodecTest, Check) {
  auto c = ParseCheckJson(
      R"({"tenant":"t","user":"u","permission":"a:b","scope":"bu","at_least_revision":42,
          "explain":true})",
      kDepth);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->tenant, "t");
  EXPECT_EQ(c->scope, "bu");
  EXPECT_EQ(c->at_least_revision, 42u);
  EXPECT_TRUE(c->explain);
  const CheckRequest r = c->View();
  EXPECT_EQ(r.permission, "a:b");
  ExpectInvalid(ParseCheckJson(R"({"tenant":"t","user":"u"})", kDepth).status(),
                "missing field \"permission\"");
  ExpectInvalid(
      ParseCheckJson(R"({"tenant":"t","user":"u","permission":"p","explain":1})", kDepth)
          .status(),
      "field \"explain\" must be true or false");
  ExpectInvalid(ParseCheckJson(
                    R"({"tenant":"t","user":"u","permission":"p","at_least_revision":-1})", kDepth)
                    .status(),
                "field \"at_least_revision\" must be a non-negative integer");
  ExpectInvalid(
      ParseCheckJson(R"({"tenant":"t","user":"u","permission":"p","scpoe":"x"})", kDepth)
          .status(),
      "unknown field \"scpoe\"");
}

TEST(JsonCodecTest, Batch) {
  auto b = ParseBatchJson(
      R"({"checks":[{"tenant":"t","user":"u","permission":"a"},
                    {"tenant":"t","user":"v","permission":"b","explain":true}]})",
      kDepth, 1000);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[1].user, "v");
  ExpectInvalid(ParseBatchJson(R"({"checks":[{"tenant":"t","user":"u","permission":"a"},
                                              {"tenant":"t","user":1,"permission":"a"}]})",
                               kDepth, 1000)
                    .status(),
                "checks[1]: field \"user\" must be a string");
  std::string many = R"({"checks":[)";
  for (int i = 0; i < 3; ++i) many += std::string(i ? "," : "") + "{}";
  many += "]}";
  ExpectInvalid(ParseBatchJson(many, kDepth, 2).status(), "at most 2 checks");
  ExpectInvalid(ParseBatchJson("{}", kDepth, 2).status(), "missing field \"checks\"");
}

TEST(JsonCodecTest, Invalidate) {
  auto one = [](std::string_view body) { return ParseInvalidateJson(body, kDepth); };
  auto tu = one(R"({"tenant":"t","user":"u"})");
  ASSERT_TRUE(tu.ok());
  EXPECT_EQ(tu->tenant, "t");
  EXPECT_EQ(tu->user, "u");
  EXPECT_EQ(one(R"({"user":"u"})")->user, "u");
  EXPECT_EQ(one(R"({"tenant":"t"})")->tenant, "t");
  EXPECT_EQ(one(R"({"pattern":"perms:42:*"})")->pattern, "perms:42:*");
  EXPECT_TRUE(one(R"({"all":true})")->all);
  auto res = one(R"({"tenant":"t","resource":"r1","user":"u"})");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->resource, "r1");
  EXPECT_EQ(res->user, "u");
  EXPECT_EQ(one(R"({"tenant":"t","element":"e1"})")->element, "e1");
  // Which combinations are valid is the Checker's rule (ValidateInvalidate), not the parser's.
  EXPECT_TRUE(one(R"({})").ok());
  EXPECT_TRUE(one(R"({"all":true,"user":"u"})").ok());
  for (std::string_view bad :
       {R"({"all":false})", R"({"tenant":""})", R"({"resource":""})", R"({"element":""})",
        R"({"all":"yes"})", R"({"other":1})", R"({"tenant":"t","element":3})",
        R"({"tenant":"t","resource":["r"]})"}) {
    EXPECT_EQ(one(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  ExpectInvalid(one(R"({"tenant":"t","elements":"e"})").status(), "unknown field \"elements\"");
}

TEST(JsonCodecTest, CheckResourceAndElementFields) {
  auto c = ParseCheckJson(R"({"tenant":"t","permission":"media:view","resource":"r","token":"k"})",
                          kDepth);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "");  // optional: anonymous
  const CheckRequest r = c->View();
  EXPECT_EQ(r.resource, "r");
  EXPECT_EQ(r.token, "k");
  auto e = ParseCheckJson(R"({"tenant":"t","user":"u","element":"menu"})", kDepth);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->View().element, "menu");
  EXPECT_EQ(e->View().permission, "");
  ExpectInvalid(ParseCheckJson(R"({"tenant":"t","resource":"r"})", kDepth).status(),
                "missing field \"permission\"");
  ExpectInvalid(ParseCheckJson(R"({"tenant":"t","permission":"a:b","token":1})", kDepth).status(),
                "field \"token\" must be a string");
  ExpectInvalid(
      ParseCheckJson(R"({"tenant":"t","permission":"a:b","resource":true})", kDepth).status(),
      "field \"resource\" must be a string");
  ExpectInvalid(ParseCheckJson(R"({"permission":"a:b"})", kDepth).status(),
                "missing field \"tenant\"");
}

TEST(JsonCodecTest, Unlock) {
  auto u = ParseUnlockJson(R"({"tenant":"t","resource":"r","password":"pw"})", kDepth);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->tenant, "t");
  EXPECT_EQ(u->resource, "r");
  EXPECT_EQ(u->password, "pw");
  ExpectInvalid(ParseUnlockJson(R"({"tenant":"t","resource":"r"})", kDepth).status(),
                "missing field \"password\"");
  ExpectInvalid(ParseUnlockJson(R"({"tenant":"t","resource":"r","password":1})", kDepth).status(),
                "field \"password\" must be a string");
  const Status extra =
      ParseUnlockJson(R"({"tenant":"t","resource":"r","password":"zzsecretzz","user":"u"})", kDepth)
          .status();
  ExpectInvalid(extra, "unknown field \"user\"");
  EXPECT_EQ(extra.message().find("zzsecretzz"), std::string::npos);
}

// Validity intervals on the wire (DESIGN §8): RFC 3339 in, UTC ms inside, UTC out.
TEST(JsonCodecTest, IntervalsAreRfc3339AndErrorsNameTheField) {
  auto ops = ParseWriteJson(
      R"({"ops":[{"op":"put_membership","tenant":"t","user":"u","status":"pending",)"
      R"("starts_at":"2026-12-01T13:00:00+01:00","expires_at":"2026-12-02T12:00:00.5Z"}]})",
      kDepth);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  EXPECT_EQ((*ops)[0].status, MembershipStatus::kPending);
  EXPECT_EQ((*ops)[0].starts_at_ms, 1'796'126'400'000);
  EXPECT_EQ((*ops)[0].expires_at_ms, 1'796'212'800'500);
  Model m;
  m.memberships.push_back({"t", "u", MembershipStatus::kPending, 1'796'126'400'000, std::nullopt});
  std::string out;
  AppendModelJson(m, &out);
  EXPECT_NE(out.find(R"("status":"pending","starts_at":"2026-12-01T12:00:00Z"})"),
            std::string::npos)
      << out;
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"put_user_role","tenant":"t","user":"u",)"
                               R"("role":"r","expires_at":"tomorrow"}]})",
                               kDepth)
                    .status(),
                "field \"expires_at\" must be an RFC 3339 instant");
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"put_user_role","tenant":"t","user":"u",)"
                               R"("role":"r","expires_at":1796126400}]})",
                               kDepth)
                    .status(),
                "expires_at");
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"delete_user_role","tenant":"t","user":"u",)"
                               R"("role":"r","expires_at":"2026-12-01T12:00:00Z"}]})",
                               kDepth)
                    .status(),
                "unknown field \"expires_at\"");
  auto reversed = ParseWriteJson(R"({"ops":[{"op":"put_user_policy","tenant":"t","user":"u",)"
                                 R"("policy":"p","starts_at":"2026-12-02T00:00:00Z",)"
                                 R"("expires_at":"2026-12-01T00:00:00Z"}]})",
                                 kDepth);
  ASSERT_TRUE(reversed.ok());
  ExpectInvalid(ValidateOps(*reversed), "expires_at (2026-12-01T00:00:00Z) must be after starts_at");
}

TEST(JsonCodecTest, UnlockAnswerCarriesTheExpiryInRfc3339) {
  std::string out;
  AppendUnlockJson({"tok", 1'700'000'000'000}, &out);
  EXPECT_EQ(out, R"({"token":"tok","expires_at":"2023-11-14T22:13:20Z"})");
}

TEST(JsonCodecTest, UiAndResourceList) {
  std::string out;
  AppendUiJson({{{"a", true}, {"b", false}}, 9}, &out);
  EXPECT_EQ(out, R"({"elements":{"a":true,"b":false},"revision":9})");
  out.clear();
  AppendUiJson({{}, 9}, &out);
  EXPECT_EQ(out, R"({"elements":{},"revision":9})");
  ResourceList l;
  l.resources.push_back({"r1", "media", "jane", ResourceState::kRestricted});
  l.resources.push_back({"r2", "media", "", ResourceState::kUnlisted});
  l.next_cursor = "r2";
  l.revision = 3;
  out.clear();
  AppendResourceListJson(l, &out);
  EXPECT_EQ(out, R"({"resources":[{"resource":"r1","type":"media","owner":"jane",)"
                 R"("state":"restricted"},{"resource":"r2","type":"media","state":"unlisted"}],)"
                 R"("next_cursor":"r2","revision":3})");
  out.clear();
  AppendResourceListJson(ResourceList{}, &out);
  EXPECT_EQ(out, R"({"resources":[],"revision":0})");
}

Model SampleModel() {
  Model m;
  m.tenants = {{"t1"}, {"t2"}};
  m.business_units = {{"t1", "bu1"}};
  m.memberships = {{"t1", "jane", MembershipStatus::kActive},
                   {"t1", "bob", MembershipStatus::kSuspended}};
  m.roles = {{"t1", "nurse", {}}, {"t1", "senior", {"nurse"}}};
  m.policies = {{"t1", "p1", Effect::kAllow, 0, {"ui:menu", "a:*"}, ""},
                {"t1", "p2", Effect::kDeny, -3, {"a:delete"}, "bu1"}};
  m.role_policies = {{"t1", "nurse", "p1"}};
  m.user_roles = {{"t1", "jane", "nurse", ""}, {"t1", "bob", "senior", "bu1"}};
  m.user_policies = {{"t1", "jane", "p2"}};
  return m;
}

TEST(JsonCodecTest, GroupOpsAndTheirErrors) {
  auto ops = ParseWriteJson(
      R"({"ops":[{"op":"put_group","tenant":"t","group":"school","status":"suspended",)"
      R"("expires_at":"2026-12-02T12:00:00Z"},{"op":"put_group","tenant":"t","group":"g"},)"
      R"({"op":"put_group_member","tenant":"t","group":"school","user":"u"},)"
      R"({"op":"delete_group_member","tenant":"t","group":"school","user":"u"},)"
      R"({"op":"put_group_role","tenant":"t","group":"school","role":"r","business_unit":"bu"},)"
      R"({"op":"delete_group_role","tenant":"t","group":"school","role":"r"},)"
      R"({"op":"put_group_policy","tenant":"t","group":"school","policy":"p"},)"
      R"({"op":"delete_group_policy","tenant":"t","group":"school","policy":"p"},)"
      R"({"op":"delete_group","tenant":"t","group":"school"}]})",
      kDepth);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  ASSERT_EQ(ops->size(), 9u);
  const auto& v = *ops;
  EXPECT_EQ(v[0].kind, OpKind::kPutGroup);
  EXPECT_EQ(v[0].group, "school");
  EXPECT_EQ(v[0].status, MembershipStatus::kSuspended);
  EXPECT_EQ(v[0].expires_at_ms, 1'796'212'800'000);
  EXPECT_EQ(v[1].status, MembershipStatus::kActive);  // default
  EXPECT_EQ(v[2].kind, OpKind::kPutGroupMember);
  EXPECT_EQ(v[2].user, "u");
  EXPECT_EQ(v[3].kind, OpKind::kDeleteGroupMember);
  EXPECT_EQ(v[4].kind, OpKind::kPutGroupRole);
  EXPECT_EQ(v[4].business_unit, "bu");
  EXPECT_EQ(v[5].kind, OpKind::kDeleteGroupRole);
  EXPECT_EQ(v[5].business_unit, "");
  EXPECT_EQ(v[6].kind, OpKind::kPutGroupPolicy);
  EXPECT_EQ(v[6].policy, "p");
  EXPECT_EQ(v[7].kind, OpKind::kDeleteGroupPolicy);
  EXPECT_EQ(v[8].kind, OpKind::kDeleteGroup);
  EXPECT_TRUE(ValidateOps(v).ok());
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"put_group","tenant":"t","group":"g",)"
                               R"("status":"pending"}]})",
                               kDepth)
                    .status(),
                R"(field "status" must be "active" or "suspended")");
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"put_group_member","tenant":"t","group":"g"}]})",
                               kDepth)
                    .status(),
                "user");
  ExpectInvalid(ParseWriteJson(R"({"ops":[{"op":"put_group","tenant":"t","group":"g",)"
                               R"("starts_at":"2026-12-02T00:00:00Z","expires_at":"yesterday"}]})",
                               kDepth)
                    .status(),
                "field \"expires_at\" must be an RFC 3339 instant");
  auto reversed = ParseWriteJson(R"({"ops":[{"op":"put_group","tenant":"t","group":"g",)"
                                 R"("starts_at":"2026-12-02T00:00:00Z",)"
                                 R"("expires_at":"2026-12-02T00:00:00Z"}]})",
                                 kDepth);
  ASSERT_TRUE(reversed.ok());
  ExpectInvalid(ValidateOps(*reversed), "expires_at (2026-12-02T00:00:00Z) must be after starts_at");
  WriteOp pending = v[1];
  pending.status = MembershipStatus::kPending;  // only a C++ caller can build this one
  ExpectInvalid(ValidateOp(pending), "status of a group must be");
  // The model carries the group sections; the membership answer says how it holds.
  Model m;
  m.groups.push_back({"t", "school", MembershipStatus::kActive, std::nullopt, 1'796'212'800'000});
  m.group_members.push_back({"t", "school", "u"});
  m.group_roles.push_back({"t", "school", "r", "bu"});
  m.group_policies.push_back({"t", "school", "p"});
  std::string json;
  AppendModelJson(m, &json);
  EXPECT_NE(json.find(R"("groups":[{"tenant":"t","group":"school","status":"active",)"
                      R"("expires_at":"2026-12-02T12:00:00Z"}])"),
            std::string::npos)
      << json;
  auto back = ParseModelJson(json, kDepth);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  std::string membership;
  AppendMembershipJson({true, "active", 3, std::nullopt, "group:school"}, &membership);
  EXPECT_EQ(membership, R"({"active":true,"status":"active","via":"group:school","revision":3})");
}

TEST(JsonCodecTest, ModelRoundTrip) {
  const Model m = SampleModel();
  std::string json;
  AppendModelJson(m, &json);
  auto back = ParseModelJson(json, kDepth);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << json;
  EXPECT_EQ(*back, m);
  // Optional fields are omitted when empty.
  EXPECT_NE(json.find(R"({"tenant":"t1","user":"jane","role":"nurse"})"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("scope":"bu1")"), std::string::npos);

  std::string empty_json;
  AppendModelJson(Model{}, &empty_json);
  EXPECT_EQ(empty_json,
            R"({"tenants":[],"business_units":[],"memberships":[],"roles":[],"policies":[],)"
            R"("role_policies":[],"user_roles":[],"user_policies":[],"resources":[],"resource_grants":[],)"
            R"("ui_elements":[],"groups":[],"group_members":[],"group_roles":[],"group_policies":[]})");
  EXPECT_EQ(*ParseModelJson("{}", kDepth), Model{});
}

TEST(JsonCodecTest, ModelErrorsNameSectionAndIndex) {
  ExpectInvalid(ParseModelJson(R"({"roles":[{"tenant":"t","role":"r"},{"tenant":"t"}]})", kDepth)
                    .status(),
                "roles[1]: missing field \"role\"");
  ExpectInvalid(ParseModelJson(R"({"tenant":[]})", kDepth).status(), "unknown field \"tenant\"");
  ExpectInvalid(ParseModelJson(R"({"policies":{}})", kDepth).status(),
                "field \"policies\" must be an array");
  ExpectInvalid(ParseModelJson(R"({"tenants":[{"tenant":"t","op":"put_tenant"}]})", kDepth)
                    .status(),
                "tenants[0]: unknown field \"op\"");
}

TEST(JsonCodecTest, DecisionJson) {
  Decision d;
  d.allowed = true;
  d.revision = 42;
  std::string out;
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out, R"({"allowed":true,"revision":42})");
  Reason r;
  r.kind = "policy";
  r.policy = "p1";
  r.effect = Effect::kDeny;
  r.priority = 10;
  r.matched_pattern = "assets:delete";
  r.role_path = "admin";
  r.tier = CacheTier::kL1;
  r.entry_age_ms = 5;
  r.set_revision = 40;
  d.allowed = false;
  d.reason = r;
  out.clear();
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out,
            R"({"allowed":false,"revision":42,"reason":{"kind":"policy","policy":"p1",)"
            R"("effect":"deny","priority":10,"matched_pattern":"assets:delete",)"
            R"("role_path":"admin","business_unit":"","tier":"l1","entry_age_ms":5,)"
            R"("set_revision":40}})");
  d.reason->kind = "no_membership";
  out.clear();
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out, R"({"allowed":false,"revision":42,"reason":{"kind":"no_membership",)"
                 R"("tier":"l1","entry_age_ms":5,"set_revision":40}})");
  d.reason->kind = "resource_grant";  // names the grant's pattern
  out.clear();
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out, R"({"allowed":false,"revision":42,"reason":{"kind":"resource_grant",)"
                 R"("matched_pattern":"assets:delete","tier":"l1","entry_age_ms":5,)"
                 R"("set_revision":40}})");
  d.reason->kind = "required_permission";
  d.reason->matched_pattern.clear();
  d.reason->requirement = "pharmacy:read";
  out.clear();
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out, R"({"allowed":false,"revision":42,"reason":{"kind":"required_permission",)"
                 R"("requirement":"pharmacy:read","tier":"l1","entry_age_ms":5,)"
                 R"("set_revision":40}})");
}

TEST(JsonCodecTest, PermissionsMembershipStats) {
  EffectivePermissions p;
  p.permissions = {"a:read"};
  p.denied = {"a:delete"};
  p.scoped.push_back({"bu1", {"b:*"}, {}});
  p.revision = 7;
  std::string out;
  AppendPermissionsJson(p, &out);
  EXPECT_EQ(out, R"({"permissions":["a:read"],"denied":["a:delete"],)"
                 R"("scoped":{"bu1":{"permissions":["b:*"],"denied":[]}},"revision":7})");
  out.clear();
  AppendMembershipJson({true, "active", 3}, &out);
  EXPECT_EQ(out, R"({"active":true,"status":"active","revision":3})");
  out.clear();
  AppendMembershipJson({false, "not_started", 3, 1'796'126'400'000}, &out);
  EXPECT_EQ(out, R"({"active":false,"status":"not_started","expires_at":"2026-12-01T12:00:00Z",)"
                 R"("revision":3})");
  out.clear();
  Decision d;
  d.reason = Reason{};
  d.reason->kind = "membership_expired";
  AppendDecisionJson(d, &out);
  EXPECT_EQ(out.find("expires_at"), std::string::npos) << out;
  d.reason->kind = "policy";
  d.reason->expires_at_ms = 1'796'126'400'250;
  out.clear();
  AppendDecisionJson(d, &out);
  EXPECT_NE(out.find(R"("expires_at":"2026-12-01T12:00:00.250Z")"), std::string::npos) << out;
  CacheStats s;
  s.hits = 3;
  s.misses = 1;
  out.clear();
  AppendCacheStatsJson(s, &out);
  EXPECT_NE(out.find(R"("hits":3,"misses":1,"hit_rate":0.75,"evictions":0)"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("l2":"disabled"})"), std::string::npos);
  EXPECT_NE(out.find(R"("records":{"resource_records":0,)"), std::string::npos) << out;
  s.l2_enabled = true;
  s.l2_up = true;
  s.l2_hits = 5;
  s.newest_seen_revision = 9;
  s.applied_revision = 7;
  out.clear();
  AppendCacheStatsJson(s, &out);
  EXPECT_NE(out.find(R"("l2":{"status":"up","bus":"down","keys":0,"hits":5,)"), std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("bus_lag":2})"), std::string::npos) << out;
  for (const char* k : {"entries", "invalidations", "memory_bytes", "distinct_sets",
                        "expirations", "stale_installs_refused", "fills", "applied_revision"}) {
    EXPECT_NE(out.find(std::string("\"") + k + "\":"), std::string::npos) << k;
  }
}

}  // namespace
}  // namespace permcache::http
