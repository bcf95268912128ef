// readJson (src/bench/json_read.cpp) reads back what writeJson wrote: the
// round trip `polyinfer bench` relies on to run each configuration of a plan
// in a child process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "polyinfer/error.hpp"
#include "report.hpp"

namespace polyinfer::bench {
namespace {

namespace fs = std::filesystem;

fs::path scratchFile(const std::string& name) {
  return fs::temp_directory_path() / ("polyinfer_json_read_" + std::to_string(::getpid()) + "_" + name);
}

RunResult sampleRun() {
  RunResult r;
  r.label = "threads=2 intra=1";
  r.point = {{"threads", "2"}, {"intra", "1"}};
  r.target.engineName = "onnxruntime";
  r.target.engineVersion = "1.29.0";
  r.target.model = "/m/model, with comma.onnx";
  r.target.device = "cpu";
  r.target.inputs = {"input float32[8,3,224,224]"};
  r.target.batch = 8;
  r.target.config = {{"intraOpNumThreads", "1", "explicit", "set by option"}};
  r.threads = 2;
  r.mode = LoopMode::Open;
  r.timedRegion = "Predictor::predict";
  r.stopReason = "duration";
  r.warmupIterationsPerThread = 5;
  r.iterations = 4;
  r.wallSeconds = 0.5;
  r.throughput = 8;
  r.itemsPerSecond = 64;
  r.latency = {4, 1.0, 2.5, 2.5, 3.7, 3.97, 3.997, 4.0, 1.29};
  r.perThreadThroughput = {4, 4};
  r.loadMs = 123.5;
  r.firstInferenceMs = 45.25;
  r.stable = true;
  r.stabilityTolerancePct = 10;
  r.throughputSpreadPct = 3.5;
  r.p50SpreadPct = 2.25;
  r.windows = {{0, 0.25, 2, 8, 2.0}, {0.25, 0.5, 2, 8, 3.0}};
  r.rssBaseMiB = 7;
  r.rssAfterLoadMiB = 170;
  r.rssPeakMiB = 180;
  r.rssSteadyMiB = 178;
  r.rss = {{0.05, 7, "load"}, {0.1, 180, "timed"}};
  r.cpuSeconds = 0.9;
  r.cpuUtil = 0.9;
  r.arrival = Arrival::Poisson;
  r.offeredRate = 10;
  r.achievedRate = 8;
  r.late = 1;
  r.missed = 2;
  r.maxAbsDiffVsFirst = 1.5e-6;
  r.samplesMs = {1, 2, 3, 4};
  r.completionSeconds = {0.1, 0.2, 0.3, 0.5};
  r.warnings = {"threads 3 > usable cores 2: oversubscribed"};
  return r;
}

TEST(BenchJsonRead, ReadsBackWhatWriteJsonWrote) {
  BenchReport report;
  report.kind = BenchReport::Kind::Tune;
  report.polyinferVersion = "0.1.0";
  report.commandLine = "polyinfer bench --tune";
  report.startTime = "2026-11-24T18:00:00Z";
  report.machine = {"AMD EPYC", 2, "affinity mask: 2 CPUs", 1.5, "host", "Linux 6.1"};
  report.runs = {sampleRun(), sampleRun()};
  report.runs[1].maxAbsDiffVsFirst.reset();
  report.runs[1].error = "torch: boom";
  report.tune = TuneOutcome{20.0, 0, 1, 2.5, "-e onnxruntime -t 2"};
  report.warnings = {"w"};
  const fs::path file = scratchFile("report.json");
  writeJson(file, report, /*withSamples=*/true);
  const BenchReport back = readJson(file);
  fs::remove(file);

  EXPECT_EQ(back.kind, BenchReport::Kind::Tune);
  EXPECT_EQ(back.commandLine, report.commandLine);
  EXPECT_EQ(back.startTime, report.startTime);
  EXPECT_EQ(back.machine.cpuModel, "AMD EPYC");
  EXPECT_EQ(back.machine.usableCores, 2);
  EXPECT_EQ(back.machine.quotaCores, 1.5);
  ASSERT_EQ(back.runs.size(), 2u);
  const RunResult& a = report.runs[0];
  const RunResult& b = back.runs[0];
  EXPECT_EQ(b.label, a.label);
  EXPECT_EQ(b.point, a.point);
  EXPECT_EQ(b.target.engineName, a.target.engineName);
  EXPECT_EQ(b.target.engineVersion, a.target.engineVersion);
  EXPECT_EQ(b.target.model, a.target.model);
  EXPECT_EQ(b.target.inputs, a.target.inputs);
  EXPECT_EQ(b.target.batch, 8);
  ASSERT_EQ(b.target.config.size(), 1u);
  EXPECT_EQ(b.target.config[0].source, "explicit");
  EXPECT_EQ(b.threads, 2);
  EXPECT_EQ(b.mode, LoopMode::Open);
  EXPECT_EQ(b.stopReason, "duration");
  EXPECT_EQ(b.iterations, 4);
  EXPECT_DOUBLE_EQ(b.throughput, 8);
  EXPECT_DOUBLE_EQ(b.latency.p999, 3.997);
  EXPECT_EQ(b.latency.count, 4);
  EXPECT_EQ(b.perThreadThroughput, a.perThreadThroughput);
  EXPECT_DOUBLE_EQ(b.loadMs, 123.5);
  EXPECT_DOUBLE_EQ(b.firstInferenceMs, 45.25);
  EXPECT_TRUE(b.stable);
  ASSERT_EQ(b.windows.size(), 2u);
  EXPECT_DOUBLE_EQ(b.windows[1].p50, 3.0);
  EXPECT_DOUBLE_EQ(b.rssPeakMiB, 180);
  ASSERT_EQ(b.rss.size(), 2u);
  EXPECT_EQ(b.rss[1].phase, "timed");
  EXPECT_DOUBLE_EQ(b.cpuUtil, 0.9);
  EXPECT_EQ(b.arrival, Arrival::Poisson);
  EXPECT_DOUBLE_EQ(b.achievedRate, 8);
  EXPECT_EQ(b.late, 1);
  EXPECT_EQ(b.missed, 2);
  EXPECT_EQ(b.maxAbsDiffVsFirst, a.maxAbsDiffVsFirst);
  EXPECT_EQ(b.samplesMs, a.samplesMs);
  EXPECT_EQ(b.completionSeconds, a.completionSeconds);
  EXPECT_EQ(b.warnings, a.warnings);
  EXPECT_FALSE(back.runs[1].maxAbsDiffVsFirst.has_value());
  EXPECT_EQ(back.runs[1].error, "torch: boom");
  ASSERT_TRUE(back.tune.has_value());
  EXPECT_EQ(back.tune->best, std::optional<std::size_t>(0));
  EXPECT_EQ(back.tune->maxP99Ms, std::optional<double>(20.0));
  EXPECT_EQ(back.tune->flags, "-e onnxruntime -t 2");
}

TEST(BenchJsonRead, RefusesWhatIsNotABenchDocument) {
  const fs::path file = scratchFile("other.json");
  std::ofstream(file) << R"({"schema": "something-else"})";
  try {
    readJson(file);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("polyinfer-bench/1"), std::string::npos) << e.what();
  }
  std::ofstream(file) << "not json";
  EXPECT_THROW(readJson(file), Error);
  fs::remove(file);
  try {
    readJson(file);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
  }
}

}  // namespace
}  // namespace polyinfer::bench
