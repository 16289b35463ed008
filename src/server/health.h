// Health of this node for GET /healthz and GET /readyz.
//
// /healthz is liveness: answered 200 by the API as soon as the server accepts requests.
// /readyz is readiness: the store answers a probe (Checker::StoreHealth). Redis is reported
// "disabled" (not configured), "up" (L2 usable and bus subscribed) or "down"; a Redis outage
// degrades the node but does not make it unready.
//
// Thread safety: thread-safe (the Checker is).
#pragma once

#include "permcache/checker.h"
#include "server/http/api.h"

namespace permcache {

// Probes the store now. REQUIRES: checker != nullptr.
http::Readiness ProbeReadiness(Checker* checker);

}  // namespace permcache
