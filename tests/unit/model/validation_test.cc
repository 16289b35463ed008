#include <gtest/gtest.h>

#include <string>

#include "permcache/model.h"

namespace permcache {
namespace {

TEST(ValidateIdTest, AcceptsUuidsIntegersEmails) {
  EXPECT_TRUE(ValidateId("user", "66666666-6666-6666-6666-666666666666").ok());
  EXPECT_TRUE(ValidateId("user", "42").ok());
  EXPECT_TRUE(ValidateId("user", "jane.doe@example.com").ok());
  EXPECT_TRUE(ValidateId("user", "A_b-c.d@e").ok());
  EXPECT_TRUE(ValidateId("user", std::string(128, 'x')).ok());
}

TEST(ValidateIdTest, RejectsEmptyLongAndBadChars) {
  EXPECT_EQ(ValidateId("user", "").code(), StatusCode::kInvalidArgument);
  Status long_id = ValidateId("user", std::string(129, 'x'));
  EXPECT_EQ(long_id.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_id.message().find("longer than 128"), std::string::npos);
  for (const char* bad : {"a:b", "a b", "a/b", "ä", "a*", "perms:1:2", "a\nb", "a%20"}) {
    Status s = ValidateId("tenant", bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("tenant"), std::string::npos) << s.message();
  }
}

TEST(ValidatePatternTest, AcceptsSegmentsAndWildcards) {
  for (const char* ok : {"assets:read", "assets:*", "*", "*:read", "ui:menu_pharmacy",
                         "a.b-c_d:e", "x:*:y"}) {
    EXPECT_TRUE(ValidatePattern(ok).ok()) << ok;
  }
}

TEST(ValidatePatternTest, RejectsMalformed) {
  for (const char* bad : {"", ":", "assets:", ":read", "assets::read", "Assets:read", "a:r*",
                          "a b", "a:**", "a/b"}) {
    EXPECT_EQ(ValidatePattern(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidatePattern(std::string(300, 'a')).ok());
}

TEST(ValidatePermissionTest, RejectsWildcards) {
  EXPECT_TRUE(ValidatePermission("assets:read").ok());
  Status s = ValidatePermission("assets:*");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("concrete"), std::string::npos);
  EXPECT_FALSE(ValidatePermission("*").ok());
}

WriteOp Op(OpKind kind) {
  WriteOp op;
  op.kind = kind;
  op.tenant = "t1";
  op.user = "u1";
  op.role = "r1";
  op.policy = "p1";
  op.business_unit = "bu1";
  op.permissions = {"a:b"};
  op.group = "g1";
  return op;
}

TEST(ValidateOpTest, EveryKindValidWithFields) {
  for (size_t k = 0; k < kOpKindCount; ++k) {
    if (static_cast<OpKind>(k) >= OpKind::kPutResource &&
        static_cast<OpKind>(k) <= OpKind::kDeleteUiElement) {
      continue;  // records need their own fields (resource_test, element tests)
    }
    EXPECT_TRUE(ValidateOp(Op(static_cast<OpKind>(k))).ok()) << k;
  }
}

TEST(ValidateOpTest, MissingFieldsNamed) {
  WriteOp op = Op(OpKind::kPutUserRole);
  op.role.clear();
  EXPECT_NE(ValidateOp(op).message().find("role is required"), std::string::npos);
  op = Op(OpKind::kPutPolicy);
  op.permissions.clear();
  EXPECT_NE(ValidateOp(op).message().find("permissions"), std::string::npos);
  op = Op(OpKind::kPutPolicy);
  op.permissions = {"bad pattern"};
  EXPECT_FALSE(ValidateOp(op).ok());
  op = Op(OpKind::kPutPolicy);
  op.scope = "bad:scope";
  EXPECT_NE(ValidateOp(op).message().find("scope"), std::string::npos);
  op = Op(OpKind::kPutTenant);
  op.tenant = "t:1";
  EXPECT_FALSE(ValidateOp(op).ok());
}

TEST(ValidateOpTest, SelfInheritanceIsACycle) {
  WriteOp op = Op(OpKind::kPutRole);
  op.inherits = {"r1"};
  EXPECT_NE(ValidateOp(op).message().find("cycle"), std::string::npos);
}

TEST(ValidateOpsTest, NamesOpIndex) {
  std::vector<WriteOp> ops = {Op(OpKind::kPutTenant), Op(OpKind::kPutTenant),
                              Op(OpKind::kPutMembership)};
  ops[2].user = "bad:user";
  Status s = ValidateOps(ops);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("op 2 (put_membership): ", 0), 0u) << s.message();
  EXPECT_FALSE(ValidateOps({}).ok());
}

}  // namespace
}  // namespace permcache
