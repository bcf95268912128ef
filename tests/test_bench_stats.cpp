// Latency statistics (src/bench/stats.cpp) against known data: the values
// numpy.percentile (linear method) and numpy.std(ddof=1) give.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "runner.hpp"

namespace polyinfer::bench {
namespace {

TEST(BenchStats, OneToHundredMatchesNumpy) {
  std::vector<double> values(100);
  std::iota(values.begin(), values.end(), 1.0);
  // Shuffled: summarize sorts a copy itself.
  std::shuffle(values.begin(), values.end(), std::mt19937(7));
  const LatencySummary s = summarize(values);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  // np.percentile(np.arange(1, 101), [50, 90, 99, 99.9])
  EXPECT_NEAR(s.p50, 50.5, 1e-12);
  EXPECT_NEAR(s.p90, 90.1, 1e-12);
  EXPECT_NEAR(s.p99, 99.01, 1e-12);
  EXPECT_NEAR(s.p999, 99.901, 1e-12);
  // np.std(np.arange(1, 101), ddof=1)
  EXPECT_NEAR(s.stddev, 29.011491975882016, 1e-12);
}

TEST(BenchStats, UnevenDataMatchesNumpy) {
  // np.percentile([3.5, -1, 10, 2.25, 7], [0, 10, 50, 90, 99, 99.9, 100])
  //   -> [-1, 0.3, 3.5, 8.8, 9.88, 9.988, 10]; np.std(..., ddof=1) = 4.263214749458442
  const std::vector<double> data{3.5, -1.0, 10.0, 2.25, 7.0};
  std::vector<double> sorted = data;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_DOUBLE_EQ(quantileSorted(sorted, 0.0), -1.0);
  EXPECT_NEAR(quantileSorted(sorted, 0.10), 0.3, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.50), 3.5, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.90), 8.8, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.99), 9.88, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.999), 9.988, 1e-12);
  EXPECT_DOUBLE_EQ(quantileSorted(sorted, 1.0), 10.0);
  const LatencySummary s = summarize(data);
  EXPECT_NEAR(s.mean, 4.35, 1e-12);
  EXPECT_NEAR(s.stddev, 4.263214749458442, 1e-12);
  EXPECT_NEAR(s.p90, 8.8, 1e-12);
}

TEST(BenchStats, FourValuesInterpolateBetweenOrderStatistics) {
  // np.percentile([1, 2, 3, 4], [25, 50, 99.9]) -> [1.75, 2.5, 3.997]
  const std::vector<double> sorted{1, 2, 3, 4};
  EXPECT_NEAR(quantileSorted(sorted, 0.25), 1.75, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.50), 2.5, 1e-12);
  EXPECT_NEAR(quantileSorted(sorted, 0.999), 3.997, 1e-12);
  // Out-of-range q is clamped to the ends, not extrapolated.
  EXPECT_DOUBLE_EQ(quantileSorted(sorted, -0.5), 1);
  EXPECT_DOUBLE_EQ(quantileSorted(sorted, 1.5), 4);
}

TEST(BenchStats, EmptyAndSingleSample) {
  const LatencySummary none = summarize({});
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.max, 0);
  EXPECT_EQ(quantileSorted({}, 0.5), 0);

  const LatencySummary one = summarize({4.25});
  EXPECT_EQ(one.count, 1);
  for (double v : {one.min, one.mean, one.p50, one.p90, one.p99, one.p999, one.max}) EXPECT_DOUBLE_EQ(v, 4.25);
  EXPECT_EQ(one.stddev, 0);  // n - 1 = 0: defined as 0, not NaN
}

TEST(BenchStats, OneOutlierInFiveHundredShowsInP999AndMaxOnly) {
  // 499 samples of 1 ms and one of 100 ms: p99.9 sits at position 498.501,
  // halfway into the outlier; p99 (position 494.01) does not reach it.
  std::vector<double> values(500, 1.0);
  values[123] = 100.0;
  const LatencySummary s = summarize(values);
  EXPECT_DOUBLE_EQ(s.max, 100.0);
  EXPECT_NEAR(s.p999, 1.0 + 0.501 * 99.0, 1e-9);
  EXPECT_DOUBLE_EQ(s.p99, 1.0);
  EXPECT_DOUBLE_EQ(s.p50, 1.0);
  EXPECT_NEAR(s.mean, (499.0 + 100.0) / 500.0, 1e-12);
}

}  // namespace
}  // namespace polyinfer::bench
