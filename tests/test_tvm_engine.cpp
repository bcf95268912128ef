// The TVM engine plugin through the public API: modules compiled from the
// project's ONNX models (tools/gen_tvm_models.py) reproduce PyTorch's and
// ONNX Runtime's outputs; the signature from the module and from its
// signature file; TVM's process-wide thread settings; files that are not
// modules for this host refused before their code runs; bad inputs that leave
// the predictor working.
#include <gtest/gtest.h>

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cli_fixture.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_TVM

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngine = "tvm";
constexpr const char* kModule = "model.so";
constexpr const char* kSignature = "model.json";

using test::expectError;
using test::expectMatchesReference;

/// The compiled module of generated model `name`; skips the test when the
/// generator did not run.
fs::path moduleFile(const std::string& name) { return test::modelFile(name, kModule); }

std::shared_ptr<Model> loadTvm(const fs::path& path, Options options = {}, int workers = 1) {
  return Model::load(Criteria{.modelPath = path,
                              .engine = kEngine,
                              .options = std::move(options),
                              .workers = workers});
}

using test::fileBytes;
using test::named;
using test::writeFile;


class TvmEngineTest : public ::testing::Test {
 protected:
  /// NAME.so with these bytes in dir_, and NAME.json beside it when given.
  fs::path moduleWith(const std::string& name, const std::string& bytes,
                      const std::string& signature = {}) {
    const fs::path file = dir_ / (name + ".so");
    writeFile(file, bytes);
    if (!signature.empty()) writeFile(dir_ / (name + ".json"), signature);
    return file;
  }
  test::ScratchDir scratch_{"tvm"};
  const fs::path dir_ = scratch_.path;
};

// ------------------------------------------------------------ description

TEST(TvmEngine, DescribeSaysNotReentrantAndListsTheFormatAndOptions) {
  const EngineDescription d = Registry::global().describe(kEngine);
  EXPECT_EQ(d.name, kEngine);
  EXPECT_EQ(d.version.rfind("0.", 0), 0u) << d.version;
  EXPECT_FALSE(d.reentrant);
  ASSERT_EQ(d.formats.size(), 1u);
  EXPECT_EQ(d.formats[0].name, "TVM module");
  std::vector<std::string> keys;
  for (const OptionSpec& option : d.options) keys.push_back(option.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"intraOpNumThreads", "bindThreads", "function",
                                            "precision"}));
}

TEST(TvmEngine, TheModuleOrItsSignatureFileResolveToTvm) {
  const fs::path module = moduleFile("mlp");
  for (const fs::path& path : {module, module.parent_path() / kSignature}) {
    SCOPED_TRACE(path.string());
    auto model = Model::load(Criteria{.modelPath = path});
    EXPECT_EQ(model->engineName(), kEngine);
    EXPECT_EQ(model->location().path, module);
  }
}

// ------------------------------------------------------------ signature and parity

TEST(TvmEngine, SignatureFileNamesTheOutputs) {
  auto model = loadTvm(moduleFile("multi_io"));
  EXPECT_EQ(test::names(model->inputs()), (std::vector<std::string>{"x", "idx", "mask"}));
  EXPECT_EQ(test::names(model->outputs()), (std::vector<std::string>{"scores", "count"}));
  EXPECT_EQ(model->inputs()[1].describe(), "int64[2,3]");
  EXPECT_EQ(model->outputs()[1].describe(), "int64[2]");
}

TEST_F(TvmEngineTest, WithoutASignatureFileInputsComeFromTheModuleAndOutputsAreNumbered) {
  const fs::path file = moduleWith("bare", fileBytes(moduleFile("multi_io")));
  auto model = loadTvm(file);
  ASSERT_EQ(model->inputs().size(), 3u);
  EXPECT_EQ(model->inputs()[0].describe(), "float32[2,4]");
  EXPECT_EQ(model->inputs()[1].describe(), "int64[2,3]");
  EXPECT_EQ(model->inputs()[2].describe(), "bool[2,4]");
  EXPECT_TRUE(model->outputs().empty());
  const ConfigEntry* cpu = test::configEntry(*model, "cpu_check");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->value, "not done");
  const Tensors outputs = model->newPredictor().predict(test::loadReference("multi_io").inputs);
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].name, "output_0");
  EXPECT_EQ(outputs[1].name, "output_1");
  const test::Reference ref = test::loadReference("multi_io");
  test::expectIdentical(outputs[0].tensor, ref.outputs[0].tensor, "scores");
  test::expectIdentical(outputs[1].tensor, ref.outputs[1].tensor, "count");
}

TEST_F(TvmEngineTest, ADynamicDimKeepsItsName) {
  auto model = loadTvm(moduleWith("dyn", fileBytes(moduleFile("dynamic_batch"))));
  ASSERT_EQ(model->inputs().size(), 1u);
  EXPECT_EQ(model->inputs()[0].describe(), "float32[?,3,8,8]");
  EXPECT_EQ(model->inputs()[0].dimNames, (std::vector<std::string>{"batch", "", "", ""}));
}

class TvmParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TvmParity, ReproducesPyTorchsOutputs) {
  const std::string name = GetParam();
  auto model = loadTvm(moduleFile(name));
  expectMatchesReference(name, model->newPredictor().predict(test::loadReference(name).inputs),
                         1e-4, 1e-3);
}

TEST_P(TvmParity, AgreesWithOnnxRuntimeOnTheSameOnnxFile) {
  const std::string name = GetParam();
  const std::vector<std::string> engines = test::builtEngines();
  if (std::find(engines.begin(), engines.end(), "onnxruntime") == engines.end())
    GTEST_SKIP() << "built without the onnxruntime engine";
  const test::Reference ref = test::loadReference(name);
  const Tensors tvm = loadTvm(moduleFile(name))->newPredictor().predict(ref.inputs);
  const Tensors ort = Model::load(Criteria{.modelPath = test::modelFile(name, "model.onnx"),
                                           .engine = "onnxruntime"})
                          ->newPredictor()
                          .predict(ref.inputs);
  ASSERT_EQ(tvm.size(), ort.size());
  for (std::size_t i = 0; i < tvm.size(); ++i) {
    SCOPED_TRACE(tvm[i].name);
    EXPECT_EQ(tvm[i].name, ort[i].name);
    test::expectAllClose(tvm[i].tensor, ort[i].tensor, 1e-4, 1e-3, "tvm vs onnxruntime");
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TvmParity,
                         ::testing::Values("mlp", "resnet18", "mobilenet_v2", "multi_io",
                                           "dynamic_batch"));

TEST(TvmEngine, ABatchSizeThatChangesBetweenCallsRunsTheSameModule) {
  auto model = loadTvm(moduleFile("dynamic_batch"));
  Predictor predictor = model->newPredictor();
  const Tensor x = test::loadReference("dynamic_batch").inputs[0].tensor;  // batch 3
  const Tensor y = predictor.predict(named("x", x))[0].tensor;
  for (int64_t batch : {1, 3, 5}) {
    SCOPED_TRACE(batch);
    // Every row of the batch is row (i % 3) of the reference input.
    Tensor input = Tensor::allocate(DataType::Float32, {batch, 3, 8, 8});
    const std::size_t row = 3 * 8 * 8;
    for (int64_t i = 0; i < batch; ++i)
      std::memcpy(input.mutableData<float>() + i * row, x.data<float>() + (i % 3) * row, row * 4);
    const Tensor out = predictor.predict(named("x", input))[0].tensor;
    ASSERT_EQ(out.shape(), (Shape{batch, 5}));
    for (int64_t i = 0; i < batch; ++i)
      for (int k = 0; k < 5; ++k)
        EXPECT_NEAR(out.data<float>()[i * 5 + k], y.data<float>()[(i % 3) * 5 + k], 1e-6);
  }
}

TEST(TvmEngine, OutputsOutliveThePredictorAndTheModel) {
  const test::Reference ref = test::loadReference("mlp");
  Tensors outputs;
  {
    auto model = loadTvm(moduleFile("mlp"));
    outputs = model->newPredictor().predict(ref.inputs);
  }
  expectMatchesReference("mlp", outputs, 1e-4, 1e-3);
}

TEST(TvmEngine, AnInputNotAlignedForTvmIsCopiedAndGivesTheSameOutputs) {
  auto model = loadTvm(moduleFile("mlp"));
  Predictor predictor = model->newPredictor();
  const Tensor x = test::loadReference("mlp").inputs[0].tensor;
  // A view 4 bytes into a 64-byte-aligned buffer: not aligned as TVM's code assumes.
  auto buffer = std::make_shared<std::vector<float>>(x.elementCount() + 32);
  float* start = buffer->data() + (16 - reinterpret_cast<std::uintptr_t>(buffer->data()) % 64 / 4) + 1;
  std::memcpy(start, x.data<float>(), x.byteSize());
  const Tensor misaligned = Tensor::view(DataType::Float32, x.shape(), start, x.byteSize(), buffer);
  test::expectIdentical(predictor.predict(named("x", misaligned))[0].tensor,
                        predictor.predict(named("x", x))[0].tensor, "misaligned input");
}

// ------------------------------------------------------------ options and threads

TEST(TvmEngine, ConfigReportsThreadsBindingCpuCheckAndSignature) {
  auto model = loadTvm(moduleFile("mlp"), {}, 2);
  const ConfigEntry* threads = test::configEntry(*model, "intraOpNumThreads");
  ASSERT_NE(threads, nullptr);
  if (!environmentValue("TVM_NUM_THREADS") && !environmentValue("OMP_NUM_THREADS") &&
      !environmentValue("POLYINFER_INTRA_OP_THREADS")) {
    EXPECT_EQ(threads->source, ValueSource::Default);
    EXPECT_EQ(threads->value, std::to_string(std::max(1, ThreadBudget::detect().usableCores() / 2)));
  }
  for (const char* key : {"bindThreads", "cpu_check", "signature", "precision", "interOpThreads"})
    EXPECT_NE(test::configEntry(*model, key), nullptr) << key;
  EXPECT_EQ(test::configEntry(*model, "cpu_check")->value, "passed");
  EXPECT_EQ(test::configEntry(*model, "signature")->value, "file");
}

TEST(TvmEngine, AnotherPoolSizeAfterTheFirstLoadIsReportedNotApplied) {
  auto first = loadTvm(moduleFile("mlp"), {{"intraOpNumThreads", "1"}});
  EXPECT_EQ(test::configEntry(*first, "intraOpNumThreads")->value, "1");
  auto second = loadTvm(moduleFile("mlp"), {{"intraOpNumThreads", "2"}});
  const ConfigEntry* threads = test::configEntry(*second, "intraOpNumThreads");
  EXPECT_EQ(threads->value, "1");
  EXPECT_EQ(threads->source, ValueSource::Engine);
  EXPECT_NE(threads->detail.find("requested 2"), std::string::npos) << threads->detail;
  expectMatchesReference("mlp", second->newPredictor().predict(test::loadReference("mlp").inputs),
                         1e-4, 1e-3);
}

TEST(TvmEngine, Fp16Bf16AnotherDeviceAndAnUnknownFunctionAreRefused) {
  for (const char* precision : {"fp16", "bf16"})
    expectError([&] { loadTvm(moduleFile("mlp"), {{"precision", precision}}); },
                ErrorCode::Unsupported, {precision});
  expectError(
      [&] {
        Model::load(Criteria{.modelPath = moduleFile("mlp"), .engine = kEngine, .device = "gpu0"});
      },
      ErrorCode::Unsupported, {"gpu0"});
  expectError([&] { loadTvm(moduleFile("mlp"), {{"function", "forward"}}); },
              ErrorCode::InvalidArgument, {"no function 'forward'"});
}

// ------------------------------------------------------------ bad files

TEST_F(TvmEngineTest, FilesThatAreNotModulesForThisHostAreRefusedBeforeTheyRun) {
  const std::string module = fileBytes(moduleFile("mlp"));
  ASSERT_GT(module.size(), sizeof(Elf64_Ehdr));
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  std::string otherMachine = module;
  const std::uint16_t aarch64 = EM_AARCH64;
  std::memcpy(otherMachine.data() + offsetof(Elf64_Ehdr, e_machine), &aarch64, sizeof aarch64);
  std::string library;
  for (const char* candidate : {"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"})
    if (library.empty() && fs::exists(candidate)) library = fileBytes(candidate);
  ASSERT_FALSE(library.empty()) << "no libm.so.6 to use as a library that is not a TVM module";
  const std::string otherSignature = fileBytes(moduleFile("multi_io").parent_path() / kSignature);
  struct Case {
    std::string name, bytes, signature;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"garbage", garbage, "", {"without an ELF header"}},
      {"truncated", module.substr(0, module.size() / 2), "", {"truncated"}},
      {"header_only", module.substr(0, 80), "", {"truncated"}},
      {"other_machine", otherMachine, "", {"compiled for AArch64", "x86-64"}},
      {"not_a_tvm_module", library, "", {"not a compiled TVM module", "__tvm_ffi__library_bin"}},
      {"signature_of_another_model", module, otherSignature, {"does not match", "x float32[1,16]"}},
      {"signature_not_json", module, "{ not json", {"signature file", "JSON"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path file = moduleWith(c.name, c.bytes, c.signature);
    std::vector<std::string> parts = c.parts;
    parts.push_back(c.name);
    expectError([&] { loadTvm(file); }, ErrorCode::InvalidArgument, parts);
  }
  expectMatchesReference("mlp", loadTvm(moduleFile("mlp"))->newPredictor().predict(
                                    test::loadReference("mlp").inputs),
                         1e-4, 1e-3);
}

TEST(TvmEngine, AModuleCompiledForACpuWithInstructionsThisHostLacksIsRefused) {
  const fs::path foreign = test::modelsDir() / "tvm_foreign_cpu" / kModule;
  if (!fs::exists(foreign))
    GTEST_SKIP() << "no " << foreign << ": this host has every feature of the foreign CPU";
  expectError([&] { loadTvm(foreign); }, ErrorCode::InvalidArgument,
              {"diamondrapids", "lacks", "illegal instruction"});
}

TEST(TvmEngine, BadInputsAreErrorsAndTheNextCallWorks) {
  auto model = loadTvm(moduleFile("multi_io"));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("multi_io");
  auto with = [&](const std::string& name, Tensor tensor) {
    Tensors inputs;
    for (const NamedTensor& item : ref.inputs) inputs.add(item.name, item.name == name ? tensor : item.tensor);
    return inputs;
  };
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"wrong dtype", [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float64, {2, 4}))); }},
      {"wrong shape", [&] { predictor.predict(with("x", Tensor::allocate(DataType::Float32, {2, 5}))); }},
      {"missing input",
       [&] {
         Tensors inputs;
         inputs.add("x", ref.inputs.at("x"));
         predictor.predict(inputs);
       }},
  };
  test::expectEachRefused(cases, {ErrorCode::InvalidArgument, ErrorCode::NotFound}, [&] {
    expectMatchesReference("multi_io", predictor.predict(ref.inputs), 0, 0);
  });
}

TEST_F(TvmEngineTest, AShapeTheModuleRefusesAtRunTimeIsInvalidArgumentAndTheNextCallWorks) {
  // Without the signature file polyinfer knows the module's checks only
  // through its annotations; a dynamic module checks at run time.
  auto model = loadTvm(moduleWith("dyn", fileBytes(moduleFile("dynamic_batch"))));
  Predictor predictor = model->newPredictor();
  const test::Reference ref = test::loadReference("dynamic_batch");
  expectError([&] { predictor.predict(named("x", Tensor::allocate(DataType::Float32, {2, 3, 8, 9}))); },
              ErrorCode::InvalidArgument, {});
  test::expectAllClose(predictor.predict(ref.inputs)[0].tensor, ref.outputs[0].tensor, 1e-4, 1e-3,
                       "after the error");
}

// ------------------------------------------------------------ the command line

using TvmCli = clitest::CliTest;

TEST_F(TvmCli, PredictMatchesPyTorchsOutputsWithNothingOnStderr) {
  const std::string data = dataSet("multi_io");
  const clitest::RunResult r = run({"predict", "-u", moduleFile("multi_io").string(), "-i", data,
                                    "--expect", data, "--atol", "0", "--rtol", "0"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("engine:  tvm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu_check = passed"), std::string::npos) << r.out;
}

TEST_F(TvmCli, PoolSizeFromTheEnvironmentIsReported) {
  const std::string data = dataSet("mlp");
  const clitest::RunResult r = run({"predict", "-u", moduleFile("mlp").string(), "-i", data,
                                    "--expect", data},
                                   {"TVM_NUM_THREADS=1", "TVM_BIND_THREADS=1"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("intraOpNumThreads = 1  (environment: from TVM_NUM_THREADS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bindThreads = true  (environment: from TVM_BIND_THREADS"), std::string::npos) << r.out;
}

TEST_F(TvmCli, BadInputExits2WithOneErrorLine) {
  const std::string model = moduleFile("mlp").string();
  writeFile(dir_ / "bad.so", "not a library");
  const std::vector<std::vector<std::string>> cases = {
      {"predict", "-u", model, "-O", "intraOpNumThreads=0"},
      {"predict", "-u", model, "-O", "bindThreads=maybe"},
      {"predict", "-u", model, "-O", "function=forward"},
      {"predict", "-u", model, "-s", "(2,16)l"},
      {"predict", "-u", (dir_ / "bad.so").string()},
  };
  for (const std::vector<std::string>& args : cases) {
    SCOPED_TRACE(args.back());
    expectOneErrorLine(run(args), 2);
  }
  const fs::path foreign = test::modelsDir() / "tvm_foreign_cpu" / kModule;
  if (fs::exists(foreign)) expectOneErrorLine(run({"predict", "-u", foreign.string()}), 2);
}

}  // namespace
}  // namespace polyinfer

#else

TEST(TvmEngine, NotBuilt) { GTEST_SKIP() << "built without the TVM engine"; }

#endif
