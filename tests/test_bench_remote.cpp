// The bench's remote target (src/bench/remote_target.hpp) against a real
// `polyinfer serve` started in this process (src/serve) on a temporary model
// repository of the generated ONNX models: metadata, runs from several
// workers whose outputs equal an in-process Predictor's, JSON and binary
// tensors, errors with the server's messages, and `polyinfer bench --url`
// run as a separate process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_fixture.hpp"
#include "remote_target.hpp"
#include "runner.hpp"
#include "server.hpp"
#include "test_support.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const char* const kEngine = "onnxruntime";

bool engineBuilt() {
  const std::vector<std::string> engines = test::builtEngines();
  return std::find(engines.begin(), engines.end(), kEngine) != engines.end();
}

/// A repository <tmp>/<model>/1/model.onnx (symlinks to the generated
/// models, each with config.json naming the engine) served on a free
/// loopback port, for the whole test program.
class ServedRepository {
 public:
  ServedRepository() : dir_("bench_remote_repo") {
    for (const std::string model : {"mlp", "multi_io", "dynamic_batch"}) {
      const fs::path version = dir_.path / model / "1";
      fs::create_directories(version);
      fs::create_symlink(test::modelFile(model, "model.onnx"), version / "model.onnx");
      test::writeFile(dir_.path / model / "config.json",
                      std::string(R"({"engine": ")") + kEngine + R"(", "instance_count": 2})");
    }
    serve::ServerOptions options;
    options.repository = dir_.path;
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    server_ = std::make_unique<serve::Server>(std::move(options));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  test::ScratchDir dir_;
  std::unique_ptr<serve::Server> server_;
};

std::unique_ptr<ServedRepository>& servedInstance() {
  static std::unique_ptr<ServedRepository> served;
  return served;
}

/// Stops the server before the program's static objects (the engine
/// registry) go away.
class StopServerAtEnd : public ::testing::Environment {
 public:
  void TearDown() override { servedInstance().reset(); }
};
[[maybe_unused]] ::testing::Environment* const kStopServer =
    ::testing::AddGlobalTestEnvironment(new StopServerAtEnd);

/// The served repository, started on first use.
const ServedRepository& served() {
  std::unique_ptr<ServedRepository>& instance = servedInstance();
  if (!instance) instance = std::make_unique<ServedRepository>();
  return *instance;
}

#define SERVER_OR_SKIP()                                                                 \
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";      \
  const std::string url = served().url()

bench::RemoteEndpoint endpoint(const std::string& url, const std::string& model,
                               bool binary = true) {
  return bench::RemoteEndpoint{url, model, "", binary};
}

/// What the same model computes in this process, on one Predictor.
Tensors inProcessOutputs(const std::string& model, const Tensors& inputs) {
  Criteria criteria;
  criteria.modelPath = test::modelFile(model, "model.onnx");
  criteria.engine = kEngine;
  return Model::load(criteria)->newPredictor().predict(inputs);
}

void expectSameOutputs(const Tensors& actual, const Tensors& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (const NamedTensor& e : expected) {
    const Tensor* a = actual.find(e.name);
    ASSERT_NE(a, nullptr) << what << ": no output '" << e.name << "'";
    test::expectAllClose(*a, e.tensor, 1e-6, 1e-5, what + " output '" + e.name + "'");
  }
}

/// A loopback port nobody listens on (bound, then closed).
int unusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

const bench::ConfigValue* configValue(const std::vector<bench::ConfigValue>& config,
                                      const std::string& key) {
  for (const bench::ConfigValue& value : config)
    if (value.key == key) return &value;
  return nullptr;
}

// ------------------------------------------------------------------ metadata

TEST(BenchRemote, FetchesTheServedModelsMetadataAndConfig) {
  SERVER_OR_SKIP();
  const bench::RemoteModel model = bench::fetchRemoteModel(endpoint(url, "multi_io"));
  EXPECT_EQ(model.serverName, "polyinfer");
  EXPECT_FALSE(model.serverVersion.empty());
  EXPECT_EQ(model.name, "multi_io");
  EXPECT_EQ(model.versions, std::vector<std::string>{"1"});
  ASSERT_EQ(model.inputs.size(), 3u);
  EXPECT_EQ(model.inputs[0].name, "x");
  EXPECT_EQ(model.inputs[0].dtype, DataType::Float32);
  EXPECT_EQ(model.inputs[0].shape, (Shape{2, 4}));
  EXPECT_EQ(model.inputs[1].name, "idx");
  EXPECT_EQ(model.inputs[1].dtype, DataType::Int64);
  EXPECT_EQ(model.inputs[1].shape, (Shape{2, 3}));
  EXPECT_EQ(model.inputs[2].name, "mask");
  EXPECT_EQ(model.inputs[2].dtype, DataType::Bool);
  EXPECT_TRUE(model.inputs[2].rankKnown);
  ASSERT_EQ(model.outputs.size(), 2u);
  EXPECT_EQ(model.outputs[0].name, "scores");
  EXPECT_EQ(model.outputs[1].name, "count");
  EXPECT_EQ(model.outputs[1].dtype, DataType::Int64);

  // The server's effective config, flattened, from GET .../config.
  const bench::ConfigValue* engine = configValue(model.config, "engine");
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->value, kEngine);
  EXPECT_EQ(engine->source, "server");
  const bench::ConfigValue* instances = configValue(model.config, "instance_count");
  ASSERT_NE(instances, nullptr);
  EXPECT_EQ(instances->value, "2");
  // polyinfer's engine_config list: one entry per engine key, as an
  // in-process run reports them, with the engine's source in the detail.
  const bench::ConfigValue* intra = configValue(model.config, "intraOpNumThreads");
  ASSERT_NE(intra, nullptr);
  EXPECT_EQ(intra->source, "server");
  EXPECT_THAT(intra->detail, HasSubstr("option"));
  EXPECT_EQ(std::count_if(model.config.begin(), model.config.end(),
                          [](const bench::ConfigValue& v) { return v.key == "engine"; }),
            1);  // the engine's own "engine" entry repeats the server's
  const bench::ConfigValue* batching = configValue(model.config, "batching");
  ASSERT_NE(batching, nullptr);
  EXPECT_EQ(batching->value, "false");
  EXPECT_FALSE(batching->detail.empty());  // why not
}

TEST(BenchRemote, DynamicDimensionsAreMinusOne) {
  SERVER_OR_SKIP();
  const bench::RemoteModel model = bench::fetchRemoteModel(endpoint(url, "dynamic_batch"));
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].dtype, DataType::Float32);
  EXPECT_EQ(model.inputs[0].shape, (Shape{-1, 3, 8, 8}));
  ASSERT_EQ(model.outputs.size(), 1u);
  EXPECT_EQ(model.outputs[0].shape[0], -1);
}

TEST(BenchRemote, AVersionCanBeNamed) {
  SERVER_OR_SKIP();
  bench::RemoteEndpoint versioned = endpoint(url, "mlp");
  versioned.version = "1";
  EXPECT_EQ(bench::fetchRemoteModel(versioned).inputs.size(), 1u);
  versioned.version = "7";
  const Error error = test::errorOf([&] { bench::fetchRemoteModel(versioned); });
  EXPECT_EQ(error.code(), ErrorCode::NotFound) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("model 'mlp' has no served version '7'"));
}

// ------------------------------------------------------------------ runs

class BenchRemoteModel : public ::testing::TestWithParam<std::string> {};

TEST_P(BenchRemoteModel, RunFromTwoWorkersMatchesAnInProcessPredictor) {
  SERVER_OR_SKIP();
  const std::string& model = GetParam();
  const Tensors inputs = test::loadReference(model).inputs;
  std::unique_ptr<bench::Target> target = bench::makeRemoteTarget(
      endpoint(url, model), bench::fetchRemoteModel(endpoint(url, model)), inputs,
      {{"note", "test", "benchmark", ""}});

  bench::RunOptions options;
  options.threads = 2;
  options.warmupIterations = 1;
  options.stop.iterations = 12;
  options.usableCores = 2;
  const bench::RunResult r = bench::run(*target, options);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations, 12);
  EXPECT_EQ(r.latency.count, 12);
  EXPECT_GT(r.throughput, 0);
  EXPECT_EQ(r.target.engineName, "remote:polyinfer");
  EXPECT_EQ(r.target.model, url + "/v2/models/" + model);
  EXPECT_THAT(r.timedRegion, HasSubstr("POST " + url + "/v2/models/" + model + "/infer"));
  EXPECT_THAT(r.timedRegion, HasSubstr("decoding the response"));
  EXPECT_EQ(r.target.batch, inputs[0].tensor.shape()[0]);
  ASSERT_NE(configValue(r.target.config, "note"), nullptr);  // the caller's extra config
  EXPECT_EQ(configValue(r.target.config, "engine")->value, kEngine);

  const Tensors expected = inProcessOutputs(model, inputs);
  std::unique_ptr<bench::TargetWorker> first = target->newWorker();
  std::unique_ptr<bench::TargetWorker> second = target->newWorker();
  expectSameOutputs(first->inferWithOutputs(), expected, model + " worker 1");
  expectSameOutputs(second->inferWithOutputs(), expected, model + " worker 2");
  expectSameOutputs(first->inferWithOutputs(), expected, model + " worker 1, call 2");
}

TEST_P(BenchRemoteModel, JsonAndBinaryTensorsGiveTheSameOutputs) {
  SERVER_OR_SKIP();
  const std::string& model = GetParam();
  const Tensors inputs = test::loadReference(model).inputs;
  const bench::RemoteModel metadata = bench::fetchRemoteModel(endpoint(url, model));
  const Tensors binary =
      bench::makeRemoteTarget(endpoint(url, model, true), metadata, inputs)
          ->newWorker()
          ->inferWithOutputs();
  std::unique_ptr<bench::Target> jsonTarget =
      bench::makeRemoteTarget(endpoint(url, model, false), metadata, inputs);
  EXPECT_THAT(jsonTarget->timedRegion(), HasSubstr("JSON tensors"));
  const Tensors json = jsonTarget->newWorker()->inferWithOutputs();
  ASSERT_EQ(json.size(), binary.size());
  for (std::size_t i = 0; i < binary.size(); ++i) {
    EXPECT_EQ(json[i].name, binary[i].name);
    EXPECT_TRUE(test::sameBytes(json[i].tensor, binary[i].tensor))
        << binary[i].name << ": JSON " << json[i].tensor.describe() << ", binary "
        << binary[i].tensor.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Models, BenchRemoteModel, ::testing::Values("mlp", "multi_io"),
                         [](const auto& info) { return test::testName(info.param); });

// ------------------------------------------------------------------ errors

TEST(BenchRemote, UnreachableServerIsUnavailable) {
  const std::string url = "http://127.0.0.1:" + std::to_string(unusedPort());
  const Error error = test::errorOf([&] { bench::fetchRemoteModel(endpoint(url, "mlp")); });
  EXPECT_EQ(error.code(), ErrorCode::Unavailable) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("cannot reach " + url + ": "));
}

TEST(BenchRemote, UrlsOtherThanPlainHttpAreRefused) {
  for (const std::string url : {"https://127.0.0.1:8000", "127.0.0.1:8000", "ftp://host",
                                "http://", "http://host:99999", "http://host:8000?x=1"}) {
    const Error error = test::errorOf([&] { bench::fetchRemoteModel(endpoint(url, "mlp")); });
    EXPECT_EQ(error.code(), ErrorCode::InvalidArgument) << url << ": " << error.what();
    EXPECT_THAT(error.what(), HasSubstr("'" + url + "'"));
  }
  const Error https = test::errorOf([] { bench::fetchRemoteModel(endpoint("https://h:1", "m")); });
  EXPECT_THAT(https.what(), HasSubstr("https is not supported"));
}

TEST(BenchRemote, UnknownModelIsNotFoundWithTheServersMessage) {
  SERVER_OR_SKIP();
  const Error error =
      test::errorOf([&] { bench::fetchRemoteModel(endpoint(url, "no_such_model")); });
  EXPECT_EQ(error.code(), ErrorCode::NotFound) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("unknown model 'no_such_model'; served models:"));
  EXPECT_THAT(error.what(), HasSubstr("HTTP 404"));
}

TEST(BenchRemote, WrongInputShapeIsInvalidArgumentWithTheServersMessage) {
  SERVER_OR_SKIP();
  const bench::RemoteModel metadata = bench::fetchRemoteModel(endpoint(url, "mlp"));
  Tensors wrong;
  wrong.add("x", Tensor::allocate(DataType::Float32, {1, 15}));
  std::unique_ptr<bench::Target> target =
      bench::makeRemoteTarget(endpoint(url, "mlp"), metadata, wrong);
  std::unique_ptr<bench::TargetWorker> worker = target->newWorker();
  const Error error = test::errorOf([&] { worker->infer(); });
  EXPECT_EQ(error.code(), ErrorCode::InvalidArgument) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("input 'x'"));
  EXPECT_THAT(error.what(), HasSubstr("[1,15]"));
  EXPECT_THAT(error.what(), HasSubstr("HTTP 400 from POST " + url + "/v2/models/mlp/infer"));

  // The runner reports it from the first call, before any timing.
  bench::RunOptions options;
  options.stop.iterations = 3;
  const Error fromRun = test::errorOf([&] { bench::run(*target, options); });
  EXPECT_EQ(fromRun.code(), ErrorCode::InvalidArgument) << fromRun.what();

  // The same worker (and connection) still works with good inputs.
  const Tensors good = test::loadReference("mlp").inputs;
  std::unique_ptr<bench::Target> ok = bench::makeRemoteTarget(endpoint(url, "mlp"), metadata, good);
  EXPECT_NO_THROW(ok->newWorker()->infer());
}

// ------------------------------------------------------------------ the tool

class BenchRemoteCli : public clitest::CliTest {};

TEST_F(BenchRemoteCli, BenchUrlRunsAndWritesTheReport) {
  SERVER_OR_SKIP();
  const fs::path json = dir_ / "remote.json";
  const clitest::RunResult r = run({"bench", "--url", url, "-n", "mlp", "-c", "20", "-w", "1",
                                    "-t", "2", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const nlohmann::json j = clitest::readJsonFile(json);
  ASSERT_TRUE(j.is_object()) << clitest::slurp(json);
  EXPECT_EQ(j["engine"]["name"], "remote:polyinfer");
  EXPECT_EQ(j["iterations"], 20);
  EXPECT_EQ(j["threads"], 2);
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_THAT(run0["timed_region"].get<std::string>(), HasSubstr("/v2/models/mlp/infer"));
  bool clientLabelled = false, serverConfig = false;
  for (const auto& entry : run0["config"]) {
    if (entry["key"] == "measured process" && entry["value"] == "client") clientLabelled = true;
    if (entry["key"] == "engine" && entry["source"] == "server" && entry["value"] == kEngine)
      serverConfig = true;
  }
  EXPECT_TRUE(clientLabelled) << run0["config"].dump();
  EXPECT_TRUE(serverConfig) << run0["config"].dump();

  // Dynamic dims: random data needs -s, as for a local model; JSON tensors.
  const clitest::RunResult dynamic =
      run({"bench", "--url", url, "-n", "dynamic_batch", "-c", "10", "-w", "1", "-q"});
  EXPECT_EQ(dynamic.exitCode, 2) << dynamic.err;
  EXPECT_THAT(dynamic.err, HasSubstr("has dynamic dimensions"));
  const fs::path shapedJson = dir_ / "shaped.json";
  const clitest::RunResult shaped =
      run({"bench", "--url", url, "-n", "dynamic_batch", "-s", "(2,3,8,8)f", "-c", "10", "-w", "1",
           "--json-tensors", "--json", shapedJson.string()});
  ASSERT_EQ(shaped.exitCode, 0) << shaped.err;
  EXPECT_THAT(shaped.out, HasSubstr("remote:polyinfer"));
  const nlohmann::json s = clitest::readJsonFile(shapedJson);
  ASSERT_TRUE(s.is_object()) << clitest::slurp(shapedJson);
  EXPECT_EQ(s["runs"][0]["batch"], 2);
  bool jsonProtocol = false;
  for (const auto& entry : s["runs"][0]["config"])
    if (entry["key"] == "protocol") jsonProtocol = entry["value"] == "KServe v2 JSON";
  EXPECT_TRUE(jsonProtocol) << s["runs"][0]["config"].dump();
}

TEST_F(BenchRemoteCli, ConflictingFlagsAreUsageErrors) {
  const std::string url = "http://127.0.0.1:9";  // never reached: usage is checked first
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"-e", "onnxruntime"}, "-e/--engine"},
      {{"-u", "model.onnx"}, "-u/--model-url"},
      {{"-p", "."}, "-p/--model-path"},
      {{"-O", "optLevel=1"}, "-O/--model-options"},
      {{"--intra-op-threads", "2"}, "--intra-op-threads"},
      {{"--device", "cpu"}, "--device"},
      {{"--tune"}, "--tune"},
      {{"--sweep", "threads=1,2"}, "--sweep"},
      {{"--profile"}, "--profile"},
  };
  for (const auto& [extra, flag] : cases) {
    std::vector<std::string> args{"bench", "--url", url, "-n", "mlp"};
    args.insert(args.end(), extra.begin(), extra.end());
    const clitest::RunResult r = run(args);
    expectOneErrorLine(r, 2);
    EXPECT_THAT(r.err, HasSubstr("--url cannot be combined with " + flag)) << flag;
  }
  const clitest::RunResult noName = run({"bench", "--url", url, "-c", "1"});
  expectOneErrorLine(noName, 2);
  EXPECT_THAT(noName.err, HasSubstr("--url needs -n MODEL"));
  const clitest::RunResult https = run({"bench", "--url", "https://127.0.0.1:9", "-n", "mlp"});
  expectOneErrorLine(https, 2);
  EXPECT_THAT(https.err, HasSubstr("https is not supported"));
  const clitest::RunResult version = run({"bench", "-u", "m.onnx", "--model-version", "2"});
  expectOneErrorLine(version, 2);
  EXPECT_THAT(version.err, HasSubstr("--model-version needs --url"));
}

TEST_F(BenchRemoteCli, UnreachableServerExitsOneWithOneLine) {
  const std::string url = "http://127.0.0.1:" + std::to_string(unusedPort());
  const clitest::RunResult r = run({"bench", "--url", url, "-n", "mlp", "-c", "1"});
  expectOneErrorLine(r, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach " + url));
}

}  // namespace
}  // namespace polyinfer
