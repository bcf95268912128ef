// The MXNet engine plugin through the public API: inputs derived from the
// symbol and its params, parity with MXNet's own outputs
// (tools/gen_mx_models.py), dtypes, shapes that change between calls, options
// and MXNet's process-wide engine type, and bad input that leaves the process
// and the predictor working.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cli_fixture.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_MXNET

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngine = "mxnet";
constexpr const char* kSymbol = "model-symbol.json";
constexpr const char* kParams = "model-0000.params";

using test::expectError;

/// The symbol file of generated model `name`; skips the test when the
/// generator did not run.
fs::path symbolFile(const std::string& name) { return test::modelFile(name, kSymbol); }

std::shared_ptr<Model> loadMx(const fs::path& path, Options options = {}, int workers = 1) {
  return Model::load(Criteria{.modelPath = path,
                              .engine = kEngine,
                              .options = std::move(options),
                              .workers = workers});
}

using test::expectMatchesReference;


using test::fileBytes;
using test::named;
using test::writeFile;

/// An MXNet NDArray list file with no arrays (what mx.nd.save writes for {}):
/// magic 0x112, a reserved word, no arrays, no names.
std::string emptyParams() {
  std::string bytes(32, '\0');
  bytes[0] = 0x12;
  bytes[1] = 0x01;
  return bytes;
}

/// A symbol with one input x of no declared dtype or shape, copied to the
/// output: the call's dtype decides.
constexpr const char* kCopySymbol = R"({
  "nodes": [
    {"op": "null", "name": "x", "inputs": []},
    {"op": "_copy", "name": "y", "inputs": [[0, 0, 0]]}
  ],
  "arg_nodes": [0],
  "node_row_ptr": [0, 1, 2],
  "heads": [[1, 0, 0]],
  "attrs": {"mxnet_version": ["int", 10901]}
})";

class MxEngineTest : public ::testing::Test {
 protected:
  /// PREFIX-symbol.json and PREFIX-0000.params with these bytes, in dir_.
  fs::path modelWith(const std::string& prefix, const std::string& symbol, const std::string& params) {
    const fs::path file = dir_ / (prefix + "-symbol.json");
    writeFile(file, symbol);
    writeFile(dir_ / (prefix + "-0000.params"), params);
    return file;
  }
  test::ScratchDir scratch_{"mx"};
  const fs::path dir_ = scratch_.path;
};

// ------------------------------------------------------------ description

TEST(MxEngine, DescribeSaysNotReentrantAndListsTheFormatAndOptions) {
  const EngineDescription d = Registry::global().describe(kEngine);
  EXPECT_EQ(d.name, kEngine);
  EXPECT_EQ(d.version, "1.9.1");
  EXPECT_FALSE(d.reentrant);
  ASSERT_EQ(d.formats.size(), 1u);
  EXPECT_EQ(d.formats[0].name, "MXNet symbol");
  std::vector<std::string> keys;
  for (const OptionSpec& option : d.options) keys.push_back(option.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"intraOpNumThreads", "engineType", "inputShapes",
                                            "precision"}));
}

TEST(MxEngine, TheSymbolItsParamsOrTheirDirectoryResolveToMxnet) {
  const fs::path symbol = symbolFile("mx_mlp");
  for (const fs::path& path : {symbol, symbol.parent_path() / kParams}) {
    SCOPED_TRACE(path.string());
    auto model = Model::load(Criteria{.modelPath = path});
    EXPECT_EQ(model->engineName(), kEngine);
  }
  // The directory also holds the ONNX twin: with the engine named, its
  // symbol and params are the model (as DJL's MXNet engine reads a directory).
  EXPECT_EQ(loadMx(symbol.parent_path())->engineName(), kEngine);
}

// ------------------------------------------------------------ signature and parity

TEST(MxEngine, InputsAreTheArgumentsTheParamsFileDoesNotHold) {
  auto model = loadMx(symbolFile("mx_multi_io"));
  EXPECT_EQ(test::names(model->inputs()), (std::vector<std::string>{"a", "b"}));  // not "w"
  for (const TensorInfo& input : model->inputs()) EXPECT_EQ(input.dtype, DataType::Float32);
  const test::Reference ref = test::loadReference("mx_multi_io");
  std::vector<std::string> expected;
  for (const NamedTensor& output : ref.outputs) expected.push_back(output.name);
  EXPECT_EQ(test::names(model->outputs()), expected);
}

TEST(MxEngine, Resnet18ReproducesMxnetsOutputs) {
  auto model = loadMx(symbolFile("mx_resnet18"));
  const test::Reference ref = test::loadReference("mx_resnet18");
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict(ref.inputs);
  expectMatchesReference("mx_resnet18", outputs, 1e-4, 1e-3);
}

TEST(MxEngine, MultipleInputsAndOutputsReproduceMxnetsOutputs) {
  auto model = loadMx(symbolFile("mx_multi_io"));
  Predictor predictor = model->newPredictor();
  expectMatchesReference("mx_multi_io", predictor.predict(test::loadReference("mx_multi_io").inputs),
                         1e-6, 1e-6);
}

TEST(MxEngine, EveryDtypeMxnetTakesCrossesTheBoundaryExactly) {
  auto model = loadMx(symbolFile("mx_dtypes"));
  const test::Reference ref = test::loadReference("mx_dtypes");
  ASSERT_EQ(model->inputs().size(), ref.inputs.size());
  for (std::size_t i = 0; i < ref.inputs.size(); ++i)
    EXPECT_EQ(model->inputs()[i].dtype, ref.inputs[i].tensor.dtype()) << model->inputs()[i].name;
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict(ref.inputs);
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    test::expectIdentical(outputs[i].tensor, ref.outputs[i].tensor, outputs[i].name);
}

TEST(MxEngine, ABatchSizeThatChangesBetweenCallsIsRebound) {
  auto model = loadMx(symbolFile("mx_mlp"));
  const test::Reference ref = test::loadReference("mx_mlp");
  Predictor predictor = model->newPredictor();
  expectMatchesReference("mx_mlp", predictor.predict(ref.inputs), 1e-6, 1e-5);
  // The reference batch twice over: both halves give the reference rows.
  const Tensor& x = ref.inputs[0].tensor;
  Tensor doubled = Tensor::allocate(x.dtype(), {x.shape()[0] * 2, x.shape()[1]});
  std::memcpy(doubled.mutableRawData(), x.rawData(), x.byteSize());
  std::memcpy(static_cast<char*>(doubled.mutableRawData()) + x.byteSize(), x.rawData(), x.byteSize());
  Tensors inputs;
  inputs.add(ref.inputs[0].name, doubled);
  const Tensor out = predictor.predict(inputs)[0].tensor;
  const Tensor& expected = ref.outputs[0].tensor;
  ASSERT_EQ(out.shape(), (Shape{expected.shape()[0] * 2, expected.shape()[1]}));
  const auto* values = out.data<float>();
  const auto* want = expected.data<float>();
  for (int64_t k = 0; k < out.elementCount(); ++k)
    EXPECT_NEAR(values[k], want[k % expected.elementCount()], 1e-5) << k;
  expectMatchesReference("mx_mlp", predictor.predict(ref.inputs), 1e-6, 1e-5);
}

TEST(MxEngine, OutputsOutliveThePredictorAndTheModel) {
  Tensors outputs;
  {
    auto model = loadMx(symbolFile("mx_multi_io"));
    outputs = model->newPredictor().predict(test::loadReference("mx_multi_io").inputs);
  }
  expectMatchesReference("mx_multi_io", outputs, 1e-6, 1e-6);
}

TEST(MxEngine, RunningOnMoreThreadsThanWorkersWarnsOnce) {
  auto model = loadMx(symbolFile("mx_mlp"), {}, 1);
  const Tensors inputs = test::loadReference("mx_mlp").inputs;
  auto onNewThread = [&] {
    std::thread([&] { model->newPredictor().predict(inputs); }).join();
  };
  testing::internal::CaptureStderr();
  onNewThread();
  onNewThread();  // workers + 1: still quiet
  const std::string quiet = testing::internal::GetCapturedStderr();
  EXPECT_EQ(quiet, "");
  testing::internal::CaptureStderr();
  onNewThread();
  onNewThread();
  const std::string warned = testing::internal::GetCapturedStderr();
  EXPECT_NE(warned.find("warning: mxnet"), std::string::npos) << warned;
  EXPECT_NE(warned.find("3 different threads"), std::string::npos) << warned;
  EXPECT_NE(warned.find("fixed pool"), std::string::npos) << warned;
  EXPECT_EQ(warned.find("warning", warned.find("warning") + 1), std::string::npos)
      << "warned more than once: " << warned;
}

// ------------------------------------------------------------ options

TEST(MxEngine, InputShapesDeclaresShapesAndIsCheckedAgainstTheParams) {
  const fs::path symbol = symbolFile("mx_mlp");
  auto model = loadMx(symbol, {{"inputShapes", "data=2x16"}});
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_TRUE(model->inputs()[0].rankKnown);
  EXPECT_EQ(model->inputs()[0].shape, (Shape{2, 16}));
  EXPECT_EQ(model->outputs()[0].shape, (Shape{2, 8}));
  // A bare shape for the one input, with commas.
  EXPECT_EQ(loadMx(symbol, {{"inputShapes", "(2,16)"}})->inputs()[0].shape, (Shape{2, 16}));
  // 15 features do not fit the first layer's 16-wide weight.
  expectError([&] { loadMx(symbol, {{"inputShapes", "data=2x15"}}); }, ErrorCode::InvalidArgument,
              {"inputShapes", "does not match"});
  expectError([&] { loadMx(symbol, {{"inputShapes", "nope=2x16"}}); }, ErrorCode::InvalidArgument,
              {"no input 'nope'", "data"});
  expectError([&] { loadMx(symbolFile("mx_multi_io"), {{"inputShapes", "2x4"}}); },
              ErrorCode::InvalidArgument, {"bare shape", "a, b"});
  expectError([&] { loadMx(symbol, {{"inputShapes", "data=2x0"}}); }, ErrorCode::InvalidArgument,
              {"dimension 0"});
}

TEST(MxEngine, ConfigReportsThreadsEngineTypeAndLibrary) {
  auto model = loadMx(symbolFile("mx_mlp"), {{"intraOpNumThreads", "1"}}, 2);
  const ConfigEntry* threads = test::configEntry(*model, "intraOpNumThreads");
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->value, "1");
  EXPECT_EQ(threads->source, ValueSource::Explicit);
  const ConfigEntry* engineType = test::configEntry(*model, "engineType");
  ASSERT_NE(engineType, nullptr);
  EXPECT_EQ(engineType->value, "NaiveEngine");
  ASSERT_NE(test::configEntry(*model, "library"), nullptr);
  EXPECT_NE(test::configEntry(*model, "library")->detail.find("1.9.1"), std::string::npos);
}

TEST(MxEngine, AnotherEngineTypeAfterMxnetStartedIsReportedNotApplied) {
  loadMx(symbolFile("mx_mlp"));  // MXNet's engine runs from here on
  auto model = loadMx(symbolFile("mx_mlp"), {{"engineType", "ThreadedEnginePerDevice"}});
  const ConfigEntry* engineType = test::configEntry(*model, "engineType");
  ASSERT_NE(engineType, nullptr);
  EXPECT_EQ(engineType->value, "NaiveEngine");
  EXPECT_EQ(engineType->source, ValueSource::Engine);
  EXPECT_NE(engineType->detail.find("ThreadedEnginePerDevice"), std::string::npos) << engineType->detail;
  // And it still runs.
  expectMatchesReference("mx_mlp", model->newPredictor().predict(test::loadReference("mx_mlp").inputs),
                         1e-6, 1e-5);
  expectError([&] { loadMx(symbolFile("mx_mlp"), {{"engineType", "Turbo"}}); },
              ErrorCode::InvalidArgument, {"engineType", "NaiveEngine"});
}

TEST(MxEngine, Fp16AndBf16AreUnsupported) {
  for (const char* precision : {"fp16", "bf16"}) {
    SCOPED_TRACE(precision);
    expectError([&] { loadMx(symbolFile("mx_mlp"), {{"precision", precision}}); },
                ErrorCode::Unsupported, {precision});
  }
}

TEST(MxEngine, DeviceOtherThanCpuIsUnsupported) {
  expectError([&] { Model::load(Criteria{.modelPath = symbolFile("mx_mlp"), .engine = kEngine,
                                         .device = "gpu0"}); },
              ErrorCode::Unsupported, {"gpu0"});
}

// ------------------------------------------------------------ dtypes

TEST_F(MxEngineTest, AnUndeclaredInputTakesTheCallsDtypeAndRefusesOthersByName) {
  const fs::path symbol = modelWith("copy", kCopySymbol, emptyParams());
  auto model = loadMx(symbol);
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].dtype, DataType::Undefined);
  Predictor predictor = model->newPredictor();
  const Tensor f64 = Tensor::fromVector<double>({3}, {1.5, -2.25, 3.0});
  test::expectIdentical(predictor.predict(named("x", f64))[0].tensor, f64, "float64");
  const Tensor i64 = Tensor::fromVector<int64_t>({2}, {1LL << 40, -7});
  test::expectIdentical(predictor.predict(named("x", i64))[0].tensor, i64, "int64");
  for (DataType dtype : {DataType::Bool, DataType::Int16, DataType::UInt64, DataType::BFloat16}) {
    SCOPED_TRACE(std::string(toString(dtype)));
    expectError([&] { predictor.predict(named("x", Tensor::allocate(dtype, {2}))); },
                ErrorCode::Unsupported, {std::string(toString(dtype)), "MXNet"});
  }
  expectError([&] { predictor.predict(named("x", Tensor::allocate(DataType::Float32, {2, 0}))); },
              ErrorCode::Unsupported, {"dimension of 0"});
  test::expectIdentical(predictor.predict(named("x", f64))[0].tensor, f64, "after errors");
}

// ------------------------------------------------------------ bad input

TEST_F(MxEngineTest, CorruptTruncatedOrMismatchedFilesAreInvalidArgument) {
  const std::string symbol = fileBytes(symbolFile("mx_mlp"));
  const std::string params = fileBytes(symbolFile("mx_mlp").parent_path() / kParams);
  const std::string otherParams = fileBytes(symbolFile("mx_resnet18").parent_path() / kParams);
  ASSERT_GT(params.size(), 100u);
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  struct Case {
    std::string name, symbol, params;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"truncated_symbol", symbol.substr(0, symbol.size() / 2), params, {"not an MXNet symbol"}},
      {"garbage_symbol", garbage, params, {"not an MXNet symbol"}},
      {"empty_symbol", "", params, {"empty"}},
      {"truncated_params", symbol, params.substr(0, params.size() / 2), {"truncated"}},
      {"garbage_params", symbol, garbage, {"not an MXNet parameter file"}},
      {"empty_params", symbol, "", {"not an MXNet parameter file"}},
      {"params_of_another_model", symbol, otherParams, {"does not match"}},
      {"params_without_the_weights", symbol, emptyParams(), {"lacks", "parameter"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = modelWith(c.name, c.symbol, c.params);
    std::vector<std::string> parts = c.parts;
    parts.push_back(c.name);
    expectError([&] { loadMx(file); }, ErrorCode::InvalidArgument, parts);
  }
  // The symbol alone: its params file is required.
  const fs::path alone = dir_ / "alone-symbol.json";
  writeFile(alone, symbol);
  try {
    loadMx(alone);
    ADD_FAILURE() << "a symbol without params loaded";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::NotFound || e.code() == ErrorCode::InvalidArgument)
        << toString(e.code()) << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("params"), std::string::npos) << e.what();
  }
  // The engine still works.
  auto model = loadMx(symbolFile("mx_mlp"));
  expectMatchesReference("mx_mlp", model->newPredictor().predict(test::loadReference("mx_mlp").inputs),
                         1e-6, 1e-5);
}

TEST(MxEngine, BadInputsAreErrorsAndTheNextCallWorks) {
  auto model = loadMx(symbolFile("mx_multi_io"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("mx_multi_io");
  auto with = [&](const std::string& name, Tensor tensor) {
    Tensors inputs;
    for (const NamedTensor& item : ref.inputs)
      inputs.add(item.name, item.name == name ? tensor : item.tensor);
    return inputs;
  };
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"wrong dtype", [&] { predictor.predict(with("a", Tensor::allocate(DataType::Float64, {2, 4}))); }},
      {"shapes that do not broadcast",
       [&] { predictor.predict(with("a", Tensor::allocate(DataType::Float32, {2, 5}))); }},
      {"missing input",
       [&] {
         Tensors inputs;
         inputs.add("a", ref.inputs.at("a"));
         predictor.predict(inputs);
       }},
      {"unknown name",
       [&] {
         Tensors inputs;
         for (const NamedTensor& item : ref.inputs) inputs.add(item.name == "a" ? "z" : item.name, item.tensor);
         predictor.predict(inputs);
       }},
  };
  test::expectEachRefused(cases, {ErrorCode::InvalidArgument, ErrorCode::NotFound}, [&] {
    expectMatchesReference("mx_multi_io", predictor.predict(ref.inputs), 1e-6, 1e-6);
  });
}

// ------------------------------------------------------------ the command line

using MxCli = clitest::CliTest;

TEST_F(MxCli, PredictMatchesMxnetsOutputsWithNothingOnStderr) {
  const std::string data = dataSet("mx_multi_io");
  const clitest::RunResult r =
      run({"predict", "-u", symbolFile("mx_multi_io").string(), "-i", data, "--expect", data,
           "--atol", "1e-6", "--rtol", "1e-6"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");  // MXNet's "start using engine" and subgraph lines are filtered
  EXPECT_NE(r.out.find("engine:  mxnet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("engineType = NaiveEngine  (default"), std::string::npos) << r.out;
}

TEST_F(MxCli, AnEngineTypeFromTheEnvironmentWinsAndIsReported) {
  const std::string data = dataSet("mx_mlp");
  const clitest::RunResult r =
      run({"predict", "-u", symbolFile("mx_mlp").string(), "-i", data, "--expect", data, "--atol",
           "1e-6", "--rtol", "1e-5"},
          {"MXNET_ENGINE_TYPE=ThreadedEnginePerDevice"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("engineType = ThreadedEnginePerDevice  (env"), std::string::npos) << r.out;
}

TEST_F(MxCli, BadInputExits2WithOneErrorLine) {
  const std::string model = symbolFile("mx_mlp").string();
  writeFile(dir_ / "bad-symbol.json", "{ not json");
  writeFile(dir_ / "bad-0000.params", emptyParams());
  const std::vector<std::vector<std::string>> cases = {
      {"predict", "-u", model, "-O", "engineType=Turbo"},
      {"predict", "-u", model, "-O", "intraOpNumThreads=0"},
      {"predict", "-u", model, "-O", "inputShapes=data=2x15"},
      {"predict", "-u", model, "-s", "(2,16)l"},
      {"predict", "-u", (dir_ / "bad-symbol.json").string()},
  };
  for (const std::vector<std::string>& args : cases) {
    SCOPED_TRACE(args.back());
    expectOneErrorLine(run(args), 2);
  }
  expectOneErrorLine(run({"predict", "-u", model, "-s", "2,16"}, {"MXNET_ENGINE_TYPE=Turbo"}), 2);
}

}  // namespace
}  // namespace polyinfer

#else

TEST(MxEngine, NotBuilt) { GTEST_SKIP() << "built without the MXNet engine"; }

#endif
