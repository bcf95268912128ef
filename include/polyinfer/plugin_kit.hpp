// The plugin kit: what every engine plugin needs besides the SPI, written once
// so that engines agree on precedence, wording and behaviour.
//
//   - POLYINFER_DEFINE_PLUGIN: the one exported entry point;
//   - resolveInt / resolveBool / resolveChoice: explicit option > environment
//     variable > computed default, each value with its ConfigEntry;
//   - the standard thread options (DJL's names as aliases) and their
//     resolution from options, Criteria's thread fields, environment and the
//     ThreadBudget;
//   - ProcessWideSetting: a setting that belongs to the process, applied once,
//     later conflicting requests reported with the value in effect;
//   - OnceResult: an engine library opened once per process, its failure kept;
//   - StderrFilter: an engine's start-up chatter kept off stderr;
//   - Device: "cpu" / "gpuN" parsed and checked against what a build has;
//   - DTypeTable: DataType <-> the engine's element type, one error wording;
//   - rethrowAsError: engine exceptions -> polyinfer::Error, one wording;
//   - small string helpers.
// Build a plugin with the CMake function polyinfer_add_engine_plugin
// (cmake/PolyinferPlugin.cmake), which also installs its manifest.
#pragma once

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "polyinfer/dtype.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::plugin {

// ------------------------------------------------------------------ entry point

namespace kit_detail {
/// create_engine's body: the factory's engine, or nullptr with the reason in
/// `error` ("<engine>: cannot initialise: <what>").
template <typename Factory>
Engine* createEngineNoThrow(const char* engineName, Factory factory, char* error,
                            uint32_t errorSize) noexcept {
  auto fail = [&](const char* what) {
    if (error != nullptr && errorSize > 0)
      std::snprintf(error, errorSize, "%s: cannot initialise: %s", engineName, what);
  };
  try {
    std::unique_ptr<Engine> engine = factory();
    return engine.release();
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("unknown exception");
  }
  return nullptr;
}
}  // namespace kit_detail

}  // namespace polyinfer::plugin

/// Defines the plugin's exported entry point. `name` is the engine name (a
/// string literal, the same as in the library's file name and manifest);
/// `factory` is a callable returning std::unique_ptr<polyinfer::plugin::Engine>,
/// called once, on the engine's first use. What it throws becomes the
/// plugin's load error.
#define POLYINFER_DEFINE_PLUGIN(name, factory)                                                  \
  namespace {                                                                                   \
  polyinfer::plugin::Engine* polyinferCreateEngine(char* error, uint32_t errorSize) noexcept {  \
    return polyinfer::plugin::kit_detail::createEngineNoThrow(name, factory, error, errorSize); \
  }                                                                                             \
  const polyinfer_plugin_entry polyinferPluginEntry{POLYINFER_PLUGIN_ABI_VERSION, name,         \
                                                    &polyinferCreateEngine};                    \
  }                                                                                             \
  extern "C" __attribute__((visibility("default"))) const polyinfer_plugin_entry*               \
  polyinfer_plugin_entry_point() {                                                              \
    return &polyinferPluginEntry;                                                               \
  }

namespace polyinfer::plugin {

// ------------------------------------------------------------------ options

/// A setting resolved by the precedence explicit option > environment
/// variable > computed default, with the ConfigEntry that says which.
template <typename T>
struct Resolved {
  T value{};
  ConfigEntry entry;
};
using ResolvedInt = Resolved<int64_t>;
using ResolvedBool = Resolved<bool>;
using ResolvedChoice = Resolved<std::string>;

/// Resolves integer option `key`: the option's value if given, else the first
/// of `envVars` that is set (same range check, the error names the variable),
/// else `defaultValue` with `defaultDetail` as the reason.
ResolvedInt resolveInt(const Options& options, const std::string& key,
                       const std::vector<std::string>& envVars, int64_t defaultValue,
                       const std::string& defaultDetail, int64_t min, int64_t max);

/// The same for a true/false option (true/false, 1/0, yes/no, on/off).
ResolvedBool resolveBool(const Options& options, const std::string& key,
                         const std::vector<std::string>& envVars, bool defaultValue,
                         const std::string& defaultDetail);

/// The same for one of `allowed` (case-insensitive; the value is the spelling
/// in `allowed`).
ResolvedChoice resolveChoice(const Options& options, const std::string& key,
                             const std::vector<std::string>& allowed,
                             const std::vector<std::string>& envVars, std::string defaultValue,
                             const std::string& defaultDetail);

// ------------------------------------------------------------------ threads

/// Environment variables every engine reads for its thread counts (after its
/// own, such as OMP_NUM_THREADS for LibTorch).
inline constexpr const char* kIntraOpThreadsEnv = "POLYINFER_INTRA_OP_THREADS";
inline constexpr const char* kInterOpThreadsEnv = "POLYINFER_INTER_OP_THREADS";

/// The intra-op thread option under the engine's own `key`, accepting DJL's
/// other spellings (intraOpNumThreads, num_threads) as aliases.
OptionSpec intraOpThreadsOption(const std::string& key, std::string description);
/// The inter-op thread option under `key`, accepting interOpNumThreads and
/// num_interop_threads as aliases.
OptionSpec interOpThreadsOption(const std::string& key, std::string description);

/// Intra-op threads per call for option `key`: the option, or
/// Criteria::intraOpThreads (both given and different: InvalidArgument naming
/// both), else the first of `envVars` set, else usable cores / workers.
/// `minimum` is 0 for an engine where 0 means "the engine decides".
ResolvedInt resolveIntraOpThreads(const LoadRequest& request, const std::string& key,
                                  const std::vector<std::string>& envVars, int64_t minimum = 1);
/// Inter-op threads for option `key`: as above, default 1 (the workers already
/// run calls in parallel).
ResolvedInt resolveInterOpThreads(const LoadRequest& request, const std::string& key,
                                  const std::vector<std::string>& envVars, int64_t minimum = 1);
/// For an engine without inter-op parallelism: the ConfigEntry
/// "interOpThreads" = 1 (source Engine when Criteria asked for more), so that
/// a sweep over inter-op threads runs on every engine and says what happened.
ConfigEntry noInterOpThreads(const LoadRequest& request, std::string_view library);

// ------------------------------------------------------------------ precision

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

// ------------------------------------------------------------------ process-wide settings

/// A setting that belongs to the whole process (LibTorch's thread counts,
/// cv::setNumThreads): the first request applies it; a later request for the
/// same value says so; a later different request is not applied (engines
/// throw or silently race on a second call) and gets the value in effect,
/// with source Engine and a detail naming both values. Thread-safe.
class ProcessWideSetting {
 public:
  /// Applies `value`; may throw when the engine refuses.
  using Apply = std::function<void(int64_t value)>;
  /// Reads the value in effect (after `Apply`, which an engine may round, or
  /// after a refusal).
  using Current = std::function<int64_t()>;

  /// `library` names the engine library in messages ("LibTorch"); `isBool`
  /// prints values as true/false.
  explicit ProcessWideSetting(std::string library, bool isBool = false)
      : library_(std::move(library)), isBool_(isBool) {}

  /// The value in effect after this request, and its ConfigEntry (`requested`'s
  /// entry with the outcome appended to its detail, or replaced as above).
  ResolvedInt apply(ResolvedInt requested, const Apply& apply, const Current& current);

 private:
  std::string format(int64_t value) const;
  std::mutex mutex_;
  std::string library_;
  bool isBool_;
  bool applied_ = false;
  int64_t value_ = 0;
};

// ------------------------------------------------------------------ devices

/// A parsed device name.
struct Device {
  enum class Kind { Cpu, Gpu };
  Kind kind = Kind::Cpu;
  int index = 0;     ///< GPU ordinal
  std::string name;  ///< "cpu", "gpu1"
  bool isCpu() const noexcept { return kind == Kind::Cpu; }
};

/// Parses "cpu" (or empty) and "gpuN"; other text is InvalidArgument
/// ("<engine>: device 'x': expected cpu or gpuN (gpu0, gpu1, ...)").
Device parseDeviceName(std::string_view engine, const std::string& name);

/// parseDeviceName, then checked against `available` (the engine's
/// EngineDescription::devices): a device the build lacks is Unsupported
/// naming the available devices, with `noGpuWhy` when it has no GPU at all.
Device parseDevice(std::string_view engine, const std::string& name,
                   const std::vector<std::string>& available, std::string_view noGpuWhy = {});

// ------------------------------------------------------------------ dtypes

/// Error(Unsupported): "<engine>: <what>: dtype <dtype> is not supported by <library>".
[[noreturn]] void throwUnsupportedDType(std::string_view engine, std::string_view what,
                                        DataType dtype, std::string_view library);

/// DataType <-> an engine's element type, from one list of pairs.
template <typename EngineType>
class DTypeTable {
 public:
  DTypeTable(std::initializer_list<std::pair<DataType, EngineType>> pairs) : pairs_(pairs) {}

  /// nullopt when the engine has no such type.
  std::optional<EngineType> toEngine(DataType type) const noexcept {
    for (const auto& [ours, theirs] : pairs_)
      if (ours == type) return theirs;
    return std::nullopt;
  }
  /// DataType::Undefined when polyinfer has no mapping for it.
  DataType fromEngine(EngineType type) const noexcept {
    for (const auto& [ours, theirs] : pairs_)
      if (theirs == type) return ours;
    return DataType::Undefined;
  }
  /// toEngine, or throwUnsupportedDType.
  EngineType require(DataType type, std::string_view engine, std::string_view what,
                     std::string_view library) const {
    if (std::optional<EngineType> found = toEngine(type)) return *found;
    throwUnsupportedDType(engine, what, type, library);
  }

 private:
  std::vector<std::pair<DataType, EngineType>> pairs_;
};

// ------------------------------------------------------------------ engine exceptions

/// What an engine exception becomes.
struct TranslatedError {
  ErrorCode code;
  std::string message;  ///< the engine's message, summarised to what matters
};

/// Recognises an engine's own exception types: called inside a catch block,
/// it rethrows (`throw;`) and catches them, returning nullopt for any other
/// exception. `code` is the code rethrowAsError was given.
using ExceptionTranslator = std::optional<TranslatedError> (*)(ErrorCode code);

/// Rethrows the exception being handled as polyinfer::Error with the message
/// "<engine>: <context>: <what>". An Error passes unchanged; `translate`
/// handles the engine's own types; std::bad_alloc becomes ResourceExhausted
/// ("out of memory"); another std::exception gets `code`; anything else
/// EngineFailure ("unknown exception"). Call only inside a catch block.
[[noreturn]] void rethrowAsError(std::string_view engine, std::string_view context, ErrorCode code,
                                 ExceptionTranslator translate = nullptr);

// ------------------------------------------------------------------ outputs

/// True when [data, data + bytes) overlaps the storage of a dense tensor of
/// `inputs`. An engine that hands an input straight back as an output (an
/// Identity) may return the caller's own buffer: such an output must be
/// copied, or it changes and dangles with the caller's input.
bool overlapsInput(const void* data, std::size_t bytes, const Tensors& inputs);

// ------------------------------------------------------------------ values

/// A TensorInfo as a ValueInfo: its valueType when set, else a tensor type
/// with the same dtype, shape and dim names.
ValueInfo valueInfoOf(const TensorInfo& info);
/// A ValueInfo as a TensorInfo (what EngineModel::inputs() reports): the
/// dtype and shape of a tensor type, valueType set for any other kind.
TensorInfo tensorInfoOf(const ValueInfo& info);

// ------------------------------------------------------------------ once per process

/// What `open` returns, made once per process on first use (thread-safe):
/// an engine library opened with dlopen and its function table. An Error
/// `open` throws is kept and thrown again on every later call, so a library
/// that cannot be loaded is not tried again on every model.
///   const Api& api() { static plugin::OnceResult<Api> api; return api.get(openApi); }
template <typename T>
class OnceResult {
 public:
  template <typename Open>
  const T& get(Open&& open) {
    std::call_once(once_, [&] {
      try {
        value_.emplace(open());
      } catch (const Error& e) {
        failure_.emplace(e);
      }
    });
    if (failure_) throw *failure_;
    return *value_;
  }

 private:
  std::once_flag once_;
  std::optional<T> value_;
  std::optional<Error> failure_;
};

// ------------------------------------------------------------------ engine start-up output

/// Keeps an engine library's start-up chatter (TensorFlow's absl notices,
/// MXNet's "start using engine" line) out of the program's stderr: while the
/// object lives, stderr (fd 2) goes to a temporary file; when it is destroyed,
/// the lines written there go to stderr again, except those `keep` rejects.
/// Use it around one short call (opening a library, starting an engine).
class StderrFilter {
 public:
  /// true: keep the line; false: drop it; nullopt: a continuation line, kept
  /// or dropped with the line before it (kept at the start).
  using Classifier = std::function<std::optional<bool>(std::string_view line)>;

  /// Starts diverting stderr; when no temporary file can be made, nothing is
  /// diverted or filtered. Output of other threads meanwhile is delayed, not lost.
  explicit StderrFilter(Classifier keep);
  ~StderrFilter();
  StderrFilter(const StderrFilter&) = delete;
  StderrFilter& operator=(const StderrFilter&) = delete;

 private:
  void restore() noexcept;
  void replay() noexcept;
  Classifier keep_;
  int file_ = -1;
  int saved_ = -1;
};

// ------------------------------------------------------------------ files and strings

/// A file's bytes; Error(NotFound) "<engine>: cannot open <what> '<path>'".
std::vector<std::uint8_t> readFileBytes(std::string_view engine, const std::filesystem::path& path,
                                        std::string_view what);

/// "a, b, c".
std::string join(const std::vector<std::string>& parts, std::string_view separator = ", ");
std::string toLower(std::string_view text);
std::string_view trim(std::string_view text);

}  // namespace polyinfer::plugin
