#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/parse.h"

namespace permcache::cli {
namespace {

// Flag values of `serve` before conversion; strings where a unit is accepted.
struct ServeFlags {
  std::string store = "sqlite:permcache.db";
  std::string listen = "127.0.0.1:8080";
  std::string admin_token;
  std::string cache_ttl;
  size_t cache_max_entries = 0;
  std::string cache_max_bytes;
  int threads = 0;
  bool demo = false;
  std::string consistency_timeout;
  std::string log_level = "info";
  std::string redis;
  std::string redis_key_prefix;
  std::string cache_version;
  std::string negative_ttl;
  size_t max_connections = 10000;
  std::string changelog_retention;
  std::string resource_cache_ttl;
  std::string restricted_resource_cache_ttl;
  std::string resource_token_ttl;
};

// A positive duration flag into `*out` when it was given.
Status ParsePositiveDuration(const CLI::App& serve, const char* flag, const std::string& value,
                             std::chrono::milliseconds* out) {
  if (serve.count(flag) == 0) return Status::Ok();
  PERMCACHE_ASSIGN_OR_RETURN(std::chrono::milliseconds d, ParseDuration(value));
  if (d.count() <= 0) return InvalidArgumentError(std::string(flag) + " must be positive");
  *out = d;
  return Status::Ok();
}

StatusOr<ServerConfig> BuildServerConfig(const ServeFlags& f, const CLI::App& serve) {
  ServerConfig config;
  config.checker.store_url = f.store;
  config.listen = f.listen;
  config.admin_token = f.admin_token;
  config.threads = f.threads;
  config.demo = f.demo;
  config.log_level = f.log_level;
  config.redis_url = f.redis;
  config.max_connections = f.max_connections;
  config.redis_key_prefix = f.redis_key_prefix;
  config.cache_version = f.cache_version;
  if (serve.count("--negative-ttl") > 0) {
    PERMCACHE_ASSIGN_OR_RETURN(config.negative_ttl, ParseDuration(f.negative_ttl));
  }
  // Flags left out keep the ServerConfig defaults (given-but-empty values are errors).
  if (serve.count("--cache-ttl") > 0) {
    PERMCACHE_ASSIGN_OR_RETURN(config.checker.cache.ttl, ParseDuration(f.cache_ttl));
  }
  if (serve.count("--cache-max-entries") > 0)
    config.checker.cache.max_entries = f.cache_max_entries;
  if (serve.count("--cache-max-bytes") > 0) {
    PERMCACHE_ASSIGN_OR_RETURN(uint64_t bytes, ParseByteSize(f.cache_max_bytes));
    config.checker.cache.max_bytes = static_cast<size_t>(bytes);
  }
  if (serve.count("--changelog-retention") > 0) {
    PERMCACHE_ASSIGN_OR_RETURN(config.checker.store.changelog_retention,
                               ParseDuration(f.changelog_retention));
  }
  if (serve.count("--consistency-timeout") > 0) {
    PERMCACHE_ASSIGN_OR_RETURN(config.checker.consistency_timeout,
                               ParseDuration(f.consistency_timeout));
  }
  ResourceOptions& resources = config.checker.resources;
  PERMCACHE_RETURN_IF_ERROR(ParsePositiveDuration(serve, "--resource-cache-ttl",
                                                  f.resource_cache_ttl, &resources.record_ttl));
  PERMCACHE_RETURN_IF_ERROR(ParsePositiveDuration(serve, "--restricted-resource-cache-ttl",
                                                  f.restricted_resource_cache_ttl,
                                                  &resources.restricted_record_ttl));
  PERMCACHE_RETURN_IF_ERROR(ParsePositiveDuration(serve, "--resource-token-ttl",
                                                  f.resource_token_ttl, &resources.token_ttl));
  return config;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliIo& io, const ServeFunction& serve_fn,
           const ReconcileFunction& reconcile_fn) {
  std::ostream& out = *io.out;
  std::ostream& err = *io.err;

  CLI::App app{
      "permcache: permission checks with a precise cache.\n"
      "`permcache serve` runs the HTTP service; the other subcommands talk to one."};
  app.name("permcache");
  app.require_subcommand(1);
  // Client options (--server, --token, --json, --timeout) may follow the subcommand.
  app.fallthrough();

  std::string server_url = "http://127.0.0.1:8080";
  std::string token;
  std::string timeout = "10s";
  bool json = false;
  app.add_option("--server", server_url, "URL of the permcache server")
      ->envname("PERMCACHE_URL")
      ->capture_default_str();
  app.add_option("--token", token, "admin token, sent as 'Authorization: Bearer TOKEN'")
      ->envname("PERMCACHE_ADMIN_TOKEN");
  app.add_option("--timeout", timeout, "request timeout (e.g. 500ms, 10s)")->capture_default_str();
  app.add_flag("--json", json, "print the server's JSON answer as is");

  // serve
  ServeFlags sf;
  CLI::App* serve = app.add_subcommand("serve", "run the HTTP service");
  serve
      ->add_option("--store", sf.store,
                   "sqlite:PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?libpq params]")
      ->envname("PERMCACHE_STORE")
      ->capture_default_str();
  serve->add_option("--listen", sf.listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  serve
      ->add_option("--admin-token", sf.admin_token,
                   "bearer token required by admin endpoints (required for non-loopback listen)")
      ->envname("PERMCACHE_ADMIN_TOKEN");
  serve->add_option("--cache-ttl", sf.cache_ttl,
                    "L1 entry lifetime (e.g. 900s, 15m, 1h; default 15m)");
  // CLI11 reads "-5" into an unsigned as a huge number: refuse negatives explicitly.
  serve
      ->add_option("--cache-max-entries", sf.cache_max_entries,
                   "bound on cached (tenant, user) entries (default 1000000)")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--cache-max-bytes", sf.cache_max_bytes,
                    "bound on cache memory (e.g. 256MiB, 1GiB, bytes; default 256MiB)");
  serve->add_option("--threads", sf.threads, "IO threads (0 = one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_flag("--demo", sf.demo, "load the demo model (hospital, cinemata and acme/globex tenants)");
  serve->add_option("--consistency-timeout", sf.consistency_timeout,
                    "how long a check may wait for at_least_revision (default 1s)");
  serve->add_option("--log-level", sf.log_level, "trace|debug|info|warn|error|critical|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  serve->add_option("--redis", sf.redis,
                    "Redis for the shared L2 cache and bus: redis://[:password@]host:port/db or "
                    "unix:///path (default: REDIS_HOST/REDIS_PORT/REDIS_PASSWORD/REDIS_DB if set, "
                    "else none)");
  serve->add_option("--max-connections", sf.max_connections,
                    "open connections beyond this get 503 and are closed")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  serve->add_option("--redis-key-prefix", sf.redis_key_prefix,
                    "prefix of every Redis key, as \"{prefix}:\" (default none)");
  serve->add_option("--cache-version", sf.cache_version,
                    "version segment of every Redis key, after the prefix (default none)");
  serve->add_option("--changelog-retention", sf.changelog_retention,
                    "how long the store keeps changelog entries; a node offline longer flushes "
                    "its cache on return (e.g. 24h, 0 = forever; default 24h)");
  serve->add_option("--negative-ttl", sf.negative_ttl,
                    "Redis lifetime of entries without an active membership (default 60s)");
  const ResourceOptions resource_defaults;
  serve->add_option("--resource-cache-ttl", sf.resource_cache_ttl,
                    "lifetime of a cached resource or UI element record (every change drops it "
                    "at once; default " +
                        FormatDuration(resource_defaults.record_ttl) + ")");
  serve->add_option("--restricted-resource-cache-ttl", sf.restricted_resource_cache_ttl,
                    "the same for restricted resources (default " +
                        FormatDuration(resource_defaults.restricted_record_ttl) + ")");
  serve->add_option("--resource-token-ttl", sf.resource_token_ttl,
                    "lifetime of an unlock token of a restricted resource (default " +
                        FormatDuration(resource_defaults.token_ttl) + ")");

  // check
  CheckArgs check_args;
  uint64_t at_least_revision = 0;
  CLI::App* check = app.add_subcommand(
      "check",
      "may USER do PERMISSION (on --resource R)? may USER see --element E? (exit 0 allowed, 1 "
      "denied)\n  check TENANT USER PERMISSION [--scope BU]\n"
      "  check TENANT USER PERMISSION --resource R [--unlock-token T]\n"
      "  check TENANT PERMISSION --anonymous --resource R [--unlock-token T]\n"
      "  check TENANT USER --element E");
  check->add_option("tenant", check_args.tenant, "tenant id")->required();
  check->add_option("user", check_args.user, "user id (left out with --anonymous)")->required();
  check->add_option("permission", check_args.permission,
                    "permission, e.g. assets:read or media:view (left out with --element)");
  check->add_option("--scope", check_args.scope, "business unit the check is made in");
  check->add_option("--resource", check_args.resource,
                    "resource the check is about (the permission's first segment is its type)");
  // Not --token: that is the client option (the admin token), which may follow the subcommand.
  check->add_option("--unlock-token", check_args.token,
                    "unlock token of a restricted resource (from `permcache unlock`)");
  check->add_flag("--anonymous", check_args.anonymous,
                  "a visitor without a user id (resource checks only; give no USER)");
  check->add_option("--element", check_args.element, "UI element to check (no PERMISSION)");
  CLI::Option* alr = check
                         ->add_option("--at-least-revision", at_least_revision,
                                      "never answer from state older than this revision")
                         ->check(CLI::NonNegativeNumber);
  check->add_flag("--explain", check_args.explain, "print which policy decided and how");

  std::string tenant, user;
  CLI::App* perms = app.add_subcommand("perms", "effective permissions of a user in a tenant");
  perms->add_option("tenant", tenant, "tenant id")->required();
  perms->add_option("user", user, "user id")->required();
  CLI::App* membership = app.add_subcommand("membership", "membership of a user in a tenant");
  membership->add_option("tenant", tenant, "tenant id")->required();
  membership->add_option("user", user, "user id")->required();

  std::string path;
  CLI::App* write =
      app.add_subcommand("write", "apply write ops atomically ({\"ops\":[...]} or [...])");
  write->add_option("file", path, "JSON file, or - for stdin")->required();
  CLI::App* import = app.add_subcommand("import", "merge a model (the export format)");
  import->add_option("file", path, "JSON file, or - for stdin")->required();
  CLI::App* exp = app.add_subcommand("export", "print the model as JSON");
  exp->add_option("--tenant", tenant, "only this tenant");

  UiArgs ui_args;
  CLI::App* ui = app.add_subcommand(
      "ui", "which UI elements USER sees (every active element of the tenant, or --elements)");
  ui->add_option("tenant", ui_args.tenant, "tenant id")->required();
  ui->add_option("user", ui_args.user, "user id")->required();
  ui->add_option("--elements", ui_args.elements, "only these elements, e.g. a,b")
      ->delimiter(',');

  std::string unlock_tenant, unlock_resource;
  CLI::App* unlock = app.add_subcommand(
      "unlock",
      "exchange a restricted resource's password, read as one line from stdin (never from "
      "the command line), for an unlock token (exit 1 wrong password, 2 too many attempts)");
  unlock->add_option("tenant", unlock_tenant, "tenant id")->required();
  unlock->add_option("resource", unlock_resource, "resource id")->required();

  ResourcesArgs resources_args;
  uint64_t resources_limit = 0;
  CLI::App* resources =
      app.add_subcommand("resources", "the resources USER may access with PERMISSION");
  resources->add_option("tenant", resources_args.tenant, "tenant id")->required();
  resources->add_option("--user", resources_args.user, "user id");
  resources->add_flag("--anonymous", resources_args.anonymous, "a visitor without a user id");
  resources->add_option("--permission", resources_args.permission, "e.g. media:view")->required();
  CLI::Option* resources_limit_opt =
      resources->add_option("--limit", resources_limit, "page size, 1..1000 (server default 100)")
          ->check(CLI::Range(uint64_t{1}, uint64_t{1000}));
  resources->add_option("--cursor", resources_args.cursor,
                        "next_cursor of the previous page");

  CacheClearArgs clear_args;
  CLI::App* cache = app.add_subcommand("cache", "cache administration");
  cache->require_subcommand(1);
  CLI::App* clear = cache->add_subcommand(
      "clear",
      "drop cache entries: --all | --user U [--tenant T] | --tenant T | --pattern P | "
      "--tenant T --resource R [--user U] | --tenant T --element E");
  clear->add_flag("--all", clear_args.all, "every entry");
  clear->add_option("--user", clear_args.user, "every entry of this user");
  clear->add_option("--tenant", clear_args.tenant, "every entry of this tenant");
  clear->add_option("--pattern", clear_args.pattern, "glob over perms:{user}:{tenant}");
  clear->add_option("--resource", clear_args.resource,
                    "the record of this resource (with --tenant; --user also drops that "
                    "user's set)");
  clear->add_option("--element", clear_args.element,
                    "the record of this UI element (with --tenant)");
  CLI::App* stats = cache->add_subcommand("stats", "cache counters");
  CLI::App* health = app.add_subcommand("health", "is the server ready? (GET /readyz)");

  // reconcile: talks to the store itself, not to a server.
  std::string reconcile_store;
  bool reconcile_fix = false;
  CLI::App* reconcile = app.add_subcommand(
      "reconcile",
      "compare user_effective_policies with a from-scratch recompute (exit 0 same, 1 differs)");
  reconcile->add_option("--store", reconcile_store, "postgres://USER[:PASSWORD]@HOST[:PORT]/DB")
      ->envname("PERMCACHE_STORE")
      ->required();
  reconcile->add_flag("--fix", reconcile_fix, "also repair the differences");

  // CLI11 takes the arguments without the program name, in reverse order.
  std::vector<std::string> reversed;
  for (size_t i = args.size(); i > 1; --i) reversed.push_back(args[i - 1]);
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e, out, err);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  if (serve->parsed()) {
    auto config = BuildServerConfig(sf, *serve);
    if (!config.ok()) {
      err << "error: " << config.status().message() << '\n';
      return kExitUsage;
    }
    return serve_fn(*config);
  }
  if (reconcile->parsed()) {
    if (!reconcile_fn) {
      err << "error: reconcile is not available in this build\n";
      return kExitUsage;
    }
    return reconcile_fn(reconcile_store, reconcile_fix, out, err);
  }

  // Wrong combinations of the client subcommands' flags are usage errors before any request.
  if (check->parsed() && check_args.anonymous && check_args.permission.empty()) {
    // `check TENANT PERMISSION --anonymous ...`: the second positional is the permission.
    check_args.permission = std::move(check_args.user);
    check_args.user.clear();
  }
  Status usage = Status::Ok();
  if (check->parsed()) usage = ValidateCheckArgs(check_args);
  if (resources->parsed()) usage = ValidateResourcesArgs(resources_args);
  if (clear->parsed()) usage = CacheInvalidateBody(clear_args).status();
  if (!usage.ok()) {
    err << "error: " << usage.message() << '\n';
    return kExitUsage;
  }

  auto url = client::ParseUrl(server_url);
  if (!url.ok()) {
    err << "error: --server: " << url.status().message() << '\n';
    return kExitUsage;
  }
  auto request_timeout = ParseDuration(timeout);
  if (!request_timeout.ok()) {
    err << "error: --timeout: " << request_timeout.status().message() << '\n';
    return kExitUsage;
  }
  client::ClientOptions options;
  options.bearer_token = token;
  options.request_timeout = *request_timeout;
  options.connect_timeout = std::min(options.connect_timeout, *request_timeout);
  options.user_agent = "permcache-cli";
  client::HttpClient http(std::move(*url), options);
  CommandContext ctx{&http, json, io.in, &out, &err};

  // Status-returning commands succeed with exit 0; `check` also answers 1 (denied).
  auto as_exit = [](Status s) -> StatusOr<int> {
    if (!s.ok()) return s;
    return static_cast<int>(kExitOk);
  };
  StatusOr<int> result = static_cast<int>(kExitOk);
  if (check->parsed()) {
    if (alr->count() > 0) check_args.at_least_revision = at_least_revision;
    result = RunCheck(ctx, check_args);
  } else if (ui->parsed()) {
    result = as_exit(RunUi(ctx, ui_args));
  } else if (unlock->parsed()) {
    result = as_exit(RunUnlock(ctx, unlock_tenant, unlock_resource));
  } else if (resources->parsed()) {
    if (resources_limit_opt->count() > 0) resources_args.limit = resources_limit;
    result = as_exit(RunResources(ctx, resources_args));
  } else if (perms->parsed()) {
    result = as_exit(RunPerms(ctx, tenant, user));
  } else if (membership->parsed()) {
    result = as_exit(RunMembership(ctx, tenant, user));
  } else if (write->parsed()) {
    result = as_exit(RunWrite(ctx, path));
  } else if (import->parsed()) {
    result = as_exit(RunImport(ctx, path));
  } else if (exp->parsed()) {
    result = as_exit(RunExport(ctx, tenant));
  } else if (clear->parsed()) {
    result = as_exit(RunCacheClear(ctx, clear_args));
  } else if (stats->parsed()) {
    result = as_exit(RunCacheStats(ctx));
  } else if (health->parsed()) {
    result = as_exit(RunHealth(ctx));
  }
  if (!result.ok()) {
    err << "error: " << result.status().message() << '\n';
    return ExitCodeFor(result.status());
  }
  return *result;
}

}  // namespace permcache::cli
