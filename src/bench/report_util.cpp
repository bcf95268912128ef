// Shared pieces of the reports: see report_util.hpp.
#include "report_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "polyinfer/error.hpp"

namespace polyinfer::bench::detail {

std::string_view kindName(BenchReport::Kind kind) {
  switch (kind) {
    case BenchReport::Kind::Single:
      return "single";
    case BenchReport::Kind::Compare:
      return "compare";
    case BenchReport::Kind::Sweep:
      return "sweep";
    case BenchReport::Kind::Tune:
      return "tune";
  }
  return "single";
}

std::string_view modeName(LoopMode mode) { return mode == LoopMode::Open ? "open" : "closed"; }

std::string_view arrivalName(Arrival arrival) {
  return arrival == Arrival::Poisson ? "poisson" : "constant";
}

std::string fmtRate(double perSecond) { return fmt::format("{:.2f}", perSecond); }
std::string fmtMs(double ms) { return fmt::format("{:.3f}", ms); }
std::string fmtMiB(double mib) { return fmt::format("{:.1f}", mib); }
std::string fmtPct(double pct) { return fmt::format("{:.1f}%", pct); }

std::string fmtRatio(std::optional<double> r) {
  return r ? fmt::format("{:.2f}x", *r) : std::string("n/a");
}

std::string fmtDiff(double diff) {
  return diff == 0 ? std::string("0") : fmt::format("{:.3g}", diff);
}

std::string fmtExact(double value) { return fmt::format("{}", value); }

double itemsPerSecond(const RunResult& run) {
  if (run.itemsPerSecond > 0) return run.itemsPerSecond;
  return run.throughput * static_cast<double>(std::max<int64_t>(run.target.batch, 1));
}

std::optional<double> ratio(double a, double b) {
  if (!(b > 0) || !std::isfinite(a)) return std::nullopt;
  return a / b;
}

VsFirst vsFirst(const RunResult& run, const RunResult& first) {
  // Items/s, so engines run at different batch sizes still compare fairly.
  return {ratio(itemsPerSecond(run), itemsPerSecond(first)),
          ratio(run.latency.p50, first.latency.p50), ratio(run.latency.p99, first.latency.p99)};
}

std::vector<std::string> pointKeys(const BenchReport& report) {
  std::vector<std::string> keys;
  for (const RunResult& run : report.runs)
    for (const auto& [key, value] : run.point)
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  return keys;
}

std::string pointText(const RunResult& run) {
  if (run.point.empty()) return run.label.empty() ? run.target.engineName : run.label;
  std::vector<std::string> parts;
  for (const auto& [key, value] : run.point) parts.push_back(key + "=" + value);
  return joined(parts, " ");
}

std::string runTitle(const RunResult& run) {
  std::string title = run.target.engineName;
  if (!run.target.engineVersion.empty()) title += " " + run.target.engineVersion;
  if (!run.label.empty() && run.label != run.target.engineName) title += " · " + run.label;
  return title;
}

std::optional<bool> tuneMetTarget(const BenchReport& report) {
  if (!report.tune || !report.tune->maxP99Ms) return std::nullopt;
  const TuneOutcome& tune = *report.tune;
  if (!tune.best || *tune.best >= report.runs.size()) return false;
  return report.runs[*tune.best].latency.p99 <= *tune.maxP99Ms;
}

bool anyBatched(const BenchReport& report) {
  return std::any_of(report.runs.begin(), report.runs.end(),
                     [](const RunResult& run) { return run.target.batch > 1; });
}

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string text;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += separator;
    text += parts[i];
  }
  return text;
}

// ---- facts

std::vector<Fact> headerFacts(const BenchReport& report) {
  const MachineInfo& m = report.machine;
  std::vector<Fact> facts;
  facts.push_back(
      {"polyinfer", report.polyinferVersion.empty() ? "unknown" : report.polyinferVersion, ""});
  facts.push_back(
      {"started", report.startTime.empty() ? "unknown" : report.startTime + " (UTC)", ""});
  facts.push_back({"command", report.commandLine, ""});
  facts.push_back({"cpu", m.cpuModel.empty() ? "unknown" : m.cpuModel, ""});
  std::string cores = fmt::format("{} usable", m.usableCores);
  if (!m.coresSource.empty()) cores += " (" + m.coresSource + ")";
  cores += m.quotaCores ? fmt::format(" · cgroup quota {:.2f} cores", *m.quotaCores)
                        : std::string(" · no cgroup CPU quota");
  facts.push_back({"cores", cores, ""});
  std::vector<std::string> host;
  if (!m.hostname.empty()) host.push_back(m.hostname);
  if (!m.kernel.empty()) host.push_back(m.kernel);
  if (!host.empty()) facts.push_back({"host", joined(host, " · "), ""});
  for (const std::string& warning : report.warnings) facts.push_back({"warning", warning, "warn"});
  return facts;
}

std::vector<Fact> runSetupFacts(const RunResult& run) {
  const TargetInfo& t = run.target;
  std::vector<Fact> facts;
  std::string engine = t.engineName;
  if (!t.engineVersion.empty()) engine += " " + t.engineVersion;
  facts.push_back({"engine", engine, ""});
  facts.push_back({"model", t.model, ""});
  facts.push_back({"device", t.device, ""});
  facts.push_back(
      {"inputs", t.inputs.empty() ? std::string("(none)") : joined(t.inputs, "; "), ""});
  if (!run.point.empty()) facts.push_back({"point", pointText(run), ""});
  facts.push_back(
      {"mode",
       fmt::format("{} loop · {} thread{} · batch {} · warm-up {} inference{} per thread "
                   "(on the workers, not timed)",
                   modeName(run.mode), run.threads, run.threads == 1 ? "" : "s", t.batch,
                   run.warmupIterationsPerThread, run.warmupIterationsPerThread == 1 ? "" : "s"),
       ""});
  if (run.mode == LoopMode::Open) {
    const auto achieved = ratio(run.achievedRate, run.offeredRate);
    facts.push_back(
        {"open loop",
         fmt::format("{} arrivals · offered {} req/s · achieved {} req/s{} · {} late (started "
                     "> 1 ms after the intended time) · {} missed (due, never started)",
                     arrivalName(run.arrival), fmtRate(run.offeredRate), fmtRate(run.achievedRate),
                     achieved ? " (" + fmtPct(*achieved * 100) + ")" : std::string(), run.late,
                     run.missed),
         run.late > 0 || run.missed > 0 ? "warn" : ""});
  }
  facts.push_back({"timed region", run.timedRegion.empty() ? "not stated" : run.timedRegion, ""});
  facts.push_back({"stopped",
                   fmt::format("{} · {} timed inferences in {:.3f} s",
                               run.stopReason.empty() ? "unknown" : run.stopReason, run.iterations,
                               run.wallSeconds),
                   run.stopReason == "failed" ? "error" : ""});
  return facts;
}

std::vector<Fact> runThroughputFacts(const RunResult& run) {
  std::vector<Fact> facts;
  std::string value = fmtRate(run.throughput) + " inferences/s";
  if (run.target.batch > 1)
    value +=
        fmt::format(" · {} items/s (batch {})", fmtRate(itemsPerSecond(run)), run.target.batch);
  facts.push_back({"throughput", value, ""});
  if (run.rejected > 0) {
    const int64_t sent = run.iterations + run.rejected;
    facts.push_back(
        {"rejected",
         fmt::format("{} requests · {} req/s · {} of those sent, refused by the target as "
                     "overloaded (not in the throughput or latency figures)",
                     run.rejected, fmtRate(run.rejectedRate),
                     fmtPct(100.0 * static_cast<double>(run.rejected) / static_cast<double>(sent))),
         "warn"});
  }
  if (!run.perThreadThroughput.empty()) {
    const auto [lo, hi] =
        std::minmax_element(run.perThreadThroughput.begin(), run.perThreadThroughput.end());
    facts.push_back({"per thread",
                     fmt::format("min {} · max {} inferences/s over {} thread{}", fmtRate(*lo),
                                 fmtRate(*hi), run.perThreadThroughput.size(),
                                 run.perThreadThroughput.size() == 1 ? "" : "s"),
                     ""});
  }
  return facts;
}

std::vector<Fact> runResourceFacts(const BenchReport& report, const RunResult& run) {
  std::vector<Fact> facts;
  facts.push_back(
      {"startup",
       fmt::format("model load {} · first inference {} ms",
                   run.loadMs > 0 ? fmtMs(run.loadMs) + " ms" : std::string("not timed here"),
                   fmtMs(run.firstInferenceMs)),
       ""});
  facts.push_back({"memory",
                   fmt::format("RSS base {} · after load {} · peak {} · steady {} MiB (median of "
                               "the timed region)",
                               fmtMiB(run.rssBaseMiB), fmtMiB(run.rssAfterLoadMiB),
                               fmtMiB(run.rssPeakMiB), fmtMiB(run.rssSteadyMiB)),
                   ""});
  facts.push_back(
      {"cpu",
       fmt::format("{:.2f} CPU-seconds in {:.3f} s · utilisation {} of {} usable "
                   "core{}",
                   run.cpuSeconds, run.wallSeconds, fmtPct(run.cpuUtil * 100),
                   report.machine.usableCores, report.machine.usableCores == 1 ? "" : "s"),
       ""});
  facts.push_back(
      {"stability",
       fmt::format("{} (±{:.1f}%): throughput spread {}, p50 spread {} over {} window{}",
                   run.stable ? "stable" : "NOT stable", run.stabilityTolerancePct,
                   fmtPct(run.throughputSpreadPct), fmtPct(run.p50SpreadPct), run.windows.size(),
                   run.windows.size() == 1 ? "" : "s"),
       run.stable ? "good" : "warn"});
  return facts;
}

std::vector<Fact> runProblemFacts(const RunResult& run) {
  std::vector<Fact> facts;
  for (const std::string& warning : run.warnings) facts.push_back({"warning", warning, "warn"});
  if (!run.error.empty()) facts.push_back({"error", run.error, "error"});
  return facts;
}

// ---- tables

Table latencyTable(const RunResult& run) {
  Table table;
  table.header = {"samples", "min", "mean", "p50", "p90", "p99", "p99.9", "max", "stddev"};
  table.numeric.assign(table.header.size(), true);
  const LatencySummary& l = run.latency;
  table.rows.push_back({fmt::format("{}", l.count), fmtMs(l.min), fmtMs(l.mean), fmtMs(l.p50),
                        fmtMs(l.p90), fmtMs(l.p99), fmtMs(l.p999), fmtMs(l.max), fmtMs(l.stddev)});
  table.rowTags.push_back("");
  return table;
}

Table configTable(const RunResult& run) {
  Table table;
  table.header = {"key", "value", "source", "detail"};
  table.numeric = {false, false, false, false};
  for (const ConfigValue& c : run.target.config) {
    table.rows.push_back({c.key, c.value, c.source, c.detail});
    table.rowTags.push_back("");
  }
  return table;
}

namespace {

std::string stableCell(const RunResult& run) {
  if (run.stopReason == "failed" || !run.error.empty()) return "FAILED";
  return run.stable ? "yes" : "no";
}

std::string rowTag(const RunResult& run) {
  return run.stopReason == "failed" || !run.error.empty() ? "failed" : "";
}

}  // namespace

Table compareTable(const BenchReport& report) {
  Table table;
  table.header = {"engine", "version", "inf/s", "ratio",  "p50 ms",
                  "ratio",  "p99 ms",  "ratio", "stable", "max |diff|"};
  table.numeric = {false, false, true, true, true, true, true, true, false, true};
  if (report.runs.empty()) return table;
  const RunResult& first = report.runs.front();
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    const VsFirst r = vsFirst(run, first);
    std::string parity = i == 0                  ? "baseline"
                         : run.maxAbsDiffVsFirst ? fmtDiff(*run.maxAbsDiffVsFirst)
                                                 : std::string("n/a");
    table.rows.push_back({run.label.empty() ? run.target.engineName : run.label,
                          run.target.engineVersion, fmtRate(run.throughput), fmtRatio(r.throughput),
                          fmtMs(run.latency.p50), fmtRatio(r.p50), fmtMs(run.latency.p99),
                          fmtRatio(r.p99), stableCell(run), parity});
    table.rowTags.push_back(rowTag(run));
  }
  return table;
}

Table compareMemoryTable(const BenchReport& report) {
  Table table;
  table.header = {"engine", "after load MiB", "peak MiB", "ratio", "steady MiB"};
  table.numeric = {false, true, true, true, true};
  if (report.runs.empty()) return table;
  const RunResult& first = report.runs.front();
  for (const RunResult& run : report.runs) {
    table.rows.push_back({run.label.empty() ? run.target.engineName : run.label,
                          fmtMiB(run.rssAfterLoadMiB), fmtMiB(run.rssPeakMiB),
                          fmtRatio(ratio(run.rssPeakMiB, first.rssPeakMiB)),
                          fmtMiB(run.rssSteadyMiB)});
    table.rowTags.push_back(rowTag(run));
  }
  return table;
}

Table pointTable(const BenchReport& report) {
  const std::vector<std::string> keys = pointKeys(report);
  const bool batched = anyBatched(report);
  const bool tune = report.kind == BenchReport::Kind::Tune && report.tune.has_value();
  Table table;
  table.header.push_back("#");
  table.numeric.push_back(true);
  for (const std::string& key : keys) {
    table.header.push_back(key);
    table.numeric.push_back(false);
  }
  if (keys.empty()) {
    table.header.push_back("run");
    table.numeric.push_back(false);
  }
  for (const char* name : {"inf/s", "items/s", "p50 ms", "p99 ms", "stable", "note"}) {
    if (std::string_view(name) == "items/s" && !batched) continue;
    if (std::string_view(name) == "note" && !tune) continue;
    table.header.push_back(name);
    table.numeric.push_back(std::string_view(name) != "stable" && std::string_view(name) != "note");
  }
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunResult& run = report.runs[i];
    std::vector<std::string> row{fmt::format("{}", i + 1)};
    for (const std::string& key : keys) {
      const auto found = run.point.find(key);
      row.push_back(found == run.point.end() ? "-" : found->second);
    }
    if (keys.empty()) row.push_back(pointText(run));
    row.push_back(fmtRate(run.throughput));
    if (batched) row.push_back(fmtRate(itemsPerSecond(run)));
    row.push_back(fmtMs(run.latency.p50));
    row.push_back(fmtMs(run.latency.p99));
    row.push_back(stableCell(run));
    std::string tag = rowTag(run);
    if (tune) {
      std::vector<std::string> notes;
      if (report.tune->best && *report.tune->best == i) notes.push_back("best");
      if (report.tune->defaultRun == i) notes.push_back("default");
      row.push_back(joined(notes, ", "));
      if (tag.empty() && !notes.empty()) tag = notes.front();
    }
    table.rows.push_back(std::move(row));
    table.rowTags.push_back(tag);
  }
  return table;
}

std::vector<Fact> tuneFacts(const BenchReport& report) {
  std::vector<Fact> facts;
  if (!report.tune) return facts;
  const TuneOutcome& tune = *report.tune;
  const bool batched = anyBatched(report);
  const auto describe = [&](std::size_t i) {
    const RunResult& run = report.runs[i];
    return fmt::format("#{} {}: {} {} · p50 {} ms · p99 {} ms", i + 1, pointText(run),
                       fmtRate(batched ? itemsPerSecond(run) : run.throughput),
                       batched ? "items/s" : "inferences/s", fmtMs(run.latency.p50),
                       fmtMs(run.latency.p99));
  };
  facts.push_back({"target",
                   tune.maxP99Ms ? fmt::format("p99 <= {} ms", fmtMs(*tune.maxP99Ms))
                                 : std::string("none: the highest throughput wins"),
                   ""});
  if (tune.best && *tune.best < report.runs.size()) {
    const std::optional<bool> met = tuneMetTarget(report);
    std::string value = describe(*tune.best);
    if (met) value += *met ? " · meets the target" : " · MISSES the target";
    facts.push_back({"best", value, met && !*met ? "warn" : "good"});
  } else {
    facts.push_back({"best",
                     tune.maxP99Ms ? fmt::format("none: no configuration met p99 <= {} ms",
                                                 fmtMs(*tune.maxP99Ms))
                                   : std::string("none"),
                     "error"});
  }
  if (tune.defaultRun < report.runs.size()) {
    std::string value = describe(tune.defaultRun);
    if (tune.best)
      // Measured separately, the defaults can come out ahead of the grid's best.
      value += tune.defaultVsBestPct >= 0
                   ? fmt::format(" · {} less throughput than the best", fmtPct(tune.defaultVsBestPct))
                   : fmt::format(" · {} more throughput than the best (within the noise of "
                                 "separate runs)",
                                 fmtPct(-tune.defaultVsBestPct));
    facts.push_back({"default", value, ""});
  }
  if (!tune.flags.empty()) facts.push_back({"flags", tune.flags, "good"});
  return facts;
}

void writeWholeFile(const std::filesystem::path& file, std::string_view what,
                    const std::string& content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out)
    throw Error(ErrorCode::InvalidArgument, fmt::format("{} '{}': cannot create: {}", what,
                                                        file.string(), std::strerror(errno)));
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out)
    throw Error(ErrorCode::InvalidArgument, fmt::format("{} '{}': write failed: {}", what,
                                                        file.string(), std::strerror(errno)));
}

}  // namespace polyinfer::bench::detail
