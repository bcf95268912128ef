// The LibTorch engine plugin: naming, knobs and config(), devices, zero-copy
// outputs, use_mkldnn, error translation. (Parity with PyTorch, many-thread
// consistency and generic input validation live in the cross-engine tests.)
// Over 500 lines: one file per unit under test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_TORCH

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<Model> loadTorch(const std::string& model, Options options = {},
                                 const std::string& device = "cpu") {
  return Model::load(Criteria{.modelPath = test::modelFile(model, "model.pt"),
                              .engine = "torch",
                              .device = device,
                              .options = std::move(options)});
}

std::shared_ptr<Model> loadTorchFile(const fs::path& file, Options options = {}) {
  return Model::load(
      Criteria{.modelPath = file, .engine = "torch", .options = std::move(options)});
}

ConfigEntry configEntry(const Model& model, const std::string& key) {
  for (const ConfigEntry& entry : model.config())
    if (entry.key == key) return entry;
  ADD_FAILURE() << "config() has no entry '" << key << "'";
  return {};
}

/// Runs `body`, expects an Error with `code`, returns its message.
template <typename Body>
std::string expectError(ErrorCode code, Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << toString(e.code()) << ": " << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected polyinfer::Error " << toString(code) << ", got another exception: "
                  << e.what();
    return {};
  }
  ADD_FAILURE() << "expected polyinfer::Error " << toString(code) << ", got none";
  return {};
}

/// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

Tensors mlpInput(float value = 0.25f) {
  Tensors inputs;
  inputs.add("x", Tensor::fromVector<float>({1, 16}, std::vector<float>(16, value)));
  return inputs;
}

bool hasCuda() {
  const auto devices = Registry::global().describe("torch").devices;
  return devices.size() > 1;
}

/// A scratch directory for broken model files, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() /
            ("polyinfer_torch_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string readBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeBytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ------------------------------------------------------------------ describe

TEST(TorchEngine, DescribesItself) {
  const EngineDescription d = Registry::global().describe("torch");
  EXPECT_EQ(d.name, "torch");
  EXPECT_FALSE(d.version.empty());
  // The formats come from the plugin's manifest.
  ASSERT_EQ(d.formats.size(), 1u);
  EXPECT_EQ(d.formats[0].name, "TorchScript");
  const std::vector<std::string>& suffixes = d.formats[0].suffixes;
  EXPECT_NE(std::find(suffixes.begin(), suffixes.end(), ".pt"), suffixes.end());
  ASSERT_FALSE(d.devices.empty());
  EXPECT_EQ(d.devices[0], "cpu");
  for (std::size_t i = 1; i < d.devices.size(); ++i)
    EXPECT_EQ(d.devices[i], "gpu" + std::to_string(i - 1));
  EXPECT_TRUE(d.reentrant);
  std::vector<std::string> keys;
  for (const OptionSpec& spec : d.options) keys.push_back(spec.key);
  for (const char* key :
       {"num_threads", "num_interop_threads", "graph_optimizer", "use_mkldnn", "cudnn_benchmark"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
}

// ------------------------------------------------------------------ inputs and outputs

TEST(TorchEngine, InputNamesComeFromForwardArguments) {
  auto model = loadTorch("multi_io");
  ASSERT_EQ(model->inputs().size(), 3u);
  const char* names[] = {"x", "idx", "mask"};
  for (std::size_t i = 0; i < 3; ++i) {
    const TensorInfo& info = model->inputs()[i];
    EXPECT_EQ(info.name, names[i]);
    EXPECT_EQ(info.dtype, DataType::Undefined) << "TorchScript declares no input types";
    EXPECT_FALSE(info.rankKnown) << "TorchScript declares no input shapes";
  }
  EXPECT_EQ(loadTorch("mlp")->inputs().at(0).name, "x");
  EXPECT_EQ(loadTorch("resnet18")->inputs().at(0).name, "input");
}

TEST(TorchEngine, TupleOutputsAreNamedByPosition) {
  auto model = loadTorch("multi_io");
  ASSERT_EQ(model->outputs().size(), 2u);
  EXPECT_EQ(model->outputs()[0].name, "output_0");
  EXPECT_EQ(model->outputs()[1].name, "output_1");
  for (const TensorInfo& info : model->outputs()) {
    EXPECT_EQ(info.dtype, DataType::Undefined) << "unknown until run";
    EXPECT_FALSE(info.rankKnown);
  }

  const test::Reference ref = test::loadReference("multi_io");
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict(ref.inputs);
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].name, "output_0");
  EXPECT_EQ(outputs[0].tensor.dtype(), DataType::Float32);
  EXPECT_EQ(outputs[0].tensor.shape(), (Shape{2, 4}));
  EXPECT_EQ(outputs[1].name, "output_1");
  EXPECT_EQ(outputs[1].tensor.dtype(), DataType::Int64);
  EXPECT_EQ(outputs[1].tensor.shape(), (Shape{2}));
}

TEST(TorchEngine, SingleTensorOutputIsNamedOutput) {
  auto model = loadTorch("mlp");
  ASSERT_EQ(model->outputs().size(), 1u);
  EXPECT_EQ(model->outputs()[0].name, "output");
  Predictor predictor = model->newPredictor();
  const Tensors outputs = predictor.predict(mlpInput());
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].name, "output");
  EXPECT_EQ(outputs[0].tensor.dtype(), DataType::Float32);
  EXPECT_EQ(outputs[0].tensor.shape(), (Shape{1, 8}));
}

// nested_outputs (tools/gen_models.py, TorchScript only) returns
//   Tuple[Tensor, List[Tensor], Dict[str, Tensor], Tuple[Tensor, Tuple[Tensor, int]], float]
// with the dict's keys inserted as "zeta", then "alpha". The flattening rule at the
// top of src/engines/torch/torch_engine.hpp names its parts:
const std::vector<std::string> kNestedOutputNames = {
    "output_0",                        // tensor in the top-level tuple
    "output_1_0",    "output_1_1",     // list of 2 tensors
    "output_2.zeta", "output_2.alpha", // dict nested in the tuple: "<name>.<key>", insertion order
    "output_3_0",                      // nested tuple: tensor,
    "output_3_1_0",  "output_3_1_1",   //   tuple of a tensor and an int
    "output_4"};                       // float

TEST(TorchEngine, NestedOutputsBeforeARunAreWhatTheSchemaTells) {
  auto model = loadTorch("nested_outputs");
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].name, "x");

  // Tuples are expanded (recursively); a list or dict has no arity in the
  // schema: one placeholder under its base name; scalars are 0-d of known dtype.
  struct Expected {
    const char* name;
    DataType dtype;
    bool rankKnown;
  };
  const std::vector<Expected> expected = {
      {"output_0", DataType::Undefined, false},     {"output_1", DataType::Undefined, false},
      {"output_2", DataType::Undefined, false},     {"output_3_0", DataType::Undefined, false},
      {"output_3_1_0", DataType::Undefined, false}, {"output_3_1_1", DataType::Int64, true},
      {"output_4", DataType::Float64, true}};
  std::vector<std::string> names;
  for (const TensorInfo& info : model->outputs()) names.push_back(info.name);
  ASSERT_EQ(names.size(), expected.size()) << ::testing::PrintToString(names);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const TensorInfo& info = model->outputs()[i];
    EXPECT_EQ(info.name, expected[i].name) << "output " << i;
    EXPECT_EQ(info.dtype, expected[i].dtype) << info.name;
    EXPECT_EQ(info.rankKnown, expected[i].rankKnown) << info.name;
    if (info.rankKnown) {
      EXPECT_TRUE(info.shape.empty()) << info.name << " is a scalar: 0-d";
    }
  }
}

TEST(TorchEngine, NestedOutputsAreFlattenedWithDocumentedNamesAndValues) {
  auto model = loadTorch("nested_outputs");
  Tensors inputs;
  inputs.add("x", io::readNpy(test::modelFile("nested_outputs", "npy/x.npy")));
  Predictor predictor = model->newPredictor();
  for (int call = 0; call < 2; ++call) {  // names are stable from call to call
    SCOPED_TRACE("call " + std::to_string(call));
    const Tensors outputs = predictor.predict(inputs);
    std::vector<std::string> names;
    for (const NamedTensor& out : outputs) names.push_back(out.name);
    ASSERT_EQ(names, kNestedOutputNames);
    // PyTorch's values, saved by the generator under the same flattened names.
    for (const NamedTensor& out : outputs) {
      const Tensor expected =
          io::readNpy(test::modelFile("nested_outputs", "npy/" + out.name + ".npy"));
      if (expected.dtype() == DataType::Float32 || expected.dtype() == DataType::Float64)
        test::expectAllClose(out.tensor, expected, 1e-5, 1e-5, out.name);
      else
        test::expectIdentical(out.tensor, expected, out.name);
    }
    // The int and the float come back as 0-d int64 and float64 tensors.
    EXPECT_EQ(outputs[7].tensor.dtype(), DataType::Int64);
    EXPECT_EQ(outputs[7].tensor.shape(), Shape{});
    EXPECT_EQ(outputs[8].tensor.dtype(), DataType::Float64);
    EXPECT_EQ(outputs[8].tensor.shape(), Shape{});
  }
}

TEST(TorchEngine, ZeroCopyOutputOutlivesPredictorAndModel) {
  Tensor kept;
  Tensor expected;
  {
    auto model = loadTorch("mlp");
    Predictor predictor = model->newPredictor();
    Tensors outputs = predictor.predict(mlpInput(0.5f));
    kept = outputs[0].tensor;
    expected = kept.clone();
    // The next call must not overwrite what an earlier call handed out.
    predictor.predict(mlpInput(-3.0f));
  }
  test::expectIdentical(kept, expected, "output kept after predictor and model are gone");
}

TEST(TorchEngine, OutputsOfSuccessiveCallsAreIndependent) {
  auto model = loadTorch("dynamic_batch");
  Predictor predictor = model->newPredictor();
  Tensors in;
  in.add("x", Tensor::fromVector<float>({2, 3, 8, 8}, std::vector<float>(2 * 3 * 8 * 8, 1.0f)));
  const Tensor first = predictor.predict(in)[0].tensor;
  const Tensor firstCopy = first.clone();
  Tensors other;
  other.add("x", Tensor::fromVector<float>({4, 3, 8, 8}, std::vector<float>(4 * 3 * 8 * 8, -2.0f)));
  const Tensor second = predictor.predict(other)[0].tensor;
  EXPECT_EQ(second.shape(), (Shape{4, 5}));
  test::expectIdentical(first, firstCopy, "first output after a second call");
}

TEST(TorchEngine, UnsupportedInputDtypeIsNamed) {
  auto model = loadTorch("mlp");
  Predictor predictor = model->newPredictor();
  Tensors in;
  in.add("x", Tensor::allocate(DataType::UInt16, {1, 16}));
  const std::string message = expectError(ErrorCode::Unsupported, [&] { predictor.predict(in); });
  EXPECT_NE(message.find("uint16"), std::string::npos) << message;
  EXPECT_NE(message.find("'x'"), std::string::npos) << message;
  EXPECT_EQ(predictor.predict(mlpInput())[0].tensor.shape(), (Shape{1, 8}));
}

// ------------------------------------------------------------------ knobs and config()

TEST(TorchEngine, EveryKnobIsReportedInConfig) {
  auto model = loadTorch("mlp", {{"graph_optimizer", "false"},
                                 {"use_mkldnn", "true"},
                                 {"cudnn_benchmark", "true"}});
  const ConfigEntry graph = configEntry(*model, "graph_optimizer");
  EXPECT_EQ(graph.value, "false");
  EXPECT_EQ(graph.source, ValueSource::Explicit);
  const ConfigEntry mkldnn = configEntry(*model, "use_mkldnn");
  EXPECT_EQ(mkldnn.value, "true");
  EXPECT_EQ(mkldnn.source, ValueSource::Explicit);
  EXPECT_NE(mkldnn.detail.find("optimize_for_inference"), std::string::npos) << mkldnn.detail;
  const ConfigEntry cudnn = configEntry(*model, "cudnn_benchmark");
  if (!hasCuda()) {
    EXPECT_EQ(cudnn.value, "true");
    EXPECT_EQ(cudnn.source, ValueSource::Explicit);
    EXPECT_NE(cudnn.detail.find("no effect without CUDA"), std::string::npos) << cudnn.detail;
  }
  // The model still runs with every knob set.
  Predictor predictor = model->newPredictor();
  EXPECT_EQ(predictor.predict(mlpInput())[0].tensor.shape(), (Shape{1, 8}));

  auto defaults = loadTorch("mlp");
  const ConfigEntry graphDefault = configEntry(*defaults, "graph_optimizer");
  EXPECT_EQ(graphDefault.value, "true");
  EXPECT_EQ(graphDefault.source, ValueSource::Default);
  // On by default on the CPU (see torch_settings.cpp: 1x1 convolutions at one
  // intra-op thread), with the reason and the conversions it made.
  const ConfigEntry mkldnnDefault = configEntry(*defaults, "use_mkldnn");
  EXPECT_EQ(mkldnnDefault.value, "true");
  EXPECT_EQ(mkldnnDefault.source, ValueSource::Default);
  EXPECT_NE(mkldnnDefault.detail.find("on for cpu"), std::string::npos) << mkldnnDefault.detail;
  EXPECT_NE(mkldnnDefault.detail.find("optimize_for_inference"), std::string::npos)
      << mkldnnDefault.detail;
  EXPECT_EQ(configEntry(*defaults, "cudnn_benchmark").value, "false");
}

TEST(TorchEngine, GraphOptimizerOffGivesSameOutputs) {
  const Tensors in = mlpInput(0.75f);
  auto on = loadTorch("mlp", {{"graph_optimizer", "true"}});
  auto off = loadTorch("mlp", {{"graph_optimizer", "false"}});
  Predictor a = on->newPredictor();
  Predictor b = off->newPredictor();
  // Interleaved on one thread: each predictor sets the thread-local flag it needs.
  for (int i = 0; i < 4; ++i)
    test::expectAllClose(b.predict(in)[0].tensor, a.predict(in)[0].tensor, 1e-6, 1e-6,
                         "graph_optimizer off vs on, call " + std::to_string(i));
}

TEST(TorchEngine, NumThreadsIsProcessWideAndConflictsAreReported) {
  // Whatever this process uses (set by the first model loaded here).
  const std::string inEffect = configEntry(*loadTorch("mlp"), "num_threads").value;
  const int threads = std::stoi(inEffect);
  ASSERT_GE(threads, 1);

  const ConfigEntry same =
      configEntry(*loadTorch("mlp", {{"num_threads", inEffect}}), "num_threads");
  EXPECT_EQ(same.value, inEffect);
  EXPECT_EQ(same.source, ValueSource::Explicit);

  const std::string other = std::to_string(threads + 1);
  auto conflicting = loadTorch("mlp", {{"num_threads", other}});
  const ConfigEntry conflict = configEntry(*conflicting, "num_threads");
  EXPECT_EQ(conflict.value, inEffect);
  EXPECT_EQ(conflict.source, ValueSource::Engine);
  EXPECT_NE(conflict.detail.find("requested " + other), std::string::npos) << conflict.detail;
  EXPECT_NE(conflict.detail.find("set once per process"), std::string::npos) << conflict.detail;
  Predictor predictor = conflicting->newPredictor();
  EXPECT_EQ(predictor.predict(mlpInput())[0].tensor.shape(), (Shape{1, 8}));
}

TEST(TorchEngine, NumThreadsFromEnvironment) {
  const std::string inEffect = configEntry(*loadTorch("mlp"), "num_threads").value;
  ScopedEnv omp("OMP_NUM_THREADS", std::nullopt);
  {
    ScopedEnv env("POLYINFER_INTRA_OP_THREADS", inEffect);
    const ConfigEntry entry = configEntry(*loadTorch("mlp"), "num_threads");
    EXPECT_EQ(entry.value, inEffect);
    EXPECT_EQ(entry.source, ValueSource::Environment);
    EXPECT_NE(entry.detail.find("POLYINFER_INTRA_OP_THREADS"), std::string::npos) << entry.detail;
  }
  {
    // An explicit option wins over the environment.
    ScopedEnv env("POLYINFER_INTRA_OP_THREADS", std::to_string(std::stoi(inEffect) + 3));
    const ConfigEntry entry =
        configEntry(*loadTorch("mlp", {{"num_threads", inEffect}}), "num_threads");
    EXPECT_EQ(entry.source, ValueSource::Explicit);
  }
  {
    ScopedEnv env("POLYINFER_INTRA_OP_THREADS", "lots");
    const std::string message = expectError(ErrorCode::InvalidArgument, [] { loadTorch("mlp"); });
    EXPECT_NE(message.find("POLYINFER_INTRA_OP_THREADS"), std::string::npos) << message;
  }
}

TEST(TorchEngine, ConflictingInteropThreadsAreReportedNotFatal) {
  auto first = loadTorch("mlp");
  const ConfigEntry firstEntry = configEntry(*first, "num_interop_threads");
  const int inEffect = std::stoi(firstEntry.value);
  ASSERT_GE(inEffect, 1);

  const std::string other = std::to_string(inEffect + 1);
  auto second = loadTorch("multi_io", {{"num_interop_threads", other}});
  const ConfigEntry entry = configEntry(*second, "num_interop_threads");
  EXPECT_EQ(entry.value, firstEntry.value);
  EXPECT_EQ(entry.source, ValueSource::Engine);
  EXPECT_NE(entry.detail.find("requested " + other), std::string::npos) << entry.detail;
  EXPECT_NE(entry.detail.find("once per process"), std::string::npos) << entry.detail;

  // Both models keep working.
  Predictor p1 = first->newPredictor();
  Predictor p2 = second->newPredictor();
  EXPECT_EQ(p1.predict(mlpInput())[0].tensor.shape(), (Shape{1, 8}));
  EXPECT_EQ(p2.predict(test::loadReference("multi_io").inputs).size(), 2u);
}

TEST(TorchEngine, InvalidOptionValuesAreRefused) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"num_threads", "abc"},
           {"num_threads", "-1"},
           {"num_threads", "0"},
           {"num_interop_threads", "x"},
           {"num_interop_threads", "-1"},
           {"graph_optimizer", "maybe"},
           {"use_mkldnn", "2"},
           {"cudnn_benchmark", ""}}) {
    SCOPED_TRACE(key + "=" + value);
    const std::string message =
        expectError(ErrorCode::InvalidArgument, [&] { loadTorch("mlp", {{key, value}}); });
    EXPECT_NE(message.find(key), std::string::npos) << message;
  }
}

TEST(TorchEngine, CrossEngineThreadAliasesAreAccepted) {
  const std::string inEffect = configEntry(*loadTorch("mlp"), "num_threads").value;
  auto model = loadTorch("mlp", {{"intraOpNumThreads", inEffect}});
  EXPECT_EQ(configEntry(*model, "num_threads").source, ValueSource::Explicit);
}

// Criteria's thread fields set the same process-wide knobs as the options.
TEST(TorchEngine, CriteriaThreadsSetNumThreadsAndInteropThreads) {
  auto first = loadTorch("mlp");
  const std::string intra = configEntry(*first, "num_threads").value;
  const std::string inter = configEntry(*first, "num_interop_threads").value;
  auto model = Model::load(Criteria{.modelPath = test::modelFile("mlp", "model.pt"),
                                    .engine = "torch",
                                    .intraOpThreads = std::stoi(intra),
                                    .interOpThreads = std::stoi(inter)});
  for (const auto& [key, value, field] :
       {std::tuple{"num_threads", intra, "Criteria::intraOpThreads"},
        std::tuple{"num_interop_threads", inter, "Criteria::interOpThreads"}}) {
    SCOPED_TRACE(key);
    const ConfigEntry entry = configEntry(*model, key);
    EXPECT_EQ(entry.value, value);
    EXPECT_EQ(entry.source, ValueSource::Explicit);
    EXPECT_NE(entry.detail.find(field), std::string::npos) << entry.detail;
  }
  // Another value than the process's is reported, as for the option.
  const std::string other = std::to_string(std::stoi(intra) + 1);
  const ConfigEntry conflict = configEntry(
      *Model::load(Criteria{.modelPath = test::modelFile("mlp", "model.pt"),
                            .engine = "torch",
                            .intraOpThreads = std::stoi(other)}),
      "num_threads");
  EXPECT_EQ(conflict.value, intra);
  EXPECT_EQ(conflict.source, ValueSource::Engine);
  EXPECT_NE(conflict.detail.find("requested " + other), std::string::npos) << conflict.detail;
  // The field and the option together must agree.
  const std::string message = expectError(ErrorCode::InvalidArgument, [&] {
    Model::load(Criteria{.modelPath = test::modelFile("mlp", "model.pt"),
                         .engine = "torch",
                         .options = {{"num_threads", other}},
                         .intraOpThreads = std::stoi(intra)});
  });
  EXPECT_NE(message.find("Criteria::intraOpThreads"), std::string::npos) << message;
  EXPECT_NE(message.find("num_threads"), std::string::npos) << message;
}

// ------------------------------------------------------------------ devices

TEST(TorchEngine, GpuWithoutCudaIsUnsupported) {
  const auto devices = Registry::global().describe("torch").devices;
  const std::string missing = "gpu" + std::to_string(devices.size() - 1);  // one past the last GPU
  const std::string message =
      expectError(ErrorCode::Unsupported, [&] { loadTorch("mlp", {}, missing); });
  EXPECT_NE(message.find(missing), std::string::npos) << message;
  EXPECT_NE(message.find("cpu"), std::string::npos) << "lists the available devices: " << message;
  if (!hasCuda()) {
    EXPECT_NE(message.find("CUDA"), std::string::npos) << message;
  }

  expectError(ErrorCode::InvalidArgument, [&] { loadTorch("mlp", {}, "tpu0"); });
}

TEST(TorchEngine, RunsOnGpuWhenAvailable) {
  if (!hasCuda()) GTEST_SKIP() << "this LibTorch build has no CUDA device";
  auto cpu = loadTorch("mlp");
  auto gpu = loadTorch("mlp", {}, "gpu0");
  Predictor a = cpu->newPredictor();
  Predictor b = gpu->newPredictor();
  test::expectAllClose(b.predict(mlpInput())[0].tensor, a.predict(mlpInput())[0].tensor, 1e-4,
                       1e-4, "gpu0 vs cpu");
}

// ------------------------------------------------------------------ use_mkldnn

TEST(TorchEngine, MkldnnGivesSameOutputsOnResnet18) {
  const test::Reference ref = test::loadReference("resnet18");
  auto plain = loadTorch("resnet18", {{"use_mkldnn", "false"}});
  auto mkldnn = loadTorch("resnet18", {{"use_mkldnn", "true"}});
  const ConfigEntry entry = configEntry(*mkldnn, "use_mkldnn");
  EXPECT_EQ(entry.value, "true");
  EXPECT_NE(entry.detail.find("to_mkldnn"), std::string::npos) << entry.detail;
  Predictor a = plain->newPredictor();
  Predictor b = mkldnn->newPredictor();
  const Tensor expected = a.predict(ref.inputs)[0].tensor;
  for (int i = 0; i < 2; ++i) {
    const Tensor actual = b.predict(ref.inputs)[0].tensor;
    EXPECT_LE(test::maxAbsDiff(actual, expected), 1e-4) << "call " << i;
  }
}

// ------------------------------------------------------------------ precision

TEST(TorchEngine, Bf16RunsResnet18WithFloat32InputsAndOutputs) {
  const test::Reference ref = test::loadReference("resnet18");
  auto model = loadTorch("resnet18", {{"precision", "bf16"}});
  const ConfigEntry entry = configEntry(*model, "precision");
  EXPECT_EQ(entry.value, "bf16");
  EXPECT_EQ(entry.source, ValueSource::Explicit);
  EXPECT_NE(entry.detail.find("bfloat16"), std::string::npos) << entry.detail;
  Predictor predictor = model->newPredictor();
  const Tensor expected = ref.outputs[0].tensor;
  const Tensor actual = predictor.predict(ref.inputs)[0].tensor;
  ASSERT_EQ(actual.dtype(), DataType::Float32);
  ASSERT_EQ(actual.shape(), expected.shape());
  // bf16 keeps 8 significant bits: the logits move (so it did run in bf16)
  // by a few percent of their range at most.
  double range = 0;
  const float* e = expected.data<float>();
  for (int64_t i = 0; i < expected.elementCount(); ++i) range = std::max(range, std::abs(double(e[i])));
  const double error = test::maxAbsDiff(actual, expected);
  EXPECT_GT(error, 0.0);
  EXPECT_LT(error, 0.05 * range) << "range " << range;
  const float* a = actual.data<float>();
  EXPECT_EQ(std::max_element(a, a + actual.elementCount()) - a,
            std::max_element(e, e + expected.elementCount()) - e)
      << "top-1 class differs";
}

TEST(TorchEngine, Bf16PassesBf16InputsAndLeavesOtherDtypesAlone) {
  auto model = loadTorch("mlp", {{"precision", "bf16"}});
  Predictor predictor = model->newPredictor();
  // 0.25 is exact in bf16 (0x3E80): a bf16 input must give what the float32
  // input converted to bf16 gives.
  Tensor x = Tensor::allocate(DataType::BFloat16, {1, 16});
  std::fill_n(static_cast<uint16_t*>(x.mutableRawData()), 16, uint16_t{0x3E80});
  Tensors bf16Input;
  bf16Input.add("x", x);
  const Tensor fromFloat = predictor.predict(mlpInput(0.25f))[0].tensor;
  const Tensor fromBf16 = predictor.predict(bf16Input)[0].tensor;
  EXPECT_EQ(fromFloat.dtype(), DataType::Float32);
  test::expectIdentical(fromBf16, fromFloat, "bf16 input vs float32 input");

  // multi_io: its int64 output stays int64, its float output comes back as float32.
  const test::Reference ref = test::loadReference("multi_io");
  auto multi = loadTorch("multi_io", {{"precision", "bf16"}});
  Predictor multiPredictor = multi->newPredictor();
  const Tensors outputs = multiPredictor.predict(ref.inputs);
  ASSERT_EQ(outputs.size(), ref.outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(outputs[i].tensor.dtype(), ref.outputs[i].tensor.dtype()) << outputs[i].name;
    test::expectAllClose(outputs[i].tensor, ref.outputs[i].tensor, 0.05, 0.02, outputs[i].name);
  }
}

TEST(TorchEngine, PrecisionsTheDeviceCannotRunAreUnsupported) {
  if (!hasCuda()) {
    const std::string message =
        expectError(ErrorCode::Unsupported, [] { loadTorch("mlp", {{"precision", "fp16"}}); });
    EXPECT_NE(message.find("CUDA"), std::string::npos) << message;
    EXPECT_NE(message.find("bf16"), std::string::npos) << message;
  }
  const std::string message =
      expectError(ErrorCode::InvalidArgument, [] { loadTorch("mlp", {{"precision", "fp8"}}); });
  EXPECT_NE(message.find("fp32|bf16|fp16"), std::string::npos) << message;
  const ConfigEntry entry = configEntry(*loadTorch("mlp"), "precision");
  EXPECT_EQ(entry.value, "fp32");
  EXPECT_EQ(entry.source, ValueSource::Default);
}

// ------------------------------------------------------------------ errors

TEST(TorchEngine, BrokenModelFilesAreInvalidArgument) {
  ScratchDir scratch;
  const std::string good = readBytes(test::modelFile("mlp", "model.pt"));
  ASSERT_GT(good.size(), 1000u);

  std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated_half.pt", good.substr(0, good.size() / 2)},
      {"truncated_end.pt", good.substr(0, good.size() - 10)},
      {"garbage.pt", std::string(4096, '\x5a')},
      {"text.pt", "this is not a TorchScript archive\n"},
  };
  std::string flipped = good;
  for (std::size_t i = 64; i < flipped.size(); i += 13) flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  cases.emplace_back("bit_flipped.pt", flipped);

  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const fs::path file = scratch.path() / name;
    writeBytes(file, bytes);
    const std::string message =
        expectError(ErrorCode::InvalidArgument, [&] { loadTorchFile(file); });
    EXPECT_NE(message.find(name), std::string::npos) << "names the file: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    EXPECT_LT(message.size(), 800u) << message;
  }
  // The process survives and a good model still loads and runs.
  Predictor predictor = loadTorch("mlp")->newPredictor();
  EXPECT_EQ(predictor.predict(mlpInput())[0].tensor.shape(), (Shape{1, 8}));
}

TEST(TorchEngine, OnnxFileGivenToTorchIsInvalidArgument) {
  const fs::path onnx = test::modelFile("mlp", "model.onnx");
  expectError(ErrorCode::InvalidArgument, [&] { loadTorchFile(onnx); });
}

TEST(TorchEngine, ForwardFailureIsTranslatedAndPredictorRecovers) {
  auto model = loadTorch("mlp");
  Predictor predictor = model->newPredictor();
  const Tensor good = predictor.predict(mlpInput())[0].tensor.clone();

  Tensors wrongShape;
  wrongShape.add("x", Tensor::fromVector<float>({1, 15}, std::vector<float>(15, 0.25f)));
  const std::string shapeMessage =
      expectError(ErrorCode::InvalidArgument, [&] { predictor.predict(wrongShape); });
  EXPECT_EQ(shapeMessage.find('\n'), std::string::npos) << "one line: " << shapeMessage;
  EXPECT_EQ(shapeMessage.find("TorchScript interpreter"), std::string::npos)
      << "the actual failure, not the interpreter's preamble: " << shapeMessage;
  EXPECT_NE(shapeMessage.find("torch"), std::string::npos) << shapeMessage;

  Tensors wrongType;
  wrongType.add("x", Tensor::fromVector<int64_t>({1, 16}, std::vector<int64_t>(16, 1)));
  const std::string typeMessage =
      expectError(ErrorCode::InvalidArgument, [&] { predictor.predict(wrongType); });
  EXPECT_EQ(typeMessage.find('\n'), std::string::npos) << typeMessage;

  // Same predictor, same results as before the errors.
  test::expectIdentical(predictor.predict(mlpInput())[0].tensor, good, "after errors");
}

}  // namespace
}  // namespace polyinfer

#else

TEST(TorchEngine, NotBuilt) { GTEST_SKIP() << "built with POLYINFER_WITH_TORCH=OFF"; }

#endif
