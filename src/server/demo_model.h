// The demo model loaded by `permcache serve --demo` (DemoOps, applied with Checker::Write: puts
// only, so loading it twice changes nothing but the restricted resource's password hash, whose
// new salt bumps that resource's version and so revokes its earlier unlock tokens).
//
// Seed 002 (hospital UI): tenant "hospital"; roles nurse, senior_nurse (inherits nurse),
// pharmacist; policy "menu_pharmacy" (allow ui:menu_pharmacy) is attached to pharmacist only, so
// Jane (nurse) does not see the pharmacy menu until the nurse role gets that policy:
//   {"ops":[{"op":"put_role_policy","tenant":"hospital","role":"nurse","policy":"menu_pharmacy"}]}
// Users: jane (nurse), sam (senior_nurse), phil (pharmacist), ada (admin), all active members.
// UI elements: menu_pharmacy (required roles pharmacist/admin, required permissions
// pharmacy:prescriptions:view / pharmacy:inventory:manage, as seed 002), menu_wards (required
// role nurse: sam sees it through senior_nurse > nurse), btn_dispense (required permission
// medication:dispense) and menu_legacy_billing (inactive: hidden from everyone).
//
// Seed 001 (media library): tenant "cinemata"; roles editor (policy media_all: allow media:*)
// and curator (policy media_view: allow media:view); members maya (owner of every resource),
// ed (editor), cora (curator), gus (a resource grant media:view on "diary"). Resources of type
// media: trailer (public), rough-cut (unlisted), diary (private), premiere (restricted, password
// "letmein": `echo letmein | permcache unlock cinemata premiere`).
//
// Seed 000 (security product): tenants "acme" and "globex", each with roles analyst
// (policy analyst_read: allow assets:read, findings:read) and admin (policy admin_all: allow
// assets:*, findings:*). In globex, admin also has "protect_assets" (deny assets:delete, priority
// 10), so a deny beats the wildcard allow. alice: analyst in acme, admin in globex. bob: analyst
// in acme with a suspended membership (every check denied).
//
// Thread safety: pure function.
#pragma once

#include <string_view>
#include <vector>

#include "permcache/model.h"

namespace permcache {

inline constexpr std::string_view kDemoRestrictedResource = "premiere";
inline constexpr std::string_view kDemoRestrictedPassword = "letmein";

// The model (no passwords: they are not part of a Model).
Model DemoModel();
// ModelToOps(DemoModel()) with the restricted resource's plaintext password set (Checker::Write
// hashes it before the store sees it).
std::vector<WriteOp> DemoOps();

}  // namespace permcache
