// Embedding permcache: open a store, write a small model, and check in-process.
// Built and run by the tests (ctest: embedded_example).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "permcache/checker.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "embedded-example.db";
  permcache::Options options;
  options.store_url = "sqlite:" + path;
  auto checker = permcache::Checker::Open(options);
  if (!checker.ok()) {
    std::fprintf(stderr, "open: %s\n", checker.status().ToString().c_str());
    return 1;
  }
  auto& pc = **checker;

  using permcache::OpKind;
  std::vector<permcache::WriteOp> ops(5);
  ops[0].kind = OpKind::kPutTenant;
  ops[0].tenant = "hospital";
  ops[1].kind = OpKind::kPutRole;
  ops[1].tenant = "hospital";
  ops[1].role = "nurse";
  ops[2].kind = OpKind::kPutPolicy;
  ops[2].tenant = "hospital";
  ops[2].policy = "menu_pharmacy";
  ops[2].permissions = {"ui:menu_pharmacy"};
  ops[3].kind = OpKind::kPutMembership;
  ops[3].tenant = "hospital";
  ops[3].user = "jane";
  ops[4].kind = OpKind::kPutUserRole;
  ops[4].tenant = "hospital";
  ops[4].user = "jane";
  ops[4].role = "nurse";
  if (auto rev = pc.Write(ops); !rev.ok()) {
    std::fprintf(stderr, "write: %s\n", rev.status().ToString().c_str());
    return 1;
  }

  permcache::CheckRequest check{.tenant = "hospital", .user = "jane",
                                .permission = "ui:menu_pharmacy"};
  auto before = pc.Check(check);
  // Seed 002: give the nurse role the pharmacy menu; Jane sees it on her very next check.
  std::vector<permcache::WriteOp> grant(1);
  grant[0].kind = OpKind::kPutRolePolicy;
  grant[0].tenant = "hospital";
  grant[0].role = "nurse";
  grant[0].policy = "menu_pharmacy";
  auto rev = pc.Write(grant);
  auto after = pc.Check(check);
  if (!before.ok() || !rev.ok() || !after.ok()) {
    std::fprintf(stderr, "check failed\n");
    return 1;
  }
  std::printf("before grant: %s\nafter grant (revision %llu): %s\n",
              before->allowed ? "allowed" : "denied", static_cast<unsigned long long>(*rev),
              after->allowed ? "allowed" : "denied");
  // Exit 0 only when the grant became visible at once, so the test that runs this can fail.
  return (!before->allowed && after->allowed) ? 0 : 1;
}
