// The OpenCV plugin's options and process-wide settings: backend and target
// (CPU only), precision (fp32 only), cv::setNumThreads and OpenCV's log level.
#pragma once

#include <string>
#include <vector>

#include "polyinfer/options.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::opencv_engine {

/// The environment variable OpenCV reads for its own log level.
inline constexpr const char* kOpenCvLogEnv = "OPENCV_LOG_LEVEL";

/// Values of options backend and target (cv::dnn's names, lower case).
std::vector<std::string> backendNames();
std::vector<std::string> targetNames();

/// The cv::dnn backend and target every Net of a model is set to.
struct BackendChoice {
  int backend = 0;  ///< cv::dnn::Backend
  int target = 0;   ///< cv::dnn::Target
  ConfigEntry backendEntry;
  ConfigEntry targetEntry;
};

/// Options backend/target: polyinfer runs OpenCV on the CPU target only.
/// Another pair, or one this OpenCV build lacks, is Unsupported naming the
/// pairs the build offers.
BackendChoice resolveBackend(const Options& options);

/// Option precision: fp32 only (OpenCV's CPU target computes in fp32).
ConfigEntry resolvePrecision(const Options& options);

/// Option num_threads, else Criteria::intraOpThreads, else
/// POLYINFER_INTRA_OP_THREADS, else usable cores / workers. Checks only.
plugin::ResolvedInt resolveThreads(const plugin::LoadRequest& request);

/// Applies `requested` with cv::setNumThreads, which is process-wide: the
/// first model loaded sets it; a later model asking for another value gets
/// the value in effect, with source Engine.
ConfigEntry applyThreads(plugin::ResolvedInt requested);

/// OpenCV prints its importer's diagnostics to stderr; polyinfer carries them
/// in its errors instead: the first call silences OpenCV's log, unless the
/// user set OPENCV_LOG_LEVEL. Returns the "logLevel" entry.
ConfigEntry applyLogLevel();

}  // namespace polyinfer::opencv_engine
