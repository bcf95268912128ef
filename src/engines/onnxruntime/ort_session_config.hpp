// SessionConfig: a LoadRequest's options resolved into ORT session options,
// with every effective value and where it came from.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ort_engine.hpp"

#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

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
inline constexpr const char* kDisablePerSessionThreads = "disablePerSessionThreads";
inline constexpr const char* kOptimizedModelCache = "optimizedModelCache";
inline constexpr const char* kPrecision = "precision";
}  // namespace keys

/// Environment variables that override the computed defaults.
inline constexpr const char* kIntraOpThreadsEnv = plugin::kIntraOpThreadsEnv;
inline constexpr const char* kInterOpThreadsEnv = plugin::kInterOpThreadsEnv;

/// The options the engine accepts (keys, aliases, one-line help).
std::vector<OptionSpec> optionSpecs();

/// Resolved settings for one model's ORT session.
class SessionConfig {
 public:
  /// Resolves `request` (options already canonical) against the execution
  /// providers this ORT build has. Throws Error: InvalidArgument for a
  /// malformed value or device, Unsupported for a provider the build lacks.
  /// `logLevel` is the process-wide ORT log level entry, reported as is;
  /// `globalPool` the process-wide thread pools, when the environment has
  /// them (disablePerSessionThreads=true needs them: Unsupported otherwise).
  static SessionConfig resolve(const plugin::LoadRequest& request,
                               const std::vector<std::string>& availableProviders,
                               const ConfigEntry& logLevel,
                               const std::optional<GlobalThreadPool>& globalPool);

  /// The file to create the session from: the model, or its optimised copy
  /// from the cache (optimizedModelCache).
  const std::filesystem::path& loadPath() const noexcept { return loadPath_; }
  /// Call once the session exists: moves a newly written optimised model
  /// into the cache (written under a temporary name, so concurrent loads
  /// never see half a file). No-op without a cache or on a cache hit.
  void commitOptimizedModel();

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
  void setUpCache(const plugin::LoadRequest& request, const std::string& optLevelName);

  Ort::SessionOptions sessionOptions_{nullptr};
  std::vector<ConfigEntry> entries_;
  std::vector<std::string> providers_;
  std::filesystem::path loadPath_;
  std::filesystem::path cacheWritePath_;  ///< temporary file ORT writes the optimised model to
  std::filesystem::path cacheFinalPath_;  ///< where it goes once complete
};

}  // namespace polyinfer::ort
