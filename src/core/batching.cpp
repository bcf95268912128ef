#include "polyinfer/batching.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "polyinfer/error.hpp"

namespace polyinfer {

namespace {

using Clock = BatchingPredictor::Clock;
using Result = BatchingPredictor::Result;
using Callback = BatchingPredictor::Callback;

/// One submitted request, owned by the queue until a worker, the deadline
/// sweep or cancel() takes it out.
struct Request {
  uint64_t ticket = 0;
  Tensors inputs;    ///< in model order when batching; as given otherwise
  int64_t rows = 1;  ///< dim 0 shared by every input (when batching)
  Callback done;
  Clock::time_point arrival;
  Clock::time_point deadline = Clock::time_point::max();
};
using RequestPtr = std::unique_ptr<Request>;

/// Requests that may share an execution: same dtype, rank and non-batch dims
/// on every input.
bool batchable(const Request& a, const Request& b) {
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    const Tensor& x = a.inputs[i].tensor;
    const Tensor& y = b.inputs[i].tensor;
    if (x.dtype() != y.dtype() || x.rank() != y.rank()) return false;
    if (!std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) return false;
  }
  return true;
}

/// A worker's input buffer, reused between executions.
struct Storage {
  explicit Storage(std::size_t bytes)
      : data(::operator new(bytes == 0 ? 1 : bytes, std::align_val_t{64})), capacity(bytes) {}
  ~Storage() { ::operator delete(data, std::align_val_t{64}); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data;
  std::size_t capacity;
};

/// Copies `bits` bits; offsets count from bit 0 (the least significant) of
/// byte 0, as ONNX packs sub-byte types. Whole bytes are memcpy'd.
void copyBits(const unsigned char* src, std::size_t srcBit, unsigned char* dst, std::size_t dstBit,
              std::size_t bits) {
  if (srcBit % 8 == 0 && dstBit % 8 == 0) {
    const std::size_t whole = bits / 8;
    if (whole) std::memcpy(dst + dstBit / 8, src + srcBit / 8, whole);
    srcBit += whole * 8;
    dstBit += whole * 8;
    bits -= whole * 8;
  }
  for (std::size_t k = 0; k < bits; ++k) {
    const std::size_t s = srcBit + k, d = dstBit + k;
    const unsigned bit = (src[s / 8] >> (s % 8)) & 1u;
    dst[d / 8] = static_cast<unsigned char>((dst[d / 8] & ~(1u << (d % 8))) | (bit << (d % 8)));
  }
}

std::string micros(std::chrono::nanoseconds duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(duration).count());
}

void answer(Request& request, Result&& result) {
  try {
    request.done(std::move(result));
  } catch (...) {
    // A callback's exception must not take the worker down; nobody to report it to.
  }
}

/// An Error as an exception_ptr. The temporary Error is gone when this
/// returns: a callback that hands the pointer to another thread then holds
/// the only copy of its message (runtime_error's message is reference-counted
/// inside libstdc++, where ThreadSanitizer cannot see the count).
std::exception_ptr errorPointer(ErrorCode code, const std::string& message) {
  return std::make_exception_ptr(Error(code, message));
}

void answerError(Request& request, std::exception_ptr error, std::chrono::nanoseconds queued) {
  Result result;
  result.error = std::move(error);
  result.timing.queue = queued;
  answer(request, std::move(result));
}

void validate(const std::shared_ptr<const Model>& model, const BatchingOptions& options) {
  auto refuse = [](const std::string& what) {
    throw Error(ErrorCode::InvalidArgument, "batching options: " + what);
  };
  if (!model) throw Error(ErrorCode::InvalidArgument, "batching: expected a model, got null");
  if (options.workers < 1) refuse("expected workers >= 1, got " + std::to_string(options.workers));
  if (options.maxBatchSize < 0)
    refuse("expected maxBatchSize >= 0 (0 or 1: no batching), got " + std::to_string(options.maxBatchSize));
  for (int64_t size : options.preferredBatchSizes)
    if (size < 1 || size > options.maxBatchSize)
      refuse("expected preferred batch sizes in 1..maxBatchSize (" + std::to_string(options.maxBatchSize) +
             "), got " + std::to_string(size));
  if (options.maxQueueDelay.count() < 0)
    refuse("expected maxQueueDelay >= 0, got " + std::to_string(options.maxQueueDelay.count()) + " µs");
  if (options.maxQueueSize < 1) refuse("expected maxQueueSize >= 1, got 0");
}

/// Why requests of `model` cannot be concatenated, or "" when they can.
std::string whyUnbatched(const Model& model, const BatchingOptions& options) {
  if (options.maxBatchSize <= 1)
    return "maxBatchSize is " + std::to_string(options.maxBatchSize) + " (batching needs 2 or more)";
  if (model.inputs().empty()) return "the model declares no inputs";
  for (const TensorInfo& info : model.inputs()) {
    if (!info.rankKnown) continue;  // TorchScript: trusted, see the header
    if (info.shape.empty()) return "input '" + info.name + "' is a scalar (no dim 0 to batch along)";
    if (info.shape[0] >= 0)
      return "input '" + info.name + "' has a fixed dim 0 of " + std::to_string(info.shape[0]);
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------- State

struct BatchingPredictor::State {
  State(std::shared_ptr<const Model> m, BatchingOptions o)
      : model(std::move(m)), options(std::move(o)), unbatchedReason(whyUnbatched(*model, options)),
        batching(unbatchedReason.empty()),
        // A year stands for "forever" and keeps arrival + delay from overflowing.
        queueDelay(std::chrono::duration_cast<Clock::duration>(
            std::min<std::chrono::microseconds>(options.maxQueueDelay, std::chrono::hours(24 * 365)))) {}

  const std::shared_ptr<const Model> model;
  const BatchingOptions options;
  const std::string unbatchedReason;
  const bool batching;
  const Clock::duration queueDelay;  ///< maxQueueDelay, at most a year

  mutable std::mutex mutex;
  std::condition_variable wake;  ///< workers: the queue changed, or shutting down
  /// Waiting requests by ticket: tickets grow, so this is arrival order.
  std::map<uint64_t, RequestPtr> queue;
  /// Finite deadlines of waiting requests, nearest first.
  std::set<std::pair<Clock::time_point, uint64_t>> deadlines;
  uint64_t nextTicket = 1;
  bool accepting = true;
  BatchingStats counters;
  int workersStarted = 0;  ///< made their predictor, or failed to
  std::exception_ptr startError;
  std::condition_variable started;

  std::mutex joinMutex;  ///< serialises shutdown's joins
  std::vector<std::thread> threads;
  std::vector<std::thread::id> workerIds;  ///< set once in the constructor

  /// One execution: requests taken from the queue together.
  struct Execution {
    std::vector<RequestPtr> requests;
    int64_t rows = 0;
    Clock::time_point taken;
  };

  void work();
  /// With the lock: removes the requests whose deadline passed into `expired`.
  void takeExpired(Clock::time_point now, std::vector<RequestPtr>& expired);
  /// With the lock: the next execution into `execution` (true), or false and
  /// when to look again.
  bool gather(Clock::time_point now, Execution& execution, Clock::time_point& lookAgain);
  RequestPtr remove(std::map<uint64_t, RequestPtr>::iterator it);
  /// Runs one execution; the results in request order.
  std::vector<Result> execute(Predictor& predictor, Execution& execution,
                              std::vector<std::shared_ptr<Storage>>& buffers) const;
  Tensors concatenate(const Execution& execution, std::vector<std::shared_ptr<Storage>>& buffers) const;
  void split(Tensors outputs, const Execution& execution, std::vector<Result>& results) const;
};

RequestPtr BatchingPredictor::State::remove(std::map<uint64_t, RequestPtr>::iterator it) {
  RequestPtr request = std::move(it->second);
  queue.erase(it);
  if (request->deadline != Clock::time_point::max()) deadlines.erase({request->deadline, request->ticket});
  return request;
}

void BatchingPredictor::State::takeExpired(Clock::time_point now, std::vector<RequestPtr>& expired) {
  while (!deadlines.empty() && deadlines.begin()->first <= now)
    expired.push_back(remove(queue.find(deadlines.begin()->second)));
}

bool BatchingPredictor::State::gather(Clock::time_point now, Execution& execution,
                                      Clock::time_point& lookAgain) {
  const Request& oldest = *queue.begin()->second;
  if (!batching) {
    execution.rows = oldest.rows;
    execution.requests.push_back(remove(queue.begin()));
    return true;
  }
  // The oldest goes first, then the later requests that fit its shapes, in
  // arrival order, up to maxBatchSize rows; a request that fits the shapes
  // but not the rows left ends the gathering (arrival order is kept).
  std::vector<std::map<uint64_t, RequestPtr>::iterator> picked;
  int64_t rows = 0;
  std::size_t atPreferred = 0;  // requests in the largest prefix of a preferred size
  int64_t preferredRows = 0;
  const std::vector<int64_t>& preferred = options.preferredBatchSizes;
  for (auto it = queue.begin(); it != queue.end() && rows < options.maxBatchSize; ++it) {
    const Request& request = *it->second;
    if (!batchable(oldest, request)) continue;
    if (rows + request.rows > options.maxBatchSize) break;
    picked.push_back(it);
    rows += request.rows;
    if (std::find(preferred.begin(), preferred.end(), rows) != preferred.end()) {
      atPreferred = picked.size();
      preferredRows = rows;
    }
  }
  // Full, delay over or draining: everything gathered. Before the delay runs
  // out, the largest preferred size that can be formed; else wait for more.
  std::size_t take = 0;
  const Clock::time_point ready = oldest.arrival + queueDelay;
  if (rows == options.maxBatchSize || !accepting || now >= ready) {
    take = picked.size();
  } else if (atPreferred > 0) {
    take = atPreferred;
    rows = preferredRows;
  } else {
    lookAgain = ready;
    return false;
  }
  execution.rows = rows;
  for (std::size_t i = 0; i < take; ++i) execution.requests.push_back(remove(picked[i]));
  return true;
}

Tensors BatchingPredictor::State::concatenate(const Execution& execution,
                                              std::vector<std::shared_ptr<Storage>>& buffers) const {
  const Request& first = *execution.requests.front();
  buffers.resize(first.inputs.size());
  Tensors batch;
  for (std::size_t i = 0; i < first.inputs.size(); ++i) {
    const Tensor& head = first.inputs[i].tensor;
    const DataType type = head.dtype();
    Shape shape = head.shape();
    shape[0] = execution.rows;
    if (type == DataType::String) {
      std::vector<std::string> strings;
      strings.reserve(static_cast<std::size_t>(elementCount(shape)));
      for (const RequestPtr& request : execution.requests) {
        const std::vector<std::string>& part = request->inputs[i].tensor.strings();
        strings.insert(strings.end(), part.begin(), part.end());
      }
      batch.add(first.inputs[i].name, Tensor::fromStrings(std::move(shape), std::move(strings)));
      continue;
    }
    const std::size_t bytes = denseByteSize(type, elementCount(shape));
    // Reused unless too small, or still held by someone (an engine output
    // that aliases its input would otherwise be overwritten by the next batch).
    std::shared_ptr<Storage>& buffer = buffers[i];
    if (!buffer || buffer->capacity < bytes || buffer.use_count() != 1)
      buffer = std::make_shared<Storage>(bytes);
    auto* out = static_cast<unsigned char*>(buffer->data);
    const std::size_t bits = bitsPerElement(type);
    if (bits % 8 != 0 && bytes > 0) out[bytes - 1] = 0;  // padding bits of packed types
    std::size_t offsetBits = 0;
    for (const RequestPtr& request : execution.requests) {
      const Tensor& part = request->inputs[i].tensor;
      const std::size_t partBits = static_cast<std::size_t>(part.elementCount()) * bits;
      copyBits(static_cast<const unsigned char*>(part.rawData()), 0, out, offsetBits, partBits);
      offsetBits += partBits;
    }
    batch.add(first.inputs[i].name, Tensor::view(type, std::move(shape), buffer->data, bytes, buffer));
  }
  return batch;
}

void BatchingPredictor::State::split(Tensors outputs, const Execution& execution,
                                     std::vector<Result>& results) const {
  const int64_t rows = execution.rows;
  for (NamedTensor& output : outputs) {
    if (output.tensor.rank() < 1 || output.tensor.shape()[0] != rows)
      throw Error(ErrorCode::EngineFailure,
                  "batching: output '" + output.name + "': expected dim 0 of " + std::to_string(rows) +
                      " (the batch's rows, " + std::to_string(execution.requests.size()) +
                      " request(s)), got " + output.tensor.describe());
  }
  if (execution.requests.size() == 1) {
    results[0].outputs = std::move(outputs);
    return;
  }
  for (NamedTensor& output : outputs) {
    const DataType type = output.tensor.dtype();
    const int64_t perRow = rows == 0 ? 0 : output.tensor.elementCount() / rows;
    if (type == DataType::String) {
      const std::vector<std::string>& all = output.tensor.strings();
      std::size_t at = 0;
      for (std::size_t r = 0; r < execution.requests.size(); ++r) {
        Shape shape = output.tensor.shape();
        shape[0] = execution.requests[r]->rows;
        const auto count = static_cast<std::size_t>(perRow * shape[0]);
        std::vector<std::string> part(all.begin() + static_cast<std::ptrdiff_t>(at),
                                      all.begin() + static_cast<std::ptrdiff_t>(at + count));
        at += count;
        results[r].outputs.add(output.name, Tensor::fromStrings(std::move(shape), std::move(part)));
      }
      continue;
    }
    // Views into the batch's output, which the holder keeps alive until the
    // last request lets go of its rows.
    const std::size_t bits = bitsPerElement(type);
    auto* base = static_cast<unsigned char*>(output.tensor.mutableRawData());
    auto holder = std::make_shared<const Tensor>(std::move(output.tensor));
    std::size_t offsetBits = 0;
    for (std::size_t r = 0; r < execution.requests.size(); ++r) {
      Shape shape = holder->shape();
      shape[0] = execution.requests[r]->rows;
      const int64_t count = perRow * shape[0];
      const std::size_t partBits = static_cast<std::size_t>(count) * bits;
      Tensor part;
      if (offsetBits % 8 == 0 && partBits % 8 == 0) {
        part = Tensor::view(type, std::move(shape), base + offsetBits / 8, partBits / 8, holder);
      } else {  // packed rows that do not start or end on a byte: copied
        part = Tensor::allocate(type, std::move(shape));
        copyBits(base, offsetBits, static_cast<unsigned char*>(part.mutableRawData()), 0, partBits);
      }
      offsetBits += partBits;
      results[r].outputs.add(output.name, std::move(part));
    }
  }
}

std::vector<Result> BatchingPredictor::State::execute(Predictor& predictor, Execution& execution,
                                                      std::vector<std::shared_ptr<Storage>>& buffers) const {
  std::vector<Result> results(execution.requests.size());
  for (std::size_t r = 0; r < results.size(); ++r) {
    RequestTiming& timing = results[r].timing;
    timing.queue = execution.taken - execution.requests[r]->arrival;
    timing.batchRows = execution.rows;
    timing.requestsInBatch = static_cast<int>(results.size());
  }
  Clock::time_point inputsReady = execution.taken, inferred = execution.taken;
  try {
    Tensors outputs;
    if (execution.requests.size() == 1) {
      // Alone: its own tensors, no copy.
      inputsReady = Clock::now();
      outputs = predictor.predict(execution.requests.front()->inputs);
    } else {
      const Tensors batch = concatenate(execution, buffers);
      inputsReady = Clock::now();
      outputs = predictor.predict(batch);
    }
    inferred = Clock::now();
    if (batching) split(std::move(outputs), execution, results);
    else results.front().outputs = std::move(outputs);
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    for (Result& result : results) {
      result.outputs = Tensors();
      result.error = error;
    }
  }
  const Clock::time_point done = Clock::now();
  for (Result& result : results) {
    result.timing.computeInput = inputsReady - execution.taken;
    result.timing.computeInfer = std::max(inferred, inputsReady) - inputsReady;
    result.timing.computeOutput = done - std::max(inferred, inputsReady);
  }
  return results;
}

void BatchingPredictor::State::work() {
  std::optional<Predictor> predictor;
  try {
    predictor.emplace(model->newPredictor());
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!startError) startError = std::current_exception();
    ++workersStarted;
    started.notify_all();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++workersStarted;
  }
  started.notify_all();

  std::vector<std::shared_ptr<Storage>> buffers;  // one per input, reused
  std::vector<RequestPtr> expired;
  std::unique_lock<std::mutex> lock(mutex);
  for (;;) {
    const Clock::time_point now = Clock::now();
    takeExpired(now, expired);
    if (!expired.empty()) {
      lock.unlock();
      for (RequestPtr& request : expired) {
        const Clock::duration waited = now - request->arrival;
        const std::string message = "timed out after " + micros(waited) + " µs in the queue";
        answerError(*request, errorPointer(ErrorCode::DeadlineExceeded, message), waited);
      }
      expired.clear();
      lock.lock();
      continue;
    }
    if (queue.empty()) {
      if (!accepting) return;
      wake.wait(lock);
      continue;
    }
    Execution execution;
    Clock::time_point lookAgain = Clock::time_point::max();
    if (!gather(now, execution, lookAgain)) {
      if (!deadlines.empty()) lookAgain = std::min(lookAgain, deadlines.begin()->first);
      wake.wait_until(lock, lookAgain);
      continue;
    }
    const bool more = !queue.empty();
    lock.unlock();
    if (more) wake.notify_one();  // another free worker may take the rest

    execution.taken = now;
    std::vector<Result> results = execute(*predictor, execution, buffers);
    lock.lock();
    counters.executions += 1;
    counters.inferences += execution.requests.size();
    counters.rows += static_cast<uint64_t>(execution.rows);
    lock.unlock();
    for (std::size_t r = 0; r < results.size(); ++r) answer(*execution.requests[r], std::move(results[r]));
    results.clear();
    execution.requests.clear();  // callbacks and inputs released outside the lock
    lock.lock();
  }
}

// ---------------------------------------------------------------- BatchingPredictor

BatchingPredictor::BatchingPredictor(std::shared_ptr<const Model> model, BatchingOptions options) {
  validate(model, options);
  state_ = std::make_unique<State>(std::move(model), std::move(options));
  State& state = *state_;
  try {
    state.threads.reserve(static_cast<std::size_t>(state.options.workers));
    for (int i = 0; i < state.options.workers; ++i) state.threads.emplace_back([&state] { state.work(); });
  } catch (...) {
    shutdown();
    throw;
  }
  for (const std::thread& thread : state.threads) state.workerIds.push_back(thread.get_id());
  std::exception_ptr startError;
  {
    std::unique_lock<std::mutex> lock(state.mutex);
    state.started.wait(lock, [&] { return state.workersStarted == state.options.workers; });
    startError = state.startError;
  }
  if (startError) {
    shutdown();
    std::rethrow_exception(startError);
  }
}

BatchingPredictor::~BatchingPredictor() { shutdown(); }

bool BatchingPredictor::batching() const noexcept { return state_->batching; }
const std::string& BatchingPredictor::unbatchedReason() const noexcept { return state_->unbatchedReason; }
const BatchingOptions& BatchingPredictor::options() const noexcept { return state_->options; }
const std::shared_ptr<const Model>& BatchingPredictor::model() const noexcept { return state_->model; }

uint64_t BatchingPredictor::submit(Tensors inputs, Callback done, Clock::time_point deadline) {
  State& state = *state_;
  if (!done) throw Error(ErrorCode::InvalidArgument, "submit: expected a callback, got none");
  state.model->checkInputs(inputs);
  auto request = std::make_unique<Request>();
  request->done = std::move(done);
  request->deadline = deadline;
  const std::vector<TensorInfo>& infos = state.model->inputs();
  if (state.batching) {
    // Model order, so that requests line up input by input.
    if (!inputs.empty() && !inputs[0].name.empty()) {
      for (const TensorInfo& info : infos) request->inputs.add(info.name, inputs.at(info.name));
    } else {
      request->inputs = std::move(inputs);
    }
    const NamedTensor& first = request->inputs[0];
    for (std::size_t i = 0; i < request->inputs.size(); ++i) {
      const NamedTensor& input = request->inputs[i];
      const std::string name = input.name.empty() ? infos[i].name : input.name;
      if (input.tensor.rank() < 1)
        throw Error(ErrorCode::InvalidArgument, "submit: input '" + name +
                                                    "': expected a batch dim (dim 0) to batch along, got " +
                                                    input.tensor.describe());
      if (input.tensor.shape()[0] != first.tensor.shape()[0])
        throw Error(ErrorCode::InvalidArgument,
                    "submit: expected every input to have the same rows (dim 0), got " +
                        first.tensor.describe() + " for '" + infos[0].name + "' and " +
                        input.tensor.describe() + " for '" + name + "'");
    }
    request->rows = first.tensor.shape()[0];
    if (request->rows < 1 || request->rows > state.options.maxBatchSize)
      throw Error(ErrorCode::InvalidArgument,
                  "submit: expected 1 to " + std::to_string(state.options.maxBatchSize) +
                      " rows (dim 0) per request, got " + std::to_string(request->rows) + " (input '" +
                      infos[0].name + "' " + first.tensor.describe() + ")");
  } else {
    request->inputs = std::move(inputs);
    const bool hasRows = !request->inputs.empty() && request->inputs[0].tensor.rank() >= 1;
    request->rows = hasRows ? request->inputs[0].tensor.shape()[0] : 1;
  }
  request->arrival = Clock::now();

  uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.accepting) throw Error(ErrorCode::Unavailable, "shutting down");
    if (state.queue.size() >= state.options.maxQueueSize)
      throw Error(ErrorCode::ResourceExhausted,
                  "queue full: " + std::to_string(state.queue.size()) + " requests waiting, limit " +
                      std::to_string(state.options.maxQueueSize));
    ticket = state.nextTicket++;
    request->ticket = ticket;
    if (deadline != Clock::time_point::max()) state.deadlines.emplace(deadline, ticket);
    state.queue.emplace(ticket, std::move(request));
  }
  state.wake.notify_one();
  return ticket;
}

bool BatchingPredictor::cancel(uint64_t ticket) {
  State& state = *state_;
  RequestPtr request;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    const auto it = state.queue.find(ticket);
    if (it == state.queue.end()) return false;
    request = state.remove(it);
  }
  // Removing one may let the rest form a preferred size: a waiting worker looks again.
  state.wake.notify_one();
  answerError(*request, errorPointer(ErrorCode::Cancelled, "cancelled by the caller"),
              Clock::now() - request->arrival);
  return true;
}

Tensors BatchingPredictor::predict(const Tensors& inputs) {
  // Shared with the callback: the worker may still be inside set_value when
  // this thread wakes up and returns.
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  submit(inputs, [promise](Result&& result) { promise->set_value(std::move(result)); });
  Result result = future.get();
  if (result.error) std::rethrow_exception(result.error);
  return std::move(result.outputs);
}

void BatchingPredictor::shutdown() {
  State& state = *state_;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.accepting = false;
  }
  state.wake.notify_all();
  // A worker (a callback) cannot join itself: it stops accepting only.
  const std::thread::id self = std::this_thread::get_id();
  if (std::find(state.workerIds.begin(), state.workerIds.end(), self) != state.workerIds.end()) return;
  std::lock_guard<std::mutex> lock(state.joinMutex);
  for (std::thread& thread : state.threads)
    if (thread.joinable()) thread.join();
}

BatchingStats BatchingPredictor::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  BatchingStats stats = state_->counters;
  stats.pending = state_->queue.size();
  return stats;
}

}  // namespace polyinfer
