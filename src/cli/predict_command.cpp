// polyinfer predict: run a model once (or -n times) on given or random inputs,
// print the outputs, optionally save them and compare them with expected data.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <system_error>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "compare.hpp"
#include "exit_codes.hpp"
#include "input_spec.hpp"
#include "model_inputs.hpp"
#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"
#include "predict_report.hpp"
#include "random_tensor.hpp"
#include "value_args.hpp"

namespace polyinfer::cli {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

/// A CLI11 check for "a number >= 0" with a short message.
CLI::Validator nonNegative() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double value = std::stod(text, &used);
          if (used == text.size() && value >= 0) return {};
        } catch (const std::exception&) {
        }
        return "expected a number >= 0, got '" + text + "'";
      },
      "", "non-negative");
}

constexpr const char* kFooter = R"TXT(INPUT and EXPECTED forms (-i, --expect; repeat the flag for several tensors):
  FILE.npy          numpy array (format 1.0-3.0, C order; '<f4', '|b1', '>i8', '<f2', ...)
  FILE.pb           serialized onnx.TensorProto; its name field picks the model input
                    (or output) when it matches one, else it counts by position. For an
                    input or output the model declares as a sequence, map or optional:
                    onnx.SequenceProto, MapProto or OptionalProto (read as that type; a
                    file of another kind is an error naming what it holds)
  NAME=FILE         the tensor for the input/output called NAME
  DIR               ONNX test layout: DIR/input_0.pb, input_1.pb, ... for -i and
                    DIR/output_0.pb, ... for --expect (e.g. test_data_set_0)
  Unnamed tensors fill the remaining inputs (outputs) in order.

SHAPES (-s), DJL's syntax: "(1,3,224,224)f,(1,384)l" gives one shape per model input,
  each optionally followed by a dtype letter; "1,3,224,224" is a single input;
  "()" is a scalar. Letters: f float32, d float64, s float16, i int32, l int64, b int8,
  u uint8, B bool.
  Without a letter the dtype the model declares is used (float32 when it declares none).
  Random values: floats N(0,1) (or U(0,1) with --random uniform), integers uniform in
  --int-range [0,10), bools fair coin flips; all from --seed, so runs repeat exactly.
  Without -i and -s, inputs are random with the model's declared shapes when all of them
  are fixed; a model that declares none (some formats do not) needs -s or -i.

COMPARISON (--expect): each output must satisfy |actual - expected| <= atol + rtol*|expected|
  elementwise (integers and bools exactly; NaN matches NaN). A mismatch prints the worst
  element (index, actual, expected, abs diff) and exits 1; so does a dtype or shape mismatch.
  Sequences, maps and optionals compare recursively: length, keys (in any order), presence,
  then every element. -o writes tensors as NAME.npy, other values as NAME.pb.

EXIT STATUS and the error line "polyinfer: error: <Code>: <message>" on stderr:
  0 ok; 1 Unsupported (this engine/build cannot do it), EngineFailure, ResourceExhausted,
  Unavailable, Internal, or Mismatch (outputs differ from --expect); 2 InvalidArgument or
  NotFound (bad usage or bad input: unknown flag or option key, malformed value,
  missing/truncated/corrupt model or data).)TXT";

/// "y" -> "y"; "out/0:x" -> "out_0_x"; keeps names unique and never "." or "..".
std::string fileNameFor(const std::string& name, std::size_t index, std::set<std::string>& used) {
  std::string base;
  for (char c : name)
    base += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (base.empty() || base.find_first_not_of('.') == std::string::npos)
    base = "output_" + std::to_string(index);
  std::string candidate = base;
  for (int k = 1; used.count(candidate); ++k) candidate = base + "_" + std::to_string(k);
  used.insert(candidate);
  return candidate + ".npy";
}

/// Pairs each expected tensor with an output: by name when the name is one of
/// the outputs', else by its position among the expected tensors.
struct ExpectedPair {
  const LoadedTensor* expected;
  std::size_t output;  ///< index into the outputs; npos: the model has no such output
};

std::vector<ExpectedPair> pairExpected(const std::vector<LoadedTensor>& expected,
                                       const Tensors& outputs) {
  std::vector<ExpectedPair> pairs;
  std::vector<bool> taken(outputs.size(), false);
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const LoadedTensor& e = expected[k];
    std::size_t index = std::string::npos;
    for (std::size_t o = 0; o < outputs.size() && !e.name.empty(); ++o)
      if (outputs[o].name == e.name) index = o;
    if (index == std::string::npos) {
      if (e.explicitName) {
        std::string names;
        for (const NamedTensor& out : outputs) names += (names.empty() ? "'" : ", '") + out.name + "'";
        throw Error(ErrorCode::NotFound, "--expect " + e.name + "=...: the model has no output '" +
                                             e.name + "'; its outputs are: " + names);
      }
      index = k < outputs.size() ? k : std::string::npos;
    }
    if (index != std::string::npos) {
      if (taken[index])
        throw Error(ErrorCode::InvalidArgument,
                    "--expect gives two tensors for output '" + outputs[index].name + "'");
      taken[index] = true;
    }
    pairs.push_back({&e, index});
  }
  return pairs;
}

/// "parts: seq(float32[?,2]) -> joined: float32[?,2], ..." for messages.
std::string describeValueInfos(const Model& model) {
  std::string text;
  for (const ValueInfo& info : model.inputValues()) text += (text.empty() ? "" : ", ") + info.describe();
  text += " -> ";
  bool first = true;
  for (const ValueInfo& info : model.outputValues()) {
    text += (first ? "" : ", ") + info.describe();
    first = false;
  }
  return text;
}

int predictBody(const PredictArgs& args) {
  // Everything that can be checked without the model first: bad usage fails fast.
  Options options;
  for (const std::string& text : args.options) options.merge(Options::parse(text));
  std::vector<ShapeSpec> shapes;
  if (args.shapesGiven) shapes = parseShapeSpecs(args.shapes);
  const InputArgs inputArgs{args.inputs, args.shapesGiven, args.seed, args.distribution,
                            args.intRange};
  if (!args.intRange.empty()) parseIntRange(args.intRange);
  // Read as tensors before the model loads, so that bad data fails fast; a
  // file that is no tensor may be a sequence, map or optional the model
  // declares: that is decided once the model says its types.
  const EarlyDataFiles loadedInputs = loadDataFilesEarly(args.inputs, "input");
  const EarlyDataFiles loadedExpected = loadDataFilesEarly(args.expect, "output");

  Criteria criteria;
  criteria.modelPath = args.model;
  criteria.engine = args.engine;
  criteria.device = args.device;
  criteria.options = options;
  criteria.workers = 1;
  criteria.intraOpThreads = args.intraOpThreads;
  criteria.interOpThreads = args.interOpThreads;
  using Clock = std::chrono::steady_clock;
  const auto loadStart = Clock::now();
  const std::shared_ptr<Model> model = Model::load(criteria);

  PredictReport report;
  report.loadMs = std::chrono::duration<double, std::milli>(Clock::now() - loadStart).count();
  report.model = model.get();
  report.device = args.device;
  report.values = !model->tensorsOnly();
  std::vector<LoadedValue> expectedValues;
  std::vector<LoadedTensor> expected;  // a tensor-only model's --expect
  if (report.values) {
    if (args.profile > 0)
      throw Error(ErrorCode::Unsupported,
                  "--profile: the model has inputs or outputs that are not tensors (" +
                      describeValueInfos(*model) + "); profiling runs tensor models only");
    report.valueInputs = buildValueInputs(inputArgs, *model, loadedInputs, shapes, report.inputSources);
    expectedValues = loadValueArgs(args.expect, "output", model->outputValues(), false);
  } else {
    report.inputs = buildInputs(inputArgs, *model, loadedInputs.tensorsOrThrow(), shapes, report.inputSources);
    expected = loadedExpected.tensorsOrThrow();
  }

  Predictor predictor = model->newPredictor();
  auto timedRun = [&] {
    const auto start = Clock::now();
    if (report.values) report.valueOutputs = predictor.predictValues(report.valueInputs);
    else report.outputs = predictor.predict(report.inputs);
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  std::vector<double> times;
  if (args.repeat > 0) {
    timedRun();  // warm-up, not counted
    for (int r = 0; r < args.repeat; ++r) times.push_back(timedRun());
  } else {
    times.push_back(timedRun());
  }
  report.timing = summarizeTimes(times, args.repeat > 0);
  const Tensors& outputs = report.outputs;

  // --profile: separate runs, after the timed ones (the profiler slows them).
  if (args.profile > 0) {
    report.profile = predictor.profile(report.inputs, args.profile);
    if (!args.profileJson.empty()) writeProfileJson(*report.profile, args.profileJson);
  }

  // -o: each output as DIR/NAME.npy (a non-tensor as DIR/NAME.pb).
  report.written.assign(report.values ? report.valueOutputs.size() : outputs.size(), std::string());
  if (!args.outputDir.empty()) {
    std::error_code ec;
    fs::create_directories(args.outputDir, ec);
    if (ec)
      throw Error(ErrorCode::InvalidArgument,
                  "-o '" + args.outputDir + "': cannot create the directory: " + ec.message());
    std::set<std::string> used;
    for (std::size_t k = 0; report.values && k < report.valueOutputs.size(); ++k) {
      const NamedValue& out = report.valueOutputs[k];
      fs::path file = fs::path(args.outputDir) / fileNameFor(out.name, k, used);
      if (!out.value.isTensor()) file.replace_extension(".pb");
      io::writeValueFile(file, out.name, out.value);
      report.written[k] = file.string();
    }
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const fs::path file = fs::path(args.outputDir) / fileNameFor(outputs[k].name, k, used);
      io::writeNpy(file, outputs[k].tensor);
      report.written[k] = file.string();
    }
  }

  // --expect.
  report.tolerance = Tolerance{args.atol, args.rtol};
  for (const LoadedValue& e : expectedValues) {
    Check c;
    c.file = e.file.string();
    c.present = true;
    c.output = report.valueOutputs[e.slot].name;
    c.comparison = compareValues(report.valueOutputs[e.slot].value, e.value, report.tolerance);
    c.message = fmt::format("output '{}' vs '{}': {}", c.output, c.file, c.comparison.describe(report.tolerance));
    report.checks.push_back(std::move(c));
  }
  for (const ExpectedPair& pair : pairExpected(expected, outputs)) {
    Check c;
    c.file = pair.expected->file.string();
    c.present = pair.output != std::string::npos;
    if (c.present) {
      c.output = outputs[pair.output].name;
      c.comparison =
          compareTensors(outputs[pair.output].tensor, pair.expected->tensor, report.tolerance);
      c.message = fmt::format("output '{}' vs '{}': {}", c.output, c.file,
                              c.comparison.describe(report.tolerance));
    } else {
      c.comparison.ok = false;
      c.message = fmt::format("expected data '{}' has no output: the model produced {} output{}",
                              c.file, outputs.size(), outputs.size() == 1 ? "" : "s");
    }
    report.checks.push_back(std::move(c));
  }

  if (args.json) printJson(report, std::cout);
  else printText(report, std::cout);

  const auto failed = std::count_if(report.checks.begin(), report.checks.end(),
                                    [](const Check& c) { return !c.comparison.ok; });
  if (failed > 0) {
    const auto first = std::find_if(report.checks.begin(), report.checks.end(),
                                    [](const Check& c) { return !c.comparison.ok; });
    printError(kMismatchCategory, failed == 1 ? first->message
                           : fmt::format("{} of {} outputs do not match; first: {}", failed,
                                         report.checks.size(), first->message));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

CLI::App* addPredictCommand(CLI::App& app, PredictArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "predict",
      "Run a model on inputs from files or on random data, print its outputs, and optionally "
      "save them (-o) and check them against expected data (--expect).");
  cmd->add_option("-u,-m,--model", args.model,
                  "Model file (or any file of a multi-file model), a directory that is a model, "
                  "or a directory holding one model (with -e: one for that engine). The formats "
                  "each engine reads are listed by `polyinfer info`.")
      ->required()
      ->type_name("MODEL");
  cmd->add_option("-e,--engine", args.engine,
                  "Engine, one of those `polyinfer info` lists. Default: chosen from the model "
                  "format by the engine plugins (`polyinfer info` lists the formats each reads).")
      ->type_name("ENGINE");
  cmd->add_option("-O,--option", args.options,
                  "Engine option KEY=VALUE; repeatable, and each may be a comma list "
                  "k=v,k2=v2. Each engine's keys (DJL's names among them) are listed by "
                  "`polyinfer info`. An unknown key is an error listing the valid ones. "
                  "Default: none.")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  addThreadCountOptions(*cmd, args.intraOpThreads, args.interOpThreads);
  cmd->add_option("--device", args.device,
                  "Device: cpu, gpu0, gpu1, ... where the engine build supports it.")
      ->capture_default_str()
      ->type_name("DEVICE");
  CLI::Option* input =
      cmd->add_option("-i,--input", args.inputs,
                      "Input data: FILE.npy, FILE.pb, NAME=FILE, or a test-layout DIR "
                      "(input_K.pb); repeatable. Default: random data (see SHAPES below).")
          ->type_name("INPUT")
          ->allow_extra_args(false);
  CLI::Option* shapes =
      cmd->add_option("-s,--input-shapes", args.shapes,
                      "Random inputs of these shapes, e.g. \"(1,3,224,224)f,(1,384)l\" or "
                      "1,3,224,224 (see SHAPES below). Default: the model's declared shapes.")
          ->type_name("SHAPES")
          ->each([&args](const std::string&) { args.shapesGiven = true; });
  input->excludes(shapes);
  cmd->add_option("--expect", args.expect,
                  "Expected outputs, same forms as -i (a DIR means its output_K.pb); "
                  "repeatable. A mismatch exits 1. Default: no check.")
      ->type_name("EXPECTED")
      ->allow_extra_args(false);
  cmd->add_option("--atol", args.atol, "Absolute tolerance for --expect.")
      ->capture_default_str()
      ->check(nonNegative())
      ->type_name("A");
  cmd->add_option("--rtol", args.rtol, "Relative tolerance for --expect (times |expected|).")
      ->capture_default_str()
      ->check(nonNegative())
      ->type_name("R");
  cmd->add_option("-o,--output-dir", args.outputDir,
                  "Write each output to DIR/NAME.npy (the name made file-system safe; the "
                  "directory is created). Default: outputs are not written.")
      ->type_name("DIR");
  cmd->add_option("-n,--repeat", args.repeat,
                  "Run N timed calls after one untimed warm-up and print the time per call "
                  "(median, min, max in ms). Default: one call, timed with its first-call "
                  "costs.")
      ->check(nonNegative())
      ->type_name("N");
  CLI::Option* profile =
      cmd->add_option("--profile", args.profile,
                      "After the timed calls, run N more with the engine's profiler on and "
                      "print the operators by time (op type, calls, total and mean ms, share). "
                      "Engines that cannot profile say so (exit 1). Default: off; N defaults "
                      "to 10 when the flag has no value.")
          ->expected(0, 1)
          ->default_str("10")
          ->check(CLI::PositiveNumber)
          ->type_name("N");
  cmd->add_option("--profile-json", args.profileJson,
                  "With --profile: write the table and the engine's raw trace (Chrome trace "
                  "events) to FILE as JSON.")
      ->needs(profile)
      ->type_name("FILE");
  cmd->add_option("--seed", args.seed, "Seed of the random inputs.")
      ->capture_default_str()
      ->type_name("SEED");
  cmd->add_option("--random", args.distribution,
                  "Distribution of random floats: normal N(0,1) or uniform U(0,1).")
      ->capture_default_str()
      ->check(CLI::IsMember({"normal", "uniform"}))
      ->type_name("DIST");
  cmd->add_option("--int-range", args.intRange,
                  "Random integers are uniform in [LOW, HIGH).")
      ->capture_default_str()
      ->type_name("LOW,HIGH");
  cmd->add_flag("--json", args.json,
                "Print the result as one JSON object (model, engine, config, inputs, outputs "
                "with summaries, timing, comparisons) instead of text.");
  cmd->footer(kFooter);
  return cmd;
}

int runPredict(const PredictArgs& args) {
  if (!args.json) return predictBody(args);
  try {
    return predictBody(args);
  } catch (const Error& e) {
    // Machine-readable too; main() still prints the one stderr line and exits.
    json j = {{"ok", false},
              {"error", {{"code", std::string(toString(e.code()))}, {"message", e.what()}}}};
    std::cout << j.dump(2) << std::endl;
    throw;
  }
}

}  // namespace polyinfer::cli
