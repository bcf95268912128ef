#include "bench_flow.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "compare.hpp"
#include "exit_codes.hpp"
#include "input_spec.hpp"
#include "model_inputs.hpp"
#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"
#include "polyinfer/version.hpp"
#include "predict_report.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "target.hpp"
#include "tensor_values.hpp"

extern char** environ;

namespace polyinfer::cli {
namespace fs = std::filesystem;
using bench::BenchReport;
using bench::RunResult;

namespace {

// ------------------------------------------------------------------ parsing

/// "30" -> 30 s; "500ms", "30s", "2m", "1h".
double parseDuration(const std::string& text) {
  std::size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = used < text.size() ? text.substr(used) : "";
  static const std::map<std::string, double> kUnits{{"", 1}, {"s", 1}, {"ms", 1e-3}, {"m", 60}, {"h", 3600}};
  const auto found = kUnits.find(unit);
  if (value <= 0 || !std::isfinite(value) || found == kUnits.end())
    throw Error(ErrorCode::InvalidArgument,
                "-d '" + text + "': expected a duration > 0 in seconds (30) or with a unit "
                "(500ms, 30s, 2m, 1h)");
  return value * found->second;
}

std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

/// "file:///x/m.onnx" -> "/x/m.onnx"; remote URLs are refused (nothing is downloaded).
std::string localModel(const std::string& url) {
  if (url.rfind("file://", 0) == 0) return url.substr(7);
  if (url.find("://") != std::string::npos)
    throw Error(ErrorCode::InvalidArgument,
                "model '" + url + "': only local files (or file:// URLs) can be benchmarked; "
                "polyinfer downloads nothing");
  return url;
}

/// The model of each engine run: -u (one, or one per engine), else -p/-n.
std::vector<std::string> modelsFor(const BenchArgs& args, std::size_t engines) {
  std::vector<std::string> models;
  for (const std::string& url : args.models) models.push_back(localModel(url));
  if (models.empty()) {
    if (args.modelPath.empty())
      throw Error(ErrorCode::InvalidArgument, "no model: give -u MODEL (or -p DIR [-n NAME])");
    fs::path path = localModel(args.modelPath);
    if (!args.modelName.empty()) {
      // DJL's -p DIR -n NAME: the file NAME.<ext> in DIR (several: one per engine format).
      std::vector<std::string> found;
      for (const char* ext : {".pt", ".pth", ".torchscript", ".onnx", ".caffemodel", ".weights", ".pb"})
        if (fs::exists(path / (args.modelName + ext))) found.push_back((path / (args.modelName + ext)).string());
      if (found.empty())
        throw Error(ErrorCode::NotFound, "-p '" + path.string() + "' -n '" + args.modelName +
                                             "': no file " + args.modelName +
                                             ".{pt,pth,torchscript,onnx,caffemodel,weights,pb} there");
      models = found.size() == 1 ? found : std::vector<std::string>{path.string()};
    } else {
      models.push_back(path.string());
    }
  }
  if (models.size() != 1 && models.size() != engines)
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{} models for {} engines: give one model for all engines, or one per "
                            "engine in -e order",
                            models.size(), engines));
  return models;
}

// ------------------------------------------------------------------ one configuration

/// One configuration to run: what a plan varies.
struct RunSpec {
  std::string engine;  ///< empty: from the model format
  std::string model;
  int threads = 1;
  std::optional<int64_t> intra, inter;
  int64_t batch = 0;  ///< 0: the inputs as given
  std::vector<std::pair<std::string, std::string>> options;  ///< sweep keys that are engine options
  std::string label;
  std::map<std::string, std::string> point;
};

int usableCores() { return ThreadBudget::detect().usableCores(); }

int resolveThreads(int threads) { return threads <= 0 ? usableCores() : threads; }

/// Tiles dim 0 of each input (which must be 1) to `batch`.
Tensors tileBatch(const Tensors& inputs, int64_t batch) {
  Tensors out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i].tensor;
    if (t.rank() < 1 || t.shape()[0] != 1)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("--batch {}: input '{}' is {}; batching tiles dim 0, which must be 1",
                              batch, inputs[i].name, t.describe()));
    Shape shape = t.shape();
    shape[0] = batch;
    Tensor tiled = Tensor::allocate(t.dtype(), shape);
    if (t.dtype() == DataType::String)
      throw Error(ErrorCode::Unsupported, "--batch: string inputs cannot be tiled");
    const std::size_t bytes = t.byteSize();
    auto* dst = static_cast<unsigned char*>(tiled.mutableRawData());
    for (int64_t k = 0; k < batch; ++k)
      std::copy_n(static_cast<const unsigned char*>(t.rawData()), bytes, dst + k * bytes);
    out.add(inputs[i].name, std::move(tiled));
  }
  return out;
}

std::string isoTimeUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "unknown";
}

bench::MachineInfo machineInfo() {
  const ThreadBudget budget = ThreadBudget::detect();
  bench::MachineInfo m;
  m.cpuModel = cpuModel();
  m.usableCores = budget.usableCores();
  m.coresSource = budget.source();
  m.quotaCores = budget.quotaCores();
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  return m;
}

/// argv as one shell-readable line.
std::string commandLine(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=,:+@%") == std::string::npos;
    if (!plain) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    line += (i ? " " : "") + arg;
  }
  return line;
}

/// Prints a progress line on a terminal (stdout), overwritten in place.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  ~ProgressLine() { clear(); }
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

struct SingleOutcome {
  RunResult result;
  Tensors outputs;  ///< of one call on the inputs (for parity across engines)
  std::optional<OperatorProfile> profile;  ///< --profile
  std::optional<Error> profileError;       ///< --profile failed (the run's results stand)
};

/// Loads, prepares and runs one configuration in this process.
SingleOutcome runSingle(const BenchArgs& args, const RunSpec& spec, bool progress) {
  bench::ResourceSampler sampler;
  sampler.setPhase("load");
  const double rssBase = bench::ResourceSampler::rssMiB();

  Options options;
  for (const std::string& text : args.options) options.merge(Options::parse(text));
  if (spec.intra) options.set("intraOpNumThreads", std::to_string(*spec.intra));
  if (spec.inter) options.set("interOpNumThreads", std::to_string(*spec.inter));
  for (const auto& [key, value] : spec.options) options.set(key, value);

  // Inputs that can be read without the model first: bad input fails fast.
  std::vector<ShapeSpec> shapes;
  if (args.shapesGiven) shapes = parseShapeSpecs(args.shapes);
  const std::vector<LoadedTensor> loaded = loadTensorArgs(args.inputs, "input");
  const InputArgs inputArgs{args.inputs, args.shapesGiven, args.seed, args.distribution,
                            args.intRange};

  Criteria criteria;
  criteria.modelPath = spec.model;
  criteria.engine = spec.engine;
  criteria.device = args.device;
  criteria.options = options;
  criteria.workers = spec.threads;
  const auto loadStart = std::chrono::steady_clock::now();
  const std::shared_ptr<Model> model = Model::load(criteria);
  const double loadMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loadStart).count();
  const double rssAfterLoad = bench::ResourceSampler::rssMiB();

  std::vector<std::string> sources;
  Tensors inputs = buildInputs(inputArgs, *model, loaded, shapes, sources);
  if (spec.batch > 0) inputs = tileBatch(inputs, spec.batch);

  // The engine's config() already reports workers and usable cores.
  std::vector<bench::ConfigValue> extra{
      {"inputs", sources.empty() ? "" : sources.front(), "benchmark",
       args.inputs.empty() ? "random data, made once before timing" : "read once before timing"}};
  if (spec.batch > 0)
    extra.push_back({"batch", std::to_string(spec.batch), "explicit", "inputs tiled along dim 0"});
  std::unique_ptr<bench::Target> target = bench::makeModelTarget(model, inputs, extra);

  bench::RunOptions run;
  run.threads = spec.threads;
  run.warmupIterations = args.warmup;
  run.startDelayMs = args.delayMs;
  if (args.iterations > 0) run.stop.iterations = args.iterations;
  if (!args.duration.empty()) run.stop.durationSeconds = parseDuration(args.duration);
  run.stop.minIterations = args.minIterations;
  run.stop.minSeconds = args.minSeconds;
  run.stop.maxSeconds = args.maxSeconds;
  run.windows = args.windows;
  run.stabilityTolerancePct = args.tolerancePct;
  if (args.rate > 0) run.rate = args.rate;
  run.arrival = args.arrival == "constant" ? bench::Arrival::Constant : bench::Arrival::Poisson;
  run.seed = args.seed;
  run.usableCores = usableCores();
  ProgressLine line(progress);
  if (progress)
    run.onProgress = [&line](const bench::Progress& p) {
      std::string text = fmt::format("{} {:.1f}s  {} calls  {:.1f}/s", p.phase, p.elapsedSeconds,
                                     p.iterations, p.throughput);
      if (p.fraction >= 0) text += fmt::format("  {:.0f}%", 100 * std::min(1.0, p.fraction));
      line.show(text);
    };

  SingleOutcome outcome;
  outcome.result = bench::run(*target, run, &sampler);
  line.clear();
  RunResult& r = outcome.result;
  r.loadMs = loadMs;
  r.rssBaseMiB = rssBase;
  r.rssAfterLoadMiB = rssAfterLoad;
  r.rssPeakMiB = std::max({r.rssPeakMiB, rssBase, rssAfterLoad});
  if (r.label.empty()) r.label = model->engineName();
  if (r.stopReason != "failed") outcome.outputs = target->newWorker()->inferWithOutputs();
  // After the timed run: the profiler slows calls down.
  if (args.profile > 0 && r.stopReason != "failed") {
    try {
      outcome.profile = model->newPredictor().profile(inputs, args.profile);
    } catch (const Error& e) {
      outcome.profileError = e;
    }
  }
  return outcome;
}

// ------------------------------------------------------------------ child processes

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
  if (spec.intra) a.insert(a.end(), {"-O", "intraOpNumThreads=" + std::to_string(*spec.intra)});
  if (spec.inter) a.insert(a.end(), {"-O", "interOpNumThreads=" + std::to_string(*spec.inter)});
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

/// A scratch directory for the children's results, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "polyinfer-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw Error(ErrorCode::EngineFailure, "cannot create a temporary directory in " +
                                                fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string lastLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  const std::string prefix = "polyinfer: error: ";
  return last.rfind(prefix, 0) == 0 ? last.substr(prefix.size()) : last;
}

/// Runs `spec` in a child process of this program; its stdout is discarded
/// and its stderr kept for the error message.
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

/// --child-result: run one configuration, write its result (and outputs).
int childMain(const BenchArgs& args, const std::string& commandLineText) {
  BenchReport report;
  report.polyinferVersion = kVersion;
  report.commandLine = commandLineText;
  report.startTime = isoTimeUtc();
  report.machine = machineInfo();
  RunSpec spec;
  spec.engine = args.engines.empty() ? "" : args.engines.front();
  spec.model = modelsFor(args, 1).front();
  spec.threads = resolveThreads(args.threads);
  spec.batch = args.batch;
  int code = kExitOk;
  SingleOutcome outcome;
  try {
    outcome = runSingle(args, spec, false);
  } catch (const Error& e) {
    outcome.result.stopReason = "failed";
    outcome.result.error = e.what();
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
  if (code != kExitOk) printError(outcome.result.error);
  return code != kExitOk ? code : (outcome.result.stopReason == "failed" ? kExitFailure : kExitOk);
}

/// Largest |a - b| over the outputs both have (by position), or nullopt when
/// they cannot be compared (count, shape or dtype differ; not numeric).
std::optional<double> maxAbsDiff(const Tensors& a, const Tensors& b, std::string& why) {
  if (a.size() != b.size() || a.empty()) {
    why = fmt::format("{} outputs vs {}", b.size(), a.size());
    return std::nullopt;
  }
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!isNumeric(a[i].tensor.dtype())) {
      why = fmt::format("output {}: dtype {} not compared", i, toString(a[i].tensor.dtype()));
      return std::nullopt;
    }
    const Comparison c = compareTensors(b[i].tensor, a[i].tensor, Tolerance{});
    if (!c.structuralMismatch.empty()) {
      why = fmt::format("output {}: {}", i, c.structuralMismatch);
      return std::nullopt;
    }
    worst = std::max(worst, c.maxAbsDiff);
  }
  return worst;
}

// ------------------------------------------------------------------ plans

struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

std::vector<SweepAxis> parseSweep(const std::vector<std::string>& texts) {
  std::vector<SweepAxis> axes;
  std::set<std::string> seen;
  for (const std::string& text : texts) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 >= text.size())
      throw Error(ErrorCode::InvalidArgument,
                  "--sweep '" + text + "': expected KEY=V1,V2,... e.g. threads=1,2,4");
    SweepAxis axis{text.substr(0, eq), splitComma(text.substr(eq + 1))};
    if (!seen.insert(axis.key).second)
      throw Error(ErrorCode::InvalidArgument, "--sweep: key '" + axis.key + "' given twice");
    for (const std::string& value : axis.values)
      if (axis.key == "threads" || axis.key == "intra" || axis.key == "inter" || axis.key == "batch") {
        std::size_t used = 0;
        long long n = -1;
        try {
          n = std::stoll(value, &used);
        } catch (const std::exception&) {
        }
        if (used != value.size() || n < (axis.key == "threads" ? 0 : 1))
          throw Error(ErrorCode::InvalidArgument,
                      "--sweep " + axis.key + ": expected integers >= 1, got '" + value + "'");
      }
    axes.push_back(std::move(axis));
  }
  return axes;
}

RunSpec specFor(const BenchArgs& args, const std::string& engine, const std::string& model,
                const std::map<std::string, std::string>& point) {
  RunSpec spec;
  spec.engine = engine;
  spec.model = model;
  spec.threads = resolveThreads(args.threads);
  spec.batch = args.batch;
  spec.point = point;
  std::string label;
  for (const auto& [key, value] : point) {
    label += (label.empty() ? "" : " ") + key + "=" + value;
    if (key == "threads") spec.threads = resolveThreads(std::stoi(value));
    else if (key == "intra") spec.intra = std::stoll(value);
    else if (key == "inter") spec.inter = std::stoll(value);
    else if (key == "batch") spec.batch = std::stoll(value);
    else if (key == "engine") spec.engine = value;
    else spec.options.emplace_back(key, value);
  }
  spec.label = label.empty() ? (engine.empty() ? "default" : engine) : label;
  return spec;
}

/// Every combination of the axes.
std::vector<std::map<std::string, std::string>> grid(const std::vector<SweepAxis>& axes) {
  std::vector<std::map<std::string, std::string>> points{{}};
  for (const SweepAxis& axis : axes) {
    std::vector<std::map<std::string, std::string>> next;
    for (const auto& point : points)
      for (const std::string& value : axis.values) {
        auto p = point;
        p[axis.key] = value;
        next.push_back(std::move(p));
      }
    points = std::move(next);
  }
  return points;
}

/// Whether the model takes other batch sizes than its inputs' dim 0: its
/// first input's dim 0 is dynamic or undeclared (TorchScript).
bool batchIsFlexible(const std::string& model, const std::string& engine) {
  Criteria criteria;
  criteria.modelPath = model;
  criteria.engine = engine;
  const std::shared_ptr<Model> loaded = Model::load(criteria);
  const std::vector<TensorInfo> inputs = loaded->inputs();
  if (inputs.empty()) return false;
  return !inputs.front().rankKnown || inputs.front().shape.empty() || inputs.front().shape[0] < 0;
}

/// --tune's grid: workers x intra-op threads with workers x intra <= cores,
/// each a power of two or the core count; batch 1, 2, 4, 8 when flexible.
std::vector<SweepAxis> tuneAxes(int cores, bool flexibleBatch) {
  std::vector<std::string> counts;
  for (int n = 1; n < cores; n *= 2) counts.push_back(std::to_string(n));
  counts.push_back(std::to_string(cores));
  std::vector<SweepAxis> axes{{"threads", counts}, {"intra", counts}};
  if (flexibleBatch) axes.push_back({"batch", {"1", "2", "4", "8"}});
  return axes;
}

int planMain(const BenchArgs& args, BenchReport& report, ProgressLine& line) {
  std::vector<std::string> engines = args.engines.empty() ? std::vector<std::string>{""} : args.engines;
  const std::vector<std::string> models = modelsFor(args, engines.size());
  auto modelOf = [&](std::size_t i) { return models.size() == 1 ? models.front() : models[i]; };
  const int cores = usableCores();

  std::vector<RunSpec> specs;
  std::optional<std::size_t> tuneDefaultEngine;
  if (args.tune) {
    report.kind = BenchReport::Kind::Tune;
    if (engines.size() != 1)
      throw Error(ErrorCode::InvalidArgument, "--tune takes one engine (-e); run it once per engine");
    std::vector<SweepAxis> axes = args.sweep.empty()
                                      ? tuneAxes(cores, (args.batch == 0) &&
                                                            batchIsFlexible(modelOf(0), engines[0]))
                                      : parseSweep(args.sweep);
    for (const auto& point : grid(axes)) {
      const int threads = point.count("threads") ? resolveThreads(std::stoi(point.at("threads"))) : 1;
      const int intra = point.count("intra") ? std::stoi(point.at("intra")) : 1;
      if (args.sweep.empty() && threads * intra > cores) continue;
      specs.push_back(specFor(args, engines[0], modelOf(0), point));
    }
  } else if (!args.sweep.empty()) {
    report.kind = BenchReport::Kind::Sweep;
    std::vector<SweepAxis> axes = parseSweep(args.sweep);
    for (std::size_t e = 0; e < engines.size(); ++e)
      for (auto point : grid(axes)) {
        if (engines.size() > 1) point["engine"] = engines[e];
        specs.push_back(specFor(args, engines[e], modelOf(e), point));
      }
  } else {
    report.kind = BenchReport::Kind::Compare;
    for (std::size_t e = 0; e < engines.size(); ++e) specs.push_back(specFor(args, engines[e], modelOf(e), {}));
  }

  // Sweeps and tunes run in a shuffled order, so that drift on the machine
  // (thermal, other load) does not line up with one axis.
  std::vector<std::size_t> order(specs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (report.kind != BenchReport::Kind::Compare) {
    std::mt19937_64 rng(args.seed);
    std::shuffle(order.begin(), order.end(), rng);
  }

  ScratchDir scratch;
  std::vector<SingleOutcome> outcomes(specs.size());
  for (std::size_t n = 0; n < order.size(); ++n) {
    const std::size_t i = order[n];
    if (!args.quiet && isatty(STDOUT_FILENO))
      line.show(fmt::format("[{}/{}] {} ...", n + 1, order.size(), specs[i].label));
    outcomes[i] = runChild(args, specs[i], scratch.path(), static_cast<int>(i));
  }

  // The automatic defaults for the winner's -t (tune).
  std::optional<std::size_t> best;
  if (args.tune) {
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const RunResult& r = outcomes[i].result;
      if (r.stopReason == "failed") continue;
      if (args.maxP99 > 0 && r.latency.p99 > args.maxP99) continue;
      if (!best || r.itemsPerSecond > outcomes[*best].result.itemsPerSecond) best = i;
    }
    if (best) {
      // The automatic thread defaults for -t (when given, else the winner's
      // worker count) at the winner's batch: how far the defaults are from
      // the best the grid found.
      RunSpec defaults = specs[*best];
      if (args.threadsGiven) defaults.threads = resolveThreads(args.threads);
      defaults.intra.reset();
      defaults.inter.reset();
      defaults.point = {{"threads", std::to_string(defaults.threads)}, {"intra", "default"}};
      if (defaults.batch > 0) defaults.point["batch"] = std::to_string(defaults.batch);
      defaults.label = fmt::format("defaults for -t {}", defaults.threads);
      if (!args.quiet && isatty(STDOUT_FILENO)) line.show(fmt::format("[defaults] {} ...", defaults.label));
      specs.push_back(defaults);
      outcomes.push_back(runChild(args, defaults, scratch.path(), static_cast<int>(specs.size())));
    }
  }
  line.clear();

  // Parity against the first engine (compare).
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    RunResult& r = outcomes[i].result;
    if (report.kind == BenchReport::Kind::Compare && i > 0 && !outcomes[0].outputs.empty() &&
        !outcomes[i].outputs.empty()) {
      std::string why;
      r.maxAbsDiffVsFirst = maxAbsDiff(outcomes[0].outputs, outcomes[i].outputs, why);
      if (!r.maxAbsDiffVsFirst) r.warnings.push_back("outputs not compared with the first engine's: " + why);
    }
    report.runs.push_back(std::move(r));
  }

  if (args.tune) {
    bench::TuneOutcome tune;
    if (args.maxP99 > 0) tune.maxP99Ms = args.maxP99;
    if (best) {
      tune.best = *best;
      tune.defaultRun = report.runs.size() - 1;
      const double bestRate = report.runs[*best].itemsPerSecond;
      const double defaultRate = report.runs.back().itemsPerSecond;
      tune.defaultVsBestPct = bestRate > 0 ? 100.0 * (bestRate - defaultRate) / bestRate : 0;
      const RunSpec& s = specs[*best];
      tune.flags = fmt::format("-e {} -t {}", report.runs[*best].target.engineName, s.threads);
      if (s.intra) tune.flags += fmt::format(" -O intraOpNumThreads={}", *s.intra);
      if (s.inter) tune.flags += fmt::format(" -O interOpNumThreads={}", *s.inter);
      if (s.batch > 0) tune.flags += fmt::format(" --batch {}", s.batch);
      for (const auto& [key, value] : s.options) tune.flags += " -O " + key + "=" + value;
    }
    report.tune = tune;
  }
  const bool anyFailed = std::any_of(report.runs.begin(), report.runs.end(),
                                     [](const RunResult& r) { return r.stopReason == "failed"; });
  return anyFailed ? kExitFailure : kExitOk;
}

void writeReports(const BenchArgs& args, const BenchReport& report) {
  if (!args.quiet) bench::writeText(std::cout, report);
  if (!args.json.empty()) bench::writeJson(args.json, report, args.jsonSamples);
  if (!args.csv.empty()) bench::writeCsv(args.csv, report);
  if (!args.html.empty()) bench::writeHtml(args.html, report);
  if (!args.outputDir.empty()) {
    std::error_code ec;
    fs::create_directories(args.outputDir, ec);
    if (ec)
      throw Error(ErrorCode::InvalidArgument,
                  "-o '" + args.outputDir + "': cannot create the directory: " + ec.message());
    const fs::path dir(args.outputDir);
    bench::writeJson(dir / "bench.json", report, args.jsonSamples);
    bench::writeCsv(dir / "bench.csv", report);
    bench::writeHtml(dir / "bench.html", report);
  }
}

}  // namespace

int benchMain(const BenchArgs& args, int argc, char** argv) {
  const std::string line = commandLine(argc, argv);
  // Checks that need no model: bad usage fails before anything runs.
  if (!args.duration.empty()) parseDuration(args.duration);
  if (!args.intRange.empty()) parseIntRange(args.intRange);
  if (args.shapesGiven) parseShapeSpecs(args.shapes);
  if (!args.childResult.empty()) return childMain(args, line);
  if (args.maxP99 > 0 && !args.tune)
    throw Error(ErrorCode::InvalidArgument, "--max-p99 needs --tune");
  if (args.profile > 0 && (args.engines.size() > 1 || !args.sweep.empty() || args.tune))
    throw Error(ErrorCode::InvalidArgument,
                "--profile profiles a single run: one engine, no --sweep or --tune (profile each "
                "engine on its own, or with `polyinfer predict --profile`)");
  if (args.tune && args.rate > 0)
    throw Error(ErrorCode::InvalidArgument, "--tune searches closed-loop throughput; drop --rate");

  BenchReport report;
  report.polyinferVersion = kVersion;
  report.commandLine = line;
  report.startTime = isoTimeUtc();
  report.machine = machineInfo();

  BenchArgs effective = args;
  if (args.tune && !args.minSecondsGiven) effective.minSeconds = 3;
  const bool plan = args.engines.size() > 1 || !args.sweep.empty() || args.tune;
  std::optional<OperatorProfile> profile;
  std::optional<Error> profileError;
  ProgressLine progress(!args.quiet && isatty(STDOUT_FILENO));
  int code = kExitOk;
  if (plan) {
    code = planMain(effective, report, progress);
  } else {
    RunSpec spec;
    spec.engine = args.engines.empty() ? "" : args.engines.front();
    spec.model = modelsFor(args, 1).front();
    spec.threads = resolveThreads(args.threads);
    spec.batch = args.batch;
    report.kind = BenchReport::Kind::Single;
    SingleOutcome outcome = runSingle(effective, spec, !args.quiet && isatty(STDOUT_FILENO));
    if (outcome.result.stopReason == "failed") code = kExitFailure;
    report.runs.push_back(std::move(outcome.result));
    profile = std::move(outcome.profile);
    profileError = std::move(outcome.profileError);
  }
  writeReports(args, report);
  if (profile) {
    if (!args.quiet) {
      std::cout << "\n";
      printProfile(*profile, std::cout);
    }
    if (!args.profileJson.empty()) writeProfileJson(*profile, args.profileJson);
  }
  if (profileError) {
    printError(std::string("--profile: ") + profileError->what());
    if (code == kExitOk) code = exitCodeFor(profileError->code());
  }
  for (const RunResult& r : report.runs)
    if (r.stopReason == "failed") printError(r.label + ": " + r.error);
  return code;
}

}  // namespace polyinfer::cli
