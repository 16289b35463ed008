// RunServer: configuration checks, Checker, demo model, metrics, API, transport, signals.
#include "server/server.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "permcache/checker.h"
#include "server/config.h"
#include "server/demo_model.h"
#include "server/http/api.h"
#include "server/http/http_server.h"
#include "server/metrics.h"
#include "server/metrics_observer.h"
#include "server/remote_cache_setup.h"
#include "server/server_hooks.h"

#ifndef PERMCACHE_VERSION
#define PERMCACHE_VERSION "unknown"
#endif

namespace permcache {
namespace {

void SetUpLogging(const std::string& level) {
  // Logs go to stderr; stdout carries only the "listening on" line that tools parse.
  auto logger = std::make_shared<spdlog::logger>(
      "permcache", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_level(spdlog::level::from_str(level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

int RunServer(const ServerConfig& config) {
  if (Status s = ValidateServerConfig(config); !s.ok()) {
    std::fprintf(stderr, "permcache: invalid configuration: %s\n", s.message().c_str());
    return 2;
  }
  SetUpLogging(config.log_level);
  const ListenAddress listen = *ParseListen(config.listen);  // validated above

  MetricsRegistry registry;
  Options checker_options = config.checker;
  checker_options.observer = std::make_shared<MetricsObserver>(&registry);

  StatusOr<std::unique_ptr<Store>> store = OpenStore(config.checker.store_url, config.checker.store);
  if (!store.ok()) {
    const Status& s = store.status();
    std::fprintf(stderr, "permcache: cannot open store '%s': %s\n",
                 RedactStoreUrl(config.checker.store_url).c_str(), s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  StatusOr<std::unique_ptr<RemoteCache>> remote = OpenRemoteCache(config);
  if (!remote.ok()) {
    const Status& s = remote.status();
    std::fprintf(stderr, "permcache: cannot use redis: %s\n", s.ToString().c_str());
    return s.code() == StatusCode::kUnavailable ? 1 : 2;
  }
  StatusOr<std::unique_ptr<Checker>> opened =
      Checker::Open(checker_options, std::move(store).value(), std::move(remote).value());
  if (!opened.ok()) {
    const Status& s = opened.status();
    std::fprintf(stderr, "permcache: cannot start: %s\n", s.ToString().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::unique_ptr<Checker> checker = std::move(opened).value();
  spdlog::info("store: {}", checker->StoreDescription());

  if (config.demo) {
    StatusOr<uint64_t> revision = checker->Write(DemoOps());
    if (!revision.ok()) {
      std::fprintf(stderr, "permcache: cannot load the demo model: %s\n",
                   revision.status().ToString().c_str());
      return 1;
    }
    spdlog::info("demo model loaded at revision {}", *revision);
  }

  ServerHooks hooks(checker.get(), &registry, PERMCACHE_VERSION);
  http::ApiOptions api_options;
  api_options.admin_token = config.admin_token;
  api_options.max_json_depth = config.max_json_depth;
  http::Api api(checker.get(), std::move(api_options), &hooks);

  http::HttpServerOptions options;
  options.host = listen.host;
  options.port = listen.port;
  options.threads = EffectiveThreads(config);
  options.max_body_bytes = config.max_body_bytes;
  options.max_header_bytes = config.max_header_bytes;
  options.max_url_bytes = config.max_url_bytes;
  options.idle_timeout = config.idle_timeout;
  options.request_timeout = config.request_timeout;
  options.max_connections = config.max_connections;
  http::HttpServer server(std::move(options), &api);
  server.StopOnSignals();
  if (Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "permcache: %s\n", s.message().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  const std::string where = listen.ToString(server.port());
  std::printf("listening on %s\n", where.c_str());
  std::fflush(stdout);
  spdlog::info("listening on {} ({} IO threads, admin token {})", where, EffectiveThreads(config),
               config.admin_token.empty() ? "not set" : "set");

  server.Wait();
  spdlog::info("stopped");
  return 0;
}

}  // namespace permcache
