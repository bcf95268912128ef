// BatchingPredictor under concurrency (CI runs these under ThreadSanitizer):
// many submitting threads with mixed row counts get the outputs a single
// thread gets; cancel racing a worker's start, deadlines under load and
// shutdown racing submitters each give every request exactly one answer.
// intraOpNumThreads=1 keeps ONNX Runtime's work on the calling threads, so
// TSan sees every synchronisation (ORT itself is not instrumented).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "batching_support.hpp"
#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

using namespace std::chrono_literals;
using Result = BatchingPredictor::Result;
using Clock = BatchingPredictor::Clock;

constexpr int kThreads = 8;
constexpr int kCalls = 40;  // per thread

using test::images;

std::shared_ptr<Model> loadDynamicBatch(int workers) {
  return test::loadOrt(test::modelFile("dynamic_batch", "model.onnx"), workers);
}

/// Inputs of 1 to 4 rows and what one predictor on one thread makes of them.
struct Cases {
  explicit Cases(const Model& model) {
    Predictor predictor = model.newPredictor();
    for (int i = 0; i < 8; ++i) {
      inputs.push_back(images(1 + i % 4, i));
      expected.push_back(predictor.predict({inputs.back()})[0].tensor.clone());
    }
  }
  /// "" when `outputs` are case `i`'s (within float tolerance: a batch may
  /// take other kernels than a lone request), else what differs.
  std::string check(std::size_t i, const Tensors& outputs) const {
    if (outputs.size() != 1) return "expected 1 output, got " + std::to_string(outputs.size());
    const Tensor& y = outputs[0].tensor;
    if (y.shape() != expected[i].shape())
      return "case " + std::to_string(i) + ": expected " + expected[i].describe() + ", got " + y.describe();
    const double diff = test::maxAbsDiff(y, expected[i]);
    if (diff > 1e-4) return "case " + std::to_string(i) + ": max |diff| " + std::to_string(diff);
    return "";
  }
  std::vector<Tensor> inputs, expected;
};

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  }
}

ErrorCode codeOf(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.code();
  } catch (...) {
    return ErrorCode::Internal;
  }
}

// 8 threads, each with many requests of mixed row counts, half through
// predict() and half through submit(): every output equals the
// single-threaded one, and requests were batched.
TEST(BatchingMt, ManyThreadsGetSingleThreadedOutputs) {
  auto model = loadDynamicBatch(2);
  const Cases cases(*model);
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueDelay = 2ms});
  ASSERT_TRUE(batcher.batching()) << batcher.unbatchedReason();
  std::vector<std::string> failures(kThreads);
  std::atomic<uint64_t> rows{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int call = 0; call < kCalls && failures[t].empty(); ++call) {
        const std::size_t i = static_cast<std::size_t>(t + call) % cases.inputs.size();
        rows += static_cast<uint64_t>(cases.inputs[i].shape()[0]);
        try {
          if (call % 2 == 0) {
            failures[t] = cases.check(i, batcher.predict({cases.inputs[i]}));
          } else {
            auto promise = std::make_shared<std::promise<Result>>();
            std::future<Result> future = promise->get_future();
            batcher.submit(test::named("x", cases.inputs[i]),
                           [promise](Result&& result) { promise->set_value(std::move(result)); });
            Result result = future.get();
            failures[t] = result.error ? describe(result.error) : cases.check(i, result.outputs);
            if (failures[t].empty() && (result.timing.batchRows < cases.inputs[i].shape()[0] ||
                                        result.timing.batchRows > 8))
              failures[t] = "batchRows " + std::to_string(result.timing.batchRows);
          }
        } catch (const std::exception& e) {
          failures[t] = e.what();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  const BatchingStats stats = batcher.stats();
  EXPECT_EQ(stats.inferences, static_cast<uint64_t>(kThreads * kCalls));
  EXPECT_EQ(stats.rows, rows.load());
  EXPECT_LT(stats.executions, stats.inferences);  // some requests shared an execution
  EXPECT_EQ(stats.pending, 0u);
}

// cancel() races the workers taking requests: each request is either
// cancelled (cancel true, callback with Cancelled) or executed (cancel
// false, callback with the right outputs), its callback called once.
TEST(BatchingMt, CancelRacesExecution) {
  auto model = loadDynamicBatch(2);
  const Cases cases(*model);
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueDelay = 500us});
  constexpr int kPerThread = 60;
  struct Outcome {
    std::atomic<int> calls{0};
    std::atomic<bool> cancelledError{false};
    std::string failure;  // written by the one callback
    bool cancelReturned = false;
  };
  std::vector<Outcome> outcomes(kThreads * kPerThread);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kPerThread; ++k) {
        const int n = t * kPerThread + k;
        const std::size_t i = static_cast<std::size_t>(n) % cases.inputs.size();
        Outcome& outcome = outcomes[static_cast<std::size_t>(n)];
        const uint64_t ticket = batcher.submit({cases.inputs[i]}, [&outcome, &cases, i](Result&& result) {
          if (result.error) {
            if (codeOf(result.error) == ErrorCode::Cancelled) outcome.cancelledError = true;
            else outcome.failure = describe(result.error);
          } else {
            outcome.failure = cases.check(i, result.outputs);
          }
          outcome.calls += 1;
        });
        if (k % 3 == 1) std::this_thread::yield();
        if (k % 3 != 2) outcome.cancelReturned = batcher.cancel(ticket);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  batcher.shutdown();  // every callback has run
  int cancelled = 0;
  for (std::size_t n = 0; n < outcomes.size(); ++n) {
    const Outcome& outcome = outcomes[n];
    SCOPED_TRACE("request " + std::to_string(n));
    EXPECT_EQ(outcome.calls.load(), 1);
    EXPECT_EQ(outcome.cancelReturned, outcome.cancelledError.load());
    EXPECT_EQ(outcome.failure, "");
    cancelled += outcome.cancelReturned ? 1 : 0;
  }
  const BatchingStats stats = batcher.stats();
  EXPECT_EQ(stats.inferences + static_cast<uint64_t>(cancelled), outcomes.size());
  // Both outcomes happen (a third of the requests is never cancelled).
  EXPECT_GT(cancelled, 0);
  EXPECT_LT(static_cast<std::size_t>(cancelled), outcomes.size());
}

// Short deadlines under load: each request answered once, with its outputs
// or DeadlineExceeded.
TEST(BatchingMt, DeadlinesUnderLoad) {
  auto model = loadDynamicBatch(2);
  const Cases cases(*model);
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueDelay = 1ms});
  constexpr int kPerThread = 40;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  std::vector<std::string> failures(kThreads * kPerThread);
  std::atomic<int> expired{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0; k < kPerThread; ++k) {
        const auto n = static_cast<std::size_t>(t * kPerThread + k);
        const std::size_t i = n % cases.inputs.size();
        batcher.submit(
            {cases.inputs[i]},
            [&, n, i](Result&& result) {
              if (!result.error) failures[n] = cases.check(i, result.outputs);
              else if (codeOf(result.error) == ErrorCode::DeadlineExceeded) expired += 1;
              else failures[n] = describe(result.error);
              calls[n] += 1;
            },
            Clock::now() + std::chrono::microseconds(200 * (k % 10)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  batcher.shutdown();
  for (std::size_t n = 0; n < calls.size(); ++n) {
    EXPECT_EQ(calls[n].load(), 1) << "request " << n;
    EXPECT_EQ(failures[n], "") << "request " << n;
  }
  EXPECT_EQ(batcher.stats().inferences + static_cast<uint64_t>(expired.load()), calls.size());
}

// shutdown() while threads submit: a submit either throws Unavailable (or
// ResourceExhausted: the queue is small) or its request is answered once
// before shutdown returns.
TEST(BatchingMt, ShutdownRacesSubmitters) {
  auto model = loadDynamicBatch(2);
  const Cases cases(*model);
  BatchingPredictor batcher(model, {.workers = 2, .maxBatchSize = 8, .maxQueueSize = 64});
  std::atomic<int> accepted{0}, answered{0};
  std::vector<std::string> failures(kThreads);
  std::barrier start(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int k = 0;; ++k) {
        const std::size_t i = static_cast<std::size_t>(t + k) % cases.inputs.size();
        try {
          batcher.submit({cases.inputs[i]}, [&](Result&& result) {
            if (result.error) failures[t] = describe(result.error);
            answered += 1;
          });
          accepted += 1;
        } catch (const Error& e) {
          if (e.code() == ErrorCode::Unavailable) return;
          if (e.code() != ErrorCode::ResourceExhausted) {
            failures[t] = e.what();
            return;
          }
          std::this_thread::yield();
        }
      }
    });
  }
  start.arrive_and_wait();
  std::this_thread::sleep_for(30ms);
  batcher.shutdown();
  const int answeredAtShutdown = answered.load();
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(answeredAtShutdown, accepted.load());
  EXPECT_GT(accepted.load(), 0);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_EQ(batcher.stats().pending, 0u);
}

}  // namespace
}  // namespace polyinfer

#else

TEST(BatchingMt, NotBuilt) { GTEST_SKIP() << "built without the ONNX Runtime engine"; }

#endif  // POLYINFER_HAVE_ONNXRUNTIME
