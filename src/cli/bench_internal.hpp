// What the parts of `polyinfer bench` share (private to the CLI): a run's
// configuration (RunSpec) and outcome, and the functions each file provides —
// bench_models.cpp (model arguments, durations), bench_single.cpp (one
// configuration in this process, or against a server with --url),
// bench_child.cpp (one configuration in a child process), bench_plan.cpp
// (comparisons, sweeps, tune) and bench_flow.cpp (report metadata, benchMain).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "polyinfer/polyinfer.hpp"
#include "report.hpp"

namespace polyinfer::cli::benchflow {

/// One configuration to run: what a plan varies.
struct RunSpec {
  std::string engine;  ///< empty: from the model format
  std::string model;
  int threads = 1;     ///< workers
  int intra = 0;       ///< Criteria::intraOpThreads; 0: the computed default
  int inter = 0;       ///< Criteria::interOpThreads; 0: the computed default
  int64_t batch = 0;   ///< 0: the inputs as given
  std::vector<std::pair<std::string, std::string>> options;  ///< sweep keys that are engine options
  std::string label;
  std::map<std::string, std::string> point;
};

struct SingleOutcome {
  bench::RunResult result;
  Tensors outputs;  ///< of one call on the inputs (for parity across engines)
  std::optional<OperatorProfile> profile;  ///< --profile
  std::optional<Error> profileError;       ///< --profile failed (the run's results stand)
};

/// Prints a progress line on a terminal (stdout), overwritten in place.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void show(const std::string& text) {
    if (!enabled_) return;
    std::cout << "\r\033[K" << text << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) std::cout << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

// ------------------------------------------------------------ bench_models.cpp

/// "30" -> 30 s; "500ms", "30s", "2m", "1h". Throws InvalidArgument.
double parseDuration(const std::string& text);
std::vector<std::string> splitComma(const std::string& text);
/// The model of each engine run: -u (one, or one per engine), else -p/-n.
std::vector<std::string> modelsFor(const BenchArgs& args, std::size_t engines);

// ------------------------------------------------------------ bench_single.cpp

int usableCores();
/// -t: <= 0 means the usable cores.
int resolveThreads(int threads);
/// The configuration of a single run from the flags alone (no plan).
RunSpec specFromArgs(const BenchArgs& args);
/// Loads, prepares and runs one configuration in this process.
SingleOutcome runSingle(const BenchArgs& args, const RunSpec& spec, bool progress);
/// --url: reads the served model's metadata, prepares the inputs from it and
/// runs the load generator against the server (bench::makeRemoteTarget), with
/// -t workers, each with its own connection. Memory and CPU are this client's.
SingleOutcome runRemote(const BenchArgs& args, bool progress);

// ------------------------------------------------------------ bench_child.cpp

/// A scratch directory for the children's results, removed at the end.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Runs `spec` in a child process of this program, its result written under `dir`.
SingleOutcome runChild(const BenchArgs& args, const RunSpec& spec,
                       const std::filesystem::path& dir, int index);
/// --child-result: runs one configuration, writes its result (and outputs).
int childMain(const BenchArgs& args, const std::string& commandLineText);

// ------------------------------------------------------------ bench_plan.cpp

/// Engines side by side, --sweep or --tune: each configuration in a child.
int planMain(const BenchArgs& args, bench::BenchReport& report, ProgressLine& line);

// ------------------------------------------------------------ bench_flow.cpp

/// The report's header: version, command line, start time, machine.
bench::BenchReport newReport(const std::string& commandLineText);

}  // namespace polyinfer::cli::benchflow
