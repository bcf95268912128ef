// polyinfer bench plans: engines side by side (with output parity against
// the first), --sweep grids and --tune searches. Every configuration runs in
// its own child process, in a shuffled order for sweeps and tunes.
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>

#include "bench_internal.hpp"
#include "compare.hpp"
#include "exit_codes.hpp"
#include "tensor_values.hpp"

namespace polyinfer::cli::benchflow {
using bench::BenchReport;
using bench::RunResult;

namespace {

/// Largest |a - b| over the outputs both have (by position), or nullopt when
/// they cannot be compared (count, shape or dtype differ; not numeric).
std::optional<double> maxAbsDiff(const Tensors& a, const Tensors& b, std::string& why) {
  if (a.size() != b.size() || a.empty()) {
    why = fmt::format("{} outputs vs {}", b.size(), a.size());
    return std::nullopt;
  }
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!isNumeric(a[i].tensor.dtype())) {
      why = fmt::format("output {}: dtype {} not compared", i, toString(a[i].tensor.dtype()));
      return std::nullopt;
    }
    const Comparison c = compareTensors(b[i].tensor, a[i].tensor, Tolerance{});
    if (!c.structuralMismatch.empty()) {
      why = fmt::format("output {}: {}", i, c.structuralMismatch);
      return std::nullopt;
    }
    worst = std::max(worst, c.maxAbsDiff);
  }
  return worst;
}

struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

/// Sweep keys that are not engine options: -t, the thread counts of
/// Criteria, --batch (and "engine", set by a plan over several engines).
bool isCountAxis(const std::string& key) {
  return key == "threads" || key == "intra" || key == "inter" || key == "batch";
}

std::vector<SweepAxis> parseSweep(const std::vector<std::string>& texts) {
  std::vector<SweepAxis> axes;
  std::set<std::string> seen;
  for (const std::string& text : texts) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 >= text.size())
      throw Error(ErrorCode::InvalidArgument,
                  "--sweep '" + text + "': expected KEY=V1,V2,... e.g. threads=1,2,4");
    SweepAxis axis{text.substr(0, eq), splitComma(text.substr(eq + 1))};
    if (!seen.insert(axis.key).second)
      throw Error(ErrorCode::InvalidArgument, "--sweep: key '" + axis.key + "' given twice");
    if (isCountAxis(axis.key))
      for (const std::string& value : axis.values) {
        std::size_t used = 0;
        long long n = -1;
        try {
          n = std::stoll(value, &used);
        } catch (const std::exception&) {
        }
        if (used != value.size() || n < (axis.key == "threads" ? 0 : 1))
          throw Error(ErrorCode::InvalidArgument,
                      "--sweep " + axis.key + ": expected integers >= 1, got '" + value + "'");
        // Thread counts are ints (Criteria, -t).
        if (axis.key != "batch" && n > 1'000'000)
          throw Error(ErrorCode::InvalidArgument,
                      "--sweep " + axis.key + ": " + value + " threads is too many");
      }
    axes.push_back(std::move(axis));
  }
  return axes;
}

/// The configuration of one point: the flags, with the point's values over them.
RunSpec specFor(const BenchArgs& args, const std::string& engine, const std::string& model,
                const std::map<std::string, std::string>& point) {
  RunSpec spec;
  spec.engine = engine;
  spec.model = model;
  spec.threads = resolveThreads(args.threads);
  spec.intra = args.intraOpThreads;
  spec.inter = args.interOpThreads;
  spec.batch = args.batch;
  spec.point = point;
  std::string label;
  for (const auto& [key, value] : point) {
    label += (label.empty() ? "" : " ") + key + "=" + value;
    if (key == "threads") spec.threads = resolveThreads(std::stoi(value));
    else if (key == "intra") spec.intra = std::stoi(value);
    else if (key == "inter") spec.inter = std::stoi(value);
    else if (key == "batch") spec.batch = std::stoll(value);
    else if (key == "engine") spec.engine = value;
    else spec.options.emplace_back(key, value);
  }
  spec.label = label.empty() ? (engine.empty() ? "default" : engine) : label;
  return spec;
}

/// Every combination of the axes.
std::vector<std::map<std::string, std::string>> grid(const std::vector<SweepAxis>& axes) {
  std::vector<std::map<std::string, std::string>> points{{}};
  for (const SweepAxis& axis : axes) {
    std::vector<std::map<std::string, std::string>> next;
    for (const auto& point : points)
      for (const std::string& value : axis.values) {
        auto p = point;
        p[axis.key] = value;
        next.push_back(std::move(p));
      }
    points = std::move(next);
  }
  return points;
}

/// Whether the model takes other batch sizes than its inputs' dim 0: its
/// first input is a tensor whose dim 0 is dynamic or undeclared (--batch tiles
/// tensors only).
bool batchIsFlexible(const std::string& model, const std::string& engine) {
  Criteria criteria;
  criteria.modelPath = model;
  criteria.engine = engine;
  const std::shared_ptr<Model> loaded = Model::load(criteria);
  const std::vector<TensorInfo> inputs = loaded->inputs();
  if (inputs.empty() || !inputs.front().isTensor()) return false;
  return !inputs.front().rankKnown || inputs.front().shape.empty() || inputs.front().shape[0] < 0;
}

/// --tune's grid: workers x intra-op threads with workers x intra <= cores,
/// each a power of two or the core count; batch 1, 2, 4, 8 when flexible.
std::vector<SweepAxis> tuneAxes(int cores, bool flexibleBatch) {
  std::vector<std::string> counts;
  for (int n = 1; n < cores; n *= 2) counts.push_back(std::to_string(n));
  counts.push_back(std::to_string(cores));
  std::vector<SweepAxis> axes{{"threads", counts}, {"intra", counts}};
  if (flexibleBatch) axes.push_back({"batch", {"1", "2", "4", "8"}});
  return axes;
}

/// The configurations of the plan, and the report's kind.
std::vector<RunSpec> planSpecs(const BenchArgs& args, BenchReport& report) {
  const std::vector<std::string> engines =
      args.engines.empty() ? std::vector<std::string>{""} : args.engines;
  const std::vector<std::string> models = modelsFor(args, engines.size());
  auto modelOf = [&](std::size_t i) { return models.size() == 1 ? models.front() : models[i]; };

  std::vector<RunSpec> specs;
  if (args.tune) {
    report.kind = BenchReport::Kind::Tune;
    if (engines.size() != 1)
      throw Error(ErrorCode::InvalidArgument, "--tune takes one engine (-e); run it once per engine");
    const int cores = usableCores();
    const std::vector<SweepAxis> axes =
        args.sweep.empty()
            ? tuneAxes(cores, args.batch == 0 && batchIsFlexible(modelOf(0), engines[0]))
            : parseSweep(args.sweep);
    for (const auto& point : grid(axes)) {
      const int threads = point.count("threads") ? resolveThreads(std::stoi(point.at("threads"))) : 1;
      const int intra = point.count("intra") ? std::stoi(point.at("intra")) : 1;
      if (args.sweep.empty() && threads * intra > cores) continue;
      specs.push_back(specFor(args, engines[0], modelOf(0), point));
    }
  } else if (!args.sweep.empty()) {
    report.kind = BenchReport::Kind::Sweep;
    const std::vector<SweepAxis> axes = parseSweep(args.sweep);
    for (std::size_t e = 0; e < engines.size(); ++e)
      for (auto point : grid(axes)) {
        if (engines.size() > 1) point["engine"] = engines[e];
        specs.push_back(specFor(args, engines[e], modelOf(e), point));
      }
  } else {
    report.kind = BenchReport::Kind::Compare;
    for (std::size_t e = 0; e < engines.size(); ++e)
      specs.push_back(specFor(args, engines[e], modelOf(e), {}));
  }
  return specs;
}

/// --tune: the point with the highest items/s whose p99 meets --max-p99.
std::optional<std::size_t> bestPoint(const BenchArgs& args, const std::vector<SingleOutcome>& outcomes) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const RunResult& r = outcomes[i].result;
    if (r.stopReason == "failed") continue;
    if (args.maxP99 > 0 && r.latency.p99 > args.maxP99) continue;
    if (!best || r.itemsPerSecond > outcomes[*best].result.itemsPerSecond) best = i;
  }
  return best;
}

/// --tune: the automatic intra-op default for -t (when given, else the
/// winner's worker count) at the winner's batch: how far the defaults are
/// from the best the grid found. An inter-op count given as a flag stays.
RunSpec defaultsSpec(const BenchArgs& args, const RunSpec& best) {
  RunSpec defaults = best;
  if (args.threadsGiven) defaults.threads = resolveThreads(args.threads);
  defaults.intra = 0;
  defaults.inter = args.interOpThreads;
  defaults.point = {{"threads", std::to_string(defaults.threads)}, {"intra", "default"}};
  if (defaults.batch > 0) defaults.point["batch"] = std::to_string(defaults.batch);
  defaults.label = fmt::format("defaults for -t {}", defaults.threads);
  return defaults;
}

/// The flags that reproduce the winning point.
std::string tuneFlags(const std::string& engineName, const RunSpec& s) {
  std::string flags = fmt::format("-e {} -t {}", engineName, s.threads);
  if (s.intra > 0) flags += fmt::format(" --intra-op-threads {}", s.intra);
  if (s.inter > 0) flags += fmt::format(" --inter-op-threads {}", s.inter);
  if (s.batch > 0) flags += fmt::format(" --batch {}", s.batch);
  for (const auto& [key, value] : s.options) flags += " -O " + key + "=" + value;
  return flags;
}

}  // namespace

int planMain(const BenchArgs& args, BenchReport& report, ProgressLine& line) {
  std::vector<RunSpec> specs = planSpecs(args, report);

  // Sweeps and tunes run in a shuffled order, so that drift on the machine
  // (thermal, other load) does not line up with one axis.
  std::vector<std::size_t> order(specs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (report.kind != BenchReport::Kind::Compare) {
    std::mt19937_64 rng(args.seed);
    std::shuffle(order.begin(), order.end(), rng);
  }

  const bool showProgress = !args.quiet && isatty(STDOUT_FILENO);
  ScratchDir scratch;
  std::vector<SingleOutcome> outcomes(specs.size());
  for (std::size_t n = 0; n < order.size(); ++n) {
    const std::size_t i = order[n];
    if (showProgress) line.show(fmt::format("[{}/{}] {} ...", n + 1, order.size(), specs[i].label));
    outcomes[i] = runChild(args, specs[i], scratch.path(), static_cast<int>(i));
  }

  const std::optional<std::size_t> best = args.tune ? bestPoint(args, outcomes) : std::nullopt;
  if (best) {
    const RunSpec defaults = defaultsSpec(args, specs[*best]);
    if (showProgress) line.show(fmt::format("[defaults] {} ...", defaults.label));
    specs.push_back(defaults);
    outcomes.push_back(runChild(args, defaults, scratch.path(), static_cast<int>(specs.size())));
  }
  line.clear();

  // Parity against the first engine (compare).
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    RunResult& r = outcomes[i].result;
    if (report.kind == BenchReport::Kind::Compare && i > 0 && !outcomes[0].outputs.empty() &&
        !outcomes[i].outputs.empty()) {
      std::string why;
      r.maxAbsDiffVsFirst = maxAbsDiff(outcomes[0].outputs, outcomes[i].outputs, why);
      if (!r.maxAbsDiffVsFirst) r.warnings.push_back("outputs not compared with the first engine's: " + why);
    }
    report.runs.push_back(std::move(r));
  }

  if (args.tune) {
    bench::TuneOutcome tune;
    if (args.maxP99 > 0) tune.maxP99Ms = args.maxP99;
    if (best) {
      tune.best = *best;
      tune.defaultRun = report.runs.size() - 1;
      const double bestRate = report.runs[*best].itemsPerSecond;
      const double defaultRate = report.runs.back().itemsPerSecond;
      tune.defaultVsBestPct = bestRate > 0 ? 100.0 * (bestRate - defaultRate) / bestRate : 0;
      tune.flags = tuneFlags(report.runs[*best].target.engineName, specs[*best]);
    }
    report.tune = tune;
  }
  const bool anyFailed = std::any_of(report.runs.begin(), report.runs.end(),
                                     [](const RunResult& r) { return r.stopReason == "failed"; });
  return anyFailed ? kExitFailure : kExitOk;
}

}  // namespace polyinfer::cli::benchflow
