// Compiles the grants the store read for one (tenant, user) into a PermissionSet.
//
// Thread safety: pure function.
#pragma once

#include "engine/permission_set.h"
#include "permcache/store.h"

namespace permcache {

// Drops grants that can never apply (a policy scoped to one business unit reached through a
// role assigned in another), merges duplicates (same policy through several roles: the shortest
// role path is kept for explain) and sorts rules by priority desc, deny first.
PermissionSet CompilePermissionSet(const UserGrants& grants);

}  // namespace permcache
