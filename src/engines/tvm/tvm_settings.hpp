// The TVM engine's options and TVM's process-wide thread-pool settings, with
// the effective values reported in Model::config().
#pragma once

#include <string>
#include <vector>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::tvm_engine {

/// Option keys.
namespace keys {
inline constexpr const char* kIntraOpNumThreads = "intraOpNumThreads";
inline constexpr const char* kBindThreads = "bindThreads";
inline constexpr const char* kFunction = "function";
inline constexpr const char* kPrecision = "precision";
}  // namespace keys

/// TVM's own variables.
inline constexpr const char* kNumThreadsEnv = "TVM_NUM_THREADS";
inline constexpr const char* kBindThreadsEnv = "TVM_BIND_THREADS";

std::vector<OptionSpec> optionSpecs();

struct Settings {
  std::string function = "main";     ///< the Relax function a call runs
  std::vector<ConfigEntry> entries;  ///< what Model::config() reports
};

/// Resolves the options of `request` (explicit > environment > default) and
/// applies TVM's process-wide settings on the first load: the thread-pool size
/// (TVM gives every thread that runs a model a pool of this many threads,
/// itself included) and whether TVM pins those threads to cores. A later load
/// asking for other values gets the values in effect, reported with source
/// Engine. Throws Error(InvalidArgument) for malformed values,
/// Error(Unsupported) for precision bf16 / fp16.
Settings resolveSettings(const plugin::LoadRequest& request);

}  // namespace polyinfer::tvm_engine
