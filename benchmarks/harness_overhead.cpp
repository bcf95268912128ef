// Harness overhead: what polyinfer's load generator (polyinfer::bench::run,
// behind `polyinfer bench`) costs per call, measured side by side.
//
// A fake target whose infer() busy-waits a fixed time (default 1 ms) is
// driven two ways, in interleaved rounds whose order flips every round so
// that load from elsewhere on a shared machine hits both alike:
//   A  run(): closed loop, -c N over T worker threads; time per call =
//      wallSeconds x T / iterations (what the harness reports, inverted);
//   B  a bare loop: T threads each call their own worker N / T times back
//      to back, no clock per call, no sample log; time per call = the
//      threads' common start to the last one's end, x T / N.
// Reported: per arm the median (min-max) time per call over rounds, and the
// median (min-max) of the paired ratio A / B, with PASS when the median is
// <= 1.01 ("harness overhead <= 1%"). A report, not a test: the exit status
// is 0 either way (timings are never asserted in tests).
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "polyinfer/polyinfer.hpp"
#include "runner.hpp"

namespace polyinfer_bench {
namespace {

using polyinfer::bench::RunOptions;
using polyinfer::bench::RunResult;
using polyinfer::bench::Target;
using polyinfer::bench::TargetInfo;
using polyinfer::bench::TargetWorker;

struct Settings {
  int rounds = 15;
  int64_t calls = 300;  // per arm and round, all threads together
  int workMicros = 1000;
  int threads = 1;
};

/// infer() spins on the clock for `work`: a call of known length that needs
/// no engine and does not sleep (a sleep's wake-up jitter would swamp a 1%
/// difference).
class SpinWorker final : public TargetWorker {
 public:
  explicit SpinWorker(std::chrono::microseconds work) : work_(work) {}
  void infer() override {
    const Clock::time_point end = Clock::now() + work_;
    while (Clock::now() < end) {
    }
  }
  polyinfer::Tensors inferWithOutputs() override {
    infer();
    return {};
  }

 private:
  std::chrono::microseconds work_;
};

class SpinTarget final : public Target {
 public:
  explicit SpinTarget(std::chrono::microseconds work) : work_(work) {}
  TargetInfo info() const override {
    TargetInfo info;
    info.engineName = "spin";
    info.model = "busy-wait " + std::to_string(work_.count()) + " us";
    return info;
  }
  std::unique_ptr<TargetWorker> newWorker() override { return std::make_unique<SpinWorker>(work_); }
  std::string timedRegion() const override { return "a busy-wait on the clock"; }

 private:
  std::chrono::microseconds work_;
};

/// Arm A: seconds per call as run() measures it.
double harnessArm(SpinTarget& target, const Settings& s, int usableCores) {
  RunOptions o;
  o.threads = s.threads;
  o.warmupIterations = 3;
  o.usableCores = usableCores;
  o.stop.iterations = s.calls;
  const RunResult r = polyinfer::bench::run(target, o);
  if (r.stopReason != "iterations" || r.iterations != s.calls)
    throw std::runtime_error("run() stopped with '" + r.stopReason + "' after " +
                             std::to_string(r.iterations) + " calls: " + r.error);
  return r.wallSeconds * s.threads / static_cast<double>(r.iterations);
}

/// Arm B: seconds per call of a bare loop, same threads, same warm-up.
double bareArm(SpinTarget& target, const Settings& s) {
  const int64_t perThread = s.calls / s.threads;
  std::vector<std::unique_ptr<TargetWorker>> workers;
  for (int i = 0; i < s.threads; ++i) workers.push_back(target.newWorker());
  std::barrier sync(s.threads);
  // Each thread reads its own start and end, and the region runs from the
  // first start to the last end, as run() measures it. (The main thread's
  // clock after the barrier would be late whenever the cores are busy, and
  // flatter this arm.)
  std::vector<Clock::time_point> starts(static_cast<std::size_t>(s.threads));
  std::vector<Clock::time_point> ends(static_cast<std::size_t>(s.threads));
  std::vector<std::thread> threads;
  for (int i = 0; i < s.threads; ++i)
    threads.emplace_back([&, i] {
      TargetWorker& w = *workers[static_cast<std::size_t>(i)];
      for (int k = 0; k < 3; ++k) w.infer();
      sync.arrive_and_wait();
      starts[static_cast<std::size_t>(i)] = Clock::now();
      for (int64_t k = 0; k < perThread; ++k) w.infer();
      ends[static_cast<std::size_t>(i)] = Clock::now();
    });
  for (std::thread& t : threads) t.join();
  const Clock::time_point start = *std::min_element(starts.begin(), starts.end());
  const Clock::time_point end = *std::max_element(ends.begin(), ends.end());
  return std::chrono::duration<double>(end - start).count() * s.threads /
         static_cast<double>(perThread * s.threads);
}

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "harness overhead: %s (see --help)\n", message.c_str());
  std::exit(2);
}

long parseInt(const std::string& flag, const char* text, long min, long max) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < min || value > max)
    usageError(flag + ": expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
               "], got '" + text + "'");
  return value;
}

Settings parseArgs(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "Usage: %s [--rounds R] [--calls N] [--work-us U] [--threads T]\n"
          "\n"
          "polyinfer bench's load generator (run()) against a bare loop over the same fake\n"
          "worker, whose call busy-waits U us; R interleaved rounds of N calls per arm.\n"
          "  --rounds R    rounds (default 15)\n"
          "  --calls N     calls per arm and round, all threads together (default 300)\n"
          "  --work-us U   busy-wait per call in microseconds (default 1000)\n"
          "  --threads T   worker threads in both arms (default 1)\n",
          argv[0]);
      std::exit(0);
    } else if (arg == "--rounds") {
      s.rounds = static_cast<int>(parseInt(arg, value(), 1, 10000));
    } else if (arg == "--calls") {
      s.calls = parseInt(arg, value(), 1, 100000000);
    } else if (arg == "--work-us") {
      s.workMicros = static_cast<int>(parseInt(arg, value(), 1, 10000000));
    } else if (arg == "--threads") {
      s.threads = static_cast<int>(parseInt(arg, value(), 1, 1024));
    } else {
      usageError("unknown argument '" + arg + "'");
    }
  }
  // Equal shares, so that both arms make exactly the same calls.
  s.calls = std::max<int64_t>(s.threads, s.calls / s.threads * s.threads);
  return s;
}

std::string micros(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", seconds * 1e6);
  return text;
}

int run(int argc, char** argv) {
  const Settings s = parseArgs(argc, argv);
  const polyinfer::ThreadBudget budget = polyinfer::ThreadBudget::detect();
  std::printf("polyinfer harness overhead: run() vs a bare loop\n");
  std::printf("machine: %s; usable cores %d (%s)\n", cpuModel().c_str(), budget.usableCores(),
              budget.source().c_str());
  std::printf("load average at start: %s\n", loadAverage().c_str());
  std::printf("calls busy-wait %d us; %d thread(s); %d rounds of %lld calls per arm, order flipping\n",
              s.workMicros, s.threads, s.rounds, static_cast<long long>(s.calls));
  if (s.threads > budget.usableCores())
    std::printf("note: %d threads > %d usable cores: both arms oversubscribed\n", s.threads,
                budget.usableCores());
  std::fflush(stdout);

  SpinTarget target{std::chrono::microseconds(s.workMicros)};
  std::vector<double> harness, bare, ratio;
  for (int round = 0; round < s.rounds; ++round) {
    double a = 0, b = 0;
    if (round % 2 == 0) {
      a = harnessArm(target, s, budget.usableCores());
      b = bareArm(target, s);
    } else {
      b = bareArm(target, s);
      a = harnessArm(target, s, budget.usableCores());
    }
    harness.push_back(a);
    bare.push_back(b);
    ratio.push_back(a / b);
  }

  auto summary = [](const std::vector<double>& v, auto format) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return format(quantile(v, 0.5)) + " (" + format(*lo) + "-" + format(*hi) + ")";
  };
  auto plain = [](double x) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4f", x);
    return std::string(text);
  };
  const double median = quantile(ratio, 0.5);
  const bool pass = median <= 1.01;
  std::printf("\n%-34s %s\n", "time per call, run() us:", summary(harness, micros).c_str());
  std::printf("%-34s %s\n", "time per call, bare loop us:", summary(bare, micros).c_str());
  std::printf("%-34s %s\n", "ratio run() / bare:", summary(ratio, plain).c_str());
  std::printf("target: harness overhead <= 1%% (median ratio <= 1.01): %s\n", pass ? "PASS" : "FAIL");
  std::printf("load average at end: %s\n", loadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace polyinfer_bench

int main(int argc, char** argv) {
  return polyinfer_bench::runReportingErrors("polyinfer_harness_overhead", [&] { return polyinfer_bench::run(argc, argv); });
}
