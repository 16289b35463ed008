#include "server/http/status_http.h"

#include "server/http/json_writer.h"

namespace permcache::http {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kUnauthorized: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kConflict: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string_view ReasonPhrase(int http_status) {
  switch (http_status) {
    case 200: return "OK";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

void SetError(Response* response, int http_status, StatusCode code, std::string_view message) {
  response->status = http_status;
  response->content_type = "application/json";
  response->body.clear();
  std::string* out = &response->body;
  out->append(R"({"error":{"code":)");
  AppendJsonString(out, StatusCodeName(code));
  out->append(R"(,"message":)");
  AppendJsonString(out, message);
  out->append("}}");
}

void SetStatusError(Response* response, const Status& status) {
  const StatusCode code = status.ok() ? StatusCode::kInternal : status.code();
  SetError(response, HttpStatusFor(code), code,
           status.ok() ? std::string_view("unexpected ok status") : status.message());
}

}  // namespace permcache::http
