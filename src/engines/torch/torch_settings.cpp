// The LibTorch plugin's options, device, precision and process-wide settings
// (torch_settings.hpp).
#include "torch_settings.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <utility>

#include "polyinfer/error.hpp"
#include "torch_common.hpp"

namespace polyinfer::torch_engine {

namespace {

// ------------------------------------------------------------------ precision

/// Option precision: the floating type the module runs in on `device`.
/// A value the device cannot run is Unsupported, never a silent fallback.
ConfigEntry resolvePrecision(const Options& options, const c10::Device& device,
                             at::ScalarType& precision) {
  const std::optional<std::string> value = options.getChoice("precision", plugin::precisionNames());
  ConfigEntry entry{"precision", value.value_or("fp32"),
                    value ? ValueSource::Explicit : ValueSource::Default,
                    value ? "set by option precision" : "the module's own (float32) weights"};
  if (!value || *value == "fp32") {
    precision = at::kFloat;
    return entry;
  }
  if (*value == "fp16") {
    if (device.is_cpu())
      throw Error(ErrorCode::Unsupported,
                  std::string(kEngineName) + ": precision=fp16 needs a CUDA device (device gpuN); "
                  "on cpu LibTorch " TORCH_VERSION " has no half-precision convolution kernels. "
                  "Supported on cpu: fp32, bf16");
    precision = at::kHalf;
    entry.detail += "; weights converted to float16 at load, float32 inputs/outputs converted";
    return entry;
  }
  precision = at::kBFloat16;
  entry.detail += "; weights converted to bfloat16 at load, float32 inputs/outputs converted";
  if (device.is_cpu()) {
    // oneDNN uses the CPU's bf16 dot-product instructions when it has them
    // and emulates them with AVX-512 otherwise (possibly slower than fp32).
    __builtin_cpu_init();
    entry.detail += __builtin_cpu_supports("avx512bf16")
                        ? "; CPU has AVX512_BF16 (native bf16 dot products in oneDNN)"
                        : "; CPU lacks AVX512_BF16: bf16 is emulated and may be slower than fp32";
  }
  return entry;
}

c10::Device toTorchDevice(const plugin::Device& device) {
  if (device.isCpu()) return c10::Device(c10::kCPU);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device.index));
}

// ------------------------------------------------------------------ process-wide settings

// LibTorch's thread counts and cuDNN benchmark mode belong to the process,
// and at::set_num_interop_threads throws when called twice: the first model
// applies a value, later models get the value in effect.
plugin::ProcessWideSetting& intraOpSetting() {
  static plugin::ProcessWideSetting setting("LibTorch");
  return setting;
}

plugin::ProcessWideSetting& interOpSetting() {
  static plugin::ProcessWideSetting setting("LibTorch");
  return setting;
}

plugin::ProcessWideSetting& cudnnBenchmarkSetting() {
  static plugin::ProcessWideSetting setting("LibTorch", /*isBool=*/true);
  return setting;
}

/// Runs a LibTorch setter. Its refusal (a c10::Error, whose what() carries a
/// backtrace) becomes a one-line std::runtime_error, which ProcessWideSetting
/// quotes in its report.
template <typename Call>
void summarisingRefusal(Call call) {
  try {
    call();
  } catch (const c10::Error& e) {
    throw std::runtime_error(torchMessage(e));
  }
}

}  // namespace

std::vector<std::string> availableDevices() {
  std::vector<std::string> devices{"cpu"};
  try {
    if (torch::cuda::is_available()) {
      const std::size_t count = torch::cuda::device_count();
      for (std::size_t i = 0; i < count; ++i) devices.push_back("gpu" + std::to_string(i));
    }
  } catch (...) {
    // A CUDA build on a machine without a usable driver: CPU only.
  }
  return devices;
}

std::vector<OptionSpec> optionSpecs() {
  return {
      plugin::intraOpThreadsOption(
          "num_threads",
          "intra-op threads (at::set_num_threads; process-wide, set by the first model loaded): "
          "integer >= 1, or Criteria::intraOpThreads; default: env OMP_NUM_THREADS, then "
          "POLYINFER_INTRA_OP_THREADS, else usable cores / workers"),
      plugin::interOpThreadsOption(
          "num_interop_threads",
          "inter-op threads (at::set_num_interop_threads; process-wide, set once): integer >= 1, "
          "or Criteria::interOpThreads; default: env POLYINFER_INTER_OP_THREADS, else 1"),
      {"graph_optimizer",
       {},
       "TorchScript graph executor optimisation (torch::jit::setGraphExecutorOptimize, set on "
       "each predictor's thread): true/false; default true"},
      {"use_mkldnn",
       {},
       "freeze the module and run torch::jit::optimize_for_inference at load (convolutions in "
       "oneDNN layout): true/false; default true on cpu (falls back to the module as saved, "
       "and says so, when the module cannot be frozen), false on CUDA"},
      {"cudnn_benchmark",
       {},
       "cuDNN autotuning (process-wide; no effect without CUDA): true/false; default false"},
      {"precision",
       {},
       "floating-point precision the module runs in: fp32 (default), bf16 (CPU or CUDA), fp16 "
       "(CUDA only); float32 inputs and outputs are converted at the boundary"},
  };
}

TorchOptions resolveOptions(const plugin::LoadRequest& request,
                            const std::vector<std::string>& devices) {
  const Options& options = request.options;
  TorchOptions resolved;
  resolved.intraOpThreads = plugin::resolveIntraOpThreads(
      request, "num_threads", {"OMP_NUM_THREADS", plugin::kIntraOpThreadsEnv});
  resolved.interOpThreads =
      plugin::resolveInterOpThreads(request, "num_interop_threads", {plugin::kInterOpThreadsEnv});
  resolved.graphOptimizer =
      plugin::resolveBool(options, "graph_optimizer", {}, true, "LibTorch's default");
  resolved.graphOptimizer.entry.detail +=
      "; set on the calling thread for each call (thread-local in LibTorch)";
  // On by default on the CPU: LibTorch's convolution heuristic sends 1x1
  // convolutions to its slower native kernels whenever the calling thread
  // has one intra-op thread (exactly the many-workers configuration); the
  // frozen, oneDNN-prepacked graph does not (mobilenet_v2 2-3x faster at
  // 2 workers x 1 thread here, resnet18 ~1.25x).
  const bool onCpu = request.device.empty() || request.device == "cpu";
  resolved.useMkldnn = plugin::resolveBool(
      options, "use_mkldnn", {}, onCpu,
      onCpu ? "on for cpu: frozen + oneDNN graph (use_mkldnn=false runs the module as saved)"
            : "off for CUDA devices: module run as saved");
  resolved.cudnnBenchmark =
      plugin::resolveBool(options, "cudnn_benchmark", {}, false, "LibTorch's default");
  resolved.device = toTorchDevice(plugin::parseDevice(
      kEngineName, request.device, devices,
      "this LibTorch build (" TORCH_VERSION ") has no CUDA support or sees no CUDA device"));
  resolved.precisionEntry = resolvePrecision(options, resolved.device, resolved.precision);
  return resolved;
}

AppliedSettings applySettings(TorchOptions options, bool hasCuda) {
  AppliedSettings applied;
  Settings& settings = applied.settings;
  settings.device = options.device;
  settings.precision = options.precision;
  settings.graphOptimizer = options.graphOptimizer.value;

  plugin::ResolvedInt intraOp = intraOpSetting().apply(
      std::move(options.intraOpThreads),
      [](int64_t n) {
        summarisingRefusal([n] { at::set_num_threads(static_cast<int>(n)); });
      },
      [] { return static_cast<int64_t>(at::get_num_threads()); });
  settings.intraOpThreads = static_cast<int>(intraOp.value);
  plugin::ResolvedInt interOp = interOpSetting().apply(
      std::move(options.interOpThreads),
      [](int64_t n) {
        summarisingRefusal([n] { at::set_num_interop_threads(static_cast<int>(n)); });
      },
      [] { return static_cast<int64_t>(at::get_num_interop_threads()); });

  std::vector<ConfigEntry>& config = applied.config;
  config.push_back(std::move(intraOp.entry));
  config.push_back(std::move(interOp.entry));
  config.push_back(std::move(options.graphOptimizer.entry));
  config.push_back(std::move(options.useMkldnn.entry));
  config.push_back(std::move(options.precisionEntry));
  if (hasCuda) {
    plugin::ResolvedInt requested{options.cudnnBenchmark.value ? 1 : 0,
                                  std::move(options.cudnnBenchmark.entry)};
    config.push_back(cudnnBenchmarkSetting()
                         .apply(
                             std::move(requested),
                             [](int64_t on) {
                               summarisingRefusal(
                                   [on] { at::globalContext().setBenchmarkCuDNN(on != 0); });
                             },
                             [] { return static_cast<int64_t>(at::globalContext().benchmarkCuDNN()); })
                         .entry);
  } else {
    options.cudnnBenchmark.entry.detail += "; no effect without CUDA";
    config.push_back(std::move(options.cudnnBenchmark.entry));
  }
  return applied;
}

}  // namespace polyinfer::torch_engine
