// The load generator with several worker threads (src/bench/runner.cpp).
// Labelled "threads": CI runs these under ThreadSanitizer on 2 cores, so
// each is short. As in test_bench_runner.cpp, timing properties are checked
// from the recorded timestamps, never against wall-clock thresholds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_fake_target.hpp"
#include "runner.hpp"
#include "test_support.hpp"

namespace polyinfer::bench {
namespace {

using namespace polyinfer::bench::testing;

TEST(BenchRunnerMt, IterationsAreOneBudgetSharedByAllThreads) {
  FakeSpec spec;
  spec.work = 100us;  // long enough that both threads get calls
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.stop.iterations = 300;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations");
  EXPECT_EQ(r.iterations, 300);
  EXPECT_EQ(r.samplesMs.size(), 300u);
  EXPECT_EQ(target.calls(), 1 + 2 * 2 + 300);
  ASSERT_EQ(r.perThreadThroughput.size(), 2u);
  const double perThreadCalls = (r.perThreadThroughput[0] + r.perThreadThroughput[1]) * r.wallSeconds;
  EXPECT_NEAR(perThreadCalls, 300, 1e-6);
  EXPECT_TRUE(std::is_sorted(r.completionSeconds.begin(), r.completionSeconds.end()));
  EXPECT_EQ(target.live(), 0);
}

TEST(BenchRunnerMt, WarmupRunsOnEveryWorkerThreadAndIsNotCounted) {
  // First inference + 2 warm-up calls on each of 2 threads sleep 60 ms; the
  // timed calls do nothing.
  FakeSpec spec;
  spec.slowBefore = 1 + 2 * 2;
  spec.slowWork = 60ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.stop.iterations = 100;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.iterations, 100);
  EXPECT_LT(r.latency.max, 60.0);
  EXPECT_GE(r.firstInferenceMs, 60.0);

  const std::vector<WorkerRecord> records = target.records();
  ASSERT_EQ(records.size(), 2u);
  int64_t calls = 0;
  int firstInferenceWorkers = 0;
  std::set<std::thread::id> threads;
  for (const WorkerRecord& w : records) {
    calls += w.calls;
    firstInferenceWorkers += w.madeCallZero;
    // Every worker made its own warm-up calls, all on one thread of its own,
    // which also released it; none of it on the calling thread.
    EXPECT_GE(w.calls, 2 + (w.madeCallZero ? 1 : 0));
    ASSERT_EQ(w.callThreads.size(), 1u);
    EXPECT_NE(*w.callThreads.begin(), std::this_thread::get_id());
    EXPECT_EQ(w.destroyedOn, *w.callThreads.begin());
    threads.insert(*w.callThreads.begin());
  }
  EXPECT_EQ(threads.size(), 2u);
  EXPECT_EQ(firstInferenceWorkers, 1);
  EXPECT_EQ(calls, 1 + 2 * 2 + 100);
}

TEST(BenchRunnerMt, StartDelaySpacesTheWarmupStarts) {
  // Thread 1 starts its warm-up >= 40 ms after thread 0's could start, which
  // is after the first inference (thread 0, alone) ended.
  FakeSpec spec;
  spec.work = 1ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.startDelayMs = 40;
  o.stop.iterations = 10;
  run(target, o);
  const std::vector<WorkerRecord> records = target.records();
  ASSERT_EQ(records.size(), 2u);
  const WorkerRecord& first = records[0].madeCallZero ? records[0] : records[1];
  const WorkerRecord& second = records[0].madeCallZero ? records[1] : records[0];
  // first.firstCall is the first inference's start; it lasted >= 1 ms.
  EXPECT_GE(second.firstCall - first.firstCall, 40ms + 1ms);
}

TEST(BenchRunnerMt, DurationHoldsAcrossThreads) {
  FakeSpec spec;
  spec.work = 5ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.warmupIterations = 1;
  o.stop.durationSeconds = 0.15;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "duration");
  expectDeadlineRespected(r, 0.15);
  EXPECT_EQ(target.calls(), 1 + 2 * 1 + r.iterations);
}

TEST(BenchRunnerMt, MoreThreadsThanCoresWorksAndIsFlagged) {
  const int cores = ThreadBudget::detect().usableCores();
  const int threads = cores + 1;
  FakeSpec spec;
  spec.work = 200us;
  spec.spin = true;  // really compete for the cores
  FakeTarget target(spec);
  RunOptions o = quickOptions(threads);
  o.usableCores = cores;
  o.warmupIterations = 1;
  o.stop.iterations = 20 * threads;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.iterations, 20 * threads);
  EXPECT_EQ(r.threads, threads);
  EXPECT_EQ(r.perThreadThroughput.size(), static_cast<std::size_t>(threads));
  const std::string expected = "threads " + std::to_string(threads) + " > usable cores " + std::to_string(cores) +
                               ": oversubscribed, latency includes time waiting for a core";
  EXPECT_NE(std::find(r.warnings.begin(), r.warnings.end(), expected), r.warnings.end())
      << "expected warning: " << expected;
}

TEST(BenchRunnerMt, NoOversubscriptionWarningWithinTheCores) {
  FakeTarget target({});
  RunOptions o = quickOptions(2);
  o.usableCores = 2;
  o.stop.iterations = 50;
  const RunResult r = run(target, o);
  for (const std::string& w : r.warnings) EXPECT_EQ(w.find("oversubscribed"), std::string::npos) << w;
}

TEST(BenchRunnerMt, TimedFailureOnOneThreadStopsAllAndReportsIt) {
  FakeSpec spec;
  spec.work = 200us;
  spec.throwAt = 1 + 2 * 2 + 40;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.stop.iterations = 100000;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "failed");
  EXPECT_NE(r.error.find("fake failure at call 45"), std::string::npos) << r.error;
  EXPECT_LT(r.iterations, 100000);
  // Every call but the failed one is a sample: the other thread's call in
  // flight is kept, and no call ran unrecorded after the failure.
  EXPECT_EQ(r.iterations, target.calls() - (1 + 2 * 2) - 1);
  EXPECT_EQ(target.live(), 0);
}

TEST(BenchRunnerMt, WarmupFailureOnOneThreadThrowsAndJoinsAll) {
  FakeSpec spec;
  spec.work = 2ms;
  spec.throwAt = 3;  // a warm-up call, on whichever thread gets it
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.warmupIterations = 500;  // >= 1 s per thread, unless the failure stops it
  o.stop.iterations = 10;
  test::expectError([&] { run(target, o); }, ErrorCode::EngineFailure,
                    {"warm-up failed on thread", "of 2", "fake failure at call 3"});
  EXPECT_EQ(target.live(), 0);  // both workers released, both threads joined
  EXPECT_LT(target.calls(), 1 + 2 * 500);  // the other thread stopped early
}

TEST(BenchRunnerMt, OpenLoopFollowsThePoissonScheduleAcrossThreads) {
  // Whichever thread takes a request, its recorded (intended) start is the
  // schedule's: the same seed gives the same arrivals.
  FakeSpec spec;
  spec.work = 2ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.rate = 300;
  o.arrival = Arrival::Poisson;
  o.seed = 9;
  o.stop.iterations = 40;
  const RunResult r = run(target, o);
  ASSERT_EQ(r.iterations, 40);
  EXPECT_EQ(r.arrival, Arrival::Poisson);
  std::vector<double> starts = startsOf(r);
  std::sort(starts.begin(), starts.end());
  const std::vector<double> schedule = arrivalSchedule(Arrival::Poisson, 300, 9, 40);
  for (std::size_t k = 0; k < 40; ++k) EXPECT_NEAR(starts[k], schedule[k], 1e-6) << "request " << k;
  for (std::size_t k = 0; k < 40; ++k) EXPECT_GE(r.samplesMs[k], 2.0);
}

TEST(BenchRunnerMt, ProgressOnlyFromTheCallingThread) {
  FakeSpec spec;
  spec.work = 1ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(2);
  o.stop.iterations = 60;
  std::set<std::thread::id> threads;
  int64_t lastIterations = -1;
  o.onProgress = [&](const Progress& p) {
    threads.insert(std::this_thread::get_id());
    if (p.phase == "timed") lastIterations = p.iterations;
  };
  run(target, o);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(lastIterations, 60);
}

/// The in-process target on every engine the registry finds.
class ModelTargetMt : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelTargetMt, FromTwoThreads) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  const test::Reference ref = test::loadReference("mlp");
  Criteria criteria;
  criteria.modelPath = mlp.file;
  criteria.engine = engine;
  criteria.workers = 2;
  std::unique_ptr<Target> target = makeModelTarget(Model::load(criteria), ref.inputs);
  RunOptions o = quickOptions(2);
  o.stop.iterations = 40;
  const RunResult r = run(*target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations, 40);
}

INSTANTIATE_TEST_SUITE_P(Engines, ModelTargetMt, ::testing::ValuesIn(test::builtEngines()),
                         [](const auto& info) { return test::testName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModelTargetMt);

}  // namespace
}  // namespace polyinfer::bench
