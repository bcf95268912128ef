// Per-operator profiles: where a model's time goes, by operator type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace polyinfer {

/// Time spent in one operator type over the profiled runs.
struct OperatorStat {
  std::string opType;  ///< the engine's name for it: "Conv", "aten::conv2d", "Convolution"
  int64_t calls = 0;   ///< executions over all profiled runs
  double totalMs = 0;  ///< self time: nested operators' time is counted in theirs, not here
  double meanMs() const noexcept { return calls > 0 ? totalMs / static_cast<double>(calls) : 0.0; }
};

/// The result of Predictor::profile.
struct OperatorProfile {
  std::string engine;
  int iterations = 0;
  /// Wall time of the profiled runs together, profiler overhead included.
  double wallMs = 0;
  /// By total time, largest first.
  std::vector<OperatorStat> operators;
  /// The engine's own profile, as a JSON array of Chrome trace events
  /// ("ph": "X", "name", "ts" and "dur" in microseconds, "tid", "args").
  std::string engineTrace;

  /// Sum of the operators' self times.
  double operatorMs() const noexcept;
};

/// One operator execution read from an engine's trace.
struct TraceEvent {
  std::string opType;
  int64_t thread = 0;
  double startUs = 0;
  double durationUs = 0;
};

/// Aggregates events by op type into self times: an event's time less the
/// time of the events nested inside it on the same thread (LibTorch records
/// aten::conv2d around aten::convolution around the kernel; each microsecond
/// is counted once). Sorted by total time, largest first.
std::vector<OperatorStat> summarizeTrace(std::vector<TraceEvent> events);

}  // namespace polyinfer
