// The TensorFlow engine plugin through the public API: SavedModel signatures
// (key names, dtypes, unknown dims), parity with TensorFlow's own outputs
// (tools/gen_tf_models.py), every dtype and strings, options and where their
// values come from, and bad input that leaves the process and the predictor
// working.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_TENSORFLOW

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngine = "tensorflow";

using test::expectError;

/// The SavedModel directory of generated model `name`; skips the test when
/// the generator did not run (no TensorFlow Python to make them).
fs::path savedModel(const std::string& name) {
  return test::modelFile(name, "saved_model");
}

std::shared_ptr<Model> loadTf(const fs::path& path, Options options = {}, int workers = 1,
                              int intraOpThreads = 0, int interOpThreads = 0) {
  return Model::load(Criteria{.modelPath = path,
                              .engine = kEngine,
                              .options = std::move(options),
                              .workers = workers,
                              .intraOpThreads = intraOpThreads,
                              .interOpThreads = interOpThreads});
}

using test::expectMatchesReference;

class TfEngineTest : public ::testing::Test {
 protected:
  /// A copy of a generated SavedModel whose saved_model.pb is `bytes`.
  fs::path savedModelWith(const std::string& name, const std::string& bytes) {
    const fs::path copy = dir_ / name;
    fs::copy(savedModel("tf_tiny"), copy, fs::copy_options::recursive);
    std::ofstream(copy / "saved_model.pb", std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return copy;
  }
  test::ScratchDir scratch_{"tf"};
  const fs::path dir_ = scratch_.path;
};

using test::fileBytes;

// ------------------------------------------------------------ description

TEST(TfEngine, DescribeListsTheSavedModelFormatAndOptions) {
  const EngineDescription d = Registry::global().describe(kEngine);
  EXPECT_EQ(d.name, kEngine);
  EXPECT_TRUE(d.version.starts_with("2.")) << d.version;
  EXPECT_EQ(d.devices, (std::vector<std::string>{"cpu"}));
  EXPECT_TRUE(d.reentrant);
  ASSERT_EQ(d.formats.size(), 1u);
  EXPECT_EQ(d.formats[0].name, "SavedModel");
  EXPECT_EQ(d.formats[0].directoryMarker, "saved_model.pb");
  std::vector<std::string> keys;
  for (const OptionSpec& spec : d.options) keys.push_back(spec.key);
  for (const char* key : {"Tags", "SignatureDefKey", "intraOpNumThreads", "interOpNumThreads",
                          "precision"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
}

TEST(TfEngine, ASavedModelDirectoryOrItsMarkerFileResolvesToTensorflow) {
  const fs::path dir = savedModel("tf_tiny");
  for (const fs::path& path : {dir, dir / "saved_model.pb"}) {
    SCOPED_TRACE(path.string());
    const ModelResolution resolved = Registry::global().resolve(path, "");
    EXPECT_EQ(resolved.engine, kEngine) << resolved.reason;
    EXPECT_EQ(resolved.location.format, "SavedModel");
    EXPECT_EQ(fs::weakly_canonical(resolved.location.path), fs::weakly_canonical(dir));
  }
  auto model = Model::load(Criteria{.modelPath = dir});
  EXPECT_EQ(model->engineName(), kEngine);
}

// ------------------------------------------------------------ signatures and parity

TEST(TfEngine, InputsAndOutputsCarryTheSignaturesKeyNamesDtypesAndUnknownDims) {
  auto model = loadTf(savedModel("tf_multi_io"));
  EXPECT_EQ(test::names(model->inputs()), (std::vector<std::string>{"idx", "mask", "text", "x"}));
  EXPECT_EQ(test::names(model->outputs()),
            (std::vector<std::string>{"any", "count", "mean", "scores", "upper"}));
  const std::vector<TensorInfo>& in = model->inputs();
  EXPECT_EQ(in[0].dtype, DataType::Int64);
  EXPECT_EQ(in[1].dtype, DataType::Bool);
  EXPECT_EQ(in[2].dtype, DataType::String);
  EXPECT_EQ(in[3].dtype, DataType::Float32);
  EXPECT_TRUE(in[3].rankKnown);
  EXPECT_EQ(in[3].shape, (Shape{-1, 4}));
  EXPECT_EQ(in[2].shape, (Shape{-1}));
  const std::vector<TensorInfo>& out = model->outputs();
  EXPECT_EQ(out[2].dtype, DataType::Float64);
  EXPECT_EQ(out[4].dtype, DataType::String);
  EXPECT_EQ(out[3].shape, (Shape{-1, 4}));
}

TEST(TfEngine, MixedDtypesAndStringsReproduceTensorflowsOutputs) {
  auto model = loadTf(savedModel("tf_multi_io"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("tf_multi_io");
  // Strings with an embedded NUL, UTF-8 and an empty one cross both ways.
  const std::vector<std::string>& text = ref.inputs.at("text").strings();
  ASSERT_EQ(text.size(), 3u);
  EXPECT_NE(text[0].find('\0'), std::string::npos);
  for (int call = 0; call < 3; ++call) expectMatchesReference("tf_multi_io", predictor.predict(ref.inputs), 0, 0);
}

TEST(TfEngine, EveryDtypeCrossesTheBoundaryExactly) {
  auto model = loadTf(savedModel("tf_dtypes"));
  const test::Reference ref = test::loadReference("tf_dtypes");
  Predictor predictor = model->newPredictor();
  expectMatchesReference("tf_dtypes", predictor.predict(ref.inputs), 0, 0);
  std::vector<DataType> seen;
  for (const TensorInfo& info : model->inputs()) seen.push_back(info.dtype);
  for (DataType type : {DataType::Float16, DataType::BFloat16, DataType::Float64, DataType::Int8,
                        DataType::Int16, DataType::Int32, DataType::Int64, DataType::UInt8,
                        DataType::UInt16, DataType::UInt32, DataType::UInt64, DataType::Bool,
                        DataType::Float32})
    EXPECT_NE(std::find(seen.begin(), seen.end(), type), seen.end()) << toString(type);
}

TEST(TfEngine, CnnReproducesTensorflowsOutputsWithADynamicBatch) {
  auto model = loadTf(savedModel("tf_cnn"));
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].shape, (Shape{-1, 224, 224, 3}));
  const test::Reference ref = test::loadReference("tf_cnn");
  Predictor predictor = model->newPredictor();
  // fp32 in a different thread layout than at export: summation order differs.
  expectMatchesReference("tf_cnn", predictor.predict(ref.inputs), 1e-4, 1e-3);
  // Batch 1: the first row of the batch-2 reference.
  const Tensor& input = ref.inputs[0].tensor;
  const std::size_t half = input.byteSize() / 2;
  Tensor first = Tensor::view(DataType::Float32, {1, 224, 224, 3},
                              const_cast<void*>(input.rawData()), half, nullptr);
  const Tensors one = predictor.predict(Tensors{first});
  ASSERT_EQ(one[0].tensor.shape(), (Shape{1, 1000}));
  const float* got = one[0].tensor.data<float>();
  const float* want = ref.outputs[0].tensor.data<float>();
  for (int i = 0; i < 1000; ++i) EXPECT_NEAR(got[i], want[i], 1e-4 + 1e-3 * std::abs(want[i]));
}

TEST(TfEngine, AGraphInputPassedThroughIsACopyNotTheCallersBuffer) {
  auto model = loadTf(savedModel("tf_dtypes"));
  Predictor predictor = model->newPredictor();
  test::Reference ref = test::loadReference("tf_dtypes");
  Tensors inputs;
  for (const NamedTensor& item : ref.inputs) inputs.add(item.name, item.tensor.clone());
  Tensors outputs = predictor.predict(inputs);
  const Tensor* passthrough = outputs.find("passthrough");
  ASSERT_NE(passthrough, nullptr);
  const Tensor* f32 = inputs.find("f32");
  ASSERT_NE(f32, nullptr);
  EXPECT_NE(passthrough->rawData(), f32->rawData());
  const std::vector<float> before = passthrough->toVector<float>();
  const_cast<Tensor*>(f32)->mutableData<float>()[0] += 100.0f;
  EXPECT_EQ(passthrough->toVector<float>(), before);
}

TEST(TfEngine, AnInputBufferTensorflowCannotUseInPlaceIsStillRead) {
  // TensorFlow's kernels want 64-byte aligned buffers; TF_NewTensor copies
  // one that is not. The result must not depend on it.
  auto model = loadTf(savedModel("tf_tiny"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("tf_tiny");
  const Tensor& x = ref.inputs[0].tensor;
  std::vector<unsigned char> storage(x.byteSize() + 64 + 4);
  unsigned char* base = storage.data();
  while (reinterpret_cast<std::uintptr_t>(base) % 64 != 0) ++base;
  for (std::size_t offset : {std::size_t{0}, std::size_t{4}}) {
    SCOPED_TRACE(offset);
    std::memcpy(base + offset, x.rawData(), x.byteSize());
    const Tensor view = Tensor::view(DataType::Float32, x.shape(), base + offset, x.byteSize(), nullptr);
    expectMatchesReference("tf_tiny", predictor.predict(Tensors{view}), 0, 0);
  }
}

TEST(TfEngine, TensorflowsThreadVariablesAreHonouredBelowExplicitOptions) {
  const char* old = std::getenv("TF_NUM_INTEROP_THREADS");
  ::setenv("TF_NUM_INTEROP_THREADS", "2", 1);
  auto fromEnv = loadTf(savedModel("tf_tiny"));
  auto explicitOne = loadTf(savedModel("tf_tiny"), {{"interOpNumThreads", "1"}});
  if (old != nullptr) ::setenv("TF_NUM_INTEROP_THREADS", old, 1);
  else ::unsetenv("TF_NUM_INTEROP_THREADS");
  const ConfigEntry* env = test::configEntry(*fromEnv, "interOpNumThreads");
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->value, "2");
  EXPECT_EQ(env->source, ValueSource::Environment);
  EXPECT_NE(env->detail.find("TF_NUM_INTEROP_THREADS"), std::string::npos) << env->detail;
  EXPECT_EQ(test::configEntry(*explicitOne, "interOpNumThreads")->value, "1");
  EXPECT_EQ(test::configEntry(*explicitOne, "interOpNumThreads")->source, ValueSource::Explicit);
}

TEST(TfEngine, OutputsOutliveThePredictorAndTheModel) {
  Tensors outputs;
  {
    auto model = loadTf(savedModel("tf_tiny"));
    Predictor predictor = model->newPredictor();
    outputs = predictor.predict(test::loadReference("tf_tiny").inputs);
  }
  expectMatchesReference("tf_tiny", outputs, 0, 0);
}

TEST(TfEngine, AnotherSignatureIsChosenByItsKey) {
  auto model = loadTf(savedModel("tf_multi_io"), {{"SignatureDefKey", "extra"}});
  EXPECT_EQ(test::names(model->inputs()), (std::vector<std::string>{"x"}));
  EXPECT_EQ(test::names(model->outputs()), (std::vector<std::string>{"y"}));
  Predictor predictor = model->newPredictor();
  const Tensors out = predictor.predict({Tensor::fromVector<float>({1, 4}, {0, 1, -1, 2})});
  const std::vector<float> y = out[0].tensor.toVector<float>();
  EXPECT_NEAR(y[1], 3 * std::tanh(1.0f), 1e-6);
}

// ------------------------------------------------------------ options

TEST(TfEngine, ConfigReportsThreadsOneDnnPrecisionTagsAndSignature) {
  auto model = loadTf(savedModel("tf_tiny"));
  for (const char* key : {"intraOpNumThreads", "interOpNumThreads", "oneDNN", "precision", "Tags",
                          "SignatureDefKey", "library", "logLevel"})
    EXPECT_NE(test::configEntry(*model, key), nullptr) << key;
  EXPECT_EQ(test::configEntry(*model, "Tags")->value, "serve");
  EXPECT_EQ(test::configEntry(*model, "SignatureDefKey")->value, "serving_default");
  EXPECT_EQ(test::configEntry(*model, "interOpNumThreads")->value, "1");
  const char* onednn = std::getenv("TF_ENABLE_ONEDNN_OPTS");
  if (onednn == nullptr) {
    EXPECT_EQ(test::configEntry(*model, "oneDNN")->value, "on");
    EXPECT_EQ(test::configEntry(*model, "oneDNN")->source, ValueSource::Default);
  }
}

TEST(TfEngine, UnknownTagsOrSignatureListTheOnesPresent) {
  const fs::path dir = savedModel("tf_multi_io");
  expectError([&] { loadTf(dir, {{"Tags", "serve,gpu"}}); }, ErrorCode::NotFound,
              {"[serve,gpu]", "[serve]", "Tags"});
  const std::string message = expectError([&] { loadTf(dir, {{"SignatureDefKey", "predict"}}); },
                                          ErrorCode::NotFound,
                                          {"'predict'", "extra, serving_default", "SignatureDefKey"});
  EXPECT_EQ(message.find("__saved_model_init_op"), std::string::npos) << message;
  expectError([&] { loadTf(dir, {{"Tags", " , "}}); }, ErrorCode::InvalidArgument, {"Tags"});
  expectError([&] { loadTf(dir, {{"SignatureDefKey", ""}}); }, ErrorCode::InvalidArgument,
              {"SignatureDefKey"});
}

TEST(TfEngine, InvalidThreadValuesAreInvalidArgumentNamingTheKey) {
  const fs::path dir = savedModel("tf_tiny");
  for (const char* value : {"0", "-1", "abc", "1.5"}) {
    SCOPED_TRACE(value);
    expectError([&] { loadTf(dir, {{"intraOpNumThreads", value}}); }, ErrorCode::InvalidArgument,
                {"intraOpNumThreads", value});
    expectError([&] { loadTf(dir, {{"interOpNumThreads", value}}); }, ErrorCode::InvalidArgument,
                {"interOpNumThreads", value});
  }
  expectError([&] { loadTf(dir, {{"intraOpNumThreads", "2"}}, 1, 1); }, ErrorCode::InvalidArgument,
              {"intraOpNumThreads"});
  expectError([&] { loadTf(dir, {{"intraOpThreadz", "1"}}); }, ErrorCode::NotFound,
              {"intraOpThreadz", "intraOpNumThreads"});
}

TEST(TfEngine, InterOpThreadsAboveOneGetAPoolOfTheModelsOwn) {
  auto model = loadTf(savedModel("tf_tiny"), {{"interOpNumThreads", "2"}});
  const ConfigEntry* entry = test::configEntry(*model, "interOpNumThreads");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->value, "2");
  EXPECT_EQ(entry->source, ValueSource::Explicit);
  Predictor predictor = model->newPredictor();
  expectMatchesReference("tf_tiny", predictor.predict(test::loadReference("tf_tiny").inputs), 0, 0);
}

TEST(TfEngine, Fp16IsUnsupportedOnTheCpu) {
  expectError([&] { loadTf(savedModel("tf_tiny"), {{"precision", "fp16"}}); },
              ErrorCode::Unsupported, {"fp16", "tensorflow"});
  expectError([&] { loadTf(savedModel("tf_tiny"), {{"precision", "int8"}}); },
              ErrorCode::InvalidArgument, {"precision", "int8"});
}

TEST(TfEngine, Bf16RunsTheCnnCloseToFp32) {
  const char* onednn = std::getenv("TF_ENABLE_ONEDNN_OPTS");
  if (onednn != nullptr && std::string(onednn) == "0") GTEST_SKIP() << "oneDNN is off";
  auto model = loadTf(savedModel("tf_cnn"), {{"precision", "bf16"}});
  EXPECT_EQ(test::configEntry(*model, "precision")->value, "bf16");
  const test::Reference ref = test::loadReference("tf_cnn");
  Predictor predictor = model->newPredictor();
  const Tensors out = predictor.predict(ref.inputs);
  ASSERT_EQ(out[0].tensor.dtype(), DataType::Float32);
  // bfloat16 keeps 8 bits of mantissa: close, not equal. The logits' spread
  // is ~0.1, so 0.05 absolute still catches a broken rewrite.
  // fp32 reproduces the reference exactly here, so any difference at all
  // shows the rewrite ran.
  const double diff = test::maxAbsDiff(out[0].tensor, ref.outputs[0].tensor);
  EXPECT_LT(diff, 0.05);
  EXPECT_GT(diff, 0.0) << "precision=bf16 gave fp32's exact outputs: the rewrite did not run";
  std::printf("tf_cnn bf16 vs fp32 reference: max abs diff %.3g\n", diff);
}

TEST(TfEngine, DeviceOtherThanCpuIsUnsupported) {
  expectError([&] { Model::load(Criteria{.modelPath = savedModel("tf_tiny"), .engine = kEngine,
                                         .device = "gpu0"}); },
              ErrorCode::Unsupported, {"gpu0"});
}

// ------------------------------------------------------------ bad input

TEST_F(TfEngineTest, CorruptTruncatedOrMissingSavedModelsAreInvalidArgument) {
  const std::string good = fileBytes(savedModel("tf_tiny") / "saved_model.pb");
  ASSERT_GT(good.size(), 100u);
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"header_only", good.substr(0, 8)},
      {"garbage", garbage},
      {"empty", ""},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    const fs::path dir = savedModelWith(name, bytes);
    expectError([&] { loadTf(dir); }, ErrorCode::InvalidArgument, {dir.string()});
  }
  // A directory without saved_model.pb is no model at all: the core says so.
  const fs::path empty = dir_ / "no_saved_model";
  fs::create_directories(empty);
  expectError([&] { loadTf(empty); }, ErrorCode::NotFound, {"saved_model.pb"});
  // The engine still works.
  auto model = loadTf(savedModel("tf_tiny"));
  Predictor predictor = model->newPredictor();
  expectMatchesReference("tf_tiny", predictor.predict(test::loadReference("tf_tiny").inputs), 0, 0);
}

TEST_F(TfEngineTest, MissingVariablesFailTheLoadNamingTheFile) {
  const fs::path copy = dir_ / "novars";
  fs::copy(savedModel("tf_cnn"), copy, fs::copy_options::recursive);
  fs::remove_all(copy / "variables");
  expectError([&] { loadTf(copy); }, ErrorCode::InvalidArgument,
              {copy.string(), "variables.index"});
}

TEST(TfEngine, BadInputsAreErrorsAndTheNextCallWorks) {
  auto model = loadTf(savedModel("tf_multi_io"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("tf_multi_io");
  auto with = [&](const std::string& name, Tensor tensor) {
    Tensors inputs;
    for (const NamedTensor& item : ref.inputs)
      inputs.add(item.name, item.name == name ? tensor : item.tensor);
    return inputs;
  };
  const Tensor x = ref.inputs.at("x");
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"wrong dtype", [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float64, {3, 4}))); }},
      {"wrong rank", [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float32, {12}))); }},
      {"wrong fixed dim", [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float32, {3, 5}))); }},
      {"batch mismatch between inputs",
       [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float32, {2, 4}))); }},
      {"missing input",
       [&] {
         Tensors inputs;
         for (const NamedTensor& item : ref.inputs)
           if (item.name != "mask") inputs.add(item.name, item.tensor);
         predictor.predict(inputs);
       }},
      {"extra input",
       [&] {
         Tensors inputs = ref.inputs;
         inputs.add("bogus", x);
         predictor.predict(inputs);
       }},
      {"unknown name",
       [&] {
         Tensors inputs;
         for (const NamedTensor& item : ref.inputs)
           inputs.add(item.name == "x" ? "y" : item.name, item.tensor);
         predictor.predict(inputs);
       }},
  };
  test::expectEachRefused(cases, {ErrorCode::InvalidArgument, ErrorCode::NotFound}, [&] {
    expectMatchesReference("tf_multi_io", predictor.predict(ref.inputs), 0, 0);
  });
}

// ------------------------------------------------------------ the command line

using TfCli = clitest::CliTest;

TEST_F(TfCli, PredictMatchesTensorflowsOutputsWithNothingOnStderr) {
  const std::string data = dataSet("tf_multi_io");
  const clitest::RunResult r =
      run({"predict", "-u", savedModel("tf_multi_io").string(), "-i", data, "--expect", data,
           "--atol", "0", "--rtol", "0"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");  // TensorFlow's load-time log lines are filtered
  EXPECT_NE(r.out.find("engine:  tensorflow"), std::string::npos) << r.out;
}

TEST_F(TfCli, BadInputExits2WithOneErrorLine) {
  const std::string model = savedModel("tf_multi_io").string();
  std::ofstream(dir_ / "saved_model.pb", std::ios::binary) << "not a SavedModel";
  const std::vector<std::vector<std::string>> cases = {
      {"predict", "-u", model, "-O", "SignatureDefKey=nope"},
      {"predict", "-u", model, "-O", "Tags=train"},
      {"predict", "-u", model, "-O", "intraOpNumThreads=0"},
      {"predict", "-u", model, "-s", "(3,2)l,(3,4)b,(3)s,(3,5)f"},
      {"predict", "-u", dir_.string(), "-e", "tensorflow"},
  };
  for (const std::vector<std::string>& args : cases) {
    SCOPED_TRACE(args.back());
    expectOneErrorLine(run(args), 2);
  }
}

}  // namespace
}  // namespace polyinfer

#else

TEST(TfEngine, NotBuilt) { GTEST_SKIP() << "built without the TensorFlow engine"; }

#endif
