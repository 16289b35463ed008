// Clock: the time source for TTLs and ages, replaceable in tests.
//
// Thread safety: NowMs() is thread-safe on every implementation here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace permcache {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin.
  virtual int64_t NowMs() const = 0;
};

// CLOCK_MONOTONIC_COARSE: a few ns per read (no syscall), ~4 ms resolution: plenty for TTLs of
// seconds to minutes, and cheap enough for the check hot path.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  }
  static const SystemClock* Get() {
    static const SystemClock clock;
    return &clock;
  }
};

// Wall-clock ms since the Unix epoch: for instants other nodes compare (commit times, token
// expiry), never for TTLs (use a Clock).
inline int64_t WallClockMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Seconds elapsed since `start`, for latency observations.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(std::memory_order_relaxed); }
  void AdvanceMs(int64_t ms) { now_ms_.fetch_add(ms, std::memory_order_relaxed); }

 private:
  // Relaxed: tests only need each read to see some recent value; no data is published by it.
  std::atomic<int64_t> now_ms_;
};

}  // namespace permcache
