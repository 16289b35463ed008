#include "server/metrics.h"

#include <charconv>
#include <cmath>

namespace permcache {
namespace {

void AppendEscaped(std::string* out, std::string_view s, bool quote_too) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quote_too) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

void AppendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out->append("# HELP ");
  out->append(name);
  out->push_back(' ');
  AppendEscaped(out, help, /*quote_too=*/false);
  out->append("\n# TYPE ");
  out->append(name);
  out->push_back(' ');
  out->append(type);
  out->push_back('\n');
}

void AddDouble(std::atomic<double>* a, double d) {
  double cur = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

}  // namespace

void AppendPrometheusLabels(std::string* out, const MetricLabels& labels,
                            std::string_view extra_key, std::string_view extra_value) {
  if (labels.empty() && extra_key.empty()) return;
  out->push_back('{');
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out->push_back(',');
    first = false;
    out->append(k);
    out->append("=\"");
    AppendEscaped(out, v, /*quote_too=*/true);
    out->push_back('"');
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_key.empty()) one(extra_key, extra_value);
  out->push_back('}');
}

void AppendPrometheusValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out->append(buf, r.ptr);
  }
}

void Gauge::Add(double d) { AddDouble(&value_, d); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;  // le: value <= bound
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AddDouble(&sum_, value);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // Count derives from the buckets so +Inf == count always holds in one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

void MetricsWriter::Counter(std::string_view name, std::string_view help,
                            const MetricLabels& labels, double value) {
  Sample(name, help, "counter", labels, value);
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help,
                          const MetricLabels& labels, double value) {
  Sample(name, help, "gauge", labels, value);
}

void MetricsWriter::Sample(std::string_view name, std::string_view help, std::string_view type,
                           const MetricLabels& labels, double value) {
  if (name != last_family_) {
    AppendHeader(out_, name, help, type);
    last_family_.assign(name);
  }
  out_->append(name);
  AppendPrometheusLabels(out_, labels);
  out_->push_back(' ');
  AppendPrometheusValue(out_, value);
  out_->push_back('\n');
}

MetricsRegistry::Series* MetricsRegistry::GetSeries(std::string_view name, std::string_view help,
                                                    Type type, MetricLabels labels) {
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f->name == name) family = f.get();
  }
  if (family == nullptr) {
    families_.push_back(std::make_unique<Family>(Family{std::string(name), std::string(help), type, {}}));
    family = families_.back().get();
  }
  if (family->type != type) return nullptr;
  for (auto& s : family->series) {
    if (s->labels == labels) return s.get();
  }
  family->series.push_back(std::make_unique<Series>());
  family->series.back()->labels = std::move(labels);
  return family->series.back().get();
}

Counter* MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series* s = GetSeries(name, help, Type::kCounter, std::move(labels));
  if (s == nullptr) return nullptr;
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return s->counter.get();
}

Gauge* MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Series* s = GetSeries(name, help, Type::kGauge, std::move(labels));
  if (s == nullptr) return nullptr;
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return s->gauge.get();
}

Histogram* MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         MetricLabels labels, std::vector<double> upper_bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series* s = GetSeries(name, help, Type::kHistogram, std::move(labels));
  if (s == nullptr) return nullptr;
  if (!s->histogram) s->histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return s->histogram.get();
}

void MetricsRegistry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  RenderTo(&out);
  return out;
}

void MetricsRegistry::RenderTo(std::string* out) const {
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& f : families_) {
    if (f->series.empty()) continue;
    const char* type = f->type == Type::kCounter ? "counter"
                       : f->type == Type::kGauge ? "gauge"
                                                 : "histogram";
    AppendHeader(out, f->name, f->help, type);
    for (const auto& s : f->series) {
      if (f->type == Type::kCounter) {
        out->append(f->name);
        AppendPrometheusLabels(out, s->labels);
        out->push_back(' ');
        AppendPrometheusValue(out, static_cast<double>(s->counter->Value()));
        out->push_back('\n');
      } else if (f->type == Type::kGauge) {
        out->append(f->name);
        AppendPrometheusLabels(out, s->labels);
        out->push_back(' ');
        AppendPrometheusValue(out, s->gauge->Value());
        out->push_back('\n');
      } else {
        const Histogram::Snapshot snap = s->histogram->Snap();
        char le[32];
        for (size_t i = 0; i <= snap.upper_bounds.size(); ++i) {
          std::string_view le_value = "+Inf";
          if (i < snap.upper_bounds.size()) {
            auto r = std::to_chars(le, le + sizeof le, snap.upper_bounds[i]);
            le_value = std::string_view(le, r.ptr - le);
          }
          out->append(f->name);
          out->append("_bucket");
          AppendPrometheusLabels(out, s->labels, "le", le_value);
          out->push_back(' ');
          AppendPrometheusValue(out, static_cast<double>(snap.cumulative[i]));
          out->push_back('\n');
        }
        out->append(f->name);
        out->append("_sum");
        AppendPrometheusLabels(out, s->labels);
        out->push_back(' ');
        AppendPrometheusValue(out, snap.sum);
        out->push_back('\n');
        out->append(f->name);
        out->append("_count");
        AppendPrometheusLabels(out, s->labels);
        out->push_back(' ');
        AppendPrometheusValue(out, static_cast<double>(snap.count));
        out->push_back('\n');
      }
    }
  }
  // Collectors run unlocked: one probes the store (permcache_store_up), and a slow probe must
  // not hold up requests registering their first series.
  const std::vector<Collector> collectors = collectors_;
  lock.unlock();
  MetricsWriter writer(out);
  for (const auto& c : collectors) c(&writer);
}

}  // namespace permcache
