// Helpers for Checker tests: a Checker on a fresh SQLite file and terse op builders.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "permcache/checker.h"
#include "support/temp_dir.h"

namespace permcache::testing {

inline WriteOp PutTenant(std::string t) {
  WriteOp op;
  op.kind = OpKind::kPutTenant;
  op.tenant = std::move(t);
  return op;
}
inline WriteOp PutMember(std::string t, std::string u,
                         MembershipStatus s = MembershipStatus::kActive) {
  WriteOp op;
  op.kind = OpKind::kPutMembership;
  op.tenant = std::move(t);
  op.user = std::move(u);
  op.status = s;
  return op;
}
inline WriteOp PutRole(std::string t, std::string r, std::vector<std::string> inherits = {}) {
  WriteOp op;
  op.kind = OpKind::kPutRole;
  op.tenant = std::move(t);
  op.role = std::move(r);
  op.inherits = std::move(inherits);
  return op;
}
inline WriteOp PutPolicy(std::string t, std::string p, std::vector<std::string> perms,
                         Effect e = Effect::kAllow, int32_t priority = 0, std::string scope = "") {
  WriteOp op;
  op.kind = OpKind::kPutPolicy;
  op.tenant = std::move(t);
  op.policy = std::move(p);
  op.permissions = std::move(perms);
  op.effect = e;
  op.priority = priority;
  op.scope = std::move(scope);
  return op;
}
inline WriteOp Link(OpKind kind, std::string t, std::string a, std::string b,
                    std::string bu = "") {
  WriteOp op;
  op.kind = kind;
  op.tenant = std::move(t);
  switch (kind) {
    case OpKind::kPutRolePolicy:
    case OpKind::kDeleteRolePolicy:
      op.role = std::move(a);
      op.policy = std::move(b);
      break;
    case OpKind::kPutUserRole:
    case OpKind::kDeleteUserRole:
      op.user = std::move(a);
      op.role = std::move(b);
      op.business_unit = std::move(bu);
      break;
    default:
      op.user = std::move(a);
      op.policy = std::move(b);
      break;
  }
  return op;
}

inline std::unique_ptr<Checker> OpenChecker(const std::string& db, Options options = {}) {
  options.store_url = "sqlite:" + db;
  auto checker = Checker::Open(options);
  EXPECT_TRUE(checker.ok()) << checker.status().ToString();
  return checker.ok() ? std::move(checker).value() : nullptr;
}

// Allowed? Fails the test on an error.
inline bool Allowed(Checker& c, std::string_view t, std::string_view u, std::string_view p,
                    std::string_view scope = "", uint64_t at_least = 0) {
  auto d = c.Check({.tenant = t, .user = u, .permission = p, .scope = scope,
                    .at_least_revision = at_least});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() && d->allowed;
}

}  // namespace permcache::testing
