// The polyinfer command-line tool's info and predict, run as a separate
// process (tests/support/cli_fixture.hpp); bench is in test_cli_bench.cpp.
// Tests that concern engines run on every engine the registry finds
// (CliEngineTest), each with the generated file it reads (test::modelFor); a
// case an engine cannot run is skipped with its reason. No engine, format or
// extension is named here.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using namespace clitest;
using ::testing::HasSubstr;
using ::testing::Not;

// ------------------------------------------------------------------ info

TEST_F(CliTest, InfoListsVersionEnginesFormatsAndThreads) {
  const RunResult r = run({"info"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr(std::string("polyinfer ") + kVersion));
  EXPECT_THAT(r.out, HasSubstr("plugin search path"));
  EXPECT_THAT(r.out, HasSubstr("usable cores"));
  EXPECT_THAT(r.out, HasSubstr("1 worker"));
  for (const PluginStatus& plugin : Registry::global().plugins()) {
    EXPECT_THAT(r.out, HasSubstr("  " + plugin.name + " "));
    for (const ModelFormat& format : plugin.formats) EXPECT_THAT(r.out, HasSubstr(format.describe()));
  }
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
  for (const PluginStatus& plugin : Registry::global().plugins()) {
    SCOPED_TRACE(plugin.name);
    const auto& engines = j.at("engines");
    const auto found = std::find_if(engines.begin(), engines.end(),
                                    [&](const nlohmann::json& e) { return e.at("name") == plugin.name; });
    ASSERT_NE(found, engines.end());
    // info starts each engine to describe it.
    EXPECT_TRUE(found->at("loaded").get<bool>()) << found->dump();
    EXPECT_FALSE(found->at("version").get<std::string>().empty());
    std::vector<std::string> formats;
    for (const ModelFormat& format : plugin.formats) formats.push_back(format.describe());
    EXPECT_FALSE(formats.empty());
    EXPECT_EQ(found->at("formats").get<std::vector<std::string>>(), formats);
    EXPECT_FALSE(found->at("options").empty());
    EXPECT_TRUE(found->at("reentrant").is_boolean());
  }
}

TEST_F(CliTest, InfoReportsAPluginThatFailsToLoad) {
  const fs::path plugins = dir_ / "plugins";
  fs::create_directories(plugins);
  std::ofstream(plugins / "libpolyinfer_engine_broken.so") << "not a shared library\n";
  std::ofstream(plugins / "libpolyinfer_engine_broken.json")
      << R"({"engine": "broken", "formats": [{"name": "Broken", "suffixes": [".broken"]}]})";
  RunResult r = run({"info"}, {"POLYINFER_ENGINE_PATH=" + plugins.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(plugins.string()));
  EXPECT_THAT(r.out, HasSubstr("broken  NOT AVAILABLE"));
  EXPECT_THAT(r.out, HasSubstr("Broken (.broken)"));  // its manifest's formats are still listed
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
  std::ofstream(dir_ / "m.broken") << "x";
  r = run({"predict", "-e", "broken", "-u", (dir_ / "m.broken").string(), "-s", "1"},
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
  for (const char* text : {"--model", "--expect", "--atol", "0.0001", "--rtol", "0.001", "--input-shapes",
                           "--repeat", "--seed", "--intra-op-threads", "--inter-op-threads", "EXIT STATUS"})
    EXPECT_THAT(r.out, HasSubstr(text));
}

// ------------------------------------------------------ usage errors -> 2

TEST_F(CliTest, BadUsageExits2WithOneLine) {
  expectOneErrorLine(run({}), 2);
  expectOneErrorLine(run({"predict"}), 2);                          // --model missing
  expectOneErrorLine(run({"predict", "-u", "model", "--bogus"}), 2);  // unknown flag
  expectOneErrorLine(run({"frobnicate"}), 2);
  expectOneErrorLine(run({"predict", "-u", "model", "--atol", "-1"}), 2);
  expectOneErrorLine(run({"predict", "-u", "model", "-i", "a.npy", "-s", "1,2"}), 2);
  for (const char* flag : {"--intra-op-threads", "--inter-op-threads"}) {
    const RunResult r = run({"predict", "-u", "model", flag, "abc"});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("abc"));
  }
}

TEST_F(CliTest, MissingModelExits2) {
  const std::string missing = (dir_ / "no_such_model").string();
  const RunResult r = run({"predict", "-u", missing});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr(missing));
}

TEST_F(CliTest, MissingInputFileExits2) {
  const RunResult r = run({"predict", "-u", "whatever", "-i", (dir_ / "nope.npy").string()});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("nope.npy"));
}

TEST_F(CliTest, BadShapeSyntaxExits2) {
  for (const char* shapes : {"(1,16", "(1,16)x", "1,a", "(1,16)f;(2)", ""}) {
    SCOPED_TRACE(shapes);
    const RunResult r = run({"predict", "-u", "whatever", "-s", shapes});
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("-s"));
  }
  // Sizes are checked when parsed, before anything is allocated.
  const RunResult huge = run({"predict", "-u", "whatever", "-s", "(99999999999,99999999999)"});
  expectErrorCode(huge, 2, "InvalidArgument");
  EXPECT_THAT(huge.err, HasSubstr("16 GiB"));
}

TEST_P(CliEngineTest, CorruptModelExits2) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  // Named like the engine's own file, so that it is taken for its format.
  const std::string name = fs::path(mlp).filename().string();
  const fs::path garbage = dir_ / ("garbage_" + name);
  std::ofstream(garbage) << "this is not a model\n";
  RunResult r = run({"predict", "-e", engine, "-u", garbage.string(), "-s", "(1,16)f"});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr(garbage.string()));

  // The first half of a real model: truncated.
  const std::string real = slurp(mlp);
  const fs::path truncated = dir_ / ("truncated_" + name);
  std::ofstream(truncated, std::ios::binary) << real.substr(0, real.size() / 2);
  r = run({"predict", "-e", engine, "-u", truncated.string(), "-s", "(1,16)f"});
  expectOneErrorLine(r, 2);
}

TEST_P(CliEngineTest, UnknownOptionKeyExits2ListingValidKeys) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const auto options = Registry::global().describe(engine).options;
  ASSERT_FALSE(options.empty());
  const RunResult r = run({"predict", "-e", engine, "-u", mlp, "-s", "(1,16)f", "-O", "noSuchKey=1"});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("noSuchKey"));
  for (const OptionSpec& spec : options) EXPECT_THAT(r.err, HasSubstr(spec.key));
}

TEST_P(CliEngineTest, UnknownInputNameExits2) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const RunResult r = run({"predict", "-e", engine, "-u", mlp, "-i",
                           "nope=" + test::modelFile("mlp", "npy/x.npy").string()});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("'nope'"));
}

// ------------------------------------------------------------ predict ok

TEST_P(CliEngineTest, PredictMatchesReference) {
  const std::string& engine = GetParam();
  std::string cannot;  // the models this engine cannot run, and why
  for (const char* model : {"mlp", "dynamic_batch", "multi_io"}) {
    SCOPED_TRACE(model);
    const test::EngineModelFile file = test::modelFor(model, engine);
    if (!file) {
      cannot += (cannot.empty() ? "" : "; ") + file.whyNone;
      continue;
    }
    const RunResult r = run({"predict", "-e", engine, "-u", file.file.string(), "-i", dataSet(model),
                             "--expect", dataSet(model)});
    EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("ok "));
    EXPECT_THAT(r.out, Not(HasSubstr("MISMATCH")));
  }
  if (!cannot.empty()) GTEST_SKIP() << "the other models passed; " << cannot;
}

TEST_P(CliEngineTest, PredictWithNpyInputsByName) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(multiIo, "multi_io");
  // Given in another order than the model's: names put them in place.
  const auto npy = [](const char* name) {
    return test::modelFile("multi_io", std::string("npy/") + name + ".npy").string();
  };
  const RunResult r = run({"predict", "-e", engine, "-u", multiIo, "-i", "mask=" + npy("mask"), "-i",
                           "x=" + npy("x"), "-i", "idx=" + npy("idx"), "--expect", npy("scores"),
                           "--expect", npy("count")});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
}

// Without -i or -s the model's declared shapes are used: where it declares
// none (or a dynamic dimension) the error says to give -s.
TEST_P(CliEngineTest, RandomInputsFromDeclaredShapesOrDashS) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const auto declaresAllShapes = [&](const std::string& file) {
    const auto model = Model::load({.modelPath = file, .engine = engine});
    for (const TensorInfo& input : model->inputs()) {
      if (input.dtype == DataType::Undefined || !input.rankKnown) return false;
      if (std::any_of(input.shape.begin(), input.shape.end(), [](int64_t d) { return d < 0; })) return false;
    }
    return true;
  };
  RunResult r = run({"predict", "-e", engine, "-u", mlp});
  if (declaresAllShapes(mlp)) {
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("random"));
  } else {
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("-s"));
  }
  MODEL_OR_SKIP(dynamicBatch, "dynamic_batch");
  r = run({"predict", "-e", engine, "-u", dynamicBatch});  // a dynamic batch dimension at best
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("-s"));
  r = run({"predict", "-e", engine, "-u", dynamicBatch, "-s", "(5,3,8,8)f"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("float32[5,5]"));
  MODEL_OR_SKIP(multiIo, "multi_io");
  r = run({"predict", "-e", engine, "-u", multiIo, "-s", "(2,4)f,(2,3)l,(2,4)B", "--int-range", "0,4"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("int64[2]"));
}

TEST_P(CliEngineTest, RandomInputsRepeatWithTheSeed) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  auto firstValues = [&](const char* seed) {
    const RunResult r = run({"predict", "-e", engine, "-u", mlp, "-s", "(1,16)f", "--seed", seed, "--json"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return nlohmann::json::parse(r.out).at("outputs")[0].at("summary").at("first");
  };
  EXPECT_EQ(firstValues("7"), firstValues("7"));
  EXPECT_NE(firstValues("7"), firstValues("8"));
}

TEST_P(CliEngineTest, ThreadCountsGoThroughCriteria) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const RunResult r = run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "--expect",
                           dataSet("mlp"), "--intra-op-threads", "1", "--inter-op-threads", "1"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Criteria::intraOpThreads"));
}

TEST_P(CliEngineTest, OutputDirWritesNpyThatReadsBackEqual) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(multiIo, "multi_io");
  const fs::path out = dir_ / "out";
  const RunResult r = run({"predict", "-e", engine, "-u", multiIo, "-i", dataSet("multi_io"), "-o",
                           out.string(), "--json"});
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

TEST_P(CliEngineTest, RepeatPrintsTiming) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  RunResult r = run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-n", "5"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("median"));
  EXPECT_THAT(r.out, HasSubstr("5 runs after 1 warm-up"));
  r = run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-n", "4", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json timing = nlohmann::json::parse(r.out).at("timing");
  EXPECT_EQ(timing.at("runs"), 4);
  EXPECT_EQ(timing.at("warm_up_runs"), 1);
  EXPECT_LE(timing.at("min_ms").get<double>(), timing.at("median_ms").get<double>());
  EXPECT_LE(timing.at("median_ms").get<double>(), timing.at("max_ms").get<double>());
}

// --------------------------------------------------------- mismatch -> 1

TEST_P(CliEngineTest, MismatchExits1NamingTheWorstElement) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  // The reference output with [0,5] off by 0.5 and [0,2] off by 0.01.
  Tensor bad = io::readNpy(test::modelFile("mlp", "npy/y.npy")).clone();
  ASSERT_EQ(bad.shape(), (Shape{1, 8}));
  float* values = bad.mutableData<float>();
  const float expected5 = values[5] + 0.5f;
  values[5] = expected5;
  values[2] += 0.01f;
  const fs::path badFile = dir_ / "y_bad.npy";
  io::writeNpy(badFile, bad);

  const RunResult r =
      run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "--expect", badFile.string()});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("2 of 8 elements differ"));
  EXPECT_THAT(r.err, HasSubstr("worst at [0,5]"));
  EXPECT_THAT(r.err, HasSubstr("expected " + sixDigits(expected5)));
  EXPECT_THAT(r.err, HasSubstr("abs diff 0.5"));
  EXPECT_THAT(r.out, HasSubstr("MISMATCH"));

  // Loose enough tolerances accept it.
  const RunResult loose = run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "--expect",
                               badFile.string(), "--atol", "0.6"});
  EXPECT_EQ(loose.exitCode, 0) << loose.err;
}

TEST_P(CliEngineTest, ShapeOrDtypeMismatchExits1) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  // mlp's output is float32[1,8]; multi_io's first output is float32[2,4].
  RunResult r = run({"predict", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "--expect",
                     test::modelFile("multi_io", "npy/scores.npy").string()});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("expected float32[2,4], got float32[1,8]"));
  // multi_io's count is int64[2]; compare it with a float64 copy.
  MODEL_OR_SKIP(multiIo, "multi_io");
  const Tensor count = io::readNpy(test::modelFile("multi_io", "npy/count.npy"));
  std::vector<double> asDouble;
  for (int64_t v : count.toVector<int64_t>()) asDouble.push_back(static_cast<double>(v));
  const fs::path file = dir_ / "count_f64.npy";
  io::writeNpy(file, Tensor::fromVector<double>(count.shape(), asDouble));
  r = run({"predict", "-e", engine, "-u", multiIo, "-i", dataSet("multi_io"), "--expect",
           dataSet("multi_io") + "/output_0.pb", "--expect", file.string()});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("expected float64[2], got int64[2]"));
}

INSTANTIATE_TEST_SUITE_P(Engines, CliEngineTest, ::testing::ValuesIn(test::builtEngines()),
                         [](const auto& info) { return test::testName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CliEngineTest);

}  // namespace
}  // namespace polyinfer
