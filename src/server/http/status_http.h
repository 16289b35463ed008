// The one Status -> HTTP mapping (DESIGN §4) and the JSON error body every error response uses.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "permcache/status.h"
#include "server/http/handler.h"

namespace permcache::http {

// invalid_argument 400, not_found 404, unauthorized 401, conflict 409, unavailable 503,
// internal 500 (and ok 200).
int HttpStatusFor(StatusCode code);

// The reason phrase for the status line ("OK", "Bad Request", ...); "Unknown" for others.
std::string_view ReasonPhrase(int http_status);

// Sets `response` to `http_status` with body
//   {"error":{"code":"<code name>","message":"<message>"}}
// (replacing any body). Used for statuses outside the mapping too (405, 413, 414, 431 carry
// code invalid_argument).
void SetError(Response* response, int http_status, StatusCode code, std::string_view message);

// SetError with the status the mapping gives `status.code()`. REQUIRES: !status.ok().
void SetStatusError(Response* response, const Status& status);

}  // namespace permcache::http
