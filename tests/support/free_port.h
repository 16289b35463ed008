// FreeLoopbackPort: a TCP port on 127.0.0.1 that nobody listened on a moment ago (bind to port 0,
// read it back, close). Prefer letting the server bind port 0 and report its port; use this only
// for programs that cannot (e.g. redis-server) or for "nobody listens here" tests.
//
// Thread safety: thread-safe.
#pragma once

#include <cstdint>

namespace permcache::testing {

// Returns a free port, or 0 when no socket could be bound.
uint16_t FreeLoopbackPort();

}  // namespace permcache::testing
