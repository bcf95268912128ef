#include "ort_session_config.hpp"

#include <onnxruntime_session_options_config_keys.h>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <string_view>
#include <unordered_map>

#include "ort_common.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::ort {

namespace {

using plugin::join;

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

constexpr const char* kCpuProvider = "CPUExecutionProvider";
constexpr const char* kCudaProvider = "CUDAExecutionProvider";

// ortDevice values (DJL's spellings) and the ORT execution provider each needs.
struct DeviceKind {
  const char* name;
  const char* provider;
};
constexpr DeviceKind kDeviceKinds[] = {
    {"CPU", kCpuProvider},
    {"CUDA", kCudaProvider},
    {"TensorRT", "TensorrtExecutionProvider"},
    {"ROCM", "ROCMExecutionProvider"},
    {"MIGraphX", "MIGraphXExecutionProvider"},
    {"DNNL", "DnnlExecutionProvider"},
    {"OpenVINO", "OpenVINOExecutionProvider"},
    {"CoreML", "CoreMLExecutionProvider"},
    {"XNNPACK", "XnnpackExecutionProvider"},
    {"QNN", "QNNExecutionProvider"},
};

std::vector<std::string> deviceKindNames() {
  std::vector<std::string> names;
  for (const DeviceKind& kind : kDeviceKinds) names.emplace_back(kind.name);
  return names;
}

const DeviceKind& deviceKind(std::string_view name) {
  for (const DeviceKind& kind : kDeviceKinds)
    if (name == kind.name) return kind;
  throw Error(ErrorCode::Internal, "onnxruntime: unknown ortDevice " + std::string(name));
}

// LoadRequest.device: "" / "cpu" -> nullopt, "gpuN" -> N.
/// The GPU ordinal of device gpuN, nullopt for cpu. ONNX Runtime cannot
/// count GPUs without CUDA itself, so any ordinal is accepted here and the
/// provider reports a device that does not exist.
std::optional<int> gpuIndex(const std::string& device) {
  const plugin::Device parsed = plugin::parseDeviceName(kEngineName, device);
  if (parsed.isCpu()) return std::nullopt;
  return parsed.index;
}

struct ChoiceValue {
  const char* name;
  int value;
  const char* ortName;
};

constexpr ChoiceValue kOptLevels[] = {
    {"NO_OPT", ORT_DISABLE_ALL, "ORT_DISABLE_ALL"},
    {"BASIC_OPT", ORT_ENABLE_BASIC, "ORT_ENABLE_BASIC"},
    {"EXTENDED_OPT", ORT_ENABLE_EXTENDED, "ORT_ENABLE_EXTENDED"},
    {"ALL_OPT", ORT_ENABLE_ALL, "ORT_ENABLE_ALL"},
};
constexpr ChoiceValue kExecutionModes[] = {
    {"SEQUENTIAL", ORT_SEQUENTIAL, "ORT_SEQUENTIAL"},
    {"PARALLEL", ORT_PARALLEL, "ORT_PARALLEL"},
};

template <std::size_t N>
std::vector<std::string> choiceNames(const ChoiceValue (&choices)[N]) {
  std::vector<std::string> names;
  for (const ChoiceValue& choice : choices) names.emplace_back(choice.name);
  return names;
}

template <std::size_t N>
const ChoiceValue& findChoice(const ChoiceValue (&choices)[N], std::string_view name) {
  for (const ChoiceValue& choice : choices)
    if (name == choice.name) return choice;
  throw Error(ErrorCode::Internal, "onnxruntime: unknown choice " + std::string(name));
}

// A choice option: explicit value, or the default.
template <std::size_t N>
const ChoiceValue& resolveChoice(const Options& options, const char* key,
                                 const ChoiceValue (&choices)[N], const char* defaultName,
                                 ConfigEntry& entry) {
  entry.key = key;
  if (auto value = options.getChoice(key, choiceNames(choices))) {
    entry.source = ValueSource::Explicit;
    entry.value = *value;
    entry.detail = "set by option " + std::string(key);
  } else {
    entry.source = ValueSource::Default;
    entry.value = defaultName;
    entry.detail = "default";
  }
  const ChoiceValue& choice = findChoice(choices, entry.value);
  entry.detail += std::string(" (") + choice.ortName + ")";
  return choice;
}

/// The kit's thread option plus the spellings ONNX Runtime's own APIs use.
OptionSpec withAliases(OptionSpec spec, std::initializer_list<const char*> more) {
  for (const char* alias : more) spec.aliases.emplace_back(alias);
  return spec;
}

}  // namespace

std::vector<OptionSpec> optionSpecs() {
  return {
      withAliases(plugin::intraOpThreadsOption(
                      keys::kIntraOpNumThreads,
                      "threads one call may use (integer >= 0, 0 = ONNX Runtime decides); default "
                      "Criteria::intraOpThreads, else env " +
                          std::string(kIntraOpThreadsEnv) + ", else max(1, usable cores / workers)"),
                  {"intra_op_num_threads", "intraOpThreads"}),
      withAliases(plugin::interOpThreadsOption(
                      keys::kInterOpNumThreads,
                      "threads running independent graph nodes with executionMode=PARALLEL "
                      "(integer >= 0); default Criteria::interOpThreads, else env " +
                          std::string(kInterOpThreadsEnv) + ", else 1"),
                  {"inter_op_num_threads", "interOpThreads"}),
      {keys::kExecutionMode,
       {"execution_mode"},
       "SEQUENTIAL or PARALLEL (run independent graph branches concurrently); default SEQUENTIAL"},
      {keys::kOptLevel,
       {"graph_optimization_level", "graphOptimizationLevel"},
       "graph optimisation: NO_OPT, BASIC_OPT, EXTENDED_OPT or ALL_OPT; default ALL_OPT"},
      {keys::kMemoryPatternOptimization,
       {"enable_mem_pattern", "memPattern"},
       "plan activation memory from the first run's shapes (true/false); default true"},
      {keys::kCpuArenaAllocator,
       {"enable_cpu_mem_arena", "cpuMemArena"},
       "pool CPU allocations in ONNX Runtime's arena (true/false); default true"},
      {keys::kProfilerOutput,
       {"profile_file_prefix", "profilerPrefix"},
       "enable ONNX Runtime's profiler, writing <prefix>_<date>.json when the model is "
       "released; default off"},
      {keys::kOrtDevice,
       {"execution_provider", "executionProvider"},
       "execution provider: " + join(deviceKindNames(), ", ") +
           "; default CPU (CUDA for device gpuN)"},
      {keys::kIntraOpAllowSpinning,
       {"intra_op_allow_spinning", "allowSpinning"},
       "let idle intra-op threads spin for work before sleeping (true/false); default: "
       "ONNX Runtime's (true)"},
      {keys::kDisablePerSessionThreads,
       {"disable_per_session_threads"},
       "run on ONNX Runtime's process-wide thread pool instead of a pool per session "
       "(true/false); default false; the pool is sized by " +
           std::string(kGlobalIntraOpEnv) + " (default usable cores)"},
      {keys::kOptimizedModelCache,
       {"optimized_model_cache"},
       "directory caching the graph ONNX Runtime optimised, reused by later loads of the same "
       "model, optLevel, ONNX Runtime version, providers and CPU; default off"},
      {keys::kPrecision,
       {},
       "fp32 only: ONNX Runtime runs the types stored in the graph (bf16/fp16 are refused)"},
  };
}

SessionConfig SessionConfig::resolve(const plugin::LoadRequest& request,
                                     const std::vector<std::string>& availableProviders,
                                     const ConfigEntry& logLevel,
                                     const std::optional<GlobalThreadPool>& globalPool) {
  SessionConfig config;
  const Options& options = request.options;
  plugin::ResolvedInt intra =
      plugin::resolveIntraOpThreads(request, keys::kIntraOpNumThreads, {kIntraOpThreadsEnv}, 0);
  plugin::ResolvedInt inter =
      plugin::resolveInterOpThreads(request, keys::kInterOpNumThreads, {kInterOpThreadsEnv}, 0);
  if (intra.value == 0) intra.entry.detail += "; 0: ONNX Runtime picks (one per physical core)";

  ConfigEntry modeEntry, optEntry, patternEntry, arenaEntry, spinEntry;
  const ChoiceValue& mode =
      resolveChoice(options, keys::kExecutionMode, kExecutionModes, "SEQUENTIAL", modeEntry);
  if (mode.value != ORT_PARALLEL) inter.entry.detail += "; used only with executionMode=PARALLEL";
  const ChoiceValue& opt = resolveChoice(options, keys::kOptLevel, kOptLevels, "ALL_OPT", optEntry);
  plugin::ResolvedBool pattern =
      plugin::resolveBool(options, keys::kMemoryPatternOptimization, {}, true, "default");
  plugin::ResolvedBool arena = plugin::resolveBool(options, keys::kCpuArenaAllocator, {}, true, "default");
  patternEntry = std::move(pattern.entry);
  arenaEntry = std::move(arena.entry);

  // allow_spinning: ORT's own default unless the option says otherwise.
  const std::optional<bool> spinning = options.getBool(keys::kIntraOpAllowSpinning);
  spinEntry.key = keys::kIntraOpAllowSpinning;
  if (spinning) {
    spinEntry.value = *spinning ? "true" : "false";
    spinEntry.source = ValueSource::Explicit;
    spinEntry.detail = std::string("set by option ") + keys::kIntraOpAllowSpinning + " (" +
                       kOrtSessionOptionsConfigAllowIntraOpSpinning + ")";
  } else {
    spinEntry.value = "true";
    spinEntry.source = ValueSource::Engine;
    spinEntry.detail = std::string("ONNX Runtime's default, not set (") +
                       kOrtSessionOptionsConfigAllowIntraOpSpinning +
                       "): idle intra-op threads spin before sleeping, burning CPU between calls";
  }

  // disablePerSessionThreads: the session runs on the environment's pools,
  // whose sizes were fixed when the environment was created.
  plugin::ResolvedBool sharedPoolSetting = plugin::resolveBool(
      options, keys::kDisablePerSessionThreads, {}, false, "each session starts its own thread pool");
  ConfigEntry sharedPoolEntry = std::move(sharedPoolSetting.entry);
  const bool sharedPool = sharedPoolSetting.value;
  if (sharedPool) {
    if (!globalPool)
      throw Error(ErrorCode::Unsupported,
                  std::string("option '") + keys::kDisablePerSessionThreads +
                      "=true' needs ONNX Runtime's process-wide thread pool, which is created "
                      "once, with its environment, by the first model loaded in the process; "
                      "this process's first model did not ask for it. Set " +
                      kGlobalPoolEnv +
                      "=1 before any model loads (or load a model with this option first)");
    for (const char* key : {keys::kIntraOpNumThreads, keys::kInterOpNumThreads,
                            keys::kIntraOpAllowSpinning})
      if (options.has(key))
        throw Error(ErrorCode::InvalidArgument,
                    std::string("option '") + key + "' has no effect with " +
                        keys::kDisablePerSessionThreads +
                        "=true: the session runs on the process-wide pool (intra-op " +
                        globalPool->intraOp.value + ", inter-op " + globalPool->interOp.value +
                        " threads, spinning " + globalPool->spinning.value + "); " +
                        kGlobalIntraOpEnv + ", " + kGlobalInterOpEnv + " and " +
                        kGlobalSpinningEnv + " size it");
    intra.entry = globalPool->intraOp;
    inter.entry = globalPool->interOp;
    spinEntry = globalPool->spinning;
    sharedPoolEntry.detail += "; the process-wide pool";
  }

  const ConfigEntry precisionEntry = plugin::resolveStoredPrecision(
      options, "onnxruntime",
      "ONNX Runtime runs the element types stored in the graph; convert the model itself to "
      "float16 (e.g. onnxconverter_common.float16) and feed float16 inputs, or use engine torch");
  ConfigEntry profilerEntry{keys::kProfilerOutput, "off", ValueSource::Default, "default"};
  const std::optional<std::string> profilerPrefix = options.getString(keys::kProfilerOutput);
  if (profilerPrefix) {
    if (profilerPrefix->empty())
      throw Error(ErrorCode::InvalidArgument,
                  std::string("option '") + keys::kProfilerOutput +
                      "': expected a file path prefix, got ''");
    profilerEntry = {keys::kProfilerOutput, *profilerPrefix, ValueSource::Explicit,
                     "ONNX Runtime writes " + *profilerPrefix +
                         "_<date>.json when the model is released"};
  }

  // Build the session options only once every value has been checked.
  try {
    Ort::SessionOptions& so = config.sessionOptions_;
    so = Ort::SessionOptions();
    so.SetIntraOpNumThreads(static_cast<int>(intra.value));
    so.SetInterOpNumThreads(static_cast<int>(inter.value));
    so.SetExecutionMode(static_cast<ExecutionMode>(mode.value));
    so.SetGraphOptimizationLevel(static_cast<GraphOptimizationLevel>(opt.value));
    if (pattern.value) so.EnableMemPattern();
    else so.DisableMemPattern();
    if (arena.value) so.EnableCpuMemArena();
    else so.DisableCpuMemArena();
    if (spinning)
      so.AddConfigEntry(kOrtSessionOptionsConfigAllowIntraOpSpinning, *spinning ? "1" : "0");
    if (profilerPrefix) so.EnableProfiling(profilerPrefix->c_str());
    if (sharedPool) so.DisablePerSessionThreads();
  } catch (...) {
    rethrowAsError(Phase::Other, "onnxruntime: cannot set session options");
  }

  config.entries_ = {intra.entry, inter.entry, sharedPoolEntry, modeEntry, optEntry, patternEntry,
                     arenaEntry,  spinEntry,   profilerEntry, precisionEntry};
  config.appendProviders(request, availableProviders);
  config.setUpCache(request, optEntry.value);
  config.entries_.push_back(logLevel);
  return config;
}

namespace {

// FNV-1a, 64-bit: a cache key, not a security measure.
constexpr uint64_t kFnvOffset = 14695981039346656037ull;
uint64_t fnv1a(uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// The CPU's feature flags: ONNX Runtime's optimised graph depends on them
// (e.g. the NCHWc block size follows the vector width).
std::string cpuFlags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line;
  return "unknown";
}

std::atomic<uint64_t> cacheWriteCounter{0};

}  // namespace

void SessionConfig::setUpCache(const plugin::LoadRequest& request, const std::string& optLevelName) {
  namespace fs = std::filesystem;
  loadPath_ = request.location.path;
  const std::optional<std::string> dir = request.options.getString(keys::kOptimizedModelCache);
  if (!dir) {
    entries_.push_back({keys::kOptimizedModelCache, "off", ValueSource::Default,
                        "ONNX Runtime optimises the graph at every load"});
    return;
  }
  const std::string option = std::string("option '") + keys::kOptimizedModelCache + "'";
  if (dir->empty())
    throw Error(ErrorCode::InvalidArgument, option + ": expected a directory, got ''");
  std::error_code ec;
  fs::create_directories(*dir, ec);
  if (!fs::is_directory(*dir))
    throw Error(ErrorCode::InvalidArgument,
                option + ": cannot create directory '" + *dir + "'" +
                    (ec ? ": " + ec.message() : std::string()));

  std::ifstream in(request.location.path, std::ios::binary);
  uint64_t key = kFnvOffset;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    key = fnv1a(key, std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  }
  for (const std::string& part : {optLevelName, std::string(OrtGetApiBase()->GetVersionString()),
                                  join(providers_), cpuFlags()})
    key = fnv1a(fnv1a(key, part), "\n");
  const fs::path finalPath =
      fs::path(*dir) / fmt::format("{}.{:016x}.onnx", request.location.path.stem().string(), key);

  if (fs::is_regular_file(finalPath)) {
    loadPath_ = finalPath;
    try {
      sessionOptions_.SetGraphOptimizationLevel(ORT_DISABLE_ALL);
    } catch (...) {
      rethrowAsError(Phase::Other, "onnxruntime: cannot set session options");
    }
    entries_.push_back({keys::kOptimizedModelCache, *dir, ValueSource::Explicit,
                        "hit: loaded " + finalPath.string() + ", optimised at optLevel " +
                            optLevelName + " when cached; this load skips graph optimisation"});
    return;
  }
  cacheFinalPath_ = finalPath;
  cacheWritePath_ = finalPath;
  cacheWritePath_ += fmt::format(".tmp-{}-{}", ::getpid(), cacheWriteCounter.fetch_add(1));
  try {
    sessionOptions_.SetOptimizedModelFilePath(cacheWritePath_.c_str());
  } catch (...) {
    rethrowAsError(Phase::Other, "onnxruntime: cannot set session options");
  }
  entries_.push_back({keys::kOptimizedModelCache, *dir, ValueSource::Explicit,
                      "miss: the optimised graph is saved to " + finalPath.string() +
                          " for later loads"});
}

void SessionConfig::commitOptimizedModel() {
  if (cacheWritePath_.empty()) return;
  std::error_code ec;
  std::filesystem::rename(cacheWritePath_, cacheFinalPath_, ec);
  if (ec) std::filesystem::remove(cacheWritePath_, ec);  // the next load tries again
  cacheWritePath_.clear();
}

void SessionConfig::appendProviders(const plugin::LoadRequest& request,
                                    const std::vector<std::string>& availableProviders) {
  const Options& options = request.options;
  const std::optional<int> gpu = gpuIndex(request.device);
  const std::string available = join(availableProviders);

  ConfigEntry deviceEntry;
  deviceEntry.key = keys::kOrtDevice;
  std::string kindName;
  if (auto value = options.getChoice(keys::kOrtDevice, deviceKindNames())) {
    kindName = *value;
    deviceEntry.source = ValueSource::Explicit;
    deviceEntry.detail = std::string("set by option ") + keys::kOrtDevice;
    if (kindName == "CPU" && gpu)
      throw Error(ErrorCode::InvalidArgument,
                  std::string("option '") + keys::kOrtDevice + "=CPU' contradicts device '" +
                      request.device + "': use device cpu, or ortDevice=CUDA/TensorRT/...");
  } else if (gpu) {
    kindName = "CUDA";
    deviceEntry.source = ValueSource::Default;
    deviceEntry.detail = "from device " + request.device;
  } else {
    kindName = "CPU";
    deviceEntry.source = ValueSource::Default;
    deviceEntry.detail = "default";
  }
  deviceEntry.value = kindName;
  const DeviceKind& kind = deviceKind(kindName);
  const int deviceId = gpu.value_or(0);

  if (!contains(availableProviders, kind.provider)) {
    const std::string what = deviceEntry.source == ValueSource::Explicit
                                 ? std::string("option '") + keys::kOrtDevice + "=" + kindName + "'"
                                 : "device '" + request.device + "'";
    throw Error(ErrorCode::Unsupported,
                what + " needs " + kind.provider +
                    ", which this onnxruntime build does not have (available providers: " +
                    available + ")");
  }
  if (kind.provider != std::string_view(kCpuProvider)) {
    try {
      Ort::SessionOptions& so = sessionOptions_;
      const std::string id = std::to_string(deviceId);
      if (kindName == "CUDA" || kindName == "TensorRT") {
        if (kindName == "TensorRT") {
          Ort::TensorRTProviderOptions trt;
          trt.Update({{"device_id", id}});
          so.AppendExecutionProvider_TensorRT_V2(
              *static_cast<OrtTensorRTProviderOptionsV2*>(trt));
          providers_.emplace_back(kind.provider);
        }
        // CUDA runs what TensorRT cannot.
        if (contains(availableProviders, kCudaProvider)) {
          Ort::CUDAProviderOptions cuda;
          cuda.Update({{"device_id", id}});
          so.AppendExecutionProvider_CUDA_V2(*static_cast<OrtCUDAProviderOptionsV2*>(cuda));
          providers_.emplace_back(kCudaProvider);
        }
      } else if (kindName == "ROCM") {
        OrtROCMProviderOptions rocm;
        rocm.device_id = deviceId;
        so.AppendExecutionProvider_ROCM(rocm);
        providers_.emplace_back(kind.provider);
      } else if (kindName == "MIGraphX") {
        OrtMIGraphXProviderOptions migraphx{};
        migraphx.device_id = deviceId;
        so.AppendExecutionProvider_MIGraphX(migraphx);
        providers_.emplace_back(kind.provider);
      } else if (kindName == "OpenVINO") {
        so.AppendExecutionProvider_OpenVINO_V2({});
        providers_.emplace_back(kind.provider);
      } else {
        // DNNL, CoreML, XNNPACK, QNN: the generic entry point takes them by name.
        std::string name = kindName;
        so.AppendExecutionProvider(name, {});
        providers_.emplace_back(kind.provider);
      }
    } catch (...) {
      rethrowAsError(Phase::Other, std::string("onnxruntime: cannot enable ") + kind.provider);
    }
  }
  providers_.emplace_back(kCpuProvider);

  entries_.push_back(deviceEntry);
  entries_.push_back({"providers", join(providers_), deviceEntry.source,
                      "execution providers in priority order; this build has: " + available});
}

}  // namespace polyinfer::ort
