// 8 threads, each with its own predictor on one shared model, 50 calls each:
// outputs identical to single-threaded calls, on every engine.
#include <gtest/gtest.h>

#include <thread>

#include "test_support.hpp"

using namespace polyinfer;

namespace {

constexpr int kThreads = 8;
constexpr int kCalls = 50;

void runSharedModel(const std::string& engine, const std::string& modelName) {
  Criteria criteria;
  criteria.modelPath = test::modelFile(modelName, test::modelFileFor(engine));
  criteria.engine = engine;
  criteria.workers = kThreads;
  auto model = Model::load(criteria);
  test::Reference ref = test::loadReference(modelName);
  Tensors inputs;
  for (const NamedTensor& input : ref.inputs) inputs.add(input.tensor);
  const Tensors expected = model->newPredictor().predict(inputs);

  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Predictor predictor = model->newPredictor();
        for (int call = 0; call < kCalls; ++call) {
          Tensors out = predictor.predict(inputs);
          for (std::size_t i = 0; i < out.size(); ++i)
            if (test::maxAbsDiff(out[i].tensor, expected[i].tensor) != 0.0) {
              failures[t] = "call " + std::to_string(call) + " output " + std::to_string(i) + " differs";
              return;
            }
        }
      } catch (const std::exception& e) {
        failures[t] = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << engine << " thread " << t;
}

}  // namespace

TEST(SharedModelThreads, MlpIdenticalAcrossThreads) {
  for (const std::string& engine : test::builtEngines()) runSharedModel(engine, "mlp");
}

TEST(SharedModelThreads, MultiIoIdenticalAcrossThreads) {
  for (const std::string& engine : test::builtEngines()) runSharedModel(engine, "multi_io");
}

TEST(SharedModelThreads, MobilenetIdenticalAcrossThreads) {
  for (const std::string& engine : test::builtEngines()) runSharedModel(engine, "mobilenet_v2");
}
