// Private helpers of the reports (report_*.cpp): number formatting, names of
// enums, derived figures (ratios against the first run), and the tables and
// fact lists the text and HTML reports both render, so the two always say the
// same thing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace polyinfer::bench::detail {

inline constexpr std::string_view kSchema = "polyinfer-bench/1";

std::string_view kindName(BenchReport::Kind kind);  ///< "single", "compare", "sweep", "tune"
std::string_view modeName(LoopMode mode);           ///< "closed", "open"
std::string_view arrivalName(Arrival arrival);      ///< "constant", "poisson"

// ---- numbers as people read them
std::string fmtRate(double perSecond);              ///< "1234.56"
std::string fmtMs(double ms);                       ///< "12.345"
std::string fmtMiB(double mib);                     ///< "123.4"
std::string fmtPct(double pct);                     ///< "12.3%"
std::string fmtRatio(std::optional<double> ratio);  ///< "2.00x", "n/a"
std::string fmtDiff(double diff);                   ///< "1.23e-06", "0"
/// Shortest text that reads back as the same double ("0.1", "1e-07"); for
/// CSV cells, where nothing may be lost.
std::string fmtExact(double value);

// ---- derived figures
/// Items/s of a run: itemsPerSecond, or throughput x batch when unset.
double itemsPerSecond(const RunResult& run);
/// a / b, none when b is not positive (a failed or empty baseline).
std::optional<double> ratio(double a, double b);
/// Ratios of `run` against `first` (Compare): throughput (items/s, higher is
/// faster), p50 and p99 latency (lower is faster).
struct VsFirst {
  std::optional<double> throughput, p50, p99;
};
VsFirst vsFirst(const RunResult& run, const RunResult& first);
/// The union of the runs' point keys, in order of first appearance.
std::vector<std::string> pointKeys(const BenchReport& report);
/// "threads=2 batch=8"; the label (or engine name) when the point is empty.
std::string pointText(const RunResult& run);
/// The engine's name and version ("NAME 1.2.3"), or the label when it says
/// more than the engine name.
std::string runTitle(const RunResult& run);
/// Whether the tune's best run met max p99 (none when no target was given).
std::optional<bool> tuneMetTarget(const BenchReport& report);
/// Whether any run has batch > 1 (then items/s is shown).
bool anyBatched(const BenchReport& report);
std::string joined(const std::vector<std::string>& parts, std::string_view separator);

// ---- shared tables and facts
struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;  ///< right-aligned columns
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> rowTags;  ///< per row: "", "best", "default", "failed" (HTML classes)
};

/// A labelled line: "throughput" -> "123.45 inferences/s".
struct Fact {
  std::string label;
  std::string value;
  std::string tag;  ///< "", "warn", "error", "good" (HTML styling)
};

/// Version, start time, command line, machine.
std::vector<Fact> headerFacts(const BenchReport& report);
/// What ran and how: engine, model, device, inputs, mode, timed region, stop.
std::vector<Fact> runSetupFacts(const RunResult& run);
/// Throughput lines (before the latency table), and the requests the
/// target refused as overloaded when there were any.
std::vector<Fact> runThroughputFacts(const RunResult& run);
/// Load, memory, CPU, stability (after the latency table).
std::vector<Fact> runResourceFacts(const BenchReport& report, const RunResult& run);
/// Warnings and the error of a run.
std::vector<Fact> runProblemFacts(const RunResult& run);
/// One row: min mean p50 p90 p99 p99.9 max stddev (ms) and the sample count.
Table latencyTable(const RunResult& run);
Table configTable(const RunResult& run);
/// Compare: a row per engine with ratios against the first run and parity.
Table compareTable(const BenchReport& report);
/// Compare runs' memory: each engine's process RSS after load and at its
/// peak, and the peak's ratio against the first run's.
Table compareMemoryTable(const BenchReport& report);
/// Sweep/Tune: a row per point.
Table pointTable(const BenchReport& report);
/// Tune: best, target, default-vs-best, flags (empty without a tune).
std::vector<Fact> tuneFacts(const BenchReport& report);

// ---- output
/// Replaces `file` with `content`; Error(InvalidArgument) naming the file and
/// the OS error when that fails. `what`: "JSON report", ...
void writeWholeFile(const std::filesystem::path& file, std::string_view what,
                    const std::string& content);

}  // namespace polyinfer::bench::detail
