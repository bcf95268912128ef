// polyinfer bench, run as a separate process (tests/support/cli_fixture.hpp):
// the JSON it writes, open loop, engines side by side, sweeps (inter-op
// threads on every engine), usage errors and profiles. Tests of the tool use
// the first engine that reads the mlp; tests that concern engines run on
// every engine the registry finds. No engine, format or extension is named here.
#include <algorithm>
#include <string>
#include <vector>

#include "cli_fixture.hpp"

namespace polyinfer {
namespace {

namespace fs = std::filesystem;
using namespace clitest;
using ::testing::HasSubstr;
using ::testing::Not;

// ------------------------------------------------------------------ bench

TEST_P(CliEngineTest, BenchRunsAndWritesTheDocumentedJson) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const fs::path json = dir_ / "bench.json";
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-c", "40", "-w", "2",
                           "-t", "2", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // Not a terminal: a report, and no progress line.
  EXPECT_THAT(r.out, HasSubstr("throughput"));
  EXPECT_THAT(r.out, Not(HasSubstr("\r")));
  const nlohmann::json j = readJsonFile(json);
  ASSERT_TRUE(j.is_object()) << slurp(json);
  EXPECT_EQ(j["schema"], "polyinfer-bench/1");
  EXPECT_EQ(j["iterations"], 40);  // -c: exactly 40 timed calls over both threads
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["engine"]["name"], engine);
  EXPECT_GT(j["throughput"].get<double>(), 0);
  for (const char* key : {"min", "mean", "p50", "p90", "p99", "p999", "max"})
    EXPECT_TRUE(j["latency_ms"][key].is_number()) << key;
  EXPECT_LE(j["latency_ms"]["p50"].get<double>(), j["latency_ms"]["p99"].get<double>());
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_EQ(run0["stop_reason"], "iterations");
  EXPECT_EQ(run0["latency_ms"]["count"], 40);
  for (const char* key : {"base", "after_load", "peak"})
    EXPECT_GT(run0["rss_mb"][key].get<double>(), 0) << key;
  EXPECT_TRUE(run0["cpu_util"].is_number());
  EXPECT_TRUE(run0["stable"].is_boolean());
  EXPECT_GT(run0["load_ms"].get<double>(), 0);
  EXPECT_GT(run0["first_inference_ms"].get<double>(), 0);
  // Thread settings are never forced: intra-op defaults to cores / workers,
  // reported with that reason and its source under the engine's own key.
  const ThreadDefaults defaults = ThreadBudget::detect().defaultsFor(2);
  bool intraReported = false;
  for (const auto& entry : run0["config"])
    if (entry["detail"].get<std::string>().find(defaults.reason) != std::string::npos) {
      intraReported = true;
      EXPECT_EQ(entry["value"], std::to_string(defaults.intraOpThreads)) << entry.dump();
      EXPECT_EQ(entry["source"], "default") << entry.dump();
    }
  EXPECT_TRUE(intraReported) << run0["config"].dump();
}

TEST_F(CliTest, BenchWithMoreThreadsThanCoresWorksAndSaysSo) {
  FIRST_ENGINE_OR_SKIP();
  const int threads = ThreadBudget::detect().usableCores() + 1;
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-c", "30", "-w", "1",
                           "-t", std::to_string(threads)});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("oversubscribed"));
}

TEST_F(CliTest, BenchDurationAndOpenLoop) {
  FIRST_ENGINE_OR_SKIP();
  const fs::path json = dir_ / "open.json";
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-d", "1s", "--rate",
                           "200", "--arrival", "constant", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "");  // --quiet
  const nlohmann::json j = readJsonFile(json);
  const nlohmann::json& run0 = j["runs"][0];
  EXPECT_EQ(run0["mode"], "open");
  EXPECT_EQ(run0["stop_reason"], "duration");
  EXPECT_DOUBLE_EQ(run0["open_loop"]["offered_rate"].get<double>(), 200);
  EXPECT_GT(run0["open_loop"]["achieved_rate"].get<double>(), 0);
}

TEST_F(CliTest, BenchEnginesSideBySide) {
  std::string engines, models, cannot;
  std::vector<std::string> compared;
  for (const std::string& engine : test::builtEngines()) {
    const test::EngineModelFile mlp = test::modelFor("mlp", engine);
    if (!mlp) {
      cannot += "; " + mlp.whyNone;
      continue;
    }
    engines += (compared.empty() ? "" : ",") + engine;
    models += (compared.empty() ? "" : ",") + mlp.file.string();
    compared.push_back(engine);
  }
  if (compared.size() < 2) GTEST_SKIP() << "needs two engines that read the mlp" << cannot;
  const fs::path json = dir_ / "compare.json", csv = dir_ / "compare.csv", html = dir_ / "compare.html";
  const RunResult r = run({"bench", "-e", engines, "-u", models, "-s", "1,16", "-c", "30", "-w", "2",
                           "--json", json.string(), "--csv", csv.string(), "--html", html.string()});
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_EQ(j["kind"], "compare");
  ASSERT_EQ(j["runs"].size(), compared.size());
  for (std::size_t k = 0; k < compared.size(); ++k) {
    SCOPED_TRACE(compared[k]);
    EXPECT_EQ(j["runs"][k]["engine"]["name"], compared[k]);
    if (k == 0) continue;
    // Identical inputs in every run: the outputs agree with the first (parity column).
    ASSERT_TRUE(j["runs"][k]["max_abs_diff_vs_first"].is_number()) << j["runs"][k].dump();
    EXPECT_LT(j["runs"][k]["max_abs_diff_vs_first"].get<double>(), 1e-5);
    EXPECT_TRUE(j["runs"][k]["vs_first"]["throughput_ratio"].is_number());
  }
  // One CSV row per engine after the header.
  const std::string rows = slurp(csv);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), static_cast<long>(compared.size()) + 1) << rows;
  EXPECT_THAT(slurp(html), HasSubstr("<svg"));
}

TEST_F(CliTest, BenchSweepRunsEveryPoint) {
  FIRST_ENGINE_OR_SKIP();
  const fs::path json = dir_ / "sweep.json";
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-c", "20", "-w", "1",
                           "--sweep", "threads=1,2", "intra=1", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_EQ(j["kind"], "sweep");
  ASSERT_EQ(j["runs"].size(), 2u);
  std::vector<std::string> threads;
  for (const auto& run0 : j["runs"]) {
    threads.push_back(run0["point"]["threads"]);
    EXPECT_EQ(run0["point"]["intra"], "1");
    EXPECT_EQ(std::to_string(run0["threads"].get<int>()), run0["point"]["threads"].get<std::string>());
  }
  std::sort(threads.begin(), threads.end());
  EXPECT_EQ(threads, (std::vector<std::string>{"1", "2"}));
}

// Inter-op threads go through Criteria, so a sweep over them runs on every
// engine; one without an inter-op pool reports 1 and says why.
TEST_P(CliEngineTest, BenchSweepOverInterOpThreads) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  const fs::path json = dir_ / "inter.json";
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-c", "10", "-w", "1",
                           "--sweep", "inter=1,2", "-q", "--json", json.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const nlohmann::json j = readJsonFile(json);
  EXPECT_EQ(j["kind"], "sweep");
  ASSERT_EQ(j["runs"].size(), 2u);
  std::vector<std::string> points;
  for (const auto& point : j["runs"]) {
    points.push_back(point["point"]["inter"]);
    EXPECT_EQ(point["engine"]["name"], engine);
    EXPECT_EQ(point["iterations"], 10);
    if (point["point"]["inter"] != "2") continue;
    const auto& config = point["config"];
    EXPECT_TRUE(std::any_of(config.begin(), config.end(), [](const nlohmann::json& entry) {
      return entry["detail"].get<std::string>().find("Criteria::interOpThreads") != std::string::npos;
    })) << config.dump();
  }
  std::sort(points.begin(), points.end());
  EXPECT_EQ(points, (std::vector<std::string>{"1", "2"}));
}

TEST_F(CliTest, BenchBadUsageExits2WithOneLine) {
  FIRST_ENGINE_OR_SKIP();
  expectOneErrorLine(run({"bench", "-u", mlp, "-d", "5x"}), 2);
  expectOneErrorLine(run({"bench", "-u", mlp, "--max-p99", "5"}), 2);
  expectOneErrorLine(run({"bench", "-u", "https://example.com/model"}), 2);
  expectOneErrorLine(run({"bench", "-u", (dir_ / "missing").string()}), 2);
  expectOneErrorLine(run({"bench", "-u", mlp, "--sweep", "threads"}), 2);
  expectOneErrorLine(run({"bench", "-e", engine + "," + engine, "-u", mlp, "--profile", "-c", "5"}), 2);
  const RunResult r =
      run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "--intra-op-threads", "abc"});
  expectOneErrorLine(r, 2);
  EXPECT_THAT(r.err, HasSubstr("abc"));
}

// An engine with a profiler reports operators after the run; one without
// keeps the benchmark's results and exits 1 saying why.
TEST_P(CliEngineTest, BenchProfilesAfterTheRunOrSaysTheEngineCannot) {
  const std::string& engine = GetParam();
  MODEL_OR_SKIP(mlp, "mlp");
  bool canProfile = true;
  try {
    Model::load({.modelPath = mlp, .engine = engine})
        ->newPredictor()
        .profile(test::loadReference("mlp").inputs, 1);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::Unsupported) throw;
    canProfile = false;
  }
  const fs::path json = dir_ / "bench.json", profileJson = dir_ / "profile.json";
  const RunResult r = run({"bench", "-e", engine, "-u", mlp, "-i", dataSet("mlp"), "-c", "5", "-w", "1",
                           "--profile", "3", "--profile-json", profileJson.string(), "--json",
                           json.string()});
  EXPECT_THAT(r.out, HasSubstr("throughput"));
  EXPECT_EQ(readJsonFile(json)["iterations"], 5);
  if (canProfile) {
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("profile: 3 runs with " + engine + "'s profiler"));
    EXPECT_TRUE(fs::exists(profileJson));
  } else {
    expectOneErrorLine(r, 1);
    EXPECT_THAT(r.err, HasSubstr("cannot report per-operator times"));
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, CliEngineTest, ::testing::ValuesIn(test::builtEngines()),
                         [](const auto& info) { return test::testName(info.param); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CliEngineTest);

}  // namespace
}  // namespace polyinfer
