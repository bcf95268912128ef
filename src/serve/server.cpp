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
#include "metrics.hpp"
#include "model_repository.hpp"
#include "polyinfer/batching.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/model.hpp"
#include "polyinfer/version.hpp"

namespace polyinfer::serve {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// One model version being served.
struct ServedVersion {
  std::string name;
  int64_t version = 0;
  std::string versionText;
  std::shared_ptr<const Model> model;
  std::unique_ptr<BatchingPredictor> batcher;
  std::unique_ptr<ModelMetrics> metrics;
  int workers = 1;
  int intraOpThreads = 1;
  std::string metadata;  ///< GET /v2/models/{m}/versions/{v}
  Json config;           ///< GET .../config: the effective configuration
  std::mutex execMutex;
  uint64_t execReported = 0;  ///< executions already added to nv_inference_exec_count
};

struct ServedModel {
  std::map<int64_t, std::shared_ptr<ServedVersion>> versions;  ///< served ones, ascending
  std::string metadata;  ///< GET /v2/models/{m}: all served versions
};

// The client went away before its answer (nginx's code; nobody reads it, the
// metrics count it as CANCELED).
constexpr int kClientClosedRequest = 499;

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

HttpResponse errorResponse(int status, std::string_view message) {
  return jsonResponse(status, kserve::errorBody(message));
}

// How an Error reaches an HTTP client: the caller's fault is 400, a full or
// closing server 503 (with Retry-After: try again, elsewhere or later), an
// engine failure 500.
int statusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
    case ErrorCode::NotFound:
      return 400;
    case ErrorCode::ResourceExhausted:
    case ErrorCode::Unavailable:
    case ErrorCode::DeadlineExceeded:
      return 503;
    case ErrorCode::Cancelled:
      return kClientClosedRequest;
    default:
      return 500;
  }
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

}  // namespace

struct Server::State {
  ServerOptions options;
  MetricsRegistry metrics;
  mutable std::shared_mutex modelsMutex;
  std::map<std::string, ServedModel> models;
  /// Worker threads already given to loaded models (Σ workers × intra).
  std::atomic<int> coresCommitted{0};
  int computeCores = 1;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::mutex shutdownMutex;
  std::unique_ptr<HttpServer> http;
  std::string threadPlan;

  // ------------------------------------------------------------ models

  // `defaultIntra`: intra-op threads when the config sets none; 0: the cores
  // left over by the models already loaded, shared by this one's workers.
  std::shared_ptr<ServedVersion> loadVersion(const RepositoryModel& entry,
                                             const ModelVersionDir& dir, int defaultIntra) {
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
    BatchingOptions batching;
    batching.workers = served->workers;
    if (config.dynamicBatching) {
      batching.maxBatchSize = config.maxBatchSize;
      batching.preferredBatchSizes = config.dynamicBatching->preferredBatchSize;
      batching.maxQueueDelay =
          std::chrono::microseconds(config.dynamicBatching->maxQueueDelayMicroseconds);
    }
    batching.maxQueueSize =
        config.maxQueueSize > 0 ? config.maxQueueSize : options.defaultMaxQueueSize;
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

  // Loads every served version of one model; replaces what was there.
  void loadModel(const std::string& name, int defaultIntra = 0) {
    const RepositoryModel entry = scanModel(options.repository, name);
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

  // A model leaving service: queued requests still run (shutdown drains),
  // on a thread of its own so the caller is not held up.
  void retire(ServedModel&& model) {
    // Its metric series stay: requests still in flight update them, and a
    // later load of the same version counts on (counters never go back).
    for (auto& [number, served] : model.versions) {
      coresCommitted -= served->workers * served->intraOpThreads;
      background([served = std::move(served)] { served->batcher->shutdown(); });
    }
  }

  // Work that outlives the request that started it (loading, draining);
  // joined by shutdown().
  std::mutex backgroundMutex;
  std::vector<std::thread> backgroundThreads;
  void background(std::function<void()> work) {
    std::lock_guard lock(backgroundMutex);
    backgroundThreads.emplace_back(std::move(work));
  }

  // nullptr with an error response filled in when there is no such model/version.
  std::shared_ptr<ServedVersion> find(std::string_view name, std::optional<std::string_view> version,
                                      HttpResponse& error) const {
    std::shared_lock lock(modelsMutex);
    auto it = models.find(std::string(name));
    if (it == models.end()) {
      std::vector<std::string> names;
      for (const auto& [key, value] : models) names.push_back("'" + key + "'");
      error = errorResponse(404, fmt::format("unknown model '{}'; served models: {}", name,
                                             names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
      return nullptr;
    }
    const ServedModel& model = it->second;
    if (!version) return model.versions.rbegin()->second;
    const std::optional<int64_t> number = parseVersion(*version);
    auto found = number ? model.versions.find(*number) : model.versions.end();
    if (found == model.versions.end()) {
      std::vector<std::string> served;
      for (const auto& [key, value] : model.versions) served.push_back(value->versionText);
      error = errorResponse(404, fmt::format("model '{}' has no served version '{}'; served: {}",
                                             name, *version, fmt::join(served, ", ")));
      return nullptr;
    }
    return found->second;
  }

  // ------------------------------------------------------------ requests

  void handle(HttpRequest&& request, Responder respond) {
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
      HttpResponse error;
      std::shared_ptr<ServedVersion> served = find(parts[2], version, error);
      if (!served) return respond(std::move(error));
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

  std::string serverMetadata() const {
    return Json{{"name", "polyinfer"},
                {"version", kVersion},
                {"extensions", {"binary_tensor_data", "model_repository"}}}
        .dump();
  }

  void repository(const std::vector<std::string_view>& parts, bool post, Responder respond) {
    if (!post)
      return respond(errorResponse(405, "the repository endpoints take POST"));
    if (parts.size() == 3 && parts[2] == "index") {
      Json index = Json::array();
      std::vector<RepositoryEntry> entries = scanRepository(options.repository);
      std::shared_lock lock(modelsMutex);
      for (const RepositoryEntry& entry : entries) {
        auto it = models.find(entry.name);
        if (it != models.end()) {
          for (const auto& [number, served] : it->second.versions)
            index.push_back({{"name", entry.name}, {"version", served->versionText}, {"state", "READY"}});
        } else {
          Json item = {{"name", entry.name}, {"state", "UNAVAILABLE"}};
          item["reason"] = entry.error.empty() ? "not loaded" : entry.error;
          index.push_back(std::move(item));
        }
      }
      return respond(jsonResponse(200, index.dump()));
    }
    if (parts.size() == 5 && parts[2] == "models" && (parts[4] == "load" || parts[4] == "unload")) {
      if (options.modelControlMode != "explicit")
        return respond(errorResponse(
            400, "model control is off: start the server with --model-control-mode explicit "
                 "to load and unload models"));
      const std::string name(parts[3]);
      if (parts[4] == "unload") {
        std::unique_lock lock(modelsMutex);
        auto it = models.find(name);
        if (it == models.end())
          return respond(errorResponse(404, fmt::format("model '{}' is not loaded", name)));
        retire(std::move(it->second));
        models.erase(it);
        return respond(jsonResponse(200, ""));
      }
      // Loading takes seconds: off the network thread, answered when done.
      background([this, name, respond = std::move(respond)] {
        try {
          loadModel(name);
          respond(jsonResponse(200, ""));
        } catch (const Error& e) {
          respond(errorResponse(e.code() == ErrorCode::NotFound ? 404 : 400, e.what()));
        }
      });
      return;
    }
    respond(errorResponse(404, "no such repository endpoint"));
  }

  // The per-request context that travels with the request to its worker.
  struct InferCall {
    std::shared_ptr<ServedVersion> served;
    Responder respond;
    std::string id;
    std::vector<kserve::RequestedOutput> outputs;
    bool binaryOutputs = false;
    int64_t rows = 1;
    Clock::time_point start;
    std::string peer;
    std::size_t bytesIn = 0;
  };

  void finish(InferCall& call, HttpResponse&& reply, const RequestTiming* timing) {
    ModelMetrics& m = *call.served->metrics;
    const auto elapsed = Clock::now() - call.start;
    if (reply.status == 200) {
      m.success.add();
      m.inferenceCount.add(static_cast<double>(call.rows));
      m.requestDurationUs.add(static_cast<double>(micros(elapsed)));
      m.requestLatency.observe(std::chrono::duration<double, std::milli>(elapsed).count());
    } else if (reply.status == 503) {
      m.failureRejected.add();
    } else if (reply.status == kClientClosedRequest) {
      m.failureCanceled.add();
    } else if (reply.status == 500) {
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
    if (reply.status == 503) reply.headers.emplace_back("Retry-After", std::to_string(options.retryAfterSeconds));
    if (options.accessLog)
      std::cerr << fmt::format(
          "access peer={} model={} version={} id={} status={} bytes_in={} bytes_out={} rows={} "
          "total_us={} queue_us={} infer_us={} batch_rows={}\n",
          call.peer, call.served->name, call.served->versionText, call.id.empty() ? "-" : call.id,
          reply.status, call.bytesIn, reply.body.size(), call.rows, micros(elapsed),
          timing ? micros(timing->queue) : 0, timing ? micros(timing->computeInfer) : 0,
          timing ? timing->batchRows : 0);
    call.respond(std::move(reply));
  }

  void infer(HttpRequest&& request, Responder respond, std::shared_ptr<ServedVersion> served) {
    auto call = std::make_shared<InferCall>();
    call->served = served;
    call->respond = std::move(respond);
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
      return finish(*call, errorResponse(400, e.what()), nullptr);
    }
    call->id = std::move(decoded->id);
    call->outputs = std::move(decoded->outputs);
    call->binaryOutputs = decoded->binaryDataOutput.value_or(false);
    if (served->batcher->batching() && !decoded->inputs.empty() &&
        decoded->inputs[0].tensor.rank() > 0)
      call->rows = decoded->inputs[0].tensor.shape()[0];
    const Clock::time_point deadline =
        decoded->timeoutMicroseconds
            ? call->start + std::chrono::microseconds(*decoded->timeoutMicroseconds)
            : Clock::time_point::max();
    try {
      served->metrics->pending.add(1);
      const uint64_t ticket = served->batcher->submit(
          std::move(decoded->inputs),
          [this, call](BatchingPredictor::Result&& result) {
            ServedVersion& sv = *call->served;
            sv.metrics->pending.add(-1);
            if (result.error) {
              try {
                std::rethrow_exception(result.error);
              } catch (const Error& e) {
                return finish(*call, errorResponse(statusFor(e.code()), e.what()), &result.timing);
              } catch (const std::exception& e) {
                return finish(*call, errorResponse(500, e.what()), &result.timing);
              }
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
              finish(*call, std::move(reply), &result.timing);
            } catch (const Error& e) {
              finish(*call, errorResponse(statusFor(e.code()), e.what()), &result.timing);
            }
          },
          deadline);
      // A client that leaves while its request waits takes it off the queue.
      request.onDisconnect([served, ticket] { served->batcher->cancel(ticket); });
    } catch (const Error& e) {
      served->metrics->pending.add(-1);
      finish(*call, errorResponse(statusFor(e.code()), e.what()), nullptr);
    }
  }

  std::string metricsText() {
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
};

Server::Server(ServerOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  if (s.options.modelControlMode != "none" && s.options.modelControlMode != "explicit")
    throw Error(ErrorCode::InvalidArgument,
                "model control mode: expected 'none' or 'explicit', got '" +
                    s.options.modelControlMode + "'");
  if (!std::filesystem::is_directory(s.options.repository))
    throw Error(ErrorCode::NotFound, "model repository: no directory '" +
                                         s.options.repository.string() + "'");
  // Network threads mostly wait in epoll; they take cores off the workers'
  // budget only where there are cores to spare.
  const int cores = s.options.budget.usableCores();
  const int network = s.options.http.threads;
  s.computeCores = cores > 2 ? std::max(1, cores - network) : cores;
  s.threadPlan = fmt::format("{} usable cores ({}); {} network thread(s); workers x intra-op "
                             "threads share {} core(s)",
                             cores, s.options.budget.source(), network, s.computeCores);

  std::vector<std::string> names = s.options.loadModels;
  if (names.empty() && s.options.modelControlMode == "none")
    for (const RepositoryEntry& entry : scanRepository(s.options.repository)) {
      if (!entry.model) throw Error(ErrorCode::InvalidArgument, entry.error);
      names.push_back(entry.name);
    }
  // The models loaded at start share the compute cores: intra-op threads =
  // cores / (their workers together), unless a config says otherwise.
  int startWorkers = 0;
  for (const std::string& name : names) {
    const RepositoryModel entry = scanModel(s.options.repository, name);
    startWorkers += static_cast<int>(entry.served().size()) *
                    (entry.config.instanceCount > 0 ? entry.config.instanceCount : 1);
  }
  const int startIntra = std::max(1, s.computeCores / std::max(1, startWorkers));
  for (const std::string& name : names) s.loadModel(name, startIntra);

  s.http = std::make_unique<HttpServer>(
      s.options.http, [&s](HttpRequest&& request, Responder respond) {
        s.handle(std::move(request), std::move(respond));
      });
  s.ready = true;
}

Server::~Server() { shutdown(); }

int Server::port() const noexcept { return state_->http ? state_->http->port() : 0; }

std::string Server::summary() const {
  const State& s = *state_;
  std::string text = fmt::format("polyinfer {} serving KServe v2 on http://{}:{} (metrics at /metrics)\n",
                                 kVersion, s.options.http.host, port());
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
  s.http->stop();
  s.http.reset();
}

}  // namespace polyinfer::serve
