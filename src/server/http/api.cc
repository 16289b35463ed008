#include "server/http/api.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "server/http/auth.h"
#include "server/http/etag.h"
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

// Matches `path` against a route template; a "{name}" segment matches one non-empty path
// segment, captured raw (at most 2). A template without '{' is one string compare (the hot path).
bool MatchPath(std::string_view tmpl, std::string_view path, std::string_view* captures,
               size_t* n) {
  *n = 0;
  for (;;) {
    const size_t brace = tmpl.find('{');
    if (brace == std::string_view::npos) return tmpl == path;
    if (path.substr(0, brace) != tmpl.substr(0, brace) || *n == 2) return false;
    path.remove_prefix(brace);
    tmpl.remove_prefix(tmpl.find('}', brace) + 1);
    const std::string_view segment = path.substr(0, path.find('/'));
    if (segment.empty()) return false;
    captures[(*n)++] = segment;
    path.remove_prefix(segment.size());
  }
}

// Splits a comma-separated list ("a,b"); an empty string is an empty list. Empty items and
// repeated items are refused (a repeated key would make the answer invalid JSON).
Status SplitList(std::string_view name, std::string_view list, std::vector<std::string>* out) {
  if (list.empty()) return Status::Ok();
  for (;;) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (item.empty()) {
      return InvalidArgumentError("query parameter '" + std::string(name) +
                                  "' has an empty item");
    }
    if (std::find(out->begin(), out->end(), item) != out->end()) {
      return InvalidArgumentError("query parameter '" + std::string(name) + "' names '" +
                                  std::string(item) + "' twice");
    }
    out->emplace_back(item);
    if (comma == std::string_view::npos) return Status::Ok();
    list.remove_prefix(comma + 1);
  }
}

// The content of a body that ends with `,"revision":N}` (the permission and sidebar answers):
// the body without that field, so that a write elsewhere, which only moves the revision, keeps
// the ETag. A body of another shape is returned whole: a correct tag that moves more often
// (the unit tests would notice).
std::string_view WithoutTrailingRevision(std::string_view body, uint64_t revision) {
  constexpr std::string_view kKey = ",\"revision\":";
  char digits[20];
  const char* const end = std::to_chars(std::begin(digits), std::end(digits), revision).ptr;
  const std::string_view number(digits, static_cast<size_t>(end - digits));
  std::string_view content = body;
  if (!content.ends_with('}')) return body;
  content.remove_suffix(1);
  if (!content.ends_with(number)) return body;
  content.remove_suffix(number.size());
  if (!content.ends_with(kKey)) return body;
  content.remove_suffix(kKey.size());
  return content;
}

// Conditional GET (docs/api.md): tags the answer just written to `response->body` and turns
// it into a 304 without a body when the client already holds it. `private`: the answer is one
// user's; `no-cache`: a cache may keep it but must ask again every time, since a revoke is
// never to be served from a stale copy.
void AnswerConditionally(const Request& request, uint64_t revision, Response* response) {
  SetContentTag(WithoutTrailingRevision(response->body, revision), &response->etag);
  response->cache_control = "private, no-cache";
  if (IfNoneMatchMatches(request.if_none_match, response->etag)) {
    response->status = 304;
    response->body.clear();
  }
}

bool ParseUint64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

// The route table: the only place a route is spelled. Dispatch tries the rows in order, so
// the hot path (GET /v1/check) comes first and costs one string compare. RoutePath, RouteMethod
// and the metrics labels come from here too.
const Api::RouteSpec Api::kRouteTable[] = {
    {Route::kCheckGet, Method::kGet, "/v1/check", false, &Api::CheckGet},
    {Route::kCheckPost, Method::kPost, "/v1/check", false, &Api::CheckPost},
    {Route::kCheckBatch, Method::kPost, "/v1/check/batch", false, &Api::CheckBatch},
    {Route::kPermissions, Method::kGet, "/v1/tenants/{t}/users/{u}/permissions", false,
     &Api::Permissions},
    {Route::kMembership, Method::kGet, "/v1/tenants/{t}/users/{u}/membership", false,
     &Api::Membership},
    {Route::kUi, Method::kGet, "/v1/tenants/{t}/users/{u}/ui", false, &Api::Ui},
    {Route::kResources, Method::kGet, "/v1/tenants/{t}/resources", false, &Api::Resources},
    // Not admin: visitors unlock with a resource's password (brute-force limited per client).
    {Route::kUnlock, Method::kPost, "/v1/resources/unlock", false, &Api::Unlock},
    {Route::kWrite, Method::kPost, "/v1/write", true, &Api::Write},
    {Route::kModelGet, Method::kGet, "/v1/model", true, &Api::ModelGet},
    {Route::kModelPost, Method::kPost, "/v1/model", true, &Api::ModelPost},
    {Route::kCacheInvalidate, Method::kPost, "/v1/cache/invalidate", true, &Api::CacheInvalidate},
    {Route::kCacheStats, Method::kGet, "/v1/cache/stats", false, &Api::CacheStatsRoute},
    {Route::kHealthz, Method::kGet, "/healthz", false, &Api::Healthz},
    {Route::kReadyz, Method::kGet, "/readyz", false, &Api::Readyz},
    {Route::kMetrics, Method::kGet, "/metrics", false, &Api::Metrics},
};

const Api::RouteSpec* Api::SpecOf(Route route) {
  for (const RouteSpec& spec : kRouteTable) {
    if (spec.route == route) return &spec;
  }
  return nullptr;  // kOther
}

std::string_view RoutePath(Route route) {
  const Api::RouteSpec* spec = Api::SpecOf(route);
  return spec == nullptr ? "other" : spec->path;
}

std::string_view RouteMethod(Route route) {
  const Api::RouteSpec* spec = Api::SpecOf(route);
  if (spec == nullptr) return "";
  return spec->method == Method::kGet ? "GET" : "POST";
}

bool RouteIsAdmin(Route route) {
  const Api::RouteSpec* spec = Api::SpecOf(route);
  return spec != nullptr && spec->admin;
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
  bool get = false, post = false;  // methods the path supports (for 405)
  for (const RouteSpec& spec : kRouteTable) {
    std::string_view raw[2];
    size_t n = 0;
    if (!MatchPath(spec.path, path, raw, &n)) continue;
    if (spec.method != request.method) {
      (spec.method == Method::kGet ? get : post) = true;
      continue;
    }
    if (spec.admin) {
      Status auth = CheckAdmin(options_.admin_token, request.authorization);
      if (!auth.ok()) {
        SetStatusError(response, auth);
        return spec.route;
      }
    }
    Call call{request, target.query, {}, {}};
    if ((n > 0 && !PercentDecode(raw[0], /*plus_is_space=*/false, &call.tenant)) ||
        (n > 1 && !PercentDecode(raw[1], /*plus_is_space=*/false, &call.user))) {
      SetError(response, 400, StatusCode::kInvalidArgument,
               "malformed percent-escape in the path");
      return spec.route;
    }
    (this->*spec.handler)(call, response);
    return spec.route;
  }
  if (get || post) {
    MethodNotAllowed(request, path, get && post ? "GET, POST" : get ? "GET" : "POST", response);
    return Route::kOther;
  }
  std::string msg = "no route for ";
  msg += path;
  SetError(response, 404, StatusCode::kNotFound, msg);
  return Route::kOther;
}

void Api::CheckerError(std::string_view operation, const Status& status, Response* response) {
  hooks_->OnCheckerError(operation, status);
  SetStatusError(response, status);
}

void Api::CheckGet(const Call& call, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(call.query); !s.ok()) return SetStatusError(response, s);
  CheckRequest req;
  bool has_tenant = false, has_permission = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string_view key = params.key(i), value = params.value(i);
    if (key == "tenant") {
      req.tenant = value;
      has_tenant = true;
    } else if (key == "user") {
      req.user = value;
    } else if (key == "permission") {
      req.permission = value;
      has_permission = true;
    } else if (key == "scope") {
      req.scope = value;
    } else if (key == "resource") {
      req.resource = value;
    } else if (key == "token") {
      req.token = value;
    } else if (key == "element") {
      req.element = value;
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
      msg += "' (expected tenant, user, permission, scope, resource, token, element, "
             "at_least_revision, explain)";
      return SetError(response, 400, StatusCode::kInvalidArgument, msg);
    }
  }
  // `user` may be absent (anonymous resource checks) and an element check has no permission:
  // the Checker validates the combination (and an empty user where one is needed).
  const bool element = params.Get("element").has_value();
  const char* missing = !has_tenant                   ? "tenant"
                        : !has_permission && !element ? "permission"
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

void Api::CheckPost(const Call& call, Response* response) {
  StatusOr<CheckInput> in = ParseCheckJson(call.request.body, options_.max_json_depth);
  if (!in.ok()) return SetStatusError(response, in.status());
  StatusOr<Decision> d = checker_->Check(in->View());
  if (!d.ok()) return CheckerError("check", d.status(), response);
  hooks_->OnDecision(d->allowed);
  AppendDecisionJson(*d, &response->body);
}

void Api::CheckBatch(const Call& call, Response* response) {
  StatusOr<std::vector<CheckInput>> checks =
      ParseBatchJson(call.request.body, options_.max_json_depth, options_.max_batch_checks);
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

void Api::Permissions(const Call& call, Response* response) {
  StatusOr<EffectivePermissions> p = checker_->Permissions(call.tenant, call.user);
  if (!p.ok()) return CheckerError("permissions", p.status(), response);
  AppendPermissionsJson(*p, &response->body);
  AnswerConditionally(call.request, p->revision, response);
}

void Api::Membership(const Call& call, Response* response) {
  StatusOr<MembershipInfo> info = checker_->Membership(call.tenant, call.user);
  if (!info.ok()) return CheckerError("membership", info.status(), response);
  AppendMembershipJson(*info, &response->body);
}

void Api::Ui(const Call& call, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(call.query); !s.ok()) return SetStatusError(response, s);
  std::vector<std::string> elements;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params.key(i) != "elements") {
      return SetError(response, 400, StatusCode::kInvalidArgument,
                      "unknown query parameter '" + std::string(params.key(i)) +
                          "' (expected elements)");
    }
    if (Status s = SplitList("elements", params.value(i), &elements); !s.ok()) {
      return SetStatusError(response, s);
    }
  }
  StatusOr<UiAnswer> answer = checker_->UiElements(call.tenant, call.user, elements);
  if (!answer.ok()) return CheckerError("ui", answer.status(), response);
  AppendUiJson(*answer, &response->body);
  AnswerConditionally(call.request, answer->revision, response);
}

void Api::Resources(const Call& call, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(call.query); !s.ok()) return SetStatusError(response, s);
  ResourceListRequest req;
  req.tenant = call.tenant;
  bool has_permission = false;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string_view key = params.key(i), value = params.value(i);
    if (key == "user") {
      req.user = value;
    } else if (key == "permission") {
      req.permission = value;
      has_permission = true;
    } else if (key == "type") {
      req.type = value;
    } else if (key == "cursor") {
      req.cursor = value;
    } else if (key == "limit") {
      uint64_t limit = 0;
      if (!ParseUint64(value, &limit) || limit > std::numeric_limits<uint32_t>::max()) {
        return SetError(response, 400, StatusCode::kInvalidArgument,
                        "query parameter 'limit' must be a positive integer");
      }
      req.limit = static_cast<size_t>(limit);  // the Checker checks the range
    } else {
      return SetError(response, 400, StatusCode::kInvalidArgument,
                      "unknown query parameter '" + std::string(key) +
                          "' (expected user, permission, type, limit, cursor)");
    }
  }
  if (!has_permission) {
    return SetError(response, 400, StatusCode::kInvalidArgument,
                    "missing query parameter 'permission'");
  }
  StatusOr<ResourceList> list = checker_->ListResources(req);
  if (!list.ok()) return CheckerError("list_resources", list.status(), response);
  AppendResourceListJson(*list, &response->body);
}

void Api::Unlock(const Call& call, Response* response) {
  // Every answer of this route, errors included: a token is a secret, and no cache may keep
  // an answer to a password.
  constexpr std::string_view kNoStore = "no-store";
  StatusOr<UnlockInput> in = ParseUnlockJson(call.request.body, options_.max_json_depth);
  if (!in.ok()) {
    SetStatusError(response, in.status());
    response->cache_control = kNoStore;
    return;
  }
  int64_t retry_after = -1;
  // The peer address, never X-Forwarded-For (forgeable): behind a proxy every visitor counts
  // as one client (docs/api.md).
  StatusOr<UnlockResult> result = checker_->Unlock(
      UnlockRequest{in->tenant, in->resource, in->password, call.request.remote_address},
      &retry_after);
  response->cache_control = kNoStore;
  if (!result.ok()) {
    // The Checker's messages never contain the password (checker.h), so they may be logged.
    CheckerError("unlock", result.status(), response);
    response->cache_control = kNoStore;
    if (result.status().code() == StatusCode::kResourceExhausted) {
      response->retry_after_seconds = std::max<int64_t>(retry_after, 1);
    }
    return;
  }
  AppendUnlockJson(*result, &response->body);
}

void Api::Write(const Call& call, Response* response) {
  StatusOr<std::vector<WriteOp>> ops = ParseWriteJson(call.request.body, options_.max_json_depth);
  if (!ops.ok()) return SetStatusError(response, ops.status());
  StatusOr<uint64_t> revision = checker_->Write(*ops);
  if (!revision.ok()) return CheckerError("write", revision.status(), response);
  AppendRevisionBody("revision", *revision, &response->body);
}

void Api::ModelGet(const Call& call, Response* response) {
  QueryParams params;
  if (Status s = params.Parse(call.query); !s.ok()) return SetStatusError(response, s);
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

void Api::ModelPost(const Call& call, Response* response) {
  StatusOr<Model> model = ParseModelJson(call.request.body, options_.max_json_depth);
  if (!model.ok()) return SetStatusError(response, model.status());
  StatusOr<uint64_t> revision = checker_->ImportModel(*model);
  if (!revision.ok()) return CheckerError("import_model", revision.status(), response);
  AppendRevisionBody("revision", *revision, &response->body);
}

void Api::CacheInvalidate(const Call& call, Response* response) {
  StatusOr<InvalidateRequest> req =
      ParseInvalidateJson(call.request.body, options_.max_json_depth);
  if (!req.ok()) return SetStatusError(response, req.status());
  StatusOr<uint64_t> n = checker_->Invalidate(*req);
  if (!n.ok()) return CheckerError("invalidate", n.status(), response);
  AppendRevisionBody("invalidated", *n, &response->body);
}

void Api::CacheStatsRoute(const Call&, Response* response) {
  AppendCacheStatsJson(checker_->Stats(), &response->body);
}

void Api::Healthz(const Call&, Response* response) {
  response->body.append(R"({"status":"ok"})");
}

void Api::Metrics(const Call&, Response* response) {
  response->content_type = kPrometheusContentType;
  hooks_->AppendMetrics(&response->body);
}

void Api::Readyz(const Call&, Response* response) {
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
