// Checker nodes on the store of a StoreTest (SQLite file or real PostgreSQL), for tests that run
// several nodes against one store: each node opens its own connection to url().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "permcache/checker.h"
#include "support/wait_until.h"
#include "unit/store/store_test_util.h"

namespace permcache::store_test {

class CheckerNodesTest : public StoreTest {
 protected:
  // A node on url(), once it trusts its L1 (on PostgreSQL a node bypasses its caches until its
  // listener is up: tests want their first answers really cached).
  std::unique_ptr<Checker> Node() {
    Options o;
    o.store_url = url();
    auto c = Checker::Open(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    std::unique_ptr<Checker> node = std::move(*c);
    EXPECT_TRUE(WaitUntil([&] { return node->Stats().l1_enabled; }));
    return node;
  }
  // Tenant "t".
  static bool Allowed(Checker& c, std::string_view user, std::string_view permission) {
    auto d = c.Check({.tenant = "t", .user = user, .permission = permission});
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() && d->allowed;
  }
};

}  // namespace permcache::store_test
