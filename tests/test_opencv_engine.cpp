// The OpenCV DNN engine plugin through the public API: parity with PyTorch,
// the non-re-entrant model (a Net per predictor), graphs OpenCV cannot
// import, the CPU-only backend/target and precision options, the two-file
// Darknet format, and errors that leave the process working.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_OPENCV

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngine = "opencv";

std::shared_ptr<Model> loadCv(const fs::path& file, Options options = {}, std::string device = "cpu") {
  return Model::load(Criteria{.modelPath = file,
                              .engine = kEngine,
                              .device = std::move(device),
                              .options = std::move(options),
                              .workers = 1});
}

/// The ONNX file OpenCV 4.6 imports: opset 10 for the CNNs (their Clip has
/// 3 inputs at opset 13), the usual file otherwise.
fs::path onnxFor(const std::string& name) {
  return test::modelFile(name, name == "resnet18" || name == "mobilenet_v2" ? "model_opset10.onnx"
                                                                              : "model.onnx");
}

/// A fresh directory under the system temp dir, removed at scope end.
struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("polyinfer-opencv-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

void writeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ------------------------------------------------------------------ description

TEST(OpenCvEngine, DescribesItselfAsNotReentrant) {
  const EngineDescription d = Registry::global().describe(kEngine);
  EXPECT_EQ(d.name, "opencv");
  EXPECT_EQ(d.version.rfind("4.", 0), 0u) << d.version;
  EXPECT_FALSE(d.reentrant);
  EXPECT_EQ(d.devices, std::vector<std::string>{"cpu"});
  // The formats come from the plugin's manifest.
  std::vector<std::string> names;
  for (const ModelFormat& f : d.formats) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ONNX", "Caffe", "Darknet", "TensorFlow frozen graph"}));
  ASSERT_FALSE(d.formats.empty());
  EXPECT_EQ(d.formats[0].suffixes, std::vector<std::string>{".onnx"});
  // Two-file formats name their text part as a companion.
  ASSERT_GE(d.formats.size(), 3u);
  ASSERT_EQ(d.formats[2].companions.size(), 1u);
  EXPECT_EQ(d.formats[2].companions[0].pattern, "{stem}.cfg");
}

// ------------------------------------------------------------------ parity

class OpenCvParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OpenCvParity, ReproducesPyTorch) {
  const std::string name = GetParam();
  const test::Reference ref = test::loadReference(name);
  auto model = loadCv(onnxFor(name));
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict(ref.inputs);
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(outputs[i].name, model->outputs()[i].name);
    test::expectAllClose(outputs[i].tensor, ref.outputs[i].tensor, 1e-4, 1e-3, name + " " + outputs[i].name);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, OpenCvParity,
                         ::testing::Values("mlp", "dynamic_batch", "resnet18", "mobilenet_v2"));

TEST(OpenCvEngine, ReportsTheGraphsInputsAndOutputs) {
  auto model = loadCv(onnxFor("resnet18"));
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].describe(), "float32[1,3,224,224]");
  EXPECT_EQ(model->inputs()[0].name, "input");
  ASSERT_EQ(model->outputs().size(), 1u);
  EXPECT_EQ(model->outputs()[0].name, "output");
  auto dynamic = loadCv(onnxFor("dynamic_batch"));
  ASSERT_TRUE(dynamic->inputs()[0].rankKnown);
  EXPECT_EQ(dynamic->inputs()[0].shape[0], -1);
}

TEST(OpenCvEngine, ModelsWithNonTensorValuesAreUnsupported) {
  // seq_input's input is seq(float32[?,2]) (tools/gen_value_models.py).
  Criteria criteria;
  criteria.modelPath = test::modelFile("seq_input", "model.onnx");
  criteria.engine = "opencv";
  test::expectError([&] { Model::load(criteria); }, ErrorCode::Unsupported,
                    {"not a tensor (a sequence, map or optional)", "-e onnxruntime"});
}

TEST(OpenCvEngine, ReportsItsConfiguration) {
  auto model = loadCv(onnxFor("mlp"));
  for (const char* key :
       {"num_threads", "interOpThreads", "backend", "target", "precision", "format", "logLevel"})
    EXPECT_NE(test::configEntry(*model, key), nullptr) << key;
  EXPECT_EQ(test::configEntry(*model, "backend")->value, "opencv");
  EXPECT_EQ(test::configEntry(*model, "target")->value, "cpu");
  EXPECT_EQ(test::configEntry(*model, "precision")->value, "fp32");
  EXPECT_EQ(test::configEntry(*model, "format")->value, "onnx");
  EXPECT_NE(test::configEntry(*model, "num_threads")->detail.find("process-wide"), std::string::npos);
}

// Criteria's thread fields: intra-op sets cv::setNumThreads (process-wide, so
// the value this process already uses); OpenCV has no inter-op pool, and a
// request for one is reported as 1, not refused.
TEST(OpenCvEngine, CriteriaThreadsSetNumThreadsAndInterOpIsOne) {
  const std::string inEffect = test::configEntry(*loadCv(onnxFor("mlp")), "num_threads")->value;
  auto model = Model::load(Criteria{.modelPath = onnxFor("mlp"),
                                    .engine = kEngine,
                                    .intraOpThreads = std::stoi(inEffect),
                                    .interOpThreads = 2});
  const ConfigEntry* threads = test::configEntry(*model, "num_threads");
  ASSERT_NE(threads, nullptr);
  EXPECT_EQ(threads->value, inEffect);
  EXPECT_EQ(threads->source, ValueSource::Explicit);
  EXPECT_NE(threads->detail.find("Criteria::intraOpThreads"), std::string::npos) << threads->detail;
  const ConfigEntry* inter = test::configEntry(*model, "interOpThreads");
  ASSERT_NE(inter, nullptr);
  EXPECT_EQ(inter->value, "1");
  EXPECT_EQ(inter->source, ValueSource::Engine);
  EXPECT_NE(inter->detail.find("Criteria::interOpThreads"), std::string::npos) << inter->detail;
  // Without the request: 1 by default.
  EXPECT_EQ(test::configEntry(*loadCv(onnxFor("mlp")), "interOpThreads")->source, ValueSource::Default);
  const test::Reference ref = test::loadReference("mlp");
  test::expectAllClose(model->newPredictor().predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, 1e-4,
                       1e-3, "mlp");
}

// ------------------------------------------------------------------ a Net per predictor

TEST(OpenCvEngine, PredictorsOwnTheirNetsAndAgree) {
  const test::Reference ref = test::loadReference("mobilenet_v2");
  auto model = loadCv(onnxFor("mobilenet_v2"));
  Predictor first = model->newPredictor();
  Predictor second = model->newPredictor();
  Predictor third = model->newPredictor();
  const Tensor a = first.predict(ref.inputs)[0].tensor;
  const Tensor b = second.predict(ref.inputs)[0].tensor;
  const Tensor c = third.predict(ref.inputs)[0].tensor;
  test::expectIdentical(b, a, "second predictor");
  test::expectIdentical(c, a, "third predictor");
  test::expectAllClose(a, ref.outputs[0].tensor, 1e-4, 1e-3, "mobilenet_v2");
}

TEST(OpenCvEngine, AnOutputSurvivesTheNextCall) {
  auto model = loadCv(onnxFor("mlp"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("mlp");
  const Tensor first = predictor.predict(ref.inputs)[0].tensor;
  const Tensor saved = first.clone();
  Tensor other = ref.inputs[0].tensor.clone();
  float* p = other.mutableData<float>();
  for (int64_t i = 0; i < other.elementCount(); ++i) p[i] = -2.0f * p[i] + 1.0f;
  const Tensor second = predictor.predict(Tensors{other})[0].tensor;
  test::expectIdentical(first, saved, "first output after a second call");
  EXPECT_GT(test::maxAbsDiff(second, saved), 1e-3);
}

TEST(OpenCvEngine, ABadCallLeavesThePredictorWorking) {
  const test::Reference ref = test::loadReference("mlp");
  auto model = loadCv(onnxFor("mlp"));
  Predictor predictor = model->newPredictor();
  const Shape shape = ref.inputs[0].tensor.shape();
  Shape wrong = shape;
  wrong.back() += 1;
  test::expectError([&] { predictor.predict(Tensors{Tensor::allocate(DataType::Float32, wrong)}); },
                    ErrorCode::InvalidArgument, {"expected float32", "got float32"});
  test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, 1e-4, 1e-3, "mlp");
}

TEST(OpenCvEngine, CannotProfileAndSaysSo) {
  auto model = loadCv(onnxFor("mlp"));
  Predictor predictor = model->newPredictor();
  test::expectError([&] { predictor.profile(test::loadReference("mlp").inputs, 2); },
                    ErrorCode::Unsupported, {"opencv", "per-operator"});
}

// ------------------------------------------------------------------ what OpenCV cannot import

TEST(OpenCvEngine, AClipWithThreeInputsIsUnsupportedNamingTheNode) {
  const std::string message = test::expectError(
      [] { loadCv(test::modelFile("mobilenet_v2", "model.onnx")); }, ErrorCode::Unsupported,
      {"Clip", "cannot import node", "another engine"});
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  // The process and the engine go on working.
  const test::Reference ref = test::loadReference("mlp");
  EXPECT_NO_THROW(loadCv(onnxFor("mlp"))->newPredictor().predict(ref.inputs));
}

/// y = If(sum(x) > 0, then: x, else: -x): a graph with an If node.
std::string ifGraph() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("if_graph");
  auto tensorValue = [](onnx::ValueInfoProto* value, const std::string& name, int elemType,
                        std::vector<int64_t> dims) {
    value->set_name(name);
    auto* tensor = value->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(elemType);
    for (int64_t d : dims) tensor->mutable_shape()->add_dim()->set_dim_value(d);
  };
  tensorValue(graph->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4});
  tensorValue(graph->add_output(), "y", onnx::TensorProto::FLOAT, {1, 4});
  onnx::TensorProto* zero = graph->add_initializer();
  zero->set_name("zero");
  zero->set_data_type(onnx::TensorProto::FLOAT);
  zero->add_float_data(0.0f);
  onnx::NodeProto* sum = graph->add_node();
  sum->set_op_type("ReduceSum");
  sum->set_name("sum");
  sum->add_input("x");
  sum->add_output("s");
  onnx::AttributeProto* keep = sum->add_attribute();
  keep->set_name("keepdims");
  keep->set_type(onnx::AttributeProto::INT);
  keep->set_i(0);
  onnx::NodeProto* greater = graph->add_node();
  greater->set_op_type("Greater");
  greater->set_name("positive");
  greater->add_input("s");
  greater->add_input("zero");
  greater->add_output("cond");
  onnx::NodeProto* branch = graph->add_node();
  branch->set_op_type("If");
  branch->set_name("choose_sign");
  branch->add_input("cond");
  branch->add_output("y");
  for (const char* which : {"then_branch", "else_branch"}) {
    onnx::AttributeProto* attr = branch->add_attribute();
    attr->set_name(which);
    attr->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* body = attr->mutable_g();
    body->set_name(which);
    onnx::NodeProto* node = body->add_node();
    node->set_op_type(std::string(which) == "then_branch" ? "Identity" : "Neg");
    node->add_input("x");
    node->add_output(std::string(which) + "_y");
    tensorValue(body->add_output(), std::string(which) + "_y", onnx::TensorProto::FLOAT, {1, 4});
  }
  return model.SerializeAsString();
}

TEST(OpenCvEngine, AnIfNodeIsUnsupportedNamingTheNode) {
  TempDir dir;
  const fs::path file = dir.path / "if.onnx";
  writeFile(file, ifGraph());
  test::expectError([&] { loadCv(file); }, ErrorCode::Unsupported, {"If", "another engine"});
  // The same file runs on ONNX Runtime: the graph is valid, OpenCV cannot import it.
#if POLYINFER_HAVE_ONNXRUNTIME
  auto ort = Model::load(Criteria{.modelPath = file, .engine = "onnxruntime"});
  const Tensors out = ort->newPredictor().predict(
      Tensors{Tensor::fromVector<float>({1, 4}, {1.0f, -2.0f, 3.0f, 4.0f})});
  EXPECT_EQ(out[0].tensor.toVector<float>(), (std::vector<float>{1.0f, -2.0f, 3.0f, 4.0f}));
#endif
}

TEST(OpenCvEngine, AnInputTypeOpenCvCannotTakeIsUnsupported) {
  test::expectError([] { loadCv(test::modelFile("multi_io", "model.onnx")); }, ErrorCode::Unsupported,
                    {"int64", "float32 and uint8 inputs only", "another engine"});
}

TEST(OpenCvEngine, TruncatedAndCorruptFilesAreInvalidArguments) {
  TempDir dir;
  const std::string bytes = readFile(onnxFor("mlp"));
  writeFile(dir.path / "truncated.onnx", bytes.substr(0, bytes.size() / 2));
  writeFile(dir.path / "corrupt.onnx", std::string(4096, '\xff'));
  test::expectError([&] { loadCv(dir.path / "truncated.onnx"); }, ErrorCode::InvalidArgument,
                    {"truncated.onnx"});
  test::expectError([&] { loadCv(dir.path / "corrupt.onnx"); }, ErrorCode::InvalidArgument,
                    {"corrupt.onnx"});
}

// ------------------------------------------------------------------ options

TEST(OpenCvEngine, NonCpuBackendsTargetsAndDevicesAreUnsupported) {
  const fs::path mlp = onnxFor("mlp");
  test::expectError([&] { loadCv(mlp, {{"backend", "cuda"}}); }, ErrorCode::Unsupported,
                    {"cuda/cpu", "this OpenCV build offers: ", "opencv/cpu"});
  test::expectError([&] { loadCv(mlp, {{"target", "opencl"}}); }, ErrorCode::Unsupported,
                    {"opencv/opencl", "opencv/cpu"});
  test::expectError([&] { loadCv(mlp, {{"backend", "teapot"}}); }, ErrorCode::InvalidArgument,
                    {"backend", "teapot"});
  test::expectError([&] { loadCv(mlp, {}, "gpu0"); }, ErrorCode::Unsupported, {"gpu0", "cpu"});
  for (const char* precision : {"bf16", "fp16"})
    test::expectError([&] { loadCv(mlp, {{"precision", precision}}); }, ErrorCode::Unsupported,
                      {std::string("precision=") + precision, "supported: fp32", "fp32 only"});
  EXPECT_EQ(test::configEntry(*loadCv(mlp, {{"precision", "fp32"}}), "precision")->source, ValueSource::Explicit);
  test::expectError([&] { loadCv(mlp, {{"num_threads", "0"}}); }, ErrorCode::InvalidArgument,
                    {"num_threads"});
}

// ------------------------------------------------------------------ Darknet (two files)

/// A 1x1 convolution, 2 -> 3 channels, no batch norm, linear activation:
/// y[f] = b[f] + sum_c w[f][c] * x[c] at every pixel.
struct DarknetConv {
  std::vector<float> bias{0.5f, -1.0f, 2.0f};
  std::vector<float> weight{1.0f, 2.0f, -1.0f, 0.5f, 0.25f, -3.0f};  // [3][2]

  void write(const fs::path& weightsFile, const fs::path& cfgFile) const {
    writeFile(cfgFile,
              "[net]\nbatch=1\nwidth=2\nheight=2\nchannels=2\n\n"
              "[convolutional]\nfilters=3\nsize=1\nstride=1\npad=0\nactivation=linear\n");
    std::string bytes;
    const int32_t header[3] = {0, 2, 0};  // major, minor, revision: "seen" is 64-bit
    const uint64_t seen = 0;
    bytes.append(reinterpret_cast<const char*>(header), sizeof header);
    bytes.append(reinterpret_cast<const char*>(&seen), sizeof seen);
    bytes.append(reinterpret_cast<const char*>(bias.data()), bias.size() * sizeof(float));
    bytes.append(reinterpret_cast<const char*>(weight.data()), weight.size() * sizeof(float));
    writeFile(weightsFile, bytes);
  }

  std::vector<float> expected(const std::vector<float>& x) const {  // x: [2][4] (C, HW)
    std::vector<float> y(3 * 4);
    for (int f = 0; f < 3; ++f)
      for (int p = 0; p < 4; ++p)
        y[f * 4 + p] = bias[f] + weight[f * 2] * x[p] + weight[f * 2 + 1] * x[4 + p];
    return y;
  }
};

TEST(OpenCvEngine, RunsADarknetModelWithItsCfgNextToIt) {
  TempDir dir;
  const DarknetConv conv;
  conv.write(dir.path / "tiny.weights", dir.path / "tiny.cfg");
  // The format chooses the engine: no engine named.
  auto model = Model::load(Criteria{.modelPath = dir.path / "tiny.weights"});
  EXPECT_EQ(model->engineName(), "opencv");
  EXPECT_EQ(test::configEntry(*model, "format")->value, "darknet");
  EXPECT_EQ(test::configEntry(*model, "configFile")->value, (dir.path / "tiny.cfg").string());
  ASSERT_EQ(model->inputs().size(), 1u);
  ASSERT_EQ(model->outputs().size(), 1u);
  const std::vector<float> x{1, 2, 3, 4, -1, 0, 1, 2};
  const Tensors out =
      model->newPredictor().predict(Tensors{Tensor::fromVector<float>({1, 2, 2, 2}, x)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tensor.shape(), (Shape{1, 3, 2, 2}));
  const std::vector<float> y = out[0].tensor.toVector<float>();
  const std::vector<float> expected = conv.expected(x);
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(y[i], expected[i]) << i;
}

TEST(OpenCvEngine, ADarknetModelTakesAnExplicitConfigFileAndNeedsOne) {
  TempDir dir;
  DarknetConv().write(dir.path / "weights.weights", dir.path / "elsewhere.cfg");
  test::expectError([&] { loadCv(dir.path / "weights.weights"); }, ErrorCode::NotFound,
                    {"needs its .cfg file", "weights.cfg", "configFile"});
  auto model = loadCv(dir.path / "weights.weights", {{"configFile", (dir.path / "elsewhere.cfg").string()}});
  EXPECT_EQ(test::configEntry(*model, "configFile")->source, ValueSource::Explicit);
  test::expectError([&] { loadCv(dir.path / "elsewhere.cfg"); }, ErrorCode::InvalidArgument,
                    {"text part of a model", "configFile"});
}

}  // namespace
}  // namespace polyinfer

#endif  // POLYINFER_HAVE_OPENCV
