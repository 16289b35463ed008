#include "latency.h"

#include <algorithm>
#include <chrono>

namespace permcache::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t TimerOverheadNs() {
  constexpr int kSamples = 200'000;
  std::vector<int64_t> d(kSamples);
  for (auto& x : d) {
    int64_t a = NowNs();
    int64_t b = NowNs();
    x = b - a;
  }
  std::nth_element(d.begin(), d.begin() + kSamples / 2, d.end());
  return d[kSamples / 2];
}

Percentiles Summarize(std::vector<int64_t>& samples_ns, int64_t overhead_ns) {
  Percentiles p;
  if (samples_ns.empty()) return p;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(samples_ns.size() - 1));
    return static_cast<double>(std::max<int64_t>(0, samples_ns[i] - overhead_ns));
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = at(1.0);
  return p;
}

}  // namespace permcache::bench
