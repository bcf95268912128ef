// polyinfer bench after parsing: the checks that need no model, the report's
// header (machine, command line, time), the choice between one run in this
// process (bench_single.cpp: a local model, or a served one with --url) and a
// plan (bench_plan.cpp), and writing the reports.
#include "bench_flow.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <system_error>

#include "bench_internal.hpp"
#include "exit_codes.hpp"
#include "input_spec.hpp"
#include "model_inputs.hpp"
#include "polyinfer/version.hpp"
#include "predict_report.hpp"

namespace polyinfer::cli {
namespace fs = std::filesystem;
using bench::BenchReport;
using bench::RunResult;

namespace benchflow {

namespace {

std::string isoTimeUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string cpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "unknown";
}

bench::MachineInfo machineInfo() {
  const ThreadBudget budget = ThreadBudget::detect();
  bench::MachineInfo m;
  m.cpuModel = cpuModel();
  m.usableCores = budget.usableCores();
  m.coresSource = budget.source();
  m.quotaCores = budget.quotaCores();
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) m.hostname = host;
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  return m;
}

}  // namespace

BenchReport newReport(const std::string& commandLineText) {
  BenchReport report;
  report.polyinferVersion = kVersion;
  report.commandLine = commandLineText;
  report.startTime = isoTimeUtc();
  report.machine = machineInfo();
  return report;
}

}  // namespace benchflow

namespace {

/// argv as one shell-readable line.
std::string commandLine(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=,:+@%") == std::string::npos;
    if (!plain) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    line += (i ? " " : "") + arg;
  }
  return line;
}

/// --url and the flags that go with it: the server owns the model, the
/// engine and its settings, so the flags that choose them here are refused.
void checkRemoteUsage(const BenchArgs& args) {
  if (args.url.empty()) {
    if (!args.modelVersion.empty())
      throw Error(ErrorCode::InvalidArgument,
                  "--model-version needs --url (it picks a version of a served model)");
    if (args.jsonTensors)
      throw Error(ErrorCode::InvalidArgument,
                  "--json-tensors needs --url (it sets how tensors travel to a server)");
    return;
  }
  const auto refuse = [](const std::string& flag, const std::string& why) {
    return Error(ErrorCode::InvalidArgument,
                 "--url cannot be combined with " + flag + ": " + why);
  };
  if (!args.models.empty())
    throw refuse("-u/--model-url", "the model is the server's; name it with -n MODEL");
  if (!args.modelPath.empty())
    throw refuse("-p/--model-path", "the model is the server's; name it with -n MODEL");
  if (!args.engines.empty())
    throw refuse("-e/--engine", "the server runs the model on the engine its model config names");
  if (!args.options.empty())
    throw refuse("-O/--model-options",
                 "engine options are set in the server's model config (parameters)");
  if (args.deviceGiven)
    throw refuse("--device", "the device is set in the server's model config");
  if (args.intraOpThreads != 0)
    throw refuse("--intra-op-threads",
                 "the server's model config sets intra_op_threads (and instance_count)");
  if (args.interOpThreads != 0)
    throw refuse("--inter-op-threads", "inter-op threads are set in the server's model config");
  if (!args.sweep.empty())
    throw refuse("--sweep", "run one bench per server configuration instead");
  if (args.tune) throw refuse("--tune", "run one bench per server configuration instead");
  if (args.profile > 0)
    throw refuse("--profile",
                 "the profiler runs inside the engine's process; profile the model locally "
                 "(polyinfer bench -u FILE --profile, or polyinfer predict --profile)");
  if (args.modelName.empty())
    throw Error(ErrorCode::InvalidArgument,
                "--url needs -n MODEL: the name of the served model (as the server's model "
                "metadata names it: GET /v2/models/MODEL over HTTP, ModelMetadata over gRPC)");
}

/// Bad usage fails before anything runs.
void checkUsage(const BenchArgs& args) {
  checkRemoteUsage(args);
  if (!args.duration.empty()) benchflow::parseDuration(args.duration);
  if (!args.intRange.empty()) parseIntRange(args.intRange);
  if (args.shapesGiven) parseShapeSpecs(args.shapes);
}

/// Checks of the flags that only the parent (not a child run) makes.
void checkPlanUsage(const BenchArgs& args) {
  if (args.maxP99 > 0 && !args.tune)
    throw Error(ErrorCode::InvalidArgument, "--max-p99 needs --tune");
  if (args.profile > 0 && (args.engines.size() > 1 || !args.sweep.empty() || args.tune))
    throw Error(ErrorCode::InvalidArgument,
                "--profile profiles a single run: one engine, no --sweep or --tune (profile each "
                "engine on its own, or with `polyinfer predict --profile`)");
  if (args.tune && args.rate > 0)
    throw Error(ErrorCode::InvalidArgument, "--tune searches closed-loop throughput; drop --rate");
}

void writeReports(const BenchArgs& args, const BenchReport& report) {
  if (!args.quiet) bench::writeText(std::cout, report);
  if (!args.json.empty()) bench::writeJson(args.json, report, args.jsonSamples);
  if (!args.csv.empty()) bench::writeCsv(args.csv, report);
  if (!args.html.empty()) bench::writeHtml(args.html, report);
  if (!args.outputDir.empty()) {
    std::error_code ec;
    fs::create_directories(args.outputDir, ec);
    if (ec)
      throw Error(ErrorCode::InvalidArgument,
                  "-o '" + args.outputDir + "': cannot create the directory: " + ec.message());
    const fs::path dir(args.outputDir);
    bench::writeJson(dir / "bench.json", report, args.jsonSamples);
    bench::writeCsv(dir / "bench.csv", report);
    bench::writeHtml(dir / "bench.html", report);
  }
}

}  // namespace

int benchMain(const BenchArgs& args, int argc, char** argv) {
  using namespace benchflow;
  const std::string line = commandLine(argc, argv);
  checkUsage(args);
  if (!args.childResult.empty()) return childMain(args, line);
  checkPlanUsage(args);

  BenchReport report = newReport(line);
  BenchArgs effective = args;
  if (args.tune && !args.minSecondsGiven) effective.minSeconds = 3;
  const bool plan = args.engines.size() > 1 || !args.sweep.empty() || args.tune;
  const bool interactive = !args.quiet && isatty(STDOUT_FILENO);
  std::optional<OperatorProfile> profile;
  std::optional<Error> profileError;
  ProgressLine progress(interactive);
  int code = kExitOk;
  if (plan) {
    code = planMain(effective, report, progress);
  } else {
    report.kind = BenchReport::Kind::Single;
    SingleOutcome outcome = args.url.empty() ? runSingle(effective, specFromArgs(args), interactive)
                                             : runRemote(effective, interactive);
    if (outcome.result.stopReason == "failed") code = kExitFailure;
    report.runs.push_back(std::move(outcome.result));
    profile = std::move(outcome.profile);
    profileError = std::move(outcome.profileError);
  }
  writeReports(args, report);
  if (profile) {
    if (!args.quiet) {
      std::cout << "\n";
      printProfile(*profile, std::cout);
    }
    if (!args.profileJson.empty()) writeProfileJson(*profile, args.profileJson);
  }
  if (profileError) {
    printError(profileError->code(), std::string("--profile: ") + profileError->what());
    if (code == kExitOk) code = exitCodeFor(profileError->code());
  }
  for (const RunResult& r : report.runs)
    if (r.stopReason == "failed")
      printError(r.errorCode.empty() ? std::string_view("EngineFailure") : std::string_view(r.errorCode),
                 r.label + ": " + r.error);
  return code;
}

}  // namespace polyinfer::cli
