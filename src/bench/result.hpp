// What one benchmark run measures, and a whole report (one run, engines side
// by side, a sweep, a tune). The reports (report.hpp) read only these types.
// Times are milliseconds unless a name says otherwise; memory is MiB.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "target.hpp"

namespace polyinfer::bench {

/// Latency over all timed samples of all threads. Percentiles: linear
/// interpolation between order statistics (position q * (n - 1) in the sorted
/// samples), exact (every sample kept). stddev: sample standard deviation
/// (n - 1); 0 for n < 2.
struct LatencySummary {
  int64_t count = 0;
  double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, stddev = 0;
};

/// One stability window: a slice of the timed region by completion time.
struct Window {
  double startSeconds = 0;  ///< from the start of the timed region
  double endSeconds = 0;
  int64_t iterations = 0;
  double throughput = 0;  ///< inferences/s in this window
  double p50 = 0;         ///< ms
};

/// RSS read on a timer (every ~50 ms) by a sampler thread.
struct MemorySample {
  double seconds = 0;  ///< since the start of the run (before the model load when the CLI loads)
  double rssMiB = 0;
  std::string phase;  ///< "load", "warmup", "timed", "done"
};

enum class LoopMode { Closed, Open };
enum class Arrival { Constant, Poisson };

struct RunResult {
  // ---- what ran
  std::string label;                          ///< the engine's name, or "threads=2 intra=1 batch=8"
  std::map<std::string, std::string> point;   ///< sweep/tune coordinates (empty otherwise)
  TargetInfo target;
  std::string timedRegion;
  int threads = 1;
  LoopMode mode = LoopMode::Closed;
  /// Why the timed region ended: "iterations" (-c budget used up), "duration"
  /// (-d deadline), "stop rule" (min iterations and min time both reached),
  /// "max time" (the cap cut the stop rule short), "failed".
  std::string stopReason;
  int64_t warmupIterationsPerThread = 0;

  // ---- timing
  int64_t iterations = 0;  ///< timed inferences the target answered, all threads
  /// Timed requests the target refused as overloaded (TargetWorker::tryInfer:
  /// a server's 503 or 429). Not failures and not samples: they are in no
  /// latency, throughput or stability figure. A -c budget counts them.
  int64_t rejected = 0;
  double rejectedRate = 0;  ///< rejected / wallSeconds, requests/s
  /// timed region: first timed call start to last timed call end (rejected
  /// calls included)
  double wallSeconds = 0;
  double throughput = 0;   ///< inferences/s = iterations / wallSeconds
  double itemsPerSecond = 0;  ///< throughput x batch
  LatencySummary latency;
  std::vector<double> perThreadThroughput;  ///< inferences/s of each worker over wallSeconds
  double loadMs = 0;            ///< Model::load (measured by the caller; 0 when not loaded here)
  double firstInferenceMs = 0;  ///< the very first call after load (worker 0, alone)

  // ---- stability
  bool stable = false;
  double stabilityTolerancePct = 0;  ///< the stated +-%
  double throughputSpreadPct = 0;    ///< max |window - median| / median over windows, throughput
  double p50SpreadPct = 0;           ///< same for the windows' p50
  std::vector<Window> windows;

  // ---- resources
  double rssBaseMiB = 0;       ///< before the model load (or at run start)
  double rssAfterLoadMiB = 0;  ///< after load, before the first call
  double rssPeakMiB = 0;       ///< highest sample up to the end of the timed region
  double rssSteadyMiB = 0;     ///< median of the samples in the timed region
  std::vector<MemorySample> rss;
  double cpuSeconds = 0;  ///< process CPU time (user + system) over the timed region
  double cpuUtil = 0;     ///< cpuSeconds / wallSeconds / usable cores (1.0 = all cores busy)

  // ---- open loop (mode == Open)
  Arrival arrival = Arrival::Constant;
  double offeredRate = 0;   ///< requests/s asked for
  double achievedRate = 0;  ///< completed requests/s
  /// Requests (answered or rejected) started more than 1 ms after their
  /// intended time.
  int64_t late = 0;
  /// Requests due before the region ended that never started: the backlog
  /// left when the -d deadline (or the max-time cap) stopped new calls.
  int64_t missed = 0;

  // ---- engines side by side: this run's outputs against the first engine's
  std::optional<double> maxAbsDiffVsFirst;

  // ---- raw data for plots (kept in memory; the JSON holds them only on request)
  std::vector<double> samplesMs;         ///< every timed latency, in completion order
  /// Completion time of each sample, same order, in seconds from the start of
  /// the timed region: the instant the workers were released, from which the
  /// -d deadline and the open-loop schedule count. A sample's start (intended
  /// start in open loop) is completionSeconds - samplesMs / 1000.
  std::vector<double> completionSeconds;

  std::vector<std::string> warnings;  ///< "threads 3 > usable cores 2: oversubscribed", ...
  std::string error;                  ///< set when the run failed (stopReason "failed")
  /// The failure's ErrorCode name ("EngineFailure", "Unsupported", ...) with error.
  std::string errorCode;
};

/// The machine a report was measured on.
struct MachineInfo {
  std::string cpuModel;
  int usableCores = 1;
  std::string coresSource;           ///< ThreadBudget::source()
  std::optional<double> quotaCores;  ///< cgroup CPU quota, when set
  std::string hostname;
  std::string kernel;
};

/// --tune's outcome.
struct TuneOutcome {
  std::optional<double> maxP99Ms;     ///< the target, when given
  std::optional<std::size_t> best;    ///< index into BenchReport::runs; none meets the target
  std::size_t defaultRun = 0;         ///< the run with the automatic defaults for the best's -t
  double defaultVsBestPct = 0;        ///< (best - default) / best throughput, in %
  std::string flags;                  ///< the winning configuration as polyinfer bench flags
};

struct BenchReport {
  enum class Kind { Single, Compare, Sweep, Tune } kind = Kind::Single;
  std::string polyinferVersion;
  std::string commandLine;
  std::string startTime;  ///< ISO 8601, UTC
  MachineInfo machine;
  std::vector<RunResult> runs;  ///< Compare: in -e order, the first is the baseline
  std::optional<TuneOutcome> tune;
  std::vector<std::string> warnings;
};

}  // namespace polyinfer::bench
