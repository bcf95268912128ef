// 8 threads, each with its own predictor on one shared model, 50 calls each:
// outputs identical to single-threaded calls, on every engine the registry
// finds (a model an engine cannot run is skipped with its reason).
#include <gtest/gtest.h>

#include <thread>

#include "test_support.hpp"

using namespace polyinfer;

namespace {

constexpr int kThreads = 8;
constexpr int kCalls = 50;

using Case = test::EngineModelCase;

std::vector<Case> allCases() { return test::engineModelCases({"mlp", "multi_io", "mobilenet_v2"}); }

class SharedModelThreads : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(SharedModelThreads, OutputsIdenticalAcrossThreads) {
  const Case& c = GetParam();
  const test::EngineModelFile file = test::modelFor(c.model, c.engine);
  if (!file) GTEST_SKIP() << file.whyNone;
  auto model = Model::load(Criteria{.modelPath = file.file, .engine = c.engine, .workers = kThreads});
  const test::Reference ref = test::loadReference(c.model);
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
          const Tensors out = predictor.predict(inputs);
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
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << c.engine << " thread " << t;
}

INSTANTIATE_TEST_SUITE_P(Generated, SharedModelThreads, ::testing::ValuesIn(allCases()),
                         [](const auto& info) {
                           return test::testName(info.param.engine + "_" + info.param.model);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SharedModelThreads);
