// The one mapping from a Status to a `permcache` CLI exit code, and from an HTTP answer of the
// server to a Status. docs/cli.md documents the codes.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "client/http_client.h"
#include "permcache/status.h"

namespace permcache::cli {

// Process exit codes of the `permcache` binary.
enum ExitCode : int {
  kExitOk = 0,           // success; `check`: allowed
  kExitDenied = 1,       // `check`: denied (not an error)
  kExitUsage = 2,        // bad usage or input, or the server answered 4xx
  kExitUnreachable = 3,  // the server could not be reached (refused, unresolvable, timeout)
  kExitServerError = 4,  // the server answered 5xx
};

// kOk -> 0; kInvalidArgument, kNotFound, kUnauthorized, kConflict -> 2; kUnavailable -> 3
// (transport failures: HttpClient reports them as kUnavailable); kInternal -> 4.
// StatusFromResponse turns every 5xx answer (503 included) into kInternal so that "the server
// answered 5xx" and "the server could not be reached" stay distinct.
int ExitCodeFor(const Status& status);

// OK for 2xx. For 4xx: the code named by the server's {"error":{"code",...}} body (any 4xx code
// is kept; unknown ones become kInvalidArgument), message "HTTP 400 invalid_argument: <server
// message>". For 5xx (and anything else): kInternal with the same kind of message.
Status StatusFromResponse(const client::HttpResponse& response);

}  // namespace permcache::cli
