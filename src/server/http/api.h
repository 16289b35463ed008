// Api: the routes of the HTTP API v1 (DESIGN §4) on top of a Checker. Transport-free (see
// handler.h), so every route is testable with a fake Checker and no sockets.
//
// Thread safety: Handle() is called concurrently from every IO thread. Api holds no mutable
// state of its own; the Checker and ApiHooks it is given must be thread-safe and outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "permcache/checker.h"
#include "permcache/status.h"
#include "server/http/handler.h"

namespace permcache::http {

// Every route, for metrics labels. The one route table in api.cc (method, path template,
// admin flag, handler) gives each its method and path; kOther: unknown paths, wrong methods and
// requests the transport refused before routing.
enum class Route : uint8_t {
  kCheckGet,
  kCheckPost,
  kCheckBatch,
  kPermissions,
  kMembership,
  kUi,
  kResources,
  kUnlock,
  kWrite,
  kModelGet,
  kModelPost,
  kCacheInvalidate,
  kCacheStats,
  kHealthz,
  kReadyz,
  kMetrics,
  kOther,
};
inline constexpr size_t kRouteCount = static_cast<size_t>(Route::kOther) + 1;
// The path template ("/v1/tenants/{t}/users/{u}/permissions"; "other" for kOther).
std::string_view RoutePath(Route route);
// "GET" | "POST" ("" for kOther).
std::string_view RouteMethod(Route route);
// Whether the route needs the admin token (when one is configured).
bool RouteIsAdmin(Route route);

struct Readiness {
  bool ready = false;
  std::string_view store = "down";     // "up" | "down"
  std::string_view redis = "disabled";  // "up" | "down" | "disabled"
  // The store's change feed (PostgreSQL LISTEN). Down degrades (L1 bypassed), stays ready.
  std::string_view listener = "disabled";  // "up" | "down" | "disabled"
};

// What the API reports to and asks of the server around it (metrics, logs, health). Implemented
// in src/server; every method must be thread-safe and must not throw.
class ApiHooks {
 public:
  virtual ~ApiHooks() = default;
  // One answered request (also requests refused by the transport, as Route::kOther).
  virtual void OnRequest(Route route, int http_status, double seconds) = 0;
  // One check answered (batch checks count one each).
  virtual void OnDecision(bool allowed) = 0;
  // A Checker call failed; `operation` is "check", "write", ... The API has already mapped it to
  // an HTTP answer; the hook logs and counts it (store errors are kUnavailable/kInternal).
  virtual void OnCheckerError(std::string_view operation, const Status& status) = 0;
  // GET /readyz.
  virtual Readiness CheckReadiness() = 0;
  // GET /metrics: appends the Prometheus text exposition.
  virtual void AppendMetrics(std::string* out) = 0;
};

struct ApiOptions {
  // Bearer token for admin endpoints; empty = admin endpoints are open (loopback only, enforced
  // by the server's config validation). Default empty.
  std::string admin_token;
  // JSON nesting limit for request bodies. Default 32.
  size_t max_json_depth = 32;
  // Most checks per POST /v1/check/batch. Default 1000.
  size_t max_batch_checks = 1000;
};

class Api final : public Handler {
 public:
  // REQUIRES: checker and hooks outlive the Api.
  Api(Checker* checker, ApiOptions options, ApiHooks* hooks);

  void Handle(const Request& request, Response* response) override;
  void OnProtocolError(int status) override;

 private:
  // What a handler gets: the request, its query string, and the decoded {t}/{u} segments of
  // the path template (empty for routes without them).
  struct Call {
    const Request& request;
    std::string_view query;
    std::string tenant, user;
  };
  using HandlerFn = void (Api::*)(const Call& call, Response* response);
  // One row of the route table (api.cc): the only place a route is spelled.
  struct RouteSpec {
    Route route;
    Method method;
    std::string_view path;  // template: "{t}"/"{u}" match one non-empty segment
    bool admin;
    HandlerFn handler;
  };
  static const RouteSpec kRouteTable[];
  static const RouteSpec* SpecOf(Route route);
  friend std::string_view RoutePath(Route route);
  friend std::string_view RouteMethod(Route route);
  friend bool RouteIsAdmin(Route route);

  Route Dispatch(const Request& request, Response* response);
  void CheckGet(const Call& call, Response* response);
  void CheckPost(const Call& call, Response* response);
  void CheckBatch(const Call& call, Response* response);
  void Permissions(const Call& call, Response* response);
  void Membership(const Call& call, Response* response);
  void Ui(const Call& call, Response* response);
  void Resources(const Call& call, Response* response);
  void Unlock(const Call& call, Response* response);
  void Write(const Call& call, Response* response);
  void ModelGet(const Call& call, Response* response);
  void ModelPost(const Call& call, Response* response);
  void CacheInvalidate(const Call& call, Response* response);
  void CacheStatsRoute(const Call& call, Response* response);
  void Healthz(const Call& call, Response* response);
  void Readyz(const Call& call, Response* response);
  void Metrics(const Call& call, Response* response);
  // Sets the error response for a failed Checker call and tells the hooks.
  void CheckerError(std::string_view operation, const Status& status, Response* response);

  Checker* const checker_;
  const ApiOptions options_;
  ApiHooks* const hooks_;
};

}  // namespace permcache::http
