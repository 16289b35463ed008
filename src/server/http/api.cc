#include "server/http/api.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <limits>
#include <utility>

#include "server/http/auth.h"
#include "server/http/json_codec.h"
#include "server/http/json_writer.h"
#include "server/http/query.h"
#include "server/http/status_http.h"

namespace permcache::http {
namespace {

constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

void MethodNotAllowed(const Request& request, std::string_view path, std::string_view allow,
                      Response* response) {
  std::string msg = "method ";
  msg += request.method_name;
  msg += " is not allowed on ";
  msg += path;
  msg += " (allowed: ";
  msg += allow;
  msg += ")";
  SetError(response, 405, StatusCode::kInvalidArgument, msg);
  response->allow = allow;
}

void AppendRevisionBody(std::string_view key, uint64_t value, std::string* out) {
  out->append("{\"");
  out->append(key);
  out->append("\":");
  AppendUint(out, value);
  out->push_back('}');
}

// Splits "t/users/u/permissions" (after "/v1/tenants/") into its parts.
bool SplitUserPath(std::string_view rest, std::string_view* tenant, std::string_view* user,
                   std::string_view* leaf) {
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    const size_t slash = rest.find('/');
    if (i < 3) {
      if (slash == std::string_view::npos) return false;
      parts[i] = rest.substr(0, slash);
      rest.remove_prefix(slash + 1);
    } else {
      if (slash != std::string_view::npos) return false;
      parts[i] = rest;
    }
  }
  if (parts[1] != "users" || parts[0].empty() || parts[2].empty()) return false;
  *tenant = parts[0];
  *user = parts[2];
  *leaf = parts[3];
  return true;
}

bool ParseUint64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string_view RoutePath(Route route) {
  switch (route) {
    case Route::kCheckGet:
    case Route::kCheckPost: return "/v1/check";
    case Route::kCheckBatch: return "/v1/check/batch";
    case Route::kPermissions: return "/v1/tenants/{t}/users/{u}/permissions";
    case Route::kMembership: return "/v1/tenants/{t}/users/{u}/membership";
    case Route::kWrite: return "/v1/write";
    case Route::kModelGet:
    case Route::kModelPost: return "/v1/model";
    case Route::kCacheInvalidate: return "/v1/cache/invalidate";
    case Route::kCacheStats: return "/v1/cache/stats";
    case Route::kHealthz: return "/healthz";
    case Route::kReadyz: return "/readyz";
    case Route::kMetrics: return "/metrics";
    case Route::kOther: return "other";
  }
  return "other";
}

std::string_view RouteMethod(Route route) {
  switch (route) {
    case Route::kCheckPost:
    case Route::kCheckBatch:
    case Route::kWrite:
    case Route::kModelPost:
    case Route::kCacheInvalidate: return "POST";
    case Route::kOther: return "";
    default: return "GET";
  }
}

Api::Api(Checker* checker, ApiOptions options, ApiHooks* hooks)
    : checker_(checker), options_(std::move(options)), hooks_(hooks) {}

void Api::Handle(const Request& request, Response* response) {
  const auto start = std::chrono::steady_clock::now();
  Route route = Route::kOther;
  try {
    route = Dispatch(request, response);
  } catch (const std::exception& e) {
    // Boundary: nothing thrown below (allocation failures) may reach the transport.
    SetError(response, 500, StatusCode::kInternal, std::string("internal error: ") + e.what());
    hooks_->OnCheckerError("http", InternalError(e.what()));
  } catch (...) {
    SetError(response, 500, StatusCode::kInternal, "internal error");
    hooks_->OnCheckerError("http", InternalError("unknown exception"));
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  hooks_->OnRequest(route, response->status, elapsed.count());
}

void Api::OnProtocolError(int status) { hooks_->OnRequest(Route::kOther, status, 0.0); }

Route Api::Dispatch(const Request& request, Response* response) {
  const Target target = SplitTarget(request.target);
  const std::string_view path = target.path;
  const Method m = request.method;

  // The hot path first.
  if (path == "/v1/check") {
    if (m == Method::kGet) {
      CheckGet(target.query, response);
      return Route::kCheckGet;
    }
    if (m == Method::kPost) {
      CheckPost(request, response);
      return Route::kCheckPost;
    }
    MethodNotAllowed(request, path, "GET, POST", response);
    return Route::kOther;
  }

  constexpr std::string_view kTenants = "/v1/tenants/";
  if (path.starts_with(kTenants)) {
    std::string_view tenant, user, leaf;
    if (SplitUserPath(path.substr(kTenants.size()), &tenant, &user, &leaf) &&
        (leaf == "permissions" || leaf == "membership")) {
      const Route route = leaf == "permissions" ? Route::kPermissions : Route::kMembership;
      if (m != Method::kGet) {
        MethodNotAllowed(request, path, "GET", response);
        return Route::kOther;
      }
      UserRoute(route, tenant, user, response);
      return route;
    }
  }

  struct Entry {
    std::string_view path;
    Route get, post;  // kOther = method not supported
    bool admin_get, admin_post;
  };
  static constexpr Entry kRoutes[] = {
      {"/v1/check/batch", Route::kOther, Route::kCheckBatch, false, false},
      {"/v1/write", Route::kOther, Route::kWrite, false, true},
      {"/v1/model", Route::kModelGet, Route::kModelPost, true, true},
      {"/v1/cache/invalidate", Route::kOther, Route::kCacheInvalidate, false, true},
      {"/v1/cache/stats", Route::kCacheStats, Route::kOther, false, false},
      {"/healthz", Route::kHealthz, Route::kOther, false, false},
      {"/readyz", Route::kReadyz, Route::kOther, false, false},
      {"/metrics", Route::kMetrics, Route::kOther, false, false},
  };
  const Entry* entry = nullptr;
  for (const Entry& e : kRoutes) {
    if (e.path == path) entry = &e;
  }
  if (entry == nullptr) {
    std::string msg = "no route for ";
    msg += path;
    SetError(response, 404, StatusCode::kNotFound, msg);
    return Route::kOther;
  }
  const Route route = m == Method::kGet ? entry->get : m == Method::kPost ? entry->post
                                                                          : Route::kOther;
  if (route == Route::kOther) {
    const bool get = entry->get != Route::kOther, post = entry->post != Route::kOther;
    MethodNotAllowed(request, path, get && post ? "GET, POST" : get ? "GET" : "POST", response);
    return Route::kOther;
  }
  const bool admin = m == Method::kGet ? entry->admin_get : entry->admin_post;
  if (admin) {
    Status auth = CheckAdmin(options_.admin_token, request.authorization);
    if (!auth.ok()) {
      SetStatusError(response, auth);
      return route;
    }
  }
  switch (route) {
    case Route::kCheckBatch: CheckBatch(request, response); break;
    case Route::kWrite: Write(request, response); break;
    case Route::kModelGet: ModelGet(target.query, response); break;
    case Route::kModelPost: ModelPost(request, response); break;
    case Route::kCacheInvalidate: CacheInvalidate(request, response); break;
    case Route::kCacheStats: CacheStatsRoute(response); break;
    case Route::kHealthz: response->body.append(R"({"status":"ok"})"); break;
    case Route::kReadyz: Readyz(response); break;
    case Route::kMetrics:
      response->content_type = kPrometheusContentType;
      hooks_->AppendMetrics(&response->body);
      break;
    default: SetError(response, 500, StatusCode::kInternal, "unrouted request"); break;
  }
  return route;
}

void Api::CheckerError(std::string_view operation, const Status& status, Response* response) {
  hooks_->OnCheckerError(operation, status);
  SetStatusError(response, status);
}

void Api::CheckGet(std::string_view query, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(query); !s.ok()) return SetStatusError(response, s);
  CheckRequest req;
  bool has_tenant = false, has_user = false, has_permission = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string_view key = params.key(i), value = params.value(i);
    if (key == "tenant") {
      req.tenant = value;
      has_tenant = true;
    } else if (key == "user") {
      req.user = value;
      has_user = true;
    } else if (key == "permission") {
      req.permission = value;
      has_permission = true;
    } else if (key == "scope") {
      req.scope = value;
    } else if (key == "at_least_revision") {
      if (!ParseUint64(value, &req.at_least_revision)) {
        return SetError(response, 400, StatusCode::kInvalidArgument,
                        "query parameter 'at_least_revision' must be a non-negative integer");
      }
    } else if (key == "explain") {
      if (value == "1" || value == "true") {
        req.explain = true;
      } else if (value == "0" || value == "false") {
        req.explain = false;
      } else {
        return SetError(response, 400, StatusCode::kInvalidArgument,
                        "query parameter 'explain' must be 1, true, 0 or false");
      }
    } else {
      std::string msg = "unknown query parameter '";
      msg += key;
      msg += "' (expected tenant, user, permission, scope, at_least_revision, explain)";
      return SetError(response, 400, StatusCode::kInvalidArgument, msg);
    }
  }
  const char* missing = !has_tenant       ? "tenant"
                        : !has_user       ? "user"
                        : !has_permission ? "permission"
                                          : nullptr;
  if (missing != nullptr) {
    return SetError(response, 400, StatusCode::kInvalidArgument,
                    std::string("missing query parameter '") + missing + "'");
  }
  StatusOr<Decision> d = checker_->Check(req);
  if (!d.ok()) return CheckerError("check", d.status(), response);
  hooks_->OnDecision(d->allowed);
  response->body.reserve(64);
  AppendDecisionJson(*d, &response->body);
}

void Api::CheckPost(const Request& request, Response* response) {
  StatusOr<CheckInput> in = ParseCheckJson(request.body, options_.max_json_depth);
  if (!in.ok()) return SetStatusError(response, in.status());
  StatusOr<Decision> d = checker_->Check(in->View());
  if (!d.ok()) return CheckerError("check", d.status(), response);
  hooks_->OnDecision(d->allowed);
  AppendDecisionJson(*d, &response->body);
}

void Api::CheckBatch(const Request& request, Response* response) {
  StatusOr<std::vector<CheckInput>> checks =
      ParseBatchJson(request.body, options_.max_json_depth, options_.max_batch_checks);
  if (!checks.ok()) return SetStatusError(response, checks.status());
  std::string& out = response->body;
  out.reserve(32 + checks->size() * 40);
  out.append("{\"results\":[");
  std::vector<CheckRequest> requests;
  requests.reserve(checks->size());
  for (const CheckInput& c : *checks) requests.push_back(c.View());
  std::vector<BatchResult> results(requests.size());
  checker_->CheckBatch(requests, results);
  uint64_t revision = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].status.ok()) {
      // The whole batch fails, naming the check (simple for clients: no partial results).
      const Status& s = results[i].status;
      return CheckerError("check",
                          Status(s.code(), "checks[" + std::to_string(i) + "]: " + s.message()),
                          response);
    }
    const Decision& d = results[i].decision;
    hooks_->OnDecision(d.allowed);
    if (i > 0) out.push_back(',');
    AppendDecisionJson(d, &out);
    revision = std::min(revision, d.revision);
  }
  // The batch is consistent with the oldest revision any of its answers reflects.
  if (checks->empty()) revision = checker_->AppliedRevision();
  out.append("],\"revision\":");
  AppendUint(&out, revision);
  out.push_back('}');
}

void Api::UserRoute(Route route, std::string_view raw_tenant, std::string_view raw_user,
                    Response* response) {
  std::string tenant, user;
  if (!PercentDecode(raw_tenant, /*plus_is_space=*/false, &tenant) ||
      !PercentDecode(raw_user, /*plus_is_space=*/false, &user)) {
    return SetError(response, 400, StatusCode::kInvalidArgument,
                    "malformed percent-escape in the path");
  }
  if (route == Route::kPermissions) {
    StatusOr<EffectivePermissions> p = checker_->Permissions(tenant, user);
    if (!p.ok()) return CheckerError("permissions", p.status(), response);
    AppendPermissionsJson(*p, &response->body);
  } else {
    StatusOr<MembershipInfo> info = checker_->Membership(tenant, user);
    if (!info.ok()) return CheckerError("membership", info.status(), response);
    AppendMembershipJson(*info, &response->body);
  }
}

void Api::Write(const Request& request, Response* response) {
  StatusOr<std::vector<WriteOp>> ops = ParseWriteJson(request.body, options_.max_json_depth);
  if (!ops.ok()) return SetStatusError(response, ops.status());
  StatusOr<uint64_t> revision = checker_->Write(*ops);
  if (!revision.ok()) return CheckerError("write", revision.status(), response);
  AppendRevisionBody("revision", *revision, &response->body);
}

void Api::ModelGet(std::string_view query, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(query); !s.ok()) return SetStatusError(response, s);
  std::string_view tenant;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params.key(i) != "tenant") {
      return SetError(response, 400, StatusCode::kInvalidArgument,
                      "unknown query parameter '" + std::string(params.key(i)) +
                          "' (expected tenant)");
    }
    tenant = params.value(i);
  }
  StatusOr<Model> model = checker_->ExportModel(tenant);
  if (!model.ok()) return CheckerError("export_model", model.status(), response);
  AppendModelJson(*model, &response->body);
}

void Api::ModelPost(const Request& request, Response* response) {
  StatusOr<Model> model = ParseModelJson(request.body, options_.max_json_depth);
  if (!model.ok()) return SetStatusError(response, model.status());
  StatusOr<uint64_t> revision = checker_->ImportModel(*model);
  if (!revision.ok()) return CheckerError("import_model", revision.status(), response);
  AppendRevisionBody("revision", *revision, &response->body);
}

void Api::CacheInvalidate(const Request& request, Response* response) {
  StatusOr<InvalidateRequest> req = ParseInvalidateJson(request.body, options_.max_json_depth);
  if (!req.ok()) return SetStatusError(response, req.status());
  StatusOr<uint64_t> n = checker_->Invalidate(*req);
  if (!n.ok()) return CheckerError("invalidate", n.status(), response);
  AppendRevisionBody("invalidated", *n, &response->body);
}

void Api::CacheStatsRoute(Response* response) {
  AppendCacheStatsJson(checker_->Stats(), &response->body);
}

void Api::Readyz(Response* response) {
  const Readiness r = hooks_->CheckReadiness();
  response->status = r.ready ? 200 : 503;
  JsonWriter w(&response->body);
  w.BeginObject();
  w.Key("status");
  w.String(r.ready ? "ready" : "unavailable");
  w.Key("store");
  w.String(r.store);
  w.Key("redis");
  w.String(r.redis);
  w.Key("listener");
  w.String(r.listener);
  w.EndObject();
}

}  // namespace permcache::http
