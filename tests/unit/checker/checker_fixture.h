// Helpers for Checker tests: a Checker on a fresh SQLite file (op builders: support/write_ops.h).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "permcache/checker.h"
#include "support/temp_dir.h"
#include "support/write_ops.h"

namespace permcache::testing {

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
