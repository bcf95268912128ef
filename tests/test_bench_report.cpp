// The benchmark reports (src/bench/report.hpp) on hand-built BenchReports:
// text, JSON (against docs/bench-json.md), CSV and HTML. Nothing is measured.
// Over 500 lines: one file per unit under test, and the four formats share
// their hand-built reports.
//
// POLYINFER_BENCH_REPORT_OUT=<dir> keeps the files written here (for looking
// at the HTML); otherwise they go to a temporary directory that is removed.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "report.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace polyinfer;
using namespace polyinfer::bench;

namespace {

/// printf's %.<decimals>f: what the reports print.
std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// ---- building reports

double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

LatencySummary summaryOf(std::vector<double> samples) {
  LatencySummary s;
  s.count = static_cast<int64_t>(samples.size());
  std::sort(samples.begin(), samples.end());
  s.min = samples.front();
  s.max = samples.back();
  double sum = 0;
  for (double x : samples) sum += x;
  s.mean = sum / static_cast<double>(samples.size());
  s.p50 = quantile(samples, 0.5);
  s.p90 = quantile(samples, 0.9);
  s.p99 = quantile(samples, 0.99);
  s.p999 = quantile(samples, 0.999);
  double sq = 0;
  for (double x : samples) sq += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(sq / static_cast<double>(samples.size() - 1));
  return s;
}

struct RunSpec {
  std::string engine = "torch";
  std::string version = "1.13.1";
  double throughput = 100;  ///< inferences/s, reported exactly
  int threads = 2;
  int64_t batch = 1;
  double wall = 4;  ///< seconds
  /// Multiplies every sample, completion time and the wall time: with the
  /// same seed, the same run at 1 / latencyScale the speed.
  double latencyScale = 1;
  uint64_t seed = 1;
};

/// A closed-loop run whose samples look like a real one (log-normal around
/// threads / throughput, a small slow tail, a slowdown in the middle), with
/// the headline throughput set exactly to spec.throughput.
RunResult makeRun(const RunSpec& spec) {
  RunResult run;
  run.label = spec.engine;
  run.target.engineName = spec.engine;
  run.target.engineVersion = spec.version;
  run.target.model = "/models/resnet18/model.onnx";
  run.target.device = "cpu";
  run.target.batch = spec.batch;
  run.target.inputs = {"input float32[" + std::to_string(spec.batch) + ",3,224,224]"};
  run.target.config = {
      {"threads", std::to_string(spec.threads), "explicit", "-t"},
      {"intraOpNumThreads", "1", "default", "from ThreadBudget: 2 usable cores / 2 workers"},
      {"executionMode", "sequential", "engine", ""}};
  run.timedRegion = "Predictor::predict on inputs already in memory; excludes input generation";
  run.threads = spec.threads;
  run.stopReason = "stop rule";
  run.warmupIterationsPerThread = 5;

  std::mt19937_64 rng(spec.seed);
  const double median = 1000.0 * spec.threads / spec.throughput;
  std::lognormal_distribution<double> body(std::log(median), 0.12);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<std::pair<double, double>> events;  // (completion s, latency ms)
  for (int t = 0; t < spec.threads; ++t) {
    double clock = 0;
    while (true) {
      double ms = body(rng);
      if (unit(rng) < 0.01) ms *= 2.5;                                      // the tail
      if (clock > spec.wall * 0.45 && clock < spec.wall * 0.55) ms *= 1.3;  // a hiccup
      if (clock + ms / 1000 > spec.wall) break;
      clock += ms / 1000;
      events.emplace_back(clock * spec.latencyScale, ms * spec.latencyScale);
    }
  }
  std::sort(events.begin(), events.end());
  for (const auto& [t, ms] : events) {
    run.completionSeconds.push_back(t);
    run.samplesMs.push_back(ms);
  }
  run.iterations = static_cast<int64_t>(events.size());
  run.wallSeconds = spec.wall * spec.latencyScale;
  run.throughput = spec.throughput;
  run.itemsPerSecond = spec.throughput * static_cast<double>(spec.batch);
  run.latency = summaryOf(run.samplesMs);
  for (int t = 0; t < spec.threads; ++t)
    run.perThreadThroughput.push_back(spec.throughput / spec.threads * (1 + 0.01 * t));
  run.loadMs = 812.25;
  run.firstInferenceMs = 45.5;
  run.stable = true;
  run.stabilityTolerancePct = 10;
  run.throughputSpreadPct = 2.5;
  run.p50SpreadPct = 3.3;
  for (int w = 0; w < 5; ++w)
    run.windows.push_back({run.wallSeconds * w / 5, run.wallSeconds * (w + 1) / 5,
                           static_cast<int64_t>(events.size() / 5), spec.throughput,
                           run.latency.p50});
  run.rssBaseMiB = 120.5;
  run.rssAfterLoadMiB = 250.4;
  run.rssPeakMiB = 262.0;
  run.rssSteadyMiB = 255.7;
  for (int i = 0; i <= 100; ++i) {
    const double s = i * 0.06;
    const char* phase = s < 0.8 ? "load" : s < 1.1 ? "warmup" : s < 5.1 ? "timed" : "done";
    const double mib =
        s < 0.8 ? 120.5 + 130 * s / 0.8 : 250.4 + (s < 1.1 ? 5 : 5.5 + 0.3 * std::sin(i));
    run.rss.push_back({s, mib, phase});
  }
  run.cpuSeconds = run.wallSeconds * spec.threads * 0.95;
  run.cpuUtil = 0.95;
  return run;
}

// ---- files

fs::path outDir() {
  static const fs::path dir = [] {
    if (const char* keep = std::getenv("POLYINFER_BENCH_REPORT_OUT")) {
      fs::create_directories(keep);
      return fs::path(keep);
    }
    fs::path d = fs::temp_directory_path() / ("test_bench_report_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

struct CleanUp : ::testing::Environment {
  void TearDown() override {
    if (!std::getenv("POLYINFER_BENCH_REPORT_OUT")) {
      std::error_code ec;
      fs::remove_all(outDir(), ec);
    }
  }
};
const auto* const kCleanUp = ::testing::AddGlobalTestEnvironment(new CleanUp);

BenchReport baseReport(BenchReport::Kind kind) {
  BenchReport report;
  report.kind = kind;
  report.polyinferVersion = "0.1.0";
  report.commandLine = "polyinfer bench -m /models/resnet18/model.onnx -e torch -t 2";
  report.startTime = "2024-11-24T12:00:00Z";
  report.machine = {"AMD EPYC 7B13 64-Core Processor",
                    2,
                    "affinity mask",
                    2.5,
                    "bench-host",
                    "Linux 6.1.0-13-amd64"};
  return report;
}

BenchReport singleReport() {
  BenchReport report = baseReport(BenchReport::Kind::Single);
  RunSpec spec;
  spec.throughput = 123.45;
  spec.batch = 4;
  report.runs.push_back(makeRun(spec));
  report.runs[0].warnings = {"threads 3 > usable cores 2: oversubscribed"};
  report.warnings = {"CPU frequency scaling is on (governor 'powersave')"};
  return report;
}

/// Three engines: the second twice as fast with half the latency, the third
/// half as fast.
BenchReport compareReport() {
  BenchReport report = baseReport(BenchReport::Kind::Compare);
  RunSpec a;
  a.throughput = 100;
  report.runs.push_back(makeRun(a));
  RunSpec b = a;
  b.engine = "onnxruntime";
  b.version = "1.16.3";
  b.latencyScale = 0.5;  // the first run's samples, halved: p50/p99 ratios 0.50
  report.runs.push_back(makeRun(b));
  report.runs[1].throughput = report.runs[1].itemsPerSecond = 200;  // 2 x in half the time
  RunSpec c = a;
  c.engine = "opencv";
  c.version = "4.6.0";
  c.throughput = 50;
  report.runs.push_back(makeRun(c));
  report.runs[1].maxAbsDiffVsFirst = 1.5e-6;
  report.runs[2].maxAbsDiffVsFirst = 0.0025;
  return report;
}

BenchReport sweepReport() {
  BenchReport report = baseReport(BenchReport::Kind::Sweep);
  const std::pair<int, int64_t> points[] = {{1, 1}, {2, 1}, {1, 8}, {2, 8}};
  uint64_t seed = 10;
  for (const auto& [threads, batch] : points) {
    RunSpec spec;
    spec.threads = threads;
    spec.batch = batch;
    // Batching trades latency for throughput; a second thread helps less
    // than twice.
    spec.throughput = (batch == 1 ? 200.0 : 40.0) * (threads == 1 ? 1 : 1.85);
    spec.seed = seed++;
    RunResult run = makeRun(spec);
    run.point = {{"threads", std::to_string(threads)}, {"batch", std::to_string(batch)}};
    run.label = "threads=" + std::to_string(threads) + " batch=" + std::to_string(batch);
    report.runs.push_back(std::move(run));
  }
  report.runs[3].stable = false;
  report.runs[3].throughputSpreadPct = 14.5;
  return report;
}

BenchReport tuneReport() {
  BenchReport report = sweepReport();
  report.kind = BenchReport::Kind::Tune;
  TuneOutcome tune;
  tune.maxP99Ms = 100;
  tune.best = 3;
  tune.defaultRun = 1;
  tune.defaultVsBestPct = (592.0 - 370.0) / 592.0 * 100;
  tune.flags = "-t 2 --batch 8 -O intraOpNumThreads=1";
  report.tune = tune;
  return report;
}

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << file;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string text(const BenchReport& report) {
  std::ostringstream out;
  writeText(out, report);
  if (std::getenv("POLYINFER_BENCH_REPORT_OUT")) {
    // Kept for reading: <test name>.txt.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::ofstream(outDir() / (std::string(info->name()) + ".txt"), std::ios::app)
        << out.str() << '\n';
  }
  return out.str();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// The one line containing `needle`; fails when there is none.
std::string lineWith(const std::string& s, const std::string& needle) {
  for (const std::string& line : lines(s))
    if (line.find(needle) != std::string::npos) return line;
  ADD_FAILURE() << "no line contains '" << needle << "' in:\n" << s;
  return {};
}

/// The first line starting with `prefix`; fails when there is none.
std::string lineStarting(const std::string& s, const std::string& prefix) {
  for (const std::string& line : lines(s))
    if (line.rfind(prefix, 0) == 0) return line;
  ADD_FAILURE() << "no line starts with '" << prefix << "' in:\n" << s;
  return {};
}

/// The value of a fact line ("  <label>  <value>"), its wrapped lines joined.
std::string factValue(const std::string& s, const std::string& label) {
  const std::vector<std::string> all = lines(s);
  // Built piecewise: "  " + label + " " trips GCC 12's false -Wrestrict.
  std::string prefix(2, ' ');
  prefix += label;
  prefix += ' ';
  const std::string continuation(16, ' ');
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].rfind(prefix, 0) != 0) continue;
    std::string value = std::regex_replace(all[i].substr(prefix.size()), std::regex("^ +"), "");
    for (std::size_t j = i + 1; j < all.size() && all[j].rfind(continuation, 0) == 0; ++j) {
      value += ' ';
      value += all[j].substr(continuation.size());
    }
    return value;
  }
  ADD_FAILURE() << "no fact '" << label << "' in:\n" << s;
  return {};
}

/// The text with wrapped lines joined, for phrases that may wrap.
std::string unwrapped(const std::string& s) {
  return std::regex_replace(s, std::regex("\n +"), " ");
}

std::size_t columns(const std::string& line) {
  return static_cast<std::size_t>(std::count_if(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void expectContains(const std::string& haystack, const std::string& needle) {
  EXPECT_NE(haystack.find(needle), std::string::npos)
      << "missing '" << needle << "'"
      << (haystack.size() < 400 ? " in: " + haystack : std::string());
}

// ---- text

TEST(BenchReportText, SingleRunHasEveryFigure) {
  const BenchReport report = singleReport();
  const RunResult& run = report.runs[0];
  const std::string out = text(report);
  for (const std::string& s : {std::string("0.1.0"),
                               report.startTime,
                               report.commandLine,
                               report.machine.cpuModel,
                               std::string("2 usable (affinity mask)"),
                               std::string("cgroup quota 2.50 cores"),
                               std::string("torch 1.13.1"),
                               run.target.model,
                               std::string("cpu"),
                               std::string("input float32[4,3,224,224]"),
                               std::string("closed loop"),
                               std::string("2 threads"),
                               std::string("batch 4"),
                               std::string("warm-up 5"),
                               std::string("stop rule"),
                               std::string("123.45 inferences/s"),
                               std::string("493.80 items/s"),
                               std::string("p99.9"),
                               std::string("stddev"),
                               std::string("812.250 ms"),
                               std::string("first inference 45.500 ms"),
                               std::string("base 120.5"),
                               std::string("after load 250.4"),
                               std::string("peak 262.0"),
                               std::string("steady 255.7"),
                               std::string("95.0%"),
                               std::string("stable (±10.0%)"),
                               std::string("throughput spread 2.5%"),
                               std::string("p50 spread 3.3%"),
                               std::string("intraOpNumThreads"),
                               std::string("from ThreadBudget"),
                               std::string("oversubscribed"),
                               std::string("powersave"),
                               fixed(run.latency.p50, 3),
                               fixed(run.latency.p999, 3),
                               fixed(run.latency.stddev, 3),
                               std::to_string(run.iterations)})
    expectContains(out, s);
  // The timed region sentence (wrapped or not) is there word for word.
  expectContains(unwrapped(out), run.timedRegion);
  // Per-thread spread: min and max.
  expectContains(lineStarting(out, "  per thread "), "min " + fixed(run.perThreadThroughput[0], 2));
  expectContains(lineStarting(out, "  per thread "), "max " + fixed(run.perThreadThroughput[1], 2));
  // Config values carry their sources.
  const std::string intra = lineWith(out, "intraOpNumThreads");
  expectContains(intra, "default");
  expectContains(lineWith(out, "executionMode"), "engine");
  for (const std::string& line : lines(out)) EXPECT_LE(columns(line), 100u) << line;
}

TEST(BenchReportText, OpenLoopAndFailure) {
  BenchReport report = singleReport();
  RunResult& run = report.runs[0];
  run.mode = LoopMode::Open;
  run.arrival = Arrival::Poisson;
  run.offeredRate = 100;
  run.achievedRate = 97.5;
  run.late = 42;
  run.stable = false;
  run.stopReason = "failed";
  run.error = "onnxruntime: Non-zero status code returned while running Conv node";
  const std::string out = text(report);
  const std::string open = factValue(out, "open loop");
  expectContains(open, "poisson arrivals");
  expectContains(open, "offered 100.00 req/s");
  expectContains(open, "achieved 97.50 req/s (97.5%)");
  expectContains(open, "42 late");
  expectContains(lineStarting(out, "  mode "), "open loop");
  expectContains(lineStarting(out, "  stopped "), "failed");
  expectContains(lineStarting(out, "  stability "), "NOT stable");
  expectContains(lineStarting(out, "  error "), "Non-zero status code");
}

TEST(BenchReportText, CompareShowsRatiosAgainstTheFirst) {
  const std::string out = text(compareReport());
  const std::string first = lineStarting(out, "  torch ");
  const std::string twice = lineStarting(out, "  onnxruntime ");
  const std::string half = lineStarting(out, "  opencv ");
  // Throughput ratio 2.00x, latency ratios 0.50x for the run twice as fast.
  EXPECT_NE(twice.find("200.00"), std::string::npos) << twice;
  EXPECT_NE(twice.find("2.00x"), std::string::npos) << twice;
  EXPECT_NE(twice.find("0.50x"), std::string::npos) << twice;
  EXPECT_NE(twice.find("1.5e-06"), std::string::npos) << twice;
  EXPECT_NE(half.find("0.50x"), std::string::npos) << half;
  EXPECT_NE(half.find("0.0025"), std::string::npos) << half;
  EXPECT_NE(first.find("1.00x"), std::string::npos) << first;
  EXPECT_NE(first.find("baseline"), std::string::npos) << first;
  EXPECT_EQ(first.find("2.00x"), std::string::npos) << first;
  // Every engine's details are there too, and the version column.
  expectContains(out, "run 2 of 3 · onnxruntime 1.16.3");
  expectContains(twice, "1.16.3");
  for (const std::string& line : lines(out)) EXPECT_LE(columns(line), 100u) << line;
}

TEST(BenchReportText, CompareShowsEachEnginesMemoryAndItsRatio) {
  BenchReport report = compareReport();
  const double peaks[] = {200, 100, 450};
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    report.runs[i].rssAfterLoadMiB = peaks[i] - 20;
    report.runs[i].rssPeakMiB = peaks[i];
  }
  const std::string out = text(report);
  const std::string memory = out.substr(out.find("--- memory"));
  expectContains(lineStarting(memory, "  torch "), "1.00x");
  expectContains(lineStarting(memory, "  onnxruntime "), "0.50x");
  expectContains(lineStarting(memory, "  opencv "), "2.25x");
  expectContains(lineStarting(memory, "  opencv "), "430.0");
  const fs::path file = outDir() / "compare-memory.html";
  writeHtml(file, report);
  const std::string html = readFile(file);
  expectContains(html, "<h2>Memory</h2>");
  expectContains(html, "2.25x");
  for (const std::string& line : lines(out)) EXPECT_LE(columns(line), 100u) << line;
}

TEST(BenchReportText, SweepHasARowPerPoint) {
  const BenchReport report = sweepReport();
  const std::string out = text(report);
  const std::string header = lineWith(out, "p99 ms");
  for (const char* column : {"#", "batch", "threads", "inf/s", "items/s", "p50 ms", "stable"})
    expectContains(header, column);
  EXPECT_EQ(header.find("note"), std::string::npos) << "only a tune has notes";
  int rows = 0;
  for (const std::string& line : lines(out))
    if (std::regex_search(
            line,
            std::regex("^ +[1-9] +[0-9]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +(yes|no)$")))
      ++rows;
  EXPECT_EQ(rows, 4) << out;
  const RunResult& last = report.runs[3];
  const std::string row4 = lineStarting(out, "  4  ");
  expectContains(row4, fixed(last.throughput, 2));
  expectContains(row4, fixed(last.itemsPerSecond, 2));
  expectContains(row4, fixed(last.latency.p99, 3));
  expectContains(row4, "no");
  for (const std::string& line : lines(out)) EXPECT_LE(columns(line), 100u) << line;
}

TEST(BenchReportText, TuneNamesTheWinner) {
  const BenchReport report = tuneReport();
  const std::string out = text(report);
  expectContains(lineStarting(out, "  4  "), "best");
  expectContains(lineStarting(out, "  2  "), "default");
  EXPECT_EQ(lineStarting(out, "  1  ").find("best"), std::string::npos);
  const std::string best = factValue(out, "best");
  expectContains(best, "#4 batch=8 threads=2");
  expectContains(best, "meets the target");
  expectContains(lineStarting(out, "  target "), "p99 <= 100.000 ms");
  expectContains(factValue(out, "default"), "#2 batch=1 threads=2");
  expectContains(factValue(out, "default"), "37.5% less throughput than the best");
  expectContains(lineStarting(out, "  flags "), "-t 2 --batch 8 -O intraOpNumThreads=1");
  // The winner's configuration in full, with sources.
  expectContains(out, "--- best: #4 batch=8 threads=2 ---");
  expectContains(lineStarting(out, std::string(16, ' ') + "intraOpNumThreads"), "default");

  BenchReport missed = tuneReport();
  missed.tune->best.reset();
  missed.tune->maxP99Ms = 1;
  const std::string none = text(missed);
  expectContains(lineStarting(none, "  best "), "none: no configuration met p99 <= 1.000 ms");
}

// ---- JSON

TEST(BenchReportJson, SingleRoundTrips) {
  const BenchReport report = singleReport();
  const RunResult& run = report.runs[0];
  const nlohmann::json j = nlohmann::json::parse(toJson(report).dump());
  EXPECT_EQ(j["schema"], "polyinfer-bench/1");
  EXPECT_EQ(j["kind"], "single");
  EXPECT_EQ(j["polyinfer_version"], "0.1.0");
  EXPECT_EQ(j["command_line"], report.commandLine);
  EXPECT_EQ(j["start_time"], report.startTime);
  EXPECT_EQ(j["machine"]["cpu_model"], report.machine.cpuModel);
  EXPECT_EQ(j["machine"]["usable_cores"], 2);
  EXPECT_EQ(j["machine"]["quota_cores"], 2.5);
  EXPECT_EQ(j["warnings"][0], report.warnings[0]);
  EXPECT_TRUE(j["tune"].is_null());
  ASSERT_EQ(j["runs"].size(), 1u);
  const nlohmann::json& r = j["runs"][0];
  EXPECT_EQ(r["engine"]["name"], "torch");
  EXPECT_EQ(r["engine"]["version"], "1.13.1");
  EXPECT_EQ(r["model"], run.target.model);
  EXPECT_EQ(r["device"], "cpu");
  EXPECT_EQ(r["inputs"][0], run.target.inputs[0]);
  EXPECT_EQ(r["batch"], 4);
  EXPECT_EQ(r["threads"], 2);
  EXPECT_EQ(r["mode"], "closed");
  EXPECT_TRUE(r["open_loop"].is_null());
  EXPECT_EQ(r["iterations"], run.iterations);
  EXPECT_DOUBLE_EQ(r["throughput"].get<double>(), 123.45);
  EXPECT_DOUBLE_EQ(r["items_per_second"].get<double>(), 493.8);
  EXPECT_DOUBLE_EQ(r["latency_ms"]["p50"].get<double>(), run.latency.p50);
  EXPECT_DOUBLE_EQ(r["latency_ms"]["p999"].get<double>(), run.latency.p999);
  EXPECT_DOUBLE_EQ(r["latency_ms"]["stddev"].get<double>(), run.latency.stddev);
  EXPECT_EQ(r["latency_ms"]["count"], run.latency.count);
  EXPECT_DOUBLE_EQ(r["rss_mb"]["after_load"].get<double>(), 250.4);
  EXPECT_DOUBLE_EQ(r["rss_mb"]["steady"].get<double>(), 255.7);
  EXPECT_DOUBLE_EQ(r["load_ms"].get<double>(), 812.25);
  EXPECT_DOUBLE_EQ(r["first_inference_ms"].get<double>(), 45.5);
  EXPECT_DOUBLE_EQ(r["cpu_util"].get<double>(), 0.95);
  EXPECT_EQ(r["stable"], true);
  EXPECT_DOUBLE_EQ(r["stability"]["p50_spread_pct"].get<double>(), 3.3);
  EXPECT_EQ(r["stability"]["windows"].size(), 5u);
  EXPECT_EQ(r["per_thread_throughput"].size(), 2u);
  EXPECT_EQ(r["stop_reason"], "stop rule");
  EXPECT_EQ(r["warmup_iterations_per_thread"], 5);
  EXPECT_EQ(r["timed_region"], run.timedRegion);
  EXPECT_TRUE(r["max_abs_diff_vs_first"].is_null());
  EXPECT_TRUE(r["vs_first"].is_null());
  EXPECT_TRUE(r["error"].is_null());
  EXPECT_EQ(r["config"][1]["key"], "intraOpNumThreads");
  EXPECT_EQ(r["config"][1]["source"], "default");
  EXPECT_EQ(r["config"][1]["detail"], "from ThreadBudget: 2 usable cores / 2 workers");
  EXPECT_EQ(r["warnings"][0], run.warnings[0]);
  EXPECT_TRUE(r["point"].is_object() && r["point"].empty());
  EXPECT_FALSE(r.contains("samples_ms"));
  // The headline at the top: `jq .throughput` works.
  EXPECT_EQ(j["throughput"], r["throughput"]);
  EXPECT_EQ(j["latency_ms"], r["latency_ms"]);
  EXPECT_EQ(j["engine"], r["engine"]);

  const nlohmann::json withSamples = toJson(report, true);
  const nlohmann::json& ws = withSamples["runs"][0];
  ASSERT_EQ(ws["samples_ms"].size(), run.samplesMs.size());
  EXPECT_DOUBLE_EQ(ws["samples_ms"][7].get<double>(), run.samplesMs[7]);
  EXPECT_EQ(ws["completion_s"].size(), run.completionSeconds.size());
  EXPECT_EQ(ws["rss_samples"][0]["phase"], "load");
}

TEST(BenchReportJson, FileIsTheSameDocumentInSchemaOrder) {
  const BenchReport report = singleReport();
  const fs::path file = outDir() / "single.json";
  writeJson(file, report);
  const std::string body = readFile(file);
  EXPECT_EQ(nlohmann::json::parse(body), toJson(report));
  // Written in the documented order: schema first, runs after the headline.
  EXPECT_LT(body.find("\"schema\""), body.find("\"kind\""));
  EXPECT_LT(body.find("\"kind\""), body.find("\"machine\""));
  EXPECT_LT(body.find("\"machine\""), body.find("\"runs\""));
}

TEST(BenchReportJson, CompareRatiosAndParity) {
  const nlohmann::json j = toJson(compareReport());
  EXPECT_EQ(j["kind"], "compare");
  EXPECT_FALSE(j.contains("throughput")) << "the headline is for single runs only";
  const nlohmann::json& runs = j["runs"];
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_DOUBLE_EQ(runs[0]["vs_first"]["throughput_ratio"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(runs[1]["vs_first"]["throughput_ratio"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(runs[1]["vs_first"]["p50_ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(runs[1]["vs_first"]["p99_ratio"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(runs[2]["vs_first"]["throughput_ratio"].get<double>(), 0.5);
  EXPECT_TRUE(runs[0]["max_abs_diff_vs_first"].is_null());
  EXPECT_DOUBLE_EQ(runs[1]["max_abs_diff_vs_first"].get<double>(), 1.5e-6);
  EXPECT_EQ(runs[2]["engine"]["name"], "opencv");
}

TEST(BenchReportJson, TuneAndNonFiniteNumbers) {
  BenchReport report = tuneReport();
  report.runs[0].cpuUtil = std::nan("");
  report.runs[0].throughputSpreadPct = std::numeric_limits<double>::infinity();
  const nlohmann::json j = toJson(report);
  EXPECT_EQ(j["tune"]["best"], 3);
  EXPECT_EQ(j["tune"]["best_point"], "batch=8 threads=2");
  EXPECT_EQ(j["tune"]["default_run"], 1);
  EXPECT_EQ(j["tune"]["met_target"], true);
  EXPECT_DOUBLE_EQ(j["tune"]["max_p99_ms"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(j["tune"]["default_vs_best_pct"].get<double>(), report.tune->defaultVsBestPct);
  EXPECT_EQ(j["tune"]["flags"], report.tune->flags);
  EXPECT_EQ(j["runs"][3]["point"]["batch"], "8");
  EXPECT_EQ(j["runs"][3]["label"], "threads=2 batch=8");
  EXPECT_TRUE(j["runs"][0]["cpu_util"].is_null());
  EXPECT_TRUE(j["runs"][0]["stability"]["throughput_spread_pct"].is_null());
  // null, not a number, survives a dump and a parse.
  EXPECT_TRUE(nlohmann::json::parse(j.dump())["runs"][0]["cpu_util"].is_null());

  report.tune->best.reset();
  const nlohmann::json none = toJson(report);
  EXPECT_TRUE(none["tune"]["best"].is_null());
  EXPECT_EQ(none["tune"]["met_target"], false);
}

/// Dotted paths of every key, "[]" for array elements; `point` holds
/// arbitrary keys and is not descended into.
void flatten(const nlohmann::json& j, const std::string& prefix, std::set<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      out.insert(path);
      if (key != "point" || !prefix.empty()) flatten(value, path, out);
    }
  } else if (j.is_array()) {
    for (const auto& element : j) flatten(element, prefix + "[]", out);
  }
}

/// The field paths of one "## <title>" section of docs/bench-json.md: the
/// first cell of each table row, when it is `code`.
std::set<std::string> documentedPaths(const std::string& doc, const std::string& title) {
  std::set<std::string> paths;
  bool inSection = false;
  const std::regex row("^\\| `([^`]+)` \\|");
  for (const std::string& line : lines(doc)) {
    if (line.rfind("## ", 0) == 0) {
      inSection = line == "## " + title;
      continue;
    }
    std::smatch m;
    if (inSection && std::regex_search(line, m, row)) paths.insert(m[1]);
  }
  return paths;
}

TEST(BenchReportJson, EveryFieldIsDocumentedAndEveryDocumentedFieldExists) {
  const std::string doc = readFile(fs::path(POLYINFER_SOURCE_DIR) / "docs" / "bench-json.md");
  const std::set<std::string> topDoc = documentedPaths(doc, "Top level");
  const std::set<std::string> runDoc = documentedPaths(doc, "Run object");
  ASSERT_GT(topDoc.size(), 20u);
  ASSERT_GT(runDoc.size(), 50u);

  // Between them these reports hold every optional field: the single-run
  // headline, samples, open loop, compare ratios, a tune.
  BenchReport open = singleReport();
  open.runs[0].mode = LoopMode::Open;
  const std::vector<nlohmann::json> docs = {toJson(open, true), toJson(compareReport()),
                                            toJson(tuneReport())};
  std::set<std::string> top, run;
  for (const nlohmann::json& j : docs) {
    nlohmann::json shallow = j;
    shallow.erase("runs");
    flatten(shallow, "", top);
    top.insert("runs");
    for (const nlohmann::json& r : j["runs"]) flatten(r, "", run);
  }
  for (const std::string& path : top) EXPECT_TRUE(topDoc.count(path)) << "undocumented: " << path;
  for (const std::string& path : topDoc)
    EXPECT_TRUE(top.count(path)) << "documented, missing: " << path;
  for (const std::string& path : run)
    EXPECT_TRUE(runDoc.count(path)) << "undocumented: runs[]." << path;
  for (const std::string& path : runDoc)
    EXPECT_TRUE(run.count(path)) << "documented, missing: runs[]." << path;
  // The schema name in the document is the one written.
  expectContains(doc, "`\"polyinfer-bench/1\"`");
}

// ---- CSV

/// RFC 4180 records: fields split on commas outside quotes, "" inside quotes
/// is a quote, CRLF ends a record.
std::vector<std::vector<std::string>> parseCsv(const std::string& body) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (quoted) {
      if (c == '"' && i + 1 < body.size() && body[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "quote inside an unquoted field";
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      EXPECT_NE(c, '\n') << "bare LF outside quotes";
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote";
  EXPECT_TRUE(field.empty() && record.empty()) << "last record without CRLF";
  return records;
}

TEST(BenchReportCsv, OneRowPerRunWithQuoting) {
  BenchReport report = sweepReport();
  report.runs[1].target.model = "/models/a,b \"quoted\".onnx";
  report.runs[2].warnings = {"first", "second\nline"};
  const fs::path file = outDir() / "sweep.csv";
  writeCsv(file, report);
  const std::string body = readFile(file);
  expectContains(body, "\"/models/a,b \"\"quoted\"\".onnx\"");
  const auto records = parseCsv(body);
  ASSERT_EQ(records.size(), report.runs.size() + 1);
  const std::vector<std::string>& header = records[0];
  for (const auto& record : records) EXPECT_EQ(record.size(), header.size());
  // Fixed columns first, in the documented order; the point keys last.
  const std::vector<std::string> expectedStart = {
      "start_time", "kind",   "index",  "label", "engine",  "engine_version",
      "model",      "device", "inputs", "batch", "threads", "mode"};
  ASSERT_GE(header.size(), expectedStart.size() + 2);
  EXPECT_TRUE(std::equal(expectedStart.begin(), expectedStart.end(), header.begin()));
  EXPECT_EQ(header[header.size() - 2], "point.batch");
  EXPECT_EQ(header.back(), "point.threads");
  EXPECT_EQ(header[header.size() - 3], "timed_region");
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  EXPECT_EQ(records[2][column("model")], report.runs[1].target.model);
  EXPECT_EQ(records[3][column("warnings")], "first; second\nline");
  EXPECT_EQ(records[4][column("point.threads")], "2");
  EXPECT_EQ(records[4][column("point.batch")], "8");
  EXPECT_EQ(records[4][column("stable")], "false");
  EXPECT_EQ(std::stod(records[4][column("throughput")]), report.runs[3].throughput);
  EXPECT_EQ(std::stod(records[4][column("latency_p99_ms")]), report.runs[3].latency.p99);
  EXPECT_EQ(records[1][column("offered_rate")], "") << "closed loop";
  EXPECT_EQ(records[1][column("kind")], "sweep");
}

TEST(BenchReportCsv, SameColumnsWithoutPoints) {
  const fs::path file = outDir() / "compare.csv";
  writeCsv(file, compareReport());
  const auto records = parseCsv(readFile(file));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].back(), "timed_region");
  const std::size_t ratio = static_cast<std::size_t>(
      std::find(records[0].begin(), records[0].end(), "throughput_ratio_vs_first") -
      records[0].begin());
  ASSERT_LT(ratio, records[0].size());
  EXPECT_EQ(records[2][ratio], "2");
  EXPECT_EQ(records[3][ratio], "0.5");
}

// ---- HTML

void expectSelfContained(const std::string& html) {
  for (const char* banned : {"http://", "https://", "<script", "<link", "@import", "url("})
    EXPECT_EQ(html.find(banned), std::string::npos) << "found " << banned;
  expectContains(html, "<!DOCTYPE html>");
  expectContains(html, "<style>");
  EXPECT_NE(html.rfind("</html>"), std::string::npos);
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

TEST(BenchReportHtml, SingleIsSelfContainedWithPlots) {
  BenchReport report = singleReport();
  report.runs[0].label = "<b>&";
  report.runs[0].target.model = "/models/<b>&\"x\".onnx";
  const fs::path file = outDir() / "single.html";
  writeHtml(file, report);
  const std::string html = readFile(file);
  expectSelfContained(html);
  // Latency histogram, throughput over time, memory: one <svg> each.
  EXPECT_EQ(count(html, "<svg"), 3u);
  EXPECT_EQ(count(html, "</svg>"), 3u);
  expectContains(html, "Latency distribution");
  expectContains(html, "Throughput over time");
  expectContains(html, "p99.9 ");
  expectContains(html, "latency (ms, log scale)");
  expectContains(html, "inferences/s");
  // Escaped everywhere.
  EXPECT_EQ(html.find("<b>&"), std::string::npos);
  expectContains(html, "&lt;b&gt;&amp;");
  expectContains(html, "/models/&lt;b&gt;&amp;&quot;x&quot;.onnx");
  // The figures of the text report.
  expectContains(html, "123.45");
  expectContains(html, "493.80");
  expectContains(html, "intraOpNumThreads");
  expectContains(html, "oversubscribed");
}

TEST(BenchReportHtml, CompareHasTheTableAndALegend) {
  BenchReport report = compareReport();
  report.runs[2].label = "<b>&";
  const fs::path file = outDir() / "compare.html";
  writeHtml(file, report);
  const std::string html = readFile(file);
  expectSelfContained(html);
  expectContains(html, "2.00x");
  expectContains(html, "baseline");
  expectContains(html, "class=\"legend\"");
  // A histogram per run, throughput over time, memory.
  EXPECT_EQ(count(html, "<svg"), 5u);
  EXPECT_EQ(html.find("<b>&"), std::string::npos);
  expectContains(html, "&lt;b&gt;&amp;");
}

TEST(BenchReportHtml, SweepAndTuneHaveTheTradeoffPlot) {
  for (const BenchReport& report : {sweepReport(), tuneReport()}) {
    const bool tune = report.kind == BenchReport::Kind::Tune;
    const fs::path file = outDir() / (tune ? "tune.html" : "sweep.html");
    writeHtml(file, report);
    const std::string html = readFile(file);
    expectSelfContained(html);
    expectContains(html, "Throughput vs p99 latency");
    expectContains(html, "p99 latency (ms)");
    expectContains(html, "throughput (items/s)");
    // The trade-off, 4 histograms, throughput over time, memory.
    EXPECT_EQ(count(html, "<svg"), 7u);
    expectContains(html, "#4 batch=8 threads=2");
    if (tune) {
      expectContains(html, "target p99 ≤ 100.000 ms");
      expectContains(html, "-t 2 --batch 8 -O intraOpNumThreads=1");
      expectContains(html, "<tr class=\"best\">");
      expectContains(html, "<tr class=\"default\">");
    }
  }
}

TEST(BenchReportHtml, NoSamplesStillRenders) {
  BenchReport report = singleReport();
  report.runs[0].samplesMs.clear();
  report.runs[0].completionSeconds.clear();
  report.runs[0].rss.clear();
  const fs::path file = outDir() / "empty.html";
  writeHtml(file, report);
  const std::string html = readFile(file);
  expectSelfContained(html);
  expectContains(html, "No latency samples were recorded.");
  EXPECT_EQ(count(html, "<svg"), 0u);
}

// ---- errors

TEST(BenchReportFiles, WriteErrorsNameTheFile) {
  const fs::path missing = outDir() / "no-such-dir" / "report";
  const BenchReport report = singleReport();
  for (const auto& [what, write] :
       std::vector<std::pair<std::string, std::function<void(const fs::path&)>>>{
           {"JSON report", [&](const fs::path& f) { writeJson(f, report); }},
           {"CSV report", [&](const fs::path& f) { writeCsv(f, report); }},
           {"HTML report", [&](const fs::path& f) { writeHtml(f, report); }}}) {
    test::expectError([&] { write(missing); }, ErrorCode::InvalidArgument,
                      {what, missing.string(), "cannot create"});
  }
}

}  // namespace
