// The CSV report: RFC 4180 (CRLF line ends, fields quoted when they hold a
// comma, quote, CR or LF). Fixed columns first, in a fixed order, so files
// from different runs line up; the sweep/tune point keys follow as
// "point.<key>" columns. Numbers are written exactly (shortest round trip).
#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "report.hpp"
#include "report_util.hpp"

namespace polyinfer::bench {

namespace {

std::string csvField(std::string_view text) {
  // Leading/trailing spaces are quoted too: some readers trim unquoted ones.
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string num(double value) { return detail::fmtExact(value); }

std::string optionalNum(const std::optional<double>& value) {
  return value ? num(*value) : std::string();
}

/// The fixed columns of one run, in their documented order (the header is
/// the names, taken from any run).
std::vector<std::pair<const char*, std::string>> fixedCells(const BenchReport& r,
                                                            const RunResult& run,
                                                            std::size_t index) {
  const bool open = run.mode == LoopMode::Open;
  const std::vector<double>& perThread = run.perThreadThroughput;
  const auto [lo, hi] = std::minmax_element(perThread.begin(), perThread.end());
  const bool compare = r.kind == BenchReport::Kind::Compare && !r.runs.empty();
  const detail::VsFirst vs = compare ? detail::vsFirst(run, r.runs.front()) : detail::VsFirst{};
  const LatencySummary& l = run.latency;
  return {
      {"start_time", r.startTime},
      {"kind", std::string(detail::kindName(r.kind))},
      {"index", std::to_string(index)},
      {"label", run.label},
      {"engine", run.target.engineName},
      {"engine_version", run.target.engineVersion},
      {"model", run.target.model},
      {"device", run.target.device},
      {"inputs", detail::joined(run.target.inputs, "; ")},
      {"batch", std::to_string(run.target.batch)},
      {"threads", std::to_string(run.threads)},
      {"mode", std::string(detail::modeName(run.mode))},
      {"arrival", open ? std::string(detail::arrivalName(run.arrival)) : ""},
      {"offered_rate", open ? num(run.offeredRate) : ""},
      {"achieved_rate", open ? num(run.achievedRate) : ""},
      {"late", open ? std::to_string(run.late) : ""},
      {"missed", open ? std::to_string(run.missed) : ""},
      {"stop_reason", run.stopReason},
      {"warmup_iterations_per_thread", std::to_string(run.warmupIterationsPerThread)},
      {"iterations", std::to_string(run.iterations)},
      {"rejected", std::to_string(run.rejected)},
      {"rejected_rate", num(run.rejectedRate)},
      {"wall_s", num(run.wallSeconds)},
      {"throughput", num(run.throughput)},
      {"items_per_second", num(detail::itemsPerSecond(run))},
      {"latency_min_ms", num(l.min)},
      {"latency_mean_ms", num(l.mean)},
      {"latency_p50_ms", num(l.p50)},
      {"latency_p90_ms", num(l.p90)},
      {"latency_p99_ms", num(l.p99)},
      {"latency_p999_ms", num(l.p999)},
      {"latency_max_ms", num(l.max)},
      {"latency_stddev_ms", num(l.stddev)},
      {"per_thread_throughput_min", perThread.empty() ? "" : num(*lo)},
      {"per_thread_throughput_max", perThread.empty() ? "" : num(*hi)},
      {"load_ms", num(run.loadMs)},
      {"first_inference_ms", num(run.firstInferenceMs)},
      {"rss_base_mb", num(run.rssBaseMiB)},
      {"rss_after_load_mb", num(run.rssAfterLoadMiB)},
      {"rss_peak_mb", num(run.rssPeakMiB)},
      {"rss_steady_mb", num(run.rssSteadyMiB)},
      {"cpu_seconds", num(run.cpuSeconds)},
      {"cpu_util", num(run.cpuUtil)},
      {"stable", run.stable ? "true" : "false"},
      {"stability_tolerance_pct", num(run.stabilityTolerancePct)},
      {"throughput_spread_pct", num(run.throughputSpreadPct)},
      {"p50_spread_pct", num(run.p50SpreadPct)},
      {"max_abs_diff_vs_first", optionalNum(run.maxAbsDiffVsFirst)},
      {"throughput_ratio_vs_first", optionalNum(vs.throughput)},
      {"p50_ratio_vs_first", optionalNum(vs.p50)},
      {"p99_ratio_vs_first", optionalNum(vs.p99)},
      {"tune_best", r.tune && r.tune->best && *r.tune->best == index ? "true" : ""},
      {"warnings", detail::joined(run.warnings, "; ")},
      {"error", run.error},
      {"timed_region", run.timedRegion},
  };
}

}  // namespace

void writeCsv(const std::filesystem::path& file, const BenchReport& report) {
  const std::vector<std::string> keys = detail::pointKeys(report);
  std::string out;
  const auto endRecord = [&] {
    out.back() = '\r';  // the last field's comma becomes CRLF
    out += '\n';
  };
  for (const auto& [name, value] : fixedCells(report, RunResult{}, 0))
    out += std::string(name) + ",";
  for (const std::string& key : keys) out += csvField("point." + key) + ",";
  endRecord();
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    for (const auto& [name, value] : fixedCells(report, run, i)) out += csvField(value) + ",";
    for (const std::string& key : keys) {
      const auto found = run.point.find(key);
      out += csvField(found == run.point.end() ? "" : found->second) + ",";
    }
    endRecord();
  }
  detail::writeWholeFile(file, "CSV report", out);
}

}  // namespace polyinfer::bench
