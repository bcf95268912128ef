// The engine plugin interface (SPI). Only engine plugins include this (and
// plugin_kit.hpp, the helpers every plugin uses); users never need it.
//
// A plugin is a shared library named libpolyinfer_engine_<name>.so, with a
// manifest libpolyinfer_engine_<name>.json beside it that declares the model
// formats it reads (read at scan time: the library itself is opened only when
// its engine is first used). The library exports one C function:
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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/engine_info.hpp"
#include "polyinfer/model.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/profile.hpp"
#include "polyinfer/tensor.hpp"
#include "polyinfer/thread_budget.hpp"
#include "polyinfer/value.hpp"

/// Bump whenever anything in this header or the types it uses changes layout.
/// 3: model locations and manifests (formats), per-predictor native instances,
/// thread counts in LoadRequest, EngineDescription public.
/// 4: values (sequences, maps, optionals): EngineModel::inputValues /
/// outputValues, EnginePredictor::predictValues, TensorInfo::valueType.
#define POLYINFER_PLUGIN_ABI_VERSION 4

namespace polyinfer::plugin {

/// The bytes of a model's files, read once by the core for an engine that is
/// not re-entrant: every predictor's native instance is built from them, and
/// no file is read again.
struct ModelBytes {
  std::vector<std::uint8_t> main;  ///< the main file (a directory format: its marker file)
  std::map<std::string, std::vector<std::uint8_t>> companions;  ///< by role
};

/// Everything a plugin needs to load a model.
struct LoadRequest {
  /// The model's main file or directory and its companion files, all checked
  /// to exist.
  ModelLocation location;
  std::string device;
  Options options;                  ///< canonical keys (aliases resolved, unknown keys refused)
  int workers = 1;
  /// Criteria::intraOpThreads / interOpThreads: 0 when not given. Resolve
  /// them with the kit's resolveIntraOpThreads / resolveInterOpThreads.
  int intraOpThreads = 0;
  int interOpThreads = 0;
  ThreadBudget budget;
  /// Non-re-entrant engines only: the files' bytes, shared with every
  /// predictor's instance (null for re-entrant engines).
  std::shared_ptr<const ModelBytes> bytes;
};

/// Per-thread state. Called from one thread at a time.
class EnginePredictor {
 public:
  virtual ~EnginePredictor() = default;
  /// Inputs arrive in the model's input order, named, already validated
  /// against the declared infos. Returns the outputs in output order, named.
  /// Must translate engine exceptions into polyinfer::Error.
  virtual Tensors predict(const Tensors& inputs) = 0;
  /// Runs a model with non-tensor inputs or outputs (sequences, maps,
  /// optionals). Inputs as for predict, in model order, checked against the
  /// declared value types; an optional input is Value::none() or an optional
  /// holding its value. Outputs in model order, named. The default serves
  /// engines that know tensors only: all-tensor inputs go to predict(), any
  /// other value is Error(Unsupported) naming its type.
  virtual Values predictValues(const Values& inputs);
  /// Runs the model `iterations` times (>= 1) with the engine's profiler on
  /// and returns per-operator times (engine, iterations and wallMs are filled
  /// in by the core). nullopt: this engine cannot report them.
  virtual std::optional<OperatorProfile> profile(const Tensors& inputs, int iterations) {
    (void)inputs;
    (void)iterations;
    return std::nullopt;
  }
};

/// A native model object that one thread at a time may run (a cv::dnn::Net):
/// what a non-re-entrant engine builds once per predictor. Opaque to the core.
class NativeInstance {
 public:
  virtual ~NativeInstance() = default;
};

/// Shared, immutable after construction; its create* methods are thread-safe.
class EngineModel {
 public:
  virtual ~EngineModel() = default;
  virtual std::vector<TensorInfo> inputs() const = 0;
  virtual std::vector<TensorInfo> outputs() const = 0;
  /// The inputs' and outputs' full value types, same order and names as
  /// inputs()/outputs(). The default (engines that know tensors only) makes
  /// each TensorInfo a tensor type; an engine that has non-tensor inputs or
  /// outputs overrides both and sets TensorInfo::valueType for those.
  virtual std::vector<ValueInfo> inputValues() const;
  virtual std::vector<ValueInfo> outputValues() const;
  virtual std::vector<ConfigEntry> config() const = 0;
  /// Re-entrant engines: a predictor over this shared model.
  virtual std::unique_ptr<EnginePredictor> createPredictor() const;
  /// Non-re-entrant engines: a new native instance, built from
  /// LoadRequest::bytes. The core asks for one right after load (so a model
  /// that cannot be instantiated fails there), hands it to the first
  /// predictor and asks for one more for every further predictor. A model
  /// that built an instance while loading (to read its signature) may hand
  /// that one over on the first call instead of building another.
  virtual std::unique_ptr<NativeInstance> createInstance() const;
  /// Non-re-entrant engines: a predictor that owns `instance` (one made by
  /// this model's createInstance).
  virtual std::unique_ptr<EnginePredictor> createPredictor(std::unique_ptr<NativeInstance> instance) const;
};

/// One per process per plugin, created on the first load() or describe()
/// that names its engine (never at plugin scan time); load() is thread-safe.
class Engine {
 public:
  virtual ~Engine() = default;
  /// Version, devices, re-entrancy and options. `formats` is left empty: the
  /// registry fills it from the plugin's manifest.
  virtual EngineDescription describe() const = 0;
  /// Loads a model; throws polyinfer::Error only.
  virtual std::shared_ptr<EngineModel> load(const LoadRequest& request) = 0;
};

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
