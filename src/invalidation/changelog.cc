#include "invalidation/changelog.h"

#include <algorithm>

namespace permcache {

Status ForEachChangeSince(Store& store, uint64_t after,
                          const std::function<Status(const ChangeSet&)>& fn) {
  constexpr size_t kPage = 1000;
  while (true) {
    auto changes = store.ChangesSince(after, kPage);
    if (!changes.ok()) {
      return UnavailableError("store unavailable: " + changes.status().message());
    }
    for (const ChangeSet& change : *changes) {
      PERMCACHE_RETURN_IF_ERROR(fn(change));
      after = std::max(after, change.revision);
    }
    if (changes->size() < kPage) return Status::Ok();
  }
}

}  // namespace permcache
