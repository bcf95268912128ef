// Reading a bench JSON document (docs/bench-json.md) back into a BenchReport:
// the inverse of report_json.cpp for every field a report needs. Derived
// fields the writer computes from others (items_per_second, vs_first,
// best_point, met_target, the single-run headline copy) are recomputed by
// the writers again and are not read.
#include <fstream>
#include <iterator>

#include "polyinfer/error.hpp"
#include "report.hpp"

namespace polyinfer::bench {

namespace {

using json = nlohmann::json;

/// A number, or 0 for null (the writer's NaN / infinity).
double num(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

int64_t integer(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<double> optionalNum(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::vector<double> numbers(const json& j, const char* key) {
  std::vector<double> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  out.reserve(it->size());
  for (const json& v : *it) out.push_back(v.is_number() ? v.get<double>() : 0.0);
  return out;
}

std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

const json& object(const json& j, const char* key) {
  static const json empty = json::object();
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

RunResult readRun(const json& j) {
  RunResult r;
  r.label = text(j, "label");
  for (const auto& [key, value] : object(j, "point").items())
    r.point[key] = value.is_string() ? value.get<std::string>() : value.dump();
  const json& engine = object(j, "engine");
  r.target.engineName = text(engine, "name");
  r.target.engineVersion = text(engine, "version");
  r.target.model = text(j, "model");
  r.target.device = text(j, "device");
  r.target.inputs = strings(j, "inputs");
  r.target.batch = std::max<int64_t>(1, integer(j, "batch"));
  if (const auto it = j.find("config"); it != j.end() && it->is_array())
    for (const json& c : *it)
      r.target.config.push_back({text(c, "key"), text(c, "value"), text(c, "source"), text(c, "detail")});
  r.threads = static_cast<int>(integer(j, "threads"));
  r.mode = text(j, "mode") == "open" ? LoopMode::Open : LoopMode::Closed;
  r.timedRegion = text(j, "timed_region");
  r.stopReason = text(j, "stop_reason");
  r.warmupIterationsPerThread = integer(j, "warmup_iterations_per_thread");
  r.iterations = integer(j, "iterations");
  r.rejected = integer(j, "rejected");  // absent (0) in reports written before it existed
  r.rejectedRate = num(j, "rejected_rate");
  r.wallSeconds = num(j, "wall_s");
  r.throughput = num(j, "throughput");
  r.itemsPerSecond = num(j, "items_per_second");
  const json& latency = object(j, "latency_ms");
  r.latency.count = integer(latency, "count");
  r.latency.min = num(latency, "min");
  r.latency.mean = num(latency, "mean");
  r.latency.p50 = num(latency, "p50");
  r.latency.p90 = num(latency, "p90");
  r.latency.p99 = num(latency, "p99");
  r.latency.p999 = num(latency, "p999");
  r.latency.max = num(latency, "max");
  r.latency.stddev = num(latency, "stddev");
  r.perThreadThroughput = numbers(j, "per_thread_throughput");
  r.loadMs = num(j, "load_ms");
  r.firstInferenceMs = num(j, "first_inference_ms");
  r.stable = j.value("stable", false);
  const json& stability = object(j, "stability");
  r.stabilityTolerancePct = num(stability, "tolerance_pct");
  r.throughputSpreadPct = num(stability, "throughput_spread_pct");
  r.p50SpreadPct = num(stability, "p50_spread_pct");
  if (const auto it = stability.find("windows"); it != stability.end() && it->is_array())
    for (const json& w : *it)
      r.windows.push_back({num(w, "start_s"), num(w, "end_s"), integer(w, "iterations"),
                           num(w, "throughput"), num(w, "p50_ms")});
  const json& rss = object(j, "rss_mb");
  r.rssBaseMiB = num(rss, "base");
  r.rssAfterLoadMiB = num(rss, "after_load");
  r.rssPeakMiB = num(rss, "peak");
  r.rssSteadyMiB = num(rss, "steady");
  r.cpuSeconds = num(j, "cpu_seconds");
  r.cpuUtil = num(j, "cpu_util");
  const json& open = object(j, "open_loop");
  r.arrival = text(open, "arrival") == "poisson" ? Arrival::Poisson : Arrival::Constant;
  r.offeredRate = num(open, "offered_rate");
  r.achievedRate = num(open, "achieved_rate");
  r.late = integer(open, "late");
  r.missed = integer(open, "missed");
  r.maxAbsDiffVsFirst = optionalNum(j, "max_abs_diff_vs_first");
  r.samplesMs = numbers(j, "samples_ms");
  r.completionSeconds = numbers(j, "completion_s");
  if (const auto it = j.find("rss_samples"); it != j.end() && it->is_array())
    for (const json& m : *it) r.rss.push_back({num(m, "s"), num(m, "mb"), text(m, "phase")});
  r.warnings = strings(j, "warnings");
  r.error = text(j, "error");
  r.errorCode = text(j, "error_code");
  return r;
}

}  // namespace

BenchReport readJson(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::NotFound, "bench JSON '" + file.string() + "': cannot open the file");
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json doc = json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || text(doc, "schema") != "polyinfer-bench/1")
    throw Error(ErrorCode::InvalidArgument,
                "'" + file.string() + "': expected a polyinfer bench JSON document (\"schema\": "
                "\"polyinfer-bench/1\"), got " +
                    (doc.is_discarded() ? std::string("text that is not JSON")
                                        : "schema '" + text(doc, "schema") + "'"));
  BenchReport report;
  const std::string kind = text(doc, "kind");
  report.kind = kind == "compare" ? BenchReport::Kind::Compare
                : kind == "sweep" ? BenchReport::Kind::Sweep
                : kind == "tune"  ? BenchReport::Kind::Tune
                                  : BenchReport::Kind::Single;
  report.polyinferVersion = text(doc, "polyinfer_version");
  report.commandLine = text(doc, "command_line");
  report.startTime = text(doc, "start_time");
  const json& machine = object(doc, "machine");
  report.machine.cpuModel = text(machine, "cpu_model");
  report.machine.usableCores = static_cast<int>(integer(machine, "usable_cores"));
  report.machine.coresSource = text(machine, "cores_source");
  report.machine.quotaCores = optionalNum(machine, "quota_cores");
  report.machine.hostname = text(machine, "hostname");
  report.machine.kernel = text(machine, "kernel");
  if (const auto it = doc.find("runs"); it != doc.end() && it->is_array())
    for (const json& run : *it) report.runs.push_back(readRun(run));
  if (const auto it = doc.find("tune"); it != doc.end() && it->is_object()) {
    TuneOutcome tune;
    tune.maxP99Ms = optionalNum(*it, "max_p99_ms");
    if (const auto best = it->find("best"); best != it->end() && best->is_number())
      tune.best = best->get<std::size_t>();
    tune.defaultRun = static_cast<std::size_t>(integer(*it, "default_run"));
    tune.defaultVsBestPct = num(*it, "default_vs_best_pct");
    tune.flags = text(*it, "flags");
    report.tune = tune;
  }
  report.warnings = strings(doc, "warnings");
  return report;
}

}  // namespace polyinfer::bench
