// TorchModel: one loaded torch::jit::Module, shared by every predictor, and
// what forward's schema tells about its inputs and outputs.
#pragma once

#include <torch/csrc/jit/api/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "polyinfer/plugin.hpp"
#include "torch_settings.hpp"

namespace polyinfer::torch_engine {

/// The base name of forward's outputs (torch_engine.hpp's flattening rule).
inline const std::string kOutputName = "output";

/// How a forward argument is passed: tensors as they are, TorchScript
/// int/float/bool arguments from 0-d tensors of the matching dtype.
enum class ArgKind : std::uint8_t { Tensor, Int, Float, Bool, Other };

class TorchModel final : public plugin::EngineModel,
                         public std::enable_shared_from_this<TorchModel> {
 public:
  /// Reads forward's schema; `module` must have a forward method.
  TorchModel(torch::jit::Module module, Settings settings, std::vector<ConfigEntry> config);

  std::vector<TensorInfo> inputs() const override { return inputs_; }
  std::vector<TensorInfo> outputs() const override { return outputs_; }
  std::vector<ConfigEntry> config() const override { return config_; }
  std::unique_ptr<plugin::EnginePredictor> createPredictor() const override;

  /// The module's object: forward's first argument.
  const c10::IValue& self() const noexcept { return self_; }
  /// forward; run() may be called from many threads at once.
  torch::jit::Function& forward() const noexcept { return *forward_; }
  const c10::FunctionSchema& schema() const noexcept { return *schema_; }
  const Settings& settings() const noexcept { return settings_; }
  const std::vector<TensorInfo>& inputInfos() const noexcept { return inputs_; }
  /// How each of forward's arguments (after self) is passed.
  const std::vector<ArgKind>& argKinds() const noexcept { return argKinds_; }
  /// output_0.. for a tuple return, empty otherwise.
  const std::vector<std::string>& tupleNames() const noexcept { return tupleNames_; }

 private:
  torch::jit::Module module_;
  c10::IValue self_;
  torch::jit::Function* forward_ = nullptr;  ///< owned by module_'s compilation unit
  const c10::FunctionSchema* schema_ = nullptr;
  Settings settings_;
  std::vector<ConfigEntry> config_;
  std::vector<TensorInfo> inputs_;
  std::vector<ArgKind> argKinds_;
  std::vector<TensorInfo> outputs_;
  std::vector<std::string> tupleNames_;
};

}  // namespace polyinfer::torch_engine
