// The clocks behind permcache/clock.h: the system's, and a fake one tests move by hand.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "permcache/clock.h"

namespace permcache {

// NowMs: CLOCK_MONOTONIC_COARSE, a few ns per read (no syscall), ~4 ms resolution (more when
// the tick is deferred): fine for TTLs, which only bound memory and staleness after a lost
// message. WallMs: the exact CLOCK_REALTIME (vDSO, ~20 ns), read on the hit path only for sets
// that have a next transition.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override { return Ms(CLOCK_MONOTONIC_COARSE); }
  int64_t WallMs() const override { return Ms(CLOCK_REALTIME); }
  static const SystemClock* Get() {
    static const SystemClock clock;
    return &clock;
  }

 private:
  static int64_t Ms(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  }
};

// Wall-clock ms since the Unix epoch of the real system clock, for instants other nodes compare
// (commit times, Redis TTLs) where no Checker clock is at hand; never for TTLs in-process.
inline int64_t WallClockMs() { return SystemClock::Get()->WallMs(); }

// Seconds elapsed since `start`, for latency observations.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A clock tests move by hand: both readings advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000,
                     int64_t wall_start_ms = 1'796'000'000'000)  // late November 2026
      : now_ms_(start_ms), wall_offset_ms_(wall_start_ms - start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(std::memory_order_relaxed); }
  int64_t WallMs() const override {
    return NowMs() + wall_offset_ms_.load(std::memory_order_relaxed);
  }
  void AdvanceMs(int64_t ms) { now_ms_.fetch_add(ms, std::memory_order_relaxed); }
  // Steps the wall clock alone (`date -s`, an NTP step): the monotonic one does not move.
  void StepWallMs(int64_t ms) { wall_offset_ms_.fetch_add(ms, std::memory_order_relaxed); }
  // Moves the wall clock to `wall_ms` (and the monotonic one by the same amount; never back).
  void AdvanceWallTo(int64_t wall_ms) {
    if (wall_ms > WallMs()) AdvanceMs(wall_ms - WallMs());
  }

 private:
  // Relaxed: tests only need each read to see some recent value; no data is published by it.
  std::atomic<int64_t> now_ms_;
  std::atomic<int64_t> wall_offset_ms_;
};

}  // namespace permcache
