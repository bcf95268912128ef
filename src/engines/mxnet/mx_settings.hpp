// The MXNet engine's options, MXNet's process-wide engine type, and the
// effective values reported in Model::config().
#pragma once

#include <map>
#include <string>
#include <vector>

#include "polyinfer/dtype.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::mx {

/// Option keys.
namespace keys {
inline constexpr const char* kIntraOpNumThreads = "intraOpNumThreads";
inline constexpr const char* kEngineType = "engineType";
inline constexpr const char* kInputShapes = "inputShapes";
inline constexpr const char* kPrecision = "precision";
}  // namespace keys

/// MXNet's own variables.
inline constexpr const char* kEngineTypeEnv = "MXNET_ENGINE_TYPE";
inline constexpr const char* kSubgraphVerboseEnv = "MXNET_SUBGRAPH_VERBOSE";

std::vector<OptionSpec> optionSpecs();

/// What a model's predictors run with.
struct Settings {
  int intraOpThreads = 1;
  /// Shapes given by option inputShapes, by input name ("" for the one input
  /// of a single-input model given as a bare shape).
  std::map<std::string, Shape> inputShapes;
  std::vector<ConfigEntry> entries;  ///< what Model::config() reports
};

/// Resolves the options of `request` (explicit > environment > default) and
/// starts MXNet's engine with the engine type in effect if it has not
/// started yet (the type is process-wide: MXNet reads it once). Throws
/// Error(InvalidArgument) for malformed values, Error(Unsupported) for
/// precision bf16 / fp16.
Settings resolveSettings(const plugin::LoadRequest& request);

}  // namespace polyinfer::mx
