// Turning a backend's changelog rows back into ChangeSets, the same for every backend: the
// revisions of a page (ascending) are read first, then the rows (revision, tenant, user) of
// that range in revision order; a row with no user stands for the whole tenant.
//
// Thread safety: a ChangelogGrouper is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache::store {

class ChangelogGrouper {
 public:
  // `revisions` holds one ChangeSet per revision of the page, ascending, with revision (and
  // committed_at_ms) set; rows are added to them.
  explicit ChangelogGrouper(std::vector<ChangeSet>* revisions) : out_(revisions) {}

  // REQUIRES: rows arrive in ascending revision order. kInternal ("damaged store") for a row
  // whose revision is not in the page.
  Status Add(uint64_t revision, std::string tenant, std::optional<std::string> user);

 private:
  std::vector<ChangeSet>* out_;
  size_t next_ = 0;
};

}  // namespace permcache::store
