// JSON codecs of the Redis L2 cache: the entry value stored under "perms:{user}:{tenant}" and
// the messages on the invalidation bus. Boost.JSON stays inside codec.cc.
//
// Entry value (docs/redis.md):
//   {"permissions":[...], "denied":[...], "membership":"active|suspended|none",
//    "grants":[{"policy","effect","priority","permissions","policy_scope","assignment_scope",
//               "role_path"[,"starts_at_ms"][,"expires_at_ms"]},...], "roles":[held roles],
//    ["bounded_roles":[{"role","starts_at_ms","expires_at_ms"},...],]
//    ["groups":[{"group","active"[,"starts_at_ms"][,"expires_at_ms"]},...],]
//    "resource_grants":[{"resource","permissions"[,"starts_at_ms"][,"expires_at_ms"]},...],
//    ["membership_starts_at_ms":N,]["membership_expires_at_ms":N,] "revision":N}
// Interval bounds (ms since the Unix epoch) are written only when set; absent = unbounded.
// "permissions"/"denied" are the sorted, de-duplicated allow/deny patterns of unscoped grants
// (for other applications, seed 000); "grants" is what the engine rebuilds UserGrants from.
// "revision" is written last and as a plain integer: the Lua put script reads it with a
// pattern match.
//
// Record values (under the record keys, keys.h), "revision" last like the entry's:
//   resource: {"exists":true,"type","owner","state","version":N,"revision":N}
//   element:  {"exists":true,"active":true,"required_roles":[...],"required_permissions":[...],
//              "revision":N}
// A resource's password hash is never written (unlock reads the store).
//
// Bus message: {"revision":N,"users":[["tenant","user"],...],"tenants":[...],"origin":"node"}
//          or  {"admin":{"tenant":"","user":"","pattern":"","all":false},"origin":"node"}
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "permcache/remote_cache.h"
#include "permcache/status.h"
#include "permcache/store.h"

namespace permcache::redis {

// `now_ms` (wall clock): the flat "permissions"/"denied" lists hold what counts at that instant
// (the entry's TTL never outlives its next transition, see RedisCache).
std::string EncodeEntry(const UserGrants& grants, int64_t now_ms);
// kInvalidArgument naming the first problem when `json` is not a valid entry.
StatusOr<UserGrants> DecodeEntry(std::string_view json);

std::string EncodeResourceRecord(const ResourceRecord& record);
StatusOr<ResourceRecord> DecodeResourceRecord(std::string_view json);
std::string EncodeElementRecord(const UiElementRecord& record);
StatusOr<UiElementRecord> DecodeElementRecord(std::string_view json);

struct BusMessage {
  bool is_admin = false;
  ChangeSet change;                      // when !is_admin
  RemoteCache::AdminInvalidation admin;  // when is_admin
  std::string origin;
};

std::string EncodeChangeMessage(const ChangeSet& change, std::string_view origin);
std::string EncodeAdminMessage(const RemoteCache::AdminInvalidation& admin,
                               std::string_view origin);
// kInvalidArgument for anything malformed; never throws.
StatusOr<BusMessage> DecodeBusMessage(std::string_view json);

}  // namespace permcache::redis
