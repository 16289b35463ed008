// SendRaw: writes arbitrary bytes to a TCP port on 127.0.0.1 and collects whatever comes back
// until the peer closes or the timeout passes. For malformed-HTTP tests that a real client
// cannot produce (broken request lines, oversized headers).
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "permcache/status.h"

namespace permcache::testing {

// kUnavailable when the connection cannot be made. A peer that keeps the connection open is
// not an error: the bytes read until `timeout` are returned.
StatusOr<std::string> SendRaw(uint16_t port, const std::string& bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The status code of the first HTTP response in `raw` ("HTTP/1.1 400 ..." -> 400), or 0.
int RawStatusCode(const std::string& raw);

}  // namespace permcache::testing
