// The model repository: config.json parsing and the directory scan.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "model_repository.hpp"
#include "polyinfer/error.hpp"

using namespace polyinfer;
using namespace polyinfer::serve;
namespace fs = std::filesystem;

namespace {

/// Runs `call`, expecting Error(code) whose message contains `fragment`;
/// returns the message.
template <typename Call>
std::string expectError(Call&& call, ErrorCode code, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "expected Error(" << toString(code) << ") containing '" << fragment << "'";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), code) << error.what();
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    return error.what();
  }
  return {};
}

ModelConfig parse(const std::string& json) { return parseModelConfig(json, "m"); }

void expectConfigError(const std::string& json, const std::string& fragment) {
  expectError([&] { parse(json); }, ErrorCode::InvalidArgument, fragment);
}

}  // namespace

// ---- parseModelConfig ----------------------------------------------------------

TEST(ServeModelConfig, EmptyConfigGivesDefaults) {
  for (const char* text : {"{}", "", "  \n", "// nothing configured\n{}"}) {
    ModelConfig config = parse(text);
    EXPECT_EQ(config.engine, "");
    EXPECT_TRUE(config.options.empty());
    EXPECT_EQ(config.device, "cpu");
    EXPECT_EQ(config.maxBatchSize, 0);
    EXPECT_FALSE(config.dynamicBatching.has_value());
    EXPECT_EQ(config.instanceCount, 0);
    EXPECT_EQ(config.intraOpThreads, 0);
    EXPECT_EQ(config.maxQueueSize, 0u);
    EXPECT_EQ(config.versionPolicy.kind, VersionPolicy::Kind::Latest);
    EXPECT_EQ(config.versionPolicy.latestCount, 1);
  }
}

TEST(ServeModelConfig, EveryKey) {
  ModelConfig config = parse(R"({
    "name": "m",
    "engine": "onnxruntime",
    "parameters": {"intraOpNumThreads": 2, "executionMode": "parallel", "memoryPatternOptimization": true,
                   "scale": 0.5, "optLevel": {"string_value": "all"}},
    "device": "gpu1",
    "max_batch_size": 16,
    "dynamic_batching": {"preferred_batch_size": [8, 4, 8], "max_queue_delay_microseconds": 500},
    "instance_count": 3,
    "intra_op_threads": 2,
    "max_queue_size": 64,
    /* Triton's policies */
    "version_policy": {"latest": {"num_versions": 2}}
  })");
  EXPECT_EQ(config.engine, "onnxruntime");
  const std::map<std::string, std::string> options = {{"intraOpNumThreads", "2"},
                                                      {"executionMode", "parallel"},
                                                      {"memoryPatternOptimization", "true"},
                                                      {"scale", "0.5"},
                                                      {"optLevel", "all"}};
  EXPECT_EQ(config.options.entries(), options);
  EXPECT_EQ(config.device, "gpu1");
  EXPECT_EQ(config.maxBatchSize, 16);
  ASSERT_TRUE(config.dynamicBatching.has_value());
  EXPECT_EQ(config.dynamicBatching->preferredBatchSize, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(config.dynamicBatching->maxQueueDelayMicroseconds, 500);
  EXPECT_EQ(config.instanceCount, 3);
  EXPECT_EQ(config.intraOpThreads, 2);
  EXPECT_EQ(config.maxQueueSize, 64u);
  EXPECT_EQ(config.versionPolicy.kind, VersionPolicy::Kind::Latest);
  EXPECT_EQ(config.versionPolicy.latestCount, 2);
}

TEST(ServeModelConfig, UnknownKeysListTheValidOnes) {
  expectError([] { parse(R"({"max_batch": 8})"); }, ErrorCode::InvalidArgument,
              "unknown key \"max_batch\"; valid keys: name, engine, backend, platform, parameters, device, "
              "max_batch_size, dynamic_batching, instance_count, instance_group, intra_op_threads, "
              "max_queue_size, version_policy");
  expectConfigError(R"({"input": []})", "unknown key \"input\" (polyinfer reads inputs and outputs from the model");
  expectConfigError(R"({"max_batch_size": 4, "dynamic_batching": {"priority_levels": 2}})",
                    "dynamic_batching: unknown key \"priority_levels\"; valid keys: preferred_batch_size, "
                    "max_queue_delay_microseconds");
}

TEST(ServeModelConfig, WrongTypesNameKeyExpectedAndActual) {
  expectConfigError(R"({"max_batch_size": "8"})", "max_batch_size: expected a non-negative integer, got \"8\"");
  expectConfigError(R"({"max_batch_size": -1})", "max_batch_size: expected a non-negative integer, got -1");
  expectConfigError(R"({"max_batch_size": 8.0})", "max_batch_size: expected a non-negative integer, got 8.0");
  expectConfigError(R"({"max_batch_size": 18446744073709551615})",
                    "max_batch_size: expected a non-negative integer, got 18446744073709551615");
  expectConfigError(R"({"instance_count": 3000000000})",
                    "instance_count: expected an integer in [0, 2147483647], got 3000000000");
  expectConfigError(R"({"intra_op_threads": true})",
                    "intra_op_threads: expected an integer in [0, 2147483647], got true");
  expectConfigError(R"({"max_queue_size": null})", "max_queue_size: expected a non-negative integer, got null");
  expectConfigError(R"({"engine": 1})", "engine: expected a string, got 1");
  expectConfigError(R"({"device": "tpu"})", "device: expected \"cpu\" or \"gpu<N>\" (e.g. \"gpu0\"), got \"tpu\"");
  expectConfigError(R"({"device": "gpu"})", "got \"gpu\"");
  expectConfigError(R"({"parameters": []})", "parameters: expected an object, got []");
  expectConfigError(R"({"parameters": {"k": [1]}})",
                    "parameters.k: expected a string, number, boolean or {\"string_value\": \"...\"}, got [1]");
  expectConfigError(R"({"parameters": {"k": null}})", "parameters.k: expected");
  expectConfigError(R"({"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [2, 0]}})",
                    "dynamic_batching.preferred_batch_size[1]: expected a positive integer, got 0");
  expectConfigError(R"({"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": -5}})",
                    "dynamic_batching.max_queue_delay_microseconds: expected a non-negative integer, got -5");
  expectConfigError(R"([1, 2])", "config: expected a JSON object, got [1,2]");
}

TEST(ServeModelConfig, LongValuesAreShortenedInMessages) {
  std::string message = expectError([] { parse(R"({"engine": [")" + std::string(200, 'x') + "\"]}"); },
                                    ErrorCode::InvalidArgument, "engine: expected a string, got [\"xxxx");
  EXPECT_LT(message.size(), 120u) << message;
  EXPECT_NE(message.find("..."), std::string::npos);
}

TEST(ServeModelConfig, InvalidJsonSaysWhere) {
  std::string message = expectError([] { parse("{\n  \"max_batch_size\": 8,\n}"); }, ErrorCode::InvalidArgument,
                                    "invalid JSON: parse error at line 3, column 1");
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
}

TEST(ServeModelConfig, NameMustBeTheDirectoryName) {
  EXPECT_NO_THROW(parseModelConfig(R"({"name": "resnet"})", "resnet"));
  expectError([] { parseModelConfig(R"({"name": "other"})", "resnet"); }, ErrorCode::InvalidArgument,
              "name: expected \"resnet\" (the model's directory name), got \"other\"");
}

TEST(ServeModelConfig, BackendAndPlatformAreEngineAliases) {
  EXPECT_EQ(parse(R"({"backend": "pytorch"})").engine, "torch");
  EXPECT_EQ(parse(R"({"backend": "onnxruntime"})").engine, "onnxruntime");
  EXPECT_EQ(parse(R"({"backend": "tvm"})").engine, "tvm");
  EXPECT_EQ(parse(R"({"platform": "onnxruntime_onnx"})").engine, "onnxruntime");
  EXPECT_EQ(parse(R"({"platform": "pytorch_libtorch"})").engine, "torch");
  EXPECT_EQ(parse(R"({"platform": "tensorflow_savedmodel"})").engine, "tensorflow");
  EXPECT_EQ(parse(R"({"engine": "torch", "backend": "pytorch", "platform": "pytorch_libtorch"})").engine, "torch");
  EXPECT_EQ(parse(R"({"engine": "", "backend": "pytorch"})").engine, "torch");
  expectConfigError(R"({"engine": "torch", "backend": "onnxruntime"})",
                    "engine \"torch\" (engine torch) and backend \"onnxruntime\" (engine onnxruntime) name "
                    "different engines; give one");
  expectConfigError(R"({"platform": "tensorrt_plan"})",
                    "platform: expected one of onnxruntime_onnx, pytorch_libtorch, tensorflow_graphdef, "
                    "tensorflow_savedmodel (or an \"engine\"), got \"tensorrt_plan\"");
}

TEST(ServeModelConfig, InstanceGroupAsInTriton) {
  ModelConfig cpu = parse(R"({"instance_group": [{"count": 4, "kind": "KIND_CPU"}]})");
  EXPECT_EQ(cpu.instanceCount, 4);
  EXPECT_EQ(cpu.device, "cpu");

  ModelConfig gpu = parse(R"({"instance_group": [{"count": 2, "kind": "KIND_GPU"}]})");
  EXPECT_EQ(gpu.instanceCount, 2);
  EXPECT_EQ(gpu.device, "gpu0");
  EXPECT_EQ(parse(R"({"instance_group": [{"kind": "KIND_GPU", "gpus": [1]}]})").device, "gpu1");
  EXPECT_EQ(parse(R"({"device": "gpu2", "instance_group": [{"kind": "KIND_GPU"}]})").device, "gpu2");
  EXPECT_EQ(parse(R"({"instance_group": [{"kind": "KIND_GPU"}]})").instanceCount, 1);  // Triton's default count

  ModelConfig automatic = parse(R"({"device": "gpu3", "instance_group": [{"count": 1}]})");
  EXPECT_EQ(automatic.device, "gpu3");
  EXPECT_EQ(automatic.instanceCount, 1);

  expectConfigError(R"({"instance_group": [{"kind": "KIND_MODEL"}]})",
                    "instance_group[0].kind: expected KIND_CPU, KIND_GPU or KIND_AUTO, got \"KIND_MODEL\"");
  expectConfigError(R"({"device": "cpu", "instance_group": [{"kind": "KIND_GPU"}]})",
                    "instance_group[0] (kind KIND_GPU) contradicts device \"cpu\"");
  expectConfigError(R"({"device": "gpu0", "instance_group": [{"kind": "KIND_GPU", "gpus": [1]}]})",
                    "(kind KIND_GPU, gpus [1]) contradicts device \"gpu0\"");
  expectConfigError(R"({"device": "gpu0", "instance_group": [{"kind": "KIND_CPU"}]})",
                    "KIND_CPU contradicts device \"gpu0\"");
  expectConfigError(R"({"instance_group": [{"count": 1}, {"count": 2}]})",
                    "instance_group: expected one group (one worker pool per model), got 2");
  expectConfigError(R"({"instance_group": [{"count": 0}]})",
                    "instance_group[0].count: expected an integer in [1, 2147483647], got 0");
  expectConfigError(R"({"instance_group": [{"kind": "KIND_GPU", "gpus": [0, 1]}]})",
                    "instance_group[0].gpus: expected one GPU (one device per model), got [0,1]");
  expectConfigError(R"({"instance_group": [{"kind": "KIND_CPU", "gpus": [0]}]})",
                    "instance_group[0].gpus: only with kind KIND_GPU");
  expectConfigError(R"({"instance_group": [{"name": "x"}]})", "instance_group[0]: unknown key \"name\"");
  expectConfigError(R"({"instance_count": 2, "instance_group": [{"count": 2}]})",
                    "instance_count and instance_group: expected one of them, got both");
}

TEST(ServeModelConfig, DynamicBatchingNeedsAMaxBatchSizeThatHoldsThePreferredSizes) {
  ModelConfig empty = parse(R"({"max_batch_size": 8, "dynamic_batching": {}})");
  ASSERT_TRUE(empty.dynamicBatching.has_value());
  EXPECT_TRUE(empty.dynamicBatching->preferredBatchSize.empty());
  EXPECT_EQ(empty.dynamicBatching->maxQueueDelayMicroseconds, 0);
  expectConfigError(R"({"dynamic_batching": {}})",
                    "dynamic_batching: needs max_batch_size > 0, got max_batch_size 0 (no batching)");
  expectConfigError(R"({"max_batch_size": 8, "dynamic_batching": {"preferred_batch_size": [4, 16]}})",
                    "dynamic_batching.preferred_batch_size: expected sizes <= max_batch_size 8, got 16");
}

TEST(ServeModelConfig, VersionPolicies) {
  VersionPolicy all = parse(R"({"version_policy": {"all": {}}})").versionPolicy;
  EXPECT_EQ(all.kind, VersionPolicy::Kind::All);
  VersionPolicy specific = parse(R"({"version_policy": {"specific": {"versions": [3, 1, 3]}}})").versionPolicy;
  EXPECT_EQ(specific.kind, VersionPolicy::Kind::Specific);
  EXPECT_EQ(specific.specific, (std::vector<int64_t>{1, 3}));

  expectConfigError(R"({"version_policy": {}})",
                    "version_policy: expected exactly one of \"latest\", \"all\", \"specific\", got {}");
  expectConfigError(R"({"version_policy": {"all": {}, "latest": {"num_versions": 1}}})", "expected exactly one of");
  expectConfigError(R"({"version_policy": {"newest": {}}})",
                    "version_policy: unknown key \"newest\"; valid keys: latest, all, specific");
  expectConfigError(R"({"version_policy": {"latest": {"num_versions": 0}}})",
                    "version_policy.latest.num_versions: expected a positive integer, got 0");
  expectConfigError(R"({"version_policy": {"latest": {}}})",
                    "version_policy.latest: expected {\"num_versions\": N}, got {}");
  expectConfigError(R"({"version_policy": {"all": {"x": 1}}})", "version_policy.all: unknown key \"x\"");
  expectConfigError(R"({"version_policy": {"specific": {"versions": []}}})",
                    "version_policy.specific.versions: expected at least one version, got []");
  expectConfigError(R"({"version_policy": {"specific": {"versions": [1, -2]}}})",
                    "version_policy.specific.versions[1]: expected a non-negative integer, got -2");
  expectConfigError(R"({"version_policy": {"specific": [1]}})",
                    "version_policy.specific: expected an object, got [1]");
}

// ---- scanModel, scanRepository ---------------------------------------------------

namespace {

class RepositoryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("polyinfer-repository-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  /// Creates <root>/<relative>/ .
  void dir(const std::string& relative) { fs::create_directories(root_ / relative); }
  /// Writes <root>/<relative>.
  void file(const std::string& relative, const std::string& text = "model bytes") {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  std::vector<int64_t> versionsOf(const std::vector<ModelVersionDir>& dirs) {
    std::vector<int64_t> numbers;
    for (const auto& d : dirs) numbers.push_back(d.version);
    return numbers;
  }

  fs::path root_;
};

}  // namespace

TEST_F(RepositoryFixture, VersionDirectoriesAsInTriton) {
  for (const char* version : {"1", "2", "10", "0"}) file(std::string("resnet/") + version + "/model.onnx");
  dir("resnet/01");       // leading zero: ignored, as in Triton
  dir("resnet/v3");       // not a number
  dir("resnet/.5");       // hidden
  dir("resnet/99999999999999999999");  // beyond int64
  file("resnet/7");       // a file, not a directory
  file("resnet/config.json", R"({"name": "resnet", "max_batch_size": 4})");

  RepositoryModel model = scanModel(root_, "resnet");
  EXPECT_EQ(model.name, "resnet");
  EXPECT_EQ(model.path, root_ / "resnet");
  EXPECT_EQ(model.config.maxBatchSize, 4);
  EXPECT_EQ(versionsOf(model.versions), (std::vector<int64_t>{0, 1, 2, 10}));
  EXPECT_EQ(model.versions[3].path, root_ / "resnet" / "10");
  // Default policy: the latest version alone.
  ASSERT_EQ(model.served().size(), 1u);
  EXPECT_EQ(model.served()[0], (ModelVersionDir{10, root_ / "resnet" / "10"}));
}

TEST_F(RepositoryFixture, ServedFollowsTheVersionPolicy) {
  for (const char* version : {"1", "2", "3"}) dir(std::string("m/") + version);
  RepositoryModel model = scanModel(root_, "m");  // no config.json: defaults
  EXPECT_EQ(versionsOf(model.served()), (std::vector<int64_t>{3}));

  model.config.versionPolicy = {VersionPolicy::Kind::Latest, 2, {}};
  EXPECT_EQ(versionsOf(model.served()), (std::vector<int64_t>{2, 3}));
  model.config.versionPolicy = {VersionPolicy::Kind::Latest, 10, {}};
  EXPECT_EQ(versionsOf(model.served()), (std::vector<int64_t>{1, 2, 3}));
  model.config.versionPolicy = {VersionPolicy::Kind::All, 1, {}};
  EXPECT_EQ(versionsOf(model.served()), (std::vector<int64_t>{1, 2, 3}));

  file("m/config.json", R"({"version_policy": {"specific": {"versions": [3, 1]}}})");
  EXPECT_EQ(versionsOf(scanModel(root_, "m").served()), (std::vector<int64_t>{1, 3}));
}

TEST_F(RepositoryFixture, SpecificVersionWithoutDirectoryIsAnError) {
  dir("m/1");
  dir("m/2");
  file("m/config.json", R"({"version_policy": {"specific": {"versions": [1, 3]}}})");
  expectError([&] { scanModel(root_, "m"); }, ErrorCode::InvalidArgument,
              (root_ / "m" / "config.json").string() + ": version_policy.specific: expected version 3 to have a "
              "directory " + (root_ / "m" / "3").string() + ", got versions 1, 2");
}

TEST_F(RepositoryFixture, MissingModelListsTheModelsThere) {
  dir("b/1");
  dir("a/1");
  dir(".git");
  file("README.md");
  expectError([&] { scanModel(root_, "resnet"); }, ErrorCode::NotFound,
              "model 'resnet' not in repository " + root_.string() + "; it has: a, b");
  fs::remove_all(root_ / "a");
  fs::remove_all(root_ / "b");
  expectError([&] { scanModel(root_, "resnet"); }, ErrorCode::NotFound, "; it has no models");
  expectError([&] { scanModel(root_, "README.md"); }, ErrorCode::NotFound, "model 'README.md' not in repository");
}

TEST_F(RepositoryFixture, BadConfigIsReportedWithItsPath) {
  dir("m/1");
  file("m/config.json", R"({"max_batch_size": "8"})");
  expectError([&] { scanModel(root_, "m"); }, ErrorCode::InvalidArgument,
              (root_ / "m" / "config.json").string() + ": max_batch_size: expected a non-negative integer, got \"8\"");
  file("m/config.json", R"({"name": "other"})");
  expectError([&] { scanModel(root_, "m"); }, ErrorCode::InvalidArgument,
              "config.json: name: expected \"m\" (the model's directory name), got \"other\"");
  fs::remove(root_ / "m" / "config.json");
  dir("m/config.json");
  expectError([&] { scanModel(root_, "m"); }, ErrorCode::InvalidArgument,
              "config.json: expected a file, got a directory or other");
}

TEST_F(RepositoryFixture, ModelWithoutVersionDirectoryIsAnError) {
  file("m/model.onnx");
  dir("m/01");
  dir("m/latest");
  expectError([&] { scanModel(root_, "m"); }, ErrorCode::InvalidArgument,
              "model 'm' (" + (root_ / "m").string() +
                  "): no version directory; expected <model>/<version>/ with a non-negative integer version "
                  "without leading zeros, e.g. " + (root_ / "m" / "1").string() + "; ignored: 01, latest");
}

TEST_F(RepositoryFixture, NamesThatLeaveTheRepositoryAreRefused) {
  dir("inside/m/1");
  dir("m/1");
  const fs::path repository = root_ / "inside";
  for (const char* name : {"", ".", "..", "../m", "m/1", "a\\b", ".hidden"}) {
    expectError([&] { scanModel(repository, name); }, ErrorCode::InvalidArgument,
                "expected a directory name of the repository (no '/' or '\\', not starting with '.')");
  }
  EXPECT_NO_THROW(scanModel(repository, "m"));
}

TEST_F(RepositoryFixture, MissingRepository) {
  expectError([&] { scanModel(root_ / "nope", "m"); }, ErrorCode::NotFound,
              "model repository " + (root_ / "nope").string() + " does not exist");
  expectError([&] { scanRepository(root_ / "nope"); }, ErrorCode::NotFound, "does not exist");
  file("plain");
  expectError([&] { scanRepository(root_ / "plain"); }, ErrorCode::InvalidArgument,
              "model repository " + (root_ / "plain").string() + ": expected a directory, got a file");
}

TEST_F(RepositoryFixture, ScanRepositoryReportsBrokenModelsAndGoesOn) {
  file("zeta/3/model.pt");
  file("alpha/1/model.onnx");
  file("alpha/config.json", R"({"engine": "onnxruntime"})");
  file("broken/1/model.onnx");
  file("broken/config.json", "{ not json");
  dir("empty");
  dir(".hidden/1");
  file("notes.txt");

  std::vector<RepositoryEntry> entries = scanRepository(root_);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].name, "alpha");
  ASSERT_TRUE(entries[0].model.has_value());
  EXPECT_EQ(entries[0].model->config.engine, "onnxruntime");
  EXPECT_TRUE(entries[0].error.empty());

  EXPECT_EQ(entries[1].name, "broken");
  EXPECT_FALSE(entries[1].model.has_value());
  EXPECT_NE(entries[1].error.find("config.json: invalid JSON: parse error at line 1, column 4"), std::string::npos)
      << entries[1].error;

  EXPECT_EQ(entries[2].name, "empty");
  EXPECT_FALSE(entries[2].model.has_value());
  EXPECT_NE(entries[2].error.find("no version directory"), std::string::npos) << entries[2].error;

  EXPECT_EQ(entries[3].name, "zeta");
  ASSERT_TRUE(entries[3].model.has_value());
  EXPECT_EQ(versionsOf(entries[3].model->served()), (std::vector<int64_t>{3}));

  EXPECT_TRUE(scanRepository(root_ / "zeta" / "3").empty());  // no subdirectories: no models
}
