// The load generator with one worker thread (src/bench/runner.cpp): stop
// rules, warm-up exclusion, open loop, failures, resources, and the
// in-process model target. Every timing property is asserted from the
// timestamps the run recorded (logical properties), never against a
// wall-clock threshold: this must pass on a loaded 2-core machine.
// Multi-threaded runs are in test_bench_runner_mt.cpp. Just over 500 lines:
// one file per unit under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_fake_target.hpp"
#include "polyinfer/tensor_io.hpp"
#include "runner.hpp"
#include "test_support.hpp"

namespace polyinfer::bench {
namespace {

using namespace polyinfer::bench::testing;

// ------------------------------------------------------------ options

TEST(BenchRunner, RejectsBadOptionsNamingExpectedAndGiven) {
  FakeTarget target({});
  RunOptions o = quickOptions(0);
  test::expectError([&] { run(target, o); }, ErrorCode::InvalidArgument,
                    {"threads", "expected >= 1", "got 0"});
  o = quickOptions(1);
  o.windows = 0;
  test::expectError([&] { run(target, o); }, ErrorCode::InvalidArgument, {"windows", ">= 1", "got 0"});
  o = quickOptions(1);
  o.rate = -5;
  test::expectError([&] { run(target, o); }, ErrorCode::InvalidArgument, {"rate", "> 0", "got -5"});
  o = quickOptions(1);
  o.stop.iterations = 0;
  test::expectError([&] { run(target, o); }, ErrorCode::InvalidArgument, {"stop.iterations", "got 0"});
  o = quickOptions(1);
  o.stop.durationSeconds = -1;
  test::expectError([&] { run(target, o); }, ErrorCode::InvalidArgument, {"stop.durationSeconds", "got -1"});
  EXPECT_EQ(target.calls(), 0);  // rejected before any call
}

// ------------------------------------------------------------ closed loop, -c

TEST(BenchRunner, IterationsGiveExactlyThatManySamples) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.warmupIterations = 3;
  o.stop.iterations = 50;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations");
  EXPECT_EQ(r.iterations, 50);
  EXPECT_EQ(r.latency.count, 50);
  ASSERT_EQ(r.samplesMs.size(), 50u);
  ASSERT_EQ(r.completionSeconds.size(), 50u);
  EXPECT_TRUE(std::is_sorted(r.completionSeconds.begin(), r.completionSeconds.end()));
  // First inference + warm-up + timed, and not one call more.
  EXPECT_EQ(target.calls(), 1 + 3 + 50);
  EXPECT_EQ(r.warmupIterationsPerThread, 3);
  EXPECT_EQ(r.mode, LoopMode::Closed);
  EXPECT_EQ(r.threads, 1);
  ASSERT_EQ(r.perThreadThroughput.size(), 1u);
  EXPECT_DOUBLE_EQ(r.perThreadThroughput[0], r.throughput);
  EXPECT_NEAR(r.throughput, 50 / r.wallSeconds, 1e-9 * r.throughput);
  EXPECT_DOUBLE_EQ(r.itemsPerSecond, r.throughput * 4);  // fake batch 4
  EXPECT_EQ(r.target.engineName, "fake");
  EXPECT_EQ(r.timedRegion, "a fake call");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(target.live(), 0);  // workers released before run() returns
}

TEST(BenchRunner, SingleSlowCallShowsInP999AndMax) {
  // 500 timed calls that do nothing but one that sleeps 40 ms. p99.9 is at
  // position 498.501 of the sorted samples: at least half the slow call.
  FakeSpec spec;
  spec.slowWork = 40ms;
  spec.slowCall = 1 + 2 + 250;  // after the first inference and 2 warm-up calls
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 500;
  const RunResult r = run(target, o);
  ASSERT_EQ(r.iterations, 500);
  EXPECT_GE(r.latency.max, 40.0);
  EXPECT_GE(r.latency.p999, 20.0);
  EXPECT_GE(std::count_if(r.samplesMs.begin(), r.samplesMs.end(), [](double ms) { return ms >= 40.0; }), 1);
}

TEST(BenchRunner, WarmupAndFirstInferenceAreNotCounted) {
  // The first inference and the warm-up calls sleep 100 ms, timed calls do
  // nothing: were any of them a sample, max would be >= 100 ms.
  FakeSpec spec;
  spec.slowBefore = 1 + 2;
  spec.slowWork = 100ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 20;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.iterations, 20);
  EXPECT_EQ(target.calls(), 1 + 2 + 20);
  EXPECT_LT(r.latency.max, 100.0);
  EXPECT_GE(r.firstInferenceMs, 100.0);  // timed on its own, reported apart
}

// ------------------------------------------------------------ closed loop, -d

TEST(BenchRunner, DurationNoCallStartsAfterTheDeadline) {
  FakeSpec spec;
  spec.work = 7ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.warmupIterations = 1;
  o.stop.durationSeconds = 0.2;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "duration");
  expectDeadlineRespected(r, 0.2);
  // Every call the target saw is accounted for: none ran unrecorded.
  EXPECT_EQ(target.calls(), 1 + 1 + r.iterations);
  for (double ms : r.samplesMs) EXPECT_GE(ms, 7.0);
}

// ------------------------------------------------------------ default stop rule

TEST(BenchRunner, DefaultStopRuleNeedsMinIterationsAndMinSeconds) {
  FakeSpec spec;
  spec.work = 1ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.minIterations = 30;
  o.stop.minSeconds = 0.15;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "stop rule");
  EXPECT_GE(r.iterations, 30);
  EXPECT_GE(r.completionSeconds.back(), 0.15);
  EXPECT_EQ(target.calls(), 1 + 2 + r.iterations);
}

TEST(BenchRunner, MaxSecondsCapsTheStopRule) {
  FakeSpec spec;
  spec.work = 2ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.minIterations = 1000000;
  o.stop.minSeconds = 100;
  o.stop.maxSeconds = 0.15;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "max time");
  expectDeadlineRespected(r, 0.15);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("max time 0.15 s reached before the stop rule"), std::string::npos)
      << r.warnings[0];
}

TEST(BenchRunner, IterationsAndDurationTogetherStopAtTheFirst) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.stop.iterations = 40;
  o.stop.durationSeconds = 60;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations");
  EXPECT_EQ(r.iterations, 40);
}

// ------------------------------------------------------------ open loop

TEST(BenchRunner, OpenLoopLatencyCountsFromTheIntendedStart) {
  // 20 ms calls asked for at 100/s on one worker: request k is due at 10k ms
  // but cannot start before 20k ms, so its latency is at least 10k + 20 ms
  // and grows by at least 10 ms a request. A closed-loop measurement (from
  // the actual start) would say 20 ms throughout.
  FakeSpec spec;
  spec.work = 20ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.warmupIterations = 1;
  o.rate = 100;
  o.arrival = Arrival::Constant;
  o.stop.iterations = 25;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.mode, LoopMode::Open);
  EXPECT_EQ(r.arrival, Arrival::Constant);
  EXPECT_EQ(r.stopReason, "iterations");
  ASSERT_EQ(r.iterations, 25);
  for (int k = 0; k < 25; ++k) EXPECT_GE(r.samplesMs[k], 10.0 * k + 20.0 - 1e-6) << "request " << k;
  for (int k = 1; k < 25; ++k) EXPECT_GE(r.samplesMs[k], r.samplesMs[k - 1] + 10.0 - 1e-6) << "request " << k;
  EXPECT_GE(r.late, 24);  // all but the first started > 1 ms after they were due
  EXPECT_EQ(r.missed, 0);
  EXPECT_DOUBLE_EQ(r.offeredRate, 100);
  EXPECT_LE(r.achievedRate, 50.0 + 1e-9);  // 25 calls of >= 20 ms each
  EXPECT_LT(r.achievedRate, r.offeredRate);
  bool warned = false;
  for (const std::string& w : r.warnings) warned |= w.find("could not keep up with 100 requests/s") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(BenchRunner, OpenLoopWaitsForTheIntendedStart) {
  // Instant calls at 400/s: each request's recorded start is its slot in the
  // schedule, k / 400 s, and it did not complete before that slot.
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.rate = 400;
  o.arrival = Arrival::Constant;
  o.stop.iterations = 21;
  const RunResult r = run(target, o);
  ASSERT_EQ(r.iterations, 21);
  const std::vector<double> starts = startsOf(r);
  for (int k = 0; k < 21; ++k) {
    EXPECT_NEAR(starts[k], k / 400.0, 1e-6) << "request " << k;
    EXPECT_GE(r.completionSeconds[k], k / 400.0) << "request " << k;
  }
  EXPECT_GE(r.wallSeconds, 20 / 400.0);
}

TEST(BenchRunner, OpenLoopDurationCountsTheBacklogAsMissed) {
  // 30 ms calls at 100/s for 0.2 s: 20 requests are due, about 7 can start
  // before the deadline; the rest are reported, not silently dropped.
  FakeSpec spec;
  spec.work = 30ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.warmupIterations = 0;
  o.rate = 100;
  o.arrival = Arrival::Constant;
  o.stop.durationSeconds = 0.2;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "duration");
  expectDeadlineRespected(r, 0.2);
  EXPECT_EQ(r.iterations + r.missed, 20);
  EXPECT_LE(r.iterations, 7);  // one call of >= 30 ms at a time, none starting at or after 0.2 s
  EXPECT_GE(r.missed, 13);
}

TEST(BenchRunner, ArrivalScheduleIsDeterministicFromTheSeed) {
  const std::vector<double> constant = arrivalSchedule(Arrival::Constant, 250, 1, 1000);
  for (std::size_t k = 0; k < constant.size(); ++k) EXPECT_DOUBLE_EQ(constant[k], k / 250.0);

  const std::size_t n = 20000;
  const std::vector<double> a = arrivalSchedule(Arrival::Poisson, 500, 42, n);
  EXPECT_EQ(a, arrivalSchedule(Arrival::Poisson, 500, 42, n));
  EXPECT_NE(a, arrivalSchedule(Arrival::Poisson, 500, 43, n));
  EXPECT_EQ(a[0], 0.0);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  // Exponential gaps: mean 1 / rate, and P(gap > mean) = e^-1. Computed, not
  // timed: for this seed the result is fixed; the bounds are 10 sigma wide.
  const double meanGap = a.back() / static_cast<double>(n - 1);
  EXPECT_NEAR(meanGap, 1.0 / 500, 0.07 * (1.0 / 500));
  int64_t longer = 0;
  for (std::size_t k = 1; k < n; ++k) longer += (a[k] - a[k - 1]) > 1.0 / 500;
  EXPECT_NEAR(static_cast<double>(longer) / static_cast<double>(n - 1), std::exp(-1.0), 0.035);

  test::expectError([] { arrivalSchedule(Arrival::Poisson, 0, 1, 3); }, ErrorCode::InvalidArgument,
                    {"rate > 0", "got 0"});
}

// ------------------------------------------------------------ failures

TEST(BenchRunner, FailureInTheTimedRegionEndsTheRunAsFailed) {
  FakeSpec spec;
  spec.throwAt = 1 + 2 + 10;  // the 11th timed call
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 100;
  const RunResult r = run(target, o);  // does not throw: the samples so far are kept
  EXPECT_EQ(r.stopReason, "failed");
  EXPECT_EQ(r.iterations, 10);
  EXPECT_NE(r.error.find("fake failure at call 13"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("timed region"), std::string::npos) << r.error;
  EXPECT_EQ(target.calls(), 1 + 2 + 11);  // nothing after the failure
  EXPECT_EQ(target.live(), 0);
}

TEST(BenchRunner, FailureInWarmupThrows) {
  FakeSpec spec;
  spec.throwAt = 2;  // the second warm-up call
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.warmupIterations = 5;
  o.stop.iterations = 10;
  test::expectError([&] { run(target, o); }, ErrorCode::EngineFailure,
                    {"warm-up failed on thread 0 of 1", "fake failure at call 2"});
  EXPECT_EQ(target.calls(), 3);
  EXPECT_EQ(target.live(), 0);
}

TEST(BenchRunner, FailureInFirstInferenceThrowsEvenForNonPolyinferExceptions) {
  FakeSpec spec;
  spec.throwAt = 0;
  spec.throwStd = true;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 10;
  test::expectError([&] { run(target, o); }, ErrorCode::EngineFailure,
                    {"the first inference failed", "fake std failure at call 0"});
}

TEST(BenchRunner, WorkerCreationFailureThrowsWithItsCode) {
  FakeSpec spec;
  spec.newWorkerThrows = true;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 10;
  test::expectError([&] { run(target, o); }, ErrorCode::ResourceExhausted,
                    {"creating its target worker", "no worker for you"});
  EXPECT_EQ(target.calls(), 0);
}

// ------------------------------------------------------------ reporting

TEST(BenchRunner, ProgressComesFromTheCallingThreadAndEndsComplete) {
  FakeSpec spec;
  spec.work = 1ms;
  FakeTarget target(spec);
  RunOptions o = quickOptions(1);
  o.stop.iterations = 30;
  std::vector<Progress> seen;
  std::set<std::thread::id> threads;
  o.onProgress = [&](const Progress& p) {
    seen.push_back(p);
    threads.insert(std::this_thread::get_id());
  };
  run(target, o);
  ASSERT_GE(seen.size(), 3u);  // warm-up start, timed start, end
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
  EXPECT_EQ(seen.front().phase, "warmup");
  EXPECT_EQ(seen.back().phase, "timed");
  EXPECT_EQ(seen.back().iterations, 30);
  EXPECT_DOUBLE_EQ(seen.back().fraction, 1.0);
  for (const Progress& p : seen) {
    EXPECT_GE(p.fraction, 0.0);
    EXPECT_LE(p.fraction, 1.0);
  }
}

TEST(BenchRunner, StabilityWindowsPartitionTheSamples) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.stop.iterations = 300;
  o.windows = 6;
  const RunResult r = run(target, o);
  ASSERT_EQ(r.windows.size(), 6u);
  int64_t total = 0;
  for (std::size_t i = 0; i < r.windows.size(); ++i) {
    const Window& w = r.windows[i];
    total += w.iterations;
    EXPECT_NEAR(w.endSeconds - w.startSeconds, r.wallSeconds / 6, 1e-9);
    if (i > 0) {
      EXPECT_NEAR(w.startSeconds, r.windows[i - 1].endSeconds, 1e-9);
    }
    EXPECT_NEAR(w.throughput, w.iterations / (r.wallSeconds / 6), 1e-6 * std::max(1.0, w.throughput));
  }
  EXPECT_EQ(total, 300);
  EXPECT_NEAR(r.windows.back().endSeconds, r.completionSeconds.back(), 1e-9);
  EXPECT_EQ(r.stable, r.throughputSpreadPct <= 10 && r.p50SpreadPct <= 10);
  EXPECT_DOUBLE_EQ(r.stabilityTolerancePct, 10);
}

TEST(BenchRunner, TooFewSamplesAreNeverCalledStable) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.stop.iterations = 20;  // < 10 per window x 5 windows
  const RunResult r = run(target, o);
  EXPECT_FALSE(r.stable);
  bool warned = false;
  for (const std::string& w : r.warnings) warned |= w.find("stability not assessed: 20 timed iterations") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(BenchRunner, ResourcesFromTheSamplerAndGetrusage) {
  FakeSpec spec;
  spec.work = 500us;
  spec.spin = true;
  FakeTarget target(spec);
  ResourceSampler sampler(std::chrono::milliseconds(5));
  RunOptions o = quickOptions(1);
  o.usableCores = 1;
  o.stop.iterations = 100;
  const RunResult r = run(target, o, &sampler);
  EXPECT_GT(r.rssBaseMiB, 0);
  EXPECT_GT(r.rssAfterLoadMiB, 0);
  EXPECT_GE(r.rssPeakMiB, r.rssSteadyMiB);
  EXPECT_GE(r.rssPeakMiB, r.rssAfterLoadMiB);
  std::set<std::string> phases;
  for (const MemorySample& m : r.rss) phases.insert(m.phase);
  // The sampler's own first sample ("load"), and one at each boundary.
  EXPECT_EQ(phases, (std::set<std::string>{"load", "warmup", "timed", "done"}));
  for (std::size_t i = 1; i < r.rss.size(); ++i) EXPECT_GE(r.rss[i].seconds, r.rss[i - 1].seconds);
  EXPECT_GT(r.cpuSeconds, 0);
  EXPECT_NEAR(r.cpuUtil, r.cpuSeconds / r.wallSeconds, 1e-12);
}

TEST(BenchRunner, WithoutASamplerRssIsReadAtTheBoundaries) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.stop.iterations = 10;
  const RunResult r = run(target, o);
  ASSERT_EQ(r.rss.size(), 4u);
  EXPECT_EQ(r.rss[2].phase, "timed");
  EXPECT_DOUBLE_EQ(r.rssSteadyMiB, r.rss[3].rssMiB);
  EXPECT_GT(r.rssPeakMiB, 0);
}

TEST(BenchRunner, SamplerTagsPhasesAndReadsRss) {
  ResourceSampler sampler(std::chrono::milliseconds(1));
  EXPECT_GT(ResourceSampler::rssMiB(), 1.0);
  const double cpu0 = ResourceSampler::processCpuSeconds();
  sampler.setPhase("warmup");
  sampler.setPhase("timed");
  const std::vector<MemorySample> s = sampler.samples();
  ASSERT_GE(s.size(), 3u);
  EXPECT_EQ(s.front().phase, "load");
  EXPECT_EQ(s.back().phase, "timed");
  EXPECT_GE(ResourceSampler::processCpuSeconds(), cpu0);
}

// ------------------------------------------------------------ the in-process target

/// The in-process target on every engine the registry finds.
class ModelTarget : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelTarget, OnTheTinyMlp) {
  const std::string& engine = GetParam();
  const test::EngineModelFile mlp = test::modelFor("mlp", engine);
  if (!mlp) GTEST_SKIP() << mlp.whyNone;
  const test::Reference ref = test::loadReference("mlp");
  Criteria criteria;
  criteria.modelPath = mlp.file;
  criteria.engine = engine;
  std::shared_ptr<const Model> model = Model::load(criteria);
  std::unique_ptr<Target> target =
      makeModelTarget(model, ref.inputs, {{"threads", "1", "benchmark", "-t"}});
  const TargetInfo info = target->info();
  EXPECT_EQ(info.engineName, engine);
  EXPECT_EQ(info.engineVersion, model->engineVersion());
  EXPECT_FALSE(info.engineVersion.empty());
  EXPECT_EQ(info.model, model->modelPath().string());
  EXPECT_EQ(info.device, "cpu");
  ASSERT_EQ(info.config.size(), model->config().size() + 1);
  for (const ConfigValue& c : info.config)
    EXPECT_TRUE(std::set<std::string>({"explicit", "environment", "default", "engine", "benchmark"})
                    .count(c.source))
        << c.key << " from " << c.source;
  EXPECT_EQ(info.config.front().key, "engine");
  EXPECT_EQ(info.config.front().source, "explicit");  // criteria.engine was given
  EXPECT_EQ(info.config.back().key, "threads");
  const Tensor& x = ref.inputs[0].tensor;
  EXPECT_EQ(info.batch, x.rank() >= 2 ? x.shape()[0] : 1);
  ASSERT_EQ(info.inputs.size(), ref.inputs.size());
  EXPECT_NE(info.inputs[0].find(x.describe()), std::string::npos) << info.inputs[0];
  EXPECT_NE(target->timedRegion().find("Predictor::predict"), std::string::npos);

  // The worker computes what the model computes.
  const Tensors out = target->newWorker()->inferWithOutputs();
  ASSERT_EQ(out.size(), ref.outputs.size());
  test::expectAllClose(out[0].tensor, ref.outputs[0].tensor, 1e-4, 1e-4, engine);

  RunOptions o = quickOptions(1);
  o.stop.iterations = 30;
  const RunResult r = run(*target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations, 30);
  EXPECT_EQ(r.target.engineName, engine);
  EXPECT_GT(r.latency.p50, 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, ModelTarget, ::testing::ValuesIn(test::builtEngines()),
                         [](const auto& info) { return test::testName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ModelTarget);

TEST(BenchRunner, ModelTargetRejectsANullModel) {
  test::expectError([] { makeModelTarget(nullptr, Tensors{}); }, ErrorCode::InvalidArgument,
                    {"expected a loaded model", "got null"});
}

// A model whose input is a sequence (tools/gen_value_models.py's seq_input:
// parts -> joined, count, columns) runs on Values through predictValues.
TEST(BenchRunner, ModelTargetOnValueInputs) {
  const std::vector<std::string> engines = test::builtEngines();
  if (std::find(engines.begin(), engines.end(), "onnxruntime") == engines.end())
    GTEST_SKIP() << "the onnxruntime engine is not built";
  const std::filesystem::path dir = test::modelsDir() / "seq_input";
  Criteria criteria;
  criteria.modelPath = dir / "model.onnx";
  criteria.engine = "onnxruntime";
  std::shared_ptr<const Model> model = Model::load(criteria);
  const Value parts =
      io::readValueFile(dir / "test_data_set_0" / "input_0.pb", model->inputValues().at(0).type).value;
  ASSERT_EQ(parts.kind(), ValueKind::Sequence);
  Values inputs;
  inputs.add("parts", parts);
  std::unique_ptr<Target> target = makeModelTarget(model, inputs);

  const TargetInfo info = target->info();
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0], "parts " + parts.describe());
  EXPECT_NE(target->timedRegion().find("Predictor::predictValues"), std::string::npos);

  // The worker's tensor outputs: the parts stacked, and how many there are.
  int64_t rows = 0;
  for (const Value& part : parts.elements()) rows += part.tensor().shape()[0];
  const Tensors out = target->newWorker()->inferWithOutputs();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "joined");
  EXPECT_EQ(out[0].tensor.shape(), (Shape{rows, 2}));
  EXPECT_EQ(out[1].name, "count");
  EXPECT_EQ(out[1].tensor.toVector<int64_t>(), std::vector<int64_t>{static_cast<int64_t>(parts.elements().size())});

  RunOptions o = quickOptions(2);
  o.stop.iterations = 40;
  const RunResult r = run(*target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations, 40);
}

// The latency samples the benchmark keeps are part of the process's RSS: a
// fast target makes them a visible share, and the result says so.
TEST(BenchRunner, SaysWhenItsOwnSamplesAreAVisiblePartOfTheRss) {
  FakeTarget target({});
  RunOptions o = quickOptions(1);
  o.stop.iterations = 300000;  // 16 bytes each: ~4.6 MiB
  const RunResult big = run(target, o);
  ASSERT_EQ(big.iterations, 300000);
  const auto mentionsSamples = [](const RunResult& r) {
    return std::any_of(r.warnings.begin(), r.warnings.end(), [](const std::string& w) {
      return w.find("latency samples the benchmark keeps") != std::string::npos;
    });
  };
  // Only when they are 5% or more of the steady RSS (this test process's
  // RSS is well under 90 MiB).
  if (big.rssSteadyMiB < 90) {
    EXPECT_TRUE(mentionsSamples(big)) << "steady RSS " << big.rssSteadyMiB;
  }
  o.stop.iterations = 1000;  // 16 KB: never worth a warning
  EXPECT_FALSE(mentionsSamples(run(target, o)));
}

}  // namespace
}  // namespace polyinfer::bench
