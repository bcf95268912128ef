// The subcommands of the polyinfer tool. Each adds itself to the CLI11 app
// with its options bound to an args struct; main() runs the one selected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace polyinfer::cli {

/// Adds --intra-op-threads and --inter-op-threads (predict, bench), which set
/// Criteria::intraOpThreads / interOpThreads; 0 (the default): computed.
void addThreadCountOptions(CLI::App& cmd, int& intraOpThreads, int& interOpThreads);

struct InfoArgs {
  bool json = false;
};

/// Adds `info` to `app`; returns the subcommand.
CLI::App* addInfoCommand(CLI::App& app, InfoArgs& args);
/// Prints the version, engine plugins, cores and thread defaults. Returns the exit code.
int runInfo(const InfoArgs& args);

struct PredictArgs {
  std::string model;
  std::string engine;
  std::string device = "cpu";
  std::vector<std::string> options;  ///< -O texts, each "k=v" or "k=v,k2=v2"
  int intraOpThreads = 0;            ///< --intra-op-threads; 0: computed
  int interOpThreads = 0;            ///< --inter-op-threads; 0: computed
  std::vector<std::string> inputs;   ///< -i
  std::string shapes;                ///< -s
  bool shapesGiven = false;          ///< -s was given (even as "")
  std::vector<std::string> expect;   ///< --expect
  std::string outputDir;             ///< -o
  double atol = 1e-4;
  double rtol = 1e-3;
  bool json = false;
  int repeat = 0;  ///< -n: timed runs after one warm-up; 0: a single run
  int profile = 0;  ///< --profile N: profiled runs after the timed ones; 0: none
  std::string profileJson;  ///< --profile-json FILE
  uint64_t seed = 0;
  std::string distribution = "normal";
  std::string intRange = "0,10";
};

CLI::App* addPredictCommand(CLI::App& app, PredictArgs& args);
int runPredict(const PredictArgs& args);

struct BenchArgs {
  std::vector<std::string> models;   ///< -u: files/dirs, comma lists allowed (one per engine)
  std::string modelPath;             ///< -p: a directory
  std::string modelName;             ///< -n: a model's file name (stem) inside -p; with --url, the served model
  std::string url;                   ///< --url: benchmark a KServe v2 HTTP server (http://host:port)
  std::string modelVersion;          ///< --model-version (with --url); "": the server's choice
  bool jsonTensors = false;          ///< --json-tensors (with --url): JSON instead of binary tensors
  std::vector<std::string> engines;  ///< -e: comma lists allowed
  std::string device = "cpu";
  bool deviceGiven = false;          ///< --device was given
  std::string shapes;                ///< -s
  bool shapesGiven = false;
  std::vector<std::string> inputs;   ///< -i
  int64_t iterations = 0;            ///< -c; 0: not given
  int64_t warmup = 5;                ///< -w, per thread
  std::string duration;              ///< -d: "30", "30s", "2m", "500ms"
  int threads = 1;                   ///< -t; <= 0: usable cores
  bool threadsGiven = false;
  double delayMs = 0;                ///< -l
  std::vector<std::string> options;  ///< -O
  int intraOpThreads = 0;            ///< --intra-op-threads; 0: computed (a sweep's intra wins)
  int interOpThreads = 0;            ///< --inter-op-threads; 0: computed (a sweep's inter wins)
  int64_t batch = 0;                 ///< --batch; 0: the inputs' own
  std::string outputDir;             ///< -o
  std::string json, csv, html;
  bool jsonSamples = false;
  bool quiet = false;
  int64_t minIterations = 100;
  double minSeconds = 10;
  bool minSecondsGiven = false;
  double maxSeconds = 120;
  double tolerancePct = 10;
  int windows = 5;
  std::vector<std::string> sweep;  ///< --sweep key=v1,v2 ...
  bool tune = false;
  double maxP99 = 0;               ///< --max-p99 ms; 0: none
  double rate = 0;                 ///< --rate QPS; 0: closed loop
  std::string arrival = "poisson";
  uint64_t seed = 0;
  std::string distribution = "normal";
  std::string intRange = "0,10";
  int profile = 0;           ///< --profile N: profiled calls after the run (single runs)
  std::string profileJson;   ///< --profile-json FILE
  std::string childResult;  ///< hidden: run one configuration, write its result here
};

CLI::App* addBenchCommand(CLI::App& app, BenchArgs& args);
/// `argv` is kept for the report's command line and to re-run this program
/// for each configuration of a comparison, sweep or tune.
int runBench(const BenchArgs& args, int argc, char** argv);

struct ServeArgs {
  std::string repository;               ///< --model-repository
  std::vector<std::string> loadModels;  ///< --load-model
  std::string modelControlMode = "none";
  std::string host = "0.0.0.0";
  int httpPort = 8000;
  int grpcPort = 8001;  ///< -1: no gRPC
  int httpThreads = 1;
  std::size_t maxConnections = 1024;
  uint64_t maxRequestBytes = uint64_t{64} << 20;
  uint64_t maxQueueSize = 256;
  int idleTimeoutSeconds = 60;
  std::string logLevel = "info";
};
CLI::App* addServeCommand(CLI::App& app, ServeArgs& args);
/// Serves until SIGTERM/SIGINT; returns the exit code.
int runServe(const ServeArgs& args);

}  // namespace polyinfer::cli
