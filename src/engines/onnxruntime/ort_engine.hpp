// OrtEngine: the ONNX Runtime engine (one per process per registry).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "polyinfer/plugin.hpp"

namespace polyinfer::ort {

/// The log level environment variable ("verbose", "info", "warning",
/// "error", "fatal" or 0-4); default "error", so that normal runs print nothing.
inline constexpr const char* kLogLevelEnv = "POLYINFER_ORT_LOG_LEVEL";

/// ONNX Runtime's process-wide thread pools (used by sessions loaded with
/// disablePerSessionThreads=true) exist only if the environment is created
/// with them, once per process: by the first model loaded, when it asks for
/// them or when this variable is 1/true (so the order models load in does not
/// matter). Their sizes and spinning come from the variables below, else from
/// the ThreadBudget: intra-op = usable cores, inter-op = 1, spinning on.
inline constexpr const char* kGlobalPoolEnv = "POLYINFER_ORT_GLOBAL_THREAD_POOL";
inline constexpr const char* kGlobalIntraOpEnv = "POLYINFER_ORT_GLOBAL_INTRA_OP_THREADS";
inline constexpr const char* kGlobalInterOpEnv = "POLYINFER_ORT_GLOBAL_INTER_OP_THREADS";
inline constexpr const char* kGlobalSpinningEnv = "POLYINFER_ORT_GLOBAL_ALLOW_SPINNING";

/// The process-wide pools the environment was created with.
struct GlobalThreadPool {
  ConfigEntry intraOp;   ///< "intraOpNumThreads": the pool's size and where it came from
  ConfigEntry interOp;   ///< "interOpNumThreads"
  ConfigEntry spinning;  ///< "intraOpAllowSpinning"
};

/// The process's one Ort::Env, created on first use (thread-safe) with the
/// log level above, and with the process-wide thread pools when
/// `wantGlobalPool` is true on that first call or POLYINFER_ORT_GLOBAL_THREAD_POOL
/// says so (`budget` sizes them). It lives until the process exits: it is
/// never released, so that no session can outlive it and no exit-time
/// destructor order (ORT's own statics vs the registry's engines) can bite.
/// Throws Error (InvalidArgument for a bad environment variable).
Ort::Env& processEnv(const ThreadBudget& budget, bool wantGlobalPool);

/// The process-wide pools, or nullopt when the environment was created
/// without them (or not yet created).
std::optional<GlobalThreadPool> globalThreadPool();

/// The log level processEnv() uses, as a config entry ("logLevel").
ConfigEntry logLevelEntry();

/// Log severity for Session::Run (RunOptions), or -1 for the Env's. Unless
/// POLYINFER_ORT_LOG_LEVEL is set, runs log only FATAL: a failed run is
/// reported once, as the Error the caller gets, not also as ORT's log line.
int runLogSeverity();

class OrtEngine final : public plugin::Engine {
 public:
  /// Reads the library's version and execution providers. Ort::InitApi must
  /// have been called. Throws on failure (create_engine catches).
  OrtEngine();

  EngineDescription describe() const override;
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;

 private:
  std::string version_;
  std::vector<std::string> providers_;  ///< ORT's available execution providers
};

}  // namespace polyinfer::ort
