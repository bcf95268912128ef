// The ONNX Runtime plugin under concurrency: racing first loads (the lazily
// created process Env), one shared session with a predictor per thread, and
// zero-copy outputs that outlive the thread and predictor that made them.
// intraOpNumThreads=1 keeps ORT's work on the calling threads, so TSan sees
// every synchronisation (ORT itself is not instrumented).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

constexpr int kThreads = 4;

std::shared_ptr<Model> load(const std::string& name, int workers) {
  return Model::load(Criteria{.modelPath = test::modelFile(name, "model.onnx"),
                              .engine = "onnxruntime",
                              .options = {{"intraOpNumThreads", "1"}},
                              .workers = workers});
}

Tensor input(int64_t batch, int seed) {
  Tensor t = Tensor::allocate(DataType::Float32, {batch, 3, 8, 8});
  float* p = t.mutableData<float>();
  for (int64_t i = 0; i < t.elementCount(); ++i)
    p[i] = static_cast<float>((i * 7 + seed * 13) % 17) / 8.0f - 1.0f;
  return t;
}

// The first loads of the process race: the engine, its Env and the sessions
// are created concurrently, and every thread gets a working model.
TEST(OrtEngineMt, ConcurrentFirstLoads) {
  const test::Reference ref = test::loadReference("mlp");
  const std::vector<test::ThreadResult> results = test::startTogether(kThreads, [&] {
    return load("mlp", kThreads)->newPredictor().predict(ref.inputs)[0].tensor;
  });
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(results[t].error, "");
    test::expectAllClose(results[t].tensor, ref.outputs[0].tensor, 1e-5, 1e-4, "mlp y");
  }
}

// One session, one predictor per thread, varying batch sizes and alternating
// input buffers: every output equals the single-threaded result bit for bit.
TEST(OrtEngineMt, SharedSessionPredictorPerThread) {
  auto model = load("dynamic_batch", kThreads);
  constexpr int kInputs = 6;
  std::vector<Tensor> inputs, expected;
  {
    Predictor predictor = model->newPredictor();
    for (int i = 0; i < kInputs; ++i) {
      inputs.push_back(input(1 + i % 3, i));
      expected.push_back(predictor.predict({inputs.back()})[0].tensor.clone());
    }
  }
  std::barrier start(kThreads);
  std::atomic<int> mismatches{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Predictor predictor = model->newPredictor();
        start.arrive_and_wait();
        for (int iter = 0; iter < 60; ++iter) {
          // Same buffer twice in a row, then another one.
          const int k = (t + iter / 2) % kInputs;
          const Tensor out = predictor.predict({inputs[k]})[0].tensor;
          if (!test::sameBytes(out, expected[k])) mismatches.fetch_add(1);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], "") << "thread " << t;
  EXPECT_EQ(mismatches.load(), 0);
}

// Outputs are views of ORT's values: they stay valid after the thread, its
// predictor and the model are gone.
TEST(OrtEngineMt, OutputsOutliveTheirThreadAndModel) {
  const test::Reference ref = test::loadReference("multi_io");
  std::vector<Tensors> outputs(kThreads);
  {
    auto model = load("multi_io", kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Predictor predictor = model->newPredictor();
        for (int i = 0; i < 10; ++i) outputs[t] = predictor.predict(ref.inputs);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(outputs[t].size(), 2u);
    test::expectAllClose(outputs[t][0].tensor, ref.outputs[0].tensor, 1e-5, 1e-4, "scores");
    test::expectIdentical(outputs[t][1].tensor, ref.outputs[1].tensor, "count");
  }
}

}  // namespace
}  // namespace polyinfer

#else

TEST(OrtEngineMt, NotBuilt) { GTEST_SKIP() << "built without the ONNX Runtime engine"; }

#endif  // POLYINFER_HAVE_ONNXRUNTIME
