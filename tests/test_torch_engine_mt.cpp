// The LibTorch engine under threads: process-global settings applied once
// while models load concurrently, predictors moving between threads,
// thread-local graph_optimizer on concurrent predictors. (The many-thread
// consistency test over all engines is the lead's.)
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_TORCH

namespace polyinfer {
namespace {

std::shared_ptr<Model> loadTorch(const std::string& model, Options options = {}) {
  return Model::load(Criteria{.modelPath = test::modelFile(model, "model.pt"),
                              .engine = "torch",
                              .options = std::move(options)});
}

std::string configValue(const Model& model, const std::string& key) {
  for (const ConfigEntry& entry : model.config())
    if (entry.key == key) return entry.value;
  ADD_FAILURE() << "config() has no entry '" << key << "'";
  return {};
}

Tensors mlpInput(float value) {
  Tensors inputs;
  inputs.add("x", Tensor::fromVector<float>({1, 16}, std::vector<float>(16, value)));
  return inputs;
}

TEST(TorchEngineThreads, ConcurrentLoadsAgreeOnProcessWideThreadCounts) {
  constexpr int kThreads = 4;
  std::vector<std::shared_ptr<Model>> models(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        // Every thread asks for something different.
        models[t] = loadTorch("mlp", {{"num_threads", std::to_string(1 + t)},
                                      {"num_interop_threads", std::to_string(1 + t)}});
        Predictor predictor = models[t]->newPredictor();
        predictor.predict(mlpInput(0.1f * t));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (std::thread& thread : threads) thread.join();

  std::set<std::string> intra, inter;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(errors[t].empty()) << "thread " << t << ": " << errors[t];
    intra.insert(configValue(*models[t], "num_threads"));
    inter.insert(configValue(*models[t], "num_interop_threads"));
  }
  EXPECT_EQ(intra.size(), 1u) << "one process-wide intra-op value in effect";
  EXPECT_EQ(inter.size(), 1u) << "one process-wide inter-op value in effect";
}

TEST(TorchEngineThreads, PredictorMovedBetweenThreadsKeepsWorking) {
  auto model = loadTorch("mlp");
  Predictor predictor = model->newPredictor();
  const Tensor expected = predictor.predict(mlpInput(0.5f))[0].tensor.clone();
  for (int round = 0; round < 3; ++round) {
    Tensor got;
    std::string error;
    std::thread worker([&] {
      try {
        got = predictor.predict(mlpInput(0.5f))[0].tensor;
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    worker.join();
    ASSERT_TRUE(error.empty()) << error;
    test::expectAllClose(got, expected, 0, 0, "round " + std::to_string(round));
  }
}

TEST(TorchEngineThreads, GraphOptimizerSettingsDoNotLeakBetweenThreads) {
  auto on = loadTorch("multi_io", {{"graph_optimizer", "true"}});
  auto off = loadTorch("multi_io", {{"graph_optimizer", "false"}});
  const test::Reference ref = test::loadReference("multi_io");
  Tensors expected;
  {
    Predictor predictor = on->newPredictor();
    expected = predictor.predict(ref.inputs);
  }
  std::atomic<int> failures{0};
  auto work = [&](const std::shared_ptr<Model>& model) {
    Predictor predictor = model->newPredictor();
    for (int i = 0; i < 50; ++i) {
      const Tensors got = predictor.predict(ref.inputs);
      if (got.size() != 2 || test::maxAbsDiff(got[0].tensor, expected[0].tensor) != 0 ||
          got[1].tensor.toVector<int64_t>() != expected[1].tensor.toVector<int64_t>())
        ++failures;
    }
  };
  std::thread a(work, on);
  std::thread b(work, off);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace polyinfer

#else

TEST(TorchEngineThreads, NotBuilt) { GTEST_SKIP() << "built with POLYINFER_WITH_TORCH=OFF"; }

#endif
