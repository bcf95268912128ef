// SessionConfig: a LoadRequest's options resolved into ORT session options,
// with every effective value and where it came from.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string>
#include <vector>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin.hpp"

namespace polyinfer::ort {

/// Canonical option keys (DJL's names).
namespace keys {
inline constexpr const char* kIntraOpNumThreads = "intraOpNumThreads";
inline constexpr const char* kInterOpNumThreads = "interOpNumThreads";
inline constexpr const char* kExecutionMode = "executionMode";
inline constexpr const char* kOptLevel = "optLevel";
inline constexpr const char* kMemoryPatternOptimization = "memoryPatternOptimization";
inline constexpr const char* kCpuArenaAllocator = "cpuArenaAllocator";
inline constexpr const char* kProfilerOutput = "profilerOutput";
inline constexpr const char* kOrtDevice = "ortDevice";
inline constexpr const char* kIntraOpAllowSpinning = "intraOpAllowSpinning";
}  // namespace keys

/// Environment variables that override the computed defaults.
inline constexpr const char* kIntraOpThreadsEnv = "POLYINFER_INTRA_OP_THREADS";
inline constexpr const char* kInterOpThreadsEnv = "POLYINFER_INTER_OP_THREADS";

/// The options the engine accepts (keys, aliases, one-line help).
std::vector<OptionSpec> optionSpecs();

/// Resolved settings for one model's ORT session.
class SessionConfig {
 public:
  /// Resolves `request` (options already canonical) against the execution
  /// providers this ORT build has. Throws Error: InvalidArgument for a
  /// malformed value or device, Unsupported for a provider the build lacks.
  /// `logLevel` is the process-wide ORT log level entry, reported as is.
  static SessionConfig resolve(const plugin::LoadRequest& request,
                               const std::vector<std::string>& availableProviders,
                               const ConfigEntry& logLevel);

  /// Options to create the session with (execution providers appended).
  const Ort::SessionOptions& sessionOptions() const noexcept { return sessionOptions_; }
  /// Every knob's effective value, in a stable order.
  const std::vector<ConfigEntry>& entries() const noexcept { return entries_; }
  /// Execution providers in priority order, CPU last.
  const std::vector<std::string>& providers() const noexcept { return providers_; }

 private:
  SessionConfig() = default;
  void appendProviders(const plugin::LoadRequest& request,
                       const std::vector<std::string>& availableProviders);

  Ort::SessionOptions sessionOptions_{nullptr};
  std::vector<ConfigEntry> entries_;
  std::vector<std::string> providers_;
};

}  // namespace polyinfer::ort
