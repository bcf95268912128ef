// The OpenCV plugin's options and process-wide settings (opencv_options.hpp).
#include "opencv_options.hpp"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <optional>
#include <utility>

#include "opencv_common.hpp"
#include "polyinfer/error.hpp"
#include "polyinfer/plugin_kit.hpp"

namespace polyinfer::opencv_engine {

namespace {

struct NamedValue {
  const char* name;
  int value;
};

constexpr NamedValue kBackends[] = {
    {"default", cv::dnn::DNN_BACKEND_DEFAULT},
    {"halide", cv::dnn::DNN_BACKEND_HALIDE},
    {"inference_engine", cv::dnn::DNN_BACKEND_INFERENCE_ENGINE},
    {"opencv", cv::dnn::DNN_BACKEND_OPENCV},
    {"vkcom", cv::dnn::DNN_BACKEND_VKCOM},
    {"cuda", cv::dnn::DNN_BACKEND_CUDA},
    {"webnn", cv::dnn::DNN_BACKEND_WEBNN},
    {"timvx", cv::dnn::DNN_BACKEND_TIMVX},
};

constexpr NamedValue kTargets[] = {
    {"cpu", cv::dnn::DNN_TARGET_CPU},
    {"opencl", cv::dnn::DNN_TARGET_OPENCL},
    {"opencl_fp16", cv::dnn::DNN_TARGET_OPENCL_FP16},
    {"myriad", cv::dnn::DNN_TARGET_MYRIAD},
    {"vulkan", cv::dnn::DNN_TARGET_VULKAN},
    {"fpga", cv::dnn::DNN_TARGET_FPGA},
    {"cuda", cv::dnn::DNN_TARGET_CUDA},
    {"cuda_fp16", cv::dnn::DNN_TARGET_CUDA_FP16},
    {"hddl", cv::dnn::DNN_TARGET_HDDL},
    {"npu", cv::dnn::DNN_TARGET_NPU},
};

template <std::size_t N>
std::string nameOf(const NamedValue (&table)[N], int value) {
  for (const NamedValue& entry : table)
    if (entry.value == value) return entry.name;
  return std::to_string(value);
}

template <std::size_t N>
std::vector<std::string> namesOf(const NamedValue (&table)[N]) {
  std::vector<std::string> names;
  for (const NamedValue& entry : table) names.emplace_back(entry.name);
  return names;
}

template <std::size_t N>
int valueOf(const NamedValue (&table)[N], const std::string& name) {
  for (const NamedValue& entry : table)
    if (name == entry.name) return entry.value;
  return -1;
}

/// "opencv/cpu, ..." : the backend/target pairs this OpenCV build offers.
std::string availableBackendsText() {
  std::vector<std::string> pairs;
  for (const auto& [backend, target] : cv::dnn::getAvailableBackends())
    pairs.push_back(nameOf(kBackends, backend) + "/" + nameOf(kTargets, target));
  return pairs.empty() ? std::string("none") : plugin::join(pairs);
}

}  // namespace

std::vector<std::string> backendNames() { return namesOf(kBackends); }
std::vector<std::string> targetNames() { return namesOf(kTargets); }

BackendChoice resolveBackend(const Options& options) {
  plugin::ResolvedChoice backend = plugin::resolveChoice(
      options, "backend", backendNames(), {}, "opencv", "cv::dnn::Net::setPreferableBackend");
  plugin::ResolvedChoice target = plugin::resolveChoice(
      options, "target", targetNames(), {}, "cpu", "cv::dnn::Net::setPreferableTarget");
  BackendChoice choice;
  choice.backend = valueOf(kBackends, backend.value);
  choice.target = valueOf(kTargets, target.value);
  const bool available = [&] {
    if (choice.backend == cv::dnn::DNN_BACKEND_DEFAULT) return true;  // OpenCV picks opencv/cpu
    for (const auto& [b, t] : cv::dnn::getAvailableBackends())
      if (b == choice.backend && t == choice.target) return true;
    return false;
  }();
  if (choice.target != cv::dnn::DNN_TARGET_CPU || !available)
    throw Error(ErrorCode::Unsupported,
                std::string(kEngineName) + ": backend/target " + backend.value + "/" + target.value +
                    " is not supported; polyinfer runs OpenCV on the CPU target only, and this "
                    "OpenCV build offers: " + availableBackendsText());
  // The setter's name says more than "set by option backend".
  backend.entry.detail = "cv::dnn::Net::setPreferableBackend";
  target.entry.detail = "cv::dnn::Net::setPreferableTarget";
  choice.backendEntry = std::move(backend.entry);
  choice.targetEntry = std::move(target.entry);
  return choice;
}

ConfigEntry resolvePrecision(const Options& options) {
  return plugin::resolveStoredPrecision(
      options, kEngineName,
      "OpenCV's CPU target computes in fp32 only (its fp16 targets need OpenCL or CUDA; this "
      "build offers: " + availableBackendsText() + ")");
}

plugin::ResolvedInt resolveThreads(const plugin::LoadRequest& request) {
  return plugin::resolveIntraOpThreads(request, "num_threads", {plugin::kIntraOpThreadsEnv});
}

ConfigEntry applyThreads(plugin::ResolvedInt requested) {
  // OpenCV's parallel framework (its TBB arena or thread pool) is shared by
  // every Net in the process.
  static plugin::ProcessWideSetting setting("OpenCV");
  const auto set = [](int64_t threads) { cv::setNumThreads(static_cast<int>(threads)); };
  const auto current = [] { return static_cast<int64_t>(cv::getNumThreads()); };
  ConfigEntry entry = setting.apply(std::move(requested), set, current).entry;
  entry.detail += "; cv::setNumThreads";
  return entry;
}

ConfigEntry applyLogLevel() {
  // A function-local static: initialised once, thread-safely, by the first model.
  static const ConfigEntry entry = []() -> ConfigEntry {
    if (const std::optional<std::string> env = environmentValue(kOpenCvLogEnv))
      return {"logLevel", *env, ValueSource::Environment, std::string("from ") + kOpenCvLogEnv};
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return {"logLevel", "SILENT", ValueSource::Default,
            std::string("process-wide; OpenCV's messages are carried in polyinfer's errors; env ") +
                kOpenCvLogEnv + " overrides"};
  }();
  return entry;
}

}  // namespace polyinfer::opencv_engine
