#include "ort_engine.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "ort_common.hpp"
#include "ort_model.hpp"
#include "ort_session_config.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::ort {

namespace {

struct LogLevel {
  OrtLoggingLevel level = ORT_LOGGING_LEVEL_ERROR;
  int runLevel = ORT_LOGGING_LEVEL_FATAL;
  ConfigEntry entry;
};

LogLevel resolveLogLevel() {
  static constexpr const char* kNames[] = {"VERBOSE", "INFO", "WARNING", "ERROR", "FATAL"};
  LogLevel result;
  result.entry = {"logLevel", "ERROR", ValueSource::Default,
                  std::string("ONNX Runtime log level, process-wide (runs: FATAL; their failures "
                              "are reported as errors); env ") +
                      kLogLevelEnv};
  const std::optional<std::string> text = environmentValue(kLogLevelEnv);
  if (!text) return result;
  std::string upper = *text;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (int i = 0; i < 5; ++i) {
    if (upper == kNames[i] || upper == std::to_string(i)) {
      result.level = static_cast<OrtLoggingLevel>(i);
      result.runLevel = -1;  // runs log at the Env's level too
      result.entry = {"logLevel", kNames[i], ValueSource::Environment,
                      std::string("from ") + kLogLevelEnv};
      return result;
    }
  }
  throw Error(ErrorCode::InvalidArgument,
              std::string("environment variable ") + kLogLevelEnv +
                  ": expected verbose, info, warning, error, fatal or 0-4, got '" + *text + "'");
}

std::mutex envMutex;
Ort::Env* envInstance = nullptr;  // never released, see processEnv()
ConfigEntry envLogLevel;
int envRunLevel = ORT_LOGGING_LEVEL_FATAL;
std::optional<GlobalThreadPool> envGlobalPool;

/// Sizes and spinning of the process-wide pools (environment > budget).
GlobalThreadPool resolveGlobalPool(const ThreadBudget& budget) {
  const ThreadDefaults defaults = budget.defaultsFor(1);
  const std::string where =
      "process-wide pool created once with ONNX Runtime's environment, shared by every session "
      "loaded with disablePerSessionThreads=true";
  GlobalThreadPool pool;
  const Options none;
  pool.intraOp = plugin::resolveInt(none, "intraOpNumThreads", {kGlobalIntraOpEnv},
                                    defaults.intraOpThreads, "usable cores " + std::to_string(budget.usableCores()),
                                    1, 4096)
                     .entry;
  pool.interOp = plugin::resolveInt(none, "interOpNumThreads", {kGlobalInterOpEnv}, 1,
                                    "inter-op threads only oversubscribe the cores", 1, 4096)
                     .entry;
  pool.spinning = plugin::resolveBool(none, "intraOpAllowSpinning", {kGlobalSpinningEnv}, true,
                                      "ONNX Runtime's default")
                      .entry;
  for (ConfigEntry* entry : {&pool.intraOp, &pool.interOp, &pool.spinning})
    entry->detail += "; " + where;
  return pool;
}

bool globalPoolRequestedByEnvironment() {
  return plugin::resolveBool(Options(), kGlobalPoolEnv, {kGlobalPoolEnv}, false, "").value;
}

}  // namespace

Ort::Env& processEnv(const ThreadBudget& budget, bool wantGlobalPool) {
  std::lock_guard<std::mutex> lock(envMutex);
  if (envInstance == nullptr) {
    const LogLevel level = resolveLogLevel();
    std::optional<GlobalThreadPool> pool;
    if (wantGlobalPool || globalPoolRequestedByEnvironment()) pool = resolveGlobalPool(budget);
    try {
      if (pool) {
        Ort::ThreadingOptions threading;
        threading.SetGlobalIntraOpNumThreads(std::stoi(pool->intraOp.value));
        threading.SetGlobalInterOpNumThreads(std::stoi(pool->interOp.value));
        threading.SetGlobalSpinControl(pool->spinning.value == "true" ? 1 : 0);
        envInstance = new Ort::Env(threading, level.level, "polyinfer");
      } else {
        envInstance = new Ort::Env(level.level, "polyinfer");
      }
    } catch (...) {
      rethrowAsError(Phase::Other, "onnxruntime: cannot create the environment");
    }
    envLogLevel = level.entry;
    envRunLevel = level.runLevel;
    envGlobalPool = std::move(pool);
  }
  return *envInstance;
}

std::optional<GlobalThreadPool> globalThreadPool() {
  std::lock_guard<std::mutex> lock(envMutex);
  return envGlobalPool;
}

ConfigEntry logLevelEntry() {
  std::lock_guard<std::mutex> lock(envMutex);
  return envLogLevel;
}

int runLogSeverity() {
  std::lock_guard<std::mutex> lock(envMutex);
  return envRunLevel;
}

OrtEngine::OrtEngine()
    : version_(OrtGetApiBase()->GetVersionString()), providers_(Ort::GetAvailableProviders()) {}

EngineDescription OrtEngine::describe() const {
  EngineDescription d;
  d.name = kEngineName;
  d.version = version_;
  d.devices = {"cpu"};
  // ORT cannot count GPUs without CUDA itself; the provider's presence says
  // that gpu0 may work, and a load on gpuN reports what CUDA says.
  if (std::find(providers_.begin(), providers_.end(), "CUDAExecutionProvider") != providers_.end())
    d.devices.emplace_back("gpu0");
  d.reentrant = true;
  d.options = optionSpecs();
  return d;
}

std::shared_ptr<plugin::EngineModel> OrtEngine::load(const plugin::LoadRequest& request) {
  try {
    const bool wantGlobalPool =
        request.options.getBool(keys::kDisablePerSessionThreads).value_or(false);
    Ort::Env& env = processEnv(request.budget, wantGlobalPool);
    SessionConfig config =
        SessionConfig::resolve(request, providers_, logLevelEntry(), globalThreadPool());
    return std::make_shared<OrtModel>(env, request.location.path, std::move(config));
  } catch (...) {
    rethrowAsError(Phase::Load,
                   "onnxruntime: cannot load model '" + request.location.path.string() + "'");
  }
}

}  // namespace polyinfer::ort
