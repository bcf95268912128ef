// Small helpers the benchmark programs share: clocks, quantiles, and the
// facts about the machine a measurement should be printed with.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "polyinfer/error.hpp"

namespace polyinfer_bench {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Quantile q in [0, 1] with linear interpolation between order statistics.
inline double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

/// /proc/cpuinfo's "model name".
inline std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("model name")) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

/// "0.52 0.31 0.20": the 1, 5 and 15 minute load averages. On a shared
/// machine they tell how much else was running.
inline std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

/// main() of a benchmark program: runs `body`, and reports an exception as
/// one line on stderr ("<program>: error: <Code>: <message>") with exit 1.
template <typename Body>
int runReportingErrors(const char* program, Body&& body) {
  try {
    return body();
  } catch (const polyinfer::Error& e) {
    std::fprintf(stderr, "%s: error: %s: %s\n", program,
                 std::string(polyinfer::toString(e.code())).c_str(), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
  }
  return 1;
}

}  // namespace polyinfer_bench
