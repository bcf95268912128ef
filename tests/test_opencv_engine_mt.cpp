// The OpenCV plugin under concurrency: one Model, each thread its own
// Predictor (and so its own cv::dnn::Net built from the Model's bytes), all
// running at once. num_threads=1 keeps OpenCV's work on the calling threads,
// so TSan sees every synchronisation (OpenCV's TBB is not instrumented).
#include <gtest/gtest.h>

#include <barrier>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_OPENCV

namespace polyinfer {
namespace {

constexpr int kThreads = 4;

void runConcurrently(const std::string& name, const std::string& file, int calls) {
  const test::Reference ref = test::loadReference(name);
  auto model = Model::load(Criteria{.modelPath = test::modelFile(name, file),
                                    .engine = "opencv",
                                    .options = {{"num_threads", "1"}},
                                    .workers = kThreads});
  const Tensor expected = model->newPredictor().predict(ref.inputs)[0].tensor;
  test::expectAllClose(expected, ref.outputs[0].tensor, 1e-4, 1e-3, name);

  std::barrier start(kThreads);
  std::vector<std::vector<Tensor>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Predictors are built concurrently too: each builds its own Net.
      std::optional<Predictor> predictor;
      try {
        predictor.emplace(model->newPredictor());
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
      start.arrive_and_wait();
      if (!predictor) return;
      try {
        for (int i = 0; i < calls; ++i) results[t].push_back(predictor->predict(ref.inputs)[0].tensor);
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(errors[t], "");
    ASSERT_EQ(results[t].size(), static_cast<std::size_t>(calls));
    for (const Tensor& result : results[t]) test::expectIdentical(result, expected, name);
  }
}

TEST(OpenCvEngineMt, OwnPredictorPerThreadOnASharedModel) {
  runConcurrently("mlp", "model.onnx", 50);
  runConcurrently("mobilenet_v2", "model_opset10.onnx", 5);
}

}  // namespace
}  // namespace polyinfer

#endif  // POLYINFER_HAVE_OPENCV
