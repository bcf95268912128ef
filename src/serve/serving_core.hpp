// What a protocol front end asks of the server (ServingCore), and the types that cross
// between them: the served model versions and one inference request on its way. The HTTP
// front end (server.cpp) and the gRPC one (grpc/, a module of its own: grpc_module.hpp says
// why) use only this, so both give the same answers, metrics and back-pressure.
//
// Everything here is header-only or virtual: the gRPC module calls back into the server
// through ServingCore's vtable, and never runs the server's own code (ServedVersion is made
// and destroyed by the server; the module only holds shared_ptrs whose deleter is the
// server's).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "codec.hpp"
#include "polyinfer/batching.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/model.hpp"
#include "server.hpp"

namespace polyinfer::serve {

struct ModelMetrics;  // metrics.hpp; the server's own

/// One model version being served.
struct ServedVersion {
  std::string name;
  int64_t version = 0;
  std::string versionText;
  std::shared_ptr<const Model> model;
  std::unique_ptr<BatchingPredictor> batcher;
  std::unique_ptr<ModelMetrics> metrics;
  int workers = 1;
  int intraOpThreads = 1;
  std::string metadata;   ///< GET /v2/models/{m}/versions/{v}
  nlohmann::json config;  ///< GET .../config: the effective configuration
  std::mutex execMutex;
  uint64_t execReported = 0;  ///< executions already added to nv_inference_exec_count
};

/// A model's line in the repository index.
struct IndexEntry {
  std::string name, version, state, reason;  ///< state READY (version set) or UNAVAILABLE (reason set)
};

/// One inference request on its way through a worker, whichever protocol carried it.
struct InferCall {
  std::shared_ptr<ServedVersion> served;
  std::string protocol;  ///< "http" or "grpc", for the access log
  std::string id;
  std::vector<kserve::RequestedOutput> outputs;
  bool binaryOutputs = false;
  int64_t rows = 1;
  std::chrono::steady_clock::time_point start;
  std::string peer;
  std::size_t bytesIn = 0;
};

/// How a request ended, in HTTP terms whatever carried it: the metrics count by it (200
/// success, 503 rejected, 499 cancelled, 500 backend failure, else other).
inline constexpr int kClientClosedRequest = 499;  // nginx's code: the client went away

/// The HTTP status for an error of the library: the caller's fault is 400, a full or closing
/// server 503 (try again, elsewhere or later), an engine failure 500.
inline int statusFor(ErrorCode code) {
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

/// The protocol extensions the server metadata lists.
inline std::vector<std::string> serverExtensions() { return {"binary_tensor_data", "model_repository"}; }

/// The code and message of a request's error (Internal for anything but an Error).
inline std::pair<ErrorCode, std::string> describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {e.code(), e.what()};
  } catch (const std::exception& e) {
    return {ErrorCode::Internal, e.what()};
  } catch (...) {
    return {ErrorCode::Internal, "unknown error"};
  }
}

/// When a request with parameters.timeout (µs) must be answered by.
inline std::chrono::steady_clock::time_point deadlineOf(std::chrono::steady_clock::time_point start,
                                                        std::optional<int64_t> timeoutMicroseconds) {
  return timeoutMicroseconds ? start + std::chrono::microseconds(*timeoutMicroseconds)
                             : std::chrono::steady_clock::time_point::max();
}

/// Rows a request adds to the model's inference count: dim 0 when the model batches.
inline int64_t batchRows(const ServedVersion& served, const Tensors& inputs) {
  if (served.batcher->batching() && !inputs.empty() && inputs[0].tensor.rank() > 0)
    return inputs[0].tensor.shape()[0];
  return 1;
}

class ServingCore {
 public:
  virtual ~ServingCore() = default;

  virtual const ServerOptions& options() const = 0;
  /// Whether inference is being accepted (started, not shutting down).
  virtual bool isReady() const = 0;
  virtual bool isStopping() const = 0;

  /// The served version (latest when `version` is nullopt). Error(NotFound) naming the served
  /// models or versions otherwise.
  virtual std::shared_ptr<ServedVersion> find(std::string_view name,
                                              std::optional<std::string_view> version) const = 0;
  /// Every served version of a model, ascending; Error(NotFound) as find.
  virtual std::vector<std::shared_ptr<ServedVersion>> versionsOf(std::string_view name) const = 0;
  /// The repository's models with their state.
  virtual std::vector<IndexEntry> index() const = 0;
  /// Loads a model off the caller's thread (it takes seconds); `done` gets nullptr or the
  /// error. Only in model control mode "explicit" (the caller checks).
  virtual void loadModelInBackground(const std::string& name,
                                     std::function<void(std::exception_ptr)> done) = 0;
  /// Takes a loaded model out of service: Error(NotFound) when it is not loaded.
  virtual void unloadModel(const std::string& name) = 0;

  /// Queues `inputs` on the call's model version; `done` runs on a worker (or on the thread
  /// of a cancel) with the result. Returns the ticket for BatchingPredictor::cancel. Throws
  /// Error when the request is refused at once (full queue, shutting down, bad inputs).
  virtual uint64_t submit(const std::shared_ptr<InferCall>& call, Tensors&& inputs,
                          std::chrono::steady_clock::time_point deadline,
                          BatchingPredictor::Callback done) = 0;
  /// Counts a finished request in the metrics (status: see statusFor) and writes its access
  /// line. timing: nullptr when it never reached a worker.
  virtual void account(const InferCall& call, int status, const RequestTiming* timing,
                       std::size_t bytesOut) = 0;
};

}  // namespace polyinfer::serve
