// Server: `polyinfer serve` — the KServe v2 / Open Inference Protocol over
// HTTP and gRPC, on a model repository. Per served model version: one shared Model and
// a BatchingPredictor (a fixed pool of worker threads, each with its own
// Predictor; a bounded queue; dynamic batching where configured). The HTTP
// front end never runs inference: it decodes, queues, and the worker that ran
// the request encodes the response and wakes the connection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "http_server.hpp"
#include "polyinfer/thread_budget.hpp"

namespace polyinfer::serve {

struct ServerOptions {
  std::filesystem::path repository;  ///< <repo>/<model>/<version>/<model file>
  /// Models loaded at start; empty: every model of the repository (mode
  /// "none") or none ("explicit").
  std::vector<std::string> loadModels;
  /// "none": the repository's models are loaded at start and the repository
  /// API cannot load or unload; "explicit": only loadModels at start, and
  /// POST /v2/repository/models/{m}/load|unload work (Triton's modes).
  std::string modelControlMode = "none";
  HttpServerOptions http;
  /// The gRPC front end (inference.GRPCInferenceService): port, 0 for any free one, -1 for
  /// none. It listens on http.host and takes messages up to http.maxBodyBytes.
  int grpcPort = -1;
  /// Requests waiting per model version when its config.json sets no
  /// max_queue_size; beyond it: 503 with Retry-After.
  std::size_t defaultMaxQueueSize = 256;
  int retryAfterSeconds = 1;  ///< the Retry-After of a 503
  bool accessLog = false;     ///< one line per request on stderr
  /// The cores that worker threads may use; the network threads come first
  /// (each takes a core off the budget when there are more than 2 cores).
  ThreadBudget budget = ThreadBudget::detect();
};

class Server {
 public:
  /// Loads the models and starts listening. Throws Error: a model that fails
  /// to load names the model, version and cause; a port that cannot be bound.
  explicit Server(ServerOptions options);
  /// shutdown().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The HTTP port.
  int port() const noexcept;
  /// The gRPC port; -1 when gRPC is off.
  int grpcPort() const noexcept;
  /// What start-up prints: addresses, thread plan, models, versions and their
  /// effective configuration.
  std::string summary() const;
  /// Graceful stop: stop accepting, answer every accepted request (queued
  /// ones run), then close. Idempotent.
  void shutdown();

  struct State;  // server.cpp

 private:
  std::unique_ptr<State> state_;
};

}  // namespace polyinfer::serve
