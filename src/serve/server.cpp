#include "server.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "codec.hpp"
#include "server_state.hpp"
#include "polyinfer/version.hpp"

namespace polyinfer::serve {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

HttpResponse errorResponse(int status, std::string_view message) {
  return jsonResponse(status, kserve::errorBody(message));
}

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) parts.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::optional<int64_t> parseVersion(std::string_view text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

Json configJson(const std::vector<ConfigEntry>& entries) {
  Json list = Json::array();
  for (const ConfigEntry& entry : entries)
    list.push_back({{"key", entry.key},
                    {"value", entry.value},
                    {"source", std::string(toString(entry.source))},
                    {"detail", entry.detail}});
  return list;
}

int64_t micros(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

constexpr std::string_view kModelControlOff =
    "model control is off: start the server with --model-control-mode explicit to load and "
    "unload models";

}  // namespace

// ---------------------------------------------------------------- models

std::shared_ptr<ServedVersion> Server::State::loadVersion(const RepositoryModel& entry,
                                                          const ModelVersionDir& dir,
                                                          int defaultIntra) {
  const ModelConfig& config = entry.config;
  auto served = std::make_shared<ServedVersion>();
  served->name = entry.name;
  served->version = dir.version;
  served->versionText = std::to_string(dir.version);
  served->workers = config.instanceCount > 0 ? config.instanceCount : 1;
  served->intraOpThreads =
      config.intraOpThreads > 0 ? config.intraOpThreads
      : defaultIntra > 0        ? defaultIntra
                                : std::max(1, (computeCores - coresCommitted) / served->workers);
  Criteria criteria;
  criteria.modelPath = dir.path;
  criteria.engine = config.engine;
  criteria.device = config.device;
  criteria.options = config.options;
  criteria.workers = served->workers;
  criteria.intraOpThreads = served->intraOpThreads;
  try {
    served->model = Model::load(criteria);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("model '{}' version {}: {}", entry.name, dir.version, e.what()));
  }
  // KServe v2 carries tensors only: a sequence, map or optional has no
  // datatype there, so such a model is refused here, not at its first request.
  for (const auto* infos : {&served->model->inputs(), &served->model->outputs()})
    for (const TensorInfo& info : *infos)
      if (!info.isTensor())
        throw Error(ErrorCode::Unsupported,
                    fmt::format("model '{}' version {}: '{}' is {}; the KServe v2 protocol carries tensors "
                                "only (run it with `polyinfer predict`, or serve a model that returns tensors)",
                                entry.name, dir.version, info.name, info.describe()));
  BatchingOptions batching;
  batching.workers = served->workers;
  if (config.dynamicBatching) {
    batching.maxBatchSize = config.maxBatchSize;
    batching.preferredBatchSizes = config.dynamicBatching->preferredBatchSize;
    batching.maxQueueDelay =
        std::chrono::microseconds(config.dynamicBatching->maxQueueDelayMicroseconds);
  }
  batching.maxQueueSize =
      config.maxQueueSize > 0 ? config.maxQueueSize : serverOptions.defaultMaxQueueSize;
  served->batcher = std::make_unique<BatchingPredictor>(served->model, batching);
  served->metrics = std::make_unique<ModelMetrics>(metrics, entry.name, served->versionText);
  coresCommitted += served->workers * served->intraOpThreads;

  served->metadata = kserve::modelMetadata(entry.name, {served->versionText},
                                           served->model->engineName(),
                                           served->model->inputs(), served->model->outputs())
                         .dump();
  Json cfg = {
      {"name", entry.name},
      {"version", served->versionText},
      {"path", dir.path.string()},
      {"engine", served->model->engineName()},
      {"engine_version", served->model->engineVersion()},
      {"device", config.device},
      {"instance_count", served->workers},
      {"intra_op_threads", served->intraOpThreads},
      {"max_batch_size", config.maxBatchSize},
      {"max_queue_size", batching.maxQueueSize},
      {"batching", served->batcher->batching()},
      {"engine_config", configJson(served->model->config())},
  };
  if (!served->batcher->batching()) cfg["unbatched_reason"] = served->batcher->unbatchedReason();
  if (config.dynamicBatching)
    cfg["dynamic_batching"] = {
        {"preferred_batch_size", config.dynamicBatching->preferredBatchSize},
        {"max_queue_delay_microseconds", config.dynamicBatching->maxQueueDelayMicroseconds}};
  served->config = std::move(cfg);
  return served;
}

void Server::State::loadModel(const std::string& name, int defaultIntra) {
  const RepositoryModel entry = scanModel(serverOptions.repository, name);
  ServedModel model;
  const std::vector<ModelVersionDir> dirs = entry.served();
  if (dirs.empty())
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("model '{}': its version policy selects none of its versions", name));
  for (const ModelVersionDir& dir : dirs) model.versions[dir.version] = loadVersion(entry, dir, defaultIntra);
  std::vector<std::string> versions;
  for (const auto& [number, served] : model.versions) versions.push_back(served->versionText);
  const ServedVersion& latest = *model.versions.rbegin()->second;
  model.metadata = kserve::modelMetadata(name, versions, latest.model->engineName(),
                                         latest.model->inputs(), latest.model->outputs())
                       .dump();
  {
    std::unique_lock lock(modelsMutex);
    auto it = models.find(name);
    if (it != models.end()) retire(std::move(it->second));
    models[name] = std::move(model);
  }
}

void Server::State::loadModelInBackground(const std::string& name,
                                          std::function<void(std::exception_ptr)> done) {
  background([this, name, done = std::move(done)] {
    try {
      loadModel(name);
      done(nullptr);
    } catch (...) {
      done(std::current_exception());
    }
  });
}

void Server::State::unloadModel(const std::string& name) {
  std::unique_lock lock(modelsMutex);
  auto it = models.find(name);
  if (it == models.end())
    throw Error(ErrorCode::NotFound, fmt::format("model '{}' is not loaded", name));
  retire(std::move(it->second));
  models.erase(it);
}

void Server::State::retire(ServedModel&& model) {
  // Its metric series stay: requests still in flight update them, and a later load of the
  // same version counts on (counters never go back).
  for (auto& [number, served] : model.versions) {
    coresCommitted -= served->workers * served->intraOpThreads;
    background([served = std::move(served)] { served->batcher->shutdown(); });
  }
}

void Server::State::background(std::function<void()> work) {
  std::lock_guard lock(backgroundMutex);
  backgroundThreads.emplace_back(std::move(work));
}

namespace {

std::string quotedList(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "'" : ", '") + name + "'";
  return list;
}

}  // namespace

std::vector<std::shared_ptr<ServedVersion>> Server::State::versionsOf(std::string_view name) const {
  std::shared_lock lock(modelsMutex);
  auto it = models.find(std::string(name));
  if (it == models.end()) {
    std::vector<std::string> names;
    for (const auto& [key, value] : models) names.push_back(key);
    throw Error(ErrorCode::NotFound,
                fmt::format("unknown model '{}'; served models: {}", name, quotedList(names)));
  }
  std::vector<std::shared_ptr<ServedVersion>> versions;
  for (const auto& [number, served] : it->second.versions) versions.push_back(served);
  return versions;
}

std::shared_ptr<ServedVersion> Server::State::find(std::string_view name,
                                                   std::optional<std::string_view> version) const {
  std::vector<std::shared_ptr<ServedVersion>> versions = versionsOf(name);
  if (!version) return versions.back();
  if (const std::optional<int64_t> number = parseVersion(*version))
    for (auto& served : versions)
      if (served->version == *number) return served;
  std::vector<std::string> texts;
  for (const auto& served : versions) texts.push_back(served->versionText);
  throw Error(ErrorCode::NotFound, fmt::format("model '{}' has no served version '{}'; served: {}",
                                               name, *version, fmt::join(texts, ", ")));
}

std::vector<IndexEntry> Server::State::index() const {
  std::vector<IndexEntry> index;
  std::vector<RepositoryEntry> entries = scanRepository(serverOptions.repository);
  std::shared_lock lock(modelsMutex);
  for (const RepositoryEntry& entry : entries) {
    auto it = models.find(entry.name);
    if (it != models.end()) {
      for (const auto& [number, served] : it->second.versions)
        index.push_back({entry.name, served->versionText, "READY", ""});
    } else {
      index.push_back({entry.name, "", "UNAVAILABLE", entry.error.empty() ? "not loaded" : entry.error});
    }
  }
  return index;
}

// ---------------------------------------------------------------- inference

uint64_t Server::State::submit(const std::shared_ptr<InferCall>& call, Tensors&& inputs,
                               Clock::time_point deadline, BatchingPredictor::Callback done) {
  ServedVersion& served = *call->served;
  served.metrics->pending.add(1);
  try {
    return served.batcher->submit(
        std::move(inputs),
        [call, done = std::move(done)](BatchingPredictor::Result&& result) {
          call->served->metrics->pending.add(-1);
          done(std::move(result));
        },
        deadline);
  } catch (...) {
    served.metrics->pending.add(-1);
    throw;
  }
}

void Server::State::account(const InferCall& call, int status, const RequestTiming* timing,
                            std::size_t bytesOut) {
  ModelMetrics& m = *call.served->metrics;
  const auto elapsed = Clock::now() - call.start;
  if (status == 200) {
    m.success.add();
    m.inferenceCount.add(static_cast<double>(call.rows));
    m.requestDurationUs.add(static_cast<double>(micros(elapsed)));
    m.requestLatency.observe(std::chrono::duration<double, std::milli>(elapsed).count());
  } else if (status == 503) {
    m.failureRejected.add();
  } else if (status == kClientClosedRequest) {
    m.failureCanceled.add();
  } else if (status == 500) {
    m.failureBackend.add();
  } else {
    m.failureOther.add();
  }
  if (timing != nullptr) {
    m.queueDurationUs.add(static_cast<double>(micros(timing->queue)));
    m.computeInputDurationUs.add(static_cast<double>(micros(timing->computeInput)));
    m.computeInferDurationUs.add(static_cast<double>(micros(timing->computeInfer)));
    m.computeOutputDurationUs.add(static_cast<double>(micros(timing->computeOutput)));
  }
  if (serverOptions.accessLog)
    std::cerr << fmt::format(
        "access protocol={} peer={} model={} version={} id={} status={} bytes_in={} "
        "bytes_out={} rows={} total_us={} queue_us={} infer_us={} batch_rows={}\n",
        call.protocol, call.peer, call.served->name, call.served->versionText,
        call.id.empty() ? "-" : call.id, status, call.bytesIn, bytesOut, call.rows,
        micros(elapsed), timing ? micros(timing->queue) : 0,
        timing ? micros(timing->computeInfer) : 0, timing ? timing->batchRows : 0);
}

// ---------------------------------------------------------------- HTTP

void Server::State::handle(HttpRequest&& request, Responder respond) {
  const auto parts = splitPath(request.path);
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto methodNotAllowed = [&] {
    respond(errorResponse(405, fmt::format("{} {}: method not allowed", request.method,
                                           request.path)));
  };

  if (parts.size() == 1 && parts[0] == "metrics") {
    if (!get) return methodNotAllowed();
    HttpResponse reply;
    reply.body = metricsText();
    reply.contentType = "text/plain; version=0.0.4; charset=utf-8";
    return respond(std::move(reply));
  }
  if (parts.empty() || parts[0] != "v2")
    return respond(errorResponse(404, fmt::format("no endpoint {}; the KServe v2 endpoints are "
                                                  "under /v2, metrics at /metrics",
                                                  request.path)));
  if (parts.size() == 1) {
    if (!get) return methodNotAllowed();
    return respond(jsonResponse(200, serverMetadata()));
  }
  if (parts[1] == "health" && parts.size() == 3) {
    if (!get) return methodNotAllowed();
    if (parts[2] == "live") return respond(jsonResponse(200, ""));
    if (parts[2] == "ready")
      return respond(ready && !stopping ? jsonResponse(200, "")
                                        : errorResponse(503, stopping ? "shutting down"
                                                                      : "starting"));
  }
  if (parts[1] == "repository") return repository(parts, post, std::move(respond));
  if (parts[1] == "models" && parts.size() >= 3) {
    // /v2/models/{m}[/versions/{v}][/ready|/infer|/config]
    std::optional<std::string_view> version;
    std::size_t next = 3;
    if (parts.size() >= 5 && parts[3] == "versions") {
      version = parts[4];
      next = 5;
    }
    const std::string_view action = next < parts.size() ? parts[next] : std::string_view();
    if (next + 1 < parts.size() || (next < parts.size() && action != "ready" &&
                                    action != "infer" && action != "config"))
      return respond(errorResponse(404, fmt::format("no endpoint {}", request.path)));
    std::shared_ptr<ServedVersion> served;
    try {
      served = find(parts[2], version);
    } catch (const Error& e) {
      return respond(errorResponse(404, e.what()));
    }
    if (action == "infer") {
      if (!post) return methodNotAllowed();
      return infer(std::move(request), std::move(respond), std::move(served));
    }
    if (!get) return methodNotAllowed();
    if (action == "ready")
      return respond(stopping ? errorResponse(503, "shutting down") : jsonResponse(200, ""));
    if (action == "config") return respond(jsonResponse(200, served->config.dump()));
    if (version) return respond(jsonResponse(200, served->metadata));
    std::shared_lock lock(modelsMutex);
    auto it = models.find(std::string(parts[2]));
    return respond(jsonResponse(200, it != models.end() ? it->second.metadata : served->metadata));
  }
  respond(errorResponse(404, fmt::format("no endpoint {}", request.path)));
}

std::string Server::State::serverMetadata() const {
  return Json{{"name", "polyinfer"},
              {"version", kVersion},
              {"extensions", serverExtensions()}}
      .dump();
}

void Server::State::repository(const std::vector<std::string_view>& parts, bool post,
                               Responder respond) {
  if (!post) return respond(errorResponse(405, "the repository endpoints take POST"));
  if (parts.size() == 3 && parts[2] == "index") {
    Json list = Json::array();
    for (const IndexEntry& entry : index()) {
      Json item = {{"name", entry.name}, {"state", entry.state}};
      if (!entry.version.empty()) item["version"] = entry.version;
      if (!entry.reason.empty()) item["reason"] = entry.reason;
      list.push_back(std::move(item));
    }
    return respond(jsonResponse(200, list.dump()));
  }
  if (parts.size() == 5 && parts[2] == "models" && (parts[4] == "load" || parts[4] == "unload")) {
    if (serverOptions.modelControlMode != "explicit")
      return respond(errorResponse(400, kModelControlOff));
    const std::string name(parts[3]);
    if (parts[4] == "unload") {
      try {
        unloadModel(name);
      } catch (const Error& e) {
        return respond(errorResponse(404, e.what()));
      }
      return respond(jsonResponse(200, ""));
    }
    loadModelInBackground(name, [respond = std::move(respond)](std::exception_ptr error) {
      if (!error) return respond(jsonResponse(200, ""));
      try {
        std::rethrow_exception(error);
      } catch (const Error& e) {
        respond(errorResponse(e.code() == ErrorCode::NotFound ? 404 : 400, e.what()));
      } catch (const std::exception& e) {
        respond(errorResponse(500, e.what()));
      }
    });
    return;
  }
  respond(errorResponse(404, "no such repository endpoint"));
}

void Server::State::finish(InferCall& call, Responder& respond, HttpResponse&& reply,
                           const RequestTiming* timing) {
  if (reply.status == 503)
    reply.headers.emplace_back("Retry-After", std::to_string(serverOptions.retryAfterSeconds));
  account(call, reply.status, timing, reply.body.size());
  respond(std::move(reply));
}

void Server::State::infer(HttpRequest&& request, Responder respond,
                          std::shared_ptr<ServedVersion> served) {
  auto call = std::make_shared<InferCall>();
  call->served = served;
  call->protocol = "http";
  call->start = Clock::now();
  call->peer = request.peer;
  call->bytesIn = request.body->size();
  std::optional<kserve::InferRequest> decoded;
  try {
    std::optional<std::size_t> jsonLength;
    if (auto header = request.header("Inference-Header-Content-Length")) {
      std::size_t value = 0;
      const auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), value);
      if (ec != std::errc() || end != header->data() + header->size())
        throw Error(ErrorCode::InvalidArgument,
                    fmt::format("Inference-Header-Content-Length: expected a byte count, got '{}'",
                                *header));
      jsonLength = value;
    }
    if (auto encoding = request.header("Content-Encoding"); encoding && *encoding != "identity")
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("Content-Encoding '{}' is not supported; send the body uncompressed",
                              *encoding));
    decoded = kserve::decodeInferRequest(request.body, jsonLength);
    kserve::checkRequestedOutputs(decoded->outputs, served->model->outputs());
  } catch (const Error& e) {
    return finish(*call, respond, errorResponse(400, e.what()), nullptr);
  }
  call->id = std::move(decoded->id);
  call->outputs = std::move(decoded->outputs);
  call->binaryOutputs = decoded->binaryDataOutput.value_or(false);
  call->rows = batchRows(*served, decoded->inputs);
  try {
    const uint64_t ticket = submit(
        call, std::move(decoded->inputs), deadlineOf(call->start, decoded->timeoutMicroseconds),
        [this, call, respond](BatchingPredictor::Result&& result) mutable {
          const ServedVersion& sv = *call->served;
          if (result.error) {
            const auto [code, message] = describe(result.error);
            return finish(*call, respond, errorResponse(statusFor(code), message), &result.timing);
          }
          try {
            kserve::EncodedBody body = kserve::encodeInferResponse(
                sv.name, sv.versionText, call->id, result.outputs, call->outputs,
                call->binaryOutputs);
            HttpResponse reply;
            reply.body = std::move(body.body);
            if (body.jsonLength) {
              reply.contentType = "application/octet-stream";
              reply.headers.emplace_back("Inference-Header-Content-Length",
                                         std::to_string(*body.jsonLength));
            }
            finish(*call, respond, std::move(reply), &result.timing);
          } catch (const Error& e) {
            finish(*call, respond, errorResponse(statusFor(e.code()), e.what()), &result.timing);
          }
        });
    // A client that leaves while its request waits takes it off the queue.
    request.onDisconnect([served, ticket] { served->batcher->cancel(ticket); });
  } catch (const Error& e) {
    finish(*call, respond, errorResponse(statusFor(e.code()), e.what()), nullptr);
  }
}

std::string Server::State::metricsText() {
  std::shared_lock lock(modelsMutex);
  for (const auto& [name, model] : models)
    for (const auto& [number, served] : model.versions) {
      const BatchingStats stats = served->batcher->stats();
      std::lock_guard execLock(served->execMutex);
      if (stats.executions > served->execReported) {
        served->metrics->execCount.add(static_cast<double>(stats.executions - served->execReported));
        served->execReported = stats.executions;
      }
    }
  return metrics.prometheusText();
}

Server::Server(ServerOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.serverOptions = std::move(options);
  if (s.serverOptions.modelControlMode != "none" && s.serverOptions.modelControlMode != "explicit")
    throw Error(ErrorCode::InvalidArgument,
                "model control mode: expected 'none' or 'explicit', got '" +
                    s.serverOptions.modelControlMode + "'");
  if (!std::filesystem::is_directory(s.serverOptions.repository))
    throw Error(ErrorCode::NotFound, "model repository: no directory '" +
                                         s.serverOptions.repository.string() + "'");
  // Network threads mostly wait in epoll; they take cores off the workers'
  // budget only where there are cores to spare.
  const int cores = s.serverOptions.budget.usableCores();
  const int network = s.serverOptions.http.threads;
  s.computeCores = cores > 2 ? std::max(1, cores - network) : cores;
  s.threadPlan = fmt::format("{} usable cores ({}); {} network thread(s); workers x intra-op "
                             "threads share {} core(s)",
                             cores, s.serverOptions.budget.source(), network, s.computeCores);

  std::vector<std::string> names = s.serverOptions.loadModels;
  if (names.empty() && s.serverOptions.modelControlMode == "none")
    for (const RepositoryEntry& entry : scanRepository(s.serverOptions.repository)) {
      if (!entry.model) throw Error(ErrorCode::InvalidArgument, entry.error);
      names.push_back(entry.name);
    }
  // The models loaded at start share the compute cores: intra-op threads =
  // cores / (their workers together), unless a config says otherwise.
  int startWorkers = 0;
  for (const std::string& name : names) {
    const RepositoryModel entry = scanModel(s.serverOptions.repository, name);
    startWorkers += static_cast<int>(entry.served().size()) *
                    (entry.config.instanceCount > 0 ? entry.config.instanceCount : 1);
  }
  const int startIntra = std::max(1, s.computeCores / std::max(1, startWorkers));
  for (const std::string& name : names) s.loadModel(name, startIntra);

  s.http = std::make_unique<HttpServer>(
      s.serverOptions.http, [&s](HttpRequest&& request, Responder respond) {
        s.handle(std::move(request), std::move(respond));
      });
  if (s.serverOptions.grpcPort >= 0) s.grpc = startGrpcFrontend(s.serverOptions, s);
  s.ready = true;
}

Server::~Server() { shutdown(); }

int Server::port() const noexcept { return state_->http ? state_->http->port() : 0; }

int Server::grpcPort() const noexcept { return state_->grpc ? state_->grpc->port() : -1; }

std::string Server::summary() const {
  const State& s = *state_;
  std::string text = fmt::format("polyinfer {} serving KServe v2 on http://{}:{} (metrics at /metrics)",
                                 kVersion, s.serverOptions.http.host, port());
  text += s.grpc ? fmt::format(" and gRPC {}:{}\n", s.serverOptions.http.host, grpcPort()) : "\n";
  text += "threads: " + s.threadPlan + "\n";
  std::shared_lock lock(s.modelsMutex);
  if (s.models.empty()) text += "models: none loaded\n";
  for (const auto& [name, model] : s.models)
    for (const auto& [number, served] : model.versions) {
      text += fmt::format(
          "model {} version {}: {} {} on {}; {} worker(s) x {} intra-op thread(s); {}; queue "
          "limit {}\n",
          name, served->versionText, served->model->engineName(),
          served->model->engineVersion(), served->config.value("device", "cpu"), served->workers,
          served->intraOpThreads,
          served->batcher->batching()
              ? fmt::format("dynamic batching up to {} rows, delay {} us",
                            served->batcher->options().maxBatchSize,
                            served->batcher->options().maxQueueDelay.count())
              : "unbatched (" +
                    (served->batcher->unbatchedReason().empty() ? std::string("not configured")
                                                                : served->batcher->unbatchedReason()) +
                    ")",
          served->batcher->options().maxQueueSize);
      for (const ConfigEntry& entry : served->model->config())
        text += fmt::format("  {} = {} ({}{})\n", entry.key, entry.value, toString(entry.source),
                            entry.detail.empty() ? "" : ": " + entry.detail);
    }
  return text;
}

void Server::shutdown() {
  State& s = *state_;
  std::lock_guard lock(s.shutdownMutex);
  if (!s.http) return;
  s.stopping = true;
  s.http->stopAccepting();
  std::vector<std::thread> background;
  {
    std::lock_guard backgroundLock(s.backgroundMutex);
    background.swap(s.backgroundThreads);
  }
  for (std::thread& thread : background) thread.join();
  {
    std::shared_lock models(s.modelsMutex);
    for (auto& [name, model] : s.models)
      for (auto& [number, served] : model.versions) served->batcher->shutdown();
  }
  // Every accepted request has its answer now; let the network threads send them.
  const auto limit = Clock::now() + std::chrono::seconds(10);
  while (s.http->inFlight() > 0 && Clock::now() < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (s.grpc) s.grpc->stop(10);
  s.http->stop();
  s.http.reset();
  s.grpc.reset();
}

}  // namespace polyinfer::serve
