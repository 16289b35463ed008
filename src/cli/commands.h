// The client subcommands of the `permcache` CLI: each one sends one request to a running server
// (DESIGN §4) and prints the answer, human-readable by default or the server's JSON as is.
//
// Thread safety: a CommandContext and its HttpClient belong to one thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

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
  // Resource checks (DESIGN §7): the resource, an optional unlock token; `anonymous` = no user
  // (then `user` is empty).
  std::string resource, token;
  bool anonymous = false;
  // Element checks: the UI element (then `permission` is empty).
  std::string element;
};

// The `cache clear` selection. Exactly one form: all; user (optionally with tenant); tenant;
// pattern; tenant + resource (optionally with user); tenant + element.
struct CacheClearArgs {
  bool all = false;
  std::string user, tenant, pattern;
  std::string resource, element;
};

// `ui TENANT USER [--elements a,b]`: empty = every active element of the tenant.
struct UiArgs {
  std::string tenant, user;
  std::vector<std::string> elements;
};

// `resources TENANT --user U | --anonymous --permission P [--limit N] [--cursor C]`.
struct ResourcesArgs {
  std::string tenant, user, permission;
  bool anonymous = false;
  std::optional<uint64_t> limit;  // nullopt = the server's default
  std::string cursor;
};

// POST /v1/check (plain checks) or GET /v1/check?... (resource and element checks, the DESIGN §7
// form). Returns kExitOk (allowed) or kExitDenied (denied). Runs ValidateCheckArgs first.
StatusOr<int> RunCheck(CommandContext& ctx, const CheckArgs& args);
// GET /v1/tenants/{t}/users/{u}/ui[?elements=a,b], printed as ELEMENT/SHOWN rows.
Status RunUi(CommandContext& ctx, const UiArgs& args);
// POST /v1/resources/unlock with the password read from ctx.in (ReadPasswordLine). Prints the
// token and its expiry. A wrong password is kPermissionDenied (exit 1), the brute-force limit
// kResourceExhausted (exit 2).
Status RunUnlock(CommandContext& ctx, const std::string& tenant, const std::string& resource);
// GET /v1/tenants/{t}/resources?user=U&permission=P[&limit=N][&cursor=C], printed as a
// RESOURCE/TYPE/STATE/OWNER table, then `next_cursor C` when there are more pages.
Status RunResources(CommandContext& ctx, const ResourcesArgs& args);
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
// kInvalidArgument (exit 2) for a combination the server cannot answer: an element check with
// a PERMISSION, --resource, --unlock-token, --scope or --anonymous; a plain or resource check
// without a PERMISSION; --unlock-token without --resource; --anonymous without --resource, or
// with a USER; --resource with --scope.
Status ValidateCheckArgs(const CheckArgs& args);
// The target of a resource or element check: /v1/check?tenant=..&user=..&... (user left out
// when anonymous; every value percent-encoded).
std::string CheckQueryTarget(const CheckArgs& args);
// One line of `in` without its line ending ("\n" or "\r\n"): the unlock password.
// kInvalidArgument when `in` is empty or the line is empty (a password is never read from argv).
StatusOr<std::string> ReadPasswordLine(std::istream& in);
// kInvalidArgument unless exactly one of --user and --anonymous is given, and a permission is.
Status ValidateResourcesArgs(const ResourcesArgs& args);
// The /v1/tenants/{t}/resources target for `args`.
std::string ResourcesTarget(const ResourcesArgs& args);
// Turns the contents of a `write` input into the /v1/write body: an object with "ops" is kept,
// a bare array is wrapped as {"ops":[...]}. kInvalidArgument for invalid JSON or other shapes.
StatusOr<std::string> WriteBodyFromInput(const std::string& input, const std::string& source);

}  // namespace permcache::cli
