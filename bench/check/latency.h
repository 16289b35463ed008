// Latency helpers: percentiles of per-operation samples and the cost of reading the timer, which
// is subtracted from every sample (a steady_clock read costs ~20 ns, the size of an L1 hit).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace permcache::bench {

// Nanoseconds since an arbitrary origin (std::chrono::steady_clock).
int64_t NowNs();

// Median cost of one back-to-back pair of NowNs() reads, i.e. what a timed sample adds.
int64_t TimerOverheadNs();

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};
// Sorts `samples_ns` in place; subtracts `overhead_ns` from each figure (clamped at 0).
Percentiles Summarize(std::vector<int64_t>& samples_ns, int64_t overhead_ns);

}  // namespace permcache::bench
