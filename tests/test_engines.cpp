// Every engine the registry finds, against PyTorch's reference outputs and
// each other, and the contracts every engine keeps: bad input is an Error
// with the right code and a message naming expected and actual, after which
// the same predictor works; bad model files and options are refused. No
// engine, format or file extension is named here: the registry says which
// engines there are and test::modelFor which generated file each reads; a
// case an engine cannot run is skipped with the engine's reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

namespace {

using test::errorOf;

const std::vector<std::string> kModels{"mlp", "multi_io", "dynamic_batch", "resnet18", "mobilenet_v2"};

// Tolerances: fp32 kernels differ in summation order between PyTorch's eager
// run and the engines; resnet18's 1000 logits of std ~3.6 differ by up to
// ~5e-6 here.
constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-3;

using Case = test::EngineModelCase;

std::vector<Case> allCases() { return test::engineModelCases(kModels); }

/// Two engines and a model both are to run.
struct PairCase {
  std::string first;
  std::string second;
  std::string model;
};

void PrintTo(const PairCase& c, std::ostream* os) { *os << c.first << "+" << c.second << "/" << c.model; }

std::vector<PairCase> allPairs() {
  const std::vector<std::string> engines = test::builtEngines();
  std::vector<PairCase> pairs;
  for (std::size_t a = 0; a < engines.size(); ++a)
    for (std::size_t b = a + 1; b < engines.size(); ++b)
      for (const std::string& model : kModels)
        if (model != "dynamic_batch") pairs.push_back({engines[a], engines[b], model});
  return pairs;
}

std::shared_ptr<Model> load(const test::EngineModelFile& file, const std::string& engine) {
  return Model::load(Criteria{.modelPath = file.file, .engine = engine});
}

Tensors positionalInputs(const test::Reference& ref) {
  Tensors inputs;
  for (const NamedTensor& input : ref.inputs) inputs.add(input.tensor);
  return inputs;
}

void expectMessageHas(const Error& e, const std::string& part) {
  EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << part;
}

using test::ScratchDir;

class ParityTest : public ::testing::TestWithParam<Case> {};
class EnginesAgree : public ::testing::TestWithParam<PairCase> {};
class EveryEngine : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(ParityTest, ReproducesPyTorchOutputs) {
  const Case& c = GetParam();
  const test::EngineModelFile file = test::modelFor(c.model, c.engine);
  if (!file) GTEST_SKIP() << file.whyNone;
  const test::Reference ref = test::loadReference(c.model);
  Predictor predictor = load(file, c.engine)->newPredictor();
  const Tensors outputs = predictor.predict(positionalInputs(ref));
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    test::expectAllClose(outputs[i].tensor, ref.outputs[i].tensor, kAtol, kRtol,
                         c.engine + " " + c.model + " output " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Generated, ParityTest, ::testing::ValuesIn(allCases()), [](const auto& info) {
  return test::testName(info.param.engine + "_" + info.param.model);
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ParityTest);

TEST_P(EnginesAgree, GiveTheSameOutputs) {
  const PairCase& c = GetParam();
  const test::EngineModelFile first = test::modelFor(c.model, c.first);
  if (!first) GTEST_SKIP() << first.whyNone;
  const test::EngineModelFile second = test::modelFor(c.model, c.second);
  if (!second) GTEST_SKIP() << second.whyNone;
  const Tensors inputs = positionalInputs(test::loadReference(c.model));
  const Tensors a = load(first, c.first)->newPredictor().predict(inputs);
  const Tensors b = load(second, c.second)->newPredictor().predict(inputs);
  ASSERT_EQ(a.size(), b.size()) << c.model;
  for (std::size_t i = 0; i < a.size(); ++i)
    test::expectAllClose(a[i].tensor, b[i].tensor, kAtol, kRtol,
                         c.model + " " + c.first + " vs " + c.second + " output " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Generated, EnginesAgree, ::testing::ValuesIn(allPairs()), [](const auto& info) {
  return test::testName(info.param.first + "_" + info.param.second + "_" + info.param.model);
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EnginesAgree);

TEST_P(EveryEngine, DynamicBatchTakesAnyBatchSize) {
  const std::string& engine = GetParam();
  const test::EngineModelFile file = test::modelFor("dynamic_batch", engine);
  if (!file) GTEST_SKIP() << file.whyNone;
  Predictor p = load(file, engine)->newPredictor();
  for (int64_t batch : {1, 5}) {
    const Tensors out = p.predict({Tensor::allocate(DataType::Float32, {batch, 3, 8, 8})});
    EXPECT_EQ(out[0].tensor.shape(), (Shape{batch, 5})) << "batch " << batch;
  }
}

// ------------------------------------------------------------ bad input

// What the model declares is checked before the engine runs (names, count,
// and dtype and shape where declared); what it does not declare the engine
// refuses itself. Either way an Error, and the predictor works after it.
TEST_P(EveryEngine, BadInputIsNamedAndThePredictorRecovers) {
  const std::string& engine = GetParam();
  const test::EngineModelFile file = test::modelFor("mlp", engine);
  if (!file) GTEST_SKIP() << file.whyNone;
  auto model = load(file, engine);
  ASSERT_EQ(model->inputs().size(), 1u);
  const TensorInfo& x = model->inputs()[0];
  ASSERT_EQ(x.name, "x");
  const test::Reference ref = test::loadReference("mlp");
  Predictor p = model->newPredictor();
  auto good = [&] {
    test::expectAllClose(p.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, kAtol, kRtol,
                         "after a bad call");
  };
  auto input = [](Shape shape, DataType type = DataType::Float32) {
    return Tensor::allocate(type, std::move(shape));
  };

  Error e = errorOf([&] { p.predict(Tensors({{"wrong", input({1, 16})}})); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "unknown input 'wrong'; model inputs: 'x'");
  good();

  e = errorOf([&] { p.predict({input({1, 16}, DataType::Int64)}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  if (x.dtype != DataType::Undefined)
    expectMessageHas(e, "input 'x': expected " + x.describe() + ", got int64[1,16]");
  good();

  e = errorOf([&] { p.predict({input({1, 15})}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  if (x.rankKnown) expectMessageHas(e, "input 'x': expected " + x.describe() + ", got float32[1,15]");
  good();

  if (x.rankKnown) {
    e = errorOf([&] { p.predict({input({16})}); });
    expectMessageHas(e, "input 'x': expected " + x.describe() + ", got float32[16]");
    good();
  }

  e = errorOf([&] { p.predict(Tensors{}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  expectMessageHas(e, "expected 1 input(s) ('x'), got 0");
  good();

  e = errorOf([&] { p.predict({input({1, 16}), input({1, 16})}); });
  expectMessageHas(e, "expected 1 input(s) ('x'), got 2");
  good();

  e = errorOf([&] { p.predict(Tensors({{"x", input({1, 16})}, {"extra", input({1, 16})}})); });
  expectMessageHas(e, "unknown input 'extra'");
  good();
}

TEST_P(EveryEngine, MissingNamedInputIsNamedAndNamesPutInputsInPlace) {
  const std::string& engine = GetParam();
  const test::EngineModelFile file = test::modelFor("multi_io", engine);
  if (!file) GTEST_SKIP() << file.whyNone;
  auto model = load(file, engine);
  ASSERT_EQ(model->inputs().size(), 3u);
  Predictor p = model->newPredictor();
  const test::Reference ref = test::loadReference("multi_io");
  const Error e = errorOf([&] {
    p.predict(Tensors({{"x", ref.inputs[0].tensor}, {"mask", ref.inputs[2].tensor}}));
  });
  expectMessageHas(e, "missing input 'idx' (expected " + model->inputs()[1].describe() + ")");
  // Named inputs in any order are matched by name.
  const Tensors out = p.predict(Tensors({{"mask", ref.inputs[2].tensor},
                                         {"idx", ref.inputs[1].tensor},
                                         {"x", ref.inputs[0].tensor}}));
  test::expectAllClose(out[0].tensor, ref.outputs[0].tensor, kAtol, kRtol, "reordered inputs");
}

// ------------------------------------------------------------ bad files, options

TEST_P(EveryEngine, MissingTruncatedAndCorruptModelFilesAreRefused) {
  const std::string& engine = GetParam();
  const test::EngineModelFile resnet = test::modelFor("resnet18", engine);
  if (!resnet) GTEST_SKIP() << resnet.whyNone;
  // Files named like the one the engine reads, so that they are its format.
  const std::string suffix = resnet.file.extension().string();
  ScratchDir scratch(test::testName(engine));

  const std::string missing = "/nonexistent/model" + suffix;
  Error e = errorOf([&] { Model::load({.modelPath = missing, .engine = engine}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "model file '" + missing + "' not found");

  std::ifstream in(resnet.file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path truncated = scratch.path / ("truncated" + suffix);
  std::ofstream(truncated, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  e = errorOf([&] { Model::load({.modelPath = truncated, .engine = engine}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  expectMessageHas(e, truncated.string());

  const fs::path corrupt = scratch.path / ("corrupt" + suffix);
  std::ofstream(corrupt, std::ios::binary) << std::string(4096, '\x5a');
  e = errorOf([&] { Model::load({.modelPath = corrupt, .engine = engine}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();

  // The engine still loads good models after the failures.
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  ASSERT_TRUE(mlp) << mlp.whyNone;
  const test::Reference ref = test::loadReference("mlp");
  EXPECT_EQ(load(mlp, engine)->newPredictor().predict(ref.inputs).size(), 1u);
}

TEST(BadModel, AnEmptyDirectoryHoldsNoModel) {
  ScratchDir empty("emptydir");
  const Error e = errorOf([&] { Model::load({.modelPath = empty.path}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "holds no model file");
}

// A directory holding one model file per engine: naming the engine picks
// that engine's file.
TEST_P(EveryEngine, ADirectoryWithOneModelPerEngineResolvesByEngine) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  auto model = Model::load({.modelPath = test::modelsDir() / "mlp", .engine = engine});
  EXPECT_EQ(model->modelPath().filename(), mlp.file.filename());
  EXPECT_EQ(model->location().format, Registry::global().resolve(mlp.file, engine).location.format);
}

TEST(BadOptions, AnUnknownEngineListsTheAvailableOnes) {
  const Error e = errorOf([] { Model::load({.modelPath = test::modelsDir() / "mlp", .engine = "nosuch"}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "available engines:");
  for (const std::string& engine : test::builtEngines()) expectMessageHas(e, engine);
}

TEST_P(EveryEngine, AnUnknownOptionKeyListsTheValidKeys) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  const Error e = errorOf([&] {
    Model::load({.modelPath = mlp.file, .engine = engine, .options = {{"bogusKey", "1"}}});
  });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "unknown option 'bogusKey' for engine " + engine + "; valid keys: ");
  const std::vector<OptionSpec> options = Registry::global().describe(engine).options;
  ASSERT_FALSE(options.empty());
  for (const OptionSpec& spec : options) expectMessageHas(e, spec.key);
}

TEST_P(EveryEngine, NegativeThreadCountsAreRefused) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  Error e = errorOf([&] { Model::load({.modelPath = mlp.file, .engine = engine, .intraOpThreads = -1}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  expectMessageHas(e, "intraOpThreads");
  e = errorOf([&] { Model::load({.modelPath = mlp.file, .engine = engine, .interOpThreads = -2}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  expectMessageHas(e, "-2");
}

// Per-operator profiles from every engine that has a profiler; one without
// says so (Unsupported) and the test is skipped with its message.
TEST_P(EveryEngine, ProfileReportsOperators) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  const test::Reference ref = test::loadReference("mlp");
  Predictor predictor = load(mlp, engine)->newPredictor();
  OperatorProfile profile;
  try {
    profile = predictor.profile(ref.inputs, 3);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Unsupported) throw;
    // The predictor still predicts after saying so.
    test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, kAtol, kRtol, "mlp");
    GTEST_SKIP() << e.what();
  }
  EXPECT_EQ(profile.engine, engine);
  EXPECT_EQ(profile.iterations, 3);
  ASSERT_FALSE(profile.operators.empty());
  EXPECT_GT(profile.wallMs, 0.0);
  EXPECT_GT(profile.operatorMs(), 0.0);
  EXPECT_LE(profile.operatorMs(), profile.wallMs);
  for (std::size_t i = 1; i < profile.operators.size(); ++i)
    EXPECT_GE(profile.operators[i - 1].totalMs, profile.operators[i].totalMs);
  // The mlp's matrix products appear (Gemm, MatMul, addmm, mm, linear, as the
  // engine calls them), called a multiple of 3 times.
  const auto isMatrixProduct = [](const OperatorStat& op) {
    std::string name;
    for (char c : op.opType) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* product : {"gemm", "matmul", "mm", "linear"})
      if (name.find(product) != std::string::npos) return true;
    return false;
  };
  const auto matmul = std::find_if(profile.operators.begin(), profile.operators.end(), isMatrixProduct);
  ASSERT_NE(matmul, profile.operators.end());
  EXPECT_EQ(matmul->calls % 3, 0);
  EXPECT_EQ(profile.engineTrace.front(), '[');
  test::expectError([&] { predictor.profile(ref.inputs, 0); }, ErrorCode::InvalidArgument, {"iterations"});
  // The predictor still predicts after profiling.
  test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, kAtol, kRtol, "mlp");
}

INSTANTIATE_TEST_SUITE_P(Engines, EveryEngine, ::testing::ValuesIn(test::builtEngines()),
                         [](const auto& info) { return test::testName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EveryEngine);
