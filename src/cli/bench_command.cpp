// polyinfer bench: the flags (DJL's djl-bench spellings and ours) and their
// help. What runs is in bench_flow.cpp: one run in this process
// (bench_single.cpp) or a plan of runs (engines side by side, sweep, tune;
// bench_plan.cpp), each in a fresh child process (bench_child.cpp).
#include <CLI/CLI.hpp>

#include "bench_flow.hpp"
#include "commands.hpp"

namespace polyinfer::cli {

namespace {

constexpr const char* kFooter = R"TXT(WHAT IS TIMED: each sample is one Predictor::predict call on inputs prepared before the
  clock starts (no input copy, no pre/post-processing); the model is loaded and every
  worker's predictor made before any timing. The first call after load is timed on its own
  (first_inference_ms), then every worker thread warms up (-w calls each, not counted).

STOP RULE: -c N runs exactly N timed calls (shared by the threads); -d T runs until T
  (no call starts after it). With neither, it runs until both --min-iterations and
  --min-time are reached; --max-time caps every mode. The result says whether throughput
  and p50 were stable: the timed region is cut into --windows slices, each within
  +-(--stability)% of the median.

THREADS: -t workers, each with its own predictor. Engine threads are NOT forced to 1: they
  default to usable cores / workers (see `polyinfer info`); --intra-op-threads and
  --inter-op-threads set them on every engine alike, and explicit values always win. The
  effective value of every knob is reported with its source.

SIDE BY SIDE: -e A,B with -u MODEL_A,MODEL_B (one model per engine, or one file all
  engines read) runs each engine in turn on identical inputs, each in a fresh process, and
  prints throughput and latency ratios against the first engine and the max abs difference
  of its outputs from the first engine's.

SWEEP: --sweep threads=1,2 intra=1,2 batch=1,8 [KEY=V1,V2 ...] runs every combination in
  shuffled order (--seed), each in a fresh process with the stop rule. threads = -t,
  intra = --intra-op-threads, inter = --inter-op-threads, batch = --batch; any other KEY
  is an engine option (`polyinfer info` lists each engine's).

TUNE: --tune [--max-p99 MS] searches workers x intra-op threads (each a power of two or the
  core count, workers x intra <= cores; x batch 1,2,4,8 when the model's batch is not fixed;
  or the --sweep grid) for the highest items/s whose p99 meets the target, then runs the
  automatic thread defaults for -t (given, else the winner's workers) at the winner's batch,
  and prints how far they are from the best and the winning flags. Points use
  --min-time 3 unless given.

REMOTE: --url http://HOST:PORT -n MODEL [--model-version V] [--json-tensors] benchmarks a
  model served over the KServe v2 HTTP protocol; --url grpc://HOST:PORT -n MODEL
  [--model-version V] over its gRPC protocol (inference.GRPCInferenceService). The URL's
  scheme picks the protocol; https://, grpcs:// and other schemes are refused. Inputs are
  made as for a local model (-i, -s, or random data of the shapes in the server's model
  metadata), encoded once, and each timed call is one POST /v2/models/MODEL/infer on the
  worker's own keep-alive connection (binary tensor data unless --json-tensors), or one
  gRPC ModelInfer on the worker's own channel (raw_input_contents; --json-tensors is
  refused), plus decoding the response. -t workers = client connections = concurrent
  requests; --rate works as below. The server's effective config (HTTP: GET .../config;
  gRPC has no such call, so only the model metadata's platform) is reported with source
  "server"; memory and CPU figures are this client process's own (see the server's
  /metrics for its side). The server picks engine, threads and batching, so -u/-p, -e, -O,
  --device, --intra/--inter-op-threads, --sweep, --tune and --profile are refused with
  --url. A request the server refuses as overloaded (HTTP 503 or 429; gRPC UNAVAILABLE or
  RESOURCE_EXHAUSTED on a connection that is up) is counted as rejected (count and rate in
  every report, kept out of latency and throughput) and the run goes on; any other failure
  stops it, a lost connection too.

OPEN LOOP: --rate QPS issues requests on a schedule (--arrival poisson|constant); latency
  counts from each request's intended start, so queueing shows (no coordinated omission).

EXIT STATUS: 0 ok; 1 a run failed; 2 bad usage or bad input.)TXT";

CLI::Validator positiveNumber(const char* what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          const double value = std::stod(text, &used);
          if (used == text.size() && value > 0) return {};
        } catch (const std::exception&) {
        }
        return std::string("expected ") + what + " > 0, got '" + text + "'";
      },
      "", "positive");
}

}  // namespace

CLI::App* addBenchCommand(CLI::App& app, BenchArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark a model from many threads: throughput, latency percentiles, memory, CPU, "
      "stability; engines side by side, sweeps, tuning, open-loop load (a superset of DJL's "
      "djl-bench).");
  cmd->add_option("-u,--model-url,-m,--model", args.models,
                  "Model file or directory (file:// URLs too); a comma list gives one model per "
                  "engine of -e.")
      ->type_name("MODEL")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("-p,--model-path", args.modelPath,
                  "Directory holding the model (DJL); with -n, the model is the file NAME<suffix> "
                  "in it, for the suffixes of the formats the engine plugins read (`polyinfer "
                  "info`).")
      ->type_name("DIR");
  cmd->add_option("-n,--model-name", args.modelName,
                  "Without --url: the model file name inside -p, without extension. With --url: "
                  "the name of the served model (as in /v2/models/NAME).")
      ->type_name("NAME");
  cmd->add_option("--url", args.url,
                  "Benchmark a model served by a KServe v2 server (polyinfer serve, Triton, "
                  "KServe) instead of one in this process: http://HOST:PORT over HTTP, "
                  "grpc://HOST:PORT over gRPC, the model named by -n. Same stop rules, "
                  "open/closed loop, statistics and reports; see REMOTE below.")
      ->type_name("URL");
  cmd->add_option("--model-version", args.modelVersion,
                  "With --url: the served version to call. Default: the server's choice.")
      ->type_name("V");
  cmd->add_flag("--json-tensors", args.jsonTensors,
                "With --url http://: send inputs and ask for outputs as JSON \"data\" instead "
                "of the binary tensor data extension (the default). Not with grpc://.");
  cmd->add_option("-e,--engine", args.engines,
                  "Engine (`polyinfer info` lists them), or a comma list A,B to run side by "
                  "side. Default: chosen from the model format by the engine plugins.")
      ->type_name("ENGINE")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--device", args.device, "Device: cpu, gpu0, ...")
      ->capture_default_str()
      ->each([&args](const std::string&) { args.deviceGiven = true; });
  CLI::Option* shapes =
      cmd->add_option("-s,--input-shapes", args.shapes,
                      "Random inputs of these shapes, DJL syntax: \"(1,3,224,224)f,(1,384)l\" or "
                      "1,3,224,224. Default: the model's declared shapes.")
          ->type_name("SHAPES")
          ->each([&args](const std::string&) { args.shapesGiven = true; });
  CLI::Option* inputs =
      cmd->add_option("-i,--input-data", args.inputs,
                      "Input data as for `predict`: FILE.npy, FILE.pb, NAME=FILE or a test-layout "
                      "DIR; repeatable. Needed for inputs that are sequences, maps or optionals (.pb "
                      "files as the model declares them): random data is made for tensors only.")
          ->type_name("INPUT")
          ->allow_extra_args(false);
  inputs->excludes(shapes);
  CLI::Option* iterations =
      cmd->add_option("-c,--iteration", args.iterations,
                      "Timed calls in total, shared by the threads. Default: the stop rule.")
          ->check(CLI::PositiveNumber)
          ->type_name("N");
  cmd->add_option("-w,--warmup-iteration", args.warmup,
                  "Warm-up calls per thread, on the thread itself, never counted.")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  CLI::Option* duration =
      cmd->add_option("-d,--duration", args.duration,
                      "Run for this long: seconds (30), or 500ms, 30s, 2m, 1h. Default: the stop "
                      "rule.")
          ->type_name("TIME");
  iterations->excludes(duration);
  cmd->add_option("-t,--threads", args.threads,
                  "Worker threads, each with its own predictor; <= 0: usable cores.")
      ->capture_default_str()
      ->type_name("N")
      ->each([&args](const std::string&) { args.threadsGiven = true; });
  cmd->add_option("-l,--delay", args.delayMs, "Delay between worker thread starts, ms.")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->type_name("MS");
  cmd->add_option("-O,--model-options", args.options,
                  "Engine options k=v[,k=v]; repeatable. Explicit values always win over the "
                  "computed defaults.")
      ->type_name("K=V")
      ->allow_extra_args(false);
  addThreadCountOptions(*cmd, args.intraOpThreads, args.interOpThreads);
  cmd->add_option("--batch", args.batch,
                  "Items per call: tiles each input's dim 0 (which must be 1) to N. Default: "
                  "the inputs as given.")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  cmd->add_option("-o,--output-dir", args.outputDir,
                  "Also write bench.json, bench.csv and bench.html into DIR (created).")
      ->type_name("DIR");
  cmd->add_option("--json", args.json,
                  "Write the result as JSON (schema: docs/bench-json.md).")->type_name("FILE");
  cmd->add_flag("--json-samples", args.jsonSamples, "Include every latency sample in the JSON.");
  cmd->add_option("--csv", args.csv, "Write one CSV row per run.")->type_name("FILE");
  cmd->add_option("--html", args.html,
                  "Write a self-contained HTML report with plots.")->type_name("FILE");
  cmd->add_flag("-q,--quiet", args.quiet, "No progress line and no text report.");
  cmd->add_option("--min-iterations", args.minIterations, "Stop rule: at least this many calls.")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  cmd->add_option("--min-time", args.minSeconds,
                  "Stop rule: at least this many seconds (--tune: 3 unless given).")
      ->capture_default_str()
      ->each([&args](const std::string&) { args.minSecondsGiven = true; })
      ->check(CLI::NonNegativeNumber)
      ->type_name("S");
  cmd->add_option("--max-time", args.maxSeconds,
                  "Cap on the timed region in every mode, seconds.")
      ->capture_default_str()
      ->check(positiveNumber("seconds"))
      ->type_name("S");
  cmd->add_option("--stability", args.tolerancePct,
                  "Stable when every window's throughput and p50 are within this % of the "
                  "median window.")
      ->capture_default_str()
      ->check(positiveNumber("a percentage"))
      ->type_name("PCT");
  cmd->add_option("--windows", args.windows, "Windows for the stability check.")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000))
      ->type_name("N");
  cmd->add_option("--sweep", args.sweep,
                  "Grid to run: KEY=V1,V2 ... (threads = -t, intra = --intra-op-threads, "
                  "inter = --inter-op-threads, batch, or an engine option).")
      ->type_name("KEY=VALUES")
      ->expected(1, -1);
  cmd->add_flag("--tune", args.tune,
                "Search threads x intra-op threads (x batch) for the best throughput.");
  cmd->add_option("--max-p99", args.maxP99, "With --tune: the p99 latency target, ms.")
      ->check(positiveNumber("milliseconds"))
      ->type_name("MS");
  cmd->add_option("--rate", args.rate, "Open loop: requests per second.")
      ->check(positiveNumber("requests per second"))
      ->type_name("QPS");
  cmd->add_option("--arrival", args.arrival, "Open loop arrivals: poisson or constant.")
      ->capture_default_str()
      ->check(CLI::IsMember({"poisson", "constant"}));
  cmd->add_option("--seed", args.seed,
                  "Seed of random inputs, Poisson arrivals and the sweep order.")
      ->capture_default_str();
  cmd->add_option("--random", args.distribution, "Random floats: normal N(0,1) or uniform U(0,1).")
      ->capture_default_str()
      ->check(CLI::IsMember({"normal", "uniform"}));
  cmd->add_option("--int-range", args.intRange, "Random integers are uniform in [LOW, HIGH).")
      ->capture_default_str()
      ->type_name("LOW,HIGH");
  CLI::Option* profile =
      cmd->add_option("--profile", args.profile,
                      "After the timed run, N more calls with the engine's profiler on (one "
                      "worker, not timed): the operators by time. One engine, no sweep or tune. "
                      "N defaults to 10 when the flag has no value.")
          ->expected(0, 1)
          ->default_str("10")
          ->check(CLI::PositiveNumber)
          ->type_name("N");
  cmd->add_option("--profile-json", args.profileJson,
                  "With --profile: write the operator table and the engine's raw trace to FILE.")
      ->needs(profile)
      ->type_name("FILE");
  // Internal: how a plan runs each configuration in a fresh process.
  cmd->add_option("--child-result", args.childResult)->group("");
  cmd->footer(kFooter);
  return cmd;
}

int runBench(const BenchArgs& args, int argc, char** argv) {
  return benchMain(args, argc, argv);
}

}  // namespace polyinfer::cli
