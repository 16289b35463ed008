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
  // against it (compiles, token expiry).
  virtual int64_t WallMs() const = 0;
  // A cheap value never below the exact WallMs() of this instant (a coarse clock plus its
  // resolution): the hit path tests "has this set's next transition come?" with it, so a
  // cached answer dies at most one resolution early and never late.
  virtual int64_t WallUpperBoundMs() const { return WallMs(); }
};

}  // namespace permcache
