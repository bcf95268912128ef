// MetricsRegistry under concurrent updates, series creation and scrapes:
// totals must be exact (no lost updates) and scrapes self-consistent.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "metrics.hpp"

using namespace polyinfer::serve;

namespace {
constexpr int kThreads = 8;
constexpr int kIterations = 20000;
}  // namespace

TEST(ServeMetricsMt, ConcurrentUpdatesGiveExactTotals) {
  MetricsRegistry registry;
  ModelMetrics shared(registry, "m", "1");
  std::atomic<bool> stop{false};

  // A scraper running throughout: exposition must never block updates or
  // show a histogram whose +Inf bucket differs from its _count.
  std::thread scraper([&] {
    while (!stop.load()) {
      std::string text = registry.prometheusText();
      ASSERT_NE(text.find("nv_inference_request_success"), std::string::npos);
    }
  });

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      // Every thread also looks the same series up itself, and makes its own.
      ModelMetrics mine(registry, "m", "1");
      Counter& perThread = registry.counter("per_thread", "Per thread", {{"thread", std::to_string(t)}});
      for (int i = 0; i < kIterations; ++i) {
        mine.success.add();
        shared.inferenceCount.add(4);
        mine.requestDurationUs.add(0.5);  // exactly representable: the sum stays exact
        shared.pending.add(1);
        mine.pending.add(-1);
        mine.requestLatency.observe(i % 2 == 0 ? 1.5 : 3000.0);
        perThread.add();
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  scraper.join();

  constexpr double total = double(kThreads) * kIterations;
  EXPECT_EQ(shared.success.value(), total);
  EXPECT_EQ(shared.inferenceCount.value(), 4 * total);
  EXPECT_EQ(shared.requestDurationUs.value(), 0.5 * total);
  EXPECT_EQ(shared.pending.value(), 0);
  EXPECT_EQ(shared.requestLatency.count(), static_cast<std::uint64_t>(total));
  EXPECT_EQ(shared.requestLatency.sum(), (1.5 + 3000.0) * total / 2);
  std::vector<std::uint64_t> buckets = shared.requestLatency.bucketCounts();
  EXPECT_EQ(buckets[1], static_cast<std::uint64_t>(total / 2));   // le=2
  EXPECT_EQ(buckets[11], static_cast<std::uint64_t>(total / 2));  // le=5000
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(registry.counter("per_thread", "Per thread", {{"thread", std::to_string(t)}}).value(), kIterations);
  }
  const std::string text = registry.prometheusText();
  EXPECT_NE(text.find("nv_inference_request_success{model=\"m\",version=\"1\"} 160000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("nv_inference_first_response_histogram_ms_count{model=\"m\",version=\"1\"} 160000\n"),
            std::string::npos);
}

TEST(ServeMetricsMt, VersionsLoadAndUnloadWhileOthersAreScrapedAndUpdated) {
  MetricsRegistry registry;
  ModelMetrics stable(registry, "stable", "1");
  std::atomic<bool> stop{false};
  std::thread updater([&] {
    while (!stop.load()) {
      stable.success.add();
      stable.requestLatency.observe(7);
    }
  });
  std::thread scraper([&] {
    while (!stop.load()) (void)registry.prometheusText();
  });
  std::vector<std::thread> loaders;
  for (int t = 0; t < kThreads - 2; ++t) {
    loaders.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string version = std::to_string(t * 1000 + i);
        {
          ModelMetrics metrics(registry, "churn", version);
          metrics.success.add();
        }
        EXPECT_EQ(registry.remove(ModelMetrics::labelsOf("churn", version)), 14u);
      }
    });
  }
  for (auto& l : loaders) l.join();
  stop = true;
  updater.join();
  scraper.join();
  EXPECT_EQ(registry.prometheusText().find("churn"), std::string::npos);
  EXPECT_EQ(stable.success.value(), static_cast<double>(stable.requestLatency.count()));
}
