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
  const int forms = (args.all ? 1 : 0) + (!args.pattern.empty() ? 1 : 0) +
                    (!args.user.empty() || !args.tenant.empty() ? 1 : 0);
  if (forms != 1) {
    return InvalidArgumentError(
        "cache clear needs exactly one of: --all | --user U [--tenant T] | --tenant T | "
        "--pattern P");
  }
  json::object body;
  if (args.all) body["all"] = true;
  if (!args.pattern.empty()) body["pattern"] = args.pattern;
  if (!args.tenant.empty()) body["tenant"] = args.tenant;
  if (!args.user.empty()) body["user"] = args.user;
  return json::serialize(body);
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
  json::object body;
  body["tenant"] = args.tenant;
  body["user"] = args.user;
  body["permission"] = args.permission;
  if (!args.scope.empty()) body["scope"] = args.scope;
  if (args.at_least_revision) body["at_least_revision"] = *args.at_least_revision;
  if (args.explain) body["explain"] = true;
  PERMCACHE_ASSIGN_OR_RETURN(Answer a, Call(ctx, "POST", "/v1/check", json::serialize(body)));
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
  *ctx.out << (is_active ? "active" : "not active") << " (status " << Field(o, "status") << ")\n";
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
