// The MXNet plugin under concurrency: racing first loads (the library opened
// and MXNet's engine started once), and predictors on many threads, each with
// an executor of its own, whose outputs equal the single-threaded ones.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"

#if POLYINFER_HAVE_MXNET

namespace polyinfer {
namespace {

constexpr int kThreads = 8;

std::shared_ptr<Model> load(const std::string& name, int workers) {
  return Model::load(Criteria{.modelPath = test::modelFile(name, "model-symbol.json"),
                              .engine = "mxnet",
                              .options = {{"intraOpNumThreads", "1"}},
                              .workers = workers});
}

TEST(MxEngineMt, ConcurrentFirstLoads) {
  const test::Reference ref = test::loadReference("mx_mlp");
  const std::vector<test::ThreadResult> results = test::startTogether(kThreads, [&] {
    return load("mx_mlp", kThreads)->newPredictor().predict(ref.inputs)[0].tensor;
  });
  const Tensor expected = load("mx_mlp", 1)->newPredictor().predict(ref.inputs)[0].tensor;
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ASSERT_EQ(results[t].error, "");
    EXPECT_TRUE(test::sameBytes(results[t].tensor, expected));
  }
}

/// kThreads threads, each with its own predictor (and executor) over one
/// model, `calls` calls each: every output equals the single-threaded one.
void runSharedModel(const std::string& name, int calls) {
  test::expectSameOutputsFromThreads(load(name, kThreads), test::loadReference(name).inputs,
                                     kThreads, calls);
}

TEST(MxEngineMt, Mlp8Threads50CallsEach) { runSharedModel("mx_mlp", 50); }

TEST(MxEngineMt, MultipleInputsAndOutputs8Threads50CallsEach) { runSharedModel("mx_multi_io", 50); }

TEST(MxEngineMt, EveryDtype8Threads50CallsEach) { runSharedModel("mx_dtypes", 50); }

TEST(MxEngineMt, Resnet18_8ThreadsAFewCallsEach) { runSharedModel("mx_resnet18", 3); }

}  // namespace
}  // namespace polyinfer

#else

TEST(MxEngineMt, NotBuilt) { GTEST_SKIP() << "built without the MXNet engine"; }

#endif
