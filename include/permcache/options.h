// Options for an embedded Checker and the server. Every field states its default.
//
// Thread safety: plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "permcache/clock.h"
#include "permcache/observer.h"
#include "permcache/store.h"

namespace permcache {

struct CacheOptions {
  // Entries live at most this long (seed 000: the access-token lifetime). Default 15 min.
  std::chrono::milliseconds ttl = std::chrono::minutes(15);
  // Bound on cached (tenant, user) entries. Default 1,000,000.
  size_t max_entries = 1'000'000;
  // Bound on the bytes the cache accounts for its entries. Default 256 MiB.
  size_t max_bytes = 256u << 20;
  // Number of independently locked shards (rounded up to a power of two). Default 64.
  size_t shards = 64;
};

// Resources and UI elements (DESIGN §7, docs/resources.md).
struct ResourceOptions {
  // How long a resource or element record is cached (each change invalidates it at once; the
  // TTL only bounds memory). Default 5 min, as seed 001.
  std::chrono::milliseconds record_ttl = std::chrono::minutes(5);
  // The same for restricted resources. Default 60 s, as seed 001.
  std::chrono::milliseconds restricted_record_ttl = std::chrono::seconds(60);
  // Bound on cached records. Default 100,000.
  size_t max_records = 100'000;
  // Lifetime of an unlock token. Default 4 h.
  std::chrono::milliseconds token_ttl = std::chrono::hours(4);
  // Brute force: failed unlocks per (client, resource) in `unlock_window`, after which every
  // attempt is refused (429) until the window has passed. Default 5 per 15 min.
  uint32_t unlock_max_failures = 5;
  std::chrono::milliseconds unlock_window = std::chrono::minutes(15);
  // Argon2id cost of new password hashes. Default 19 MiB, 2 passes, 1 lane (OWASP).
  uint32_t password_memory_kib = 19 * 1024;
  uint32_t password_passes = 2;
};

struct Options {
  // "sqlite:PATH" or "postgres://...". Default "sqlite:permcache.db".
  std::string store_url = "sqlite:permcache.db";
  // Options of the store opened from store_url (changelog retention).
  StoreOptions store;
  CacheOptions cache;
  ResourceOptions resources;
  // How long a check with at_least_revision may wait for this node to reach that revision
  // before it is answered from the store directly. Default 1 s.
  std::chrono::milliseconds consistency_timeout = std::chrono::seconds(1);
  // How often the node reads the store's changelog to apply writes made by other nodes or
  // processes (the truth that a bus only speeds up). 0 disables polling. Default 250 ms.
  std::chrono::milliseconds changelog_poll_interval = std::chrono::milliseconds(250);
  // Receives timings (remote cache reads, store reads, invalidation lag). Default none.
  std::shared_ptr<CheckerObserver> observer;
  // The one clock every decision path reads (TTLs, validity intervals, token expiry), for
  // tests; null = the system clock. Must outlive the Checker.
  const Clock* clock = nullptr;
};

}  // namespace permcache
