// polyinfer bench: one configuration in this process — load the model with
// the configuration's workers and thread counts, prepare the inputs (tiled to
// --batch), run the load generator, and take one call's outputs and an
// optional operator profile after the timed run. With --url the same run
// drives a KServe v2 server over HTTP or gRPC instead (runRemote): the inputs
// are made from the served model's metadata.
#include <algorithm>
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "bench_internal.hpp"
#include "input_spec.hpp"
#include "model_inputs.hpp"
#include "remote_target.hpp"
#include "runner.hpp"
#include "target.hpp"

namespace polyinfer::cli::benchflow {

namespace {

/// Tiles dim 0 of each input (which must be 1) to `batch`.
Tensors tileBatch(const Tensors& inputs, int64_t batch) {
  Tensors out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i].tensor;
    if (t.rank() < 1 || t.shape()[0] != 1)
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("--batch {}: input '{}' is {}; batching tiles dim 0, which must be 1",
                              batch, inputs[i].name, t.describe()));
    Shape shape = t.shape();
    shape[0] = batch;
    Tensor tiled = Tensor::allocate(t.dtype(), shape);
    if (t.dtype() == DataType::String)
      throw Error(ErrorCode::Unsupported, "--batch: string inputs cannot be tiled");
    const std::size_t bytes = t.byteSize();
    auto* dst = static_cast<unsigned char*>(tiled.mutableRawData());
    for (int64_t k = 0; k < batch; ++k)
      std::copy_n(static_cast<const unsigned char*>(t.rawData()), bytes, dst + k * bytes);
    out.add(inputs[i].name, std::move(tiled));
  }
  return out;
}

bench::RunOptions runOptions(const BenchArgs& args, const RunSpec& spec) {
  bench::RunOptions run;
  run.threads = spec.threads;
  run.warmupIterations = args.warmup;
  run.startDelayMs = args.delayMs;
  if (args.iterations > 0) run.stop.iterations = args.iterations;
  if (!args.duration.empty()) run.stop.durationSeconds = parseDuration(args.duration);
  run.stop.minIterations = args.minIterations;
  run.stop.minSeconds = args.minSeconds;
  run.stop.maxSeconds = args.maxSeconds;
  run.windows = args.windows;
  run.stabilityTolerancePct = args.tolerancePct;
  if (args.rate > 0) run.rate = args.rate;
  run.arrival = args.arrival == "constant" ? bench::Arrival::Constant : bench::Arrival::Poisson;
  run.seed = args.seed;
  run.usableCores = usableCores();
  return run;
}

/// The load generator on `target`, with a progress line on a terminal.
bench::RunResult runTarget(bench::Target& target, const BenchArgs& args, const RunSpec& spec,
                           bool progress, bench::ResourceSampler& sampler) {
  bench::RunOptions run = runOptions(args, spec);
  ProgressLine line(progress);
  if (progress)
    run.onProgress = [&line](const bench::Progress& p) {
      std::string text = fmt::format("{} {:.1f}s  {} calls  {:.1f}/s", p.phase, p.elapsedSeconds,
                                     p.iterations, p.throughput);
      if (p.rejected > 0) text += fmt::format("  {} rejected", p.rejected);
      if (p.fraction >= 0) text += fmt::format("  {:.0f}%", 100 * std::min(1.0, p.fraction));
      line.show(text);
    };
  bench::RunResult result = bench::run(target, run, &sampler);
  line.clear();
  return result;
}

}  // namespace

int usableCores() { return ThreadBudget::detect().usableCores(); }

int resolveThreads(int threads) { return threads <= 0 ? usableCores() : threads; }

RunSpec specFromArgs(const BenchArgs& args) {
  RunSpec spec;
  spec.engine = args.engines.empty() ? "" : args.engines.front();
  spec.model = modelsFor(args, 1).front();
  spec.threads = resolveThreads(args.threads);
  spec.intra = args.intraOpThreads;
  spec.inter = args.interOpThreads;
  spec.batch = args.batch;
  return spec;
}

SingleOutcome runSingle(const BenchArgs& args, const RunSpec& spec, bool progress) {
  bench::ResourceSampler sampler;
  sampler.setPhase("load");
  const double rssBase = bench::ResourceSampler::rssMiB();

  Options options;
  for (const std::string& text : args.options) options.merge(Options::parse(text));
  for (const auto& [key, value] : spec.options) options.set(key, value);

  // Inputs that can be read without the model first: bad input fails fast.
  std::vector<ShapeSpec> shapes;
  if (args.shapesGiven) shapes = parseShapeSpecs(args.shapes);
  const EarlyDataFiles loaded = loadDataFilesEarly(args.inputs, "input");
  const InputArgs inputArgs{args.inputs, args.shapesGiven, args.seed, args.distribution,
                            args.intRange};

  Criteria criteria;
  criteria.modelPath = spec.model;
  criteria.engine = spec.engine;
  criteria.device = args.device;
  criteria.options = options;
  criteria.workers = spec.threads;
  criteria.intraOpThreads = spec.intra;
  criteria.interOpThreads = spec.inter;
  const auto loadStart = std::chrono::steady_clock::now();
  const std::shared_ptr<Model> model = Model::load(criteria);
  const double loadMs =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - loadStart).count();
  const double rssAfterLoad = bench::ResourceSampler::rssMiB();

  // A model that takes sequences, maps or optionals runs on values read from
  // -i; every other model on tensors (its outputs may still be values).
  const bool tensorInputs = inputsAreTensors(*model);
  std::vector<std::string> sources;
  Tensors inputs;
  Values valueInputs;
  if (tensorInputs) {
    inputs = buildInputs(inputArgs, *model, loaded.tensorsOrThrow(), shapes, sources);
    if (spec.batch > 0) inputs = tileBatch(inputs, spec.batch);
  } else {
    valueInputs = buildValueInputs(inputArgs, *model, loaded, shapes, sources);
    if (spec.batch > 0)
      throw Error(ErrorCode::InvalidArgument,
                  "--batch " + std::to_string(spec.batch) +
                      " tiles tensor inputs along dim 0, but the model's inputs are " +
                      describeInfos(model->inputs()) + "; give the batch in the -i files instead");
    // Refused before the run, not after it.
    if (args.profile > 0)
      throw Error(ErrorCode::Unsupported, "--profile: the model's inputs are " + describeInfos(model->inputs()) +
                                              "; the operator profile runs on tensor inputs only");
  }

  // The engine's config() already reports workers, thread counts and usable cores.
  std::vector<bench::ConfigValue> extra{
      {"inputs", sources.empty() ? "" : sources.front(), "benchmark",
       args.inputs.empty() ? "random data, made once before timing" : "read once before timing"}};
  if (spec.batch > 0)
    extra.push_back({"batch", std::to_string(spec.batch), "explicit", "inputs tiled along dim 0"});
  std::unique_ptr<bench::Target> target = tensorInputs ? bench::makeModelTarget(model, inputs, extra)
                                                       : bench::makeModelTarget(model, valueInputs, extra);

  SingleOutcome outcome;
  outcome.result = runTarget(*target, args, spec, progress, sampler);
  bench::RunResult& r = outcome.result;
  r.loadMs = loadMs;
  r.rssBaseMiB = rssBase;
  r.rssAfterLoadMiB = rssAfterLoad;
  r.rssPeakMiB = std::max({r.rssPeakMiB, rssBase, rssAfterLoad});
  if (r.label.empty()) r.label = model->engineName();
  if (r.stopReason != "failed") outcome.outputs = target->newWorker()->inferWithOutputs();
  // After the timed run: the profiler slows calls down.
  if (args.profile > 0 && r.stopReason != "failed") {
    try {
      outcome.profile = model->newPredictor().profile(inputs, args.profile);
    } catch (const Error& e) {
      outcome.profileError = e;
    }
  }
  return outcome;
}

SingleOutcome runRemote(const BenchArgs& args, bool progress) {
  // The scheme picks the protocol; a URL it refuses (https, unknown schemes)
  // is a usage error before anything is sent.
  const bool grpc = bench::remoteProtocol(args.url) == bench::RemoteProtocol::Grpc;
  if (grpc && args.jsonTensors)
    throw Error(ErrorCode::InvalidArgument,
                "--json-tensors cannot be used with --url grpc://: gRPC carries tensors as raw "
                "bytes (raw_input_contents); JSON tensors are an HTTP encoding (--url http://)");
  bench::ResourceSampler sampler;
  sampler.setPhase("load");
  const double rssBase = bench::ResourceSampler::rssMiB();

  // Inputs that can be read without the metadata first: bad input fails fast.
  std::vector<ShapeSpec> shapes;
  if (args.shapesGiven) shapes = parseShapeSpecs(args.shapes);
  const std::vector<LoadedTensor> loaded = loadTensorArgs(args.inputs, "input");
  const InputArgs inputArgs{args.inputs, args.shapesGiven, args.seed, args.distribution,
                            args.intRange};

  const bench::RemoteEndpoint endpoint{args.url, args.modelName, args.modelVersion,
                                       !args.jsonTensors};
  bench::RemoteModel served = bench::fetchRemoteModel(endpoint);

  RunSpec spec;
  spec.threads = resolveThreads(args.threads);
  spec.batch = args.batch;
  std::vector<std::string> sources;
  Tensors inputs = buildInputs(inputArgs, served.inputs, loaded, shapes, sources);
  if (spec.batch > 0) inputs = tileBatch(inputs, spec.batch);
  const double rssAfterLoad = bench::ResourceSampler::rssMiB();

  std::vector<bench::ConfigValue> extra{
      {"inputs", sources.empty() ? "" : sources.front(), "benchmark",
       args.inputs.empty() ? "random data of the served model's metadata shapes, made and "
                             "encoded once before timing"
                           : "read and encoded once before timing"},
      {"client workers", std::to_string(spec.threads), args.threadsGiven ? "explicit" : "default",
       grpc ? "-t: concurrent requests in closed loop, one gRPC channel (HTTP/2 connection) each"
            : "-t: concurrent requests in closed loop, one keep-alive HTTP connection each"},
      {"measured process", "client", "benchmark",
       "RSS, CPU seconds and utilisation in this report are this client process's own "
       "(polyinfer bench), not the server's; the server reports its own in GET /metrics"}};
  if (spec.batch > 0)
    extra.push_back({"batch", std::to_string(spec.batch), "explicit", "inputs tiled along dim 0"});
  std::unique_ptr<bench::Target> target =
      bench::makeRemoteTarget(endpoint, std::move(served), inputs, extra);

  SingleOutcome outcome;
  outcome.result = runTarget(*target, args, spec, progress, sampler);
  bench::RunResult& r = outcome.result;
  r.loadMs = 0;  // the server loaded the model; nothing was loaded here
  r.rssBaseMiB = rssBase;
  r.rssAfterLoadMiB = rssAfterLoad;
  r.rssPeakMiB = std::max({r.rssPeakMiB, rssBase, rssAfterLoad});
  if (r.label.empty()) r.label = r.target.engineName;
  // The runner's oversubscription warning is about workers computing on this
  // machine's cores; a remote client's workers mostly wait on the network.
  for (std::string& warning : r.warnings)
    if (warning.find("oversubscribed") != std::string::npos)
      warning = fmt::format(
          "client threads {} > usable cores {}: the client's workers mostly wait for the server, "
          "but when the server runs on this machine, client and server share its cores",
          r.threads, usableCores());
  if (r.stopReason != "failed") outcome.outputs = target->newWorker()->inferWithOutputs();
  return outcome;
}

}  // namespace polyinfer::cli::benchflow
