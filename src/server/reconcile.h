// `permcache reconcile`: opens the store directly (no server needed) and compares its derived
// tables (PostgreSQL's user_effective_policies) with a from-scratch recompute; with `fix`, also
// repairs them. The runbook step for "triggers were disabled" or "bulk load without triggers".
//
// Thread safety: reentrant.
#pragma once

#include <iosfwd>
#include <string>

namespace permcache {

// Prints a one-line summary and the first differences to `out`. Exit codes: 0 no difference
// (or fixed), 1 differences found (not fixed), 2 bad store URL or a store without derived
// tables, 3 the store is unreachable.
int RunReconcile(const std::string& store_url, bool fix, std::ostream& out, std::ostream& err);

}  // namespace permcache
