#include "server/server_hooks.h"

#include <spdlog/spdlog.h>

#include "server/health.h"

namespace permcache {
namespace {

constexpr std::string_view kRequestsName = "permcache_http_requests_total";
constexpr std::string_view kRequestsHelp = "HTTP requests answered, by route, method and status.";

MetricLabels RouteLabels(http::Route route) {
  return {{"route", std::string(http::RoutePath(route))},
          {"method", std::string(http::RouteMethod(route))}};
}

}  // namespace

ServerHooks::ServerHooks(Checker* checker, MetricsRegistry* registry, std::string_view version)
    : checker_(checker), registry_(registry) {
  registry_->GetGauge("permcache_build_info", "Build information; the value is always 1.",
                      {{"version", std::string(version)}})
      ->Set(1);
  for (size_t i = 0; i < http::kRouteCount; ++i) {
    latency_[i] = registry_->GetHistogram(
        "permcache_http_request_duration_seconds",
        "Time to answer a request (routing, Checker call, response body), by route.",
        RouteLabels(static_cast<http::Route>(i)), Histogram::LatencyBuckets());
  }
  allowed_ = registry_->GetCounter("permcache_decisions_total", "Checks answered, by result.",
                                   {{"result", "allowed"}});
  denied_ = registry_->GetCounter("permcache_decisions_total", "Checks answered, by result.",
                                  {{"result", "denied"}});
  // Touch the families so they appear (at zero) before the first request or error.
  RequestCounter(http::Route::kHealthz, 200);
  registry_->GetCounter("permcache_store_errors_total",
                        "Checker calls that failed because the store (or a dependency) failed: "
                        "codes unavailable and internal.",
                        {{"operation", "check"}});

  registry_->AddCollector([checker](MetricsWriter* w) {
    const CacheStats s = checker->Stats();
    const MetricLabels none;
    w->Gauge("permcache_cache_entries", "Entries in the L1 cache.", none,
             static_cast<double>(s.entries));
    w->Counter("permcache_cache_hits_total", "L1 cache hits.", none, static_cast<double>(s.hits));
    w->Counter("permcache_cache_misses_total", "L1 cache misses.", none,
               static_cast<double>(s.misses));
    w->Gauge("permcache_cache_hit_rate", "hits / (hits + misses) since start.", none,
             s.hit_rate());
    w->Counter("permcache_cache_evictions_total", "Entries evicted to respect the bounds.", none,
               static_cast<double>(s.evictions));
    w->Counter("permcache_cache_expirations_total", "Entries dropped because their TTL passed.",
               none, static_cast<double>(s.expirations));
    w->Counter("permcache_cache_invalidations_total",
               "Entries dropped by writes or admin invalidation.", none,
               static_cast<double>(s.invalidations));
    w->Counter("permcache_cache_stale_installs_refused_total",
               "Cache fills refused because an invalidation raced them.", none,
               static_cast<double>(s.stale_installs_refused));
    w->Counter("permcache_cache_fills_total", "Store reads made to fill the cache.", none,
               static_cast<double>(s.fills));
    w->Counter("permcache_cache_single_flight_waits_total",
               "Misses that waited for another thread's fill.", none,
               static_cast<double>(s.single_flight_waits));
    w->Gauge("permcache_cache_memory_bytes", "Bytes accounted to cache entries, keys and index.",
             none, static_cast<double>(s.memory_bytes));
    w->Gauge("permcache_cache_distinct_sets", "Interned permission sets alive.", none,
             static_cast<double>(s.distinct_sets));
    w->Gauge("permcache_cache_set_bytes", "Bytes held by interned permission sets.", none,
             static_cast<double>(s.set_bytes));
    w->Gauge("permcache_applied_revision",
             "Highest store revision whose invalidations this node applied.", none,
             static_cast<double>(s.applied_revision));
    w->Gauge("permcache_bus_lag_revisions",
             "Newest revision this node heard of minus the one it has applied.", none,
             static_cast<double>(s.newest_seen_revision - s.applied_revision));
    w->Counter("permcache_catch_ups_total",
               "Changelog catch-ups that applied revisions missed by the bus (or without one).",
               none, static_cast<double>(s.catch_ups));
    w->Counter("permcache_checker_store_errors_total",
               "Failed store reads, writes and catch-ups inside the checker.", none,
               static_cast<double>(s.store_errors));
    w->Gauge("permcache_l1_enabled", "1 unless every configured bus is down (L1 bypassed).",
             none, s.l1_enabled ? 1 : 0);
    // The same probe as /readyz, so alerts need no blackbox exporter to see the store down.
    w->Gauge("permcache_store_up", "1 when the store answered a probe during this scrape.", none,
             checker->StoreHealth().ok() ? 1 : 0);
    w->Gauge("permcache_store_connections", "Pooled store connections open.", none,
             static_cast<double>(s.store.connections_open));
    w->Gauge("permcache_store_connections_in_use", "Pooled store connections leased right now.",
             none, static_cast<double>(s.store.connections_in_use));
    w->Counter("permcache_store_connect_failures_total", "Failed store (re)connects.", none,
               static_cast<double>(s.store.connect_failures));
    if (s.store_feed_enabled) {
      w->Gauge("permcache_store_listener_up",
               "1 while the PostgreSQL LISTEN connection is up and listening.", none,
               s.store_feed_up ? 1 : 0);
      w->Counter("permcache_store_notifications_total",
                 "PostgreSQL NOTIFY messages received by this node's listener.", none,
                 static_cast<double>(s.store_feed_notifications));
      w->Counter("permcache_store_listener_reconnects_total",
                 "Listener connections opened after the first one.", none,
                 static_cast<double>(s.store_feed_reconnects));
      w->Counter("permcache_store_listener_heartbeat_failures_total",
                 "Dead or half-open listener connections detected.", none,
                 static_cast<double>(s.store_feed_heartbeat_failures));
      w->Counter("permcache_store_epoch_changes_total",
                 "Store identity changes seen (restore, failover): every cached answer dropped.",
                 none, static_cast<double>(s.store_feed_epoch_changes));
      w->Counter("permcache_effective_maintenance_seconds_total",
                 "Time this node's writes spent maintaining user_effective_policies.", none,
                 s.store.effective_maintenance_seconds);
      w->Counter("permcache_effective_windows_applied_total",
                 "Deferred user_effective_policies windows applied by this node.", none,
                 static_cast<double>(s.store.effective_windows_applied));
    }
    if (!s.l2_enabled) return;
    w->Gauge("permcache_l2_up", "1 when the L2 cache is reachable and consistent.", none,
             s.l2_up ? 1 : 0);
    w->Gauge("permcache_bus_up", "1 while the invalidation bus is subscribed.", none,
             s.bus_up ? 1 : 0);
    w->Counter("permcache_l2_hits_total", "L2 (Redis) hits.", none, static_cast<double>(s.l2_hits));
    w->Counter("permcache_l2_misses_total", "L2 (Redis) misses.", none,
               static_cast<double>(s.l2_misses));
    w->Counter("permcache_l2_errors_total", "L2 (Redis) errors (checks then use the store).",
               none, static_cast<double>(s.l2_errors));
    w->Counter("permcache_l2_puts_refused_stale_total",
               "L2 fills refused because the key was invalidated at a later revision.", none,
               static_cast<double>(s.l2_puts_refused_stale));
    w->Gauge("permcache_l2_keys", "Keys in the Redis database (DBSIZE).", none,
             static_cast<double>(s.l2_keys));
    w->Counter("permcache_bus_messages_received_total", "Invalidation messages received.", none,
               static_cast<double>(s.bus_messages_received));
    w->Counter("permcache_bus_messages_applied_total",
               "Invalidation messages that advanced this node.", none,
               static_cast<double>(s.bus_messages_applied));
  });
}

Counter* ServerHooks::RequestCounter(http::Route route, int code) {
  if (code < kMinCode || code > kMaxCode) code = 500;
  std::atomic<Counter*>& slot = requests_[static_cast<size_t>(route)][code - kMinCode];
  Counter* c = slot.load(std::memory_order_acquire);
  if (c != nullptr) return c;
  MetricLabels labels = RouteLabels(route);
  labels.emplace_back("code", std::to_string(code));
  // Racing threads get the same series from the registry; storing it twice is harmless.
  c = registry_->GetCounter(kRequestsName, kRequestsHelp, std::move(labels));
  slot.store(c, std::memory_order_release);
  return c;
}

void ServerHooks::OnRequest(http::Route route, int http_status, double seconds) {
  RequestCounter(route, http_status)->Inc();
  latency_[static_cast<size_t>(route)]->Observe(seconds);
}

void ServerHooks::OnDecision(bool allowed) { (allowed ? allowed_ : denied_)->Inc(); }

void ServerHooks::OnCheckerError(std::string_view operation, const Status& status) {
  const StatusCode code = status.code();
  registry_
      ->GetCounter("permcache_checker_errors_total", "Failed Checker calls, by operation and code.",
                   {{"operation", std::string(operation)},
                    {"code", std::string(StatusCodeName(code))}})
      ->Inc();
  if (code == StatusCode::kUnavailable || code == StatusCode::kInternal) {
    registry_
        ->GetCounter("permcache_store_errors_total",
                     "Checker calls that failed because the store (or a dependency) failed: "
                     "codes unavailable and internal.",
                     {{"operation", std::string(operation)}})
        ->Inc();
    spdlog::warn("{} failed: {}", operation, status.ToString());
  } else {
    spdlog::debug("{} refused: {}", operation, status.ToString());
  }
}

http::Readiness ServerHooks::CheckReadiness() {
  return ProbeReadiness(checker_);
}

void ServerHooks::AppendMetrics(std::string* out) { registry_->RenderTo(out); }

}  // namespace permcache
