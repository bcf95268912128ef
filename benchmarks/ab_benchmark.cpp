// A/B benchmark: one model, one engine, two sets of options (A and B), timed
// side by side and compared output by output. Made for questions like "what
// does precision=bf16 buy, and what does it cost in accuracy?" or "does
// use_mkldnn help here?".
//
// Timing: both variants are loaded in one process and called alternately: R
// rounds, in each both make K calls back to back, the order flipping every
// round, so that load from elsewhere on a shared machine hits both alike.
// Reported: per variant the median (min-max) over rounds of the time per call,
// and the median (min-max, IQR) over rounds of the paired ratio B / A.
//
// Accuracy: B's outputs against A's on the given input and on N more inputs
// of the same shapes drawn from a standard normal distribution: per output
// the largest absolute difference, that difference relative to A's largest
// magnitude, and for [batch, classes] outputs how often the arg-max (top-1
// class) agrees.
//
// Idle CPU (--gap-ms G): for each variant in turn, calls spaced G ms apart
// for a few seconds, then one second with no calls; the process's CPU time
// (getrusage) over each phase's wall time. Shows what threads that spin
// waiting for work (ONNX Runtime's intraOpAllowSpinning) burn between calls.
#include <CLI/CLI.hpp>


#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "runner.hpp"
#include "polyinfer/polyinfer.hpp"
#include "polyinfer/tensor_io.hpp"

namespace polyinfer_bench {
namespace {

namespace fs = std::filesystem;
using polyinfer::DataType;
using polyinfer::Tensor;
using polyinfer::Tensors;

struct Settings {
  std::string model;
  std::string engine;
  std::vector<std::string> inputs;
  std::string optionsA, optionsB;
  std::vector<std::string> common;
  int workers = 1;
  int rounds = 0;          // 0: as many as fit in `seconds`
  double seconds = 20;     // timed rounds, both variants together
  double roundMillis = 200;
  double warmSeconds = 2;
  int randomInputs = 20;
  unsigned seed = 1;
  double gapMillis = 0;  // 0: no idle-CPU phase
  double gapSeconds = 3;
};

struct IdleCpu {
  double spacedCores = 0;  ///< CPU seconds per wall second with spaced calls
  double idleCores = 0;    ///< ... in the second after the last call
  double medianCallMs = 0;
};

/// Calls `gapMillis` apart for `seconds`, then one second of nothing.
IdleCpu measureIdleCpu(polyinfer::Predictor& p, const Tensors& inputs, double gapMillis,
                       double seconds) {
  IdleCpu result;
  std::vector<double> calls;
  const double cpuStart = polyinfer::bench::ResourceSampler::processCpuSeconds();
  const Clock::time_point start = Clock::now();
  while (secondsSince(start) < seconds) {
    const Clock::time_point call = Clock::now();
    p.predict(inputs);
    calls.push_back(secondsSince(call) * 1e3);
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(gapMillis));
  }
  result.spacedCores = (polyinfer::bench::ResourceSampler::processCpuSeconds() - cpuStart) / secondsSince(start);
  result.medianCallMs = quantile(calls, 0.5);
  const double cpuIdle = polyinfer::bench::ResourceSampler::processCpuSeconds();
  const Clock::time_point idle = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  result.idleCores = (polyinfer::bench::ResourceSampler::processCpuSeconds() - cpuIdle) / secondsSince(idle);
  return result;
}

Tensors readInputs(const std::vector<std::string>& specs) {
  Tensors inputs;
  for (const std::string& spec : specs) {
    const fs::path path(spec);
    if (fs::is_directory(path)) {
      const std::vector<fs::path> files = polyinfer::io::testLayoutFiles(path, "input");
      if (files.empty())
        throw polyinfer::Error(polyinfer::ErrorCode::InvalidArgument,
                               "input directory '" + spec + "' has no input_0.pb");
      for (const fs::path& file : files) {
        polyinfer::NamedTensor named = polyinfer::io::readTensorFile(file);
        inputs.add(std::move(named.name), std::move(named.tensor));
      }
    } else {
      polyinfer::NamedTensor named = polyinfer::io::readTensorFile(path);
      inputs.add(std::move(named.name), std::move(named.tensor));
    }
  }
  return inputs;
}

/// The same inputs with every float32 tensor redrawn from N(0, 1).
Tensors randomLike(const Tensors& inputs, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  Tensors out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].tensor.clone();
    if (t.dtype() == DataType::Float32) {
      float* p = t.mutableData<float>();
      for (int64_t k = 0; k < t.elementCount(); ++k) p[k] = normal(rng);
    }
    out.add(inputs[i].name, std::move(t));
  }
  return out;
}

std::vector<double> asDoubles(const Tensor& t) {
  std::vector<double> v(static_cast<std::size_t>(t.elementCount()));
  switch (t.dtype()) {
    case DataType::Float32: {
      const float* p = t.data<float>();
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = p[i];
      break;
    }
    case DataType::Float64: {
      const double* p = t.data<double>();
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = p[i];
      break;
    }
    case DataType::Int64: {
      const int64_t* p = t.data<int64_t>();
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p[i]);
      break;
    }
    default:
      throw polyinfer::Error(polyinfer::ErrorCode::Unsupported,
                             "output dtype " + std::string(polyinfer::toString(t.dtype())) +
                                 " is not compared (float32, float64, int64 are)");
  }
  return v;
}

struct OutputError {
  std::string name;
  double maxAbsDiff = 0;
  double maxAbsA = 0;
  long top1Agree = 0, top1Total = 0;
};

void accumulate(OutputError& e, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw polyinfer::Error(polyinfer::ErrorCode::EngineFailure,
                           "output '" + e.name + "': A gives " + a.describe() + ", B gives " +
                               b.describe());
  const std::vector<double> va = asDoubles(a), vb = asDoubles(b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    e.maxAbsDiff = std::max(e.maxAbsDiff, std::fabs(va[i] - vb[i]));
    e.maxAbsA = std::max(e.maxAbsA, std::fabs(va[i]));
  }
  if (a.rank() == 2 && a.shape()[1] > 1) {
    const std::size_t classes = static_cast<std::size_t>(a.shape()[1]);
    for (std::size_t row = 0; row + classes <= va.size(); row += classes) {
      const auto argmax = [&](const std::vector<double>& v) {
        return std::max_element(v.begin() + row, v.begin() + row + classes) - v.begin();
      };
      e.top1Agree += argmax(va) == argmax(vb);
      ++e.top1Total;
    }
  }
}

double timeCalls(polyinfer::Predictor& p, const Tensors& inputs, long calls) {
  const Clock::time_point start = Clock::now();
  for (long i = 0; i < calls; ++i) p.predict(inputs);
  return secondsSince(start);
}

std::string ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", seconds * 1e3);
  return buf;
}

int run(int argc, char** argv) {
  Settings s;
  CLI::App app{
      "polyinfer_ab_benchmark: one model on one engine with two option sets (A, B), timed side "
      "by side (interleaved rounds) and compared output by output.\n"
      "Example: -u build/models/resnet18/model.pt -i build/models/resnet18/test_data_set_0 "
      "--a precision=fp32 --b precision=bf16"};
  app.add_option("-u,--model", s.model, "model file or directory")->required();
  app.add_option("-e,--engine", s.engine, "engine (default: from the model format)");
  app.add_option("-i,--input", s.inputs,
                 "input: a .npy or .pb file, or a directory in ONNX's test layout (input_K.pb)")
      ->required();
  app.add_option("--a", s.optionsA, "options of variant A: k=v[,k=v...] (may be empty)");
  app.add_option("--b", s.optionsB, "options of variant B: k=v[,k=v...]")->required();
  app.add_option("-O,--option", s.common, "an option both variants get: k=v (repeatable)");
  app.add_option("--workers", s.workers, "workers the thread defaults are computed for")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--rounds", s.rounds, "timed rounds (default: as many as fit in --seconds)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seconds", s.seconds, "time for the timed rounds")->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--round-ms", s.roundMillis, "length of one variant's share of a round")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup-s", s.warmSeconds, "warm-up time, both variants alternating")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--random", s.randomInputs,
                 "extra random N(0,1) inputs for the accuracy comparison")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--seed", s.seed, "seed of the random inputs")->capture_default_str();
  app.add_option("--gap-ms", s.gapMillis,
                 "also measure CPU use with calls this far apart, and idle after them "
                 "(default 0: skip)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--gap-seconds", s.gapSeconds, "length of each variant's spaced-calls phase")
      ->capture_default_str()->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  polyinfer::Options common;
  for (const std::string& kv : s.common) common.merge(polyinfer::Options::parse(kv));
  polyinfer::Options a = common, b = common;
  a.merge(polyinfer::Options::parse(s.optionsA));
  b.merge(polyinfer::Options::parse(s.optionsB));
  const Tensors inputs = readInputs(s.inputs);

  auto load = [&](const polyinfer::Options& options) {
    return polyinfer::Model::load(polyinfer::Criteria{.modelPath = s.model,
                                                      .engine = s.engine,
                                                      .options = options,
                                                      .workers = s.workers});
  };
  const auto modelA = load(a);
  const auto modelB = load(b);
  polyinfer::Predictor pa = modelA->newPredictor();
  polyinfer::Predictor pb = modelB->newPredictor();

  std::printf("model %s on %s %s\n", s.model.c_str(), modelA->engineName().c_str(),
              modelA->engineVersion().c_str());
  std::printf("machine: %s; usable cores %d; load average at start %s\n", cpuModel().c_str(),
              polyinfer::ThreadBudget::detect().usableCores(), loadAverage().c_str());
  std::printf("A: %s\nB: %s\n", s.optionsA.empty() ? "(engine defaults)" : s.optionsA.c_str(),
              s.optionsB.c_str());
  // The settings in effect, where the variants differ or matter.
  std::map<std::string, std::string> configA;
  for (const auto& entry : modelA->config()) configA[entry.key] = entry.value;
  for (const auto& entry : modelB->config()) {
    const std::string valueA = configA.count(entry.key) ? configA[entry.key] : "-";
    if (valueA != entry.value)
      std::printf("  %-28s A=%s  B=%s (%s)\n", entry.key.c_str(), valueA.c_str(),
                  entry.value.c_str(), entry.detail.c_str());
  }

  // Accuracy first (it also warms both up).
  std::mt19937 rng(s.seed);
  std::vector<OutputError> errors;
  for (int set = 0; set <= s.randomInputs; ++set) {
    const Tensors in = set == 0 ? inputs : randomLike(inputs, rng);
    const Tensors outA = pa.predict(in);
    const Tensors outB = pb.predict(in);
    if (outA.size() != outB.size())
      throw polyinfer::Error(polyinfer::ErrorCode::EngineFailure,
                             "A gives " + std::to_string(outA.size()) + " outputs, B gives " +
                                 std::to_string(outB.size()));
    errors.resize(outA.size());
    for (std::size_t i = 0; i < outA.size(); ++i) {
      errors[i].name = outA[i].name;
      accumulate(errors[i], outA[i].tensor, outB[i].tensor);
    }
  }

  // Warm-up, then the interleaved rounds.
  const Clock::time_point warmStart = Clock::now();
  long chunk = 1;
  double perCall = 0;
  for (long total = 0;;) {
    const double ta = timeCalls(pa, inputs, chunk), tb = timeCalls(pb, inputs, chunk);
    total += chunk;
    perCall = std::max(ta, tb) / static_cast<double>(chunk);
    if (secondsSince(warmStart) >= s.warmSeconds && total >= 3) break;
    if (ta + tb < 0.05) chunk *= 2;
  }
  const long k = std::max<long>(1, std::lround(s.roundMillis * 1e-3 / perCall));
  const int rounds =
      s.rounds > 0 ? s.rounds
                   : static_cast<int>(std::max(5.0, std::round(s.seconds / (2.0 * k * perCall))));
  std::vector<double> timesA, timesB, ratios;
  for (int round = 0; round < rounds; ++round) {
    double ta = 0, tb = 0;
    if (round % 2 == 0) {
      ta = timeCalls(pa, inputs, k);
      tb = timeCalls(pb, inputs, k);
    } else {
      tb = timeCalls(pb, inputs, k);
      ta = timeCalls(pa, inputs, k);
    }
    timesA.push_back(ta / static_cast<double>(k));
    timesB.push_back(tb / static_cast<double>(k));
    ratios.push_back(tb / ta);
  }

  std::printf("\n== time per call: %d rounds of %ld calls per variant, interleaved ==\n", rounds, k);
  std::printf("  A  median %s ms (min %s, max %s)\n", ms(quantile(timesA, 0.5)).c_str(),
              ms(quantile(timesA, 0)).c_str(), ms(quantile(timesA, 1)).c_str());
  std::printf("  B  median %s ms (min %s, max %s)\n", ms(quantile(timesB, 0.5)).c_str(),
              ms(quantile(timesB, 0)).c_str(), ms(quantile(timesB, 1)).c_str());
  std::printf("  B / A  median %.3f (min %.3f, max %.3f; IQR %.3f-%.3f)\n", quantile(ratios, 0.5),
              quantile(ratios, 0), quantile(ratios, 1), quantile(ratios, 0.25),
              quantile(ratios, 0.75));
  std::printf("load average at end: %s\n", loadAverage().c_str());

  std::printf("\n== B's outputs vs A's: the given input + %d random N(0,1) inputs ==\n",
              s.randomInputs);
  for (const OutputError& e : errors) {
    std::printf("  %-12s max abs diff %.4g; max |A| %.4g; relative %.3g", e.name.c_str(),
                e.maxAbsDiff, e.maxAbsA, e.maxAbsA > 0 ? e.maxAbsDiff / e.maxAbsA : 0.0);
    if (e.top1Total > 0)
      std::printf("; top-1 agrees %ld/%ld", e.top1Agree, e.top1Total);
    std::printf("\n");
  }

  if (s.gapMillis > 0) {
    std::printf("\n== CPU use (cores busy = process CPU time / wall time) ==\n");
    for (int variant = 0; variant < 2; ++variant) {
      const IdleCpu idle = measureIdleCpu(variant == 0 ? pa : pb, inputs, s.gapMillis, s.gapSeconds);
      std::printf("  %s  one call every %.0f ms: %.3f cores (median call %.3f ms); idle second "
                  "after the last call: %.3f cores\n",
                  variant == 0 ? "A" : "B", s.gapMillis, idle.spacedCores, idle.medianCallMs,
                  idle.idleCores);
    }
  }
  return 0;
}

}  // namespace
}  // namespace polyinfer_bench

int main(int argc, char** argv) {
  return polyinfer_bench::runReportingErrors("polyinfer_ab_benchmark", [&] { return polyinfer_bench::run(argc, argv); });
}
