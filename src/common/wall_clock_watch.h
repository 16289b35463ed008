// WallClockWatch: notices the wall clock stepping forward against the monotonic one (an admin's
// `date -s`, an NTP step after a suspended VM resumes). L1 reads the wall clock on hits only for
// sets whose next transition is due within the TTL plus a slack (L1Cache::kWallSlackMs); a step
// forward larger than that slack could carry the others past their transition before the TTL
// retires them, so the Checker drops its cache when this says so (checked every maintenance
// tick, 100 ms).
//
// Thread safety: one caller at a time (the maintenance thread).
#pragma once

#include <cstdint>

#include "permcache/clock.h"

namespace permcache {

class WallClockWatch {
 public:
  // Larger than the coarse monotonic clock's lag and any slew between two calls; smaller than
  // L1Cache::kWallSlackMs, so every step that matters is seen.
  static constexpr int64_t kStepMs = 1000;

  explicit WallClockWatch(const Clock* clock) : clock_(clock), offset_ms_(Offset()) {}

  // True when the wall clock moved forward by more than kStepMs relative to the monotonic
  // clock since the previous call (or construction).
  bool SteppedForward() {
    const int64_t offset = Offset();
    const bool stepped = offset - offset_ms_ > kStepMs;
    offset_ms_ = offset;
    return stepped;
  }

 private:
  int64_t Offset() const { return clock_->WallMs() - clock_->NowMs(); }

  const Clock* clock_;
  int64_t offset_ms_;
};

}  // namespace permcache
