// BatchingPredictor: a pool of worker threads, each owning a Predictor, behind
// a bounded queue, with a Triton-style dynamic batcher that concatenates
// requests along dim 0 and hands each request views of its output rows.
//
//   auto model = polyinfer::Model::load({.modelPath = "model.onnx", .workers = 2});
//   polyinfer::BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8,
//                                                .maxQueueDelay = std::chrono::microseconds(500)});
//   // from any thread:
//   batcher.submit(inputs, [](polyinfer::BatchingPredictor::Result&& r) { ... });
//   polyinfer::Tensors out = batcher.predict(inputs);  // or blocking
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"
#include "polyinfer/tensor.hpp"

namespace polyinfer {

/// How a BatchingPredictor runs and groups requests.
struct BatchingOptions {
  /// Worker threads, each owning one Predictor (made on that thread). Give the
  /// Model the same number in Criteria::workers so its thread defaults fit.
  int workers = 1;
  /// Rows per execution; 0 or 1: no batching (each request runs alone).
  int64_t maxBatchSize = 0;
  /// Execute as soon as the rows gathered reach one of these (each in
  /// 1..maxBatchSize); when several can be formed, the largest.
  std::vector<int64_t> preferredBatchSizes{};
  /// How long the oldest request may wait for others to join; 0: take what is
  /// queued when a worker is free and go.
  std::chrono::microseconds maxQueueDelay{0};
  /// Requests waiting (not yet executing), at least 1; beyond: submit throws
  /// Error(ResourceExhausted).
  std::size_t maxQueueSize = 1024;
};

/// Durations of one request's life, for metrics (Triton's queue / compute
/// input / compute infer / compute output).
struct RequestTiming {
  std::chrono::nanoseconds queue{0};          ///< submit until a worker took it
  std::chrono::nanoseconds computeInput{0};   ///< concatenating the batch's inputs
  std::chrono::nanoseconds computeInfer{0};   ///< the engine's run of the whole batch
  std::chrono::nanoseconds computeOutput{0};  ///< splitting the batch's outputs
  int64_t batchRows = 0;    ///< rows in the execution that ran this request
  int requestsInBatch = 0;  ///< requests in that execution
};

/// Counters since construction.
struct BatchingStats {
  uint64_t executions = 0;  ///< engine runs (a batch or a lone request)
  uint64_t inferences = 0;  ///< requests executed (with or without an error)
  uint64_t rows = 0;        ///< rows executed
  std::size_t pending = 0;  ///< requests waiting now
};

/// Runs a Model on a fixed pool of worker threads fed by one bounded queue,
/// batching requests dynamically when the model allows it.
///
/// Batching (batching() true when maxBatchSize > 1 and no input of the model
/// declares a fixed dim 0): a free worker takes the oldest waiting request and
/// gathers the later ones that agree with it on the dtype and the non-batch
/// dims of every input (others wait, in arrival order), never more than
/// maxBatchSize rows; it goes when the rows reach maxBatchSize or a preferred
/// size, or when the oldest request has waited maxQueueDelay. The inputs are
/// concatenated along dim 0 into buffers the worker reuses, the model runs
/// once, and each request gets views of its rows of every output (no copy;
/// string outputs are copied). Every output must have the batch's rows as its
/// dim 0, else each request of the batch gets Error(EngineFailure). An input
/// the model declares no shape for (TorchScript) is trusted to take any dim 0.
///
/// All members are thread-safe. Callbacks run on a worker thread (cancel's on
/// the cancelling thread), outside any lock of this object; they must not
/// block long, and an exception they throw is dropped. Destroy the
/// BatchingPredictor from a thread other than its workers (shutdown() from a
/// callback stops accepting but cannot wait for its own thread).
class BatchingPredictor {
 public:
  /// Result of one request: its outputs (views into the batch's outputs when
  /// batched), or the error; outputs are empty when error is set.
  struct Result {
    Tensors outputs{};
    std::exception_ptr error{};
    RequestTiming timing{};
  };
  using Callback = std::function<void(Result&&)>;
  using Clock = std::chrono::steady_clock;

  /// Starts `options.workers` threads; each makes its own Predictor from
  /// `model` on its thread, and the constructor returns when all have one (a
  /// failure to make one is rethrown here). Throws Error(InvalidArgument) for
  /// a null model or bad options (workers < 1, negative sizes or delay,
  /// preferred sizes outside 1..maxBatchSize, maxQueueSize 0).
  BatchingPredictor(std::shared_ptr<const Model> model, BatchingOptions options);
  /// shutdown(): every queued request is still answered.
  ~BatchingPredictor();
  BatchingPredictor(const BatchingPredictor&) = delete;
  BatchingPredictor& operator=(const BatchingPredictor&) = delete;

  /// Whether requests are concatenated (maxBatchSize > 1 and the model's
  /// batch dim is dynamic on every input); and why not, when not ("input 'x'
  /// has a fixed dim 0 of 1"); empty when batching.
  bool batching() const noexcept;
  const std::string& unbatchedReason() const noexcept;

  /// Queues a request. Checks the inputs against the model first
  /// (Model::checkInputs) and, when batching, that every input has the same
  /// dim 0 (its rows, 1..maxBatchSize): a bad request throws Error here and
  /// never joins a batch. Queue full: throws Error(ResourceExhausted, "queue
  /// full: 64 requests waiting, limit 64"). After shutdown:
  /// Error(Unavailable, "shutting down"). A null callback: InvalidArgument.
  /// `deadline`: a request still waiting when it passes is answered with
  /// Error(DeadlineExceeded, "timed out after 1000 µs in the queue": the time
  /// it waited) and dropped; a worker waiting for requests wakes for it, one
  /// busy executing answers it when free. Returns a ticket for cancel(). The
  /// inputs are shared, not copied: leave their storage unchanged until the
  /// callback runs.
  uint64_t submit(Tensors inputs, Callback done, Clock::time_point deadline = Clock::time_point::max());

  /// Removes a request that has not started executing; its callback runs with
  /// Error(Cancelled) on this thread before cancel returns (so do not hold a
  /// lock here that the callback takes). Returns false when it already started
  /// or finished, or the ticket is unknown (its callback runs or ran normally).
  /// A request is either cancelled or executed: one callback, exactly.
  bool cancel(uint64_t ticket);

  /// Blocking convenience: submit and wait; rethrows the request's error.
  Tensors predict(const Tensors& inputs);

  /// Stops accepting, runs every queued request, joins the workers.
  /// Idempotent; concurrent calls all return after the join.
  void shutdown();

  BatchingStats stats() const;
  const BatchingOptions& options() const noexcept;
  const std::shared_ptr<const Model>& model() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace polyinfer
