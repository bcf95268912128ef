// The subcommands of the polyinfer tool. Each adds itself to the CLI11 app
// with its options bound to an args struct; main() runs the one selected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace polyinfer::cli {

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

}  // namespace polyinfer::cli
