// Exact latency statistics over all samples (see LatencySummary).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "runner.hpp"

namespace polyinfer::bench {

double quantileSorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

LatencySummary summarize(std::vector<double> samplesMs) {
  LatencySummary s;
  s.count = static_cast<int64_t>(samplesMs.size());
  if (samplesMs.empty()) return s;
  std::sort(samplesMs.begin(), samplesMs.end());
  const double n = static_cast<double>(samplesMs.size());
  s.min = samplesMs.front();
  s.max = samplesMs.back();
  s.mean = std::accumulate(samplesMs.begin(), samplesMs.end(), 0.0) / n;
  s.p50 = quantileSorted(samplesMs, 0.50);
  s.p90 = quantileSorted(samplesMs, 0.90);
  s.p99 = quantileSorted(samplesMs, 0.99);
  s.p999 = quantileSorted(samplesMs, 0.999);
  if (samplesMs.size() > 1) {
    double squares = 0;
    for (double x : samplesMs) squares += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(squares / (n - 1));
  }
  return s;
}

}  // namespace polyinfer::bench
