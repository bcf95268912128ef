// Requests a target refuses as overloaded (TargetWorker::tryInfer answers
// Rejected: a server's 503 or 429) in the load generator and the reports: the
// run goes on and counts them, they are no samples, a -c budget counts them,
// open loop keeps its schedule, other failures still stop the run, and every
// report shows them. A fake target refuses calls by their index, so every
// count is exact; nothing is asserted against a wall-clock threshold.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>

#include "report.hpp"
#include "runner.hpp"
#include "test_support.hpp"

namespace polyinfer::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// Calls are numbered in the order they start, over all workers: call k is
/// refused as overloaded when refuse(k), fails when k == failAt, and is
/// answered at once otherwise.
class RefusingTarget final : public Target {
 public:
  explicit RefusingTarget(std::function<bool(int64_t)> refuse, int64_t failAt = -1)
      : refuse_(std::move(refuse)), failAt_(failAt) {}

  TargetInfo info() const override {
    TargetInfo info;
    info.engineName = "refusing";
    info.model = "none";
    info.device = "cpu";
    return info;
  }
  std::unique_ptr<TargetWorker> newWorker() override { return std::make_unique<Worker>(*this); }
  std::string timedRegion() const override { return "a fake call"; }
  int64_t calls() const { return next_.load(); }

 private:
  class Worker final : public TargetWorker {
   public:
    explicit Worker(RefusingTarget& target) : target_(target) {}
    void infer() override {
      if (tryInfer() == CallOutcome::Rejected) throw Error(ErrorCode::ResourceExhausted, last_);
    }
    CallOutcome tryInfer() override {
      const int64_t k = target_.next_.fetch_add(1);
      if (k == target_.failAt_)
        throw Error(ErrorCode::EngineFailure, "fake failure at call " + std::to_string(k));
      if (!target_.refuse_(k)) return CallOutcome::Answered;
      last_ = "fake: queue full at call " + std::to_string(k);
      return CallOutcome::Rejected;
    }
    std::string lastRejection() const override { return last_; }
    Tensors inferWithOutputs() override {
      infer();
      return {};
    }

   private:
    RefusingTarget& target_;
    std::string last_;
  };

  std::function<bool(int64_t)> refuse_;
  int64_t failAt_;
  std::atomic<int64_t> next_{0};
};

RunOptions options(int threads, int64_t budget) {
  RunOptions o;
  o.threads = threads;
  o.warmupIterations = 0;
  o.usableCores = 64;  // no oversubscription warning
  o.stop.iterations = budget;
  return o;
}

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string allWarnings(const RunResult& r) {
  std::string text;
  for (const std::string& w : r.warnings) text += w + "\n";
  return text;
}

// ------------------------------------------------------------ the runner

TEST(BenchRejected, ClosedLoopCountsRefusalsAndGoesOn) {
  // Call 0 is the first inference (answered); the budget's 100 are 1..100,
  // of which k % 3 == 1 are refused: 1, 4, ..., 100.
  RefusingTarget target([](int64_t k) { return k % 3 == 1; });
  const RunResult r = run(target, options(2, 100));
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.rejected, 34);
  EXPECT_EQ(r.iterations, 66);
  EXPECT_EQ(target.calls(), 101);
  EXPECT_EQ(r.latency.count, 66);
  EXPECT_EQ(r.samplesMs.size(), 66u);
  ASSERT_GT(r.wallSeconds, 0);
  EXPECT_DOUBLE_EQ(r.rejectedRate, 34 / r.wallSeconds);
  EXPECT_DOUBLE_EQ(r.throughput, 66 / r.wallSeconds);
  EXPECT_THAT(allWarnings(r), HasSubstr("refused 34 of 100 timed requests as overloaded"));
  EXPECT_THAT(allWarnings(r), HasSubstr("cover the 66 it answered"));
  EXPECT_THAT(allWarnings(r), HasSubstr("fake: queue full at call "));
}

TEST(BenchRejected, OpenLoopRefusalsKeepTheirPlaceInTheSchedule) {
  // Every timed request refused: the run still ends on its budget, and the
  // last refusal came no earlier than its intended time (59 ms at 1000/s).
  RefusingTarget target([](int64_t k) { return k > 0; });
  RunOptions o = options(2, 60);
  o.rate = 1000;
  o.arrival = Arrival::Constant;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.rejected, 60);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.missed, 0);
  EXPECT_EQ(r.latency.count, 0);
  EXPECT_EQ(r.throughput, 0);
  EXPECT_EQ(r.achievedRate, 0);
  EXPECT_GE(r.wallSeconds, 0.059);
  EXPECT_DOUBLE_EQ(r.rejectedRate, 60 / r.wallSeconds);
}

TEST(BenchRejected, OpenLoopMixedAnswersAndRefusalsAddUpToTheSchedule) {
  RefusingTarget target([](int64_t k) { return k % 2 == 1; });
  RunOptions o = options(3, 90);
  o.rate = 2000;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(r.iterations + r.rejected, 90);
  EXPECT_EQ(r.rejected, 45);  // calls 1..90: the odd ones
  EXPECT_EQ(r.missed, 0);
  EXPECT_EQ(r.latency.count, r.iterations);
  EXPECT_LE(r.late, 90);
}

TEST(BenchRejected, RefusedWarmupCallsAreNotErrors) {
  RefusingTarget target([](int64_t k) { return k > 0; });
  RunOptions o = options(2, 10);
  o.warmupIterations = 3;
  const RunResult r = run(target, o);
  EXPECT_EQ(r.stopReason, "iterations") << r.error;
  EXPECT_EQ(target.calls(), 1 + 2 * 3 + 10);
  EXPECT_EQ(r.rejected, 10);  // warm-up refusals are not counted
  EXPECT_EQ(r.iterations, 0);
}

TEST(BenchRejected, ARefusedFirstInferenceFailsTheRun) {
  // The first inference is a measurement of its own (worker 0, alone): a
  // refusal there is an error, as before the timed region any failure is.
  RefusingTarget target([](int64_t) { return true; });
  test::expectError([&] { run(target, options(1, 10)); }, ErrorCode::ResourceExhausted,
                    {"the first inference", "fake: queue full at call 0"});
}

TEST(BenchRejected, OtherFailuresStillStopTheRun) {
  // One worker: calls 1..6 are timed, the odd ones refused, call 7 fails.
  RefusingTarget target([](int64_t k) { return k % 2 == 1; }, 7);
  const RunResult r = run(target, options(1, 1000));
  EXPECT_EQ(r.stopReason, "failed");
  EXPECT_THAT(r.error, HasSubstr("fake failure at call 7"));
  EXPECT_EQ(r.rejected, 3);
  EXPECT_EQ(r.iterations, 3);
}

TEST(BenchRejected, ATargetThatOnlyInfersNeverRejects) {
  struct Plain final : TargetWorker {
    int calls = 0;
    void infer() override { ++calls; }
    Tensors inferWithOutputs() override { return {}; }
  } worker;
  EXPECT_EQ(worker.tryInfer(), CallOutcome::Answered);
  EXPECT_EQ(worker.calls, 1);
  EXPECT_EQ(worker.lastRejection(), "");
}

// ------------------------------------------------------------ the reports

BenchReport reportWith(int64_t rejected) {
  BenchReport report;
  report.kind = BenchReport::Kind::Single;
  report.polyinferVersion = "0.1.0";
  RunResult run;
  run.label = "remote:polyinfer";
  run.target.engineName = "remote:polyinfer";
  run.mode = LoopMode::Open;
  run.offeredRate = 200;
  run.achievedRate = 50;
  run.stopReason = "duration";
  run.iterations = 500;
  run.samplesMs.assign(500, 4.0);
  run.completionSeconds.assign(500, 5.0);
  run.latency.count = 500;
  run.wallSeconds = 10;
  run.throughput = 50;
  run.rejected = rejected;
  run.rejectedRate = static_cast<double>(rejected) / 10;
  report.runs.push_back(run);
  return report;
}

TEST(BenchRejected, EveryReportShowsCountAndRate) {
  const BenchReport report = reportWith(1500);
  std::ostringstream text;
  writeText(text, report);
  EXPECT_THAT(text.str(), HasSubstr("rejected"));
  EXPECT_THAT(text.str(), HasSubstr("1500 requests · 150.00 req/s · 75.0% of those sent"));

  const nlohmann::json j = toJson(report);
  EXPECT_EQ(j["rejected"], 1500);
  EXPECT_EQ(j["rejected_rate"], 150.0);
  EXPECT_EQ(j["runs"][0]["rejected"], 1500);
  EXPECT_EQ(j["runs"][0]["rejected_rate"], 150.0);

  test::ScratchDir dir("bench_rejected");
  const auto json = dir.path / "r.json";
  writeJson(json, report);
  const BenchReport back = readJson(json);
  ASSERT_EQ(back.runs.size(), 1u);
  EXPECT_EQ(back.runs[0].rejected, 1500);
  EXPECT_EQ(back.runs[0].rejectedRate, 150.0);

  const auto csv = dir.path / "r.csv";
  writeCsv(csv, report);
  const std::string rows = slurp(csv);
  const std::string header = rows.substr(0, rows.find("\r\n"));
  EXPECT_THAT(header, HasSubstr(",iterations,rejected,rejected_rate,wall_s,"));
  EXPECT_THAT(rows, HasSubstr(",500,1500,150,10,"));

  const auto html = dir.path / "r.html";
  writeHtml(html, report);
  EXPECT_THAT(slurp(html), HasSubstr("1500 requests · 150.00 req/s"));
}

TEST(BenchRejected, NoneIsZeroInTheJsonAndSilentElsewhere) {
  const BenchReport report = reportWith(0);
  std::ostringstream text;
  writeText(text, report);
  EXPECT_THAT(text.str(), Not(HasSubstr("rejected")));
  const nlohmann::json j = toJson(report);
  EXPECT_EQ(j["rejected"], 0);
  EXPECT_EQ(j["runs"][0]["rejected"], 0);
  EXPECT_EQ(j["runs"][0]["rejected_rate"], 0.0);
}

}  // namespace
}  // namespace polyinfer::bench
