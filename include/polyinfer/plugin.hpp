// The engine plugin interface (SPI). Only engine plugins include this.
//
// A plugin is a shared library named libpolyinfer_engine_<name>.so that
// exports one C function:
//
//   extern "C" const polyinfer_plugin_entry* polyinfer_plugin_entry_point();
//
// The loader reads abi_version first and refuses a plugin built for another
// version with a message naming both; only then does it call create_engine.
// The classes below cross the boundary as C++ objects, so a plugin must be
// built against the same polyinfer headers (the ABI version guards that) and
// the same C++ standard library as libpolyinfer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/model.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/profile.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/thread_budget.hpp"

/// Bump whenever anything in this header or the types it uses changes layout.
#define POLYINFER_PLUGIN_ABI_VERSION 2

namespace polyinfer::plugin {

/// What an engine is and what it accepts.
struct EngineDescription {
  std::string name;                  ///< "torch", "onnxruntime"
  std::string version;               ///< the engine library's version, "1.13.1"
  std::vector<std::string> formats;  ///< "TorchScript (.pt, .pth, .torchscript)"
  std::vector<std::string> devices;  ///< devices this build can use: "cpu", "gpu0"...
  /// False when one native model instance cannot be run from several threads
  /// at once; then every predictor builds its own instance.
  bool reentrant = true;
  std::vector<OptionSpec> options;   ///< accepted option keys
};

/// Everything a plugin needs to load a model.
struct LoadRequest {
  std::filesystem::path modelPath;  ///< a regular file, already checked to exist
  std::string device;
  Options options;                  ///< canonical keys (aliases resolved, unknown keys refused)
  int workers = 1;
  ThreadBudget budget;
};

/// Per-thread state. Called from one thread at a time.
class EnginePredictor {
 public:
  virtual ~EnginePredictor() = default;
  /// Inputs arrive in the model's input order, named, already validated
  /// against the declared infos. Returns the outputs in output order, named.
  /// Must translate engine exceptions into polyinfer::Error.
  virtual Tensors predict(const Tensors& inputs) = 0;
  /// Runs the model `iterations` times (>= 1) with the engine's profiler on
  /// and returns per-operator times (engine, iterations and wallMs are filled
  /// in by the core). nullopt: this engine cannot report them.
  virtual std::optional<OperatorProfile> profile(const Tensors& inputs, int iterations) {
    (void)inputs;
    (void)iterations;
    return std::nullopt;
  }
};

/// Shared, immutable after construction; createPredictor is thread-safe.
class EngineModel {
 public:
  virtual ~EngineModel() = default;
  virtual std::vector<TensorInfo> inputs() const = 0;
  virtual std::vector<TensorInfo> outputs() const = 0;
  virtual std::vector<ConfigEntry> config() const = 0;
  virtual std::unique_ptr<EnginePredictor> createPredictor() const = 0;
};

/// One per process per plugin, created on first use; load() is thread-safe.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual EngineDescription describe() const = 0;
  /// Loads a model; throws polyinfer::Error only.
  virtual std::shared_ptr<EngineModel> load(const LoadRequest& request) = 0;
};

/// An integer setting resolved by the precedence explicit option >
/// environment variable > computed default, with its ConfigEntry.
struct ResolvedInt {
  int64_t value = 0;
  ConfigEntry entry;
};

/// Resolves `key`: the option's value if given, else the first of `envVars`
/// that is set (same range check, error naming the variable), else
/// `defaultValue` with `defaultDetail` as the reason.
ResolvedInt resolveInt(const Options& options, const std::string& key,
                       const std::vector<std::string>& envVars, int64_t defaultValue,
                       const std::string& defaultDetail, int64_t min, int64_t max);

/// The values of option `precision`, the same on every engine.
inline const std::vector<std::string>& precisionNames() {
  static const std::vector<std::string> names{"fp32", "bf16", "fp16"};
  return names;
}

/// Option `precision` for an engine that runs a model in the types the model
/// file stores: fp32 (given or not) yields its ConfigEntry; bf16 and fp16 throw
/// Error(Unsupported) naming the engine and saying `why` (never a silent
/// fallback to fp32).
ConfigEntry resolveStoredPrecision(const Options& options, const std::string& engineName,
                                   const std::string& why);

}  // namespace polyinfer::plugin

extern "C" {
/// The plugin's entry: the first member never moves, so any loader can read it.
struct polyinfer_plugin_entry {
  uint32_t abi_version;     ///< POLYINFER_PLUGIN_ABI_VERSION the plugin was built with
  const char* engine_name;  ///< must match the file name's <name>
  /// Creates the engine (called once, after the ABI check). Returns nullptr
  /// and may set nothing else on failure; throws nothing.
  polyinfer::plugin::Engine* (*create_engine)(char* error, uint32_t error_size);
};
}

/// Name of the function every plugin exports.
#define POLYINFER_PLUGIN_ENTRY_SYMBOL "polyinfer_plugin_entry_point"
