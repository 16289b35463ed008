// Reading the store's changelog page by page (catch-up after a gap, re-applying changes to L2).
//
// Thread safety: as the Store's.
#pragma once

#include <cstdint>
#include <functional>

#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache {

// Calls fn on every changelog entry with revision > `after`, oldest first, reading the store
// in pages. Stops at the first error (the store's, as kUnavailable, or fn's) and returns it.
Status ForEachChangeSince(Store& store, uint64_t after,
                          const std::function<Status(const ChangeSet&)>& fn);

}  // namespace permcache
