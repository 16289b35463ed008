// ServerHooks: what the HTTP API reports to the server (http::ApiHooks): request counts and
// latency per route, decisions, Checker errors (logged and counted), readiness, and the
// /metrics exposition including the Checker's cache statistics and build info.
//
// Metric families (Prometheus):
//   permcache_http_requests_total{route,method,code}        counter
//   permcache_http_request_duration_seconds{route,method}   histogram
//   permcache_decisions_total{result="allowed|denied"}      counter
//   permcache_checker_errors_total{operation,code}          counter (every failed Checker call)
//   permcache_store_errors_total{operation}                 counter (unavailable/internal only)
//   permcache_cache_*                                        from Checker::Stats() at scrape
//   permcache_build_info{version}                            gauge, always 1
//
// Thread safety: every method is thread-safe; the hot-path methods (OnRequest, OnDecision) are
// lock-free after the first request of each (route, code).
#pragma once

#include <array>
#include <atomic>
#include <string>

#include "permcache/checker.h"
#include "server/http/api.h"
#include "server/metrics.h"

namespace permcache {

class ServerHooks final : public http::ApiHooks {
 public:
  // REQUIRES: checker and registry outlive this object.
  ServerHooks(Checker* checker, MetricsRegistry* registry, std::string_view version);

  void OnRequest(http::Route route, int http_status, double seconds) override;
  void OnDecision(bool allowed) override;
  void OnCheckerError(std::string_view operation, const Status& status) override;
  http::Readiness CheckReadiness() override;
  void AppendMetrics(std::string* out) override;

 private:
  static constexpr int kMinCode = 100, kMaxCode = 599;
  Counter* RequestCounter(http::Route route, int code);

  Checker* const checker_;
  MetricsRegistry* const registry_;
  std::array<Histogram*, http::kRouteCount> latency_{};
  // Counter per (route, status code), created on first use. Acquire/release: the pointer
  // publishes a Counter constructed by another thread.
  std::array<std::array<std::atomic<Counter*>, kMaxCode - kMinCode + 1>, http::kRouteCount>
      requests_{};
  Counter* allowed_ = nullptr;
  Counter* denied_ = nullptr;
};

}  // namespace permcache
