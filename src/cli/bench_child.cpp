// polyinfer bench: one configuration of a plan in a child process of this
// program (so that no run inherits another's thread pools, process-wide
// engine settings or memory) — the flags that reproduce it, starting the
// child, reading back its result and outputs, and the child's own side
// (--child-result).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "bench_internal.hpp"
#include "exit_codes.hpp"
#include "polyinfer/tensor_io.hpp"

extern char** environ;

namespace polyinfer::cli::benchflow {
namespace fs = std::filesystem;
using bench::BenchReport;
using bench::RunResult;

namespace {

/// The flags that make a child run `spec` exactly as this process would.
std::vector<std::string> childArgs(const BenchArgs& args, const RunSpec& spec,
                                   const fs::path& resultFile) {
  std::vector<std::string> a{"polyinfer", "bench", "-u", spec.model, "--device", args.device};
  if (!spec.engine.empty()) a.insert(a.end(), {"-e", spec.engine});
  if (args.shapesGiven) a.insert(a.end(), {"-s", args.shapes});
  for (const std::string& input : args.inputs) a.insert(a.end(), {"-i", input});
  a.insert(a.end(), {"-w", std::to_string(args.warmup), "-t", std::to_string(spec.threads), "-l",
                     fmt::format("{}", args.delayMs)});
  if (args.iterations > 0) a.insert(a.end(), {"-c", std::to_string(args.iterations)});
  if (!args.duration.empty()) a.insert(a.end(), {"-d", args.duration});
  for (const std::string& option : args.options) a.insert(a.end(), {"-O", option});
  if (spec.intra > 0) a.insert(a.end(), {"--intra-op-threads", std::to_string(spec.intra)});
  if (spec.inter > 0) a.insert(a.end(), {"--inter-op-threads", std::to_string(spec.inter)});
  for (const auto& [key, value] : spec.options) a.insert(a.end(), {"-O", key + "=" + value});
  if (spec.batch > 0) a.insert(a.end(), {"--batch", std::to_string(spec.batch)});
  a.insert(a.end(), {"--min-iterations", std::to_string(args.minIterations), "--min-time",
                     fmt::format("{}", args.minSeconds), "--max-time",
                     fmt::format("{}", args.maxSeconds), "--stability",
                     fmt::format("{}", args.tolerancePct), "--windows", std::to_string(args.windows),
                     "--seed", std::to_string(args.seed), "--random", args.distribution,
                     "--int-range", args.intRange, "--quiet", "--child-result", resultFile.string()});
  if (args.rate > 0) a.insert(a.end(), {"--rate", fmt::format("{}", args.rate), "--arrival", args.arrival});
  if (args.jsonSamples) a.push_back("--json-samples");
  return a;
}

/// The child's error: the last line of its stderr, without the tool's prefix.
std::string lastLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const std::string prefix = "polyinfer: error: ";
  return last.rfind(prefix, 0) == 0 ? last.substr(prefix.size()) : last;
}

/// Keeps every k-th sample so that at most `limit` remain: enough for the
/// plots. The statistics were computed from all samples before.
void thinSamples(RunResult& r, std::size_t limit) {
  const std::size_t n = r.samplesMs.size();
  if (n <= limit || r.completionSeconds.size() != n) return;
  const std::size_t stride = (n + limit - 1) / limit;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; i += stride, ++kept) {
    r.samplesMs[kept] = r.samplesMs[i];
    r.completionSeconds[kept] = r.completionSeconds[i];
  }
  r.samplesMs.resize(kept);
  r.completionSeconds.resize(kept);
}

}  // namespace

ScratchDir::ScratchDir() {
  std::string pattern = (fs::temp_directory_path() / "polyinfer-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error(ErrorCode::EngineFailure,
                "cannot create a temporary directory in " + fs::temp_directory_path().string());
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

/// The child's stdout is discarded and its stderr kept for the error message.
SingleOutcome runChild(const BenchArgs& args, const RunSpec& spec, const fs::path& dir, int index) {
  const fs::path resultFile = dir / fmt::format("run{}.json", index);
  const fs::path errorFile = dir / fmt::format("run{}.stderr", index);
  std::vector<std::string> words = childArgs(args, spec, resultFile);
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errorFile.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    throw Error(ErrorCode::EngineFailure,
                std::string("cannot start a child process for a run: ") + std::strerror(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }

  SingleOutcome outcome;
  RunResult& r = outcome.result;
  const bool exited = WIFEXITED(status);
  if (fs::exists(resultFile)) {
    BenchReport child = bench::readJson(resultFile);
    if (!child.runs.empty()) r = std::move(child.runs.front());
  }
  if (!exited || WEXITSTATUS(status) != 0 || r.iterations == 0) {
    if (r.error.empty())
      r.error = exited ? fmt::format("exit status {}: {}", WEXITSTATUS(status), lastLine(errorFile))
                       : fmt::format("killed by signal {}", WTERMSIG(status));
    r.stopReason = "failed";
  }
  const fs::path outputs = fs::path(resultFile.string() + ".outputs");
  for (int k = 0; fs::exists(outputs / fmt::format("{}.npy", k)); ++k)
    outcome.outputs.add(io::readNpy(outputs / fmt::format("{}.npy", k)));
  r.label = spec.label;
  r.point = spec.point;
  return outcome;
}

int childMain(const BenchArgs& args, const std::string& commandLineText) {
  BenchReport report = newReport(commandLineText);
  const RunSpec spec = specFromArgs(args);
  int code = kExitOk;
  SingleOutcome outcome;
  try {
    outcome = runSingle(args, spec, false);
  } catch (const Error& e) {
    outcome.result.stopReason = "failed";
    outcome.result.error = e.what();
    outcome.result.errorCode = std::string(toString(e.code()));
    code = exitCodeFor(e.code());
  }
  // The parent needs the samples only for its plots, unless its own JSON is
  // to hold them all (--json-samples): a fast model makes millions.
  if (!args.jsonSamples) thinSamples(outcome.result, 20000);
  report.runs.push_back(outcome.result);
  bench::writeJson(args.childResult, report, /*withSamples=*/true);
  const fs::path outputs = fs::path(args.childResult + ".outputs");
  fs::create_directories(outputs);
  for (std::size_t k = 0; k < outcome.outputs.size(); ++k)
    io::writeNpy(outputs / fmt::format("{}.npy", k), outcome.outputs[k].tensor);
  if (code != kExitOk) printError(outcome.result.errorCode, outcome.result.error);
  return code != kExitOk ? code : (outcome.result.stopReason == "failed" ? kExitFailure : kExitOk);
}

}  // namespace polyinfer::cli::benchflow
