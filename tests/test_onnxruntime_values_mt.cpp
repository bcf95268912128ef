// Value calls (sequences, maps, optionals) from 8 threads, each with its own
// predictor over one shared model, equal the single-threaded call's outputs
// exactly. Runs under ThreadSanitizer in CI (label "threads").
#include <gtest/gtest.h>

#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_ONNXRUNTIME

namespace polyinfer {
namespace {

namespace fs = std::filesystem;

constexpr int kThreads = 8;
constexpr int kCalls = 20;

void expectSameFromThreads(const std::string& name, int dataSet) {
  Criteria criteria;
  criteria.modelPath = test::modelFile(name, "model.onnx");
  criteria.engine = "onnxruntime";
  criteria.workers = kThreads;
  std::shared_ptr<Model> model = Model::load(criteria);
  const fs::path dir = test::modelsDir() / name / ("test_data_set_" + std::to_string(dataSet));
  const test::ValueDataSet data = test::loadValueDataSet(*model, dir);
  const Values single = model->newPredictor().predictValues(data.inputs);

  std::barrier start(kThreads);
  std::vector<std::vector<Values>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        Predictor predictor = model->newPredictor();
        start.arrive_and_wait();
        for (int i = 0; i < kCalls; ++i) results[t].push_back(predictor.predictValues(data.inputs));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    ASSERT_EQ(results[t].size(), static_cast<std::size_t>(kCalls)) << "thread " << t;
    for (const Values& outputs : results[t]) {
      ASSERT_EQ(outputs.size(), single.size());
      for (std::size_t o = 0; o < outputs.size(); ++o)
        test::expectValuesClose(outputs[o].value, single[o].value, 0, 0,
                                name + " thread " + std::to_string(t) + " output " + outputs[o].name);
    }
  }
}

TEST(OrtValuesThreads, ZipMapOutputs) {
  if (!POLYINFER_HAVE_SK_MODELS) GTEST_SKIP() << "scikit-learn models not generated (.deps/venv/sklearn missing)";
  expectSameFromThreads("sk_forest", 0);
}
TEST(OrtValuesThreads, StringLabelZipMap) {
  if (!POLYINFER_HAVE_SK_MODELS) GTEST_SKIP() << "scikit-learn models not generated (.deps/venv/sklearn missing)";
  expectSameFromThreads("sk_forest_strlabels", 0);
}
TEST(OrtValuesThreads, LoopSequence) { expectSameFromThreads("loop_seq", 0); }
TEST(OrtValuesThreads, SequenceInput) { expectSameFromThreads("seq_input", 0); }
TEST(OrtValuesThreads, MapInput) { expectSameFromThreads("map_input", 0); }
TEST(OrtValuesThreads, EmptyOptional) { expectSameFromThreads("if_optional", 1); }
TEST(OrtValuesThreads, AbsentOptionalInput) { expectSameFromThreads("optional_input", 1); }

}  // namespace
}  // namespace polyinfer

#endif  // POLYINFER_HAVE_ONNXRUNTIME
