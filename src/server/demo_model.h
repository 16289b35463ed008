// The demo model loaded by `permcache serve --demo` (merged with Checker::ImportModel, so
// loading it twice changes nothing).
//
// Seed 002 (hospital UI): tenant "hospital"; roles nurse, senior_nurse (inherits nurse),
// pharmacist; policy "menu_pharmacy" (allow ui:menu_pharmacy) is attached to pharmacist only, so
// Jane (nurse) does not see the pharmacy menu until the nurse role gets that policy:
//   {"ops":[{"op":"put_role_policy","tenant":"hospital","role":"nurse","policy":"menu_pharmacy"}]}
// Users: jane (nurse), sam (senior_nurse), phil (pharmacist), all active members.
//
// Seed 000 (security product): tenants "acme" and "globex", each with roles analyst
// (policy analyst_read: allow assets:read, findings:read) and admin (policy admin_all: allow
// assets:*, findings:*). In globex, admin also has "protect_assets" (deny assets:delete, priority
// 10), so a deny beats the wildcard allow. alice: analyst in acme, admin in globex. bob: analyst
// in acme with a suspended membership (every check denied).
//
// Thread safety: pure function.
#pragma once

#include "permcache/model.h"

namespace permcache {

Model DemoModel();

}  // namespace permcache
