// Clock: the one time source of a Checker (TTLs, entry ages, validity intervals, token expiry),
// replaceable in tests (Options::clock). DESIGN §8: "time is a writer": every decision path asks
// this clock, so a test that moves it sees exactly what a real deployment sees at that instant.
//
// Thread safety: implementations must be thread-safe.
#pragma once

#include <cstdint>

namespace permcache {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin (TTLs, ages). May be coarse.
  virtual int64_t NowMs() const = 0;
  // Wall-clock milliseconds since the Unix epoch (UTC), exact: validity intervals are decided
  // against it (compiles, the hit path's "has this set's next transition come?", token expiry).
  // Not a coarse clock: CLOCK_REALTIME_COARSE can lag by far more than its resolution when the
  // tick is deferred (tickless kernels, VMs), which would serve an answer past its expiry.
  virtual int64_t WallMs() const = 0;
};

}  // namespace permcache
