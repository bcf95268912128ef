// The TVM plugin under concurrency: racing first loads (the runtime opened and
// the pool size applied once), and predictors on many threads, each with a
// virtual machine of its own over one loaded module, whose outputs equal the
// single-threaded ones.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_TVM

namespace polyinfer {
namespace {

constexpr int kThreads = 8;

std::shared_ptr<Model> load(const std::string& name, int workers) {
  return Model::load(Criteria{.modelPath = test::modelFile(name, "model.so"),
                              .engine = "tvm",
                              .options = {{"intraOpNumThreads", "1"}},
                              .workers = workers});
}

TEST(TvmEngineMt, ConcurrentFirstLoads) {
  const test::Reference ref = test::loadReference("mlp");
  const std::vector<test::ThreadResult> results = test::startTogether(kThreads, [&] {
    return load("mlp", kThreads)->newPredictor().predict(ref.inputs)[0].tensor;
  });
  const Tensor expected = load("mlp", 1)->newPredictor().predict(ref.inputs)[0].tensor;
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(results[t].error, "");
    EXPECT_TRUE(test::sameBytes(results[t].tensor, expected));
  }
}

/// kThreads threads, each with its own predictor (and virtual machine) over
/// one model, `calls` calls each: every output equals the single-threaded one.
void runSharedModel(const std::string& name, int threads, int calls) {
  test::expectSameOutputsFromThreads(load(name, threads), test::loadReference(name).inputs,
                                     threads, calls);
}

TEST(TvmEngineMt, Mlp8Threads50CallsEach) { runSharedModel("mlp", kThreads, 50); }

TEST(TvmEngineMt, MultipleInputsAndOutputs8Threads50CallsEach) {
  runSharedModel("multi_io", kThreads, 50);
}

TEST(TvmEngineMt, DynamicBatch8Threads50CallsEach) { runSharedModel("dynamic_batch", kThreads, 50); }

TEST(TvmEngineMt, Resnet18_2ThreadsTwoCallsEach) { runSharedModel("resnet18", 2, 2); }

}  // namespace
}  // namespace polyinfer

#else

TEST(TvmEngineMt, NotBuilt) { GTEST_SKIP() << "built without the TVM engine"; }

#endif
