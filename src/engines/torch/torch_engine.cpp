// TorchEngine: describe() and load(): options checked, the module loaded,
// converted and optimised, then the process-wide settings applied
// (torch_engine.hpp).
#include "torch_engine.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/script.h>
#include <torch/version.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "polyinfer/error.hpp"
#include "torch_common.hpp"
#include "torch_model.hpp"
#include "torch_settings.hpp"

namespace polyinfer::torch_engine {

namespace {

/// Nodes of `kind` in a block and, recursively, in its nodes' sub-blocks.
std::size_t countNodes(const torch::jit::Block* block, c10::Symbol kind) {
  std::size_t count = 0;
  for (const torch::jit::Node* node : block->nodes()) {
    if (node->kind() == kind) ++count;
    for (const torch::jit::Block* inner : node->blocks()) count += countNodes(inner, kind);
  }
  return count;
}

/// The module's method names, for the "no forward method" message.
std::string methodNames(const torch::jit::Module& module) {
  std::vector<std::string> names;
  for (const auto& method : module.get_methods()) names.push_back(method.name());
  return names.empty() ? "none" : plugin::join(names);
}

/// Option use_mkldnn: freezes the module and runs optimize_for_inference.
/// When only the default asked for it and the module cannot be frozen, the
/// module runs as saved and the entry says why; an explicit request fails.
void optimizeForInference(torch::jit::Module& module, plugin::ResolvedBool& useMkldnn,
                          const std::string& path) {
  if (!useMkldnn.value) return;
  std::optional<torch::jit::Module> optimized;
  try {
    torch::jit::Module frozen = torch::jit::freeze(module);
    optimized = torch::jit::optimize_for_inference(frozen);
  } catch (...) {
    if (useMkldnn.entry.source == ValueSource::Explicit)
      rethrowTorchError("use_mkldnn=true: freezing / optimize_for_inference of '" + path + "' failed",
                        ErrorCode::Unsupported);
    useMkldnn.value = false;
    useMkldnn.entry = {"use_mkldnn", "false", ValueSource::Engine,
                       "the default (on for cpu) could not freeze / optimize_for_inference "
                       "this module (" + currentExceptionMessage() + "): module run as saved"};
    return;
  }
  module = std::move(*optimized);
  const std::size_t conversions = countNodes(module.get_method("forward").graph()->block(),
                                             c10::Symbol::fromQualString("aten::to_mkldnn"));
  useMkldnn.entry.detail += "; frozen + torch::jit::optimize_for_inference: " +
                            std::to_string(conversions) + " aten::to_mkldnn layout conversion" +
                            (conversions == 1 ? "" : "s") + " in the forward graph";
}

}  // namespace

TorchEngine::TorchEngine() {
  description_.name = kEngineName;
  description_.version = TORCH_VERSION;
  description_.devices = availableDevices();
  description_.reentrant = true;
  description_.options = optionSpecs();
}

std::shared_ptr<plugin::EngineModel> TorchEngine::load(const plugin::LoadRequest& request) {
  try {
    return loadModel(request);
  } catch (...) {
    rethrowTorchError("loading '" + request.location.describe() + "'", ErrorCode::EngineFailure);
  }
}

std::shared_ptr<plugin::EngineModel> TorchEngine::loadModel(const plugin::LoadRequest& request) {
  const std::string path = request.location.path.string();

  // 1. Options: all checked before anything is loaded or applied.
  TorchOptions options = resolveOptions(request, description_.devices);

  // 2. The module.
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, options.device);
  } catch (...) {
    rethrowTorchError("cannot load TorchScript model '" + path + "'", ErrorCode::InvalidArgument);
  }
  if (!module.find_method("forward"))
    throw Error(ErrorCode::InvalidArgument, std::string(kEngineName) + ": TorchScript model '" +
                                                path + "' has no forward method (methods: " +
                                                methodNames(module) + ")");
  module.eval();
  if (options.precision != at::kFloat) {
    try {
      module.to(options.precision);
    } catch (...) {
      rethrowTorchError("precision=" + options.precisionEntry.value + ": converting '" + path +
                            "' failed",
                        ErrorCode::Unsupported);
    }
  }
  optimizeForInference(module, options.useMkldnn, path);

  // 3. Process-wide settings, once the model is known to load.
  const bool hasCuda = description_.devices.size() > 1;
  AppliedSettings applied = applySettings(std::move(options), hasCuda);
  return std::make_shared<TorchModel>(std::move(module), applied.settings,
                                      std::move(applied.config));
}

}  // namespace polyinfer::torch_engine
