// JSON codecs of the HTTP API v1 (DESIGN §4): request bodies in (parsed with Boost.JSON, kept
// inside json_codec.cc), response bodies out (JsonWriter, no Boost.JSON).
//
// Parsing is strict: wrong types, missing required fields, unknown fields and unknown ops are
// kInvalidArgument whose message names the field and, for lists, the index ("op 3 (put_role):
// missing field \"role\"", "checks[2]: field \"user\" must be a string"). Nesting deeper than
// `max_depth` is refused. Nothing here throws.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "permcache/checker.h"
#include "permcache/decision.h"
#include "permcache/model.h"
#include "permcache/status.h"

namespace permcache::http {

// One check as received; owns its strings (CheckRequest only views them).
struct CheckInput {
  std::string tenant, user, permission, scope;
  uint64_t at_least_revision = 0;
  bool explain = false;
  std::string resource, token, element;  // DESIGN §7
  // REQUIRES: *this outlives the returned request.
  CheckRequest View() const {
    return {.tenant = tenant,
            .user = user,
            .permission = permission,
            .scope = scope,
            .at_least_revision = at_least_revision,
            .explain = explain,
            .resource = resource,
            .token = token,
            .element = element};
  }
};

// POST /v1/check: {"tenant"[,"user"][,"permission"][,"scope"][,"at_least_revision"][,"explain"]
// [,"resource"][,"token"][,"element"]}. "permission" is required unless "element" is given;
// "user" is optional here (anonymous resource checks): the Checker says which combinations are
// valid.
StatusOr<CheckInput> ParseCheckJson(std::string_view body, size_t max_depth);
// POST /v1/check/batch: {"checks":[...]} with at most `max_checks` entries.
StatusOr<std::vector<CheckInput>> ParseBatchJson(std::string_view body, size_t max_depth,
                                                 size_t max_checks);
// POST /v1/write: {"ops":[{"op":"put_tenant","tenant":"t1"}, ...]}.
StatusOr<std::vector<WriteOp>> ParseWriteJson(std::string_view body, size_t max_depth);
// POST /v1/model: the shape AppendModelJson writes; every section optional.
StatusOr<Model> ParseModelJson(std::string_view body, size_t max_depth);
// POST /v1/cache/invalidate: fields "tenant", "user", "pattern", "resource", "element" (non-empty
// strings) and "all" (true when present). Which combinations form a request (exactly one of
// {"tenant","user"}, {"user"}, {"tenant"}, {"pattern"}, {"all":true},
// {"tenant","resource"[,"user"]}, {"tenant","element"}) is the Checker's rule.
StatusOr<InvalidateRequest> ParseInvalidateJson(std::string_view body, size_t max_depth);

// POST /v1/resources/unlock: {"tenant","resource","password"}, all required strings. No error
// message ever contains the password.
struct UnlockInput {
  std::string tenant, resource, password;
};
StatusOr<UnlockInput> ParseUnlockJson(std::string_view body, size_t max_depth);

// {"allowed":true,"revision":42[,"reason":{...}]}
void AppendDecisionJson(const Decision& decision, std::string* out);
// {"tenants":[...],"business_units":[...],...}: every section present, same field names as ops.
void AppendModelJson(const Model& model, std::string* out);
// {"permissions":[...],"denied":[...],"scoped":{"bu":{"permissions":[...],"denied":[...]}},
//  "revision":42}. "revision" comes last: the ETag hashes everything before it (api.cc).
void AppendPermissionsJson(const EffectivePermissions& perms, std::string* out);
// {"active":true,"status":"active"[,"expires_at":"2026-12-31T00:00:00Z"],"revision":42}
// (status: active, suspended, pending, not_started, expired or none; expires_at: when an active
// membership stops counting, or when a not-started one starts)
void AppendMembershipJson(const MembershipInfo& info, std::string* out);
// {"token":"...","expires_at":"2026-12-02T04:45:00.250Z"} (FormatInstant).
void AppendUnlockJson(const UnlockResult& result, std::string* out);
// {"elements":{"a":true,"b":false},"revision":42}, "revision" last as above.
void AppendUiJson(const UiAnswer& answer, std::string* out);
// {"resources":[{"resource","type"[,"owner"],"state"}...][,"next_cursor":"c"],"revision":42}
void AppendResourceListJson(const ResourceList& list, std::string* out);
// {"entries":..,"hits":..,...,"records":{...},"l2":"<l2>"}
// L1 counters, then "l2": "disabled" or an object with the L2 and bus figures.
void AppendCacheStatsJson(const CacheStats& stats, std::string* out);

}  // namespace permcache::http
