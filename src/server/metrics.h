// A small metrics registry with Prometheus text exposition (format 0.0.4): counters, gauges,
// histograms, and collectors that compute samples at scrape time.
//
//   MetricsRegistry registry;
//   Counter* hits = registry.GetCounter("permcache_x_total", "Things.", {{"kind", "a"}});
//   hits->Inc();                                      // lock-free, from any thread
//   std::string text = registry.Render();             // GET /metrics
//
// Thread safety: every method is thread-safe. Counter/Gauge/Histogram updates are lock-free
// (relaxed atomics); registration and Render() take the registry mutex. Series pointers stay
// valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace permcache {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  // Relaxed: a counter publishes no other data; scrapes only need an eventually exact sum.
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};  // relaxed everywhere: same reasoning as Counter
};

// Observations counted into buckets by upper bound (the +Inf bucket is implicit).
class Histogram {
 public:
  // REQUIRES: `upper_bounds` strictly ascending and finite.
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Buckets are cumulative and the +Inf bucket equals count, even under concurrent Observe().
  Snapshot Snap() const;

  // Latency buckets in seconds, 50 us to 10 s.
  static std::vector<double> LatencyBuckets();

 private:
  std::vector<double> bounds_;
  // Non-cumulative counts per bucket (bounds_.size() + 1); relaxed, like Counter.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Writes samples of families computed at scrape time (collectors). HELP/TYPE lines are written
// once per consecutive run of samples of the same family.
class MetricsWriter {
 public:
  explicit MetricsWriter(std::string* out) : out_(out) {}
  void Counter(std::string_view name, std::string_view help, const MetricLabels& labels,
               double value);
  void Gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
             double value);

 private:
  void Sample(std::string_view name, std::string_view help, std::string_view type,
              const MetricLabels& labels, double value);
  std::string* out_;
  std::string last_family_;
};

class MetricsRegistry {
 public:
  // The series of `name` with `labels`, created on first use (same name and labels -> same
  // pointer). Returns nullptr when `name` is already registered with another type. Help of the
  // first registration wins.
  Counter* GetCounter(std::string_view name, std::string_view help, MetricLabels labels = {});
  Gauge* GetGauge(std::string_view name, std::string_view help, MetricLabels labels = {});
  Histogram* GetHistogram(std::string_view name, std::string_view help, MetricLabels labels,
                          std::vector<double> upper_bounds);

  using Collector = std::function<void(MetricsWriter*)>;
  // Called on every Render(), after the registered families, without the registry's lock held.
  // Must be thread-safe.
  void AddCollector(Collector collector);

  // The whole registry in the Prometheus text format.
  std::string Render() const;
  void RenderTo(std::string* out) const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name, help;
    Type type;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series* GetSeries(std::string_view name, std::string_view help, Type type,
                    MetricLabels labels);  // REQUIRES: mu_ held

  // std::mutex (not annotated: common/ has no annotated Mutex type yet); guards both vectors.
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;  // guarded by mu_
  std::vector<Collector> collectors_;              // guarded by mu_
};

// Helpers shared with tests: label set and value formatting of the text format.
void AppendPrometheusLabels(std::string* out, const MetricLabels& labels,
                            std::string_view extra_key = {}, std::string_view extra_value = {});
void AppendPrometheusValue(std::string* out, double value);

}  // namespace permcache
