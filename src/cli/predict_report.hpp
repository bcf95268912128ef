// What `polyinfer predict` did, and its two renderings: text for people and
// JSON for machines (--json).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "compare.hpp"
#include "polyinfer/model.hpp"

namespace polyinfer::cli {

/// Time per predict() call, in milliseconds.
struct Timing {
  int runs = 0;           ///< timed calls
  bool warmedUp = false;  ///< one untimed call ran first (-n)
  double medianMs = 0, minMs = 0, maxMs = 0;
};

/// Median (mean of the middle two for an even count), min and max.
Timing summarizeTimes(std::vector<double> ms, bool warmedUp);

/// One --expect tensor checked against an output.
struct Check {
  std::string output;    ///< the output's name (empty when !present)
  std::string file;      ///< the expected data's file
  bool present = false;  ///< the model has an output for it
  Comparison comparison;
  std::string message;   ///< one line: what was compared and the outcome
};

/// The profile as a table: the `top` operator types by time.
void printProfile(const OperatorProfile& profile, std::ostream& out, std::size_t top = 15);
/// The profile as JSON; with the engine's raw trace when `withTrace`.
nlohmann::json profileJson(const OperatorProfile& profile, bool withTrace);
/// --profile-json: the table and the raw trace. Throws Error on I/O failure.
void writeProfileJson(const OperatorProfile& profile, const std::string& file);

struct PredictReport {
  const Model* model = nullptr;
  std::string device;
  double loadMs = 0;  ///< Model::load, wall time
  Tensors inputs;
  std::vector<std::string> inputSources;  ///< per input: a file or "random (seed N)"
  Tensors outputs;
  /// A model with non-tensor inputs or outputs (Model::tensorsOnly() false)
  /// runs through predictValues: its inputs and outputs are these instead.
  bool values = false;
  Values valueInputs;
  Values valueOutputs;
  std::vector<std::string> written;       ///< per output: the file written (.npy, or .pb for a non-tensor), or empty
  Timing timing;
  std::optional<OperatorProfile> profile;  ///< --profile
  Tolerance tolerance;
  std::vector<Check> checks;

  bool ok() const;
};

void printText(const PredictReport& report, std::ostream& out);
void printJson(const PredictReport& report, std::ostream& out);

}  // namespace polyinfer::cli
