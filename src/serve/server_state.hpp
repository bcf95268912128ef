// The server's state: the served models, loading, the inference path (queueing on a model
// version's BatchingPredictor, metrics, access log) behind ServingCore, and the HTTP front
// end's handlers. Private to src/serve (server.cpp).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "grpc_module.hpp"
#include "http_server.hpp"
#include "metrics.hpp"
#include "model_repository.hpp"
#include "serving_core.hpp"

namespace polyinfer::serve {

struct ServedModel {
  std::map<int64_t, std::shared_ptr<ServedVersion>> versions;  ///< served ones, ascending
  std::string metadata;  ///< GET /v2/models/{m}: all served versions
};

struct Server::State final : ServingCore {
  using Clock = std::chrono::steady_clock;

  ServerOptions serverOptions;
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
  std::unique_ptr<GrpcFrontend> grpc;
  std::string threadPlan;

  // ServingCore.
  const ServerOptions& options() const override { return serverOptions; }
  bool isReady() const override { return ready && !stopping; }
  bool isStopping() const override { return stopping; }
  std::shared_ptr<ServedVersion> find(std::string_view name,
                                      std::optional<std::string_view> version) const override;
  std::vector<std::shared_ptr<ServedVersion>> versionsOf(std::string_view name) const override;
  std::vector<IndexEntry> index() const override;
  void loadModelInBackground(const std::string& name,
                             std::function<void(std::exception_ptr)> done) override;
  void unloadModel(const std::string& name) override;
  uint64_t submit(const std::shared_ptr<InferCall>& call, Tensors&& inputs,
                  Clock::time_point deadline, BatchingPredictor::Callback done) override;
  void account(const InferCall& call, int status, const RequestTiming* timing,
               std::size_t bytesOut) override;

  // Models.
  std::shared_ptr<ServedVersion> loadVersion(const RepositoryModel& entry,
                                             const ModelVersionDir& dir, int defaultIntra);
  /// Loads every served version of one model; replaces what was there. `defaultIntra`:
  /// intra-op threads when the config sets none; 0: the cores left over by the models already
  /// loaded, shared by this one's workers.
  void loadModel(const std::string& name, int defaultIntra = 0);
  /// A model leaving service: queued requests still run, on a thread of its own.
  void retire(ServedModel&& model);
  /// Work that outlives the request that started it (loading, draining); joined by shutdown().
  void background(std::function<void()> work);
  std::mutex backgroundMutex;
  std::vector<std::thread> backgroundThreads;

  // HTTP.
  void handle(HttpRequest&& request, Responder respond);
  std::string serverMetadata() const;
  void repository(const std::vector<std::string_view>& parts, bool post, Responder respond);
  void finish(InferCall& call, Responder& respond, HttpResponse&& reply,
              const RequestTiming* timing);
  void infer(HttpRequest&& request, Responder respond, std::shared_ptr<ServedVersion> served);
  std::string metricsText();
};

}  // namespace polyinfer::serve
