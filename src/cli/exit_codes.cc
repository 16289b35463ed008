#include "cli/exit_codes.h"

#include <boost/json.hpp>
#include <string_view>

namespace permcache::cli {
namespace {

struct ServerError {
  std::string code;
  std::string message;
};

// Best effort: the server's error body, or the raw body (trimmed) when it is not the JSON error
// shape (a proxy's HTML page, a truncated answer).
ServerError ParseServerError(const std::string& body) {
  ServerError out;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* err = v.as_object().if_contains("error"); err && err->is_object()) {
      const auto& e = err->as_object();
      if (const auto* c = e.if_contains("code"); c && c->is_string()) out.code = c->as_string();
      if (const auto* m = e.if_contains("message"); m && m->is_string()) {
        out.message = m->as_string();
      }
      return out;
    }
  }
  out.message = body.substr(0, 200);
  while (!out.message.empty() && (out.message.back() == '\n' || out.message.back() == '\r')) {
    out.message.pop_back();
  }
  return out;
}

StatusCode CodeFor4xx(int http_status, std::string_view name) {
  if (name == "not_found") return StatusCode::kNotFound;
  if (name == "unauthorized") return StatusCode::kUnauthorized;
  if (name == "conflict") return StatusCode::kConflict;
  if (name == "permission_denied") return StatusCode::kPermissionDenied;
  if (name == "resource_exhausted") return StatusCode::kResourceExhausted;
  if (name == "invalid_argument") return StatusCode::kInvalidArgument;
  switch (http_status) {
    case 401:
      return StatusCode::kUnauthorized;
    case 404:
      return StatusCode::kNotFound;
    case 403:
      return StatusCode::kPermissionDenied;
    case 409:
      return StatusCode::kConflict;
    case 429:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kInvalidArgument;
  }
}

}  // namespace

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kUnauthorized:
    case StatusCode::kConflict:
    case StatusCode::kResourceExhausted:
      return kExitUsage;
    case StatusCode::kPermissionDenied:  // a wrong resource password: "no", like a denied check
      return kExitDenied;
    case StatusCode::kUnavailable:
      return kExitUnreachable;
    case StatusCode::kInternal:
      return kExitServerError;
  }
  return kExitServerError;
}

Status StatusFromResponse(const client::HttpResponse& response) {
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  const ServerError err = ParseServerError(response.body);
  std::string message = "HTTP " + std::to_string(response.status);
  if (!err.code.empty()) message += " " + err.code;
  if (!err.message.empty()) message += ": " + err.message;
  if (response.status >= 400 && response.status < 500) {
    return Status(CodeFor4xx(response.status, err.code), std::move(message));
  }
  return InternalError("server error: " + message);
}

}  // namespace permcache::cli
