#include "cli/commands.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <vector>

#include "cli/exit_codes.h"

namespace permcache::cli {
namespace {

namespace json = boost::json;

// The answer to one request: the HTTP response and its parsed JSON (null when not JSON).
struct Answer {
  client::HttpResponse response;
  json::value body;
};

// Sends one request. With --json the server's body is printed as is, whatever the status.
// Transport failures keep their kUnavailable; non-2xx answers become the Status of
// StatusFromResponse.
StatusOr<Answer> Call(CommandContext& ctx, std::string_view method, const std::string& target,
                      const std::string& body = {}) {
  auto res = ctx.http->Request(method, target, body);
  if (!res.ok()) return res.status();
  if (ctx.json) {
    *ctx.out << res->body;
    if (res->body.empty() || res->body.back() != '\n') *ctx.out << '\n';
  }
  Answer answer;
  answer.response = std::move(*res);
  boost::system::error_code ec;
  answer.body = json::parse(answer.response.body, ec);
  if (ec) answer.body = nullptr;
  PERMCACHE_RETURN_IF_ERROR(StatusFromResponse(answer.response));
  if (!answer.body.is_object()) {
    return InternalError("server answered HTTP " + std::to_string(answer.response.status) +
                         " with a body that is not a JSON object");
  }
  return answer;
}

std::string ScalarText(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.as_string());
    case json::kind::bool_:
      return v.as_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v.as_int64());
    case json::kind::uint64:
      return std::to_string(v.as_uint64());
    case json::kind::double_:
      return fmt::format("{:.4g}", v.as_double());
    case json::kind::null:
      return "null";
    default:
      return json::serialize(v);
  }
}

std::string Field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? std::string() : ScalarText(*v);
}

void PrettyPrint(std::ostream& out, const json::value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    size_t i = 0;
    for (const auto& kv : o) {
      out << inner << json::serialize(json::value(kv.key())) << ": ";
      PrettyPrint(out, kv.value(), indent + 1);
      out << (++i < o.size() ? ",\n" : "\n");
    }
    out << pad << "}";
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) {
      out << "[]";
      return;
    }
    // Arrays of scalars (permissions, inherits) stay on one line.
    bool scalars = true;
    for (const auto& e : a) scalars = scalars && !e.is_object() && !e.is_array();
    if (scalars) {
      out << json::serialize(v);
      return;
    }
    out << "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      out << inner;
      PrettyPrint(out, a[i], indent + 1);
      out << (i + 1 < a.size() ? ",\n" : "\n");
    }
    out << pad << "]";
  } else {
    out << json::serialize(v);
  }
}

StatusOr<std::string> ReadInput(CommandContext& ctx, const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(*ctx.in), std::istreambuf_iterator<char>());
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgumentError("cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return InvalidArgumentError("cannot read '" + path + "'");
  return ss.str();
}

StatusOr<json::value> ParseJsonInput(const std::string& input, const std::string& source) {
  boost::system::error_code ec;
  json::value v = json::parse(input, ec);
  if (ec) return InvalidArgumentError(source + ": invalid JSON: " + ec.message());
  return v;
}

std::string SourceName(const std::string& path) { return path == "-" ? "stdin" : path; }

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
    }
    out << line << '\n';
  }
}

void AddPatternRows(std::vector<std::vector<std::string>>& rows, const json::object& o,
                    const std::string& scope) {
  for (const char* effect : {"permissions", "denied"}) {
    const auto* list = o.if_contains(effect);
    if (list == nullptr || !list->is_array()) continue;
    for (const auto& p : list->as_array()) {
      rows.push_back({effect[0] == 'p' ? "allow" : "deny", ScalarText(p), scope});
    }
  }
}

}  // namespace

StatusOr<std::string> CacheInvalidateBody(const CacheClearArgs& args) {
  const bool record = !args.resource.empty() || !args.element.empty();
  const int forms = (args.all ? 1 : 0) + (!args.pattern.empty() ? 1 : 0) +
                    (!record && (!args.user.empty() || !args.tenant.empty()) ? 1 : 0) +
                    (!args.resource.empty() ? 1 : 0) + (!args.element.empty() ? 1 : 0);
  if (forms != 1) {
    return InvalidArgumentError(
        "cache clear needs exactly one of: --all | --user U [--tenant T] | --tenant T | "
        "--pattern P | --tenant T --resource R [--user U] | --tenant T --element E");
  }
  if (record && args.tenant.empty()) {
    return InvalidArgumentError(std::string("cache clear ") +
                                (args.resource.empty() ? "--element" : "--resource") +
                                " needs --tenant T");
  }
  if (!args.element.empty() && !args.user.empty()) {
    return InvalidArgumentError("cache clear --element takes no --user");
  }
  json::object body;
  if (args.all) body["all"] = true;
  if (!args.pattern.empty()) body["pattern"] = args.pattern;
  if (!args.tenant.empty()) body["tenant"] = args.tenant;
  if (!args.resource.empty()) body["resource"] = args.resource;
  if (!args.element.empty()) body["element"] = args.element;
  if (!args.user.empty()) body["user"] = args.user;
  return json::serialize(body);
}

Status ValidateCheckArgs(const CheckArgs& args) {
  if (!args.element.empty()) {
    if (!args.permission.empty()) {
      return InvalidArgumentError(
          "an element check takes no PERMISSION: permcache check TENANT USER --element E");
    }
    if (!args.resource.empty() || !args.token.empty()) {
      return InvalidArgumentError(
          "--element cannot be combined with --resource or --unlock-token");
    }
    if (args.anonymous || args.user.empty()) {
      return InvalidArgumentError("an element check needs a USER (no --anonymous)");
    }
    if (!args.scope.empty()) {
      return InvalidArgumentError("--element cannot be combined with --scope");
    }
    return Status::Ok();
  }
  if (args.permission.empty()) {
    return InvalidArgumentError(
        "missing PERMISSION: permcache check TENANT USER PERMISSION [--resource R] "
        "(or TENANT USER --element E)");
  }
  if (!args.token.empty() && args.resource.empty()) {
    return InvalidArgumentError("--unlock-token is only meaningful with --resource R");
  }
  if (args.anonymous) {
    if (args.resource.empty()) {
      return InvalidArgumentError("--anonymous is only meaningful with --resource R");
    }
    if (!args.user.empty()) {
      return InvalidArgumentError(
          "--anonymous takes no USER: permcache check TENANT PERMISSION --anonymous --resource R");
    }
  } else if (args.user.empty()) {
    return InvalidArgumentError("missing USER (or --anonymous for a resource check)");
  }
  if (!args.resource.empty() && !args.scope.empty()) {
    return InvalidArgumentError("--resource cannot be combined with --scope");
  }
  return Status::Ok();
}

std::string CheckQueryTarget(const CheckArgs& args) {
  std::string target = "/v1/check?tenant=" + client::UrlEncode(args.tenant);
  auto add = [&target](std::string_view key, const std::string& value) {
    if (!value.empty()) target.append("&").append(key).append("=").append(client::UrlEncode(value));
  };
  if (!args.anonymous) add("user", args.user);
  add("permission", args.permission);
  add("resource", args.resource);
  add("token", args.token);
  add("element", args.element);
  add("scope", args.scope);
  if (args.at_least_revision) add("at_least_revision", std::to_string(*args.at_least_revision));
  if (args.explain) add("explain", "1");
  return target;
}

StatusOr<std::string> ReadPasswordLine(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return InvalidArgumentError(
        "no password on stdin (give it as one line, e.g. from a file or a pipe)");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return InvalidArgumentError("the password read from stdin is empty");
  return line;
}

Status ValidateResourcesArgs(const ResourcesArgs& args) {
  if (args.anonymous == !args.user.empty()) {
    return InvalidArgumentError("resources needs exactly one of --user U and --anonymous");
  }
  if (args.permission.empty()) return InvalidArgumentError("resources needs --permission P");
  if (args.limit && (*args.limit < 1 || *args.limit > 1000)) {
    return InvalidArgumentError("--limit must be in 1..1000");
  }
  return Status::Ok();
}

std::string ResourcesTarget(const ResourcesArgs& args) {
  std::string target = "/v1/tenants/" + client::UrlEncode(args.tenant) + "/resources?";
  if (!args.user.empty()) target += "user=" + client::UrlEncode(args.user) + "&";
  target += "permission=" + client::UrlEncode(args.permission);
  if (args.limit) target += "&limit=" + std::to_string(*args.limit);
  if (!args.cursor.empty()) target += "&cursor=" + client::UrlEncode(args.cursor);
  return target;
}

StatusOr<std::string> WriteBodyFromInput(const std::string& input, const std::string& source) {
  PERMCACHE_ASSIGN_OR_RETURN(json::value v, ParseJsonInput(input, source));
  if (v.is_array()) {
    json::object body;
    body["ops"] = std::move(v);
    return json::serialize(body);
  }
  if (v.is_object() && v.as_object().contains("ops")) return json::serialize(v);
  return InvalidArgumentError(source + ": expected {\"ops\":[...]} or a JSON array of ops");
}

StatusOr<int> RunCheck(CommandContext& ctx, const CheckArgs& args) {
  PERMCACHE_RETURN_IF_ERROR(ValidateCheckArgs(args));
  Answer a;
  if (!args.resource.empty() || !args.element.empty()) {
    // The DESIGN §7 forms exist as GET /v1/check query parameters.
    PERMCACHE_ASSIGN_OR_RETURN(a, Call(ctx, "GET", CheckQueryTarget(args)));
  } else {
    json::object body;
    body["tenant"] = args.tenant;
    body["user"] = args.user;
    body["permission"] = args.permission;
    if (!args.scope.empty()) body["scope"] = args.scope;
    if (args.at_least_revision) body["at_least_revision"] = *args.at_least_revision;
    if (args.explain) body["explain"] = true;
    PERMCACHE_ASSIGN_OR_RETURN(a, Call(ctx, "POST", "/v1/check", json::serialize(body)));
  }
  const auto& o = a.body.as_object();
  const auto* allowed = o.if_contains("allowed");
  if (allowed == nullptr || !allowed->is_bool()) {
    return InternalError("server answered a check without a boolean \"allowed\"");
  }
  if (!ctx.json) {
    *ctx.out << (allowed->as_bool() ? "allowed" : "denied") << " (revision " << Field(o, "revision")
             << ")\n";
    if (const auto* reason = o.if_contains("reason"); reason && reason->is_object()) {
      for (const auto& kv : reason->as_object()) {
        const std::string value = ScalarText(kv.value());
        if (value.empty()) continue;
        *ctx.out << "  " << std::string_view(kv.key()) << ": " << value << '\n';
      }
    }
  }
  return allowed->as_bool() ? kExitOk : kExitDenied;
}

Status RunUi(CommandContext& ctx, const UiArgs& args) {
  std::string target = "/v1/tenants/" + client::UrlEncode(args.tenant) + "/users/" +
                       client::UrlEncode(args.user) + "/ui";
  if (!args.elements.empty()) {
    target += "?elements=";
    for (size_t i = 0; i < args.elements.size(); ++i) {
      if (i > 0) target += ',';
      target += client::UrlEncode(args.elements[i]);
    }
  }
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET", target));
  if (ctx.json) return Status::Ok();
  const auto& o = a.body.as_object();
  const auto* elements = o.if_contains("elements");
  if (elements == nullptr || !elements->is_object()) {
    return InternalError("server answered without an \"elements\" object");
  }
  std::vector<std::vector<std::string>> rows = {{"ELEMENT", "SHOWN"}};
  for (const auto& kv : elements->as_object()) {
    if (!kv.value().is_bool()) {
      return InternalError("server answered a non-boolean for element \"" +
                           std::string(kv.key()) + "\"");
    }
    rows.push_back({std::string(kv.key()), kv.value().as_bool() ? "true" : "false"});
  }
  if (rows.size() == 1) {
    *ctx.out << "no elements\n";
  } else {
    PrintTable(*ctx.out, rows);
  }
  *ctx.out << "revision " << Field(o, "revision") << '\n';
  return Status::Ok();
}

Status RunUnlock(CommandContext& ctx, const std::string& tenant, const std::string& resource) {
  PERMCACHE_ASSIGN_OR_RETURN(std::string password, ReadPasswordLine(*ctx.in));
  json::object body;
  body["tenant"] = tenant;
  body["resource"] = resource;
  body["password"] = password;
  std::string request = json::serialize(body);
  // The password lives only in these two strings; scrub them once sent.
  auto scrub = [](std::string& s) {
    volatile char* p = s.data();
    for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  };
  auto answer = Call(ctx, "POST", "/v1/resources/unlock", request);
  scrub(request);
  scrub(password);
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, std::move(answer));
  const auto& o = a.body.as_object();
  const auto* token = o.if_contains("token");
  if (token == nullptr || !token->is_string() || token->as_string().empty()) {
    return InternalError("server answered an unlock without a \"token\"");
  }
  if (!ctx.json) {
    *ctx.out << "token " << std::string_view(token->as_string()) << '\n';
    *ctx.out << "expires_at " << Field(o, "expires_at") << '\n';
  }
  return Status::Ok();
}

Status RunResources(CommandContext& ctx, const ResourcesArgs& args) {
  PERMCACHE_RETURN_IF_ERROR(ValidateResourcesArgs(args));
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET", ResourcesTarget(args)));
  if (ctx.json) return Status::Ok();
  const auto& o = a.body.as_object();
  const auto* list = o.if_contains("resources");
  if (list == nullptr || !list->is_array()) {
    return InternalError("server answered without a \"resources\" array");
  }
  std::vector<std::vector<std::string>> rows = {{"RESOURCE", "TYPE", "STATE", "OWNER"}};
  for (const auto& r : list->as_array()) {
    if (r.is_string()) {  // a bare id list is accepted too
      rows.push_back({std::string(r.as_string()), "", "", ""});
      continue;
    }
    if (!r.is_object()) continue;
    const auto& ro = r.as_object();
    const std::string owner = Field(ro, "owner");
    rows.push_back({Field(ro, "resource"), Field(ro, "type"), Field(ro, "state"),
                    owner.empty() ? "-" : owner});
  }
  if (rows.size() == 1) {
    *ctx.out << "no resources\n";
  } else {
    PrintTable(*ctx.out, rows);
  }
  if (const std::string next = Field(o, "next_cursor"); !next.empty() && next != "null") {
    *ctx.out << "next_cursor " << next << '\n';
  }
  return Status::Ok();
}

Status RunPerms(CommandContext& ctx, const std::string& tenant, const std::string& user) {
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET",
                                            "/v1/tenants/" + client::UrlEncode(tenant) + "/users/" +
                                                client::UrlEncode(user) + "/permissions"));
  if (ctx.json) return Status::Ok();
  const auto& o = a.body.as_object();
  std::vector<std::vector<std::string>> rows = {{"EFFECT", "PATTERN", "SCOPE"}};
  AddPatternRows(rows, o, "-");
  // "scoped": {"BU": {"permissions":[...],"denied":[...]}, ...} (an array of objects naming
  // "business_unit" is accepted too).
  if (const auto* scoped = o.if_contains("scoped"); scoped && scoped->is_object()) {
    for (const auto& kv : scoped->as_object()) {
      if (kv.value().is_object()) AddPatternRows(rows, kv.value().as_object(), kv.key());
    }
  } else if (scoped && scoped->is_array()) {
    for (const auto& s : scoped->as_array()) {
      if (s.is_object()) AddPatternRows(rows, s.as_object(), Field(s.as_object(), "business_unit"));
    }
  }
  if (rows.size() == 1) {
    *ctx.out << "no permissions\n";
  } else {
    PrintTable(*ctx.out, rows);
  }
  *ctx.out << "revision " << Field(o, "revision") << '\n';
  return Status::Ok();
}

Status RunMembership(CommandContext& ctx, const std::string& tenant, const std::string& user) {
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET",
                                            "/v1/tenants/" + client::UrlEncode(tenant) + "/users/" +
                                                client::UrlEncode(user) + "/membership"));
  if (ctx.json) return Status::Ok();
  const auto& o = a.body.as_object();
  const auto* active = o.if_contains("active");
  const bool is_active = active && active->is_bool() && active->as_bool();
  *ctx.out << (is_active ? "active" : "not active") << " (status " << Field(o, "status");
  // An active membership's end, or a not-started one's start (DESIGN §8).
  if (o.contains("expires_at")) {
    *ctx.out << (is_active ? ", expires " : ", starts ") << Field(o, "expires_at");
  }
  if (o.contains("via")) *ctx.out << ", via " << Field(o, "via");
  *ctx.out << ")\n";
  return Status::Ok();
}

Status RunWrite(CommandContext& ctx, const std::string& path) {
  PERMCACHE_ASSIGN_OR_RETURN(std::string input, ReadInput(ctx, path));
  PERMCACHE_ASSIGN_OR_RETURN(std::string body, WriteBodyFromInput(input, SourceName(path)));
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "POST", "/v1/write", body));
  if (!ctx.json) *ctx.out << "revision " << Field(a.body.as_object(), "revision") << '\n';
  return Status::Ok();
}

Status RunImport(CommandContext& ctx, const std::string& path) {
  PERMCACHE_ASSIGN_OR_RETURN(std::string input, ReadInput(ctx, path));
  PERMCACHE_ASSIGN_OR_RETURN(json::value model, ParseJsonInput(input, SourceName(path)));
  if (!model.is_object()) {
    return InvalidArgumentError(SourceName(path) + ": a model must be a JSON object");
  }
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "POST", "/v1/model", json::serialize(model)));
  if (!ctx.json) *ctx.out << "revision " << Field(a.body.as_object(), "revision") << '\n';
  return Status::Ok();
}

Status RunExport(CommandContext& ctx, const std::string& tenant) {
  std::string target = "/v1/model";
  if (!tenant.empty()) target += "?tenant=" + client::UrlEncode(tenant);
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET", target));
  if (!ctx.json) {
    PrettyPrint(*ctx.out, a.body, 0);
    *ctx.out << '\n';
  }
  return Status::Ok();
}

Status RunCacheClear(CommandContext& ctx, const CacheClearArgs& args) {
  PERMCACHE_ASSIGN_OR_RETURN(std::string body, CacheInvalidateBody(args));
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "POST", "/v1/cache/invalidate", body));
  if (!ctx.json) *ctx.out << "invalidated " << Field(a.body.as_object(), "invalidated") << '\n';
  return Status::Ok();
}

Status RunCacheStats(CommandContext& ctx) {
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "GET", "/v1/cache/stats"));
  if (ctx.json) return Status::Ok();
  std::vector<std::vector<std::string>> rows;
  for (const auto& kv : a.body.as_object()) {
    if (kv.value().is_object()) {
      // The L2 section ("l2": {...} when Redis is configured): one row per figure, prefixed.
      for (const auto& inner : kv.value().as_object()) {
        rows.push_back({std::string(kv.key()) + "." + std::string(inner.key()),
                        ScalarText(inner.value())});
      }
      continue;
    }
    std::string value = ScalarText(kv.value());
    if (kv.key() == "hit_rate" && kv.value().is_number()) {
      value = fmt::format("{:.4f}", kv.value().to_number<double>());
    }
    rows.push_back({std::string(kv.key()), value});
  }
  PrintTable(*ctx.out, rows);
  return Status::Ok();
}

Status RunHealth(CommandContext& ctx) {
  auto res = ctx.http->Get("/readyz");
  if (!res.ok()) return res.status();
  if (ctx.json) {
    *ctx.out << res->body;
    if (res->body.empty() || res->body.back() != '\n') *ctx.out << '\n';
  } else {
    boost::system::error_code ec;
    const json::value v = json::parse(res->body, ec);
    *ctx.out << (res->status == 200 ? "ready"
                                    : "not ready (HTTP " + std::to_string(res->status) + ")")
             << '\n';
    if (!ec && v.is_object()) {
      for (const auto& kv : v.as_object()) {
        if (kv.key() == "status") continue;
        *ctx.out << "  " << std::string_view(kv.key()) << ": " << ScalarText(kv.value()) << '\n';
      }
    }
  }
  return StatusFromResponse(*res);
}

}  // namespace permcache::cli
