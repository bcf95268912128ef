// The polyinfer command-line tool, run as a separate process (the binary built
// in this tree: POLYINFER_CLI_PATH, set by tests/CMakeLists.txt).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"
#include "test_support.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct RunResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string shellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A number as the tool prints it: 6 significant digits.
std::string sixDigits(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

bool hasEngine(const std::string& engine) {
  const auto engines = test::builtEngines();
  return std::find(engines.begin(), engines.end(), engine) != engines.end();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef POLYINFER_CLI_PATH
    GTEST_SKIP() << "the polyinfer tool is not built (POLYINFER_BUILD_CLI=OFF)";
#else
    cli_ = POLYINFER_CLI_PATH;
#endif
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("polyinfer_test_cli_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  /// Runs the tool; `env` holds NAME=VALUE settings for its environment.
  RunResult run(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::string command;
    if (!env.empty()) {
      command = "env";
      for (const std::string& setting : env) command.append(" ").append(shellQuote(setting));
      command += ' ';
    }
    command += shellQuote(cli_);
    // (append(), not " " + string: GCC 12 warns falsely about the latter.)
    for (const std::string& arg : args) command.append(" ").append(shellQuote(arg));
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    command.append(" >").append(shellQuote(out.string()));
    command.append(" 2>").append(shellQuote(err.string())).append(" </dev/null");
    const int status = std::system(command.c_str());
    RunResult r;
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  /// Exit code 2 or 1 with exactly one "polyinfer: error: ..." line on stderr.
  static void expectOneErrorLine(const RunResult& r, int exitCode) {
    EXPECT_EQ(r.exitCode, exitCode) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("polyinfer: error: "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  static std::string modelFor(const std::string& engine, const std::string& model) {
    return test::modelFile(model, test::modelFileFor(engine)).string();
  }
  static std::string dataSet(const std::string& model) {
    return test::modelFile(model, "test_data_set_0").string();
  }

  std::string cli_;
  fs::path dir_;
};

// ------------------------------------------------------------------ info

TEST_F(CliTest, InfoListsVersionEnginesAndThreads) {
  const RunResult r = run({"info"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr(std::string("polyinfer ") + kVersion));
  EXPECT_THAT(r.out, HasSubstr("plugin search path"));
  EXPECT_THAT(r.out, HasSubstr("usable cores"));
  EXPECT_THAT(r.out, HasSubstr("1 worker"));
  for (const std::string& engine : test::builtEngines()) EXPECT_THAT(r.out, HasSubstr("  " + engine + " "));
}

TEST_F(CliTest, InfoJsonParses) {
  const RunResult r = run({"info", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("version"), kVersion);
  EXPECT_TRUE(j.at("plugin_search_path").is_array());
  EXPECT_GE(j.at("cpu").at("usable_cores").get<int>(), 1);
  EXPECT_FALSE(j.at("cpu").at("source").get<std::string>().empty());
  ASSERT_GE(j.at("thread_defaults").size(), 1u);
  EXPECT_EQ(j.at("thread_defaults")[0].at("workers"), 1);
  EXPECT_EQ(j.at("thread_defaults")[0].at("intra_op_threads"), j.at("cpu").at("usable_cores"));
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const auto& engines = j.at("engines");
    const auto found = std::find_if(engines.begin(), engines.end(),
                                    [&](const nlohmann::json& e) { return e.at("name") == engine; });
    ASSERT_NE(found, engines.end());
    EXPECT_TRUE(found->at("loaded").get<bool>()) << found->dump();
    EXPECT_FALSE(found->at("version").get<std::string>().empty());
    EXPECT_FALSE(found->at("formats").empty());
    EXPECT_FALSE(found->at("options").empty());
    EXPECT_TRUE(found->at("reentrant").is_boolean());
  }
}

TEST_F(CliTest, InfoReportsAPluginThatFailsToLoad) {
  const fs::path plugins = dir_ / "plugins";
  fs::create_directories(plugins);
  std::ofstream(plugins / "libpolyinfer_engine_broken.so") << "not a shared library\n";
  RunResult r = run({"info"}, {"POLYINFER_ENGINE_PATH=" + plugins.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(plugins.string()));
  EXPECT_THAT(r.out, HasSubstr("broken  NOT AVAILABLE"));
  for (const std::string& engine : test::builtEngines()) EXPECT_THAT(r.out, HasSubstr("  " + engine + " "));
  r = run({"info", "--json"}, {"POLYINFER_ENGINE_PATH=" + plugins.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("plugin_search_path")[0], plugins.string());
  bool found = false;
  for (const auto& e : j.at("engines")) {
    if (e.at("name") != "broken") continue;
    found = true;
    EXPECT_FALSE(e.at("loaded").get<bool>());
    EXPECT_FALSE(e.at("error").get<std::string>().empty());
  }
  EXPECT_TRUE(found) << r.out;
  // Using it is a failed run (Unavailable -> 1), with the loader's reason.
  std::ofstream(dir_ / "m.onnx") << "x";
  r = run({"predict", "-e", "broken", "-u", (dir_ / "m.onnx").string(), "-s", "1"},
          {"POLYINFER_ENGINE_PATH=" + plugins.string()});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("broken"));
}

TEST_F(CliTest, VersionAndHelp) {
  RunResult r = run({"--version"});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_THAT(r.out, HasSubstr(kVersion));
  r = run({"predict", "--help"});
  EXPECT_EQ(r.exitCode, 0);
  for (const char* text : {"--model", "--expect", "--atol", "0.0001", "--rtol", "0.001",
                           "--input-shapes", "--repeat", "--seed", "EXIT STATUS"})
    EXPECT_THAT(r.out, HasSubstr(text));
}

// ------------------------------------------------------ usage errors -> 2

TEST_F(CliTest, BadUsageExits2WithOneLine) {
  expectOneErrorLine(run({}), 2);
  expectOneErrorLine(run({"predict"}), 2);                          // --model missing
  expectOneErrorLine(run({"predict", "-u", "m.onnx", "--bogus"}), 2);  // unknown flag
  expectOneErrorLine(run({"frobnicate"}), 2);
  expectOneErrorLine(run({"predict", "-u", "m.onnx", "--atol", "-1"}), 2);
  expectOneErrorLine(run({"predict", "-u", "m.onnx", "-i", "a.npy", "-s", "1,2"}), 2);
}

TEST_F(CliTest, MissingModelExits2) {
  const std::string missing = (dir_ / "no_such_model.onnx").string();
  const RunResult r = run({"predict", "-u", missing});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr(missing));
}

TEST_F(CliTest, MissingInputFileExits2) {
  const RunResult r = run({"predict", "-u", "whatever.onnx", "-i", (dir_ / "nope.npy").string()});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("nope.npy"));
}

TEST_F(CliTest, BadShapeSyntaxExits2) {
  for (const char* shapes : {"(1,16", "(1,16)x", "1,a", "(1,16)f;(2)", ""}) {
    SCOPED_TRACE(shapes);
    const RunResult r = run({"predict", "-u", "whatever.onnx", "-s", shapes});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("-s"));
  }
}

TEST_F(CliTest, CorruptModelExits2) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const std::string name = test::modelFileFor(engine);
    const fs::path garbage = dir_ / ("garbage_" + name);
    std::ofstream(garbage) << "this is not a model\n";
    RunResult r = run({"predict", "-e", engine, "-u", garbage.string(), "-s", "(1,16)f"});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr(garbage.string()));

    // The first half of a real model: truncated.
    const std::string real = slurp(modelFor(engine, "mlp"));
    const fs::path truncated = dir_ / ("truncated_" + name);
    std::ofstream(truncated, std::ios::binary) << real.substr(0, real.size() / 2);
    r = run({"predict", "-e", engine, "-u", truncated.string(), "-s", "(1,16)f"});
    expectOneErrorLine(r, 2);
  }
}

TEST_F(CliTest, UnknownOptionKeyExits2ListingValidKeys) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const auto options = Registry::global().engine(engine).describe().options;
    ASSERT_FALSE(options.empty());
    const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-s",
                             "(1,16)f", "-O", "noSuchKey=1"});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("noSuchKey"));
    for (const OptionSpec& spec : options) EXPECT_THAT(r.err, HasSubstr(spec.key));
  }
}

TEST_F(CliTest, UnknownInputNameExits2) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const RunResult r =
        run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i",
             "nope=" + test::modelFile("mlp", "npy/x.npy").string()});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("'nope'"));
  }
}

// ------------------------------------------------------------ predict ok

TEST_F(CliTest, PredictMatchesReferenceOnEveryEngine) {
  for (const std::string& engine : test::builtEngines()) {
    for (const char* model : {"mlp", "multi_io", "dynamic_batch"}) {
      SCOPED_TRACE(engine + " " + model);
      const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, model), "-i",
                               dataSet(model), "--expect", dataSet(model)});
      EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
      EXPECT_EQ(r.err, "");
      EXPECT_THAT(r.out, HasSubstr("ok "));
      EXPECT_THAT(r.out, Not(HasSubstr("MISMATCH")));
    }
  }
}

TEST_F(CliTest, PredictWithNpyInputsByName) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    // Given in another order than the model's: names put them in place.
    const auto npy = [](const char* name) {
      return test::modelFile("multi_io", std::string("npy/") + name + ".npy").string();
    };
    const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "multi_io"),
                             "-i", "mask=" + npy("mask"), "-i", "x=" + npy("x"), "-i",
                             "idx=" + npy("idx"), "--expect", npy("scores"), "--expect",
                             npy("count")});
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  }
}

TEST_F(CliTest, RandomInputsFromDeclaredShapesOrDashS) {
  if (hasEngine("onnxruntime")) {
    // ONNX declares fixed shapes for mlp: no -i or -s needed.
    RunResult r = run({"predict", "-e", "onnxruntime", "-u", modelFor("onnxruntime", "mlp")});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("random"));
    // dynamic_batch has a dynamic batch dimension: -s is needed, and says so.
    r = run({"predict", "-e", "onnxruntime", "-u", modelFor("onnxruntime", "dynamic_batch")});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("-s"));
    r = run({"predict", "-e", "onnxruntime", "-u", modelFor("onnxruntime", "dynamic_batch"), "-s",
             "(5,3,8,8)f"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("float32[5,5]"));
  }
  if (hasEngine("torch")) {
    // TorchScript declares no shapes: without -s or -i the error says what to do.
    RunResult r = run({"predict", "-e", "torch", "-u", modelFor("torch", "mlp")});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("-s"));
    r = run({"predict", "-e", "torch", "-u", modelFor("torch", "multi_io"), "-s",
             "(2,4)f,(2,3)l,(2,4)B", "--int-range", "0,4"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("int64[2]"));
  }
}

TEST_F(CliTest, RandomInputsRepeatWithTheSeed) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    auto firstValues = [&](const char* seed) {
      const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-s",
                               "(1,16)f", "--seed", seed, "--json"});
      EXPECT_EQ(r.exitCode, 0) << r.err;
      return nlohmann::json::parse(r.out).at("outputs")[0].at("summary").at("first");
    };
    EXPECT_EQ(firstValues("7"), firstValues("7"));
    EXPECT_NE(firstValues("7"), firstValues("8"));
  }
}

TEST_F(CliTest, OutputDirWritesNpyThatReadsBackEqual) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const fs::path out = dir_ / ("out_" + engine);
    const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "multi_io"), "-i",
                             dataSet("multi_io"), "-o", out.string(), "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    const test::Reference reference = test::loadReference("multi_io");
    ASSERT_EQ(j.at("outputs").size(), reference.outputs.size());
    for (std::size_t k = 0; k < reference.outputs.size(); ++k) {
      const fs::path file = j.at("outputs")[k].at("file").get<std::string>();
      EXPECT_EQ(file.parent_path(), out);
      EXPECT_EQ(file.extension(), ".npy");
      const Tensor written = io::readNpy(file);
      test::expectAllClose(written, reference.outputs[k].tensor, 1e-5, 1e-5, file.string());
    }
  }
}

TEST_F(CliTest, RepeatPrintsTiming) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i",
                       dataSet("mlp"), "-n", "5"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("median"));
    EXPECT_THAT(r.out, HasSubstr("5 runs after 1 warm-up"));
    r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i", dataSet("mlp"), "-n",
             "4", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const nlohmann::json timing = nlohmann::json::parse(r.out).at("timing");
    EXPECT_EQ(timing.at("runs"), 4);
    EXPECT_EQ(timing.at("warm_up_runs"), 1);
    EXPECT_LE(timing.at("min_ms").get<double>(), timing.at("median_ms").get<double>());
    EXPECT_LE(timing.at("median_ms").get<double>(), timing.at("max_ms").get<double>());
  }
}

// --------------------------------------------------------- mismatch -> 1

TEST_F(CliTest, MismatchExits1NamingTheWorstElement) {
  // The reference output with [0,5] off by 0.5 and [0,2] off by 0.01.
  Tensor bad = io::readNpy(test::modelFile("mlp", "npy/y.npy")).clone();
  ASSERT_EQ(bad.shape(), (Shape{1, 8}));
  float* values = bad.mutableData<float>();
  const float expected5 = values[5] + 0.5f;
  values[5] = expected5;
  values[2] += 0.01f;
  const fs::path badFile = dir_ / "y_bad.npy";
  io::writeNpy(badFile, bad);

  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    const RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i",
                             dataSet("mlp"), "--expect", badFile.string()});
    expectOneErrorLine(r, 1);
    EXPECT_THAT(r.err, HasSubstr("2 of 8 elements differ"));
    EXPECT_THAT(r.err, HasSubstr("worst at [0,5]"));
    EXPECT_THAT(r.err, HasSubstr("expected " + sixDigits(expected5)));
    EXPECT_THAT(r.err, HasSubstr("abs diff 0.5"));
    EXPECT_THAT(r.out, HasSubstr("MISMATCH"));

    // Loose enough tolerances accept it.
    const RunResult loose = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i",
                                 dataSet("mlp"), "--expect", badFile.string(), "--atol", "0.6"});
    EXPECT_EQ(loose.exitCode, 0) << loose.err;
  }
}

TEST_F(CliTest, ShapeOrDtypeMismatchExits1) {
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    // mlp's output is float32[1,8]; multi_io's first output is float32[2,4].
    RunResult r = run({"predict", "-e", engine, "-u", modelFor(engine, "mlp"), "-i",
                       dataSet("mlp"), "--expect",
                       test::modelFile("multi_io", "npy/scores.npy").string()});
    expectOneErrorLine(r, 1);
    EXPECT_THAT(r.err, HasSubstr("expected float32[2,4], got float32[1,8]"));
    // multi_io's count is int64[2]; compare it with a float64 copy.
    const Tensor count = io::readNpy(test::modelFile("multi_io", "npy/count.npy"));
    std::vector<double> asDouble;
    for (int64_t v : count.toVector<int64_t>()) asDouble.push_back(static_cast<double>(v));
    const fs::path file = dir_ / "count_f64.npy";
    io::writeNpy(file, Tensor::fromVector<double>(count.shape(), asDouble));
    r = run({"predict", "-e", engine, "-u", modelFor(engine, "multi_io"), "-i",
             dataSet("multi_io"), "--expect", dataSet("multi_io") + "/output_0.pb", "--expect",
             file.string()});
    expectOneErrorLine(r, 1);
    EXPECT_THAT(r.err, HasSubstr("expected float64[2], got int64[2]"));
  }
}

// ------------------------------------------------------------------ bench

/// The JSON `bench --json FILE` wrote.
nlohmann::json readJsonFile(const fs::path& file) {
  return nlohmann::json::parse(slurp(file), nullptr, /*allow_exceptions=*/false);
}

TEST_F(CliTest, BenchRunsAndWritesTheDocumentedJson) {
  const fs::path json = dir_ / "bench.json";
  const RunResult r = run({"bench", "-u", modelFor("onnxruntime", "mlp"), "-c", "40", "-w", "2",
                           "-t", "2", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Not a terminal: a report, and no progress line.
  EXPECT_THAT(r.out, HasSubstr("throughput"));
  EXPECT_THAT(r.out, Not(HasSubstr("\r")));
  const nlohmann::json j = readJsonFile(json);
  ASSERT_TRUE(j.is_object()) << slurp(json);
  EXPECT_EQ(j["schema"], "polyinfer-bench/1");
  EXPECT_EQ(j["iterations"], 40);  // -c: exactly 40 timed calls over both threads
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["engine"]["name"], "onnxruntime");
  EXPECT_GT(j["throughput"].get<double>(), 0);
  for (const char* key : {"min", "mean", "p50", "p90", "p99", "p999", "max"})
    EXPECT_TRUE(j["latency_ms"][key].is_number()) << key;
  EXPECT_LE(j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>());
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_EQ(run0["stop_reason"], "iterations");
  EXPECT_EQ(run0["latency_ms"]["count"], 40);
  for (const char* key : {"base", "after_load", "peak"}) EXPECT_GT(run0["rss_mb"][key].get<double>(), 0) << key;
  EXPECT_TRUE(run0["cpu_util"].is_number());
  EXPECT_TRUE(run0["stable"].is_boolean());
  EXPECT_GT(run0["load_ms"].get<double>(), 0);
  EXPECT_GT(run0["first_inference_ms"].get<double>(), 0);
  // Thread settings are never forced: intra-op defaults to cores / workers, with its source.
  bool intraReported = false;
  for (const auto& entry : run0["config"])
    if (entry["key"] == "intraOpNumThreads") {
      intraReported = true;
      EXPECT_EQ(entry["source"], "default") << entry.dump();
    }
  EXPECT_TRUE(intraReported) << run0["config"].dump();
}

TEST_F(CliTest, BenchWithMoreThreadsThanCoresWorksAndSaysSo) {
  const int threads = ThreadBudget::detect().usableCores() + 1;
  const RunResult r = run({"bench", "-u", modelFor("onnxruntime", "mlp"), "-c", "30", "-w", "1",
                           "-t", std::to_string(threads)});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("oversubscribed"));
}

TEST_F(CliTest, BenchDurationAndOpenLoop) {
  const fs::path json = dir_ / "open.json";
  const RunResult r = run({"bench", "-u", modelFor("onnxruntime", "mlp"), "-d", "1s", "--rate",
                           "200", "--arrival", "constant", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");  // --quiet
  const nlohmann::json j = readJsonFile(json);
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_EQ(run0["mode"], "open");
  EXPECT_EQ(run0["stop_reason"], "duration");
  EXPECT_DOUBLE_EQ(run0["open_loop"]["offered_rate"].get<double>(), 200);
  EXPECT_GT(run0["open_loop"]["achieved_rate"].get<double>(), 0);
}

TEST_F(CliTest, BenchEnginesSideBySide) {
  if (!hasEngine("torch") || !hasEngine("onnxruntime")) GTEST_SKIP() << "needs torch and onnxruntime";
  const fs::path json = dir_ / "compare.json", csv = dir_ / "compare.csv", html = dir_ / "compare.html";
  const RunResult r = run({"bench", "-e", "onnxruntime,torch", "-u",
                           modelFor("onnxruntime", "mlp") + "," + modelFor("torch", "mlp"), "-s",
                           "1,16", "-c", "30", "-w", "2", "--json", json.string(), "--csv",
                           csv.string(), "--html", html.string()});
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_EQ(j["kind"], "compare");
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][0]["engine"]["name"], "onnxruntime");
  EXPECT_EQ(j["runs"][1]["engine"]["name"], "torch");
  // Identical inputs in both runs: the outputs agree (parity column).
  ASSERT_TRUE(j["runs"][1]["max_abs_diff_vs_first"].is_number()) << j["runs"][1].dump();
  EXPECT_LT(j["runs"][1]["max_abs_diff_vs_first"].get<double>(), 1e-5);
  EXPECT_TRUE(j["runs"][1]["vs_first"]["throughput_ratio"].is_number());
  // One CSV row per engine after the header.
  const std::string rows = slurp(csv);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 3) << rows;
  EXPECT_THAT(slurp(html), HasSubstr("<svg"));
}

TEST_F(CliTest, BenchSweepRunsEveryPoint) {
  const fs::path json = dir_ / "sweep.json";
  const RunResult r = run({"bench", "-u", modelFor("onnxruntime", "mlp"), "-c", "20", "-w", "1",
                           "--sweep", "threads=1,2", "intra=1", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_EQ(j["kind"], "sweep");
  ASSERT_EQ(j["runs"].size(), 2u);
  std::vector<std::string> threads;
  for (const auto& run0 : j["runs"]) {
    threads.push_back(run0["point"]["threads"]);
    EXPECT_EQ(run0["point"]["intra"], "1");
    EXPECT_EQ(std::to_string(run0["threads"].get<int>()), run0["point"]["threads"].get<std::string>());
  }
  std::sort(threads.begin(), threads.end());
  EXPECT_EQ(threads, (std::vector<std::string>{"1", "2"}));
}

TEST_F(CliTest, BenchBadUsageExits2WithOneLine) {
  const std::string mlp = modelFor("onnxruntime", "mlp");
  expectOneErrorLine(run({"bench", "-u", mlp, "-d", "5x"}), 2);
  expectOneErrorLine(run({"bench", "-u", mlp, "--max-p99", "5"}), 2);
  expectOneErrorLine(run({"bench", "-u", "https://example.com/model.onnx"}), 2);
  expectOneErrorLine(run({"bench", "-u", (dir_ / "missing.onnx").string()}), 2);
  expectOneErrorLine(run({"bench", "-u", mlp, "--sweep", "threads"}), 2);
  const RunResult r = run({"bench", "-u", mlp, "-O", "intraOpNumThreads=abc"});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("abc"));
}

TEST_F(CliTest, BenchProfilesAfterTheRunOrSaysTheEngineCannot) {
  const fs::path profileJson = dir_ / "profile.json";
  RunResult r = run({"bench", "-u", modelFor("onnxruntime", "mlp"), "-c", "20", "-w", "1",
                     "--profile", "3", "--profile-json", profileJson.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("profile: 3 runs with onnxruntime's profiler"));
  EXPECT_TRUE(fs::exists(profileJson));
  expectOneErrorLine(run({"bench", "-e", "onnxruntime,onnxruntime", "-u", modelFor("onnxruntime", "mlp"),
                          "--profile", "-c", "5"}),
                     2);
  if (!hasEngine("opencv")) return;
  // OpenCV cannot profile: the benchmark's results still stand, then exit 1 saying why.
  const fs::path json = dir_ / "cv.json";
  r = run({"bench", "-e", "opencv", "-u", test::modelFile("mlp", "model.onnx").string(), "-c", "5",
           "-w", "1", "--profile", "--json", json.string()});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot report per-operator times"));
  EXPECT_THAT(r.out, HasSubstr("throughput"));
  EXPECT_EQ(readJsonFile(json)["iterations"], 5);
}

}  // namespace
}  // namespace polyinfer
