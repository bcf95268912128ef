// Overhead micro-benchmark: polyinfer's Predictor::predict against the same
// engine's own API called directly, in the same process, with the same
// thread settings, on a tiny model and a CNN, for every engine built
// (onnxruntime, torch: the tiny MLP and resnet18 of tools/gen_models.py;
// tensorflow: its SavedModels of tools/gen_tf_models.py, tf_tiny and tf_cnn,
// a MobileNetV2, through TensorFlow's C API). Over 500 lines: the interleaved
// timing, its table and the flags are one program; the direct arms are in
// direct_*.cpp.
//
// Two programs are built from this file (benchmarks/CMakeLists.txt), each
// with the direct arms of its engines compiled in (POLYINFER_BENCH_HAVE_*):
// polyinfer_overhead_benchmark (onnxruntime, torch) and
// polyinfer_overhead_benchmark_tensorflow (tensorflow). TensorFlow has an
// executable of its own because its plugin refuses a process with a protobuf
// runtime in the global scope, and LibTorch (linked for the torch arm) brings one.
//
// Two parts:
//   1. Google Benchmark cases, one per (model, engine, arm), for the standard
//      output and all of Google Benchmark's flags (--benchmark_filter, ...).
//   2. The ratio table. Google Benchmark runs cases one after the other, so on
//      a shared, noisy machine its per-case times are not a fair comparison.
//      The table comes from the arms measured side by side instead: R rounds,
//      in each round both arms make K calls back to back (the order flips
//      every round); per round and arm, the mean time per call. Reported: the
//      median (min-max) of those per-round means for each arm, and from the
//      R paired rounds the median of polyinfer - direct ("added", with its
//      interquartile range) and the median of polyinfer / direct ("ratio").
//
// Both arms get the same explicit settings: intra-op threads (default:
// polyinfer's default for one worker), inter-op threads 1, and for ONNX
// Runtime SEQUENTIAL, ALL_OPT, memory pattern and arena on, spinning off (see
// Settings::ortSpinning for why); for TensorFlow the same ConfigProto
// (inter-op 1: inter_op_parallelism_threads -1, ops in the calling thread).
//
// Targets (checked in the table): the CNN (resnet18, tf_cnn) ratio <= 1.01;
// the tiny model (mlp, tf_tiny) added <= 5 us.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "overhead_arms.hpp"
#include "polyinfer/polyinfer.hpp"

namespace polyinfer_bench {
namespace {

// ------------------------------------------------------------------ settings

/// TensorFlow reads SavedModels: tools/gen_tf_models.py makes its own model
/// of each kind, with the serving signature's graph tensors named here (as
/// saved_model_cli shows them) for the direct arm.
struct TfSavedModel {
  const char* name;  // directory under --models, holding saved_model/
  std::vector<int64_t> shape;
  const char* inputTensor;
  const char* outputTensor;
};

struct ModelKind {
  const char* name;            // --model: mlp (tiny) or resnet18 (CNN)
  std::vector<int64_t> shape;  // the one float32 input
  enum class Target { AddedMicros, Ratio } target;
  double limit;                // 5 (us added) or 1.01 (ratio)
  TfSavedModel tf;             // what engine tensorflow runs instead
};

const std::vector<ModelKind>& modelKinds() {
  static const std::vector<ModelKind> kinds = {
      {"mlp", {1, 16}, ModelKind::Target::AddedMicros, 5.0,
       {"tf_tiny", {1, 16}, "serving_default_x:0", "PartitionedCall:0"}},
      {"resnet18", {1, 3, 224, 224}, ModelKind::Target::Ratio, 1.01,
       {"tf_cnn", {1, 224, 224, 3}, "serving_default_input:0", "StatefulPartitionedCall:0"}},
  };
  return kinds;
}

/// The model one engine runs for one kind.
struct EngineModel {
  std::string name;                       // mlp, resnet18, tf_tiny, tf_cnn
  std::filesystem::path path;             // a file; TensorFlow: the SavedModel directory
  std::vector<int64_t> shape;
  std::string inputTensor, outputTensor;  // TensorFlow only
  std::string generate;                   // the command that makes it (for a missing one)
};

EngineModel engineModel(const std::filesystem::path& dir, const ModelKind& kind,
                        const std::string& engine) {
  const std::string source = POLYINFER_BENCH_SOURCE_DIR;
  if (engine == "tensorflow")
    return {kind.tf.name, dir / kind.tf.name / "saved_model", kind.tf.shape, kind.tf.inputTensor,
            kind.tf.outputTensor,
            source + "/.deps/venv/tensorflow/bin/python " + source +
                "/tools/gen_tf_models.py --out " + dir.string() + " --models tf_tiny,tf_cnn"};
  return {kind.name, dir / kind.name / (engine == "onnxruntime" ? "model.onnx" : "model.pt"),
          kind.shape, "", "",
          "/usr/bin/python3 " + source + "/tools/gen_models.py --out " + dir.string() +
              " --models mlp,resnet18"};
}

bool modelPresent(const EngineModel& model) {
  return std::filesystem::is_regular_file(model.path) ||
         std::filesystem::is_regular_file(model.path / "saved_model.pb");
}

std::vector<std::string> builtEngines() {
  std::vector<std::string> engines;
#if POLYINFER_BENCH_HAVE_ONNXRUNTIME
  engines.emplace_back("onnxruntime");
#endif
#if POLYINFER_BENCH_HAVE_TORCH
  engines.emplace_back("torch");
#endif
#if POLYINFER_BENCH_HAVE_TENSORFLOW
  engines.emplace_back("tensorflow");
#endif
  return engines;
}

/// "onnxruntime,torch", or "none".
std::string builtList() {
  std::string all;
  for (const std::string& engine : builtEngines()) all += (all.empty() ? "" : ",") + engine;
  return all.empty() ? "none" : all;
}

/// Which program runs an engine not built into this one.
std::string otherProgramHint(const std::string& engine) {
  if (engine == "tensorflow")
    return "; TensorFlow runs in polyinfer_overhead_benchmark_tensorflow (built when the "
           "TensorFlow plugin is)";
  if (engine == "onnxruntime" || engine == "torch")
    return "; " + engine + " runs in polyinfer_overhead_benchmark";
  return "";
}

struct Settings {
  std::filesystem::path modelsDir;
  std::string modelsDirSource;
  std::vector<std::string> models{"mlp", "resnet18"};
  std::vector<std::string> engines = builtEngines();
  int intraOpThreads = 0;  // 0: polyinfer's default for one worker
  int interOpThreads = 1;
  // ONNX Runtime's intra-op spinning, both arms: -1 ORT's default (on; what
  // polyinfer does when not told), 0 off, 1 on. Off by default here: after
  // a Run, each session's idle worker spins for 2^20 polls (ORT's WorkerLoop,
  // tens of ms), so with two sessions alternating in one process the idle
  // one burns a core the measured one needs. With one session per process
  // (a real service) that spinning costs nothing but CPU.
  int ortSpinning = 0;
  double settleMillis = 0;  // untimed pause before each arm's calls
  double secondsPerCase = 12.0;
  double roundMillis = 10.0;  // per arm and round
  int rounds = 0;             // 0: as many as fit in secondsPerCase
  double warmupSeconds = 0.5;
  bool quick = false;
  bool gbench = true;
  bool userMinTime = false;
  std::vector<char*> gbenchArgs;
};

void printUsage(const char* argv0) {
  std::printf(
      "Usage: %s [options] [--benchmark_* flags]\n"
      "\n"
      "polyinfer Predictor::predict vs the engine's own API, same process, same threads.\n"
      "Engines built into this program: %s. polyinfer_overhead_benchmark runs onnxruntime\n"
      "and torch, polyinfer_overhead_benchmark_tensorflow runs tensorflow (a program of its own:\n"
      "TensorFlow refuses a process with protobuf in the global scope, and LibTorch brings it).\n"
      "\n"
      "  --models DIR      generated models (tools/gen_models.py --out DIR; for tensorflow,\n"
      "                    tools/gen_tf_models.py --out DIR); default: env\n"
      "                    POLYINFER_BENCH_MODELS, else %s\n"
      "  --model LIST      comma-separated: mlp,resnet18 (default both): the tiny model and the\n"
      "                    CNN; engine tensorflow runs its SavedModels of each kind instead,\n"
      "                    tf_tiny (x[1,16]) and tf_cnn (MobileNetV2, input[1,224,224,3]);\n"
      "                    tf_tiny and tf_cnn are accepted as names of the two kinds too\n"
      "  --engine LIST     comma-separated, of the engines built into this program (default: all\n"
      "                    of them)\n"
      "  --threads N       intra-op threads for both arms (default: polyinfer's default for\n"
      "                    one worker, max(1, usable cores))\n"
      "  --interop N       inter-op threads for both arms (default 1)\n"
      "  --ort-spinning off|on|default  ONNX Runtime intra-op spinning, both arms (default off:\n"
      "                    with ORT's default, on, each session's idle worker spins for tens of\n"
      "                    ms after a Run, and the two sessions, alternating, fight for the\n"
      "                    cores; use --settle-ms 200 with on/default)\n"
      "  --settle-ms M     untimed pause before each arm's calls in a round (default 0)\n"
      "  --seconds S       side-by-side measuring time per (model, engine), both arms (default 12)\n"
      "  --round-ms M      time per arm and round: K = max(1, M / time per call) calls (default 10)\n"
      "  --rounds R        rounds per (model, engine) (default: as many as fit in --seconds)\n"
      "  --quick           smoke test: --seconds 1, short warm-up, Google Benchmark cases at\n"
      "                    0.05 s each\n"
      "  --no-gbench       only the side-by-side ratio table, no Google Benchmark cases\n"
      "  --benchmark_*     passed to Google Benchmark (e.g. --benchmark_filter=mlp)\n",
      argv0, builtList().c_str(), POLYINFER_BENCH_MODELS_DIR);
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "overhead benchmark: %s (see --help)\n", message.c_str());
  std::exit(2);
}

int parsePositive(const std::string& flag, const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1 || value > 4096)
    usageError(flag + ": expected an integer in [1, 4096], got '" + text + "'");
  return static_cast<int>(value);
}

Settings parseArgs(int argc, char** argv) {
  Settings s;
  s.gbenchArgs.push_back(argv[0]);
  bool secondsSet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const std::string& flag) -> const char* {
      if (arg.size() > flag.size() && arg.compare(0, flag.size() + 1, flag + "=") == 0)
        return argv[i] + flag.size() + 1;
      if (i + 1 >= argc) usageError(flag + " needs a value");
      return argv[++i];
    };
    auto is = [&](const std::string& flag) { return arg == flag || arg.starts_with(flag + "="); };
    if (arg == "--help" || arg == "-h") {
      printUsage(argv[0]);
      std::exit(0);
    } else if (is("--models")) {
      s.modelsDir = value("--models");
      s.modelsDirSource = "--models";
    } else if (is("--model")) {
      s.models = splitList(value("--model"));
    } else if (is("--engine")) {
      s.engines = splitList(value("--engine"));
      if (s.engines.empty()) usageError("--engine: expected at least one engine");
    } else if (is("--threads")) {
      s.intraOpThreads = parsePositive("--threads", value("--threads"));
    } else if (is("--interop")) {
      s.interOpThreads = parsePositive("--interop", value("--interop"));
    } else if (is("--ort-spinning")) {
      const std::string v = value("--ort-spinning");
      if (v == "on") s.ortSpinning = 1;
      else if (v == "off") s.ortSpinning = 0;
      else if (v == "default") s.ortSpinning = -1;
      else usageError("--ort-spinning: expected off, on or default, got '" + v + "'");
    } else if (is("--settle-ms")) {
      const char* text = value("--settle-ms");
      char* end = nullptr;
      s.settleMillis = std::strtod(text, &end);
      if (end == text || *end != '\0' || !(s.settleMillis >= 0) || s.settleMillis > 60000)
        usageError(std::string("--settle-ms: expected milliseconds in [0, 60000], got '") + text +
                   "'");
    } else if (is("--seconds")) {
      const char* text = value("--seconds");
      char* end = nullptr;
      s.secondsPerCase = std::strtod(text, &end);
      if (end == text || *end != '\0' || !(s.secondsPerCase > 0) || s.secondsPerCase > 3600)
        usageError(std::string("--seconds: expected a number of seconds in (0, 3600], got '") +
                   text + "'");
      secondsSet = true;
    } else if (is("--round-ms")) {
      const char* text = value("--round-ms");
      char* end = nullptr;
      s.roundMillis = std::strtod(text, &end);
      if (end == text || *end != '\0' || !(s.roundMillis > 0) || s.roundMillis > 60000)
        usageError(std::string("--round-ms: expected milliseconds in (0, 60000], got '") + text +
                   "'");
    } else if (is("--rounds")) {
      s.rounds = parsePositive("--rounds", value("--rounds"));
    } else if (arg == "--quick") {
      s.quick = true;
    } else if (arg == "--no-gbench") {
      s.gbench = false;
    } else if (arg.starts_with("--benchmark_")) {
      if (arg.starts_with("--benchmark_min_time")) s.userMinTime = true;
      s.gbenchArgs.push_back(argv[i]);
    } else {
      usageError("unknown argument '" + arg + "'");
    }
  }
  if (s.quick) {
    if (!secondsSet) s.secondsPerCase = 1.0;
    s.warmupSeconds = 0.1;
  }
  if (s.modelsDir.empty()) {
    if (const char* env = std::getenv("POLYINFER_BENCH_MODELS"); env && *env) {
      s.modelsDir = env;
      s.modelsDirSource = "env POLYINFER_BENCH_MODELS";
    } else {
      s.modelsDir = POLYINFER_BENCH_MODELS_DIR;
      s.modelsDirSource = "default (build tree)";
    }
  }
  const std::vector<std::string> built = builtEngines();
  for (const std::string& engine : s.engines)
    if (std::find(built.begin(), built.end(), engine) == built.end())
      usageError("--engine: '" + engine + "' is not built into this program (built: " +
                 builtList() + ")" + otherProgramHint(engine));
  for (std::string& model : s.models) {
    const auto kind =
        std::find_if(modelKinds().begin(), modelKinds().end(),
                     [&](const ModelKind& k) { return model == k.name || model == k.tf.name; });
    if (kind == modelKinds().end())
      usageError("--model: expected mlp (or tf_tiny) and/or resnet18 (or tf_cnn), got '" + model +
                 "'");
    model = kind->name;
  }
  return s;
}

// ------------------------------------------------------------------ arms

/// polyinfer's side: Predictor::predict on pre-built input Tensors.
class PolyinferArm final : public Arm {
 public:
  PolyinferArm(const polyinfer::Criteria& criteria, const std::vector<int64_t>& shape, float* input,
               std::size_t count)
      : model_(polyinfer::Model::load(criteria)), predictor_(model_->newPredictor()) {
    inputs_.add(polyinfer::Tensor::view(polyinfer::DataType::Float32, shape, input,
                                        count * sizeof(float), nullptr));
  }

  float call() override {
    polyinfer::Tensors outputs = predictor_.predict(inputs_);
    return outputs[0].tensor.data<float>()[0];
  }

  std::vector<float> output() override {
    return predictor_.predict(inputs_)[0].tensor.toVector<float>();
  }

  std::string describe() const override {
    std::string text = "polyinfer " + model_->engineName() + " " + model_->engineVersion() + ":";
    for (const polyinfer::ConfigEntry& entry : model_->config())
      text += " " + entry.key + "=" + entry.value;
    return text + "; per call: Predictor::predict(inputs) + output data pointer";
  }

  const polyinfer::Model& model() const { return *model_; }

 private:
  std::shared_ptr<polyinfer::Model> model_;
  polyinfer::Predictor predictor_;
  polyinfer::Tensors inputs_;
};

polyinfer::Options engineOptions(const std::string& engine, const Settings& s) {
  const std::string intra = std::to_string(s.intraOpThreads);
  const std::string inter = std::to_string(s.interOpThreads);
  if (engine == "onnxruntime") {
    polyinfer::Options options{{"intraOpNumThreads", intra},
                               {"interOpNumThreads", inter},
                               {"executionMode", "SEQUENTIAL"},
                               {"optLevel", "ALL_OPT"},
                               {"memoryPatternOptimization", "true"},
                               {"cpuArenaAllocator", "true"}};
    if (s.ortSpinning >= 0) options.set("intraOpAllowSpinning", s.ortSpinning ? "true" : "false");
    return options;
  }
  if (engine == "tensorflow") return {{"intraOpNumThreads", intra}, {"interOpNumThreads", inter}};
  return {{"num_threads", intra},
          {"num_interop_threads", inter},
          {"graph_optimizer", "true"},
          {"use_mkldnn", "false"}};
}

std::unique_ptr<Arm> makeDirectArm(const std::string& engine, const DirectSpec& spec) {
#if POLYINFER_BENCH_HAVE_ONNXRUNTIME
  if (engine == "onnxruntime") return makeDirectOnnxruntimeArm(spec);
#endif
#if POLYINFER_BENCH_HAVE_TORCH
  if (engine == "torch") return makeDirectTorchArm(spec);
#endif
#if POLYINFER_BENCH_HAVE_TENSORFLOW
  if (engine == "tensorflow") return makeDirectTensorflowArm(spec);
#endif
  (void)spec;
  throw std::runtime_error("no direct arm for engine '" + engine + "' in this build");
}

/// One (model, engine) pair: a shared input buffer and both arms.
struct Case {
  const ModelKind* kind = nullptr;
  std::string engine;
  EngineModel model;
  std::vector<float> input;  // declared first: outlives both arms
  std::unique_ptr<PolyinferArm> polyinfer;
  std::unique_ptr<Arm> direct;
  double maxAbsDiff = 0;
  double perCallEstimate = 0;  // seconds, from the warm-up
  std::string label() const { return model.name + "/" + engine; }
};

/// True when every fixed dim of the model's input is the benchmark's.
bool shapeFits(const polyinfer::Shape& declared, const std::vector<int64_t>& fed) {
  if (declared.size() != fed.size()) return false;
  for (std::size_t d = 0; d < fed.size(); ++d)
    if (declared[d] >= 0 && declared[d] != fed[d]) return false;
  return true;
}

std::unique_ptr<Case> loadCase(const Settings& s, const ModelKind& kind, const std::string& engine) {
  auto c = std::make_unique<Case>();
  c->kind = &kind;
  c->engine = engine;
  c->model = engineModel(s.modelsDir, kind, engine);
  const std::vector<int64_t>& shape = c->model.shape;
  std::size_t count = 1;
  for (int64_t d : shape) count *= static_cast<std::size_t>(d);
  c->input.resize(count);
  std::mt19937 random(12345);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& x : c->input) x = uniform(random);

  const std::filesystem::path& file = c->model.path;
  // polyinfer first: for LibTorch it applies the process-wide thread counts,
  // which the direct arm then runs under as well; for TensorFlow it opens the
  // library the direct arm then uses too.
  polyinfer::Criteria criteria;
  criteria.modelPath = file;
  criteria.engine = engine;
  criteria.options = engineOptions(engine, s);
  criteria.workers = 1;
  c->polyinfer = std::make_unique<PolyinferArm>(criteria, shape, c->input.data(), count);
  const auto& inputs = c->polyinfer->model().inputs();
  if (inputs.size() != 1)
    throw std::runtime_error(file.string() + ": expected one input, the model has " +
                             std::to_string(inputs.size()));
  if (inputs[0].rankKnown && !shapeFits(inputs[0].shape, shape))
    throw std::runtime_error(file.string() + ": input is " + inputs[0].describe() +
                             ", the benchmark feeds " + polyinfer::toString(shape));

  DirectSpec spec;
  spec.modelFile = file;
  spec.shape = shape;
  spec.inputTensor = c->model.inputTensor;
  spec.outputTensor = c->model.outputTensor;
  spec.input = c->input.data();
  spec.elementCount = count;
  spec.intraOpThreads = s.intraOpThreads;
  spec.interOpThreads = s.interOpThreads;
  spec.ortSpinning = s.ortSpinning;
  c->direct = makeDirectArm(engine, spec);
  return c;
}

// ------------------------------------------------------------------ measuring

double sink = 0;  // every call's first output element ends up here

double timeCalls(Arm& arm, long calls) {
  const Clock::time_point start = Clock::now();
  float sum = 0;
  for (long i = 0; i < calls; ++i) sum += arm.call();
  const double seconds = secondsSince(start);
  sink += sum;
  return seconds;
}

/// Runs both arms alternately until warmSeconds have passed (and each arm
/// made a few calls); returns the time per call of the last chunks.
double warmUp(Case& c, double warmSeconds) {
  const Clock::time_point start = Clock::now();
  long chunk = 1, total = 0;
  double perCall = 0;
  while (true) {
    const double a = timeCalls(*c.direct, chunk);
    const double b = timeCalls(*c.polyinfer, chunk);
    total += chunk;
    perCall = (a + b) / (2.0 * static_cast<double>(chunk));
    if (secondsSince(start) >= warmSeconds && total >= 5) break;
    if (a + b < 0.05) chunk *= 2;
  }
  return perCall;
}

struct Result {
  const Case* c = nullptr;
  long callsPerRound = 0;
  int rounds = 0;
  std::vector<double> direct, polyinfer;  // seconds per call, one per round
  std::vector<double> added, ratio;       // paired, one per round
};

Result measure(Case& c, const Settings& s) {
  Result r;
  r.c = &c;
  // K calls per arm and round: about --round-ms, at least one. Short rounds
  // pair each arm's calls with the other's made just before or after, so
  // that load from elsewhere on a shared machine hits both alike.
  r.callsPerRound = std::max<long>(1, std::lround(s.roundMillis * 1e-3 / c.perCallEstimate));
  const double k = static_cast<double>(r.callsPerRound);
  r.rounds = s.rounds > 0 ? s.rounds
                          : static_cast<int>(std::clamp<double>(
                                std::round(s.secondsPerCase / (2.0 * k * c.perCallEstimate)),
                                3.0, 1e6));
  r.direct.reserve(r.rounds);
  r.polyinfer.reserve(r.rounds);
  for (int round = 0; round < r.rounds; ++round) {
    double d = 0, p = 0;
    auto pause = [&] {
      if (s.settleMillis > 0)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(s.settleMillis));
    };
    if (round % 2 == 0) {
      pause();
      d = timeCalls(*c.direct, r.callsPerRound) / k;
      pause();
      p = timeCalls(*c.polyinfer, r.callsPerRound) / k;
    } else {
      pause();
      p = timeCalls(*c.polyinfer, r.callsPerRound) / k;
      pause();
      d = timeCalls(*c.direct, r.callsPerRound) / k;
    }
    r.direct.push_back(d);
    r.polyinfer.push_back(p);
    r.added.push_back(p - d);
    r.ratio.push_back(p / d);
  }
  return r;
}

// ------------------------------------------------------------------ report

std::string micros(double seconds) {
  const double us = seconds * 1e6;
  char buf[32];
  if (std::fabs(us) >= 1000) std::snprintf(buf, sizeof buf, "%.0f", us);
  else if (std::fabs(us) >= 100) std::snprintf(buf, sizeof buf, "%.1f", us);
  else std::snprintf(buf, sizeof buf, "%.2f", us);
  return buf;
}

std::string signedMicros(double seconds) {
  return (seconds >= 0 ? "+" : "") + micros(seconds);
}

std::string spinningName(int spinning) {
  return spinning < 0 ? "ORT default (on)" : spinning ? "on" : "off";
}

bool printTable(const std::vector<Result>& results, const Settings& s) {
  std::printf("\n== polyinfer overhead: side by side, interleaved ==\n");
  std::printf(
      "Per (model, engine): R rounds; in each, both arms make K calls back to back (order flips "
      "every round).\n"
      "Times are per call: median (min-max) of the per-round means. 'added' = median over rounds "
      "of (polyinfer - direct), [IQR];\n"
      "'ratio' = median over rounds of polyinfer / direct. Targets: CNN (resnet18, tf_cnn) "
      "ratio <= 1.01, tiny model (mlp, tf_tiny)\nadded <= 5 us.\n"
      "Both arms: intra-op threads %d, inter-op %d, ONNX Runtime spinning %s; settle %.0f ms. "
      "Timed per call: direct =\nthe engine's API (input view of the caller's buffer, run, output "
      "pointer); polyinfer = Predictor::predict on\npre-built input Tensors, output pointer. Load "
      "average now: %s.\n\n",
      s.intraOpThreads, s.interOpThreads, spinningName(s.ortSpinning).c_str(), s.settleMillis,
      loadAverage().c_str());
  std::printf("%-9s %-12s %5s %6s  %-28s %-28s %-24s %-7s %-8s %s\n", "model", "engine", "R", "K",
              "direct us (min-max)", "polyinfer us (min-max)", "added us [IQR]", "ratio",
              "target", "result");
  bool allPass = true;
  for (const Result& r : results) {
    const double dMed = quantile(r.direct, 0.5), pMed = quantile(r.polyinfer, 0.5);
    const double added = quantile(r.added, 0.5);
    const double ratio = quantile(r.ratio, 0.5);
    const ModelKind& kind = *r.c->kind;
    bool pass = false;
    std::string target;
    if (kind.target == ModelKind::Target::AddedMicros) {
      pass = added * 1e6 <= kind.limit;
      target = "<= 5 us";
    } else {
      pass = ratio <= kind.limit;
      target = "<= 1%";
    }
    allPass &= pass;
    const auto [dMin, dMax] = std::minmax_element(r.direct.begin(), r.direct.end());
    const auto [pMin, pMax] = std::minmax_element(r.polyinfer.begin(), r.polyinfer.end());
    const std::string direct = micros(dMed) + " (" + micros(*dMin) + "-" + micros(*dMax) + ")";
    const std::string poly = micros(pMed) + " (" + micros(*pMin) + "-" + micros(*pMax) + ")";
    const std::string add = signedMicros(added) + " [" + signedMicros(quantile(r.added, 0.25)) +
                            ", " + signedMicros(quantile(r.added, 0.75)) + "]";
    std::printf("%-9s %-12s %5d %6ld  %-28s %-28s %-24s %-7.4f %-8s %s\n",
                r.c->model.name.c_str(), r.c->engine.c_str(), r.rounds, r.callsPerRound,
                direct.c_str(), poly.c_str(), add.c_str(), ratio, target.c_str(),
                pass ? "PASS" : "FAIL");
  }
  return allPass;
}

// ------------------------------------------------------------------ main

int run(int argc, char** argv) {
  Settings s = parseArgs(argc, argv);
  const polyinfer::ThreadBudget budget = polyinfer::ThreadBudget::detect();
  if (s.intraOpThreads == 0) s.intraOpThreads = budget.defaultsFor(1).intraOpThreads;

  if (s.engines.empty()) {
    std::fprintf(stderr, "overhead benchmark: no engine of this program is built (configure "
                         "with POLYINFER_WITH_ONNXRUNTIME and/or POLYINFER_WITH_TORCH; "
                         "TensorFlow runs in polyinfer_overhead_benchmark_tensorflow)\n");
    return 2;
  }
  // Every model file first, so that a missing one fails before anything runs.
  for (const ModelKind& kind : modelKinds()) {
    if (std::find(s.models.begin(), s.models.end(), kind.name) == s.models.end()) continue;
    for (const std::string& engine : s.engines) {
      const EngineModel model = engineModel(s.modelsDir, kind, engine);
      if (!modelPresent(model)) {
        std::fprintf(stderr,
                     "overhead benchmark: model %s not found (models directory %s, from "
                     "%s).\nGenerate the models with:\n  %s\nor point --models "
                     "DIR / POLYINFER_BENCH_MODELS at a directory that has them.\n",
                     model.path.c_str(), s.modelsDir.c_str(), s.modelsDirSource.c_str(),
                     model.generate.c_str());
        return 2;
      }
    }
  }

  std::printf("polyinfer %s overhead benchmark (%s: %s)\n", polyinfer::kVersion,
              POLYINFER_BENCH_PROGRAM, builtList().c_str());
  std::printf("machine: %s; usable cores %d (%s)\n", cpuModel().c_str(), budget.usableCores(),
              budget.source().c_str());
  std::printf("models: %s (%s)\n", s.modelsDir.c_str(), s.modelsDirSource.c_str());
  std::printf("load average at start: %s\n", loadAverage().c_str());

  std::vector<std::unique_ptr<Case>> cases;
  for (const ModelKind& kind : modelKinds()) {
    if (std::find(s.models.begin(), s.models.end(), kind.name) == s.models.end()) continue;
    for (const std::string& engine : s.engines) cases.push_back(loadCase(s, kind, engine));
  }

  // Warm-up (both arms, alternately), the per-call estimate, and a check that
  // both arms compute the same thing.
  for (auto& c : cases) {
    c->perCallEstimate = warmUp(*c, s.warmupSeconds);
    const std::vector<float> a = c->direct->output();
    const std::vector<float> b = c->polyinfer->output();
    if (a.size() != b.size())
      throw std::runtime_error(c->label() + ": the arms' outputs differ in size (" +
                               std::to_string(a.size()) + " vs " + std::to_string(b.size()) + ")");
    for (std::size_t i = 0; i < a.size(); ++i)
      c->maxAbsDiff = std::max(c->maxAbsDiff, static_cast<double>(std::fabs(a[i] - b[i])));
    std::printf("\n[%s]\n  direct:    %s\n  polyinfer: %s\n  outputs: %zu values, max |direct - "
                "polyinfer| = %.3g%s\n",
                c->label().c_str(), c->direct->describe().c_str(),
                c->polyinfer->describe().c_str(), a.size(), c->maxAbsDiff,
                c->maxAbsDiff > 1e-4 ? "  WARNING: the arms do not compute the same thing" : "");
  }
  std::fflush(stdout);

  if (s.gbench) {
    for (auto& c : cases) {
      for (int arm = 0; arm < 2; ++arm) {
        Arm* target = arm == 0 ? c->direct.get() : static_cast<Arm*>(c->polyinfer.get());
        const std::string name = c->label() + (arm == 0 ? "/direct" : "/polyinfer");
        benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
            name.c_str(), [target](benchmark::State& state) {
              for (auto _ : state) benchmark::DoNotOptimize(target->call());
            });
        b->Unit(benchmark::kMicrosecond)->UseRealTime();
        if (s.quick && !s.userMinTime) b->MinTime(0.05);
      }
    }
    int gbArgc = static_cast<int>(s.gbenchArgs.size());
    benchmark::Initialize(&gbArgc, s.gbenchArgs.data());
    if (benchmark::ReportUnrecognizedArguments(gbArgc, s.gbenchArgs.data())) return 2;
    std::printf("\n");
    std::fflush(stdout);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }

  std::vector<Result> results;
  for (auto& c : cases) results.push_back(measure(*c, s));
  const bool allPass = printTable(results, s);
  std::printf("\n%s\n", allPass ? "all targets met" : "some targets missed (see FAIL rows)");
  benchmark::DoNotOptimize(sink);
  return 0;
}

}  // namespace
}  // namespace polyinfer_bench

int main(int argc, char** argv) {
  return polyinfer_bench::runReportingErrors(POLYINFER_BENCH_PROGRAM,
                                             [&] { return polyinfer_bench::run(argc, argv); });
}
