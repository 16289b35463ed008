#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace permcache {
namespace {

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, CounterAndGaugeText) {
  MetricsRegistry r;
  Counter* c = r.GetCounter("x_total", "Things\\done\nnow.", {{"k", "a\"b\\c\nd"}});
  c->Inc();
  c->Inc(2);
  EXPECT_EQ(r.GetCounter("x_total", "ignored", {{"k", "a\"b\\c\nd"}}), c);  // same series
  r.GetGauge("g", "A gauge.")->Set(1.5);
  const std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP x_total Things\\\\done\\nnow.\n"
            "# TYPE x_total counter\n"
            "x_total{k=\"a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP g A gauge.\n"
            "# TYPE g gauge\n"
            "g 1.5\n");
}

TEST(MetricsTest, TypeConflictReturnsNull) {
  MetricsRegistry r;
  ASSERT_NE(r.GetCounter("m", "h"), nullptr);
  EXPECT_EQ(r.GetGauge("m", "h"), nullptr);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry r;
  Histogram* h = r.GetHistogram("lat_seconds", "Latency.", {{"route", "/x"}}, {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0}) h->Observe(v);
  const std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# TYPE lat_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{route=\"/x\",le=\"10\"} 4\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 6\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_sum{route=\"/x\"} 52.65\n")) << text;
  EXPECT_TRUE(Contains(text, "lat_seconds_count{route=\"/x\"} 6\n"));
}

TEST(MetricsTest, ConcurrentUpdates) {
  MetricsRegistry r;
  Counter* c = r.GetCounter("c_total", "c");
  Histogram* h = r.GetHistogram("h", "h", {}, Histogram::LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value(), 40000u);
  const Histogram::Snapshot s = h->Snap();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative.back(), s.count);
  EXPECT_NEAR(s.sum, 40.0, 1e-6);
}

TEST(MetricsTest, Collectors) {
  MetricsRegistry r;
  r.AddCollector([](MetricsWriter* w) {
    w->Counter("a_total", "A.", {}, 5);
    w->Gauge("b", "B.", {{"x", "1"}}, 2);
    w->Gauge("b", "B.", {{"x", "2"}}, 3);
  });
  EXPECT_EQ(r.Render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 5\n"
            "# HELP b B.\n# TYPE b gauge\nb{x=\"1\"} 2\nb{x=\"2\"} 3\n");
}

// Collectors run without the registry's lock (one probes the store, which may be slow), so they
// may even register series themselves.
TEST(MetricsTest, CollectorsRunUnlocked) {
  MetricsRegistry r;
  r.AddCollector([&r](MetricsWriter* w) {
    r.GetCounter("seen_total", "Scrapes.")->Inc();
    w->Gauge("c", "C.", {}, 1);
  });
  EXPECT_TRUE(Contains(r.Render(), "\nc 1\n"));
  EXPECT_TRUE(Contains(r.Render(), "\nseen_total 1\n"));
}

}  // namespace
}  // namespace permcache
