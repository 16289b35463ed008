// Store: the seam to a persistent backend (SQLite file, PostgreSQL). The store is the truth;
// caches only hold what it said at a revision.
//
// Thread safety: every method may be called concurrently from any thread. Implementations
// serialize writes internally and let reads run in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "permcache/model.h"
#include "permcache/status.h"

namespace permcache {

// One policy reachable by a (tenant, user), with how it was reached.
struct Grant {
  std::string policy;
  Effect effect = Effect::kAllow;
  int32_t priority = 0;
  std::vector<std::string> permissions;
  std::string policy_scope;      // the policy's business unit, empty = none
  std::string assignment_scope;  // business unit of the role assignment, empty = none
  // Role chain, outermost (assigned) role first, joined by '>'; empty = direct user_policy.
  std::string role_path;
  bool operator==(const Grant&) const = default;
};

enum class MembershipState : uint8_t { kNone = 0, kActive = 1, kSuspended = 2 };

// Everything the engine needs to compile the permission set of one (tenant, user), read in
// one consistent snapshot at `revision`.
struct UserGrants {
  MembershipState membership = MembershipState::kNone;
  std::vector<Grant> grants;  // empty unless membership is active
  uint64_t revision = 0;
};

// The (tenant, user) keys and tenants whose permissions a committed write may have changed.
struct ChangeSet {
  uint64_t revision = 0;
  std::vector<std::pair<std::string, std::string>> users;  // (tenant, user)
  std::vector<std::string> tenants;                        // every user of these tenants
  // Wall-clock commit time (ms since the Unix epoch) when known (set by the writing node and
  // carried by buses), 0 otherwise. Only used to measure invalidation lag.
  int64_t committed_at_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies `ops` atomically in one transaction that also bumps the revision and appends the
  // changelog. On any invalid op nothing is applied and the error (kInvalidArgument) names the
  // op index ("op 3: ..."). Returns the committed revision and the affected keys.
  virtual StatusOr<ChangeSet> Apply(std::span<const WriteOp> ops) = 0;

  // Reads the membership and every reachable grant of (tenant, user) in one snapshot.
  // Unknown tenant or user is not an error: membership kNone.
  virtual StatusOr<UserGrants> LoadGrants(std::string_view tenant, std::string_view user) = 0;

  // The model (every tenant when `tenant` is empty). kNotFound when `tenant` does not exist.
  virtual StatusOr<Model> Export(std::string_view tenant) = 0;

  // The newest committed revision (0 for an empty store).
  virtual StatusOr<uint64_t> CurrentRevision() = 0;

  // Changelog entries with revision > `after`, oldest first, at most `limit` revisions.
  // Used by nodes to catch up on writes they did not make themselves.
  virtual StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) = 0;

  // Cheap liveness probe.
  virtual Status Ping() = 0;

  // "sqlite:/path/file.db" or "postgres://host/db" (no password).
  virtual std::string Describe() const = 0;
};

// Opens a store from a URL: "sqlite:PATH" (file created if missing, migrations applied) or
// "postgres://..." / "postgresql://..." (schema migrated at open; docs/postgres.md).
// kInvalidArgument for an unknown scheme.
StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url);

// `url` with any password replaced by "***" (in "user:PASSWORD@" and in password= query
// parameters), for messages and logs.
std::string RedactStoreUrl(std::string_view url);

}  // namespace permcache
