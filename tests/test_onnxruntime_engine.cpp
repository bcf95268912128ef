// The ONNX Runtime engine plugin through the public API: description, model
// infos, every knob and where its value comes from, devices, zero-copy
// outputs, every dtype, strings, and errors that leave the process and the
// predictor working. Over 500 lines: one file per unit under test, and this
// engine has the most knobs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "onnx_builder.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngine = "onnxruntime";

// ------------------------------------------------------------------ helpers

/// Sets (or, with nullopt, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// The thread-count variables unset, so defaults are what a test sees.
struct CleanThreadEnv {
  ScopedEnv intra{"POLYINFER_INTRA_OP_THREADS", std::nullopt};
  ScopedEnv inter{"POLYINFER_INTER_OP_THREADS", std::nullopt};
};

std::shared_ptr<Model> loadOrt(const fs::path& file, Options options = {}, int workers = 1,
                               std::string device = "cpu", int intraOpThreads = 0,
                               int interOpThreads = 0) {
  return Model::load(Criteria{.modelPath = file,
                              .engine = kEngine,
                              .device = std::move(device),
                              .options = std::move(options),
                              .workers = workers,
                              .intraOpThreads = intraOpThreads,
                              .interOpThreads = interOpThreads});
}

std::shared_ptr<Model> loadGenerated(const std::string& name, Options options = {},
                                     int workers = 1) {
  return loadOrt(test::modelFile(name, "model.onnx"), std::move(options), workers);
}

using test::expectError;

bool hasProvider(const std::string& device) {
  const EngineDescription d = Registry::global().describe(kEngine);
  return std::find(d.devices.begin(), d.devices.end(), device) != d.devices.end();
}

Tensor filled(DataType type, Shape shape, uint8_t seed) {
  Tensor t = Tensor::allocate(type, std::move(shape));
  auto* bytes = static_cast<uint8_t*>(t.mutableRawData());
  for (std::size_t i = 0; i < t.byteSize(); ++i)
    bytes[i] = static_cast<uint8_t>(seed + 37 * i);
  if (type == DataType::Bool)
    for (std::size_t i = 0; i < t.byteSize(); ++i) bytes[i] &= 1;
  return t;
}

// Tiny ONNX models: tests/support/onnx_builder.hpp.
using test::Dim;
using test::IoSpec;
using test::oneNodeModel;
using test::Proto;
using test::valueInfo;

class OrtEngineTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path file = dir_ / name;
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }
  fs::path identityModel(DataType type, std::vector<Dim> dims = {std::string("n")}) {
    return write("identity_" + std::string(toString(type)) + ".onnx",
                 oneNodeModel("Identity", {{"in", type, dims}}, {{"out", type, dims}}));
  }
  test::ScratchDir scratch_{"ort"};
  const fs::path dir_ = scratch_.path;
};

// ------------------------------------------------------------ description

TEST(OrtEngine, Describe) {
  const EngineDescription d = Registry::global().describe(kEngine);
  EXPECT_EQ(d.name, "onnxruntime");
  EXPECT_EQ(d.version.rfind("1.", 0), 0u) << d.version;
  // The formats come from the plugin's manifest: ONNX first.
  ASSERT_FALSE(d.formats.empty());
  EXPECT_EQ(d.formats[0].name, "ONNX");
  EXPECT_EQ(d.formats[0].suffixes, std::vector<std::string>{".onnx"});
  EXPECT_EQ(d.formats[0].describe(), "ONNX (.onnx)");
  ASSERT_FALSE(d.devices.empty());
  EXPECT_EQ(d.devices.front(), "cpu");
  EXPECT_TRUE(d.reentrant);
  std::vector<std::string> keys;
  for (const OptionSpec& spec : d.options) {
    keys.push_back(spec.key);
    EXPECT_FALSE(spec.description.empty()) << spec.key;
  }
  for (const char* key : {"intraOpNumThreads", "interOpNumThreads", "executionMode", "optLevel",
                          "memoryPatternOptimization", "cpuArenaAllocator", "profilerOutput",
                          "ortDevice"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
}

TEST(OrtEngine, PluginListedByRegistry) {
  // Listed with its manifest's formats; described once started.
  Registry::global().describe(kEngine);
  bool found = false;
  for (const PluginStatus& status : Registry::global().plugins()) {
    if (status.name != kEngine) continue;
    found = true;
    EXPECT_FALSE(status.formats.empty());
    EXPECT_TRUE(status.loaded) << status.error;
    EXPECT_EQ(status.description.name, kEngine);
  }
  EXPECT_TRUE(found);
}

// ------------------------------------------------------------ model infos

TEST(OrtEngine, MlpInfosAndRun) {
  auto model = loadGenerated("mlp");
  EXPECT_EQ(model->engineName(), kEngine);
  ASSERT_EQ(model->inputs().size(), 1u);
  ASSERT_EQ(model->outputs().size(), 1u);
  const TensorInfo& x = model->inputs()[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.dtype, DataType::Float32);
  EXPECT_TRUE(x.rankKnown);
  EXPECT_EQ(x.shape, (Shape{1, 16}));
  EXPECT_EQ(x.dimNames, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(model->outputs()[0].name, "y");
  EXPECT_EQ(model->outputs()[0].shape, (Shape{1, 8}));

  const test::Reference ref = test::loadReference("mlp");
  Predictor predictor = model->newPredictor();
  Tensors out = predictor.predict(ref.inputs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "y");
  test::expectAllClose(out[0].tensor, ref.outputs[0].tensor, 1e-5, 1e-4, "mlp y");
}

TEST(OrtEngine, MultiIoInfosHaveInt64AndBool) {
  auto model = loadGenerated("multi_io");
  ASSERT_EQ(model->inputs().size(), 3u);
  EXPECT_EQ(model->inputs()[0].name, "x");
  EXPECT_EQ(model->inputs()[0].dtype, DataType::Float32);
  EXPECT_EQ(model->inputs()[0].shape, (Shape{2, 4}));
  EXPECT_EQ(model->inputs()[1].name, "idx");
  EXPECT_EQ(model->inputs()[1].dtype, DataType::Int64);
  EXPECT_EQ(model->inputs()[1].shape, (Shape{2, 3}));
  EXPECT_EQ(model->inputs()[2].name, "mask");
  EXPECT_EQ(model->inputs()[2].dtype, DataType::Bool);
  EXPECT_EQ(model->inputs()[2].shape, (Shape{2, 4}));
  ASSERT_EQ(model->outputs().size(), 2u);
  EXPECT_EQ(model->outputs()[0].name, "scores");
  EXPECT_EQ(model->outputs()[0].dtype, DataType::Float32);
  EXPECT_EQ(model->outputs()[1].name, "count");
  EXPECT_EQ(model->outputs()[1].dtype, DataType::Int64);
  EXPECT_EQ(model->outputs()[1].shape, (Shape{2}));

  const test::Reference ref = test::loadReference("multi_io");
  Predictor predictor = model->newPredictor();
  Tensors out = predictor.predict(ref.inputs);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].tensor.dtype(), DataType::Int64);
  test::expectIdentical(out[1].tensor, ref.outputs[1].tensor, "multi_io count");
}

TEST(OrtEngine, DynamicBatchDimIsMinusOneNamedBatch) {
  auto model = loadGenerated("dynamic_batch");
  ASSERT_EQ(model->inputs().size(), 1u);
  const TensorInfo& x = model->inputs()[0];
  EXPECT_EQ(x.shape, (Shape{-1, 3, 8, 8}));
  ASSERT_EQ(x.dimNames.size(), 4u);
  EXPECT_EQ(x.dimNames[0], "batch");
  EXPECT_EQ(x.dimNames[1], "");
  EXPECT_EQ(x.describe(), "float32[?,3,8,8]");
  const TensorInfo& y = model->outputs()[0];
  EXPECT_EQ(y.shape[0], -1);
  EXPECT_EQ(y.shape[1], 5);

  Predictor predictor = model->newPredictor();
  for (int64_t n : {1, 5, 2}) {
    Tensors out = predictor.predict({filled(DataType::Float32, {n, 3, 8, 8}, 3)});
    EXPECT_EQ(out[0].tensor.shape(), (Shape{n, 5})) << "batch " << n;
  }
}

TEST(OrtEngine, ImageModelsInfos) {
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    auto model = loadGenerated(name);
    ASSERT_EQ(model->inputs().size(), 1u);
    EXPECT_EQ(model->inputs()[0].name, "input");
    EXPECT_EQ(model->inputs()[0].dtype, DataType::Float32);
    EXPECT_EQ(model->inputs()[0].shape, (Shape{1, 3, 224, 224}));
    ASSERT_EQ(model->outputs().size(), 1u);
    EXPECT_EQ(model->outputs()[0].name, "output");
    EXPECT_EQ(model->outputs()[0].shape, (Shape{1, 1000}));
  }
}

// ------------------------------------------------------------------ knobs

struct KnobCase {
  std::string key;        // as given (may be an alias)
  std::string value;
  std::string entryKey;   // canonical key in config()
  std::string effective;  // value config() reports
};

TEST(OrtEngine, EveryKnobIsAcceptedAndReportedAsExplicit) {
  CleanThreadEnv clean;
  const std::vector<KnobCase> cases = {
      {"intraOpNumThreads", "1", "intraOpNumThreads", "1"},
      {"intraOpNumThreads", "0", "intraOpNumThreads", "0"},
      {"intra_op_num_threads", "2", "intraOpNumThreads", "2"},
      {"interOpNumThreads", "2", "interOpNumThreads", "2"},
      {"executionMode", "PARALLEL", "executionMode", "PARALLEL"},
      {"executionMode", "sequential", "executionMode", "SEQUENTIAL"},
      {"optLevel", "NO_OPT", "optLevel", "NO_OPT"},
      {"optLevel", "BASIC_OPT", "optLevel", "BASIC_OPT"},
      {"optLevel", "EXTENDED_OPT", "optLevel", "EXTENDED_OPT"},
      {"optLevel", "ALL_OPT", "optLevel", "ALL_OPT"},
      {"memoryPatternOptimization", "false", "memoryPatternOptimization", "false"},
      {"cpuArenaAllocator", "false", "cpuArenaAllocator", "false"},
      {"cpuArenaAllocator", "on", "cpuArenaAllocator", "true"},
      {"intraOpAllowSpinning", "false", "intraOpAllowSpinning", "false"},
      {"ortDevice", "cpu", "ortDevice", "CPU"},
  };
  const test::Reference ref = test::loadReference("mlp");
  for (const KnobCase& c : cases) {
    SCOPED_TRACE(c.key + "=" + c.value);
    auto model = loadGenerated("mlp", {{c.key, c.value}});
    const ConfigEntry* entry = test::configEntry(*model, c.entryKey);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->value, c.effective);
    EXPECT_EQ(entry->source, ValueSource::Explicit);
    // The session really runs with it.
    Predictor predictor = model->newPredictor();
    test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, 1e-5,
                         1e-4, "mlp y");
  }
}

TEST(OrtEngine, DefaultsComeFromTheThreadBudget) {
  CleanThreadEnv clean;
  const ThreadBudget budget = ThreadBudget::detect();
  for (int workers : {1, 2, 64}) {
    SCOPED_TRACE("workers " + std::to_string(workers));
    auto model = loadGenerated("mlp", {}, workers);
    const ThreadDefaults defaults = budget.defaultsFor(workers);
    const ConfigEntry* intra = test::configEntry(*model, "intraOpNumThreads");
    ASSERT_NE(intra, nullptr);
    EXPECT_EQ(intra->value, std::to_string(defaults.intraOpThreads));
    EXPECT_EQ(intra->source, ValueSource::Default);
    EXPECT_EQ(intra->detail, defaults.reason);
    const ConfigEntry* inter = test::configEntry(*model, "interOpNumThreads");
    ASSERT_NE(inter, nullptr);
    EXPECT_EQ(inter->value, "1");
    EXPECT_EQ(inter->source, ValueSource::Default);
  }
  auto model = loadGenerated("mlp");
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"executionMode", "SEQUENTIAL"}, {"optLevel", "ALL_OPT"},
      {"memoryPatternOptimization", "true"}, {"cpuArenaAllocator", "true"},
      {"profilerOutput", "off"}, {"ortDevice", "CPU"}, {"providers", "CPUExecutionProvider"}};
  for (const auto& [key, value] : defaults) {
    const ConfigEntry* entry = test::configEntry(*model, key);
    ASSERT_NE(entry, nullptr) << key;
    EXPECT_EQ(entry->value, value) << key;
    EXPECT_EQ(entry->source, ValueSource::Default) << key;
  }
  // Reported even though polyinfer leaves ORT's default in place.
  const ConfigEntry* spinning = test::configEntry(*model, "intraOpAllowSpinning");
  ASSERT_NE(spinning, nullptr);
  EXPECT_NE(spinning->detail.find("session.intra_op.allow_spinning"), std::string::npos);
  const ConfigEntry* logLevel = test::configEntry(*model, "logLevel");
  ASSERT_NE(logLevel, nullptr);
  if (!std::getenv("POLYINFER_ORT_LOG_LEVEL")) {
    EXPECT_EQ(logLevel->value, "ERROR");
  }
}

TEST(OrtEngine, EnvironmentBeatsDefaultAndOptionBeatsEnvironment) {
  ScopedEnv intraEnv("POLYINFER_INTRA_OP_THREADS", "1");
  ScopedEnv interEnv("POLYINFER_INTER_OP_THREADS", "3");
  {
    auto model = loadGenerated("mlp");
    const ConfigEntry* intra = test::configEntry(*model, "intraOpNumThreads");
    ASSERT_NE(intra, nullptr);
    EXPECT_EQ(intra->value, "1");
    EXPECT_EQ(intra->source, ValueSource::Environment);
    EXPECT_NE(intra->detail.find("POLYINFER_INTRA_OP_THREADS"), std::string::npos) << intra->detail;
    const ConfigEntry* inter = test::configEntry(*model, "interOpNumThreads");
    ASSERT_NE(inter, nullptr);
    EXPECT_EQ(inter->value, "3");
    EXPECT_EQ(inter->source, ValueSource::Environment);
  }
  {
    auto model = loadGenerated("mlp", {{"intraOpNumThreads", "2"}, {"interOpNumThreads", "1"}});
    const ConfigEntry* intra = test::configEntry(*model, "intraOpNumThreads");
    ASSERT_NE(intra, nullptr);
    EXPECT_EQ(intra->value, "2");
    EXPECT_EQ(intra->source, ValueSource::Explicit);
    const ConfigEntry* inter = test::configEntry(*model, "interOpNumThreads");
    ASSERT_NE(inter, nullptr);
    EXPECT_EQ(inter->value, "1");
    EXPECT_EQ(inter->source, ValueSource::Explicit);
  }
}

TEST(OrtEngine, CriteriaThreadsSetTheSessionsThreadCounts) {
  CleanThreadEnv clean;
  const fs::path mlp = test::modelFile("mlp", "model.onnx");
  auto model = loadOrt(mlp, {}, 1, "cpu", 1, 2);
  for (const auto& [key, value, field] :
       {std::tuple{"intraOpNumThreads", "1", "Criteria::intraOpThreads"},
        std::tuple{"interOpNumThreads", "2", "Criteria::interOpThreads"}}) {
    SCOPED_TRACE(key);
    const ConfigEntry* entry = test::configEntry(*model, key);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->value, value);
    EXPECT_EQ(entry->source, ValueSource::Explicit);
    EXPECT_NE(entry->detail.find(field), std::string::npos) << entry->detail;
  }
  // The field and the option: the same value is fine, different ones are refused.
  EXPECT_EQ(test::configEntry(*loadOrt(mlp, {{"intraOpNumThreads", "1"}}, 1, "cpu", 1), "intraOpNumThreads")->value,
            "1");
  expectError([&] { loadOrt(mlp, {{"intraOpNumThreads", "2"}}, 1, "cpu", 1); }, ErrorCode::InvalidArgument,
              {"Criteria::intraOpThreads", "intraOpNumThreads"});
}

TEST(OrtEngine, InvalidKnobValuesNameKeyExpectedAndActual) {
  CleanThreadEnv clean;
  const fs::path mlp = test::modelFile("mlp", "model.onnx");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"intraOpNumThreads", "abc"},     {"intraOpNumThreads", "-1"},
      {"intraOpNumThreads", "1.5"},     {"interOpNumThreads", "-1"},
      {"executionMode", "FAST"},        {"optLevel", "O3"},
      {"memoryPatternOptimization", "maybe"}, {"cpuArenaAllocator", "2"},
      {"intraOpAllowSpinning", "sometimes"},  {"ortDevice", "FPGA"},
  };
  for (const auto& [key, value] : bad) {
    SCOPED_TRACE(key + "=" + value);
    const std::string message = expectError([&] { loadOrt(mlp, {{key, value}}); },
                                            ErrorCode::InvalidArgument, {key, value});
    EXPECT_NE(message.find("expected"), std::string::npos) << message;
  }
  expectError([&] { loadOrt(mlp, {{"profilerOutput", ""}}); }, ErrorCode::InvalidArgument,
              {"profilerOutput"});
  {
    ScopedEnv env("POLYINFER_INTRA_OP_THREADS", "many");
    expectError([&] { loadOrt(mlp); }, ErrorCode::InvalidArgument,
                {"POLYINFER_INTRA_OP_THREADS", "many"});
  }
  // An unknown key is refused with the list of valid ones.
  expectError([&] { loadOrt(mlp, {{"intraOpThreadz", "1"}}); }, ErrorCode::NotFound,
              {"intraOpThreadz", "intraOpNumThreads"});
}

// ---------------------------------------------------------------- devices

TEST(OrtEngine, UnavailableProvidersAreUnsupportedNamingTheAvailableOnes) {
  const fs::path mlp = test::modelFile("mlp", "model.onnx");
  if (hasProvider("gpu0")) GTEST_SKIP() << "this ONNX Runtime build has CUDA";
  expectError([&] { loadOrt(mlp, {{"ortDevice", "CUDA"}}); }, ErrorCode::Unsupported,
              {"CUDAExecutionProvider", "CPUExecutionProvider"});
  expectError([&] { loadOrt(mlp, {{"ortDevice", "TensorRT"}}); }, ErrorCode::Unsupported,
              {"TensorrtExecutionProvider", "CPUExecutionProvider"});
  expectError([&] { loadOrt(mlp, {}, 1, "gpu0"); }, ErrorCode::Unsupported,
              {"gpu0", "CUDAExecutionProvider", "CPUExecutionProvider"});
}

TEST(OrtEngine, ReducedPrecisionIsUnsupportedNotAFallback) {
  const fs::path mlp = test::modelFile("mlp", "model.onnx");
  for (const char* precision : {"bf16", "fp16"})
    expectError([&] { loadOrt(mlp, {{"precision", precision}}); }, ErrorCode::Unsupported,
                {std::string("precision=") + precision, "supported: fp32", "torch"});
  expectError([&] { loadOrt(mlp, {{"precision", "int8"}}); }, ErrorCode::InvalidArgument,
              {"int8", "fp32|bf16|fp16"});
  auto model = loadOrt(mlp, {{"precision", "fp32"}});
  bool reported = false;
  for (const ConfigEntry& entry : model->config())
    if (entry.key == "precision") {
      reported = true;
      EXPECT_EQ(entry.value, "fp32");
      EXPECT_EQ(entry.source, ValueSource::Explicit);
    }
  EXPECT_TRUE(reported) << "config() has no precision entry";
}

TEST(OrtEngine, MalformedOrContradictoryDevicesAreInvalid) {
  const fs::path mlp = test::modelFile("mlp", "model.onnx");
  expectError([&] { loadOrt(mlp, {}, 1, "tpu0"); }, ErrorCode::InvalidArgument, {"tpu0"});
  expectError([&] { loadOrt(mlp, {}, 1, "gpu"); }, ErrorCode::InvalidArgument, {"gpu"});
  expectError([&] { loadOrt(mlp, {{"ortDevice", "CPU"}}, 1, "gpu1"); },
              ErrorCode::InvalidArgument, {"ortDevice", "gpu1"});
}

// ---------------------------------------------------- zero-copy, lifetime

TEST(OrtEngine, OutputsOutliveThePredictorAndTheModel) {
  const test::Reference ref = test::loadReference("mlp");
  Tensor first, second;
  {
    auto model = loadGenerated("mlp");
    Predictor predictor = model->newPredictor();
    first = predictor.predict(ref.inputs)[0].tensor;
    second = predictor.predict(ref.inputs)[0].tensor;
    // Each call hands out its own buffer: the second run did not overwrite the first.
    EXPECT_NE(first.rawData(), second.rawData());
  }
  // Predictor and model are gone; the views still hold ORT's values.
  test::expectAllClose(first, ref.outputs[0].tensor, 1e-5, 1e-4, "first y");
  test::expectAllClose(second, ref.outputs[0].tensor, 1e-5, 1e-4, "second y");
  // Copies share the storage.
  Tensor copy = first;
  EXPECT_EQ(copy.rawData(), first.rawData());
}

TEST_F(OrtEngineTest, InputsAreReadFromTheCallersBufferEveryCall) {
  auto model = loadOrt(identityModel(DataType::Float32));
  Predictor predictor = model->newPredictor();
  Tensor in = Tensor::fromVector<float>({4}, {1, 2, 3, 4});
  EXPECT_EQ(predictor.predict({in})[0].tensor.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
  // Same buffer, new contents: the binding must not serve stale data.
  in.mutableData<float>()[2] = 30;
  EXPECT_EQ(predictor.predict({in})[0].tensor.toVector<float>(), (std::vector<float>{1, 2, 30, 4}));
  // Another buffer of the same shape.
  Tensor other = Tensor::fromVector<float>({4}, {5, 6, 7, 8});
  EXPECT_EQ(predictor.predict({other})[0].tensor.toVector<float>(), (std::vector<float>{5, 6, 7, 8}));
  // Another shape.
  Tensor longer = Tensor::fromVector<float>({5}, {9, 8, 7, 6, 5});
  EXPECT_EQ(predictor.predict({longer})[0].tensor.toVector<float>(),
            (std::vector<float>{9, 8, 7, 6, 5}));
  // Empty.
  Tensor empty = Tensor::allocate(DataType::Float32, {0});
  Tensor out = predictor.predict({empty})[0].tensor;
  EXPECT_EQ(out.shape(), (Shape{0}));
  EXPECT_EQ(out.elementCount(), 0);
}

// ORT returns a graph output that is a graph input as the caller's own
// buffer; the plugin must not hand that out as a view of ORT's value.
TEST_F(OrtEngineTest, GraphInputPassedThroughAsOutputIsIndependent) {
  Proto node;
  node.bytes(1, "in").bytes(2, "out").bytes(3, "node0").bytes(4, "Identity");
  Proto graph;
  graph.message(1, node).bytes(2, "g");
  graph.message(11, valueInfo("in", DataType::Float32, {int64_t{4}}));
  graph.message(12, valueInfo("out", DataType::Float32, {int64_t{4}}));
  graph.message(12, valueInfo("in", DataType::Float32, {int64_t{4}}));  // input as output
  Proto opsetId;
  opsetId.bytes(1, "").varint(2, 21);
  Proto modelProto;
  modelProto.varint(1, 10).message(7, graph).message(8, opsetId);
  auto model = loadOrt(write("passthrough.onnx", modelProto.str()));
  ASSERT_EQ(model->outputs().size(), 2u);
  EXPECT_EQ(model->outputs()[1].name, "in");
  Predictor predictor = model->newPredictor();
  Tensors out;
  {
    Tensor in = Tensor::fromVector<float>({4}, {1, 2, 3, 4});
    out = predictor.predict({in});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_NE(out[1].tensor.rawData(), in.rawData());
    in.mutableData<float>()[0] = 100;  // the caller reuses its buffer...
  }                                    // ...and frees it
  EXPECT_EQ(out[0].tensor.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(out[1].tensor.toVector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

// ------------------------------------------------------------------ dtypes

TEST_F(OrtEngineTest, StringTensorsRoundTrip) {
  auto model = loadOrt(identityModel(DataType::String));
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].dtype, DataType::String);
  EXPECT_EQ(model->inputs()[0].dimNames, (std::vector<std::string>{"n"}));
  EXPECT_EQ(model->outputs()[0].dtype, DataType::String);
  Predictor predictor = model->newPredictor();
  const std::vector<std::string> values = {"hello", "", "wörld ✓", std::string("nul\0inside", 10),
                                           std::string(1000, 'x')};
  for (int round = 0; round < 2; ++round) {
    Tensors out = predictor.predict({Tensor::fromStrings({5}, values)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].name, "out");
    EXPECT_EQ(out[0].tensor.dtype(), DataType::String);
    EXPECT_EQ(out[0].tensor.shape(), (Shape{5}));
    EXPECT_EQ(out[0].tensor.strings(), values);
  }
  Tensors none = predictor.predict({Tensor::fromStrings({0}, {})});
  EXPECT_EQ(none[0].tensor.shape(), (Shape{0}));
}

// Every ONNX dtype either round-trips through Identity byte for byte or is
// refused with Error(Unsupported) — never a crash.
TEST_F(OrtEngineTest, EveryDtypeRoundTripsOrIsUnsupported) {
  const std::vector<DataType> roundTrips = {
      DataType::Float32,    DataType::UInt8,        DataType::Int8,
      DataType::UInt16,     DataType::Int16,        DataType::Int32,
      DataType::Int64,      DataType::Bool,         DataType::Float16,
      DataType::Float64,    DataType::UInt32,       DataType::UInt64,
      DataType::BFloat16,   DataType::Float8E4M3FN, DataType::Float8E4M3FNUZ,
      DataType::Float8E5M2, DataType::Float8E5M2FNUZ};
  for (DataType type : roundTrips) {
    SCOPED_TRACE(std::string(toString(type)));
    auto model = loadOrt(identityModel(type, {std::string("n"), int64_t{3}}));
    EXPECT_EQ(model->inputs()[0].dtype, type);
    EXPECT_EQ(model->outputs()[0].dtype, type);
    EXPECT_EQ(model->inputs()[0].shape, (Shape{-1, 3}));
    Predictor predictor = model->newPredictor();
    const Tensor in = filled(type, {2, 3}, 11);
    const Tensor out = predictor.predict({in})[0].tensor;
    ASSERT_EQ(out.dtype(), type);
    ASSERT_EQ(out.shape(), in.shape());
    ASSERT_EQ(out.byteSize(), in.byteSize());
    EXPECT_EQ(std::memcmp(out.rawData(), in.rawData(), in.byteSize()), 0);
  }
  // ORT 1.29's CPU Identity has no kernel for these (sub-byte types cross
  // the boundary in PackedInt4CrossesTheBoundary instead).
  for (DataType type : {DataType::UInt4, DataType::Int4, DataType::Float4E2M1, DataType::UInt2,
                        DataType::Int2, DataType::Float8E8M0}) {
    SCOPED_TRACE(std::string(toString(type)));
    try {
      auto model = loadOrt(identityModel(type));
      // A newer ORT may have one: then it must round-trip.
      Predictor predictor = model->newPredictor();
      const Tensor in = filled(type, {5}, 11);
      const Tensor out = predictor.predict({in})[0].tensor;
      ASSERT_EQ(out.byteSize(), in.byteSize());
      EXPECT_EQ(std::memcmp(out.rawData(), in.rawData(), in.byteSize()), 0);
    } catch (const Error& e) {
      EXPECT_EQ(toString(e.code()), toString(ErrorCode::Unsupported)) << e.what();
    }
  }
  // ORT has no complex tensors at all: the error names the dtype.
  for (DataType type : {DataType::Complex64, DataType::Complex128}) {
    const std::string name(toString(type));
    SCOPED_TRACE(name);
    const fs::path file = identityModel(type);
    try {
      loadOrt(file);
      ADD_FAILURE() << "loaded a " << name << " model";
    } catch (const Error& e) {
      EXPECT_EQ(toString(e.code()), toString(ErrorCode::Unsupported)) << e.what();
      EXPECT_NE(std::string(e.what()).find("dtype " + name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
  }
}

// int4 is packed two to a byte, low nibble first, as in ONNX: in through
// DequantizeLinear, out of QuantizeLinear.
TEST_F(OrtEngineTest, PackedInt4CrossesTheBoundary) {
  const std::vector<int> values = {-8, -1, 0, 3, 7};
  auto pack = [](const std::vector<int>& v) {
    std::vector<uint8_t> bytes((v.size() + 1) / 2, 0);
    for (std::size_t i = 0; i < v.size(); ++i)
      bytes[i / 2] |= static_cast<uint8_t>((v[i] & 0xF) << (i % 2 ? 4 : 0));
    return bytes;
  };
  const std::vector<uint8_t> packed = pack(values);
  const Tensor scale = Tensor::fromVector<float>({}, {0.5f});
  {
    auto model = loadOrt(write("dq.onnx", oneNodeModel("DequantizeLinear",
                                                       {{"x", DataType::Int4, {int64_t{5}}},
                                                        {"scale", DataType::Float32, {}}},
                                                       {{"y", DataType::Float32, {int64_t{5}}}},
                                                       21)));
    EXPECT_EQ(model->inputs()[0].dtype, DataType::Int4);
    Tensor x = Tensor::allocate(DataType::Int4, {5});
    ASSERT_EQ(x.byteSize(), 3u);
    std::memcpy(x.mutableRawData(), packed.data(), packed.size());
    Predictor predictor = model->newPredictor();
    EXPECT_EQ(predictor.predict({x, scale})[0].tensor.toVector<float>(),
              (std::vector<float>{-4, -0.5f, 0, 1.5f, 3.5f}));
  }
  {
    auto model = loadOrt(write("q.onnx", oneNodeModel("QuantizeLinear",
                                                      {{"x", DataType::Float32, {int64_t{5}}},
                                                       {"scale", DataType::Float32, {}},
                                                       {"zero", DataType::Int4, {}}},
                                                      {{"y", DataType::Int4, {int64_t{5}}}}, 21)));
    EXPECT_EQ(model->outputs()[0].dtype, DataType::Int4);
    Tensor zero = Tensor::allocate(DataType::Int4, {});
    Predictor predictor = model->newPredictor();
    const Tensor y = predictor.predict(
        {Tensor::fromVector<float>({5}, {-4, -0.5f, 0, 1.5f, 3.5f}), scale, zero})[0].tensor;
    EXPECT_EQ(y.dtype(), DataType::Int4);
    EXPECT_EQ(y.shape(), (Shape{5}));
    ASSERT_EQ(y.byteSize(), 3u);
    // The unused high nibble of the last byte is not specified: compare nibbles.
    const auto* got = static_cast<const uint8_t*>(y.rawData());
    for (std::size_t i = 0; i < values.size(); ++i)
      EXPECT_EQ((got[i / 2] >> (i % 2 ? 4 : 0)) & 0xF, values[i] & 0xF) << "element " << i;
  }
}

// --------------------------------------------------------------- failures

TEST_F(OrtEngineTest, CorruptOrTruncatedModelsAreInvalidArgument) {
  std::ifstream in(test::modelFile("mlp", "model.onnx"), std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(good.size(), 100u);
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);

  const std::vector<std::pair<std::string, std::string>> files = {
      {"truncated.onnx", good.substr(0, good.size() / 2)},
      {"header_only.onnx", good.substr(0, 16)},
      {"garbage.onnx", garbage},
      {"text.onnx", "this is not a model\n"},
  };
  for (const auto& [name, bytes] : files) {
    SCOPED_TRACE(name);
    const fs::path file = write(name, bytes);
    expectError([&] { loadOrt(file); }, ErrorCode::InvalidArgument, {file.string()});
  }
  // The process and the engine are fine.
  auto model = loadGenerated("mlp");
  Predictor predictor = model->newPredictor();
  EXPECT_EQ(predictor.predict(test::loadReference("mlp").inputs).size(), 1u);
}

TEST_F(OrtEngineTest, ValidProtobufButInvalidGraphIsRefused) {
  // Identity with an input type that does not match its output's.
  const fs::path file = write("mismatch.onnx",
                              oneNodeModel("Identity", {{"in", DataType::Float32, {int64_t{2}}}},
                                           {{"out", DataType::Int64, {int64_t{2}}}}));
  try {
    loadOrt(file);
    ADD_FAILURE() << "loaded an inconsistent graph";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::InvalidArgument || e.code() == ErrorCode::Unsupported)
        << toString(e.code()) << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}

TEST_F(OrtEngineTest, RunFailureLeavesThePredictorWorking) {
  // Reshape whose target shape is an input: a bad shape passes polyinfer's
  // checks (dtype, rank) and fails inside ORT.
  const fs::path file = write(
      "reshape.onnx",
      oneNodeModel("Reshape", {{"data", DataType::Float32, {int64_t{6}}},
                               {"shape", DataType::Int64, {int64_t{2}}}},
                   {{"out", DataType::Float32, {std::string("a"), std::string("b")}}}));
  auto model = loadOrt(file);
  Predictor predictor = model->newPredictor();
  const Tensor data = Tensor::fromVector<float>({6}, {1, 2, 3, 4, 5, 6});
  for (int round = 0; round < 3; ++round) {
    try {
      predictor.predict({data, Tensor::fromVector<int64_t>({2}, {4, 4})});
      ADD_FAILURE() << "reshape of 6 elements to [4,4] succeeded";
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::EngineFailure || e.code() == ErrorCode::InvalidArgument)
          << toString(e.code()) << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find("onnxruntime"), std::string::npos) << e.what();
    }
    Tensors out = predictor.predict({data, Tensor::fromVector<int64_t>({2}, {2, 3})});
    EXPECT_EQ(out[0].tensor.shape(), (Shape{2, 3}));
    EXPECT_EQ(out[0].tensor.toVector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

// ---------------------------------------------------------------- profiler

TEST_F(OrtEngineTest, ProfilerWritesItsFileWhenTheModelIsReleased) {
  const std::string prefix = (dir_ / "ortprofile").string();
  {
    auto model = loadGenerated("mlp", {{"profilerOutput", prefix}});
    const ConfigEntry* entry = test::configEntry(*model, "profilerOutput");
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->value, prefix);
    EXPECT_EQ(entry->source, ValueSource::Explicit);
    Predictor predictor = model->newPredictor();
    predictor.predict(test::loadReference("mlp").inputs);
  }
  int profiles = 0;
  for (const fs::directory_entry& file : fs::directory_iterator(dir_)) {
    const std::string name = file.path().filename().string();
    if (name.rfind("ortprofile", 0) == 0 && file.path().extension() == ".json") {
      ++profiles;
      EXPECT_GT(fs::file_size(file.path()), 0u);
    }
  }
  EXPECT_EQ(profiles, 1);
}

// ---------------------------------------------------------------- process-wide thread pool
//
// ONNX Runtime's environment, and with it the process-wide pool, is created
// once per process: each scenario runs in a fresh child process (a death
// test in "threadsafe" style re-executes this binary), so test order and
// running the whole binary in one process do not matter.

int threadCount() {
  int count = 0;
  for ([[maybe_unused]] const fs::directory_entry& task : fs::directory_iterator("/proc/self/task")) ++count;
  return count;
}

/// In the child: exits 0 when `check` returns "", else prints the reason and exits 1.
[[noreturn]] void exitWith(const std::function<std::string()>& check) {
  std::string failure;
  try {
    failure = check();
  } catch (const std::exception& e) {
    failure = std::string("exception: ") + e.what();
  }
  if (!failure.empty()) std::fprintf(stderr, "%s\n", failure.c_str());
  std::fflush(stderr);
  std::_Exit(failure.empty() ? 0 : 1);
}

TEST(OrtEngineThreadPool, SharedPoolStartsItsThreadsOnceForEveryModel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exitWith([] {
                // 4 intra-op threads per pool: a session's own pool starts 3
                // threads (the caller is the 4th); so does the shared one, once.
                ::setenv("POLYINFER_ORT_GLOBAL_INTRA_OP_THREADS", "4", 1);
                const int base = threadCount();
                std::vector<std::shared_ptr<Model>> shared;
                shared.push_back(loadGenerated("mlp", {{"disablePerSessionThreads", "true"}}));
                const int afterFirst = threadCount();
                for (int i = 0; i < 2; ++i)
                  shared.push_back(loadGenerated("mlp", {{"disablePerSessionThreads", "true"}}));
                const int afterShared = threadCount();
                std::vector<std::shared_ptr<Model>> own;
                for (int i = 0; i < 3; ++i)
                  own.push_back(loadGenerated("mlp", {{"intraOpNumThreads", "4"}}));
                const int afterOwn = threadCount();
                const ConfigEntry* intra = test::configEntry(*shared[0], "intraOpNumThreads");
                const test::Reference ref = test::loadReference("mlp");
                const Tensor a = shared[2]->newPredictor().predict(ref.inputs)[0].tensor;
                const Tensor b = own[2]->newPredictor().predict(ref.inputs)[0].tensor;
                std::string failure;
                // The environment starts the pools: 3 intra-op threads, and
                // ONNX Runtime's inter-op pool of 1.
                if (afterFirst - base < 3 || afterFirst - base > 4)
                  failure += "the environment with the shared pool started " +
                             std::to_string(afterFirst - base) + " threads, expected 3 or 4; ";
                if (afterShared != afterFirst)
                  failure += "2 more models on the shared pool started " +
                             std::to_string(afterShared - afterFirst) + " threads, expected 0; ";
                if (afterOwn - afterShared != 9)
                  failure += "3 models with their own pools started " +
                             std::to_string(afterOwn - afterShared) + " threads, expected 9; ";
                if (intra == nullptr || intra->value != "4" || intra->source != ValueSource::Environment)
                  failure += "intraOpNumThreads entry should say 4 from the environment; ";
                if (test::maxAbsDiff(a, ref.outputs[0].tensor) > 1e-4 || test::maxAbsDiff(b, a) > 1e-5)
                  failure += "outputs differ from the reference; ";
                return failure;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST(OrtEngineThreadPool, SharedPoolNeedsAnEnvironmentMadeWithIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exitWith([] {
                ::unsetenv("POLYINFER_ORT_GLOBAL_THREAD_POOL");
                loadGenerated("mlp");  // creates the environment without the pool
                try {
                  loadGenerated("mlp", {{"disablePerSessionThreads", "true"}});
                } catch (const Error& e) {
                  const std::string message = e.what();
                  if (e.code() != ErrorCode::Unsupported ||
                      message.find("POLYINFER_ORT_GLOBAL_THREAD_POOL=1") == std::string::npos)
                    return "unexpected error: " + message;
                  return std::string();
                }
                return std::string("no error for disablePerSessionThreads without the pool");
              }),
              ::testing::ExitedWithCode(0), "");
  // Explicit per-session thread settings contradict the shared pool.
  EXPECT_EXIT(exitWith([] {
                ::setenv("POLYINFER_ORT_GLOBAL_THREAD_POOL", "1", 1);
                try {
                  loadGenerated("mlp", {{"disablePerSessionThreads", "true"}, {"intraOpNumThreads", "1"}});
                } catch (const Error& e) {
                  if (e.code() != ErrorCode::InvalidArgument) return std::string("wrong code: ") + e.what();
                  return std::string();
                }
                return std::string("no error for intraOpNumThreads with the shared pool");
              }),
              ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------- optimised-model cache

TEST_F(OrtEngineTest, OptimizedModelCacheIsWrittenOnceAndReused) {
  const fs::path cache = dir_ / "ort-cache";
  const test::Reference ref = test::loadReference("mlp");
  auto first = loadGenerated("mlp", {{"optimizedModelCache", cache.string()}});
  const ConfigEntry* miss = test::configEntry(*first, "optimizedModelCache");
  ASSERT_NE(miss, nullptr);
  EXPECT_NE(miss->detail.find("miss"), std::string::npos) << miss->detail;
  std::vector<fs::path> files;
  for (const fs::directory_entry& file : fs::directory_iterator(cache)) files.push_back(file.path());
  ASSERT_EQ(files.size(), 1u);  // no temporary file left behind
  EXPECT_EQ(files[0].extension(), ".onnx");
  EXPECT_EQ(files[0].filename().string().rfind("model.", 0), 0u);

  auto second = loadGenerated("mlp", {{"optimizedModelCache", cache.string()}});
  const ConfigEntry* hit = test::configEntry(*second, "optimizedModelCache");
  ASSERT_NE(hit, nullptr);
  EXPECT_NE(hit->detail.find("hit"), std::string::npos) << hit->detail;
  test::expectAllClose(second->newPredictor().predict(ref.inputs)[0].tensor, ref.outputs[0].tensor,
                       1e-5, 1e-4, "mlp from the cache");
  // Another optimisation level is another cache entry.
  auto basic = loadGenerated("mlp", {{"optimizedModelCache", cache.string()}, {"optLevel", "BASIC_OPT"}});
  EXPECT_NE(test::configEntry(*basic, "optimizedModelCache")->detail.find("miss"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(cache), fs::directory_iterator()), 2);
  EXPECT_EQ(test::configEntry(*loadGenerated("mlp"), "optimizedModelCache")->value, "off");
}

}  // namespace
}  // namespace polyinfer

#else

TEST(OrtEngine, NotBuilt) { GTEST_SKIP() << "built without the ONNX Runtime engine"; }

#endif  // POLYINFER_HAVE_ONNXRUNTIME
