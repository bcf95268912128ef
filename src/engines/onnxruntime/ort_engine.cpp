#include "ort_engine.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "ort_common.hpp"
#include "ort_model.hpp"
#include "ort_session_config.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/options.hpp"

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

}  // namespace

Ort::Env& processEnv() {
  std::lock_guard<std::mutex> lock(envMutex);
  if (envInstance == nullptr) {
    const LogLevel level = resolveLogLevel();
    try {
      envInstance = new Ort::Env(level.level, "polyinfer");
    } catch (...) {
      rethrowAsError(Phase::Other, "onnxruntime: cannot create the environment");
    }
    envLogLevel = level.entry;
    envRunLevel = level.runLevel;
  }
  return *envInstance;
}

ConfigEntry logLevelEntry() {
  processEnv();
  std::lock_guard<std::mutex> lock(envMutex);
  return envLogLevel;
}

int runLogSeverity() {
  processEnv();
  std::lock_guard<std::mutex> lock(envMutex);
  return envRunLevel;
}

OrtEngine::OrtEngine()
    : version_(OrtGetApiBase()->GetVersionString()), providers_(Ort::GetAvailableProviders()) {}

plugin::EngineDescription OrtEngine::describe() const {
  plugin::EngineDescription d;
  d.name = kEngineName;
  d.version = version_;
  d.formats = {"ONNX (.onnx)"};
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
    Ort::Env& env = processEnv();
    SessionConfig config = SessionConfig::resolve(request, providers_, logLevelEntry());
    return std::make_shared<OrtModel>(env, request.modelPath, std::move(config));
  } catch (...) {
    rethrowAsError(Phase::Load,
                   "onnxruntime: cannot load model '" + request.modelPath.string() + "'");
  }
}

}  // namespace polyinfer::ort
