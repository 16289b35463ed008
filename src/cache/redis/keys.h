// KeySchema: every Redis key and channel name the L2 cache uses, built in one place so that the
// documented formats (docs/redis.md) and the code cannot drift apart.
//
//   base     = ""                      when neither prefix nor version is set
//            = "{prefix}:"             prefix only
//            = "{version}:"            version only
//            = "{prefix}:{version}:"   both
//   entry    = base + "perms:{user}:{tenant}"          (seed 000 when base is empty)
//   record   = base + "perms:resource:{id}:{tenant}"   a resource's record (DESIGN §7)
//            = base + "perms:element:{id}:{tenant}"    a UI element's record
//              (the record's changelog key in the user position: ids never contain ':', so it
//              never meets a user's entry, and every invalidation path — per-key tombstones,
//              the tenant SCAN, admin "all" — covers records with no second SCAN)
//   attempts = base + "unlock-attempts:{client}|{tenant}|{resource}"  failed unlocks (PX window)
//   user inv = base + "perms-inv:{user}:{tenant}"      per-key invalidation tombstone
//   tenant   = base + "perms-inv-tenant:{tenant}"      tenant-wide tombstone
//   global   = base + "perms-inv-all"                  admin "all" tombstone
//   channel  = "{prefix}:permcache:invalidate" or "permcache:invalidate" (no version: nodes on
//              different versions still hear each other's invalidations)
//
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <string>
#include <string_view>

namespace permcache::redis {

class KeySchema {
 public:
  KeySchema(std::string_view prefix, std::string_view version);

  std::string Entry(std::string_view tenant, std::string_view user) const;
  std::string UserTombstone(std::string_view tenant, std::string_view user) const;
  std::string TenantTombstone(std::string_view tenant) const;
  std::string GlobalTombstone() const;
  // `record_key` is store.h's ResourceKey / ElementKey.
  std::string Record(std::string_view tenant, std::string_view record_key) const {
    return Entry(tenant, record_key);
  }
  std::string Attempts(std::string_view attempt_key) const;
  const std::string& Channel() const { return channel_; }
  const std::string& base() const { return base_; }

  // SCAN MATCH patterns (the base and the ids are glob-escaped).
  std::string AllEntriesPattern() const;                            // base + "perms:*"
  std::string TenantEntriesPattern(std::string_view tenant) const;  // base + "perms:*:{tenant}"
  std::string UserEntriesPattern(std::string_view user) const;      // base + "perms:{user}:*"
  // base + `pattern`, where `pattern` is a caller's glob in seed format ("perms:42:*"); only the
  // base is escaped.
  std::string AdminPattern(std::string_view pattern) const;

  // Splits an entry key back into (tenant, user); false when `key` is not an entry key.
  bool ParseEntry(std::string_view key, std::string* tenant, std::string* user) const;

 private:
  std::string base_;
  std::string escaped_base_;
  std::string channel_;
};

// Escapes the glob metacharacters of SCAN MATCH (* ? [ ] \) so `s` matches literally.
std::string EscapeGlob(std::string_view s);

}  // namespace permcache::redis
