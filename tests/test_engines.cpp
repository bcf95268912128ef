// Both engines against PyTorch's reference outputs and each other, and the
// bad-input contract: an Error with the right code and a message naming
// expected and actual, and the next good call on the same predictor works.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "test_support.hpp"

using namespace polyinfer;
namespace fs = std::filesystem;

namespace {

struct Case {
  std::string engine;
  std::string model;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.engine << "/" << c.model; }

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (const std::string& engine : test::builtEngines())
    for (const char* model : {"mlp", "multi_io", "dynamic_batch", "resnet18", "mobilenet_v2"})
      cases.push_back({engine, model});
  return cases;
}

std::shared_ptr<Model> loadGenerated(const std::string& engine, const std::string& model,
                                     Options options = {}) {
  Criteria criteria;
  criteria.modelPath = test::modelFile(model, test::modelFileFor(engine));
  criteria.engine = engine;
  criteria.options = std::move(options);
  return Model::load(criteria);
}

// Tolerances: fp32 kernels differ in summation order between PyTorch's eager
// run, LibTorch and ONNX Runtime; resnet18's 1000 logits of std ~3.6 differ
// by up to ~5e-6 here.
constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-3;

class ParityTest : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(ParityTest, ReproducesPyTorchOutputs) {
  const Case& c = GetParam();
  auto model = loadGenerated(c.engine, c.model);
  test::Reference ref = test::loadReference(c.model);
  Predictor predictor = model->newPredictor();
  Tensors positional;
  for (const NamedTensor& input : ref.inputs) positional.add(input.tensor);
  Tensors outputs = predictor.predict(positional);
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    test::expectAllClose(outputs[i].tensor, ref.outputs[i].tensor, kAtol, kRtol,
                         c.engine + " " + c.model + " output " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Generated, ParityTest, ::testing::ValuesIn(allCases()),
                         [](const auto& info) { return info.param.engine + "_" + info.param.model; });

TEST(EnginesAgree, TorchAndOnnxRuntimeGiveTheSameOutputs) {
  if (test::builtEngines().size() < 2) GTEST_SKIP() << "needs both engines built";
  for (const char* name : {"mlp", "multi_io", "resnet18", "mobilenet_v2"}) {
    test::Reference ref = test::loadReference(name);
    Tensors inputs;
    for (const NamedTensor& input : ref.inputs) inputs.add(input.tensor);
    Tensors a = loadGenerated("torch", name)->newPredictor().predict(inputs);
    Tensors b = loadGenerated("onnxruntime", name)->newPredictor().predict(inputs);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (std::size_t i = 0; i < a.size(); ++i)
      test::expectAllClose(a[i].tensor, b[i].tensor, kAtol, kRtol, std::string(name) + " torch vs onnxruntime");
  }
}

TEST(EnginesDynamicBatch, AnyBatchSizeRuns) {
  for (const std::string& engine : test::builtEngines()) {
    auto model = loadGenerated(engine, "dynamic_batch");
    Predictor p = model->newPredictor();
    for (int64_t batch : {1, 5}) {
      Tensors out = p.predict({Tensor::allocate(DataType::Float32, {batch, 3, 8, 8})});
      EXPECT_EQ(out[0].tensor.shape(), (Shape{batch, 5})) << engine;
    }
  }
}

// ------------------------------------------------------------ bad input

namespace {

using test::errorOf;

void expectMessageHas(const Error& e, const std::string& part) {
  EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << part;
}

Tensor mlpInput(Shape shape = {1, 16}, DataType type = DataType::Float32) {
  return Tensor::allocate(type, std::move(shape));
}

}  // namespace

TEST(BadInput, OnnxRuntimeValidatesNamesTypesAndShapes) {
  if (!POLYINFER_HAVE_ONNXRUNTIME) GTEST_SKIP();
  auto model = loadGenerated("onnxruntime", "mlp");
  Predictor p = model->newPredictor();
  auto good = [&] { EXPECT_EQ(p.predict({mlpInput()})[0].tensor.shape(), (Shape{1, 8})); };

  Error e = errorOf([&] { p.predict(Tensors({{"wrong", mlpInput()}})); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "unknown input 'wrong'; model inputs: 'x'");
  good();

  e = errorOf([&] { p.predict({mlpInput({1, 16}, DataType::Int64)}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  expectMessageHas(e, "input 'x': expected float32[1,16], got int64[1,16]");
  good();

  e = errorOf([&] { p.predict({mlpInput({16})}); });
  expectMessageHas(e, "input 'x': expected float32[1,16], got float32[16]");
  good();

  e = errorOf([&] { p.predict({mlpInput({1, 15})}); });
  expectMessageHas(e, "input 'x': expected float32[1,16], got float32[1,15]");
  good();

  e = errorOf([&] { p.predict(Tensors{}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  expectMessageHas(e, "expected 1 input(s) ('x'), got 0");
  good();

  e = errorOf([&] { p.predict({mlpInput(), mlpInput()}); });
  expectMessageHas(e, "expected 1 input(s) ('x'), got 2");
  good();

  e = errorOf([&] { p.predict(Tensors({{"x", mlpInput()}, {"extra", mlpInput()}})); });
  expectMessageHas(e, "unknown input 'extra'");
  good();
}

TEST(BadInput, OnnxRuntimeMissingNamedInput) {
  if (!POLYINFER_HAVE_ONNXRUNTIME) GTEST_SKIP();
  auto model = loadGenerated("onnxruntime", "multi_io");
  Predictor p = model->newPredictor();
  test::Reference ref = test::loadReference("multi_io");
  Error e = errorOf([&] {
    p.predict(Tensors({{"x", ref.inputs[0].tensor}, {"mask", ref.inputs[2].tensor}}));
  });
  expectMessageHas(e, "missing input 'idx' (expected int64[2,3])");
  // Named inputs in any order are matched by name.
  Tensors out = p.predict(Tensors({{"mask", ref.inputs[2].tensor},
                                   {"idx", ref.inputs[1].tensor},
                                   {"x", ref.inputs[0].tensor}}));
  test::expectAllClose(out[0].tensor, ref.outputs[0].tensor, kAtol, kRtol, "reordered inputs");
}

TEST(BadInput, TorchReportsWrongNamesAndShapesAndRecovers) {
  if (!POLYINFER_HAVE_TORCH) GTEST_SKIP();
  auto model = loadGenerated("torch", "mlp");
  Predictor p = model->newPredictor();
  auto good = [&] { EXPECT_EQ(p.predict({mlpInput()})[0].tensor.shape(), (Shape{1, 8})); };
  Error e = errorOf([&] { p.predict(Tensors({{"wrong", mlpInput()}})); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "unknown input 'wrong'; model inputs: 'x'");
  good();
  // TorchScript declares no shapes: the engine itself reports the mismatch.
  e = errorOf([&] { p.predict({mlpInput({1, 15})}); });
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
  good();
  e = errorOf([&] { p.predict({mlpInput(), mlpInput()}); });
  expectMessageHas(e, "expected 1 input(s) ('x'), got 2");
  good();
}

// ------------------------------------------------------------ bad files, options

namespace {

fs::path scratchFile(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("polyinfer-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

fs::path truncatedCopy(const fs::path& source, const std::string& name) {
  std::ifstream in(source, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::path out = scratchFile(name);
  std::ofstream(out, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  return out;
}

}  // namespace

TEST(BadModel, MissingTruncatedCorruptAndEmptyDirectory) {
  for (const std::string& engine : test::builtEngines()) {
    const std::string ext = engine == "torch" ? ".pt" : ".onnx";
    Error e = errorOf([&] { Model::load({.modelPath = "/nonexistent/model" + ext, .engine = engine}); });
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    expectMessageHas(e, "model file '/nonexistent/model" + ext + "' not found");

    fs::path truncated = truncatedCopy(test::modelFile("resnet18", test::modelFileFor(engine)), "truncated" + ext);
    e = errorOf([&] { Model::load({.modelPath = truncated, .engine = engine}); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
    expectMessageHas(e, truncated.string());

    fs::path corrupt = scratchFile("corrupt" + ext);
    std::ofstream(corrupt, std::ios::binary) << std::string(4096, '\x5a');
    e = errorOf([&] { Model::load({.modelPath = corrupt, .engine = engine}); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();

    // The engine still loads good models after the failures.
    auto model = loadGenerated(engine, "mlp");
    EXPECT_EQ(model->newPredictor().predict({mlpInput()}).size(), 1u);
  }
  fs::path empty = scratchFile("emptydir");
  fs::create_directories(empty);
  Error e = errorOf([&] { Model::load({.modelPath = empty}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "holds no model file");
  fs::remove_all(scratchFile("").parent_path());
}

TEST(BadModel, DirectoryWithOneModelPerEngineResolvesByEngine) {
  for (const std::string& engine : test::builtEngines()) {
    auto model = Model::load({.modelPath = test::modelsDir() / "mlp", .engine = engine});
    EXPECT_EQ(model->modelPath().filename(), test::modelFileFor(engine));
  }
}

TEST(BadOptions, UnknownEngineKeyAndInvalidValues) {
  Error e = errorOf([] { Model::load({.modelPath = test::modelFile("mlp", "model.onnx"), .engine = "nosuch"}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "available engines:");
  if (!POLYINFER_HAVE_ONNXRUNTIME) return;
  e = errorOf([] { loadGenerated("onnxruntime", "mlp", {{"bogusKey", "1"}}); });
  EXPECT_EQ(e.code(), ErrorCode::NotFound);
  expectMessageHas(e, "unknown option 'bogusKey' for engine onnxruntime; valid keys: ");
  expectMessageHas(e, "intraOpNumThreads");
  for (const char* bad : {"abc", "-1"}) {
    e = errorOf([&] { loadGenerated("onnxruntime", "mlp", {{"intraOpNumThreads", bad}}); });
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    expectMessageHas(e, std::string("got '") + bad + "'");
  }
}

// Per-operator profiles from every engine that has a profiler.
TEST(Profile, EnginesWithAProfilerReportOperators) {
  const test::Reference ref = test::loadReference("mlp");
  for (const std::string& engine : test::builtEngines()) {
    SCOPED_TRACE(engine);
    auto model = Model::load(Criteria{.modelPath = test::modelFile("mlp", test::modelFileFor(engine)),
                                      .engine = engine});
    Predictor predictor = model->newPredictor();
    const OperatorProfile profile = predictor.profile(ref.inputs, 3);
    EXPECT_EQ(profile.engine, engine);
    EXPECT_EQ(profile.iterations, 3);
    ASSERT_FALSE(profile.operators.empty());
    EXPECT_GT(profile.wallMs, 0.0);
    EXPECT_GT(profile.operatorMs(), 0.0);
    EXPECT_LE(profile.operatorMs(), profile.wallMs);
    for (std::size_t i = 1; i < profile.operators.size(); ++i)
      EXPECT_GE(profile.operators[i - 1].totalMs, profile.operators[i].totalMs);
    // The mlp's matrix products appear, called a multiple of 3 times.
    const auto matmul = std::find_if(profile.operators.begin(), profile.operators.end(), [](const OperatorStat& op) {
      return op.opType == "Gemm" || op.opType == "MatMul" || op.opType == "FusedGemm" ||
             op.opType == "aten::addmm" || op.opType == "aten::linear" || op.opType == "aten::mm" ||
             op.opType == "aten::matmul";  // aten::mm: the frozen graph (use_mkldnn, default on cpu)
    });
    ASSERT_NE(matmul, profile.operators.end());
    EXPECT_EQ(matmul->calls % 3, 0);
    EXPECT_EQ(profile.engineTrace.front(), '[');
    test::expectError([&] { predictor.profile(ref.inputs, 0); }, ErrorCode::InvalidArgument, {"iterations"});
    // The predictor still predicts after profiling.
    test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, 1e-4, 1e-3, "mlp");
  }
}
