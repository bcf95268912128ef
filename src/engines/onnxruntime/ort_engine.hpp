// OrtEngine: the ONNX Runtime engine (one per process per registry).
#pragma once

#include <onnxruntime_cxx_api.h>

#include <memory>
#include <string>
#include <vector>

#include "polyinfer/plugin.hpp"

namespace polyinfer::ort {

/// The log level environment variable ("verbose", "info", "warning",
/// "error", "fatal" or 0-4); default "error", so that normal runs print nothing.
inline constexpr const char* kLogLevelEnv = "POLYINFER_ORT_LOG_LEVEL";

/// The process's one Ort::Env, created on first use (thread-safe) with the
/// log level above. It lives until the process exits: it is never released,
/// so that no session can outlive it and no exit-time destructor order
/// (ORT's own statics vs the registry's engines) can bite.
/// Throws Error (InvalidArgument for a bad POLYINFER_ORT_LOG_LEVEL).
Ort::Env& processEnv();

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

  plugin::EngineDescription describe() const override;
  std::shared_ptr<plugin::EngineModel> load(const plugin::LoadRequest& request) override;

 private:
  std::string version_;
  std::vector<std::string> providers_;  ///< ORT's available execution providers
};

}  // namespace polyinfer::ort
