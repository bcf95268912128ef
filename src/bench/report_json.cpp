// The JSON report (schema in docs/bench-json.md). Built as ordered_json so
// the file reads in the documented order; toJson hands back a plain json.
#include <cmath>

#include "report.hpp"
#include "report_util.hpp"

namespace polyinfer::bench {

namespace {

using ojson = nlohmann::ordered_json;

/// A finite number, or null: JSON has no NaN or infinity.
ojson number(double value) { return std::isfinite(value) ? ojson(value) : ojson(nullptr); }

ojson optionalNumber(const std::optional<double>& value) {
  return value ? number(*value) : ojson(nullptr);
}

ojson latencyJson(const LatencySummary& l) {
  ojson j = ojson::object();
  j["count"] = l.count;
  j["min"] = number(l.min);
  j["mean"] = number(l.mean);
  j["p50"] = number(l.p50);
  j["p90"] = number(l.p90);
  j["p99"] = number(l.p99);
  j["p999"] = number(l.p999);
  j["max"] = number(l.max);
  j["stddev"] = number(l.stddev);
  return j;
}

ojson engineJson(const TargetInfo& t) {
  return ojson{{"name", t.engineName}, {"version", t.engineVersion}};
}

ojson errorJson(const RunResult& run) {
  return run.error.empty() ? ojson(nullptr) : ojson(run.error);
}

ojson numbers(const std::vector<double>& values) {
  ojson j = ojson::array();
  for (double v : values) j.push_back(number(v));
  return j;
}

ojson runJson(const BenchReport& report, std::size_t index, bool withSamples) {
  const RunResult& run = report.runs[index];
  const TargetInfo& t = run.target;
  ojson j = ojson::object();
  j["index"] = index;
  j["label"] = run.label;
  ojson point = ojson::object();
  for (const auto& [key, value] : run.point) point[key] = value;
  j["point"] = std::move(point);
  j["engine"] = engineJson(t);
  j["model"] = t.model;
  j["device"] = t.device;
  j["inputs"] = t.inputs;
  j["batch"] = t.batch;
  j["threads"] = run.threads;
  j["mode"] = detail::modeName(run.mode);
  j["timed_region"] = run.timedRegion;
  j["stop_reason"] = run.stopReason;
  j["warmup_iterations_per_thread"] = run.warmupIterationsPerThread;
  j["iterations"] = run.iterations;
  j["rejected"] = run.rejected;
  j["rejected_rate"] = number(run.rejectedRate);
  j["wall_s"] = number(run.wallSeconds);
  j["throughput"] = number(run.throughput);
  j["items_per_second"] = number(detail::itemsPerSecond(run));
  j["latency_ms"] = latencyJson(run.latency);
  j["per_thread_throughput"] = numbers(run.perThreadThroughput);
  j["load_ms"] = number(run.loadMs);
  j["first_inference_ms"] = number(run.firstInferenceMs);
  j["stable"] = run.stable;
  ojson windows = ojson::array();
  for (const Window& w : run.windows)
    windows.push_back(ojson{{"start_s", number(w.startSeconds)},
                            {"end_s", number(w.endSeconds)},
                            {"iterations", w.iterations},
                            {"throughput", number(w.throughput)},
                            {"p50_ms", number(w.p50)}});
  j["stability"] = ojson{{"tolerance_pct", number(run.stabilityTolerancePct)},
                         {"throughput_spread_pct", number(run.throughputSpreadPct)},
                         {"p50_spread_pct", number(run.p50SpreadPct)},
                         {"windows", std::move(windows)}};
  j["rss_mb"] = ojson{{"base", number(run.rssBaseMiB)},
                      {"after_load", number(run.rssAfterLoadMiB)},
                      {"peak", number(run.rssPeakMiB)},
                      {"steady", number(run.rssSteadyMiB)}};
  j["cpu_seconds"] = number(run.cpuSeconds);
  j["cpu_util"] = number(run.cpuUtil);
  j["open_loop"] = run.mode == LoopMode::Open ? ojson{{"arrival", detail::arrivalName(run.arrival)},
                                                      {"offered_rate", number(run.offeredRate)},
                                                      {"achieved_rate", number(run.achievedRate)},
                                                      {"late", run.late},
                               {"missed", run.missed}}
                                              : ojson(nullptr);
  // The baseline has nothing to differ from; its diff is null like a
  // missing one, and `vs_first` says which run is the baseline.
  j["max_abs_diff_vs_first"] = optionalNumber(run.maxAbsDiffVsFirst);
  if (report.kind == BenchReport::Kind::Compare) {
    const detail::VsFirst r = detail::vsFirst(run, report.runs.front());
    j["vs_first"] = ojson{{"throughput_ratio", optionalNumber(r.throughput)},
                          {"p50_ratio", optionalNumber(r.p50)},
                          {"p99_ratio", optionalNumber(r.p99)}};
  } else {
    j["vs_first"] = nullptr;
  }
  ojson config = ojson::array();
  for (const ConfigValue& c : t.config)
    config.push_back(
        ojson{{"key", c.key}, {"value", c.value}, {"source", c.source}, {"detail", c.detail}});
  j["config"] = std::move(config);
  j["warnings"] = run.warnings;
  j["error"] = errorJson(run);
  j["error_code"] = run.errorCode.empty() ? ojson(nullptr) : ojson(run.errorCode);
  if (withSamples) {
    j["samples_ms"] = numbers(run.samplesMs);
    j["completion_s"] = numbers(run.completionSeconds);
    ojson rss = ojson::array();
    for (const MemorySample& m : run.rss)
      rss.push_back(ojson{{"s", number(m.seconds)}, {"mb", number(m.rssMiB)}, {"phase", m.phase}});
    j["rss_samples"] = std::move(rss);
  }
  return j;
}

ojson machineJson(const MachineInfo& m) {
  return ojson{{"cpu_model", m.cpuModel},       {"usable_cores", m.usableCores},
               {"cores_source", m.coresSource}, {"quota_cores", optionalNumber(m.quotaCores)},
               {"hostname", m.hostname},        {"kernel", m.kernel}};
}

ojson tuneJson(const BenchReport& report) {
  if (!report.tune) return nullptr;
  const TuneOutcome& tune = *report.tune;
  const bool haveBest = tune.best && *tune.best < report.runs.size();
  const std::optional<bool> met = detail::tuneMetTarget(report);
  return ojson{
      {"max_p99_ms", optionalNumber(tune.maxP99Ms)},
      {"best", haveBest ? ojson(*tune.best) : ojson(nullptr)},
      {"best_point", haveBest ? ojson(detail::pointText(report.runs[*tune.best])) : ojson(nullptr)},
      {"met_target", met ? ojson(*met) : ojson(nullptr)},
      {"default_run", tune.defaultRun},
      {"default_vs_best_pct", number(tune.defaultVsBestPct)},
      {"flags", tune.flags}};
}

ojson reportJson(const BenchReport& report, bool withSamples) {
  ojson j = ojson::object();
  j["schema"] = detail::kSchema;
  j["kind"] = detail::kindName(report.kind);
  j["polyinfer_version"] = report.polyinferVersion;
  j["command_line"] = report.commandLine;
  j["start_time"] = report.startTime;
  j["machine"] = machineJson(report.machine);
  ojson runs = ojson::array();
  for (std::size_t i = 0; i < report.runs.size(); ++i)
    runs.push_back(runJson(report, i, withSamples));
  if (report.kind == BenchReport::Kind::Single && !report.runs.empty()) {
    // The headline of a single run at the top, so `jq .throughput` works.
    const ojson& first = runs.front();
    for (const char* key :
         {"engine", "model", "device", "batch", "threads", "iterations", "rejected",
          "rejected_rate", "wall_s", "throughput", "items_per_second", "latency_ms", "stable",
          "stop_reason", "error", "error_code"})
      j[key] = first[key];
  }
  j["runs"] = std::move(runs);
  j["tune"] = tuneJson(report);
  j["warnings"] = report.warnings;
  return j;
}

}  // namespace

nlohmann::json toJson(const BenchReport& report, bool withSamples) {
  return nlohmann::json(reportJson(report, withSamples));
}

void writeJson(const std::filesystem::path& file, const BenchReport& report, bool withSamples) {
  // Invalid UTF-8 (a path from a foreign locale) becomes U+FFFD rather than
  // losing the whole report.
  detail::writeWholeFile(
      file, "JSON report",
      reportJson(report, withSamples).dump(2, ' ', false, ojson::error_handler_t::replace) + "\n");
}

}  // namespace polyinfer::bench
