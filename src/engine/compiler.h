// Compiles the grants the store read for one (tenant, user) into a PermissionSet.
//
// Thread safety: pure function.
#pragma once

#include "engine/permission_set.h"
#include "permcache/store.h"

namespace permcache {

// The set as it stands at `now_ms` (wall clock, ms since the Unix epoch): grants, roles,
// resource grants and the membership count only inside their intervals, and the set records
// the next instant at which any of them starts or ends (valid_until_ms: no cache may serve the
// set from then on). Drops grants that can never apply (a policy scoped to one business unit
// reached through a role assigned in another), merges duplicates (same policy through several
// roles: the shortest role path is kept for explain) and sorts rules by priority desc, deny
// first.
PermissionSet CompilePermissionSet(const UserGrants& grants, int64_t now_ms);

}  // namespace permcache
