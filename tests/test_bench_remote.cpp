// The bench's remote target (src/bench/remote_target.hpp) against a real
// `polyinfer serve` started in this process (src/serve) on a temporary model
// repository of the generated ONNX models, over HTTP and over gRPC: metadata,
// runs from several workers whose outputs equal an in-process Predictor's,
// JSON and binary tensors, errors with the server's messages, a server under
// overload (its refusals counted, the run going on) and a server that dies
// mid-run, and `polyinfer bench --url` run as a separate process.
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

/// A served model: its name, the generated model it links to, and the
/// config.json fields after the engine's ("" for none).
struct ServedModel {
  std::string name;
  std::string source;
  std::string config;
};

/// A repository <tmp>/<name>/1/model.onnx (symlinks to the generated
/// models, each with config.json naming the engine) served on a free
/// loopback port.
class ServedRepository {
 public:
  explicit ServedRepository(const std::vector<ServedModel>& models) : dir_("bench_remote_repo") {
    for (const ServedModel& model : models) {
      const fs::path version = dir_.path / model.name / "1";
      fs::create_directories(version);
      fs::create_symlink(test::modelFile(model.source, "model.onnx"), version / "model.onnx");
      test::writeFile(dir_.path / model.name / "config.json",
                      std::string(R"({"engine": ")") + kEngine + "\"" +
                          (model.config.empty() ? "" : ", " + model.config) + "}");
    }
    serve::ServerOptions options;
    options.repository = dir_.path;
    options.http.host = "127.0.0.1";
    options.http.port = 0;
    options.grpcPort = 0;
    server_ = std::make_unique<serve::Server>(std::move(options));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::string grpcUrl() const {
    return "grpc://127.0.0.1:" + std::to_string(server_->grpcPort());
  }
  void shutdown() { server_->shutdown(); }

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

/// The repository most tests share, for the whole test program, started on
/// first use.
const ServedRepository& served() {
  std::unique_ptr<ServedRepository>& instance = servedInstance();
  if (!instance) {
    std::vector<ServedModel> models;
    for (const std::string model : {"mlp", "multi_io", "dynamic_batch"})
      models.push_back({model, model, R"("instance_count": 2)"});
    instance = std::make_unique<ServedRepository>(models);
  }
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

TEST(BenchRemoteGrpc, FetchesTheSameMetadataAsHttpAndNoConfig) {
  SERVER_OR_SKIP();
  const std::string grpc = served().grpcUrl();
  for (const std::string model : {"multi_io", "dynamic_batch"}) {
    const bench::RemoteModel overGrpc = bench::fetchRemoteModel(endpoint(grpc, model));
    const bench::RemoteModel overHttp = bench::fetchRemoteModel(endpoint(url, model));
    EXPECT_EQ(overGrpc.serverName, "polyinfer");
    EXPECT_EQ(overGrpc.serverVersion, overHttp.serverVersion);
    EXPECT_EQ(overGrpc.name, model);
    EXPECT_EQ(overGrpc.versions, overHttp.versions);
    EXPECT_EQ(overGrpc.platform, overHttp.platform);
    for (const auto& [grpcTensors, httpTensors] :
         {std::pair{&overGrpc.inputs, &overHttp.inputs},
          std::pair{&overGrpc.outputs, &overHttp.outputs}}) {
      ASSERT_EQ(grpcTensors->size(), httpTensors->size()) << model;
      for (std::size_t i = 0; i < grpcTensors->size(); ++i) {
        EXPECT_EQ((*grpcTensors)[i].describe(), (*httpTensors)[i].describe()) << model;
        EXPECT_EQ((*grpcTensors)[i].name, (*httpTensors)[i].name) << model;
      }
    }
    // KServe v2's gRPC service has no config call: nothing is made up.
    EXPECT_TRUE(overGrpc.config.empty());
  }
}

TEST(BenchRemoteGrpc, AVersionCanBeNamed) {
  SERVER_OR_SKIP();
  bench::RemoteEndpoint versioned = endpoint(served().grpcUrl(), "mlp");
  versioned.version = "1";
  const bench::RemoteModel model = bench::fetchRemoteModel(versioned);
  EXPECT_EQ(model.inputs.size(), 1u);
  EXPECT_NO_THROW(bench::makeRemoteTarget(versioned, model, test::loadReference("mlp").inputs)
                      ->newWorker()
                      ->infer());
  versioned.version = "7";
  const Error error = test::errorOf([&] { bench::fetchRemoteModel(versioned); });
  EXPECT_EQ(error.code(), ErrorCode::NotFound) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("model 'mlp' has no served version '7'"));
}

// ------------------------------------------------------------------ runs

class BenchRemoteModel : public ::testing::TestWithParam<std::string> {};

/// 12 calls of `model`'s reference inputs from 2 workers at `serverUrl`
/// (either protocol), checked as any run must be; then two more workers'
/// outputs against an in-process Predictor's. The run, for the protocol's
/// own checks.
bench::RunResult expectRunMatchesInProcess(const std::string& serverUrl, const std::string& model) {
  const Tensors inputs = test::loadReference(model).inputs;
  std::unique_ptr<bench::Target> target = bench::makeRemoteTarget(
      endpoint(serverUrl, model), bench::fetchRemoteModel(endpoint(serverUrl, model)), inputs,
      {{"note", "test", "benchmark", ""}});

  bench::RunOptions options;
  options.threads = 2;
  options.warmupIterations = 1;
  options.stop.iterations = 12;
  options.usableCores = 2;
  bench::RunResult r = bench::run(*target, options);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations, 12);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(r.latency.count, 12);
  EXPECT_GT(r.throughput, 0);
  EXPECT_EQ(r.target.engineName, "remote:polyinfer");
  EXPECT_EQ(r.target.batch, inputs[0].tensor.shape()[0]);
  EXPECT_NE(configValue(r.target.config, "note"), nullptr);  // the caller's extra config

  const Tensors expected = inProcessOutputs(model, inputs);
  std::unique_ptr<bench::TargetWorker> first = target->newWorker();
  std::unique_ptr<bench::TargetWorker> second = target->newWorker();
  const std::string what = serverUrl + " " + model;
  expectSameOutputs(first->inferWithOutputs(), expected, what + " worker 1");
  expectSameOutputs(second->inferWithOutputs(), expected, what + " worker 2");
  expectSameOutputs(first->inferWithOutputs(), expected, what + " worker 1, call 2");
  return r;
}

TEST_P(BenchRemoteModel, RunFromTwoWorkersMatchesAnInProcessPredictor) {
  SERVER_OR_SKIP();
  const std::string& model = GetParam();
  const bench::RunResult r = expectRunMatchesInProcess(url, model);
  EXPECT_EQ(r.target.model, url + "/v2/models/" + model);
  EXPECT_THAT(r.timedRegion, HasSubstr("POST " + url + "/v2/models/" + model + "/infer"));
  EXPECT_THAT(r.timedRegion, HasSubstr("decoding the response"));
  ASSERT_NE(configValue(r.target.config, "engine"), nullptr);
  EXPECT_EQ(configValue(r.target.config, "engine")->value, kEngine);
}

TEST_P(BenchRemoteModel, GrpcRunFromTwoWorkersMatchesAnInProcessPredictor) {
  SERVER_OR_SKIP();
  const std::string& model = GetParam();
  const std::string grpc = served().grpcUrl();
  const bench::RunResult r = expectRunMatchesInProcess(grpc, model);
  EXPECT_EQ(r.target.model, grpc + " model " + model);
  EXPECT_THAT(r.timedRegion, HasSubstr("ModelInfer " + grpc + " model '" + model + "'"));
  EXPECT_THAT(r.timedRegion, HasSubstr("decoding its tensors"));
  ASSERT_NE(configValue(r.target.config, "protocol"), nullptr);
  EXPECT_EQ(configValue(r.target.config, "protocol")->value, "KServe v2 gRPC");
  // Engine and the like come from the metadata; the config is said to be missing.
  ASSERT_NE(configValue(r.target.config, "platform"), nullptr);
  EXPECT_EQ(configValue(r.target.config, "platform")->value, kEngine);
  const bench::ConfigValue* config = configValue(r.target.config, "server config");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->value, "none");
  EXPECT_THAT(config->detail, HasSubstr("not available over gRPC"));
  EXPECT_EQ(configValue(r.target.config, "engine"), nullptr);
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
  for (const std::string scheme : {"http", "grpc"}) {
    const std::string url = scheme + "://127.0.0.1:" + std::to_string(unusedPort());
    const Error error = test::errorOf([&] { bench::fetchRemoteModel(endpoint(url, "mlp")); });
    EXPECT_EQ(error.code(), ErrorCode::Unavailable) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("cannot reach " + url + ": "));
  }
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

TEST(BenchRemoteGrpc, TheSchemePicksTheProtocolAndTlsIsRefused) {
  EXPECT_EQ(bench::remoteProtocol("http://h:1"), bench::RemoteProtocol::Http);
  EXPECT_EQ(bench::remoteProtocol("grpc://h:1"), bench::RemoteProtocol::Grpc);
  EXPECT_EQ(bench::remoteProtocol("GRPC://[::1]:1"), bench::RemoteProtocol::Grpc);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"grpcs://h:1", "grpcs (gRPC over TLS) is not supported"},
      {"grpc://h:1/prefix", "a path ('/prefix'); gRPC has none"},
      {"ftp://h:1", "unknown scheme 'ftp'"},
      {"grpc://h:0", "port '0' is not a number 1-65535"},
  };
  for (const auto& [url, why] : refused) {
    const Error error = test::errorOf([&] { bench::remoteProtocol(url); });
    EXPECT_EQ(error.code(), ErrorCode::InvalidArgument) << url << ": " << error.what();
    EXPECT_THAT(error.what(), HasSubstr("'" + url + "': " + why));
    EXPECT_THAT(error.what(), HasSubstr("grpc://HOST[:PORT]"));
  }
}

TEST(BenchRemoteGrpc, UnknownModelIsNotFoundWithTheServersMessage) {
  SERVER_OR_SKIP();
  const std::string grpc = served().grpcUrl();
  const Error error =
      test::errorOf([&] { bench::fetchRemoteModel(endpoint(grpc, "no_such_model")); });
  EXPECT_EQ(error.code(), ErrorCode::NotFound) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("unknown model 'no_such_model'; served models:"));
  EXPECT_THAT(error.what(),
              HasSubstr("gRPC NOT_FOUND from ModelMetadata " + grpc + " model 'no_such_model'"));
}

TEST(BenchRemoteGrpc, WrongInputShapeIsInvalidArgumentWithTheServersMessage) {
  SERVER_OR_SKIP();
  const std::string grpc = served().grpcUrl();
  const bench::RemoteModel metadata = bench::fetchRemoteModel(endpoint(grpc, "mlp"));
  Tensors wrong;
  wrong.add("x", Tensor::allocate(DataType::Float32, {1, 15}));
  std::unique_ptr<bench::TargetWorker> worker =
      bench::makeRemoteTarget(endpoint(grpc, "mlp"), metadata, wrong)->newWorker();
  const Error error = test::errorOf([&] { worker->infer(); });
  EXPECT_EQ(error.code(), ErrorCode::InvalidArgument) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("input 'x'"));
  EXPECT_THAT(error.what(), HasSubstr("[1,15]"));
  EXPECT_THAT(error.what(), HasSubstr("gRPC INVALID_ARGUMENT from ModelInfer " + grpc +
                                      " model 'mlp'"));
}

TEST(BenchRemoteGrpc, JsonTensorsAreRefused) {
  SERVER_OR_SKIP();
  const std::string grpc = served().grpcUrl();
  const bench::RemoteModel metadata = bench::fetchRemoteModel(endpoint(grpc, "mlp"));
  const Error error = test::errorOf([&] {
    bench::makeRemoteTarget(endpoint(grpc, "mlp", false), metadata,
                            test::loadReference("mlp").inputs);
  });
  EXPECT_EQ(error.code(), ErrorCode::InvalidArgument) << error.what();
  EXPECT_THAT(error.what(), HasSubstr("JSON tensors are an HTTP encoding"));
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

// ------------------------------------------------------------------ overload

/// resnet18 on one instance with room for one waiting request: far slower
/// than requests every 0.5 ms from 8 workers, so the queue must fill and the
/// server refuse (503). The timed region starts on an idle server (every
/// warm-up call has its answer), so its first request must be answered.
std::unique_ptr<ServedRepository> overloadedServer() {
  return std::make_unique<ServedRepository>(std::vector<ServedModel>{
      {"slow", "resnet18", R"("instance_count": 1, "intra_op_threads": 1, "max_queue_size": 1)"}});
}

constexpr int kOverloadRequests = 400;

/// kOverloadRequests at 2000/s from 8 workers on `slow`: the refusals are
/// counted and the run goes on; every request is answered or refused. The
/// run's warnings, one per line.
std::string expectRefusalsCounted(const bench::RemoteEndpoint& slow) {
  std::unique_ptr<bench::Target> target = bench::makeRemoteTarget(
      slow, bench::fetchRemoteModel(slow), test::loadReference("resnet18").inputs);
  bench::RunOptions options;
  options.threads = 8;
  options.warmupIterations = 1;
  options.rate = 2000;
  options.arrival = bench::Arrival::Constant;
  options.stop.iterations = kOverloadRequests;
  options.usableCores = 2;
  const bench::RunResult r = bench::run(*target, options);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_GT(r.rejected, 0);
  EXPECT_GT(r.iterations, 0);
  EXPECT_EQ(r.iterations + r.rejected, kOverloadRequests);
  EXPECT_EQ(r.missed, 0);
  EXPECT_EQ(r.latency.count, r.iterations);
  EXPECT_GT(r.rejectedRate, 0);
  std::string warnings;
  for (const std::string& w : r.warnings) warnings += w + "\n";
  return warnings;
}

TEST(BenchRemote, RefusalsUnderOverloadAreCountedAndTheRunGoesOn) {
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";
  const std::unique_ptr<ServedRepository> server = overloadedServer();
  const std::string warnings = expectRefusalsCounted(endpoint(server->url(), "slow"));
  // The server's own words for the refusal, once, in a warning.
  EXPECT_THAT(warnings, HasSubstr("HTTP 503 from POST " + server->url() + "/v2/models/slow/infer"));
  EXPECT_THAT(warnings, HasSubstr("Retry-After: 1 s"));
}

TEST(BenchRemoteGrpc, RefusalsUnderOverloadAreCountedAndTheRunGoesOn) {
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";
  const std::unique_ptr<ServedRepository> server = overloadedServer();
  const std::string warnings = expectRefusalsCounted(endpoint(server->grpcUrl(), "slow"));
  // UNAVAILABLE sent by a server that is up is a refusal, with its words.
  EXPECT_THAT(warnings, HasSubstr("queue full"));
  EXPECT_THAT(warnings, HasSubstr("gRPC UNAVAILABLE from ModelInfer " + server->grpcUrl() +
                                  " model 'slow'"));
}

/// A 2-worker run on `mlp` of `server` (served over `protocolUrl`'s
/// protocol) whose server shuts down once the timed region has answers.
bench::RunResult runUntilTheServerDies(std::unique_ptr<ServedRepository>& server,
                                       const std::string& protocolUrl) {
  const bench::RemoteEndpoint mlp = endpoint(protocolUrl, "mlp");
  std::unique_ptr<bench::Target> target = bench::makeRemoteTarget(
      mlp, bench::fetchRemoteModel(mlp), test::loadReference("mlp").inputs);
  bench::RunOptions options;
  options.threads = 2;
  options.warmupIterations = 1;
  options.stop.durationSeconds = 300;
  options.stop.maxSeconds = 300;
  options.usableCores = 2;
  // Progress comes from run()'s own thread: the server stops once the timed
  // region has answers, while the workers keep calling.
  options.onProgress = [&server](const bench::Progress& p) {
    if (p.phase == "timed" && p.iterations > 0) server->shutdown();
  };
  const bench::RunResult r = bench::run(*target, options);
  EXPECT_EQ(r.stopReason, "failed");
  EXPECT_GT(r.iterations, 0);
  return r;
}

std::unique_ptr<ServedRepository> mlpServer() {
  return std::make_unique<ServedRepository>(
      std::vector<ServedModel>{{"mlp", "mlp", R"("instance_count": 1)"}});
}

TEST(BenchRemote, AServerThatDiesStopsTheRunWithAClearError) {
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";
  auto server = mlpServer();
  const std::string url = server->url();
  const bench::RunResult r = runUntilTheServerDies(server, url);
  EXPECT_THAT(r.error, HasSubstr("POST " + url + "/v2/models/mlp/infer: "));
  EXPECT_THAT(r.error, HasSubstr("(the connection failed)"));
}

TEST(BenchRemoteGrpc, AServerThatDiesStopsTheRunWithAClearError) {
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";
  auto server = mlpServer();
  const std::string grpc = server->grpcUrl();
  const bench::RunResult r = runUntilTheServerDies(server, grpc);
  // gRPC's UNAVAILABLE for a lost connection is not taken for a refusal.
  // Which call notices first is timing: one the shutting-down server
  // cancelled, or one that found no connection.
  EXPECT_THAT(r.error, HasSubstr("ModelInfer " + grpc + " model 'mlp': "));
  EXPECT_THAT(r.error, ::testing::AnyOf(HasSubstr("(the connection failed; channel "),
                                        HasSubstr("(gRPC CANCELLED: the server or the connection "
                                                  "cancelled the call")));
}

// ------------------------------------------------------------------ the tool

class BenchRemoteCli : public clitest::CliTest {
 protected:
  /// `polyinfer bench --url URL -n mlp EXTRA... -c 20 -w 1 -t 2 -q --json FILE`,
  /// which must succeed quietly with 20 calls from 2 threads on polyinfer
  /// serve; the report's run (null when there is no report).
  nlohmann::json quietMlpRun(const std::string& url, const std::vector<std::string>& extra) {
    const fs::path json = dir_ / "quiet.json";
    std::vector<std::string> args{"bench", "--url", url, "-n", "mlp", "-c", "20", "-w", "1",
                                  "-t", "2", "-q", "--json", json.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    const clitest::RunResult r = run(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "");
    const nlohmann::json j = clitest::readJsonFile(json);
    if (!j.is_object()) {
      ADD_FAILURE() << "no JSON report: " << clitest::slurp(json);
      return nullptr;
    }
    EXPECT_EQ(j["engine"]["name"], "remote:polyinfer");
    EXPECT_EQ(j["iterations"], 20);
    EXPECT_EQ(j["threads"], 2);
    return j["runs"][0];
  }
};

TEST_F(BenchRemoteCli, BenchUrlRunsAndWritesTheReport) {
  SERVER_OR_SKIP();
  const nlohmann::json run0 = quietMlpRun(url, {});
  ASSERT_TRUE(run0.is_object());
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

TEST_F(BenchRemoteCli, BenchGrpcUrlRunsAndWritesTheReport) {
  SERVER_OR_SKIP();
  const std::string grpc = served().grpcUrl();
  const nlohmann::json run0 = quietMlpRun(grpc, {"--model-version", "1"});
  ASSERT_TRUE(run0.is_object());
  EXPECT_EQ(run0["model"], grpc + " model mlp version 1");
  EXPECT_THAT(run0["timed_region"].get<std::string>(),
              HasSubstr("ModelInfer " + grpc + " model 'mlp' version '1'"));
  std::string protocol, workers;
  for (const auto& entry : run0["config"]) {
    if (entry["key"] == "protocol") protocol = entry["value"];
    if (entry["key"] == "client workers") workers = entry["detail"];
  }
  EXPECT_EQ(protocol, "KServe v2 gRPC") << run0["config"].dump();
  EXPECT_THAT(workers, HasSubstr("gRPC channel")) << run0["config"].dump();

  const clitest::RunResult jsonTensors =
      run({"bench", "--url", grpc, "-n", "mlp", "-c", "1", "--json-tensors"});
  expectOneErrorLine(jsonTensors, 2);
  EXPECT_THAT(jsonTensors.err, HasSubstr("--json-tensors cannot be used with --url grpc://"));
}

TEST_F(BenchRemoteCli, OverloadEndsWithRefusalsInTheReportAndExitsZero) {
  if (!engineBuilt()) GTEST_SKIP() << "the " << kEngine << " engine is not built";
  const std::unique_ptr<ServedRepository> server = overloadedServer();
  const fs::path json = dir_ / "overload.json";
  const clitest::RunResult r =
      run({"bench", "--url", server->url(), "-n", "slow", "--rate", "2000", "--arrival",
           "constant", "-c", std::to_string(kOverloadRequests), "-t", "8", "-w", "1", "-q",
           "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = clitest::readJsonFile(json);
  ASSERT_TRUE(j.is_object()) << clitest::slurp(json);
  EXPECT_EQ(j["stop_reason"], "iterations");
  EXPECT_GT(j["rejected"].get<int64_t>(), 0);
  EXPECT_GT(j["iterations"].get<int64_t>(), 0);
  EXPECT_EQ(j["iterations"].get<int64_t>() + j["rejected"].get<int64_t>(), kOverloadRequests);
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_EQ(run0["rejected"], j["rejected"]);
  EXPECT_GT(run0["rejected_rate"].get<double>(), 0);
  EXPECT_EQ(run0["open_loop"]["missed"], 0);
  EXPECT_EQ(run0["latency_ms"]["count"], j["iterations"]);
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
  const clitest::RunResult grpcs = run({"bench", "--url", "grpcs://127.0.0.1:9", "-n", "mlp"});
  expectOneErrorLine(grpcs, 2);
  EXPECT_THAT(grpcs.err, HasSubstr("grpcs (gRPC over TLS) is not supported"));
  const clitest::RunResult unknown = run({"bench", "--url", "ftp://127.0.0.1:9", "-n", "mlp"});
  expectOneErrorLine(unknown, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown scheme 'ftp'"));
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
