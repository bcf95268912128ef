// The load generator: runs a Target from N worker threads and measures it.
//
// Sequence of one run:
//   1. One TargetWorker per thread, all made before any clock starts.
//   2. First inference: worker 0 alone, timed (firstInferenceMs); not a sample.
//   3. Warm-up: every worker thread makes `warmupIterations` calls on itself
//      (thread i starts i x startDelayMs after thread 0). Never counted.
//   4. A barrier; then the timed region, closed or open loop, until the stop
//      rule says stop. Every sample is kept (exact percentiles).
//   5. Statistics, stability windows, resource figures into a RunResult.
//
// Closed loop: each worker calls back to back. Open loop (rate set): request
// k has an intended start time (constant spacing or Poisson arrivals from the
// seed); a free worker takes the next request, waits until its intended
// time if early, and its latency is measured from the intended time, so a
// slow system cannot hide queueing delay (no coordinated omission). With -d
// a request due before the deadline that could not start before it is not
// started: it is counted in RunResult::missed.
//
// A timed call the target refuses as overloaded (TargetWorker::tryInfer
// answers Rejected: a server's 503 or 429) does not stop the run: it is
// counted in RunResult::rejected, and is no sample. In open loop the worker
// takes the next request at once, so refusals never delay the schedule. A
// warm-up call refused is not an error either. Any other failure stops the
// run, as below.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "result.hpp"
#include "target.hpp"

namespace polyinfer::bench {

/// When the timed region ends.
struct StopRule {
  /// -c: this many timed requests in total (answered or refused as
  /// overloaded), a budget shared by all workers.
  std::optional<int64_t> iterations;
  /// -d: seconds; no call starts after the deadline, so the region ends at
  /// most one call after it.
  std::optional<double> durationSeconds;
  /// Both given: whichever comes first. Neither given: stop once at least
  /// minIterations calls have completed AND minSeconds have passed (open
  /// loop: on the schedule, the first request due after both).
  int64_t minIterations = 100;
  double minSeconds = 10;
  /// A cap on the timed region in every mode (stopReason "max time" when it
  /// cut the run short). Unset: no cap.
  std::optional<double> maxSeconds = 120;
};

/// Reported to a progress callback about twice a second, from the thread
/// that called run() (never from a worker); also once as each phase starts
/// and once when the timed region has ended (fraction 1 unless it failed).
struct Progress {
  std::string phase;  ///< "warmup", "timed"
  double elapsedSeconds = 0;
  int64_t iterations = 0;  ///< answered
  int64_t rejected = 0;    ///< refused as overloaded (timed region)
  double throughput = 0;   ///< so far, inferences/s
  /// 0..1 when the stop rule allows an estimate (-c, -d, min time); < 0 otherwise.
  double fraction = -1;
};

struct RunOptions {
  int threads = 1;
  int64_t warmupIterations = 5;  ///< per thread
  double startDelayMs = 0;       ///< -l: between thread starts (warm-up)
  StopRule stop;
  /// Stability: the timed region cut into `windows` equal slices by
  /// completion time; stable when every window's throughput and p50 are
  /// within +-tolerance of the windows' medians.
  int windows = 5;
  double stabilityTolerancePct = 10;
  /// Open loop when set: requests per second.
  std::optional<double> rate;
  Arrival arrival = Arrival::Poisson;
  uint64_t seed = 1;
  /// Usable cores, for cpuUtil and the oversubscription warning.
  int usableCores = 1;
  std::function<void(const Progress&)> onProgress;
};

/// Reads this process's RSS every `interval` on its own thread, tagging each
/// sample with the current phase. Start it before the model load to see the
/// load's cost.
class ResourceSampler {
 public:
  explicit ResourceSampler(std::chrono::milliseconds interval = std::chrono::milliseconds(50));
  ~ResourceSampler();  ///< stops the thread
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  void setPhase(const std::string& phase);
  /// RSS now (read directly, not from the timer).
  static double rssMiB();
  /// Process CPU time (user + system) in seconds.
  static double processCpuSeconds();
  /// Samples so far (a copy). Seconds count from construction.
  std::vector<MemorySample> samples() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Runs the benchmark. `sampler` may be null (then RSS figures are read at
/// the phase boundaries only). Throws polyinfer::Error when the target fails
/// during the first inference or warm-up; a failure in the timed region ends
/// the run with stopReason "failed" and `error` set.
RunResult run(Target& target, const RunOptions& options, ResourceSampler* sampler = nullptr);

/// Intended start times, in seconds from the start of the timed region, of
/// the first `count` requests of an open-loop run at `rate` requests/s:
/// k / rate (Constant), or exponential gaps with mean 1 / rate drawn from a
/// std::mt19937_64 seeded with `seed` (Poisson; the first request at 0).
/// Deterministic: the same arguments give the same schedule on every
/// platform. Throws Error(InvalidArgument) for a rate that is not > 0.
std::vector<double> arrivalSchedule(Arrival arrival, double rate, uint64_t seed,
                                    std::size_t count);

/// Exact summary of latency samples (ms); see LatencySummary.
LatencySummary summarize(std::vector<double> samplesMs);

/// Quantile q in [0, 1] of already sorted samples, linear interpolation.
double quantileSorted(const std::vector<double>& sorted, double q);

}  // namespace polyinfer::bench
