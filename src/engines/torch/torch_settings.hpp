// The LibTorch plugin's settings: its options (specs and resolution), the
// device and precision a model runs with, and LibTorch's process-wide
// settings (thread counts, cuDNN benchmark mode), applied once per process.
// No <torch/script.h> here.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>
#include <vector>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::torch_engine {

/// Devices this build can use: "cpu", then "gpu0".. for each CUDA device.
std::vector<std::string> availableDevices();

/// The options TorchEngine::describe() lists.
std::vector<OptionSpec> optionSpecs();

/// A load request's options, all checked, before anything is loaded or applied.
struct TorchOptions {
  plugin::ResolvedInt intraOpThreads;   ///< "num_threads"
  plugin::ResolvedInt interOpThreads;   ///< "num_interop_threads"
  plugin::ResolvedBool graphOptimizer;  ///< "graph_optimizer"
  /// "use_mkldnn"; loading may turn it off (and rewrite its entry) when the
  /// default asked for it and the module cannot be frozen.
  plugin::ResolvedBool useMkldnn;
  plugin::ResolvedBool cudnnBenchmark;  ///< "cudnn_benchmark"
  c10::Device device{c10::kCPU};
  /// The floating type the module computes in (option precision).
  at::ScalarType precision = at::kFloat;
  ConfigEntry precisionEntry;
};

/// Resolves every option of `request` (explicit > environment > default;
/// threads also from Criteria) and its device against `devices`. Throws Error.
TorchOptions resolveOptions(const plugin::LoadRequest& request,
                            const std::vector<std::string>& devices);

/// What a loaded model runs with.
struct Settings {
  c10::Device device{c10::kCPU};
  /// The floating type the module computes in; float32 inputs are converted
  /// to it and outputs of it back to float32.
  at::ScalarType precision = at::kFloat;
  int intraOpThreads = 1;  ///< the process-wide value in effect
  bool graphOptimizer = true;
};

/// The settings and config() entries of a model.
struct AppliedSettings {
  Settings settings;
  std::vector<ConfigEntry> config;
};

/// Applies the process-wide settings of `options` (the first model's values
/// win; later models get the values in effect, reported with source Engine)
/// and returns the model's settings and its config() entries in the order
/// `polyinfer info` lists them. `hasCuda`: cuDNN benchmark mode has an effect.
AppliedSettings applySettings(TorchOptions options, bool hasCuda);

}  // namespace polyinfer::torch_engine
