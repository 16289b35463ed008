// The client subcommands of the `permcache` CLI: each one sends one request to a running server
// (DESIGN §4) and prints the answer, human-readable by default or the server's JSON as is.
//
// Thread safety: a CommandContext and its HttpClient belong to one thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "client/http_client.h"
#include "permcache/status.h"

namespace permcache::cli {

struct CommandContext {
  client::HttpClient* http = nullptr;  // not owned
  bool json = false;                   // print the server's JSON instead of text
  std::istream* in = nullptr;          // for "-" (stdin) inputs
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

struct CheckArgs {
  std::string tenant, user, permission;
  std::string scope;                          // empty = none
  std::optional<uint64_t> at_least_revision;  // nullopt = not sent
  bool explain = false;
};

// The `cache clear` selection. Exactly one form: all; user (optionally with tenant); tenant;
// pattern.
struct CacheClearArgs {
  bool all = false;
  std::string user, tenant, pattern;
};

// POST /v1/check. Returns kExitOk (allowed) or kExitDenied (denied).
StatusOr<int> RunCheck(CommandContext& ctx, const CheckArgs& args);
// GET /v1/tenants/{t}/users/{u}/permissions, printed as an EFFECT/PATTERN/SCOPE table.
Status RunPerms(CommandContext& ctx, const std::string& tenant, const std::string& user);
// GET /v1/tenants/{t}/users/{u}/membership.
Status RunMembership(CommandContext& ctx, const std::string& tenant, const std::string& user);
// POST /v1/write with the ops read from `path` ("-" = stdin): {"ops":[...]} or a bare array.
Status RunWrite(CommandContext& ctx, const std::string& path);
// POST /v1/model with the model read from `path` ("-" = stdin).
Status RunImport(CommandContext& ctx, const std::string& path);
// GET /v1/model[?tenant=T], printed as indented JSON (compact server JSON with --json).
Status RunExport(CommandContext& ctx, const std::string& tenant);
// POST /v1/cache/invalidate.
Status RunCacheClear(CommandContext& ctx, const CacheClearArgs& args);
// GET /v1/cache/stats, printed as a two-column table.
Status RunCacheStats(CommandContext& ctx);
// GET /readyz. OK when the server answers 200; a 503 answer is kInternal (exit 4).
Status RunHealth(CommandContext& ctx);

// The /v1/cache/invalidate body for `args`; kInvalidArgument unless exactly one form is given.
StatusOr<std::string> CacheInvalidateBody(const CacheClearArgs& args);
// Turns the contents of a `write` input into the /v1/write body: an object with "ops" is kept,
// a bare array is wrapped as {"ops":[...]}. kInvalidArgument for invalid JSON or other shapes.
StatusOr<std::string> WriteBodyFromInput(const std::string& input, const std::string& source);

}  // namespace permcache::cli
