// BatchingPredictor on real models (ONNX Runtime): batched results equal
// unbatched ones, what is refused at submit, the queue's limits, deadlines,
// cancel, how requests are grouped, shutdown, and options. Models the
// generated ones lack (two dynamic inputs, a broken output) are written here
// as one-node ONNX graphs.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "batching_support.hpp"
#include "onnx_builder.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Result = BatchingPredictor::Result;
using Clock = BatchingPredictor::Clock;

using test::images;
using test::loadOrt;

std::shared_ptr<Model> loadGenerated(const std::string& name, int workers = 1) {
  return loadOrt(test::modelFile(name, "model.onnx"), workers);
}


Tensor floats(Shape shape, float start) {
  Tensor t = Tensor::allocate(DataType::Float32, std::move(shape));
  float* p = t.mutableData<float>();
  for (int64_t i = 0; i < t.elementCount(); ++i) p[i] = start + static_cast<float>(i);
  return t;
}

/// The error of a result as an Error (fails the test when there is none or
/// it is not an Error).
Error errorOf(const Result& result) {
  if (!result.error) {
    ADD_FAILURE() << "expected an error, got outputs";
    return Error(ErrorCode::Internal, "no error");
  }
  try {
    std::rethrow_exception(result.error);
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected polyinfer::Error, got " << e.what();
  }
  return Error(ErrorCode::Internal, "not an Error");
}

/// The µs of a DeadlineExceeded message, "timed out after N µs in the queue"; -1 when it is not one.
int64_t timedOutMicros(const Result& result) {
  const std::string message = errorOf(result).what();
  const std::string head = "timed out after ", tail = " µs in the queue";
  if (message.rfind(head, 0) != 0 || message.size() < head.size() + tail.size() ||
      message.compare(message.size() - tail.size(), tail.size(), tail) != 0)
    return -1;
  return std::stoll(message.substr(head.size(), message.size() - head.size() - tail.size()));
}

void expectErrorResult(const Result& result, ErrorCode code, const std::vector<std::string>& parts) {
  const Error e = errorOf(result);
  EXPECT_EQ(toString(e.code()), toString(code)) << e.what();
  for (const std::string& part : parts)
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
}

/// Collects the results of submitted requests, in submission order.
class Results {
 public:
  /// A callback filling slot `index`.
  BatchingPredictor::Callback slot(std::size_t index) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (results_.size() <= index) results_.resize(index + 1);
      if (done_.size() <= index) done_.resize(index + 1, 0);
    }
    return [this, index](Result&& result) {
      std::lock_guard<std::mutex> lock(mutex_);
      results_[index] = std::move(result);
      ++done_[index];
      order_.push_back(index);
      changed_.notify_all();
    };
  }
  /// Waits (up to 30 s) for `count` slots to be answered; true when they were.
  bool waitFor(std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return answered() >= count; });
  }
  std::size_t answeredNow() {
    std::lock_guard<std::mutex> lock(mutex_);
    return answered();
  }
  /// Every slot answered once, not twice.
  void expectEachOnce() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < done_.size(); ++i) EXPECT_EQ(done_[i], 1) << "request " << i;
  }
  Result& operator[](std::size_t index) { return results_[index]; }
  /// Slots in the order they were answered.
  std::vector<std::size_t> order() {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_;
  }

 private:
  std::size_t answered() const {
    std::size_t n = 0;
    for (int d : done_) n += d > 0 ? 1 : 0;
    return n;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Result> results_;
  std::vector<int> done_;
  std::vector<std::size_t> order_;
};

/// Holds a worker: the callback of the request submitted with hold() blocks
/// the worker that runs it until release().
class Gate {
 public:
  BatchingPredictor::Callback hold() {
    return [this](Result&&) {
      std::unique_lock<std::mutex> lock(mutex_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    };
  }
  /// Waits until a worker is held.
  void waitHeld() {
    std::unique_lock<std::mutex> lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, 30s, [&] { return entered_; }));
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  ~Gate() { release(); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false, open_ = false;
};

// Tiny ONNX models: tests/support/onnx_builder.hpp.
using test::Dim;
using test::IoSpec;
using test::oneNodeModel;

class BatchingTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path file = scratch_.path / name;
    std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }
  /// y = a + b, a and b float32[n,k] (both dims dynamic).
  std::shared_ptr<Model> addModel() {
    const std::vector<Dim> dims = {std::string("n"), std::string("k")};
    return loadOrt(write("add.onnx", oneNodeModel("Add", {{"a", DataType::Float32, dims},
                                                          {"b", DataType::Float32, dims}},
                                                  {{"y", DataType::Float32, dims}})));
  }
  /// y = the sum of all of x float32[n,2], kept as [1,1]: not one row per row.
  std::shared_ptr<Model> sumAllModel() {
    const IoSpec x = {"x", DataType::Float32, {std::string("n"), int64_t{2}}};
    const IoSpec y = {"y", DataType::Float32, {std::string("m"), std::string("o")}};
    return loadOrt(write("sum.onnx", oneNodeModel("ReduceSum", {x}, {y})));
  }
  /// y = x, string[n,2].
  std::shared_ptr<Model> stringIdentityModel() {
    const std::vector<Dim> dims = {std::string("n"), int64_t{2}};
    return loadOrt(write("strings.onnx", oneNodeModel("Identity", {{"x", DataType::String, dims}},
                                                      {{"y", DataType::String, dims}})));
  }
  test::ScratchDir scratch_{"batching"};
};

// ------------------------------------------------------------ results

// Requests of 1, 2 and 3 rows run as one execution of 6 rows; each gets its
// own rows, equal to running it alone.
TEST_F(BatchingTest, BatchedResultsEqualUnbatched) {
  auto model = loadGenerated("dynamic_batch");
  std::vector<Tensor> inputs = {images(1, 1), images(2, 2), images(3, 3)};
  std::vector<Tensor> expected;
  {
    Predictor predictor = model->newPredictor();
    for (const Tensor& input : inputs) expected.push_back(predictor.predict({input})[0].tensor.clone());
  }
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .preferredBatchSizes = {6}, .maxQueueDelay = 10s});
  EXPECT_TRUE(batcher.batching());
  EXPECT_EQ(batcher.unbatchedReason(), "");
  Results results;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    batcher.submit(test::named("x", inputs[i]), results.slot(i));
  ASSERT_TRUE(results.waitFor(inputs.size()));
  results.expectEachOnce();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_FALSE(results[i].error);
    ASSERT_EQ(results[i].outputs.size(), 1u);
    EXPECT_EQ(results[i].outputs[0].name, "y");
    test::expectAllClose(results[i].outputs[0].tensor, expected[i], 1e-5, 1e-4, "y");
    EXPECT_EQ(results[i].timing.batchRows, 6);
    EXPECT_EQ(results[i].timing.requestsInBatch, 3);
    EXPECT_GT(results[i].timing.computeInfer.count(), 0);
  }
  const BatchingStats stats = batcher.stats();
  EXPECT_EQ(stats.executions, 1u);
  EXPECT_EQ(stats.inferences, 3u);
  EXPECT_EQ(stats.rows, 6u);
  EXPECT_EQ(stats.pending, 0u);
}

// The blocking form, positional or named, matches the generated reference.
TEST_F(BatchingTest, PredictMatchesReference) {
  auto model = loadGenerated("dynamic_batch");
  const test::Reference ref = test::loadReference("dynamic_batch");
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 4});
  test::expectMatchesReference("dynamic_batch", batcher.predict(ref.inputs), 1e-5, 1e-4);
  test::expectMatchesReference("dynamic_batch", batcher.predict({ref.inputs[0].tensor}), 1e-5, 1e-4);
}

// Two inputs are concatenated input by input; requests whose non-batch dims
// differ wait for an execution of their own, in arrival order.
TEST_F(BatchingTest, OtherShapesWaitForTheirOwnExecution) {
  auto model = addModel();
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  ASSERT_TRUE(batcher.batching()) << batcher.unbatchedReason();
  Gate gate;
  batcher.submit({floats({1, 2}, 0), floats({1, 2}, 0)}, gate.hold());
  gate.waitHeld();
  // k = 2, 3, 2, 3: the two of k = 2 run together first (the oldest's shape), then k = 3.
  const std::vector<Shape> shapes = {{1, 2}, {2, 3}, {3, 2}, {1, 3}};
  Results results;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    Tensors inputs;
    // Named in another order than the model's: lined up by name.
    inputs.add("b", floats(shapes[i], 100.0f * static_cast<float>(i)));
    inputs.add("a", floats(shapes[i], 1000.0f));
    batcher.submit(inputs, results.slot(i));
  }
  EXPECT_EQ(batcher.stats().pending, 4u);
  gate.release();
  ASSERT_TRUE(results.waitFor(shapes.size()));
  results.expectEachOnce();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    ASSERT_FALSE(results[i].error);
    const Tensor& y = results[i].outputs.at("y");
    ASSERT_EQ(y.shape(), shapes[i]);
    const Tensor a = floats(shapes[i], 1000.0f), b = floats(shapes[i], 100.0f * static_cast<float>(i));
    std::vector<float> sum(static_cast<std::size_t>(a.elementCount()));
    for (std::size_t e = 0; e < sum.size(); ++e) sum[e] = a.data<float>()[e] + b.data<float>()[e];
    EXPECT_EQ(y.toVector<float>(), sum);
  }
  EXPECT_EQ(results[0].timing.batchRows, 4);
  EXPECT_EQ(results[2].timing.batchRows, 4);
  EXPECT_EQ(results[1].timing.batchRows, 3);
  EXPECT_EQ(results[3].timing.batchRows, 3);
  EXPECT_EQ(results[0].timing.requestsInBatch, 2);
  EXPECT_EQ(results.order(), (std::vector<std::size_t>{0, 2, 1, 3}));  // k = 2 ran first
  EXPECT_EQ(batcher.stats().executions, 3u);  // the held one, k = 2, k = 3
}

// A string input is concatenated by copying, a string output split by copying.
TEST_F(BatchingTest, StringTensorsAreBatched) {
  auto model = stringIdentityModel();
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  ASSERT_TRUE(batcher.batching()) << batcher.unbatchedReason();
  Gate gate;
  batcher.submit({Tensor::fromStrings({1, 2}, {"held", "!"})}, gate.hold());
  gate.waitHeld();
  const std::vector<std::vector<std::string>> values = {{"a", "bb"}, {"ccc", "", "e", "ff"}, {"g", "h"}};
  Results results;
  for (std::size_t i = 0; i < values.size(); ++i)
    batcher.submit({Tensor::fromStrings({static_cast<int64_t>(values[i].size() / 2), 2}, values[i])},
                   results.slot(i));
  gate.release();
  ASSERT_TRUE(results.waitFor(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_FALSE(results[i].error);
    EXPECT_EQ(results[i].outputs[0].tensor.strings(), values[i]);
    EXPECT_EQ(results[i].timing.batchRows, 4);
  }
}

// A model with a fixed batch of 1 is not batched, says why, and still serves.
TEST_F(BatchingTest, FixedBatchModelRunsEachRequestAlone) {
  auto model = loadGenerated("mlp");
  const test::Reference ref = test::loadReference("mlp");
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueDelay = 10s});
  EXPECT_FALSE(batcher.batching());
  EXPECT_EQ(batcher.unbatchedReason(), "input 'x' has a fixed dim 0 of 1");
  Results results;
  for (std::size_t i = 0; i < 4; ++i) batcher.submit(ref.inputs, results.slot(i));
  ASSERT_TRUE(results.waitFor(4));  // no waiting for others to join
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_FALSE(results[i].error);
    test::expectMatchesReference("mlp", results[i].outputs, 1e-5, 1e-4);
    EXPECT_EQ(results[i].timing.batchRows, 1);
    EXPECT_EQ(results[i].timing.requestsInBatch, 1);
  }
  EXPECT_EQ(batcher.stats().executions, 4u);
}

TEST_F(BatchingTest, MaxBatchSizeOfOneOrZeroIsNoBatching) {
  auto model = loadGenerated("dynamic_batch");
  for (int64_t size : {0, 1}) {
    BatchingPredictor batcher(model, {.maxBatchSize = size});
    EXPECT_FALSE(batcher.batching());
    EXPECT_NE(batcher.unbatchedReason().find("maxBatchSize is " + std::to_string(size)), std::string::npos)
        << batcher.unbatchedReason();
    // Unbatched, any rows the model takes are fine.
    const Tensors out = batcher.predict({images(5, 1)});
    EXPECT_EQ(out[0].tensor.shape(), (Shape{5, 5}));
  }
}

// ------------------------------------------------------------ refused at submit

TEST_F(BatchingTest, InputsWithDifferentRowsAreRefusedAtSubmit) {
  auto model = addModel();
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  test::expectError(
      [&] { batcher.submit(Tensors{floats({2, 3}, 0), floats({3, 3}, 0)}, [](Result&&) {}); },
      ErrorCode::InvalidArgument, {"same rows", "float32[2,3]", "'a'", "float32[3,3]", "'b'"});
  test::expectError([&] { batcher.submit(Tensors{floats({9, 3}, 0), floats({9, 3}, 0)}, [](Result&&) {}); },
                    ErrorCode::InvalidArgument, {"1 to 8 rows", "got 9"});
  test::expectError([&] { batcher.submit(Tensors{floats({0, 3}, 0), floats({0, 3}, 0)}, [](Result&&) {}); },
                    ErrorCode::InvalidArgument, {"1 to 8 rows", "got 0"});
  EXPECT_EQ(batcher.stats().pending, 0u);
  const Tensors out = batcher.predict({floats({2, 3}, 0), floats({2, 3}, 1)});
  EXPECT_EQ(out[0].tensor.toVector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
}

// A request of the wrong dtype throws at submit (the Error predict throws)
// and the requests around it are served as usual.
TEST_F(BatchingTest, BadDtypeIsRefusedAtSubmitWithoutAffectingOthers) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .maxQueueDelay = 50ms});
  Results results;
  batcher.submit({images(1, 1)}, results.slot(0));
  const Tensor int32Images = Tensor::allocate(DataType::Int32, {1, 3, 8, 8});
  test::expectError([&] { batcher.submit({int32Images}, [](Result&&) {}); },
                    ErrorCode::InvalidArgument, {"input 'x'", "float32[?,3,8,8]", "int32[1,3,8,8]"});
  test::expectError([&] { batcher.submit({images(1, 1), images(1, 1)}, [](Result&&) {}); },
                    ErrorCode::InvalidArgument, {"expected 1 input"});
  test::expectError([&] { batcher.submit(test::named("z", images(1, 1)), [](Result&&) {}); },
                    ErrorCode::NotFound, {"unknown input 'z'"});
  test::expectError([&] { batcher.submit({images(1, 1)}, nullptr); }, ErrorCode::InvalidArgument,
                    {"callback"});
  batcher.submit({images(2, 2)}, results.slot(1));
  ASSERT_TRUE(results.waitFor(2));
  for (std::size_t i = 0; i < 2; ++i) EXPECT_FALSE(results[i].error) << i;
  EXPECT_EQ(batcher.stats().inferences, 2u);
}

TEST_F(BatchingTest, ModelCheckInputsIsPredictsCheck) {
  auto model = loadGenerated("dynamic_batch");
  model->checkInputs({images(4, 1)});
  model->checkInputs(test::named("x", images(1, 1)));
  Predictor predictor = model->newPredictor();
  const Tensors bad = {Tensor::allocate(DataType::Float32, {1, 3, 8, 9})};
  const std::string fromCheck =
      test::expectError([&] { model->checkInputs(bad); }, ErrorCode::InvalidArgument);
  const std::string fromPredict =
      test::expectError([&] { predictor.predict(bad); }, ErrorCode::InvalidArgument);
  EXPECT_EQ(fromCheck, fromPredict);
  EXPECT_NE(fromCheck.find("float32[1,3,8,9]"), std::string::npos) << fromCheck;
}

// ------------------------------------------------------------ queue limits

TEST_F(BatchingTest, FullQueueIsResourceExhausted) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 4, .maxQueueSize = 2});
  Gate gate;
  batcher.submit({images(1, 0)}, gate.hold());
  gate.waitHeld();  // executing: no longer waiting
  Results results;
  batcher.submit({images(1, 1)}, results.slot(0));
  batcher.submit({images(1, 2)}, results.slot(1));
  test::expectError([&] { batcher.submit({images(1, 3)}, [](Result&&) {}); }, ErrorCode::ResourceExhausted,
                    {"queue full: 2 requests waiting, limit 2"});
  EXPECT_EQ(batcher.stats().pending, 2u);
  gate.release();
  ASSERT_TRUE(results.waitFor(2));
  EXPECT_FALSE(results[0].error);
  EXPECT_FALSE(results[1].error);
  batcher.predict({images(1, 4)});  // room again
}

// A waiting worker wakes at the deadline: the request is answered long
// before the queue delay it was waiting for ends.
TEST_F(BatchingTest, DeadlineIsAnsweredWhileWaiting) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .maxQueueDelay = 20s});
  Results results;
  const auto start = Clock::now();
  batcher.submit({images(1, 1)}, results.slot(0), Clock::now() + 50ms);
  ASSERT_TRUE(results.waitFor(1));
  EXPECT_LT(Clock::now() - start, 10s);
  expectErrorResult(results[0], ErrorCode::DeadlineExceeded, {});
  // Queued a moment after the deadline was computed: a little under 50 ms.
  EXPECT_GE(timedOutMicros(results[0]), 40000) << errorOf(results[0]).what();
  EXPECT_TRUE(results[0].outputs.empty());
  EXPECT_GE(results[0].timing.queue, 40ms);
  EXPECT_EQ(batcher.stats().inferences, 0u);
  EXPECT_EQ(batcher.stats().pending, 0u);
}

// A deadline that passes while every worker is busy: answered when one is
// free, never executed; requests without one run.
TEST_F(BatchingTest, DeadlinePassedWhileWorkersBusy) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  Gate gate;
  batcher.submit({images(1, 0)}, gate.hold());
  gate.waitHeld();
  Results results;
  batcher.submit({images(1, 1)}, results.slot(0), Clock::now() + 1ms);
  batcher.submit({images(1, 2)}, results.slot(1), Clock::now() - 1s);  // already past
  batcher.submit({images(1, 3)}, results.slot(2));
  std::this_thread::sleep_for(20ms);
  gate.release();
  ASSERT_TRUE(results.waitFor(3));
  results.expectEachOnce();
  // Answered when the worker was free again, after the 20 ms the gate held it.
  expectErrorResult(results[0], ErrorCode::DeadlineExceeded, {});
  expectErrorResult(results[1], ErrorCode::DeadlineExceeded, {});
  EXPECT_GE(timedOutMicros(results[0]), 15000) << errorOf(results[0]).what();
  EXPECT_GE(timedOutMicros(results[1]), 15000) << errorOf(results[1]).what();
  EXPECT_FALSE(results[2].error);
  EXPECT_EQ(results[2].timing.batchRows, 1);
}

TEST_F(BatchingTest, CancelWithdrawsAWaitingRequest) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  Gate gate;
  const uint64_t held = batcher.submit({images(1, 0)}, gate.hold());
  gate.waitHeld();
  Results results;
  const uint64_t first = batcher.submit({images(1, 1)}, results.slot(0));
  const uint64_t second = batcher.submit({images(1, 2)}, results.slot(1));
  EXPECT_NE(first, second);
  EXPECT_FALSE(batcher.cancel(held));  // already executing
  EXPECT_TRUE(batcher.cancel(first));
  EXPECT_EQ(results.answeredNow(), 1u);  // its callback ran before cancel returned
  expectErrorResult(results[0], ErrorCode::Cancelled, {"cancelled"});
  EXPECT_FALSE(batcher.cancel(first));
  EXPECT_FALSE(batcher.cancel(12345));
  gate.release();
  ASSERT_TRUE(results.waitFor(2));
  EXPECT_FALSE(results[1].error);
  EXPECT_EQ(results[1].timing.requestsInBatch, 1);
  EXPECT_FALSE(batcher.cancel(second));  // finished
  results.expectEachOnce();
  EXPECT_EQ(batcher.stats().inferences, 2u);
}

// A request cancelled while a worker waits for others to join it.
TEST_F(BatchingTest, CancelDuringTheQueueDelay) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .maxQueueDelay = 20s});
  Results results;
  const uint64_t ticket = batcher.submit({images(2, 1)}, results.slot(0));
  std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(batcher.cancel(ticket));
  expectErrorResult(results[0], ErrorCode::Cancelled, {});
  EXPECT_EQ(batcher.stats().pending, 0u);
  EXPECT_EQ(batcher.stats().executions, 0u);
}

// ------------------------------------------------------------ grouping

// A preferred size goes at once, without waiting for the queue delay.
TEST_F(BatchingTest, PreferredSizeGoesAtOnce) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .preferredBatchSizes = {4}, .maxQueueDelay = 20s});
  Results results;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < 4; ++i) batcher.submit({images(1, static_cast<int>(i))}, results.slot(i));
  ASSERT_TRUE(results.waitFor(4));
  EXPECT_LT(Clock::now() - start, 10s);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(results[i].timing.batchRows, 4) << i;
  EXPECT_EQ(batcher.stats().executions, 1u);
}

// From what is queued, the largest preferred size that can be formed; the
// rest waits for the delay (here: shutdown, which runs it).
TEST_F(BatchingTest, LargestPreferredSizeIsFormed) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .preferredBatchSizes = {2, 4}, .maxQueueDelay = 20s});
  Gate gate;
  batcher.submit({images(2, 0)}, gate.hold());  // 2 rows: preferred, runs at once
  gate.waitHeld();
  Results results;
  for (std::size_t i = 0; i < 5; ++i) batcher.submit({images(1, static_cast<int>(i))}, results.slot(i));
  gate.release();
  ASSERT_TRUE(results.waitFor(4));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(results[i].timing.batchRows, 4) << i;
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(results.answeredNow(), 4u);  // the fifth waits for company
  EXPECT_EQ(batcher.stats().pending, 1u);
  batcher.shutdown();
  ASSERT_TRUE(results.waitFor(5));
  EXPECT_FALSE(results[4].error);
  EXPECT_EQ(results[4].timing.batchRows, 1);
}

// Without a preferred size, the oldest waits maxQueueDelay for others; rows
// never exceed maxBatchSize, and a request that does not fit waits.
TEST_F(BatchingTest, QueueDelayGathersUpToMaxBatchSize) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 4, .maxQueueDelay = 300ms});
  Results results;
  const std::vector<int64_t> rows = {1, 2, 3, 1};
  for (std::size_t i = 0; i < rows.size(); ++i) batcher.submit({images(rows[i], 1)}, results.slot(i));
  ASSERT_TRUE(results.waitFor(rows.size()));
  results.expectEachOnce();
  // 1 + 2 (3 does not fit: it starts the next execution, with the last 1).
  EXPECT_EQ(results[0].timing.batchRows, 3);
  EXPECT_EQ(results[1].timing.batchRows, 3);
  EXPECT_EQ(results[2].timing.batchRows, 4);
  EXPECT_EQ(results[3].timing.batchRows, 4);
  EXPECT_GE(results[0].timing.queue, 300ms);  // it waited for the others the whole delay
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_FALSE(results[i].error);
    EXPECT_EQ(results[i].outputs[0].tensor.shape(), (Shape{rows[i], 5}));
  }
  const BatchingStats stats = batcher.stats();
  EXPECT_EQ(stats.executions, 2u);
  EXPECT_EQ(stats.rows, 7u);
}

// A full batch goes without waiting for the delay.
TEST_F(BatchingTest, FullBatchGoesAtOnce) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 3, .maxQueueDelay = 20s});
  Results results;
  const auto start = Clock::now();
  batcher.submit({images(1, 1)}, results.slot(0));
  batcher.submit({images(2, 2)}, results.slot(1));
  ASSERT_TRUE(results.waitFor(2));
  EXPECT_LT(Clock::now() - start, 10s);
  EXPECT_EQ(results[0].timing.batchRows, 3);
}

// A delay without end: a request waits for a full batch (or shutdown).
TEST_F(BatchingTest, EndlessQueueDelayWaitsForAFullBatch) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 2, .maxQueueDelay = std::chrono::microseconds::max()});
  Results results;
  batcher.submit({images(1, 1)}, results.slot(0));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(results.answeredNow(), 0u);
  batcher.submit({images(1, 2)}, results.slot(1));
  ASSERT_TRUE(results.waitFor(2));
  EXPECT_EQ(results[0].timing.batchRows, 2);
  batcher.submit({images(1, 3)}, results.slot(2));
  batcher.shutdown();
  EXPECT_EQ(results.answeredNow(), 3u);
}

// ------------------------------------------------------------ failures

// An output without one row per request row: every request of the batch
// gets EngineFailure naming it; the worker goes on.
TEST_F(BatchingTest, OutputWithoutTheBatchRowsFailsEveryRequest) {
  auto model = sumAllModel();
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  ASSERT_TRUE(batcher.batching()) << batcher.unbatchedReason();
  Gate gate;
  batcher.submit({floats({1, 2}, 0)}, gate.hold());
  gate.waitHeld();
  Results results;
  batcher.submit({floats({1, 2}, 0)}, results.slot(0));
  batcher.submit({floats({2, 2}, 0)}, results.slot(1));
  gate.release();
  ASSERT_TRUE(results.waitFor(2));
  for (std::size_t i = 0; i < 2; ++i) {
    expectErrorResult(results[i], ErrorCode::EngineFailure,
                      {"output 'y'", "expected dim 0 of 3", "float32[1,1]"});
    EXPECT_EQ(results[i].timing.batchRows, 3);
  }
  // One row alone gives one row: fine.
  EXPECT_EQ(batcher.predict({floats({1, 2}, 1)})[0].tensor.toVector<float>(), (std::vector<float>{3}));
}

// The engine fails on a batch (a and b cannot be added): every request in
// it gets the error, and the next execution works.
TEST_F(BatchingTest, EngineErrorReachesEveryRequestOfTheBatch) {
  auto model = addModel();
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  Gate gate;
  batcher.submit({floats({1, 2}, 0), floats({1, 2}, 0)}, gate.hold());
  gate.waitHeld();
  Results results;
  batcher.submit({floats({1, 2}, 0), floats({1, 3}, 0)}, results.slot(0));
  batcher.submit({floats({2, 2}, 0), floats({2, 3}, 0)}, results.slot(1));
  gate.release();
  ASSERT_TRUE(results.waitFor(2));
  // ONNX Runtime's own error (its code is ORT's to choose), the same for both.
  const Error first = errorOf(results[0]), second = errorOf(results[1]);
  EXPECT_NE(std::string(first.what()).find("onnxruntime"), std::string::npos) << first.what();
  EXPECT_EQ(std::string(first.what()), std::string(second.what()));
  EXPECT_EQ(first.code(), second.code());
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(results[i].timing.requestsInBatch, 2);
  EXPECT_EQ(batcher.predict({floats({1, 2}, 0), floats({1, 2}, 1)})[0].tensor.toVector<float>(),
            (std::vector<float>{1, 3}));
  EXPECT_EQ(batcher.stats().executions, 3u);
}

// An exception thrown by a callback is dropped; the worker goes on.
TEST_F(BatchingTest, ThrowingCallbackDoesNotStopTheWorker) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8});
  batcher.submit({images(1, 1)}, [](Result&&) { throw std::runtime_error("callback failed"); });
  batcher.submit({images(1, 1)}, [](Result&&) { throw 42; });
  EXPECT_EQ(batcher.predict({images(2, 2)})[0].tensor.shape(), (Shape{2, 5}));
}

// ------------------------------------------------------------ shutdown

TEST_F(BatchingTest, ShutdownRunsEveryQueuedRequest) {
  auto model = loadGenerated("dynamic_batch");
  BatchingPredictor batcher(model, {.maxBatchSize = 8, .maxQueueDelay = 20s});
  Results results;
  for (std::size_t i = 0; i < 3; ++i) batcher.submit({images(1, static_cast<int>(i))}, results.slot(i));
  const auto start = Clock::now();
  batcher.shutdown();
  EXPECT_LT(Clock::now() - start, 10s);  // no waiting for the delay
  EXPECT_EQ(results.answeredNow(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FALSE(results[i].error) << i;
  test::expectError([&] { batcher.submit({images(1, 1)}, [](Result&&) {}); }, ErrorCode::Unavailable,
                    {"shutting down"});
  test::expectError([&] { batcher.predict({images(1, 1)}); }, ErrorCode::Unavailable, {"shutting down"});
  batcher.shutdown();  // idempotent
  EXPECT_EQ(batcher.stats().inferences, 3u);
}

TEST_F(BatchingTest, DestructorDrainsTheQueue) {
  auto model = loadGenerated("dynamic_batch");
  Results results;
  {
    BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueDelay = 20s});
    for (std::size_t i = 0; i < 5; ++i) batcher.submit({images(1, static_cast<int>(i))}, results.slot(i));
  }
  EXPECT_EQ(results.answeredNow(), 5u);
  results.expectEachOnce();
}

// ------------------------------------------------------------ options

TEST_F(BatchingTest, BadOptionsAreInvalidArgument) {
  auto model = loadGenerated("dynamic_batch");
  auto refused = [&](BatchingOptions options, const std::string& part) {
    test::expectError([&] { BatchingPredictor batcher(model, options); }, ErrorCode::InvalidArgument, {part});
  };
  refused({.workers = 0}, "workers >= 1, got 0");
  refused({.maxBatchSize = -1}, "maxBatchSize >= 0");
  refused({.maxBatchSize = 8, .preferredBatchSizes = {4, 9}}, "got 9");
  refused({.maxBatchSize = 8, .preferredBatchSizes = {0}}, "got 0");
  refused({.maxBatchSize = 0, .preferredBatchSizes = {1}}, "1..maxBatchSize (0)");
  refused({.maxQueueDelay = std::chrono::microseconds(-1)}, "maxQueueDelay >= 0");
  refused({.maxQueueSize = 0}, "maxQueueSize >= 1");
  test::expectError([&] { BatchingPredictor batcher(nullptr, {}); }, ErrorCode::InvalidArgument, {"model"});

  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .preferredBatchSizes = {8}});
  EXPECT_EQ(batcher.options().workers, 2);
  EXPECT_EQ(batcher.options().preferredBatchSizes, std::vector<int64_t>{8});
  EXPECT_EQ(batcher.model().get(), model.get());
}

TEST(BatchingErrors, NewCodesHaveNames) {
  EXPECT_EQ(toString(ErrorCode::DeadlineExceeded), "DeadlineExceeded");
  EXPECT_EQ(toString(ErrorCode::Cancelled), "Cancelled");
}

}  // namespace
}  // namespace polyinfer

#else

TEST(Batching, NotBuilt) { GTEST_SKIP() << "built without the ONNX Runtime engine"; }

#endif  // POLYINFER_HAVE_ONNXRUNTIME
